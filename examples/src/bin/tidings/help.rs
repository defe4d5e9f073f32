//! What `tidings --help` says: every option with a line of its own, `tidings --help OPTION`
//! for one option with an example, and the short usage a mistake prints.

/// One option, as the help shows it.
pub struct OptionHelp {
    /// Its spellings, short first: `-X, --request`.
    pub names: &'static str,
    /// Its value's placeholder, if it takes one.
    pub value: &'static str,
    /// What it does.
    pub text: &'static str,
    /// A command line that uses it.
    pub example: &'static str,
}

const fn option(names: &'static str, value: &'static str, text: &'static str, example: &'static str) -> OptionHelp {
    OptionHelp { names, value, text, example }
}

/// The request options, in groups.
pub const GROUPS: &[(&str, &[OptionHelp])] = &[
    ("Request", &[
        option("-X, --request", "METHOD", "the method (default GET, or POST when a body is given); a first word without ':' or '/' before the URLs is a method too", "tidings -X PUT -d x=1 localhost:8080/put"),
        option("-H, --header", "'Name: value'", "add a header (repeatable); it replaces a default of that name", "tidings -H 'Accept: application/json' localhost:8080/headers"),
        option("-q, --query", "KEY=VALUE", "add a query parameter (repeatable, order kept)", "tidings -q q=rust -q page=2 localhost:8080/get"),
        option("-G, --get", "", "send the -d data as query parameters of a GET, as curl does", "tidings -G -d q=rust localhost:8080/get"),
    ]),
    ("Body", &[
        option("-d, --data", "DATA", "a form body, as curl: Content-Type application/x-www-form-urlencoded unless -H sets one; repeated -d are joined with '&'; @FILE reads a file without its newlines, @- stdin", "tidings -d name=tidings -d lang=rust localhost:8080/post"),
        option("--data-raw", "DATA", "as -d, but a leading @ is literal", "tidings --data-raw '@handle' localhost:8080/post"),
        option("--data-binary", "DATA|@FILE", "the bytes exactly as given; @FILE streams a file with its length (rewound for a redirect or retry)", "tidings --data-binary @photo.jpg -H 'Content-Type: image/jpeg' localhost:8080/post"),
        option("--form", "KEY=VALUE", "a form field, URL-encoded (repeatable)", "tidings --form 'q=a b' localhost:8080/post"),
        option("--json", "TEXT", "a JSON body, with Content-Type application/json", "tidings --json '{\"name\":\"tidings\"}' localhost:8080/post"),
    ]),
    ("Authentication", &[
        option("-u, --user", "USER:PASSWORD", "Basic credentials (Digest with --digest); sent to the URL's origin only, never across a redirect to another", "tidings -u user:pass localhost:8080/basic-auth/user/pass"),
        option("--digest", "", "answer a Digest challenge (RFC 7616) with the -u credentials", "tidings --digest -u user:pass localhost:8080/digest-auth/auth/user/pass"),
        option("--bearer", "TOKEN", "an Authorization: Bearer token", "tidings --bearer secret localhost:8080/bearer"),
    ]),
    ("Time, retries, limits", &[
        option("--timeout", "SECONDS", "a limit on the whole call, redirects and retries included (fractions allowed)", "tidings --timeout 2.5 localhost:8080/delay/1"),
        option("--connect-timeout", "SECONDS", "a limit on DNS, TCP and TLS (default 10)", "tidings --connect-timeout 1 localhost:8080/get"),
        option("--read-timeout", "SECONDS", "the longest silence while sending or reading (default 30)", "tidings --read-timeout 5 localhost:8080/drip"),
        option("--retries", "N", "retry up to N times (urllib3 semantics: connect failures always, read failures and --retry-status for idempotent methods); when they run out on a status, that last response is reported, as curl's --retry does", "tidings --retries 3 --retry-status 502,503 localhost:8080/status/503"),
        option("--retry-status", "CODES", "statuses that are retried, comma-separated", "tidings --retries 2 --retry-status 503 localhost:8080/status/503"),
        option("--backoff", "SECONDS", "the backoff factor between retries (doubles each time)", "tidings --retries 3 --backoff 0.5 localhost:8080/status/503"),
        option("--max-body", "BYTES", "a cap on the decoded body (error kind too_large beyond it)", "tidings --max-body 1000 localhost:8080/bytes/5000"),
        option("--fail", "", "a 4xx or 5xx status is an error (kind http_status, exit 1), like raise_for_status()", "tidings --fail localhost:8080/status/404"),
    ]),
    ("Redirects", &[
        option("-L, --location", "", "follow redirects: the default here (as Requests does); accepted for curl's habit", "tidings -L localhost:8080/redirect/2"),
        option("--max-redirects, --max-redirs", "N", "follow at most N redirects (default 30; more is error kind redirect_limit)", "tidings --max-redirects 1 localhost:8080/redirect/3"),
        option("--no-redirects", "", "do not follow redirects: the 3xx response is the answer", "tidings -i --no-redirects localhost:8080/redirect/1"),
    ]),
    ("TLS", &[
        option("--cacert", "FILE", "trust the CA certificates in this PEM file instead of the webpki roots", "tidings --cacert ca.pem https://localhost:8443/get"),
        option("-k, --insecure", "", "do not verify the server's certificate or name (dangerous)", "tidings -k https://localhost:8443/get"),
        option("--cert", "FILE", "a PEM client certificate chain (with --key)", "tidings --cert me.pem --key me.key https://localhost:8443/get"),
        option("--key", "FILE", "the PEM private key of --cert", "tidings --cert me.pem --key me.key https://localhost:8443/get"),
    ]),
    ("Proxies", &[
        option("--proxy", "URL", "send through this proxy: http://, https:// (TLS to the proxy, verified like the origin), socks4://, socks4a://, socks5:// or socks5h:// (the proxy resolves names), user:password@ allowed (default: http_proxy, https_proxy, all_proxy, no_proxy)", "tidings --proxy socks5h://127.0.0.1:1080 example.com"),
        option("--no-proxy", "", "ignore the proxy environment variables", "tidings --no-proxy localhost:8080/get"),
    ]),
    ("Output", &[
        option("-i, --include", "", "print the response head before the body", "tidings -i localhost:8080/get"),
        option("-I, --head", "", "send HEAD and print the response head only", "tidings -I localhost:8080/get"),
        option("-v, --verbose", "", "print every request and response head on stderr exactly as it crossed the wire, redirects and retries included", "tidings -v localhost:8080/redirect/1"),
        option("-o, --output", "FILE", "write the body to FILE (a progress bar on a terminal); '-o -' prints it to stdout even when it is binary", "tidings -o random.bin localhost:8080/bytes/4096"),
        option("-s, --silent", "", "no progress bar, no notices, no error message (the exit status still tells)", "tidings -s --fail localhost:8080/status/500 || echo failed"),
        option("-S, --show-error", "", "with -s, still print the error message", "tidings -sS localhost:1/"),
        option("-w, --write-out", "FORMAT", "print FORMAT after each response: %{json} (the JSON report), %{http_code}, %{url_effective}, %{time_total}, %{num_redirects}, %{size_download}, %{content_type}, %{errormsg}; \\n and \\t", "tidings -o /dev/null -w '%{http_code} %{time_total}\\n' localhost:8080/get"),
        option("--report", "json", "print one JSON object per URL on stdout and nothing else (the stable contract of docs/report.md)", "tidings --report json localhost:8080/get localhost:8080/status/404"),
        option("--transport", "std|mio", "carry the requests on the blocking transport (default) or a tidings-mio event loop", "tidings --transport mio localhost:8080/get localhost:8080/headers"),
    ]),
];

