//! TLS settings and the rustls client configuration they build.
//!
//! Verification is on by default against the webpki roots. A custom CA bundle replaces those
//! roots; with the `platform-verifier` feature, the operating system's verifier and roots can
//! stand in for them when asked. Turning verification off is explicit, logged as a warning, and gives the
//! configuration its own identity, so such connections never share a pool slot with
//! verified ones.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::{Error, ErrorKind};

/// What a session's TLS connections trust and present.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct TlsSettings {
    /// `false` turns certificate and hostname verification off (dangerous).
    pub(crate) insecure: bool,
    /// A PEM bundle that replaces the default roots.
    pub(crate) ca_bundle: Option<PathBuf>,
    /// A PEM client certificate chain and its private key.
    pub(crate) client_identity: Option<(PathBuf, PathBuf)>,
    /// Verify with the operating system's verifier and roots (unless a CA bundle is named).
    pub(crate) platform: bool,
}

impl TlsSettings {
    /// Trust only the certificates in this PEM file (as Requests' `verify=path`).
    pub fn ca_bundle(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_bundle = Some(path.into());
        self
    }

    /// Present this client certificate chain and key (PEM files).
    pub fn client_identity(mut self, certificates: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.client_identity = Some((certificates.into(), key.into()));
        self
    }

    /// Verifies servers with the operating system's verifier and its trust store
    /// (`rustls-platform-verifier`: the platform's own verifier on macOS, iOS, Windows and
    /// Android; the system's CA certificates through `rustls-native-certs` elsewhere, where
    /// `SSL_CERT_FILE` and `SSL_CERT_DIR` apply) instead of the compiled-in webpki roots. A CA
    /// bundle, when one is named, still wins.
    #[cfg(feature = "platform-verifier")]
    pub fn platform_verifier(mut self) -> Self {
        self.platform = true;
        self
    }

    /// Whether the platform's verifier is asked for.
    pub(crate) fn uses_platform(&self) -> bool {
        self.platform && self.ca_bundle.is_none() && !self.insecure
    }

    /// Turns verification off: any certificate for any name is accepted. Dangerous: only
    /// for tests against servers you control.
    pub fn danger_accept_invalid_certs(mut self) -> Self {
        self.insecure = true;
        self
    }

    /// Builds the rustls configuration (`ring` provider, ALPN `http/1.1`).
    pub fn build(&self) -> Result<Arc<ClientConfig>, Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|error| Error::new(ErrorKind::Tls, "TLS protocol versions").with_source(error))?;
        let builder = if self.insecure {
            log::warn!("TLS certificate verification is OFF for this session: any server can impersonate any host");
            builder.dangerous().with_custom_certificate_verifier(Arc::new(AcceptAnything(provider)))
        } else if self.uses_platform() {
            platform(builder)?
        } else {
            builder.with_root_certificates(self.roots()?)
        };
        let mut config = match &self.client_identity {
            None => builder.with_no_client_auth(),
            Some((certificates, key)) => {
                let chain = read_certificates(certificates)?;
                let key = PrivateKeyDer::from_pem_file(key)
                    .map_err(|error| tls_error(format!("cannot read client key {}", key.display()), error))?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|error| Error::new(ErrorKind::Tls, "client certificate").with_source(error))?
            }
        };
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }

    fn roots(&self) -> Result<RootCertStore, Error> {
        let mut roots = RootCertStore::empty();
        match &self.ca_bundle {
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            Some(path) => {
                for certificate in read_certificates(path)? {
                    roots.add(certificate).map_err(|error| {
                        Error::new(ErrorKind::Tls, format!("bad CA in {}", path.display())).with_source(error)
                    })?;
                }
            }
        }
        Ok(roots)
    }
}

/// The operating system's verifier and roots.
#[cfg(feature = "platform-verifier")]
fn platform(
    builder: rustls::ConfigBuilder<ClientConfig, rustls::WantsVerifier>,
) -> Result<rustls::ConfigBuilder<ClientConfig, rustls::client::WantsClientCert>, Error> {
    use rustls_platform_verifier::BuilderVerifierExt as _;
    builder
        .with_platform_verifier()
        .map_err(|error| Error::new(ErrorKind::Tls, "the platform's certificate verifier").with_source(error))
}

#[cfg(not(feature = "platform-verifier"))]
fn platform(
    builder: rustls::ConfigBuilder<ClientConfig, rustls::WantsVerifier>,
) -> Result<rustls::ConfigBuilder<ClientConfig, rustls::client::WantsClientCert>, Error> {
    // Unreachable without the feature (nothing sets `platform`); the webpki roots stand in.
    Ok(builder.with_root_certificates(RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() }))
}

fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certificates = CertificateDer::pem_file_iter(path)
        .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
        .map_err(|error| tls_error(format!("cannot read certificates from {}", path.display()), error))?;
    if certificates.is_empty() {
        return Err(Error::new(ErrorKind::Tls, format!("no certificates in {}", path.display())));
    }
    Ok(certificates)
}

fn tls_error(message: String, error: rustls::pki_types::pem::Error) -> Error {
    Error::new(ErrorKind::Tls, message).with_source(error)
}

/// The name a TLS connection to `host` verifies and sends as SNI (a bracketed IPv6 literal
/// is verified as an IP address).
pub fn server_name(host: &str) -> Result<ServerName<'static>, Error> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(bare.to_owned())
        .map_err(|error| Error::new(ErrorKind::Tls, format!("invalid TLS server name {host:?}")).with_source(error))
}

/// The error for a TLS handshake with `host` that failed with `error` (as rustls reported it
/// through `io::Error`): kind `tls`, naming the host and rustls' reason; a handshake that ran
/// out of time is `timeout`.
pub fn handshake_error(host: &str, error: std::io::Error) -> Error {
    if matches!(error.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock) {
        return Error::new(ErrorKind::Timeout, format!("TLS handshake with {host} timed out"));
    }
    let rustls = error.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>());
    // A first record that is not TLS at all: the server answered in plain text.
    let hint = match rustls {
        Some(rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType)) => {
            " — the server does not speak TLS on this port (an http:// URL?)"
        }
        _ => "",
    };
    let message = match error.get_ref() {
        Some(inner) => format!("TLS handshake with {host} failed: {inner}{hint}"),
        None => format!("TLS handshake with {host} failed: {error}{hint}"),
    };
    Error::new(ErrorKind::Tls, message).caused_by(error)
}

/// A rustls client session for `host` over `config`, ready for its handshake.
pub fn client_session(config: Arc<ClientConfig>, host: &str) -> Result<rustls::ClientConnection, Error> {
    let name = server_name(host)?;
    rustls::ClientConnection::new(config, name)
        .map_err(|error| Error::new(ErrorKind::Tls, "starting TLS").with_source(error))
}

/// The verifier behind `danger_accept_invalid_certs`: checks signatures are well formed,
/// trusts everything else.
#[derive(Debug)]
struct AcceptAnything(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnything {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            certificate,
            signature,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            certificate,
            signature,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
