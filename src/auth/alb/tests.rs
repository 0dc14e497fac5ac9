//! The ALB parser and rules: padding accepted only where the ALB puts it, the signature
//! over the segments as received, and each header rule with a token that breaks it alone.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use serde_json::{json, Value};

use super::*;
use crate::auth::claims::ClaimError;
use crate::auth::{Issuer, Verifier};
use crate::config::{Alg, IssuerConfig, IssuerKind};
use crate::dev_issuer::DevKey;
use crate::jwks::pem::parse_alb_key;
use crate::jwks::{IssuerKeys, KeySet, SetOrigin};

const KID: &str = "2b3c4d5e-6f70-4182-93a4-b5c6d7e8f901";
const ARN: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188";
const ISS: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123";
const CLIENT: &str = "4example";
const NOW: u64 = 1_800_000_000;

const REAL_TOKEN: &str = include_str!("../../../tests/fixtures/alb/quarkus-34300.jwt");
const REAL_PEM: &str = include_str!("../../../tests/fixtures/alb/quarkus-34300.pem");

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW)
}

fn alb_issuer(name: &str, arn: &str, iss: &str, client: &str, pem: &str, kid: &str) -> Issuer {
    let keys = Arc::new(IssuerKeys::new());
    keys.publish(KeySet::new(
        vec![parse_alb_key(kid, pem.as_bytes()).unwrap()],
        SetOrigin::Alb,
        SystemTime::now(),
    ));
    Issuer {
        config: IssuerConfig {
            name: name.into(),
            issuer: iss.into(),
            jwks_uri: http::Uri::from_static("http://127.0.0.1:9"),
            kind: IssuerKind::Alb {
                arns: vec![arn.into()],
                client_ids: vec![client.into()],
            },
            algorithms: vec![Alg::ES256],
            clock_skew: Duration::from_secs(30),
        },
        keys,
    }
}

struct Fixture {
    key: DevKey,
    verifier: Verifier,
}

fn fixture() -> Fixture {
    let key = DevKey::generate_p256(KID).unwrap();
    let pem = key.public_pem().unwrap();
    let verifier = Verifier::new(vec![alb_issuer("alb", ARN, ISS, CLIENT, &pem, KID)], 8192);
    Fixture { key, verifier }
}

fn header() -> Value {
    json!({"typ": "JWT", "kid": KID, "alg": "ES256", "iss": ISS, "client": CLIENT, "signer": ARN, "exp": NOW + 60})
}

fn payload() -> Value {
    json!({"sub": "u-1", "email_verified": "true", "email": "a@example.com", "username": "alice", "exp": NOW + 60, "iss": ISS})
}

fn rule(result: Result<Verified, AuthError>) -> Rule {
    match result {
        Err(AuthError::Rejected { rule, .. }) => rule,
        other => panic!("expected a rule, got {other:?}"),
    }
}

impl Fixture {
    fn token(&self, header: &Value, payload: &Value) -> String {
        self.key.sign_alb(header, payload).unwrap()
    }
    fn verify(&self, token: &str) -> Result<Verified, AuthError> {
        self.verifier.verify_alb(token, now())
    }
}

#[test]
fn the_published_alb_token_verifies_with_its_key_at_its_time() {
    let token = REAL_TOKEN.trim();
    let issuer = alb_issuer(
        "alb",
        "arn:aws:elasticloadbalancing:eu-central-1:197280958225:loadbalancer/app/ecs-with-cognito-lb/6284be65b827c598",
        "https://cognito-idp.eu-central-1.amazonaws.com/eu-central-1_MyRrOCHQw",
        "4fmvht22tjrgd7d3k3tghttct7",
        REAL_PEM,
        "c2f80c8b-c05c-4068-af14-17299f7896b1",
    );
    let verifier = Verifier::new(vec![issuer], 8192);
    let at = UNIX_EPOCH + Duration::from_secs(1_687_748_000);
    let verified = verifier.verify_alb(token, at).unwrap();
    assert_eq!(verified.claims["username"], "duke");
    assert_eq!(
        verified.identity.sub_text,
        "23d498b2-3031-70d2-8a15-49dd886a087b"
    );
    assert_eq!(verified.identity.client_id, "4fmvht22tjrgd7d3k3tghttct7");
    assert_eq!(verified.identity.token_use, "alb");
    assert_eq!(verified.identity.username, "duke");
    // x-auth-claims: the payload's bytes, base64url without the ALB's padding.
    let claims = verified.identity.claims.to_str().unwrap();
    assert!(!claims.ends_with('='));
    assert_eq!(
        URL_SAFE_NO_PAD.decode(claims).unwrap(),
        URL_SAFE.decode(token.split('.').nth(1).unwrap()).unwrap()
    );
    // Past exp (and the skew): expired. The real vector is from 2023.
    let later = UNIX_EPOCH + Duration::from_secs(1_687_748_045 + 30);
    assert!(matches!(
        rule(verifier.verify_alb(token, later)),
        Rule::Claim(ClaimError::Expired { .. })
    ));
    // The same segments without their padding: the ALB signed the padded bytes.
    let stripped: Vec<&str> = token.split('.').map(|s| s.trim_end_matches('=')).collect();
    assert_eq!(
        rule(verifier.verify_alb(&stripped.join("."), at)),
        Rule::BadSignature
    );
    // And the strict bearer parser refuses it, as jsonwebtoken's decode would.
    assert!(crate::auth::jwt::parse(token).is_err());
}

