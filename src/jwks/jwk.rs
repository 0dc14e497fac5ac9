//! Parsing a JWKS document into usable verification keys, skipping unusable ones one by one
//! (`use` other than `sig`, unknown or symmetric `alg`, RSA under 2048 bits, no `kid`).

use std::collections::HashSet;

use aws_lc_rs::signature::{self, ParsedPublicKey};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::DecodingKey;
use serde_json::{Map, Value};

use crate::config::Alg;

mod skip;

pub use skip::{SkipReason, SkippedKey};

/// The smallest RSA modulus accepted (reference section 3.4).
pub const MIN_RSA_BITS: usize = 2048;

/// The largest RSA modulus aws-lc verifies (`RSA_PKCS1_2048_8192_*`).
const MAX_RSA_BITS: usize = 8192;
/// Longer kids are refused: a kid is only ever an exact map key.
pub const MAX_KID_BYTES: usize = 256;

/// A key's type and curve: which token algorithms it can check ([`KeyFamily::fits`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFamily {
    Rsa,
    EcP256,
    EcP384,
    Ed25519,
}

impl KeyFamily {
    /// Whether a token signed with `alg` can be checked with a key of this family.
    pub fn fits(self, alg: Alg) -> bool {
        matches!(
            (self, alg),
            (
                KeyFamily::Rsa,
                Alg::RS256 | Alg::RS384 | Alg::RS512 | Alg::PS256 | Alg::PS384 | Alg::PS512
            ) | (KeyFamily::EcP256, Alg::ES256)
                | (KeyFamily::EcP384, Alg::ES384)
                | (KeyFamily::Ed25519, Alg::EdDSA)
        )
    }
}

/// One usable key: `use` absent or `sig`, RSA modulus >= 2048 bits.
pub struct VerifyKey {
    pub kid: String,
    /// The JWK's `alg`, when it had one (the token's header must then equal it).
    pub alg: Option<Alg>,
    pub family: KeyFamily,
    pub key: DecodingKey,
    /// The key parsed once for its one algorithm (aws-lc then keeps its precomputed
    /// context): RSA keys for RS256 (the Cognito fast path), ALB keys for ES256 with
    /// fixed-width `R||S` signatures (`jwks::pem`). Other algorithms verify through `key`.
    pub parsed: Option<ParsedPublicKey>,
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

/// Why a whole JWKS document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwksError {
    #[error("not a JWKS document (a JSON object with a `keys` array)")]
    NotJwks,
    #[error("no usable key in the set")]
    NoUsableKey,
}

/// Parses a JWKS document. A set with no usable key is an error (reference section 4).
pub fn parse_jwks(body: &[u8]) -> Result<(Vec<VerifyKey>, Vec<SkippedKey>), JwksError> {
    let doc: Value = serde_json::from_slice(body).map_err(|_| JwksError::NotJwks)?;
    let entries = doc
        .as_object()
        .and_then(|o| o.get("keys"))
        .and_then(Value::as_array)
        .ok_or(JwksError::NotJwks)?;
    let mut keys: Vec<VerifyKey> = Vec::with_capacity(entries.len());
    let mut skipped = Vec::new();
    // Kids seen, and those seen twice: linear in the set's size (a set of thousands of keys
    // fits in `max_bytes`; a pairwise check would be quadratic).
    let mut kids: HashSet<String> = HashSet::with_capacity(entries.len());
    let mut duplicates: HashSet<String> = HashSet::new();
    for entry in entries {
        let kid = entry.get("kid").and_then(Value::as_str).map(str::to_owned);
        match entry
            .as_object()
            .ok_or(SkipReason::NotAnObject)
            .and_then(parse_key)
        {
            Ok(key) => {
                if kids.insert(key.kid.clone()) {
                    keys.push(key);
                } else {
                    duplicates.insert(key.kid);
                }
            }
            Err(reason) => skipped.push(SkippedKey { kid, reason }),
        }
    }
    // Two keys under one kid: neither can be trusted to be the one meant.
    if !duplicates.is_empty() {
        keys.retain(|k| !duplicates.contains(&k.kid));
        let mut duplicates: Vec<String> = duplicates.into_iter().collect();
        duplicates.sort();
        for kid in duplicates {
            skipped.push(SkippedKey {
                kid: Some(kid),
                reason: SkipReason::DuplicateKid,
            });
        }
    }
    if keys.is_empty() {
        return Err(JwksError::NoUsableKey);
    }
    Ok((keys, skipped))
}

