//! A development signing key with its `kid`: read from a PEM or generated, published as a
//! JWK, and signing compact JWTs (RS256 for RSA keys, ES256 for EC P-256 keys).

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{self, KeySize};
use aws_lc_rs::signature::{
    EcdsaKeyPair, KeyPair as _, ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_SHA256,
};
use base64::Engine as _;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::PrivateKeyDer;
use serde_json::{json, Value};

use super::{b64url, DevIssuerError};

/// A private key and its `kid`, for minting test and demo tokens. Never for production.
pub struct DevKey {
    kid: String,
    pair: Pair,
}

enum Pair {
    Rsa(rsa::KeyPair),
    Ec(EcdsaKeyPair),
}

impl DevKey {
    /// A fresh RSA-2048 key named `kid`.
    ///
    /// Errors: [`DevIssuerError::Generate`] if the crypto library fails.
    pub fn generate(kid: &str) -> Result<DevKey, DevIssuerError> {
        let pair =
            rsa::KeyPair::generate(KeySize::Rsa2048).map_err(|_| DevIssuerError::Generate)?;
        Ok(DevKey {
            kid: kid.to_owned(),
            pair: Pair::Rsa(pair),
        })
    }

    /// A fresh EC P-256 key named `kid` (an ALB signs with one: [`DevKey::sign_alb`]).
    ///
    /// Errors: [`DevIssuerError::Generate`] if the crypto library fails.
    pub fn generate_p256(kid: &str) -> Result<DevKey, DevIssuerError> {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .map_err(|_| DevIssuerError::Generate)?;
        Ok(DevKey {
            kid: kid.to_owned(),
            pair: Pair::Ec(pair),
        })
    }

