//! Credentials: Basic, Bearer, Digest (the core's RFC 7616 state machine) and `.netrc`.
//! The [`Auth`] trait they implement lives beside the request it changes (`prepared.rs`).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use base64::Engine as _;
use tidings_core::netrc::Netrc;

use crate::error::{Error, ErrorKind};
use crate::prepared::{Auth, PreparedRequest};
use tidings_core::ResponseHead;

/// `Authorization: Basic` (RFC 7617).
#[derive(Clone)]
pub struct BasicAuth {
    user: String,
    password: Option<String>,
}

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicAuth").field("user", &self.user).finish_non_exhaustive()
    }
}

impl BasicAuth {
    /// Credentials for Basic auth: `BasicAuth::new("user", "pass")`, or
    /// `BasicAuth::new("user", None)` without a password.
    pub fn new<'a>(user: impl Into<String>, password: impl Into<Option<&'a str>>) -> Self {
        BasicAuth { user: user.into(), password: password.into().map(str::to_owned) }
    }
}

impl Auth for BasicAuth {
    fn apply(&self, request: &mut PreparedRequest) -> Result<(), Error> {
        request.headers.insert("Authorization", basic_value(&self.user, self.password.as_deref().unwrap_or("")));
        Ok(())
    }
}

fn basic_value(user: &str, password: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}

/// `Authorization: Bearer`.
#[derive(Clone)]
pub struct BearerAuth(pub String);

impl std::fmt::Debug for BearerAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerAuth(..)")
    }
}

impl Auth for BearerAuth {
    fn apply(&self, request: &mut PreparedRequest) -> Result<(), Error> {
        request.headers.insert("Authorization", format!("Bearer {}", self.0));
        Ok(())
    }
}

/// Digest access authentication (RFC 7616: MD5, SHA-256 and their `-sess` forms,
/// `qop=auth`), as Requests' `HTTPDigestAuth`: the first request goes without credentials,
/// a 401 with a Digest challenge is answered once (when the body can be replayed), and later
/// requests answer the known challenge straight away with a counted nonce.
pub struct DigestAuth {
    state: Mutex<tidings_core::auth::DigestAuth>,
}

impl std::fmt::Debug for DigestAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DigestAuth").finish_non_exhaustive()
    }
}

impl DigestAuth {
    /// Credentials for Digest auth.
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Self {
        DigestAuth { state: Mutex::new(tidings_core::auth::DigestAuth::new(user, password)) }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, tidings_core::auth::DigestAuth> {
        // The state is a challenge and a counter, valid whatever a panicking thread did.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Auth for DigestAuth {
    fn apply(&self, request: &mut PreparedRequest) -> Result<(), Error> {
        let target = &request.url[url::Position::BeforePath..url::Position::AfterQuery];
        if let Some(value) = self.state().authorize(request.method.as_str(), target, random_bytes()?) {
            request.headers.insert("Authorization", value);
        }
        Ok(())
    }

    fn retry_unauthorized(&self, request: &mut PreparedRequest, response: &ResponseHead) -> Result<bool, Error> {
        let challenges =
            response.headers().get_all("www-authenticate").filter_map(|value| std::str::from_utf8(value).ok());
        if !self.state().accept_challenge(challenges) {
            return Ok(false);
        }
        self.apply(request)?;
        Ok(true)
    }
}

/// 16 bytes from the operating system's generator (Digest's client nonce).
fn random_bytes() -> Result<[u8; 16], Error> {
    let mut bytes = [0; 16];
    getrandom::getrandom(&mut bytes).map_err(|error| {
        Error::new(ErrorKind::InvalidRequest, format!("no randomness for the Digest client nonce: {error}"))
    })?;
    Ok(bytes)
}

/// Where `.netrc` is looked for: `NETRC`, else `~/.netrc` (`%USERPROFILE%\_netrc` on
/// Windows when `.netrc` is absent), as curl and Requests look.
pub(crate) fn netrc_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("NETRC").filter(|path| !path.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let home = std::env::var_os("HOME").or_else(|| std::env::var_os("USERPROFILE"))?;
    let home = Path::new(&home);
    let dotted = home.join(".netrc");
    if cfg!(windows) && !dotted.exists() {
        return Some(home.join("_netrc"));
    }
    Some(dotted)
}

/// Reads `.netrc`; a missing or unreadable file is no credentials, never an error.
pub(crate) fn load_netrc(path: &Path) -> Netrc {
    match std::fs::read(path) {
        Ok(bytes) => Netrc::parse(&String::from_utf8_lossy(&bytes)),
        Err(error) => {
            if error.kind() != std::io::ErrorKind::NotFound {
                log::debug!("ignoring {}: {error}", path.display());
            }
            Netrc::default()
        }
    }
}

/// The Basic `Authorization` value `.netrc` gives `host`, if any.
pub(crate) fn netrc_authorization(netrc: &Netrc, host: &str) -> Option<String> {
    let entry = netrc.lookup(host)?;
    (!entry.login.is_empty() || !entry.password.is_empty()).then(|| basic_value(&entry.login, &entry.password))
}
