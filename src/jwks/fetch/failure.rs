//! Why a JWKS fetch produced no key set, as facts: the cause of a failed request is read
//! from its `source()` chain (hyper-util client error -> io::Error -> rustls::Error), so
//! `/keys` and the logs name a certificate problem rather than "could not connect".

use std::error::Error;
use std::io;
use std::time::Duration;

use rustls::CertificateError;

use crate::jwks::jwk::JwksError;
use crate::jwks::pem::PemKeyError;
use crate::metrics::FetchResult;

/// Why a fetch produced no key set. Facts only; the URI is known to the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The TLS handshake with the JWKS endpoint failed.
    #[error("TLS: {cause}")]
    Tls { cause: TlsProblem },
    /// Connecting or sending failed with this I/O error (refused, reset, DNS, ...).
    #[error("could not connect or send the request: {cause}")]
    Connect { cause: io::ErrorKind },
    /// The request failed with no I/O or TLS cause (an HTTP protocol error, say).
    #[error("could not connect or send the request")]
    Request,
    /// `fetch_timeout` passed before the whole document arrived.
    #[error("no complete answer within {after:?}")]
    Timeout { after: Duration },
    /// Any status but 200 (redirects included: they are not followed).
    #[error("answered HTTP {status} (redirects are not followed)")]
    HttpStatus { status: u16 },
    /// Over `max_bytes`, declared or streamed.
    #[error("document larger than {limit} bytes")]
    TooLarge { limit: usize },
    /// The connection failed after the response head.
    #[error("connection failed while reading the body")]
    Body,
    /// The parsing task did not finish (the runtime is shutting down).
    #[error("the document's parsing was cut short")]
    Parse,
    /// The document is not a JWKS or holds no usable key.
    #[error("{0}")]
    Invalid(JwksError),
    /// An ALB key server's answer is not one PEM P-256 public key (reference section 9).
    #[error("{0}")]
    InvalidPem(PemKeyError),
}

/// What went wrong in a TLS handshake, from the `rustls::Error` behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TlsProblem {
    /// The chain leads to no trusted root (a private CA needs `jwks.ca_file`).
    #[error("certificate signed by an unknown issuer")]
    UnknownIssuer,
    #[error("certificate expired")]
    Expired,
    #[error("certificate not valid yet")]
    NotYetValid,
    /// The certificate names other hosts than the one in `jwks_uri`.
    #[error("certificate not valid for the host name")]
    NotValidForName,
    #[error("certificate revoked")]
    Revoked,
    /// The certificate is not for TLS server authentication.
    #[error("certificate not meant for a TLS server")]
    WrongPurpose,
    #[error("certificate signature invalid")]
    BadSignature,
    /// The server's own certificate says CA:TRUE: WebPKI never accepts a CA certificate as
    /// a server's (`openssl req -x509` makes one unless told `basicConstraints=CA:FALSE`).
    #[error("a CA certificate used as the server's own certificate (make it with basicConstraints CA:FALSE)")]
    CaAsServerCertificate,
    /// Any other certificate problem (encoding, extensions, algorithms).
    #[error("certificate refused")]
    OtherCertificate,
    #[error("the server presented no certificate")]
    NoCertificate,
    /// The server ended the handshake with this alert.
    #[error("the server sent the alert {alert:?}")]
    Alert { alert: rustls::AlertDescription },
    /// Any other handshake failure (no common version or cipher suite, a protocol error).
    #[error("handshake failed")]
    Handshake,
}

impl FetchError {
    /// The bounded metric label for this failure.
    pub fn result(&self) -> FetchResult {
        match self {
            FetchError::Tls { .. }
            | FetchError::Connect { .. }
            | FetchError::Request
            | FetchError::Body => FetchResult::Connect,
            FetchError::Timeout { .. } => FetchResult::Timeout,
            FetchError::HttpStatus { .. } => FetchResult::HttpStatus,
            FetchError::TooLarge { .. } => FetchResult::TooLarge,
            FetchError::Invalid(_) | FetchError::Parse | FetchError::InvalidPem(_) => {
                FetchResult::Invalid
            }
        }
    }

