//! Proxy choice as a pure decision: which proxy (if any) carries a request, how the request
//! goes through it, and where the proxy's credentials may appear.
//!
//! * Plain `http://` targets go to an HTTP proxy in absolute form (RFC 9112 §3.2.2) with
//!   the proxy's `Proxy-Authorization` ([`Route::Forward`]).
//! * `https://` targets go through a `CONNECT` tunnel (RFC 9110 §9.3.6): the proxy's
//!   credentials ride on the CONNECT request only, and any `Proxy-Authorization` is removed
//!   from the request sent inside the tunnel ([`Route::Tunnel`]) — the rule behind Requests'
//!   CVE-2023-32681.
//! * The environment is read as curl and Requests read it, with the variables passed in
//!   (this crate never touches `std::env`): `http_proxy`, `https_proxy`, `all_proxy`,
//!   `no_proxy`, lower case first; upper-case `HTTP_PROXY` is ignored when `REQUEST_METHOD`
//!   is set, since a CGI server fills `HTTP_PROXY` from a client's `Proxy:` header
//!   ("httpoxy").
//! * `NO_PROXY`: comma-separated host names (matching the host and its subdomains, with or
//!   without a leading `.` or `*.`), `host:port`, IPv4 and IPv6 addresses (`[::1]:8080`
//!   with a port) and CIDR blocks (`10.0.0.0/8`, `fd00::/8`), or `*` for everything.

use std::net::IpAddr;

use base64::Engine as _;
use url::{Host, Url};

use crate::headers::Headers;
use crate::socks::SocksVersion;

/// Why a proxy setting cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyError {
    /// Not a URL, or no host.
    #[error("invalid proxy URL {url:?} ({source_name}): {reason}")]
    Invalid {
        /// The text given.
        url: String,
        /// Where it came from (an environment variable or "configuration").
        source_name: String,
        /// What is wrong.
        reason: String,
    },
}

/// What a proxy speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProxyKind {
    /// An HTTP proxy (`http://`): requests forwarded in absolute form, `CONNECT` tunnels.
    Http,
    /// An HTTP proxy reached over TLS (`https://`): the same, inside a TLS connection to the
    /// proxy itself (an `https://` origin then runs TLS inside that TLS).
    Https,
    /// A SOCKS proxy (`socks4://`, `socks4a://`, `socks5://`, `socks5h://`): a tunnel for
    /// every scheme, opened by a [`Handshake`](crate::socks::Handshake).
    Socks(SocksVersion),
}

impl ProxyKind {
    /// Whether the proxy speaks HTTP (forwarding and `CONNECT`), over TLS or not.
    pub fn is_http(self) -> bool {
        matches!(self, ProxyKind::Http | ProxyKind::Https)
    }
}

/// A proxy: what it speaks, where to connect, and the credentials for it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Proxy {
    kind: ProxyKind,
    host: String,
    port: u16,
    /// The URL's user name and password, percent-decoded.
    credentials: Option<(String, String)>,
    /// For an HTTP proxy: `Basic` of the credentials.
    authorization: Option<String>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("kind", &self.kind)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("credentials", &self.credentials.is_some())
            .finish()
    }
}

impl Proxy {
    /// Parses a proxy URL: `SCHEME://[user:pass@]host[:port]` where SCHEME is `http` (port
    /// 80 by default), `https` (443: TLS to the proxy itself), or `socks4`, `socks4a`,
    /// `socks5`, `socks5h` (port 1080); a URL without a scheme is taken as `http://`, as
    /// curl and Requests do.
    pub fn parse(text: &str) -> Result<Proxy, ProxyError> {
        Proxy::parse_from(text, "configuration")
    }

