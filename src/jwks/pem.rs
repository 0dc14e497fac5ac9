//! An ALB public key (reference section 9): the body of `GET {key_url}/{kid}`, one PEM
//! `PUBLIC KEY` block holding a P-256 SubjectPublicKeyInfo (RFC 5480), turned into a
//! [`VerifyKey`] for ES256 with its point checked once here. Never on a request path.

use aws_lc_rs::signature::{ParsedPublicKey, ECDSA_P256_SHA256_FIXED};
use jsonwebtoken::DecodingKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::SubjectPublicKeyInfoDer;

use crate::config::Alg;
use crate::jwks::{KeyFamily, VerifyKey};

/// The DER of a P-256 SubjectPublicKeyInfo up to its point (RFC 5480 section 2):
/// SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING (66 bytes, 0 unused) }.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];
/// An uncompressed P-256 point: 0x04, then x and y of 32 bytes each (SEC 1 section 2.3.3).
const POINT_LEN: usize = 65;

const BEGIN: &str = "-----BEGIN PUBLIC KEY-----";
const END: &str = "-----END PUBLIC KEY-----";

/// Why a key server's answer is not an ALB key. Facts only; the body is never echoed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PemKeyError {
    /// Not one PEM `PUBLIC KEY` block (JSON, HTML, an empty body, two blocks, bad base64).
    #[error("not a PEM public key (one -----BEGIN PUBLIC KEY----- block)")]
    NotPem,
    /// A public key of another kind: RSA, another curve, a compressed point.
    #[error("not an EC P-256 public key")]
    NotP256,
    /// P-256 framing around a point that is not on the curve.
    #[error("the P-256 point is invalid")]
    BadPoint,
}

/// The ES256 key `kid` from `body`: exactly one PEM `PUBLIC KEY` block (surrounding
/// whitespace allowed), a P-256 SubjectPublicKeyInfo with an uncompressed point on the curve.
///
/// # Errors
/// [`PemKeyError`]: which of the three layers is wrong.
pub fn parse_alb_key(kid: &str, body: &[u8]) -> Result<VerifyKey, PemKeyError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| PemKeyError::NotPem)?
        .trim();
    if !text.starts_with(BEGIN) || !text.ends_with(END) || text.matches(BEGIN).count() != 1 {
        return Err(PemKeyError::NotPem);
    }
    let der = SubjectPublicKeyInfoDer::from_pem_slice(text.as_bytes())
        .map_err(|_| PemKeyError::NotPem)?;
    if der.as_ref().is_empty() {
        return Err(PemKeyError::NotPem);
    }
    let point = der
        .as_ref()
        .strip_prefix(P256_SPKI_PREFIX.as_slice())
        .filter(|p| p.len() == POINT_LEN && p.first() == Some(&0x04))
        .ok_or(PemKeyError::NotP256)?;
    let parsed =
        ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).map_err(|_| PemKeyError::BadPoint)?;
    Ok(VerifyKey {
        kid: kid.to_owned(),
        alg: Some(Alg::ES256),
        family: KeyFamily::EcP256,
        key: DecodingKey::from_ec_der(point),
        parsed: Some(parsed),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALB_PEM: &str = include_str!("../../tests/fixtures/alb/quarkus-34300.pem");
    const EC_PUB: &str = include_str!("../../tests/fixtures/keys/ec-p256.pub.pem");
    const RSA_PUB: &str = include_str!("../../tests/fixtures/keys/issuer-rsa2048.pub.pem");

    #[test]
    fn a_published_alb_key_and_a_p256_key_parse() {
        let key = parse_alb_key("k", ALB_PEM.as_bytes()).unwrap();
        assert_eq!(key.family, KeyFamily::EcP256);
        assert_eq!(key.alg, Some(Alg::ES256));
        assert!(parse_alb_key("k", EC_PUB.as_bytes()).is_ok());
        let padded = format!("\n\n  {ALB_PEM}\r\n");
        assert!(parse_alb_key("k", padded.as_bytes()).is_ok());
    }

    #[test]
    fn an_rsa_key_is_not_p256() {
        assert_eq!(
            parse_alb_key("k", RSA_PUB.as_bytes()).unwrap_err(),
            PemKeyError::NotP256
        );
    }

    #[test]
    fn json_html_empty_and_two_blocks_are_not_pem() {
        for body in [
            r#"{"keys":[]}"#,
            "<html>403</html>",
            "",
            "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----",
            "-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----",
        ] {
            assert_eq!(
                parse_alb_key("k", body.as_bytes()).unwrap_err(),
                PemKeyError::NotPem,
                "{body}"
            );
        }
        let two = format!("{ALB_PEM}\n{ALB_PEM}");
        assert_eq!(
            parse_alb_key("k", two.as_bytes()).unwrap_err(),
            PemKeyError::NotPem
        );
        assert_eq!(
            parse_alb_key("k", &[0xff, 0xfe]).unwrap_err(),
            PemKeyError::NotPem
        );
    }

    #[test]
    fn a_point_off_the_curve_is_refused() {
        use base64::engine::general_purpose::STANDARD;
        use base64::Engine;
        let mut der = P256_SPKI_PREFIX.to_vec();
        der.push(0x04);
        der.extend_from_slice(&[0x11; 64]);
        let pem = format!("{BEGIN}\n{}\n{END}\n", STANDARD.encode(&der));
        assert_eq!(
            parse_alb_key("k", pem.as_bytes()).unwrap_err(),
            PemKeyError::BadPoint
        );
        // A compressed point (0x02) in the same framing is not what the ALB serves.
        let mut compressed = P256_SPKI_PREFIX.to_vec();
        compressed.push(0x02);
        compressed.extend_from_slice(&[0x11; 64]);
        let pem = format!("{BEGIN}\n{}\n{END}\n", STANDARD.encode(&compressed));
        assert_eq!(
            parse_alb_key("k", pem.as_bytes()).unwrap_err(),
            PemKeyError::NotP256
        );
    }
}
