//! A cookie jar as a pure state machine (RFC 6265, with the hardening of RFC 6265bis):
//! `Set-Cookie` values in with the URL they answered and `now`, a `Cookie` header out for a
//! URL and `now`. It never reads a clock — which is why it is not a wrapper around a crate
//! that does.
//!
//! What it enforces:
//! * §5.2 parsing, attribute by attribute; anything malformed is ignored, never a panic;
//!   names and values with control bytes, or larger than 4096 bytes together, are refused.
//! * §5.3 storage: `Domain` must domain-match the request host and must not be a public
//!   suffix (the Public Suffix List, through `psl`); without `Domain` the cookie is host-only;
//!   IP hosts only ever get host-only cookies; `Max-Age` beats `Expires`; an expiry in the
//!   past deletes.
//! * 6265bis: `Secure` cookies are only set from https, and an http response cannot
//!   overwrite or shadow a secure one; the `__Secure-` and `__Host-` prefixes are enforced.
//! * §5.4 retrieval: host-only or domain match, path match, `Secure` only over https,
//!   expired cookies dropped; longer paths first, then older cookies.
//! * Bounded: 50 cookies per domain and 3000 in all; the least recently used go first.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use url::{Host, Url};

/// Most cookies kept for one domain.
pub const MAX_COOKIES_PER_DOMAIN: usize = 50;
/// Most cookies kept in a jar.
pub const MAX_COOKIES: usize = 3000;
/// Largest name plus value accepted (RFC 6265bis §5.7).
pub const MAX_NAME_VALUE: usize = 4096;
/// Longest attribute value honoured.
const MAX_ATTRIBUTE_VALUE: usize = 1024;

/// One stored cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cookie {
    /// The name.
    pub name: String,
    /// The value.
    pub value: String,
    /// The domain (lower case, no leading dot): the origin host when `host_only`.
    pub domain: String,
    /// Sent only to exactly `domain`, not its subdomains.
    pub host_only: bool,
    /// The path prefix it applies to.
    pub path: String,
    /// Sent only over https.
    pub secure: bool,
    /// Marked `HttpOnly` (meaningful to browsers; kept for inspection).
    pub http_only: bool,
    /// When it expires; `None` for a session cookie.
    pub expires: Option<SystemTime>,
    creation: SystemTime,
    last_access: SystemTime,
}

impl Cookie {
    fn is_expired(&self, now: SystemTime) -> bool {
        self.expires.is_some_and(|expires| expires <= now)
    }
}

/// Why a `Set-Cookie` was not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CookieRejection {
    /// Not `name=value`, an empty name, control bytes, not UTF-8, or too large.
    #[error("malformed Set-Cookie")]
    Malformed,
    /// `Domain` does not cover the host that set it.
    #[error("Domain does not match the request host")]
    DomainMismatch,
    /// `Domain` is a public suffix (such as `com` or `co.uk`).
    #[error("Domain is a public suffix")]
    PublicSuffix,
    /// `Secure` from a non-secure origin, or an attempt to overwrite a secure cookie from one.
    #[error("a secure cookie from a non-secure origin")]
    Insecure,
    /// `__Secure-` or `__Host-` without what the prefix requires.
    #[error("cookie prefix requirements not met")]
    Prefix,
    /// The URL has no host.
    #[error("the URL has no host")]
    NoHost,
}

/// A cookie jar. Cheap to create; clone it to snapshot.
#[derive(Debug, Clone, Default)]
pub struct CookieJar {
    cookies: Vec<Cookie>,
}

/// The request host in canonical form, and whether it is an IP address.
fn canonical_host(url: &Url) -> Option<(String, bool)> {
    match url.host()? {
        // One trailing dot names the same host (a fully qualified name); more do not (found
        // by the `call` fuzz target: `a.test.......` was sent `a.test`'s host-only cookies).
        Host::Domain(domain) => Some((domain.strip_suffix('.').unwrap_or(domain).to_ascii_lowercase(), false)),
        Host::Ipv4(address) => Some((address.to_string(), true)),
        Host::Ipv6(address) => Some((address.to_string(), true)),
    }
}

/// RFC 6265 §5.1.3.
fn domain_match(host: &str, host_is_ip: bool, domain: &str) -> bool {
    host == domain
        || (!host_is_ip
            && host.len() > domain.len()
            && host.ends_with(domain)
            && host.as_bytes()[host.len() - domain.len() - 1] == b'.')
}

