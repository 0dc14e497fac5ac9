//! Downstream TLS: the certificate chain and key (PEM, RSA or ECDSA) loaded into a rustls
//! server config with ALPN `h2` and `http/1.1`, TLS 1.2 and 1.3 only. The acceptor lives in
//! an `ArcSwap` so SIGHUP can swap in a re-read certificate for new connections.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::TlsConfig;

/// Why `server.tls` cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read a PEM certificate chain from {path}")]
    Certificates { path: PathBuf },
    #[error("{path} holds no certificate")]
    NoCertificate { path: PathBuf },
    #[error("{path}: certificate {number} is not a valid X.509 certificate")]
    NotACertificate { path: PathBuf, number: usize },
    #[error("cannot read a usable PEM private key (PKCS#8, PKCS#1 or SEC1) from {path}")]
    Key { path: PathBuf },
    /// rustls refused the pair (a key that does not match the certificate, an unsupported
    /// key type): its error says which.
    #[error("certificate and key do not make a usable pair: {cause}")]
    Pair { cause: rustls::Error },
}

/// Reads both files and builds the rustls config (also what `check-config` runs).
pub fn server_config(config: &TlsConfig) -> Result<ServerConfig, TlsError> {
    let chain = certificates(&config.cert_file)?;
    let key = PrivateKeyDer::from_pem_file(&config.key_file).map_err(|_| TlsError::Key {
        path: config.key_file.clone(),
    })?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    // A key block whose content is no key is the key file's fault, not the pair's.
    if provider
        .key_provider
        .load_private_key(key.clone_key())
        .is_err()
    {
        return Err(TlsError::Key {
            path: config.key_file.clone(),
        });
    }
    let mut server = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|cause| TlsError::Pair { cause })?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|cause| TlsError::Pair { cause })?;
    server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(server)
}

/// The chain, read as a CA bundle is (same PEM rules), with this module's error facts.
fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    crate::connector::read_ca_file(path).map_err(|e| match e {
        crate::connector::CaError::Empty { .. } => TlsError::NoCertificate {
            path: path.to_owned(),
        },
        crate::connector::CaError::NotACertificate { number, .. } => TlsError::NotACertificate {
            path: path.to_owned(),
            number,
        },
        _ => TlsError::Certificates {
            path: path.to_owned(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap_or_default();
        path
    }

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tokengate-tls-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_default();
        dir
    }

    #[test]
    fn rsa_and_ecdsa_pairs_load_with_both_alpn_protocols() {
        let dir = temp_dir("ok");
        for (name, alg) in [
            ("rsa", &rcgen::PKCS_RSA_SHA256),
            ("ec", &rcgen::PKCS_ECDSA_P256_SHA256),
        ] {
            let Ok(key) = rcgen::KeyPair::generate_for(alg) else {
                panic!("cannot generate a {name} key");
            };
            let Ok(cert) = rcgen::CertificateParams::new(vec!["localhost".into()])
                .and_then(|p| p.self_signed(&key))
            else {
                panic!("cannot sign");
            };
            let config = TlsConfig {
                cert_file: write(&dir, &format!("{name}.crt"), &cert.pem()),
                key_file: write(&dir, &format!("{name}.key"), &key.serialize_pem()),
            };
            match server_config(&config) {
                Ok(server) => assert_eq!(
                    server.alpn_protocols,
                    [b"h2".to_vec(), b"http/1.1".to_vec()]
                ),
                Err(e) => panic!("{name}: {e}"),
            }
        }
    }

    #[test]
    fn missing_garbage_and_mismatched_files_are_refused() {
        let dir = temp_dir("bad");
        let Ok(key) = rcgen::KeyPair::generate() else {
            panic!("keygen");
        };
        let Ok(other) = rcgen::KeyPair::generate() else {
            panic!("keygen");
        };
        let Ok(cert) = rcgen::CertificateParams::new(vec!["localhost".into()])
            .and_then(|p| p.self_signed(&key))
        else {
            panic!("cannot sign");
        };
        let crt = write(&dir, "a.crt", &cert.pem());
        let garbage = write(&dir, "g.pem", "not a pem file");
        let wrong_key = write(&dir, "other.key", &other.serialize_pem());
        let cases = [
            (
                dir.join("missing.crt"),
                wrong_key.clone(),
                "certificate chain",
            ),
            (garbage.clone(), wrong_key.clone(), "no certificate"),
            (crt.clone(), garbage, "private key"),
            (crt, wrong_key, "usable pair"),
        ];
        for (cert_file, key_file, expect) in cases {
            match server_config(&TlsConfig {
                cert_file,
                key_file,
            }) {
                Ok(_) => panic!("accepted, expected {expect}"),
                Err(e) => assert!(e.to_string().contains(expect), "{e} / {expect}"),
            }
        }
    }
}
