//! The outgoing connector shared by the upstream client and JWKS fetching: TCP with a connect
//! timeout and no Nagle delay, TLS by rustls with the bundled web PKI roots (plus, for JWKS,
//! an optional PEM bundle), HTTP/1.1 and h2. Plain http is allowed here because config
//! validation decides where it may be used.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

use crate::config::files::{digest, Digest};

pub type Connector = HttpsConnector<HttpConnector>;

/// Why a CA bundle could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    #[error("cannot read a PEM certificate from {path}")]
    Unreadable { path: PathBuf },
    #[error("{path} holds no certificate")]
    Empty { path: PathBuf },
    /// A `CERTIFICATE` block whose content is not an X.509 certificate (`number` counts
    /// the file's certificates from 1).
    #[error("{path}: certificate {number} is not a valid X.509 certificate")]
    NotACertificate { path: PathBuf, number: usize },
    #[error("{path} holds a certificate rustls cannot use as a root")]
    Rejected { path: PathBuf },
}

/// Reads every certificate of a PEM bundle (used by `check-config` too): the file must
/// hold at least one, and each must parse as an X.509 certificate (a PEM block of base64
/// garbage is refused here, not at the first handshake).
pub fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, CaError> {
    read_ca_bundle(path).map(|(certs, _)| certs)
}

/// Reads a PEM bundle once: its certificates, and the digest of the very bytes they came
/// from (what a reload compares to tell a changed bundle at the same path).
pub fn read_ca_bundle(path: &Path) -> Result<(Vec<CertificateDer<'static>>, Digest), CaError> {
    let unreadable = || CaError::Unreadable {
        path: path.to_owned(),
    };
    let bytes = std::fs::read(path).map_err(|_| unreadable())?;
    let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(&bytes).collect();
    let certs = certs.map_err(|_| unreadable())?;
    if certs.is_empty() {
        return Err(CaError::Empty {
            path: path.to_owned(),
        });
    }
    for (i, cert) in certs.iter().enumerate() {
        // WebPKI's own parse of a trusted certificate: what `RootCertStore::add` runs.
        if webpki::anchor_from_trusted_cert(cert).is_err() {
            return Err(CaError::NotACertificate {
                path: path.to_owned(),
                number: i + 1,
            });
        }
    }
    Ok((certs, digest(&bytes)))
}

/// The connector trusting the web PKI roots only.
pub fn https(connect_timeout: Duration) -> Connector {
    build(connect_timeout, webpki_config(RootCertStore::empty()))
}

/// The connector trusting the web PKI roots and every certificate in `ca_file`.
pub fn https_with_ca(connect_timeout: Duration, ca_file: &Path) -> Result<Connector, CaError> {
    https_with_ca_digest(connect_timeout, ca_file).map(|(connector, _)| connector)
}

/// Like [`https_with_ca`], also returning the digest of the bundle it trusts.
pub fn https_with_ca_digest(
    connect_timeout: Duration,
    ca_file: &Path,
) -> Result<(Connector, Digest), CaError> {
    let (certs, digest) = read_ca_bundle(ca_file)?;
    let mut extra = RootCertStore::empty();
    for cert in certs {
        extra.add(cert).map_err(|_| CaError::Rejected {
            path: ca_file.to_owned(),
        })?;
    }
    Ok((build(connect_timeout, webpki_config(extra)), digest))
}

fn webpki_config(mut roots: RootCertStore) -> rustls::ClientConfig {
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    // ALPN is set by the connector builder (h2, http/1.1).
    rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth()
}

fn build(connect_timeout: Duration, tls: rustls::ClientConfig) -> Connector {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(connect_timeout));
    http.set_nodelay(true);
    hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(http)
}