    fn parse_from(text: &str, source_name: &str) -> Result<Proxy, ProxyError> {
        let invalid = |reason: &str| ProxyError::Invalid {
            url: redact(text),
            source_name: source_name.to_owned(),
            reason: reason.to_owned(),
        };
        let trimmed = text.trim();
        let with_scheme = if trimmed.contains("://") { trimmed.to_owned() } else { format!("http://{trimmed}") };
        let url = Url::parse(&with_scheme).map_err(|error| invalid(&error.to_string()))?;
        let (kind, default_port) = match url.scheme() {
            "http" => (ProxyKind::Http, 80),
            "https" => (ProxyKind::Https, 443),
            "socks4" => (ProxyKind::Socks(SocksVersion::Socks4), 1080),
            "socks4a" => (ProxyKind::Socks(SocksVersion::Socks4a), 1080),
            "socks5" => (ProxyKind::Socks(SocksVersion::Socks5), 1080),
            "socks5h" => (ProxyKind::Socks(SocksVersion::Socks5h), 1080),
            "socks" => return Err(invalid("say which SOCKS: socks4://, socks4a://, socks5:// or socks5h://")),
            other => return Err(invalid(&format!("the {other}:// proxy scheme is not supported"))),
        };
        let host = match url.host() {
            Some(Host::Domain(domain)) => domain.to_owned(),
            Some(Host::Ipv4(address)) => address.to_string(),
            Some(Host::Ipv6(address)) => address.to_string(),
            None => return Err(invalid("no host")),
        };
        let decode = |part: &str| percent_encoding::percent_decode_str(part).decode_utf8_lossy().into_owned();
        let credentials = (!url.username().is_empty() || url.password().is_some())
            .then(|| (decode(url.username()), decode(url.password().unwrap_or(""))));
        let authorization = credentials.as_ref().filter(|_| kind.is_http()).map(|(user, password)| {
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
        });
        Ok(Proxy { kind, host, port: url.port().unwrap_or(default_port), credentials, authorization })
    }

    /// What the proxy speaks.
    pub fn kind(&self) -> ProxyKind {
        self.kind
    }

    /// The proxy's host (an IPv6 address without brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The user name and password of the proxy URL, percent-decoded.
    pub fn credentials(&self) -> Option<(&str, &str)> {
        self.credentials.as_ref().map(|(user, password)| (user.as_str(), password.as_str()))
    }

    /// The `Proxy-Authorization` value for an HTTP(S) proxy, when the URL had credentials.
    pub fn authorization(&self) -> Option<&str> {
        self.authorization.as_deref()
    }
}

/// A proxy URL for messages: credentials replaced by `***`.
fn redact(text: &str) -> String {
    match (text.find("://").map(|at| at + 3), text.rfind('@')) {
        (Some(start), Some(at)) if at > start => format!("{}***{}", &text[..start], &text[at..]),
        (None, Some(at)) => format!("***{}", &text[at..]),
        _ => text.to_owned(),
    }
}

/// One `NO_PROXY` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Bypass {
    All,
    Domain { name: String, port: Option<u16> },
    Address { address: IpAddr, port: Option<u16> },
    Network { address: IpAddr, prefix: u8 },
}

/// Hosts reached directly, whatever the proxies say (`NO_PROXY`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoProxy {
    entries: Vec<Bypass>,
}

impl NoProxy {
    /// Parses a `NO_PROXY` list; entries that make no sense are skipped.
    pub fn parse(list: &str) -> NoProxy {
        let entries = list
            .split([',', ' ', '\t', '\n'])
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .filter_map(NoProxy::entry)
            .collect();
        NoProxy { entries }
    }

    fn entry(entry: &str) -> Option<Bypass> {
        if entry == "*" {
            return Some(Bypass::All);
        }
        if let Some((address, prefix)) = entry.split_once('/') {
            let address: IpAddr = address.trim_start_matches('[').trim_end_matches(']').parse().ok()?;
            let prefix: u8 = prefix.parse().ok()?;
            let bits = if address.is_ipv4() { 32 } else { 128 };
            return (prefix <= bits).then_some(Bypass::Network { address, prefix });
        }
        if let Ok(address) = entry.parse::<IpAddr>() {
            return Some(Bypass::Address { address, port: None });
        }
        // [v6]:port, [v6], host:port, host
        let (host, port) = if let Some(rest) = entry.strip_prefix('[') {
            let (address, after) = rest.split_once(']')?;
            let port = match after.strip_prefix(':') {
                Some(port) => Some(port.parse().ok()?),
                None if after.is_empty() => None,
                None => return None,
            };
            return Some(Bypass::Address { address: address.parse().ok()?, port });
        } else {
            match entry.rsplit_once(':') {
                Some((host, port)) => (host, Some(port.parse::<u16>().ok()?)),
                None => (entry, None),
            }
        };
        if let Ok(address) = host.parse::<IpAddr>() {
            return Some(Bypass::Address { address, port });
        }
        let name = host.trim_start_matches('*').trim_start_matches('.').trim_end_matches('.').to_ascii_lowercase();
        (!name.is_empty()).then_some(Bypass::Domain { name, port })
    }