/// RFC 6265 §5.1.4.
fn path_match(request_path: &str, cookie_path: &str) -> bool {
    request_path == cookie_path
        || (request_path.starts_with(cookie_path)
            && (cookie_path.ends_with('/') || request_path.as_bytes().get(cookie_path.len()) == Some(&b'/')))
}

/// RFC 6265 §5.1.4's default-path.
fn default_path(url: &Url) -> String {
    let path = url.path();
    match path.rfind('/') {
        Some(0) | None => "/".to_owned(),
        Some(last) => path[..last].to_owned(),
    }
}

fn has_controls(text: &str) -> bool {
    text.bytes().any(|byte| (byte < 0x20 && byte != b'\t') || byte == 0x7f)
}

fn trim_wsp(text: &str) -> &str {
    text.trim_matches([' ', '\t'])
}

/// RFC 6265 §5.1.1: the lenient cookie-date algorithm (all of `Wed, 21 Oct 2015 07:28:00
/// GMT`, `Wed, 21-Oct-15 07:28:00 GMT`, `Wed Oct 21 07:28:00 2015`…).
pub fn parse_cookie_date(text: &str) -> Option<SystemTime> {
    let is_delimiter = |c: char| matches!(c, '\t' | ' '..='/' | ';'..='@' | '['..='`' | '{'..='~');
    let (mut time, mut day, mut month, mut year) = (None, None, None, None);
    let leading_digits = |token: &str, min: usize, max: usize| -> Option<u32> {
        let digits = token.bytes().take_while(u8::is_ascii_digit).count();
        if digits < min || digits > max {
            return None;
        }
        token[..digits].parse().ok()
    };
    for token in text.split(is_delimiter).filter(|token| !token.is_empty()) {
        if time.is_none() {
            // hms-time = time-field ":" time-field ":" time-field, then any non-digits.
            let mut fields = token.splitn(3, ':');
            if let (Some(h), Some(m), Some(s)) = (fields.next(), fields.next(), fields.next()) {
                let exact = |field: &str| (1..=2).contains(&field.len()) && field.bytes().all(|b| b.is_ascii_digit());
                let seconds_digits = s.bytes().take_while(u8::is_ascii_digit).count();
                if exact(h) && exact(m) && (1..=2).contains(&seconds_digits) {
                    let parse = |field: &str| field.parse::<u32>().ok();
                    if let (Some(h), Some(m), Some(s)) = (parse(h), parse(m), parse(&s[..seconds_digits])) {
                        time = Some((h, m, s));
                        continue;
                    }
                }
            }
        }
        if day.is_none() {
            if let Some(value) = leading_digits(token, 1, 2) {
                day = Some(value);
                continue;
            }
        }
        if month.is_none() && token.len() >= 3 {
            const MONTHS: [&str; 12] =
                ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
            if let Some(index) =
                token.get(..3).and_then(|prefix| MONTHS.iter().position(|month| month.eq_ignore_ascii_case(prefix)))
            {
                month = Some(index as u32 + 1);
                continue;
            }
        }
        if year.is_none() {
            if let Some(value) = leading_digits(token, 2, 4) {
                year = Some(value);
                continue;
            }
        }
    }
    let (hour, minute, second) = time?;
    let (day, month, mut year) = (day?, month?, year?);
    if (70..=99).contains(&year) {
        year += 1900;
    } else if year <= 69 {
        year += 2000;
    }
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if year < 1601 || day == 0 || day > month_days[month as usize - 1] || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm), then seconds.
    let (y, m) = (i64::from(year) - i64::from(month <= 2), i64::from(month));
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    let seconds = days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second);
    if seconds >= 0 {
        UNIX_EPOCH.checked_add(Duration::from_secs(seconds as u64))
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_secs(seconds.unsigned_abs()))
    }
}

/// A `Set-Cookie` value parsed (§5.2), before the storage rules.
struct Parsed<'a> {
    name: &'a str,
    value: &'a str,
    expires: Option<SystemTime>,
    max_age: Option<i64>,
    domain: Option<String>,
    path: Option<&'a str>,
    secure: bool,
    http_only: bool,
}

