//! Fixtures shared by the fuzz targets: a verifier over the test issuer's fixed RSA key, and
//! a signature check that does not go through tokengate's own code.

use std::sync::Arc;
use std::time::SystemTime;

use aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rustls_pki_types::pem::PemObject;
use tokengate::auth::{Issuer, Verifier};
use tokengate::dev_issuer::DevKey;
use tokengate::jwks::{parse_jwks, IssuerKeys, KeySet, SetOrigin};

/// The issuer every token target verifies against (tests/fixtures/keys/issuer-rsa2048.pem).
pub const ISS: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Fuzz";

/// The configuration the verifier is built from: a Cognito issuer accepting ID and access
/// tokens of client `client`, RS256 and ES256.
pub const CONFIG: &str = "
upstream: { url: 'http://127.0.0.1:1' }
issuers:
  - name: main
    cognito: { issuer: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Fuzz' }
    jwks_uri: 'http://127.0.0.1:1/jwks.json'
    client_ids: [client]
    token_use: [access, id]
    algorithms: [RS256, ES256]
";

pub fn key() -> DevKey {
    DevKey::from_pem(
        "k1",
        include_str!("../../tests/fixtures/keys/issuer-rsa2048.pem"),
    )
    .expect("fixture key")
}

/// A verifier whose issuer holds the fixture key under kid `k1`.
pub fn verifier() -> Verifier {
    let config = tokengate::config::load_str(CONFIG, &|_| None).expect("fuzz config");
    let issuer = config.issuers[0].clone();
    let keys = Arc::new(IssuerKeys::new());
    let (parsed, _) = parse_jwks(key().jwks().to_string().as_bytes()).expect("fixture jwks");
    keys.publish(KeySet::new(parsed, SetOrigin::Static, SystemTime::now()));
    Verifier::with_cache(
        vec![Issuer {
            config: issuer,
            keys,
        }],
        8192,
        0,
        tokengate::config::defaults::TOKEN_CACHE_MAX_BYTES,
    )
}

/// Whether `token`'s signature is RS256 over its first two segments with the fixture key,
/// checked with aws-lc directly (not with tokengate's verifier).
pub fn signature_is_valid(token: &str) -> bool {
    let Some((input, signature)) = token.rsplit_once('.') else {
        return false;
    };
    let Ok(signature) = URL_SAFE_NO_PAD.decode(signature) else {
        return false;
    };
    let jwk = key().jwk();
    let (Some(n), Some(e)) = (jwk["n"].as_str(), jwk["e"].as_str()) else {
        return false;
    };
    let (Ok(n), Ok(e)) = (URL_SAFE_NO_PAD.decode(n), URL_SAFE_NO_PAD.decode(e)) else {
        return false;
    };
    let public = aws_lc_rs::signature::RsaPublicKeyComponents { n: &n, e: &e };
    public
        .verify(&RSA_PKCS1_2048_8192_SHA256, input.as_bytes(), &signature)
        .is_ok()
}

/// The ALB issuer the `alb_token` target verifies against (reference section 9): the fixture
/// P-256 key (tests/fixtures/keys/ec-p256.pem) under a UUID kid.
pub const ALB_KID: &str = "2b3c4d5e-6f70-4182-93a4-b5c6d7e8f901";
/// The ALB the fixture tokens name as `signer`.
pub const ALB_ARN: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188";

/// The configuration of the ALB verifier: one `alb:` issuer of client `client`.
pub const ALB_CONFIG: &str = "
upstream: { url: 'http://127.0.0.1:1' }
issuers:
  - name: alb
    alb:
      arns: ['arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188']
      issuer: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Fuzz'
      key_url: 'http://127.0.0.1:1'
    client_ids: [client]
token: { sources: [alb] }
";

pub fn alb_key() -> DevKey {
    DevKey::from_pem(ALB_KID, include_str!("../../tests/fixtures/keys/ec-p256.pem"))
        .expect("fixture ec key")
}

/// A verifier whose `alb:` issuer holds the fixture P-256 key under [`ALB_KID`].
pub fn alb_verifier() -> Verifier {
    let config = tokengate::config::load_str(ALB_CONFIG, &|_| None).expect("fuzz alb config");
    let issuer = config.issuers[0].clone();
    let keys = Arc::new(IssuerKeys::new());
    let pem = alb_key().public_pem().expect("ec key");
    let key = tokengate::jwks::pem::parse_alb_key(ALB_KID, pem.as_bytes()).expect("fixture pem");
    keys.publish(KeySet::new(vec![key], SetOrigin::Alb, SystemTime::now()));
    Verifier::with_cache(
        vec![Issuer {
            config: issuer,
            keys,
        }],
        8192,
        0,
        tokengate::config::defaults::TOKEN_CACHE_MAX_BYTES,
    )
}

/// Whether `token`'s last segment is a 64-byte ES256 signature (`R||S`, base64url with or
/// without padding) by the fixture P-256 key over everything before the last `.`, exactly
/// as received; checked with aws-lc directly (not with tokengate's parser or verifier).
pub fn alb_signature_is_valid(token: &str) -> bool {
    let Some((input, signature)) = token.rsplit_once('.') else {
        return false;
    };
    let Ok(signature) = URL_SAFE_NO_PAD.decode(signature.trim_end_matches('=')) else {
        return false;
    };
    let pem = alb_key().public_pem().expect("ec key");
    let der = rustls_pki_types::SubjectPublicKeyInfoDer::from_pem_slice(pem.as_bytes())
        .expect("fixture pem");
    let point = &der.as_ref()[26..];
    aws_lc_rs::signature::UnparsedPublicKey::new(&aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED, point)
        .verify(input.as_bytes(), &signature)
        .is_ok()
}