/// The options of `tidings decode`.
pub const DECODE: &[OptionHelp] = &[
    option(
        "--method",
        "M",
        "the request method the bytes answer (default GET; HEAD changes framing)",
        "tidings decode --method HEAD capture.http",
    ),
    option("--split", "N", "feed the bytes in pieces of N bytes", "tidings decode --split 1 capture.http"),
    option(
        "--split-seed",
        "S",
        "feed the bytes in random pieces chosen by seed S",
        "tidings decode --split-seed 7 capture.http",
    ),
    option(
        "--eof, --no-eof",
        "",
        "whether the capture ends with the peer closing (default --eof)",
        "tidings decode --no-eof capture.http",
    ),
    option(
        "--max-body",
        "BYTES",
        "a cap on the decoded body (error kind too_large)",
        "tidings decode --max-body 100 capture.http",
    ),
    option(
        "--report",
        "json",
        "print one JSON object (docs/report.md) and nothing else on stdout",
        "tidings decode --report json capture.http",
    ),
];

/// The options of `tidings serve`.
pub const SERVE: &[OptionHelp] = &[
    option("--port", "N", "listen on 127.0.0.1:N (default 8080; 0 picks a free port)", "tidings serve --port 8080"),
    option("--tls", "", "serve HTTPS with a certificate for localhost from a CA made for it; its PEM is written to a file named on start (use it with --cacert)", "tidings serve --tls --port 8443"),
];

/// The first lines of every help text.
pub const USAGE: &str = "\
usage: tidings [OPTIONS] [METHOD] URL...   send a request to each URL over one session
       tidings decode [OPTIONS] [FILE|-]    parse a raw response capture with the core alone
       tidings serve [--port N] [--tls]     run the test httpbin on loopback, to try things on";