    /// Whether `url` is reached directly.
    pub fn matches(&self, url: &Url) -> bool {
        if self.entries.is_empty() {
            return false;
        }
        let port = url.port_or_known_default();
        let host = match url.host() {
            Some(Host::Domain(domain)) => domain.trim_end_matches('.').to_ascii_lowercase(),
            Some(Host::Ipv4(address)) => address.to_string(),
            Some(Host::Ipv6(address)) => address.to_string(),
            None => return false,
        };
        let address: Option<IpAddr> = host.parse().ok();
        let port_matches = |wanted: &Option<u16>| wanted.is_none() || *wanted == port;
        self.entries.iter().any(|entry| match entry {
            Bypass::All => true,
            Bypass::Domain { name, port: wanted } => {
                port_matches(wanted)
                    && (host == *name
                        || (address.is_none()
                            && host.len() > name.len()
                            && host.ends_with(name.as_str())
                            && host.as_bytes()[host.len() - name.len() - 1] == b'.'))
            }
            Bypass::Address { address: wanted, port: wanted_port } => {
                port_matches(wanted_port) && address.is_some_and(|address| canonical(address) == canonical(*wanted))
            }
            Bypass::Network { address: network, prefix } => {
                address.is_some_and(|address| in_network(canonical(address), canonical(*network), *prefix))
            }
        })
    }
}

/// IPv4-mapped IPv6 addresses compare as IPv4.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

fn in_network(address: IpAddr, network: IpAddr, prefix: u8) -> bool {
    let (address, network, bits) = match (address, network) {
        (IpAddr::V4(a), IpAddr::V4(n)) => (u128::from(u32::from(a)), u128::from(u32::from(n)), 32u32),
        (IpAddr::V6(a), IpAddr::V6(n)) => (u128::from(a), u128::from(n), 128u32),
        _ => return false,
    };
    let prefix = u32::from(prefix);
    if prefix == 0 {
        return true;
    }
    let shift = bits - prefix;
    (address >> shift) == (network >> shift)
}

/// The proxy setting for one scheme: none, a proxy, or one that could not be parsed (the
/// request fails rather than silently going direct).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ProxySetting {
    /// Connect directly.
    #[default]
    Direct,
    /// Through this proxy.
    Proxy(Proxy),
    /// A setting that does not parse.
    Invalid(ProxyError),
}

impl ProxySetting {
    fn parse(text: &str, source_name: &str) -> ProxySetting {
        match Proxy::parse_from(text, source_name) {
            Ok(proxy) => ProxySetting::Proxy(proxy),
            Err(error) => ProxySetting::Invalid(error),
        }
    }
}

/// Which proxy each scheme uses, and the hosts that bypass them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxySettings {
    /// For `http://` URLs.
    pub http: ProxySetting,
    /// For `https://` URLs.
    pub https: ProxySetting,
    /// Hosts reached directly.
    pub no_proxy: NoProxy,
}