fn parse_set_cookie(text: &str) -> Option<Parsed<'_>> {
    let (pair, attributes) = text.split_once(';').unwrap_or((text, ""));
    let (name, value) = pair.split_once('=')?;
    let (name, value) = (trim_wsp(name), trim_wsp(value));
    if name.is_empty() || name.len() + value.len() > MAX_NAME_VALUE || has_controls(name) || has_controls(value) {
        return None;
    }
    let mut parsed =
        Parsed { name, value, expires: None, max_age: None, domain: None, path: None, secure: false, http_only: false };
    for attribute in attributes.split(';') {
        let (key, value) = attribute.split_once('=').unwrap_or((attribute, ""));
        let (key, value) = (trim_wsp(key), trim_wsp(value));
        if value.len() > MAX_ATTRIBUTE_VALUE {
            continue;
        }
        match key.to_ascii_lowercase().as_str() {
            "expires" => {
                if let Some(time) = parse_cookie_date(value) {
                    parsed.expires = Some(time);
                }
            }
            "max-age" => {
                let digits = value.strip_prefix('-').unwrap_or(value);
                if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                    // Overflow means "very large" in either direction.
                    parsed.max_age = Some(value.parse().unwrap_or(if value.starts_with('-') { -1 } else { i64::MAX }));
                }
            }
            "domain" => {
                // §5.2.3: an empty value is ignored; one leading dot is removed ("If the first
                // character of the attribute-value string is %x2E ("."): Let cookie-domain be
                // the attribute-value without the leading %x2E"). Anything else is kept as
                // given, so `..a.example` or `a.example.` match no host (RFC 6265bis says so
                // of a trailing dot).
                let domain = value.strip_prefix('.').unwrap_or(value);
                if !domain.is_empty() {
                    parsed.domain = Some(domain.to_ascii_lowercase());
                }
            }
            "path" => parsed.path = value.starts_with('/').then_some(value),
            "secure" => parsed.secure = true,
            "httponly" => parsed.http_only = true,
            _ => {}
        }
    }
    Some(parsed)
}

impl CookieJar {
    /// An empty jar.
    pub fn new() -> CookieJar {
        CookieJar::default()
    }