const URLS: &str = "\
URLs: http://… and https://…, or httpie's shorthands: localhost:8080/get and :8080/get mean
http://localhost:8080/get; example.com/x means http://example.com/x.";

const EXAMPLES: &str = "\
Examples:
  tidings serve --port 8080 &                       a test httpbin on loopback
  tidings localhost:8080/get                        GET, print the body
  tidings -i -H 'X-Trace: 1' :8080/headers          with a header, head included
  tidings -d name=tidings :8080/post                POST a form (as curl -d)
  tidings --json '{\"a\":1}' :8080/post               POST JSON
  tidings -u user:pass :8080/basic-auth/user/pass   Basic credentials
  tidings -o /dev/null -w '%{http_code}\\n' :8080/status/418
  tidings --report json :8080/get :8080/get        JSON reports; the second reuses the connection";

/// `tidings --help`.
pub fn full() -> String {
    let mut text =
        format!("tidings: HTTP/1.1 from the command line, with curl's and httpie's habits.\n\n{USAGE}\n\n{URLS}\n");
    for (group, options) in GROUPS {
        text.push_str(&format!("\n{group}:\n"));
        options.iter().for_each(|option| text.push_str(&line(option)));
    }
    text.push_str("\ntidings decode:\n");
    DECODE.iter().for_each(|option| text.push_str(&line(option)));
    text.push_str("\ntidings serve:\n");
    SERVE.iter().for_each(|option| text.push_str(&line(option)));
    text.push_str(&format!(
        "\n{EXAMPLES}\n\n'tidings --help OPTION' shows one option with an example. The JSON report is described in\n\
         docs/report.md. Exit status: 0 on a response (any status, unless --fail), 1 on an error, 2 on a\n\
         command-line mistake.\n"
    ));
    text
}

/// One option's line in the full help.
fn line(option: &OptionHelp) -> String {
    let flags =
        if option.value.is_empty() { option.names.to_owned() } else { format!("{} {}", option.names, option.value) };
    let mut text = format!("  {flags:<36}");
    let mut width = 38;
    for word in option.text.split(' ') {
        if width + word.len() + 1 > 100 {
            text.push_str(&format!("\n{:38}", ""));
            width = 38;
        }
        text.push(' ');
        text.push_str(word);
        width += word.len() + 1;
    }
    text.push('\n');
    text
}

/// Every option, with the command it belongs to.
fn every() -> impl Iterator<Item = (&'static str, &'static OptionHelp)> {
    GROUPS
        .iter()
        .flat_map(|(_, options)| options.iter().map(|option| ("tidings", option)))
        .chain(DECODE.iter().map(|option| ("tidings decode", option)))
        .chain(SERVE.iter().map(|option| ("tidings serve", option)))
}

/// Whether `option` is spelled `name` (`-X`, `--request`, `request` or `X`).
fn spelled(option: &OptionHelp, name: &str) -> bool {
    option
        .names
        .split(", ")
        .any(|spelling| spelling == name || spelling.trim_start_matches('-') == name.trim_start_matches('-'))
}

/// `tidings --help OPTION`: that option, what it does, and an example; `None` if no option
/// is spelled so.
pub fn one(name: &str) -> Option<String> {
    let found: Vec<String> = every()
        .filter(|(_, option)| spelled(option, name))
        .map(|(command, option)| {
            let value = if option.value.is_empty() { String::new() } else { format!(" {}", option.value) };
            format!("{command} {}{value}\n\n  {}\n\nexample:\n  {}\n", option.names, option.text, option.example)
        })
        .collect();
    (!found.is_empty()).then(|| found.join("\n"))
}

/// The long option closest to an unknown `--name`, when one is close enough to be a typo.
pub fn closest(name: &str) -> Option<&'static str> {
    let wanted = name.trim_start_matches('-');
    every()
        .flat_map(|(_, option)| option.names.split(", "))
        .filter(|spelling| spelling.starts_with("--"))
        .map(|spelling| (strsim::damerau_levenshtein(wanted, &spelling[2..]), spelling))
        .filter(|(distance, spelling)| *distance <= 2.max(spelling.len() / 4))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, spelling)| spelling)
}

/// What a command-line mistake prints: the one thing that was wrong, the usage, and where
/// to read more (about the option, when one was at fault).
pub fn mistake(message: &str, option: Option<&str>) -> String {
    let more = match option.filter(|name| one(name).is_some()) {
        Some(name) => format!("see 'tidings --help {name}' for that option, 'tidings --help' for all"),
        None => "see 'tidings --help'".to_owned(),
    };
    format!("tidings: {message}\n{}\n{more}", USAGE.lines().next().unwrap_or_default())
}