#[test]
fn padded_and_unpadded_segments_both_parse_when_signed_as_sent() {
    let f = fixture();
    let padded = f.token(&header(), &payload());
    assert!(
        padded.contains('='),
        "the test header and payload need padding"
    );
    assert!(f.verify(&padded).is_ok());
    // Unpadded segments, signed as sent, verify too (the parser tolerates 0 `=`).
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header().to_string()),
        URL_SAFE_NO_PAD.encode(payload().to_string())
    );
    let sig = f.key.sign_input(&input).unwrap();
    let unpadded = format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig));
    assert!(!unpadded.contains('='));
    assert!(f.verify(&unpadded).is_ok());
}

#[test]
fn padding_in_the_middle_three_equals_and_misfit_padding_are_refused() {
    // `{}` is `e30=` padded.
    let sig = URL_SAFE.encode([7u8; 64]);
    for bad in [
        format!("e3=0.e30=.{sig}"),   // `=` inside a segment
        format!("e30===.e30=.{sig}"), // three `=`
        format!("e30==.e30=.{sig}"),  // two `=` where one fits
        format!("=.e30=.{sig}"),      // padding alone
        format!("e3+0.e30=.{sig}"),   // the standard alphabet
    ] {
        assert!(
            matches!(
                parse(&bad),
                Err(ParseError::Base64 {
                    segment: Segment::Header
                })
            ),
            "{bad}"
        );
    }
    assert!(matches!(
        parse(&format!("e30=.e30=.{sig}=")),
        Err(ParseError::Base64 {
            segment: Segment::Signature
        })
    ));
    assert!(parse(&format!("e30=.e30=.{sig}")).is_ok());
    assert!(parse("e30=.e30=").is_err());
    assert!(parse(&format!("e30=.e30=.{sig}.x")).is_err());
}

#[test]
fn a_der_signature_is_refused_as_not_raw() {
    let f = fixture();
    let token = f.token(&header(), &payload());
    let (input, sig) = token.rsplit_once('.').unwrap();
    let raw = URL_SAFE.decode(sig).unwrap();
    let der = to_der(&raw);
    let der_token = format!("{input}.{}", URL_SAFE.encode(&der));
    assert_eq!(
        rule(f.verify(&der_token)),
        Rule::SignatureNotRaw { len: der.len() }
    );
}

/// An `R||S` signature as ASN.1 DER `SEQUENCE { INTEGER r, INTEGER s }`.
fn to_der(raw: &[u8]) -> Vec<u8> {
    let int = |half: &[u8]| {
        let trimmed: Vec<u8> = half.iter().copied().skip_while(|b| *b == 0).collect();
        let mut v = if trimmed.first().is_some_and(|b| b & 0x80 != 0) {
            vec![0]
        } else {
            vec![]
        };
        v.extend(trimmed);
        let mut out = vec![0x02, v.len() as u8];
        out.extend(v);
        out
    };
    let mut body = int(&raw[..32]);
    body.extend(int(&raw[32..]));
    let mut out = vec![0x30, body.len() as u8];
    out.extend(body);
    out
}

#[test]
fn alg_none_rs256_hs256_and_a_missing_alg_are_refused() {
    let f = fixture();
    for alg in ["none", "RS256", "HS256", "es256", "ES384"] {
        let mut h = header();
        h["alg"] = json!(alg);
        assert_eq!(
            rule(f.verify(&f.token(&h, &payload()))),
            Rule::AlgNotAllowed,
            "{alg}"
        );
    }
    let mut h = header();
    h.as_object_mut().unwrap().remove("alg");
    assert_eq!(rule(f.verify(&f.token(&h, &payload()))), Rule::AlgMissing);
}