    /// Stores the `Set-Cookie` values of a response to `url`, received at `now`; values
    /// the rules refuse are skipped.
    pub fn store_response<'a>(&mut self, url: &Url, set_cookies: impl IntoIterator<Item = &'a [u8]>, now: SystemTime) {
        for value in set_cookies {
            let _ = self.store(url, value, now);
        }
    }

    /// Stores one `Set-Cookie` value received from `url` at `now`, or says why not.
    pub fn store(&mut self, url: &Url, set_cookie: &[u8], now: SystemTime) -> Result<(), CookieRejection> {
        let text = std::str::from_utf8(set_cookie).map_err(|_| CookieRejection::Malformed)?;
        let parsed = parse_set_cookie(text).ok_or(CookieRejection::Malformed)?;
        let (host, host_is_ip) = canonical_host(url).ok_or(CookieRejection::NoHost)?;
        let secure_origin = url.scheme() == "https";

        // §5.3 steps 4–6: Domain, the public suffix rule, host-only.
        let (domain, host_only) = match parsed.domain {
            None => (host.clone(), true),
            Some(domain) if domain == host => (domain, host_is_ip),
            Some(domain) => {
                if host_is_ip {
                    return Err(CookieRejection::DomainMismatch);
                }
                if psl::suffix(domain.as_bytes()).is_some_and(|suffix| suffix.as_bytes() == domain.as_bytes()) {
                    return Err(CookieRejection::PublicSuffix);
                }
                if !domain_match(&host, false, &domain) {
                    return Err(CookieRejection::DomainMismatch);
                }
                (domain, false)
            }
        };
        // A domain that equals the host but is a public suffix stays host-only (§5.3 step 5).
        let host_only =
            host_only || psl::suffix(domain.as_bytes()).is_some_and(|suffix| suffix.as_bytes() == domain.as_bytes());
        let path = parsed.path.map_or_else(|| default_path(url), str::to_owned);

        // 6265bis: Secure needs a secure origin; prefixes carry their promises.
        if parsed.secure && !secure_origin {
            return Err(CookieRejection::Insecure);
        }
        let prefixed = |prefix: &str| {
            parsed.name.as_bytes().get(..prefix.len()).is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
        };
        if prefixed("__secure-") && !parsed.secure {
            return Err(CookieRejection::Prefix);
        }
        if prefixed("__host-") && (!parsed.secure || !host_only || path != "/") {
            return Err(CookieRejection::Prefix);
        }
        if !secure_origin {
            let shadows_secure = self.cookies.iter().any(|existing| {
                existing.secure
                    && existing.name == parsed.name
                    && (domain_match(&domain, host_is_ip, &existing.domain)
                        || domain_match(&existing.domain, host_is_ip, &domain))
                    && path_match(&path, &existing.path)
            });
            if shadows_secure {
                return Err(CookieRejection::Insecure);
            }
        }

        // Max-Age beats Expires (§5.3 step 3); zero or negative means already expired.
        let expires = match parsed.max_age {
            Some(seconds) if seconds <= 0 => Some(UNIX_EPOCH),
            Some(seconds) => Some(
                now.checked_add(Duration::from_secs(seconds as u64))
                    .unwrap_or(now + Duration::from_secs(100 * 365 * 86_400)),
            ),
            None => parsed.expires,
        };
        let mut cookie = Cookie {
            name: parsed.name.to_owned(),
            value: parsed.value.to_owned(),
            domain,
            host_only,
            path,
            secure: parsed.secure,
            http_only: parsed.http_only,
            expires,
            creation: now,
            last_access: now,
        };

        // §5.3 step 11: the same name, domain and path replace the old one in its place,
        // keeping its creation time (11.3: so its order in the Cookie header stays); an
        // expired one deletes it.
        let existing = self.cookies.iter().position(|existing| {
            existing.name == cookie.name && existing.domain == cookie.domain && existing.path == cookie.path
        });
        match existing {
            Some(index) if cookie.is_expired(now) => drop(self.cookies.remove(index)),
            Some(index) => {
                cookie.creation = self.cookies[index].creation;
                let domain = cookie.domain.clone();
                self.cookies[index] = cookie;
                self.evict(now, &domain);
            }
            None if cookie.is_expired(now) => {}
            None => {
                let domain = cookie.domain.clone();
                self.cookies.push(cookie);
                self.evict(now, &domain);
            }
        }
        Ok(())
    }

    /// Drops expired cookies, then the least recently used beyond the limits.
    fn evict(&mut self, now: SystemTime, domain: &str) {
        self.cookies.retain(|cookie| !cookie.is_expired(now));
        while self.cookies.iter().filter(|cookie| cookie.domain == domain).count() > MAX_COOKIES_PER_DOMAIN {
            self.remove_least_recent(|cookie| cookie.domain == domain);
        }
        while self.cookies.len() > MAX_COOKIES {
            self.remove_least_recent(|_| true);
        }
    }

    fn remove_least_recent(&mut self, filter: impl Fn(&Cookie) -> bool) {
        let oldest = self
            .cookies
            .iter()
            .enumerate()
            .filter(|(_, cookie)| filter(cookie))
            .min_by_key(|(_, cookie)| cookie.last_access)
            .map(|(index, _)| index);
        if let Some(index) = oldest {
            self.cookies.remove(index);
        }
    }

    /// The cookies to send with a request to `url` at `now` (§5.4): longer paths first,
    /// then older cookies. Marks them as used.
    pub fn matching(&mut self, url: &Url, now: SystemTime) -> Vec<&Cookie> {
        let Some((host, host_is_ip)) = canonical_host(url) else { return Vec::new() };
        let secure = url.scheme() == "https";
        let path = url.path();
        let mut chosen: Vec<&mut Cookie> = self
            .cookies
            .iter_mut()
            .filter(|cookie| {
                !cookie.is_expired(now)
                    && (if cookie.host_only {
                        host == cookie.domain
                    } else {
                        domain_match(&host, host_is_ip, &cookie.domain)
                    })
                    && path_match(path, &cookie.path)
                    && (secure || !cookie.secure)
            })
            .collect();
        chosen.sort_by(|a, b| b.path.len().cmp(&a.path.len()).then(a.creation.cmp(&b.creation)));
        chosen
            .into_iter()
            .map(|cookie| {
                cookie.last_access = now;
                &*cookie
            })
            .collect()
    }

    /// The `Cookie` header value for a request to `url` at `now`, or `None` when no cookie
    /// applies.
    pub fn header_value(&mut self, url: &Url, now: SystemTime) -> Option<String> {
        let cookies = self.matching(url, now);
        (!cookies.is_empty())
            .then(|| cookie_header(cookies.iter().map(|cookie| (cookie.name.as_str(), cookie.value.as_str()))))
    }

    /// The cookies held (expired ones may remain until the next store).
    pub fn iter(&self) -> impl Iterator<Item = &Cookie> {
        self.cookies.iter()
    }

    /// The value of the first unexpired cookie named `name`, whatever its domain.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.cookies.iter().find(|cookie| cookie.name == name).map(|cookie| cookie.value.as_str())
    }

    /// How many cookies are held.
    pub fn len(&self) -> usize {
        self.cookies.len()
    }

    /// Whether the jar is empty.
    pub fn is_empty(&self) -> bool {
        self.cookies.is_empty()
    }

    /// Forgets every cookie.
    pub fn clear(&mut self) {
        self.cookies.clear();
    }

    /// Forgets session cookies (those without an expiry), as a browser does on restart.
    pub fn clear_session_cookies(&mut self) {
        self.cookies.retain(|cookie| cookie.expires.is_some());
    }
}

