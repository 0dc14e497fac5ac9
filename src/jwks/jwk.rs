//! Parsing a JWKS document into usable verification keys, skipping unusable ones one by one.

use jsonwebtoken::DecodingKey;

use crate::config::Alg;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFamily {
    Rsa,
    EcP256,
    EcP384,
    Ed25519,
}

/// One usable key: `use` absent or `sig`, RSA modulus >= 2048 bits.
pub struct VerifyKey {
    pub kid: String,
    /// The JWK's `alg`, when it had one (the token's header must then equal it).
    pub alg: Option<Alg>,
    pub family: KeyFamily,
    pub key: DecodingKey,
}

impl std::fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("family", &self.family)
            .finish_non_exhaustive()
    }
}

/// A key left out of a set, and why (logged, not fatal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedKey {
    pub kid: Option<String>,
    pub reason: &'static str,
}

/// Why a whole JWKS document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwksError {
    #[error("not a JWKS document")]
    NotJwks,
    #[error("no usable key")]
    NoUsableKey,
}

/// Parses a JWKS document. A set with no usable key is an error (SPEC section 4).
pub fn parse_jwks(body: &[u8]) -> Result<(Vec<VerifyKey>, Vec<SkippedKey>), JwksError> {
    let _ = body;
    Err(JwksError::NotJwks)
}