#[test]
fn signer_client_and_iss_mismatches_are_refused() {
    let f = fixture();
    let with = |field: &str, value: Value| {
        let mut h = header();
        h[field] = value;
        f.verify(&f.token(&h, &payload()))
    };
    let other_alb = ARN.replace("/web/", "/other/");
    assert_eq!(
        rule(with("signer", json!(other_alb))),
        Rule::SignerNotAllowed
    );
    assert_eq!(rule(with("signer", json!(null))), Rule::SignerNotAllowed);
    assert_eq!(
        rule(with("client", json!("someone-else"))),
        Rule::ClientNotAllowed
    );
    assert_eq!(
        rule(with(
            "iss",
            json!("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other")
        )),
        Rule::Claim(ClaimError::IssNotAllowed)
    );
    // The payload's iss, when present, is the issuer too; absent is fine.
    let mut p = payload();
    p["iss"] = json!("https://evil.example.com");
    assert_eq!(
        rule(f.verify(&f.token(&header(), &p))),
        Rule::Claim(ClaimError::IssNotAllowed)
    );
    p.as_object_mut().unwrap().remove("iss");
    assert!(f.verify(&f.token(&header(), &p)).is_ok());
}

#[test]
fn exp_past_is_refused_and_exp_within_the_skew_passes() {
    let f = fixture();
    let at = |exp: Value| {
        let mut p = payload();
        p["exp"] = exp;
        f.verify(&f.token(&header(), &p))
    };
    // clock_skew is 30 s.
    assert!(at(json!(NOW - 10)).is_ok());
    assert!(matches!(
        rule(at(json!(NOW - 30))),
        Rule::Claim(ClaimError::Expired { .. })
    ));
    assert!(matches!(
        rule(at(json!("1900000000"))),
        Rule::Claim(ClaimError::NotANumber { .. })
    ));
    let mut p = payload();
    p.as_object_mut().unwrap().remove("exp");
    assert_eq!(
        rule(f.verify(&f.token(&header(), &p))),
        Rule::Claim(ClaimError::ExpMissing)
    );
}

#[test]
fn a_missing_or_non_uuid_kid_is_refused_before_any_key_is_looked_at() {
    let f = fixture();
    let mut h = header();
    h.as_object_mut().unwrap().remove("kid");
    assert_eq!(rule(f.verify(&f.token(&h, &payload()))), Rule::KidMissing);
    for kid in [
        "k1",
        "../../etc/passwd",
        "2b3c4d5e-6f70-4182-93a4-b5c6d7e8f90",
        "2b3c4d5e6f70418293a4b5c6d7e8f901",
    ] {
        let mut h = header();
        h["kid"] = json!(kid);
        assert_eq!(
            rule(f.verify(&f.token(&h, &payload()))),
            Rule::KidNotUuid,
            "{kid}"
        );
    }
    let mut h = header();
    h["kid"] = json!("0b3c4d5e-6f70-4182-93a4-b5c6d7e8f901");
    assert_eq!(rule(f.verify(&f.token(&h, &payload()))), Rule::UnknownKid);
    assert!(is_uuid(&KID.to_ascii_uppercase()));
}

#[test]
fn a_signature_over_the_stripped_segments_is_refused_on_a_padded_token() {
    let f = fixture();
    let padded = f.token(&header(), &payload());
    let (input, _) = padded.rsplit_once('.').unwrap();
    let stripped: Vec<&str> = input.split('.').map(|s| s.trim_end_matches('=')).collect();
    let sig = f.key.sign_input(&stripped.join(".")).unwrap();
    let forged = format!("{input}.{}", URL_SAFE.encode(sig));
    assert_eq!(rule(f.verify(&forged)), Rule::BadSignature);
    // Another key's signature over the right bytes: bad too.
    let other = DevKey::generate_p256(KID).unwrap();
    let forged = format!(
        "{input}.{}",
        URL_SAFE.encode(other.sign_input(input).unwrap())
    );
    assert_eq!(rule(f.verify(&forged)), Rule::BadSignature);
}

#[test]
fn alb_tokens_and_bearer_tokens_never_cross() {
    let f = fixture();
    let token = f.token(&header(), &payload());
    // The bearer path never picks an alb: issuer, even when the iss is the same.
    assert!(f.verifier.verify(&token, now()).is_err());
    // A cached ALB verdict does not answer the bearer path for the same text.
    let cached = Verifier::with_cache(
        vec![alb_issuer(
            "alb",
            ARN,
            ISS,
            CLIENT,
            &f.key.public_pem().unwrap(),
            KID,
        )],
        8192,
        16,
        1 << 20,
    );
    assert!(cached.verify_alb_cached(&token, now()).0.is_ok());
    assert!(cached.verify_alb_cached(&token, now()).0.is_ok());
    assert!(cached.verify_cached(&token, now()).0.is_err());
}

#[test]
fn a_token_over_max_bytes_is_refused_before_parsing() {
    let f = fixture();
    let token = f.token(
        &header(),
        &json!({"sub": "x".repeat(9000), "exp": NOW + 60}),
    );
    assert!(matches!(f.verify(&token), Err(AuthError::TooLarge { .. })));
}