    /// Names the cause of a failed request by walking its `source()` chain: a
    /// `rustls::Error` anywhere -> `Tls`; else the innermost `io::Error` -> `Connect`;
    /// else `Request`. An `io::Error` is looked into with `get_ref`, because its own
    /// `source()` skips the error it wraps.
    pub fn of_request(error: &(dyn Error + 'static)) -> FetchError {
        let mut io_kind = None;
        let mut next = Some(error);
        while let Some(e) = next {
            if let Some(tls) = e.downcast_ref::<rustls::Error>() {
                return FetchError::Tls {
                    cause: TlsProblem::of(tls),
                };
            }
            next = match e.downcast_ref::<io::Error>() {
                Some(io) => {
                    io_kind = Some(io.kind());
                    io.get_ref().map(|inner| inner as &(dyn Error + 'static))
                }
                None => e.source(),
            };
        }
        match io_kind {
            Some(cause) => FetchError::Connect { cause },
            None => FetchError::Request,
        }
    }
}

impl TlsProblem {
    /// Classifies a rustls handshake error.
    pub fn of(error: &rustls::Error) -> TlsProblem {
        match error {
            rustls::Error::InvalidCertificate(cert) => match cert {
                CertificateError::UnknownIssuer => TlsProblem::UnknownIssuer,
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    TlsProblem::Expired
                }
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                    TlsProblem::NotYetValid
                }
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => TlsProblem::NotValidForName,
                CertificateError::Revoked => TlsProblem::Revoked,
                CertificateError::InvalidPurpose
                | CertificateError::InvalidPurposeContext { .. } => TlsProblem::WrongPurpose,
                CertificateError::BadSignature => TlsProblem::BadSignature,
                CertificateError::Other(other)
                    if matches!(
                        other.0.downcast_ref::<webpki::Error>(),
                        Some(webpki::Error::CaUsedAsEndEntity)
                    ) =>
                {
                    TlsProblem::CaAsServerCertificate
                }
                _ => TlsProblem::OtherCertificate,
            },
            rustls::Error::NoCertificatesPresented => TlsProblem::NoCertificate,
            rustls::Error::AlertReceived(alert) => TlsProblem::Alert { alert: *alert },
            _ => TlsProblem::Handshake,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::fmt;

    use rustls_pki_types::{ServerName, UnixTime};

    /// Stands in for hyper-util's client and connector errors: a message over a source.
    #[derive(Debug)]
    struct Wrapper(Box<dyn Error + Send + Sync>);

    impl fmt::Display for Wrapper {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("client error (Connect)")
        }
    }

    impl Error for Wrapper {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&*self.0)
        }
    }

    /// The chain hyper-rustls builds for a failed handshake: client error -> io::Error
    /// (other) -> io::Error (invalid data, from tokio-rustls) -> rustls::Error.
    fn handshake_failure(error: rustls::Error) -> Wrapper {
        let inner = io::Error::new(io::ErrorKind::InvalidData, error);
        Wrapper(Box::new(io::Error::other(inner)))
    }

    #[test]
    fn certificate_problems_are_named_through_the_io_errors() {
        let at = UnixTime::since_unix_epoch(Duration::from_secs(2_000_000_000));
        let cases = [
            (
                CertificateError::UnknownIssuer,
                TlsProblem::UnknownIssuer,
                "TLS: certificate signed by an unknown issuer",
            ),
            (
                CertificateError::ExpiredContext {
                    time: at,
                    not_after: UnixTime::since_unix_epoch(Duration::from_secs(1)),
                },
                TlsProblem::Expired,
                "TLS: certificate expired",
            ),
            (
                CertificateError::NotValidForNameContext {
                    expected: ServerName::from(std::net::Ipv4Addr::LOCALHOST),
                    presented: vec!["DnsName(\"idp.test\")".to_owned()],
                },
                TlsProblem::NotValidForName,
                "TLS: certificate not valid for the host name",
            ),
            (
                CertificateError::BadEncoding,
                TlsProblem::OtherCertificate,
                "TLS: certificate refused",
            ),
            (
                CertificateError::Other(rustls::OtherError(std::sync::Arc::new(
                    webpki::Error::CaUsedAsEndEntity,
                ))),
                TlsProblem::CaAsServerCertificate,
                "TLS: a CA certificate used as the server's own certificate (make it with basicConstraints CA:FALSE)",
            ),
        ];
        for (cert, problem, text) in cases {
            let error =
                FetchError::of_request(&handshake_failure(rustls::Error::InvalidCertificate(cert)));
            assert_eq!(error, FetchError::Tls { cause: problem });
            assert_eq!(error.to_string(), text);
            assert_eq!(error.result(), FetchResult::Connect);
        }
        let alert = FetchError::of_request(&handshake_failure(rustls::Error::AlertReceived(
            rustls::AlertDescription::HandshakeFailure,
        )));
        assert_eq!(
            alert.to_string(),
            "TLS: the server sent the alert HandshakeFailure"
        );
    }

    #[test]
    fn connect_failures_keep_the_io_kind_and_others_say_request() {
        let refused = Wrapper(Box::new(Wrapper(Box::new(io::Error::from(
            io::ErrorKind::ConnectionRefused,
        )))));
        let error = FetchError::of_request(&refused);
        assert_eq!(
            error,
            FetchError::Connect {
                cause: io::ErrorKind::ConnectionRefused
            }
        );
        assert_eq!(
            error.to_string(),
            "could not connect or send the request: connection refused"
        );
        let bare = Wrapper(Box::from("connection closed before message completed"));
        assert_eq!(FetchError::of_request(&bare), FetchError::Request);
    }
}