fn parse_key(jwk: &Map<String, Value>) -> Result<VerifyKey, SkipReason> {
    let kid = match jwk.get("kid") {
        Some(Value::String(k)) if !k.is_empty() && k.len() <= MAX_KID_BYTES => k.clone(),
        Some(Value::String(k)) => return Err(SkipReason::KidLength { bytes: k.len() }),
        _ => return Err(SkipReason::NoKid),
    };
    match jwk.get("use") {
        None => {}
        Some(Value::String(u)) if u == "sig" => {}
        Some(_) => return Err(SkipReason::NotForSignatures),
    }
    let alg = match jwk.get("alg") {
        None => None,
        Some(Value::String(a)) => Some(Alg::parse(a).ok_or(SkipReason::AlgUnsupported)?),
        Some(_) => return Err(SkipReason::AlgNotAString),
    };
    let kty = jwk
        .get("kty")
        .and_then(Value::as_str)
        .ok_or(SkipReason::NoKty)?;
    let mut rs256 = None;
    let (family, key) = match kty {
        "RSA" => {
            let n = b64_field(jwk, "n")?;
            let e = b64_field(jwk, "e")?;
            let bits = modulus_bits(&n);
            if bits < MIN_RSA_BITS {
                return Err(SkipReason::WeakModulus { bits });
            }
            if e.iter().all(|b| *b == 0) {
                return Err(SkipReason::ZeroExponent);
            }
            // Past 8192 bits no RS256 verification can succeed (aws-lc's limit), and the DER
            // writer below encodes lengths up to 64 KiB: such a key gets no fast path.
            if bits <= MAX_RSA_BITS && e.len() <= 8 {
                rs256 = ParsedPublicKey::new(
                    &signature::RSA_PKCS1_2048_8192_SHA256,
                    rsa_public_key_der(&n, &e),
                )
                .ok();
            }
            (KeyFamily::Rsa, DecodingKey::from_rsa_raw_components(&n, &e))
        }
        "EC" => {
            let (family, len) = match jwk.get("crv").and_then(Value::as_str) {
                Some("P-256") => (KeyFamily::EcP256, 32),
                Some("P-384") => (KeyFamily::EcP384, 48),
                _ => return Err(SkipReason::EcCurveUnsupported),
            };
            let x = str_field(jwk, "x")?;
            let y = str_field(jwk, "y")?;
            if b64_field(jwk, "x")?.len() != len || b64_field(jwk, "y")?.len() != len {
                return Err(SkipReason::EcCoordinateLength);
            }
            let key =
                DecodingKey::from_ec_components(x, y).map_err(|_| SkipReason::EcKeyInvalid)?;
            (family, key)
        }
        "OKP" => {
            if jwk.get("crv").and_then(Value::as_str) != Some("Ed25519") {
                return Err(SkipReason::OkpCurveUnsupported);
            }
            if b64_field(jwk, "x")?.len() != 32 {
                return Err(SkipReason::Ed25519Length);
            }
            let key = DecodingKey::from_ed_components(str_field(jwk, "x")?)
                .map_err(|_| SkipReason::Ed25519KeyInvalid)?;
            (KeyFamily::Ed25519, key)
        }
        _ => return Err(SkipReason::KtyUnsupported),
    };
    if let Some(alg) = alg {
        if !family.fits(alg) {
            return Err(SkipReason::AlgMismatch { alg, family });
        }
    }
    Ok(VerifyKey {
        kid,
        alg,
        family,
        key,
        parsed: rs256,
    })
}

/// DER `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }` (PKCS#1)
/// from the JWK's big-endian `n` and `e`.
fn rsa_public_key_der(n: &[u8], e: &[u8]) -> Vec<u8> {
    fn length(out: &mut Vec<u8>, len: usize) {
        match len {
            0..=0x7f => out.push(len as u8),
            0x80..=0xff => out.extend_from_slice(&[0x81, len as u8]),
            _ => out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]),
        }
    }
    fn integer(out: &mut Vec<u8>, bytes: &[u8]) {
        let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
        let bytes = &bytes[first..];
        let pad = bytes.first().is_none_or(|b| b & 0x80 != 0);
        out.push(0x02);
        length(out, bytes.len() + usize::from(pad));
        if pad {
            out.push(0);
        }
        out.extend_from_slice(bytes);
    }
    let mut body = Vec::with_capacity(n.len() + e.len() + 16);
    integer(&mut body, n);
    integer(&mut body, e);
    let mut der = Vec::with_capacity(body.len() + 4);
    der.push(0x30);
    length(&mut der, body.len());
    der.extend_from_slice(&body);
    der
}