/// How a request reaches its origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'a> {
    /// Straight to the origin.
    Direct,
    /// To an HTTP proxy, in absolute form, with the proxy's `Proxy-Authorization`.
    Forward(&'a Proxy),
    /// Through a `CONNECT` tunnel opened at this proxy.
    Tunnel(&'a Proxy),
    /// Through a SOCKS tunnel opened at this proxy, whatever the scheme: the request goes
    /// in origin form, as to the origin itself.
    Socks(&'a Proxy),
}

impl Route<'_> {
    /// Adjusts the headers of the request sent along this route: only a request to the
    /// proxy itself carries `Proxy-Authorization` (the caller's, else the proxy URL's);
    /// inside a tunnel or straight to an origin it is removed, whoever set it.
    pub fn adjust_headers(&self, headers: &mut Headers) {
        match self {
            Route::Forward(proxy) => {
                if let (false, Some(value)) = (headers.contains("proxy-authorization"), proxy.authorization()) {
                    headers.append("Proxy-Authorization", value);
                }
            }
            Route::Tunnel(_) | Route::Socks(_) | Route::Direct => {
                headers.remove("proxy-authorization");
            }
        }
    }
}

impl ProxySettings {
    /// No proxies at all.
    pub fn none() -> ProxySettings {
        ProxySettings::default()
    }

    /// One proxy for both schemes.
    pub fn all(proxy: Proxy) -> ProxySettings {
        ProxySettings {
            http: ProxySetting::Proxy(proxy.clone()),
            https: ProxySetting::Proxy(proxy),
            no_proxy: NoProxy::default(),
        }
    }

    /// Reads the proxy variables through `var` (the transport passes
    /// `|name| std::env::var(name).ok()`); see the module notes for the rules.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> ProxySettings {
        let get = |name: &str| var(name).filter(|value| !value.trim().is_empty()).map(|value| (name.to_owned(), value));
        let cgi = var("REQUEST_METHOD").is_some();
        let all = get("all_proxy").or_else(|| get("ALL_PROXY"));
        let http = get("http_proxy").or_else(|| if cgi { None } else { get("HTTP_PROXY") }).or_else(|| all.clone());
        let https = get("https_proxy").or_else(|| get("HTTPS_PROXY")).or(all);
        let setting = |found: Option<(String, String)>| match found {
            Some((name, value)) => ProxySetting::parse(&value, &name),
            None => ProxySetting::Direct,
        };
        ProxySettings {
            http: setting(http),
            https: setting(https),
            no_proxy: get("no_proxy")
                .or_else(|| get("NO_PROXY"))
                .map_or_else(NoProxy::default, |(_, list)| NoProxy::parse(&list)),
        }
    }

    /// The route for `url`: direct when `NO_PROXY` matches or the scheme has no proxy;
    /// an error when its proxy setting does not parse.
    pub fn route(&self, url: &Url) -> Result<Route<'_>, ProxyError> {
        let setting = match url.scheme() {
            "http" => &self.http,
            "https" => &self.https,
            _ => &ProxySetting::Direct,
        };
        // Direct either way: no need to look at NO_PROXY (it formatted and parsed the host on
        // every request: 3,400 instructions of a small request's 27,600).
        if let ProxySetting::Direct = setting {
            return Ok(Route::Direct);
        }
        if self.no_proxy.matches(url) {
            return Ok(Route::Direct);
        }
        match setting {
            ProxySetting::Direct => Ok(Route::Direct),
            ProxySetting::Invalid(error) => Err(error.clone()),
            ProxySetting::Proxy(proxy) if matches!(proxy.kind(), ProxyKind::Socks(_)) => Ok(Route::Socks(proxy)),
            ProxySetting::Proxy(proxy) if url.scheme() == "https" => Ok(Route::Tunnel(proxy)),
            ProxySetting::Proxy(proxy) => Ok(Route::Forward(proxy)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).expect("test URL")
    }

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| pairs.iter().find(|(key, _)| *key == name).map(|(_, value)| (*value).to_owned())
    }

    fn proxy_host(settings: &ProxySettings, target: &str) -> Option<String> {
        match settings.route(&url(target)) {
            Ok(Route::Forward(proxy) | Route::Tunnel(proxy) | Route::Socks(proxy)) => {
                Some(format!("{}:{}", proxy.host(), proxy.port()))
            }
            Ok(Route::Direct) => None,
            Err(error) => Some(format!("error: {error}")),
        }
    }

    #[test]
    fn proxy_urls() {
        let proxy = Proxy::parse("http://us%40er:p%3Ass@proxy.local:3128").expect("valid");
        assert_eq!((proxy.host(), proxy.port()), ("proxy.local", 3128));
        // base64("us@er:p:ss")
        assert_eq!(proxy.authorization(), Some("Basic dXNAZXI6cDpzcw=="));
        let bare = Proxy::parse("10.0.0.1").expect("scheme-less");
        assert_eq!((bare.host(), bare.port(), bare.authorization()), ("10.0.0.1", 80, None));
        assert_eq!(Proxy::parse("[::1]:8080").expect("v6").host(), "::1");
        for bad in ["socks://h:1080", "http://", "http://h:99999", "ftp://h"] {
            assert!(Proxy::parse(bad).is_err(), "{bad}");
        }
        let message = Proxy::parse("ftp://user:secret@h").expect_err("ftp").to_string();
        assert!(!message.contains("secret") && message.contains("***@h"), "{message}");
        assert!(!format!("{proxy:?}").contains("Basic"), "Debug hides credentials");
    }

    #[test]
    fn https_proxies_forward_and_tunnel_as_http_ones() {
        let proxy = Proxy::parse("https://me:pw@proxy.test").expect("valid");
        assert_eq!((proxy.kind(), proxy.port()), (ProxyKind::Https, 443));
        assert_eq!(proxy.authorization(), Some("Basic bWU6cHc="));
        let settings = ProxySettings::all(proxy);
        assert!(matches!(settings.route(&url("http://a.test/")), Ok(Route::Forward(_))));
        assert!(matches!(settings.route(&url("https://a.test/")), Ok(Route::Tunnel(_))));
    }

    #[test]
    fn socks_proxies_tunnel_every_scheme() {
        let proxy = Proxy::parse("socks5h://me:p%40ss@127.0.0.1").expect("valid");
        assert_eq!(proxy.kind(), ProxyKind::Socks(SocksVersion::Socks5h));
        assert_eq!((proxy.port(), proxy.credentials(), proxy.authorization()), (1080, Some(("me", "p@ss")), None));
        for (scheme, version) in
            [("socks4", SocksVersion::Socks4), ("socks4a", SocksVersion::Socks4a), ("socks5", SocksVersion::Socks5)]
        {
            assert_eq!(Proxy::parse(&format!("{scheme}://h:9")).map(|p| p.kind()), Ok(ProxyKind::Socks(version)));
        }
        let settings =
            ProxySettings::from_env(env(&[("all_proxy", "socks5h://127.0.0.1:1080"), ("no_proxy", "skip.test")]));
        assert!(matches!(settings.route(&url("http://a.test/")), Ok(Route::Socks(_))));
        assert!(matches!(settings.route(&url("https://a.test/")), Ok(Route::Socks(_))));
        assert_eq!(settings.route(&url("https://skip.test/")), Ok(Route::Direct));
        let mut headers = Headers::new();
        headers.append("Proxy-Authorization", "Basic eA==");
        Route::Socks(&proxy).adjust_headers(&mut headers);
        assert!(!headers.contains("proxy-authorization"), "no proxy credentials go to the origin");
    }

    #[test]
    fn environment_lower_case_first_and_the_httpoxy_guard() {
        let settings = ProxySettings::from_env(env(&[
            ("http_proxy", "lower:1"),
            ("HTTP_PROXY", "upper:2"),
            ("HTTPS_PROXY", "secure:3"),
        ]));
        assert_eq!(proxy_host(&settings, "http://a/").as_deref(), Some("lower:1"));
        assert_eq!(proxy_host(&settings, "https://a/").as_deref(), Some("secure:3"));

        let upper = ProxySettings::from_env(env(&[("HTTP_PROXY", "upper:2")]));
        assert_eq!(proxy_host(&upper, "http://a/").as_deref(), Some("upper:2"));
        let cgi = ProxySettings::from_env(env(&[("HTTP_PROXY", "attacker:2"), ("REQUEST_METHOD", "GET")]));
        assert_eq!(proxy_host(&cgi, "http://a/"), None, "httpoxy: ignored under CGI");
        let cgi_lower = ProxySettings::from_env(env(&[("http_proxy", "mine:1"), ("REQUEST_METHOD", "GET")]));
        assert_eq!(proxy_host(&cgi_lower, "http://a/").as_deref(), Some("mine:1"));

        let all = ProxySettings::from_env(env(&[("ALL_PROXY", "all:9"), ("https_proxy", "  ")]));
        assert_eq!(proxy_host(&all, "http://a/").as_deref(), Some("all:9"));
        assert_eq!(proxy_host(&all, "https://a/").as_deref(), Some("all:9"), "blank values are unset");
        assert_eq!(ProxySettings::from_env(env(&[])), ProxySettings::none());

        let broken = ProxySettings::from_env(env(&[("https_proxy", "gopher://x")]));
        let message = proxy_host(&broken, "https://a/").unwrap_or_default();
        assert!(message.starts_with("error:") && message.contains("https_proxy"), "{message}");
        assert_eq!(proxy_host(&broken, "http://a/"), None);
    }

    #[test]
    fn no_proxy_entries() {
        let settings = ProxySettings {
            no_proxy: NoProxy::parse(
                "example.com, .dot.org,*.star.net , exact.io:8443, 10.0.0.0/8,192.168.1.7, [::1]:9000, fd00::/8, [2001:db8::1]",
            ),
            ..ProxySettings::all(Proxy::parse("p:1").expect("proxy"))
        };
        let direct = |target: &str| proxy_host(&settings, target).is_none();
        assert!(
            direct("http://example.com/") && direct("http://www.EXAMPLE.com./") && direct("https://a.b.example.com/")
        );
        assert!(!direct("http://badexample.com/") && !direct("http://example.com.evil/"));
        assert!(direct("http://dot.org/") && direct("http://x.dot.org/"));
        assert!(direct("http://star.net/") && direct("http://x.star.net/"));
        assert!(direct("https://exact.io:8443/") && !direct("https://exact.io/"));
        assert!(direct("http://10.1.2.3/") && !direct("http://11.1.2.3/"));
        assert!(direct("http://192.168.1.7:8080/") && !direct("http://192.168.1.8/"));
        assert!(direct("http://[::1]:9000/") && !direct("http://[::1]:9001/"));
        assert!(direct("http://[fd12::1]/") && !direct("http://[fe80::1]/"));
        assert!(direct("http://[2001:db8::1]/"));
        assert!(direct("http://[::ffff:10.9.9.9]/"), "IPv4-mapped addresses match IPv4 blocks");

        let everything = ProxySettings { no_proxy: NoProxy::parse("*"), ..settings.clone() };
        assert_eq!(proxy_host(&everything, "http://anything/"), None);
        for odd in ["", ",,", "1.2.3.4/33", "[::1", "host:port", "/", "*.", "[::1]x", "::1/129"] {
            let parsed = NoProxy::parse(odd);
            assert!(!parsed.matches(&url("http://unrelated.test/")), "{odd:?}");
        }
        assert!(NoProxy::parse("::1").matches(&url("http://[::1]/")));
        assert!(NoProxy::parse("0.0.0.0/0").matches(&url("http://1.2.3.4/")));
    }

    #[test]
    fn proxy_credentials_only_on_the_proxy_hop() {
        let proxy = Proxy::parse("http://u:p@proxy:3128").expect("proxy");
        let settings = ProxySettings::all(proxy);
        let mut headers = Headers::new();
        headers.append("proxy-AUTHORIZATION", "Basic caller");
        let tunnel = settings.route(&url("https://origin/")).expect("route");
        assert!(matches!(tunnel, Route::Tunnel(_)));
        tunnel.adjust_headers(&mut headers);
        assert!(!headers.contains("proxy-authorization"), "never inside the tunnel");
        let forward = settings.route(&url("http://origin/")).expect("route");
        forward.adjust_headers(&mut headers);
        assert_eq!(headers.get_str("proxy-authorization"), Some("Basic dTpw"));
        let mut caller = Headers::new();
        caller.append("Proxy-Authorization", "Basic mine");
        forward.adjust_headers(&mut caller);
        assert_eq!(caller.get_all("proxy-authorization").count(), 1);
        Route::Direct.adjust_headers(&mut caller);
        assert!(caller.is_empty());
    }
}
