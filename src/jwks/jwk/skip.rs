//! Why one JWK was left out of a set: facts, logged one by one by the key task and never
//! fatal to the set (reference section 4: unusable keys inside a set are skipped one by one).

use crate::config::Alg;
use crate::jwks::jwk::KeyFamily;

/// A key left out of a set, and why (logged, not fatal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedKey {
    /// The entry's `kid`, when it had a string one.
    pub kid: Option<String>,
    pub reason: SkipReason,
}

/// Why a JWK is unusable. [`SkipReason::description`] is the text logged as `reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// The entry is not a JSON object.
    NotAnObject,
    /// No `kid`, or one that is not a string.
    NoKid,
    /// A `kid` of this many bytes: empty, or over `MAX_KID_BYTES`.
    KidLength { bytes: usize },
    /// `use` is present and not `sig`.
    NotForSignatures,
    /// `alg` names no algorithm tokengate supports (symmetric ones included).
    AlgUnsupported,
    /// `alg` is not a string.
    AlgNotAString,
    /// No `kty`.
    NoKty,
    /// `kty` is none of `RSA`, `EC`, `OKP`.
    KtyUnsupported,
    /// A field of key material (`n`, `e`, `x`, `y`) is absent or not a string.
    MaterialMissing { field: &'static str },
    /// A field of key material is not base64url.
    MaterialNotBase64 { field: &'static str },
    /// An RSA modulus of this many bits, under `MIN_RSA_BITS` (reference section 3.4).
    WeakModulus { bits: usize },
    /// An RSA public exponent of zero.
    ZeroExponent,
    /// An EC key on a curve other than P-256 and P-384.
    EcCurveUnsupported,
    /// EC coordinates not of the curve's length.
    EcCoordinateLength,
    /// EC coordinates that make no valid public key.
    EcKeyInvalid,
    /// An OKP key on a curve other than Ed25519.
    OkpCurveUnsupported,
    /// An Ed25519 key not 32 bytes long.
    Ed25519Length,
    /// Ed25519 material that makes no valid public key.
    Ed25519KeyInvalid,
    /// The JWK's `alg` cannot be used with its key type.
    AlgMismatch { alg: Alg, family: KeyFamily },
    /// Two usable keys under one kid: neither can be trusted to be the one meant.
    DuplicateKid,
}

impl SkipReason {
    /// The fixed text for logs (`reason` of the "jwks key skipped" warning).
    pub fn description(self) -> &'static str {
        match self {
            SkipReason::NotAnObject => "not an object",
            SkipReason::NoKid => "no kid",
            SkipReason::KidLength { .. } => "kid empty or too long",
            SkipReason::NotForSignatures => "use is not sig",
            SkipReason::AlgUnsupported => "alg not supported",
            SkipReason::AlgNotAString => "alg not a string",
            SkipReason::NoKty => "no kty",
            SkipReason::KtyUnsupported => "kty not supported",
            SkipReason::MaterialMissing { .. } => "key material missing",
            SkipReason::MaterialNotBase64 { .. } => "key material not base64url",
            SkipReason::WeakModulus { .. } => "RSA modulus under 2048 bits",
            SkipReason::ZeroExponent => "RSA exponent is zero",
            SkipReason::EcCurveUnsupported => "EC curve not supported",
            SkipReason::EcCoordinateLength => "EC coordinates of the wrong length",
            SkipReason::EcKeyInvalid => "EC key invalid",
            SkipReason::OkpCurveUnsupported => "OKP curve not supported",
            SkipReason::Ed25519Length => "Ed25519 key of the wrong length",
            SkipReason::Ed25519KeyInvalid => "Ed25519 key invalid",
            SkipReason::AlgMismatch { .. } => "alg does not fit the key type",
            SkipReason::DuplicateKid => "duplicate kid in the set",
        }
    }
}
