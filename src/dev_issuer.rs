//! The development and test issuer: signing keys that mint JWTs and publish their JWKS.
//! Never for production: it exists for `tokengate demo`, the tests and the benchmarks,
//! and anyone holding one of its keys can mint tokens that the proxy would accept.
//!
//! A [`DevKey`] is an RSA-2048 key (generated, or read from a PKCS#8 or PKCS#1 PEM) or an
//! EC P-256 key (PKCS#8 PEM) with a `kid`. It gives its public JWK ([`DevKey::jwk`],
//! [`DevKey::jwks`]) and signs a JWT from claims ([`DevKey::sign`]), from a header and
//! claims ([`DevKey::sign_with_header`]), or from raw header and payload text, however
//! malformed ([`DevKey::sign_raw`]); a P-256 key ([`DevKey::generate_p256`]) also signs
//! tokens in the AWS ALB wire format ([`DevKey::sign_alb`], padded segments) and gives its
//! PEM public key as an ALB key server serves it ([`DevKey::public_pem`]).
//! [`serve_jwks`] answers a key set over HTTP.

mod key;
mod serve;

pub use key::DevKey;
pub use serve::serve_jwks;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// Why a development key could not be read, made, or used.
#[derive(Debug, thiserror::Error)]
pub enum DevIssuerError {
    /// The text holds no PEM private-key block (`PRIVATE KEY` or `RSA PRIVATE KEY`).
    #[error("not a PEM private key")]
    Pem(#[source] rustls_pki_types::pem::Error),
    /// The PEM block holds a key this module does not sign with; `format` names it.
    #[error("a {format} key: only RSA (PKCS#8 or PKCS#1) and EC P-256 (PKCS#8) keys sign")]
    UnsupportedKey {
        /// The container the key came in: `PKCS#8`, `PKCS#1`, `SEC1` or `unknown`.
        format: &'static str,
    },
    /// The crypto library could not generate an RSA-2048 key.
    #[error("RSA-2048 key generation failed")]
    Generate,
    /// The crypto library could not sign.
    #[error("signing failed")]
    Sign,
}

/// Bytes as one JWT segment: base64url without padding (RFC 7515 §2).
pub fn b64url(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}