    /// The first private key in `pem`, named `kid`: an RSA key in a PKCS#8
    /// (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`) block, or an EC P-256 key
    /// in a PKCS#8 block.
    ///
    /// Errors: [`DevIssuerError::Pem`] if there is no private-key block;
    /// [`DevIssuerError::UnsupportedKey`] if the key is of another kind or unreadable.
    pub fn from_pem(kid: &str, pem: &str) -> Result<DevKey, DevIssuerError> {
        let der = PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(DevIssuerError::Pem)?;
        let pair = match &der {
            PrivateKeyDer::Pkcs8(pkcs8) => {
                let bytes = pkcs8.secret_pkcs8_der();
                rsa::KeyPair::from_pkcs8(bytes)
                    .map(Pair::Rsa)
                    .or_else(|_| {
                        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, bytes)
                            .map(Pair::Ec)
                    })
                    .map_err(|_| DevIssuerError::UnsupportedKey { format: "PKCS#8" })?
            }
            PrivateKeyDer::Pkcs1(pkcs1) => rsa::KeyPair::from_der(pkcs1.secret_pkcs1_der())
                .map(Pair::Rsa)
                .map_err(|_| DevIssuerError::UnsupportedKey { format: "PKCS#1" })?,
            PrivateKeyDer::Sec1(_) => {
                return Err(DevIssuerError::UnsupportedKey { format: "SEC1" })
            }
            // `PrivateKeyDer` is non-exhaustive: a container added to rustls-pki-types later.
            _ => return Err(DevIssuerError::UnsupportedKey { format: "unknown" }),
        };
        Ok(DevKey {
            kid: kid.to_owned(),
            pair,
        })
    }

    /// The key id put in the JWK and in the header [`DevKey::sign`] writes.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The JWS algorithm this key signs with: `RS256` or `ES256`.
    pub fn alg(&self) -> &'static str {
        match self.pair {
            Pair::Rsa(_) => "RS256",
            Pair::Ec(_) => "ES256",
        }
    }

    /// The public JWK: `kty`, `kid`, `use: sig`, `alg`, and `n`/`e` (RSA) or
    /// `crv`/`x`/`y` (EC P-256), each big-endian number base64url-encoded.
    pub fn jwk(&self) -> Value {
        match &self.pair {
            Pair::Rsa(pair) => {
                let public = pair.public_key();
                json!({
                    "kty": "RSA",
                    "kid": self.kid,
                    "use": "sig",
                    "alg": self.alg(),
                    "n": b64url(public.modulus().big_endian_without_leading_zero()),
                    "e": b64url(public.exponent().big_endian_without_leading_zero()),
                })
            }
            Pair::Ec(pair) => {
                // An uncompressed P-256 point: 0x04, then x and y of 32 bytes each.
                let point = pair.public_key().as_ref();
                let (x, y) = point.get(1..).unwrap_or_default().split_at(32);
                json!({
                    "kty": "EC",
                    "crv": "P-256",
                    "kid": self.kid,
                    "use": "sig",
                    "alg": self.alg(),
                    "x": b64url(x),
                    "y": b64url(y),
                })
            }
        }
    }

    /// The public key as an ALB key server serves it: one PEM `PUBLIC KEY` block holding a
    /// P-256 SubjectPublicKeyInfo (RFC 5480). `None` for an RSA key.
    pub fn public_pem(&self) -> Option<String> {
        const P256_SPKI_PREFIX: [u8; 26] = [
            0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
            0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
        ];
        let Pair::Ec(pair) = &self.pair else {
            return None;
        };
        let mut der = P256_SPKI_PREFIX.to_vec();
        der.extend_from_slice(pair.public_key().as_ref());
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .filter_map(|c| std::str::from_utf8(c).ok())
            .collect();
        Some(format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            lines.join("\n")
        ))
    }

    /// A token in the AWS ALB `x-amzn-oidc-data` wire format (reference section 9): each
    /// segment base64url *with* `=` padding, the ES256 signature (64 bytes, `R||S`) over the
    /// padded `header.payload` as written. Header and payload are taken as given (an ALB
    /// header has `alg`, `kid`, `signer`, `iss`, `client`, `exp`).
    ///
    /// Errors: [`DevIssuerError::UnsupportedKey`] for an RSA key; [`DevIssuerError::Sign`].
    pub fn sign_alb(&self, header: &Value, payload: &Value) -> Result<String, DevIssuerError> {
        let padded = base64::engine::general_purpose::URL_SAFE;
        let input = format!(
            "{}.{}",
            padded.encode(header.to_string()),
            padded.encode(payload.to_string())
        );
        let signature = self.sign_input(&input)?;
        Ok(format!("{input}.{}", padded.encode(signature)))
    }

    /// The raw signature of `input` with this key (ES256: 64 bytes `R||S`; RS256: the
    /// modulus length), for tests that assemble a token by hand.
    ///
    /// Errors: [`DevIssuerError::Sign`] if the crypto library fails.
    pub fn sign_input(&self, input: &str) -> Result<Vec<u8>, DevIssuerError> {
        let rng = SystemRandom::new();
        match &self.pair {
            Pair::Rsa(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &rng, input.as_bytes(), &mut signature)
                    .map_err(|_| DevIssuerError::Sign)?;
                Ok(signature)
            }
            Pair::Ec(pair) => Ok(pair
                .sign(&rng, input.as_bytes())
                .map_err(|_| DevIssuerError::Sign)?
                .as_ref()
                .to_vec()),
        }
    }

    /// A JWKS document holding this key alone: `{"keys": [jwk]}`.
    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.jwk()] })
    }

    /// A compact JWT of `claims` under the header `{"alg", "kid", "typ": "JWT"}`.
    ///
    /// Errors: [`DevIssuerError::Sign`] if the crypto library fails.
    pub fn sign(&self, claims: &Value) -> Result<String, DevIssuerError> {
        let header = json!({"alg": self.alg(), "kid": self.kid, "typ": "JWT"});
        self.sign_with_header(&header, claims)
    }

    /// A compact JWT of `header` and `claims` exactly as given. The key signs with its own
    /// algorithm whatever `header` claims, so a test can make the header lie.
    ///
    /// Errors: [`DevIssuerError::Sign`] if the crypto library fails.
    pub fn sign_with_header(
        &self,
        header: &Value,
        claims: &Value,
    ) -> Result<String, DevIssuerError> {
        self.sign_raw(&header.to_string(), &claims.to_string())
    }

    /// `b64url(header).b64url(payload).b64url(signature)` over any text, JSON or not.
    ///
    /// Errors: [`DevIssuerError::Sign`] if the crypto library fails.
    pub fn sign_raw(&self, header: &str, payload: &str) -> Result<String, DevIssuerError> {
        let input = format!("{}.{}", b64url(header), b64url(payload));
        let signature = self.sign_input(&input)?;
        Ok(format!("{input}.{}", b64url(signature)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSA_PEM: &str = include_str!("../../tests/fixtures/keys/issuer-rsa2048.pem");
    const EC_PEM: &str = include_str!("../../tests/fixtures/keys/ec-p256.pem");

    #[test]
    fn a_pkcs8_rsa_key_signs_rs256_with_its_kid() {
        let key = DevKey::from_pem("k1", RSA_PEM).unwrap();
        let jwk = key.jwk();
        assert_eq!(jwk["kty"], "RSA");
        assert_eq!(jwk["kid"], "k1");
        assert_eq!(jwk["alg"], "RS256");
        assert_eq!(key.jwks()["keys"][0], jwk);
        let token = key.sign(&json!({"sub": "a"})).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(
            parts[0],
            b64url(r#"{"alg":"RS256","kid":"k1","typ":"JWT"}"#)
        );
        assert_eq!(parts[1], b64url(r#"{"sub":"a"}"#));
    }

    #[test]
    fn a_pkcs8_ec_key_is_p256_with_32_byte_coordinates() {
        let key = DevKey::from_pem("ec1", EC_PEM).unwrap();
        let jwk = key.jwk();
        assert_eq!(jwk["crv"], "P-256");
        assert_eq!(key.alg(), "ES256");
        for coordinate in ["x", "y"] {
            assert_eq!(
                jwk[coordinate].as_str().map(str::len),
                Some(43),
                "{coordinate}"
            );
        }
    }

    #[test]
    fn raw_signing_takes_text_that_is_not_json() {
        let key = DevKey::from_pem("k1", RSA_PEM).unwrap();
        let token = key.sign_raw("not json", "[1]").unwrap();
        assert!(token.starts_with(&format!("{}.{}.", b64url("not json"), b64url("[1]"))));
    }

    #[test]
    fn text_without_a_private_key_block_is_not_pem() {
        let public = include_str!("../../tests/fixtures/keys/issuer-rsa2048.pub.pem");
        assert!(matches!(
            DevKey::from_pem("k1", public),
            Err(DevIssuerError::Pem(_))
        ));
    }
}