/// Joins name/value pairs into a `Cookie` header value (`a=1; b=2`).
pub fn cookie_header<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut value = String::new();
    for (name, cookie_value) in pairs {
        if !value.is_empty() {
            value.push_str("; ");
        }
        value.push_str(name);
        value.push('=');
        value.push_str(cookie_value);
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).expect("test URL")
    }

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    const NOW: u64 = 1_700_000_000;

    fn jar_with(origin: &str, set_cookies: &[&str]) -> CookieJar {
        let mut jar = CookieJar::new();
        for value in set_cookies {
            let _ = jar.store(&url(origin), value.as_bytes(), at(NOW));
        }
        jar
    }

    fn header(jar: &mut CookieJar, target: &str) -> Option<String> {
        jar.header_value(&url(target), at(NOW + 1))
    }

    #[test]
    fn cookie_dates() {
        let expected = Some(at(1_445_412_480)); // 2015-10-21 07:28:00 UTC
        for text in [
            "Wed, 21 Oct 2015 07:28:00 GMT",
            "Wed, 21-Oct-2015 07:28:00 GMT",
            "Wed, 21-Oct-15 07:28:00 GMT",
            "Wed Oct 21 07:28:00 2015",
            "21 october 2015 7:28:0",
            "Wednesday, 21-OCT-2015 07:28:00 UTC",
        ] {
            assert_eq!(parse_cookie_date(text), expected, "{text}");
        }
        assert_eq!(parse_cookie_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(UNIX_EPOCH));
        assert_eq!(parse_cookie_date("Sat, 29 Feb 2020 00:00:00 GMT"), Some(at(1_582_934_400)));
        assert_eq!(
            parse_cookie_date("Mon, 01 Jan 1601 00:00:00 GMT"),
            UNIX_EPOCH.checked_sub(Duration::from_secs(11_644_473_600))
        );
        for bad in [
            "",
            "Fri, 30 Feb 2015 07:28:00 GMT",
            "Wed, 21 Oct 1600 07:28:00 GMT",
            "Wed, 21 Oct 2015 24:00:00",
            "Wed, 21 Foo 2015 07:28:00",
            "07:28:00",
            "Wed, 21 Oct 2015",
        ] {
            assert_eq!(parse_cookie_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn host_only_domain_and_path_rules() {
        let mut jar = jar_with(
            "http://www.example.com/account/login",
            &["host=1", "wide=2; Domain=.Example.COM; Path=/", "deep=3; Path=/account/settings", "root=4; Path=/"],
        );
        // default-path of /account/login is /account.
        assert_eq!(header(&mut jar, "http://www.example.com/account/x").as_deref(), Some("host=1; wide=2; root=4"));
        assert_eq!(
            header(&mut jar, "http://www.example.com/account/settings/a").as_deref(),
            Some("deep=3; host=1; wide=2; root=4")
        );
        assert_eq!(header(&mut jar, "http://www.example.com/accounts").as_deref(), Some("wide=2; root=4"));
        assert_eq!(
            header(&mut jar, "http://sub.example.com/account/").as_deref(),
            Some("wide=2"),
            "host-only stays home"
        );
        assert_eq!(header(&mut jar, "http://example.com/").as_deref(), Some("wide=2"));
        assert_eq!(header(&mut jar, "http://badexample.com/"), None);
        assert_eq!(header(&mut jar, "http://example.org/"), None);
        // A fully qualified name (one trailing dot) is the same host; more dots are not.
        assert_eq!(header(&mut jar, "http://www.example.com./account/x").as_deref(), Some("host=1; wide=2; root=4"));
        assert_eq!(header(&mut jar, "http://www.example.com../account/x"), None);
        assert_eq!(header(&mut jar, "http://www.example.com......./account/x"), None);
    }

    #[test]
    fn domains_that_do_not_cover_the_host_or_are_public_suffixes_are_refused() {
        let mut jar = CookieJar::new();
        let origin = url("http://www.example.co.uk/");
        let store = |jar: &mut CookieJar, value: &str| jar.store(&origin, value.as_bytes(), at(NOW));
        assert_eq!(store(&mut jar, "a=1; Domain=co.uk"), Err(CookieRejection::PublicSuffix));
        assert_eq!(store(&mut jar, "a=1; Domain=uk"), Err(CookieRejection::PublicSuffix));
        assert_eq!(store(&mut jar, "a=1; Domain=other.co.uk"), Err(CookieRejection::DomainMismatch));
        assert_eq!(store(&mut jar, "a=1; Domain=ww.example.co.uk"), Err(CookieRejection::DomainMismatch));
        assert_eq!(store(&mut jar, "a=1; Domain=example.co.uk"), Ok(()));
        let github = url("https://user.github.io/");
        assert_eq!(jar.store(&github, b"a=1; Domain=github.io", at(NOW)), Err(CookieRejection::PublicSuffix));
        // IP hosts: host-only, and a Domain must be the address itself.
        let ip = url("http://127.0.0.1:8080/");
        assert_eq!(jar.store(&ip, b"a=1; Domain=0.0.1", at(NOW)), Err(CookieRejection::DomainMismatch));
        assert_eq!(jar.store(&ip, b"b=2; Domain=127.0.0.1", at(NOW)), Ok(()));
        assert_eq!(header(&mut jar, "http://127.0.0.1:9999/").as_deref(), Some("b=2"));
        assert_eq!(header(&mut jar, "http://127.0.0.2/"), None);
        // A Domain equal to a single-label host stays host-only.
        assert_eq!(jar.store(&url("http://localhost/"), b"c=3; Domain=localhost", at(NOW)), Ok(()));
        assert_eq!(header(&mut jar, "http://sub.localhost/"), None);
        assert_eq!(header(&mut jar, "http://localhost/").as_deref(), Some("c=3"));
    }

    #[test]
    fn secure_cookies_and_prefixes() {
        let mut jar = CookieJar::new();
        let https = url("https://example.com/");
        let http = url("http://example.com/");
        assert_eq!(jar.store(&http, b"s=1; Secure", at(NOW)), Err(CookieRejection::Insecure));
        assert_eq!(jar.store(&https, b"s=1; Secure", at(NOW)), Ok(()));
        assert_eq!(jar.store(&http, b"s=evil", at(NOW)), Err(CookieRejection::Insecure), "no overwrite from http");
        assert_eq!(header(&mut jar, "http://example.com/"), None);
        assert_eq!(header(&mut jar, "https://example.com/").as_deref(), Some("s=1"));
        assert_eq!(jar.store(&https, b"__Secure-a=1", at(NOW)), Err(CookieRejection::Prefix));
        assert_eq!(jar.store(&https, b"__secure-a=1; Secure", at(NOW)), Ok(()));
        assert_eq!(
            jar.store(&https, b"__Host-a=1; Secure; Path=/; Domain=example.com", at(NOW)),
            Err(CookieRejection::Prefix)
        );
        assert_eq!(jar.store(&https, b"__Host-a=1; Secure; Path=/x", at(NOW)), Err(CookieRejection::Prefix));
        assert_eq!(jar.store(&https, b"__Host-a=1; Secure; Path=/", at(NOW)), Ok(()));
    }

    #[test]
    fn expiry_max_age_and_replacement() {
        let origin = url("http://example.com/");
        let mut jar = CookieJar::new();
        jar.store(&origin, b"a=1; Max-Age=10; Expires=Wed, 21 Oct 2015 07:28:00 GMT", at(NOW)).expect("stored");
        assert_eq!(jar.header_value(&origin, at(NOW + 9)).as_deref(), Some("a=1"), "Max-Age beats Expires");
        assert_eq!(jar.header_value(&origin, at(NOW + 10)), None);
        jar.store(&origin, b"b=1", at(NOW)).expect("stored");
        jar.store(&origin, b"b=2", at(NOW + 5)).expect("replaced");
        assert_eq!(jar.iter().filter(|cookie| cookie.name == "b").count(), 1);
        assert_eq!(jar.get("b"), Some("2"));
        jar.store(&origin, b"b=gone; Max-Age=0", at(NOW + 6)).expect("deleted");
        assert_eq!(jar.get("b"), None);
        jar.store(&origin, b"c=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT", at(NOW)).expect("already expired");
        assert_eq!(jar.get("c"), None);
        jar.store(&origin, b"d=1; Max-Age=99999999999999999999999", at(NOW)).expect("huge max-age");
        jar.store(&origin, b"e=1; Max-Age=-99999999999999999999999", at(NOW)).expect("huge negative");
        jar.store(&origin, b"f=1; Max-Age=1x", at(NOW)).expect("bad max-age ignored");
        assert_eq!(jar.get("d"), Some("1"));
        assert_eq!(jar.get("e"), None);
        assert!(jar.iter().any(|cookie| cookie.name == "f" && cookie.expires.is_none()));
        jar.clear_session_cookies();
        assert_eq!(jar.get("f"), None);
    }

    #[test]
    fn malformed_values_are_refused_without_panicking() {
        let origin = url("http://example.com/");
        let mut jar = CookieJar::new();
        for bad in [&b""[..], b"novalue", b"=x", b" =x", b"a=\x01", b"a\x7f=1", b"\xff=1", &[b'a'; 5000]] {
            assert_eq!(jar.store(&origin, bad, at(NOW)), Err(CookieRejection::Malformed), "{bad:?}");
        }
        for odd in
            ["a=", "a=1;;;", "a=1; Domain=", "a=1; Path=relative", "a=1; Expires", "a=\"quoted\"", "a=1; Domain=."]
        {
            assert!(jar.store(&origin, odd.as_bytes(), at(NOW)).is_ok(), "{odd}");
        }
        assert_eq!(jar.store(&url("http://example.com/a/b"), b"p=1; Path=relative", at(NOW)), Ok(()));
        assert!(jar.iter().any(|cookie| cookie.name == "p" && cookie.path == "/a"));
    }

    #[test]
    fn limits_evict_the_least_recently_used() {
        let origin = url("http://example.com/");
        let mut jar = CookieJar::new();
        for index in 0..MAX_COOKIES_PER_DOMAIN + 10 {
            jar.store(&origin, format!("c{index}=1").as_bytes(), at(NOW + index as u64)).expect("stored");
        }
        assert_eq!(jar.len(), MAX_COOKIES_PER_DOMAIN);
        assert_eq!(jar.get("c0"), None);
        assert_eq!(jar.get("c59"), Some("1"));
        for index in 0..MAX_COOKIES + 10 {
            let host = url(&format!("http://h{index}.example/"));
            jar.store(&host, b"x=1", at(NOW + 100 + index as u64)).expect("stored");
        }
        assert_eq!(jar.len(), MAX_COOKIES);
    }

    proptest::proptest! {
        /// Any bytes from any origin: stored or refused, never a panic, and what comes back
        /// out never carries a control byte.
        #[test]
        fn any_set_cookie_is_safe(
            value in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
            shaped in "[a-zA-Z_=; .-]{0,12}(=[ -~]{0,20})?(; (Domain|Path|Expires|Max-Age|Secure|HttpOnly)(=[ -~]{0,30})?){0,4}",
            host in "(a|b\\.a|co\\.uk|127\\.0\\.0\\.1|\\[::1\\])",
            secure in proptest::prelude::any::<bool>(),
        ) {
            let scheme = if secure { "https" } else { "http" };
            let Ok(origin) = Url::parse(&format!("{scheme}://{host}/p/q")) else { return Ok(()) };
            let mut jar = CookieJar::new();
            let _ = jar.store(&origin, &value, at(NOW));
            let _ = jar.store(&origin, shaped.as_bytes(), at(NOW));
            if let Some(header) = jar.header_value(&origin, at(NOW)) {
                proptest::prop_assert!(!has_controls(&header), "{header:?}");
            }
        }
    }
}