fn str_field<'a>(jwk: &'a Map<String, Value>, field: &'static str) -> Result<&'a str, SkipReason> {
    jwk.get(field)
        .and_then(Value::as_str)
        .ok_or(SkipReason::MaterialMissing { field })
}

fn b64_field(jwk: &Map<String, Value>, field: &'static str) -> Result<Vec<u8>, SkipReason> {
    let s = str_field(jwk, field)?;
    URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| SkipReason::MaterialNotBase64 { field })
}

/// Bits of a big-endian unsigned integer, leading zeros ignored.
fn modulus_bits(n: &[u8]) -> usize {
    match n.iter().position(|b| *b != 0) {
        None => 0,
        Some(i) => (n.len() - i - 1) * 8 + (8 - n[i].leading_zeros() as usize),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsa_public_key_der_is_minimal_and_positive() {
        // e = 65537; n with its high bit set gets a leading zero; leading zeros are dropped.
        let mut n = vec![0u8, 0x80];
        n.extend_from_slice(&[0x11; 255]);
        let der = rsa_public_key_der(&n, &[1, 0, 1]);
        assert_eq!(&der[..4], &[0x30, 0x82, 0x01, 0x0a]);
        assert_eq!(&der[4..8], &[0x02, 0x82, 0x01, 0x01]);
        assert_eq!(der[8], 0x00);
        assert_eq!(der[9], 0x80);
        assert_eq!(&der[der.len() - 5..], &[0x02, 0x03, 0x01, 0x00, 0x01]);
        assert_eq!(der.len(), 4 + 4 + 257 + 5);
    }

    #[test]
    fn every_rsa_key_gets_the_rs256_fast_path_and_ec_keys_do_not() {
        use aws_lc_rs::signature::KeyPair as _;
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        use base64::Engine;
        let pem = include_str!("../../tests/fixtures/keys/issuer-rsa2048.pem");
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = STANDARD.decode(body).unwrap_or_default();
        let pair = aws_lc_rs::rsa::KeyPair::from_pkcs8(&der)
            .or_else(|_| aws_lc_rs::rsa::KeyPair::from_der(&der));
        let Ok(pair) = pair else {
            panic!("fixture key unreadable");
        };
        let public: aws_lc_rs::rsa::PublicKeyComponents<Vec<u8>> = pair.public_key().into();
        let jwk: Map<String, Value> = serde_json::from_value(serde_json::json!({
            "kty": "RSA", "kid": "k", "e": URL_SAFE_NO_PAD.encode(&public.e),
            "n": URL_SAFE_NO_PAD.encode(&public.n),
        }))
        .unwrap_or_default();
        let key = parse_key(&jwk);
        assert!(
            key.as_ref().is_ok_and(|k| k.parsed.is_some()),
            "an RSA key is parsed once for RS256: {key:?}"
        );
        // The fast path and the general path agree on a real signature and a forged one.
        let message = b"header.payload";
        let mut sig = vec![0; pair.public_modulus_len()];
        let signed = pair.sign(
            &signature::RSA_PKCS1_SHA256,
            &aws_lc_rs::rand::SystemRandom::new(),
            message,
            &mut sig,
        );
        assert!(signed.is_ok());
        if let Ok(VerifyKey {
            parsed: Some(fast),
            key,
            ..
        }) = &key
        {
            let general = |sig: &[u8]| {
                jsonwebtoken::crypto::verify(
                    &URL_SAFE_NO_PAD.encode(sig),
                    message,
                    key,
                    jsonwebtoken::Algorithm::RS256,
                )
                .unwrap_or(false)
            };
            assert!(fast.verify_sig(message, &sig).is_ok() && general(&sig));
            sig[10] ^= 1;
            assert!(fast.verify_sig(message, &sig).is_err() && !general(&sig));
        }
        let ec: Map<String, Value> = serde_json::from_value(serde_json::json!({
            "kty": "EC", "kid": "e", "crv": "P-256",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
        }))
        .unwrap_or_default();
        let ec = parse_key(&ec);
        assert!(ec.is_ok_and(|k| k.parsed.is_none()));
    }
}
