//! The verifier against real signatures: a valid ID and access token, then the attack
//! battery of the core issue, each asserting the exact rule that refuses it.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::SubjectPublicKeyInfoDer;
use serde_json::{json, Value};

use super::*;
use crate::config::{IssuerKind, TokenUse};
use crate::dev_issuer::{b64url as b64, DevKey};
use crate::jwks::{parse_jwks, KeySet, SetOrigin};

const ISS: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Test";
const NOW: u64 = 1_800_000_000;

fn issuer_key() -> DevKey {
    DevKey::from_pem(
        "k1",
        include_str!("../../tests/fixtures/keys/issuer-rsa2048.pem"),
    )
    .unwrap()
}

fn attacker_key() -> DevKey {
    DevKey::from_pem(
        "k1",
        include_str!("../../tests/fixtures/keys/attacker-rsa2048.pem"),
    )
    .unwrap()
}

fn ec_key() -> DevKey {
    DevKey::from_pem("ec1", include_str!("../../tests/fixtures/keys/ec-p256.pem")).unwrap()
}

/// The key's JWK named `kid`, without `use` and `alg`, then `extra`'s members.
fn bare_jwk(key: &DevKey, kid: &str, extra: Value) -> Value {
    let mut jwk = key.jwk();
    if let (Some(j), Value::Object(e)) = (jwk.as_object_mut(), extra) {
        j.remove("use");
        j.remove("alg");
        j.insert("kid".into(), json!(kid));
        j.extend(e);
    }
    jwk
}

fn ec_jwk(kid: &str) -> Value {
    bare_jwk(&ec_key(), kid, json!({}))
}

fn sign(key: &DevKey, header: &Value, payload: &Value) -> String {
    key.sign_with_header(header, payload).unwrap()
}

fn access_claims() -> Value {
    json!({
        "sub": "1111-2222", "iss": ISS, "token_use": "access", "client_id": "client-a",
        "username": "alice", "scope": "openid profile", "cognito:groups": ["admin", "dev"],
        "exp": NOW + 3600, "iat": NOW, "auth_time": NOW, "jti": "j", "origin_jti": "o",
    })
}

fn id_claims() -> Value {
    json!({
        "sub": "1111-2222", "iss": ISS, "token_use": "id", "aud": "client-a",
        "cognito:username": "alice", "email": "alice@example.com", "email_verified": "true",
        "exp": NOW + 3600, "iat": NOW,
    })
}

fn header() -> Value {
    json!({"alg": "RS256", "kid": "k1", "typ": "JWT"})
}

fn verifier_with(jwks: Value, token_use: Vec<TokenUse>, algorithms: Vec<Alg>) -> Verifier {
    let keys = Arc::new(IssuerKeys::new());
    let (parsed, _) = parse_jwks(jwks.to_string().as_bytes()).unwrap();
    keys.publish(KeySet::new(parsed, SetOrigin::Static, SystemTime::now()));
    let config = IssuerConfig {
        name: "main".into(),
        issuer: ISS.into(),
        jwks_uri: http::Uri::from_static("https://example.com/jwks.json"),
        kind: IssuerKind::Cognito {
            audiences: vec![],
            client_ids: vec!["client-a".into()],
            token_use,
        },
        algorithms,
        clock_skew: Duration::ZERO,
    };
    Verifier::new(vec![Issuer { config, keys }], 8192)
}

fn verifier() -> Verifier {
    verifier_with(
        json!({"keys": [bare_jwk(&issuer_key(), "k1", json!({"use": "sig", "alg": "RS256"})), ec_jwk("ec1")]}),
        vec![TokenUse::Access, TokenUse::Id],
        vec![Alg::RS256],
    )
}

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW)
}

fn rule(result: Result<Verified, AuthError>) -> Rule {
    match result {
        Err(AuthError::Rejected { rule, .. }) => rule,
        other => panic!("expected a rule rejection, got {other:?}"),
    }
}

#[test]
fn a_valid_access_token_passes_with_its_identity() {
    let token = sign(&issuer_key(), &header(), &access_claims());
    let v = verifier().verify(&token, now()).unwrap();
    assert_eq!(v.issuer, 0);
    assert_eq!(v.token_use, Some(TokenUse::Access));
    assert_eq!(v.identity.sub, "1111-2222");
    assert_eq!(v.identity.username, "alice");
    assert_eq!(v.identity.groups, "admin,dev");
    assert_eq!(v.identity.scope.as_ref().unwrap(), "openid profile");
    assert_eq!(v.identity.client_id, "client-a");
    assert_eq!(v.identity.token_use, "access");
    assert_eq!(v.identity.issuer, "main");
    assert!(v.identity.email.is_none());
    assert_eq!(v.identity.claims, token.split('.').nth(1).unwrap());
}

#[test]
fn a_valid_id_token_passes_with_its_identity() {
    let token = sign(&issuer_key(), &header(), &id_claims());
    let v = verifier().verify(&token, now()).unwrap();
    assert_eq!(v.identity.username, "alice");
    assert_eq!(v.identity.email.as_ref().unwrap(), "alice@example.com");
    assert_eq!(v.identity.groups, "");
    assert_eq!(v.identity.client_id, "client-a");
    assert_eq!(v.identity.token_use, "id");
}

#[test]
fn a_tampered_payload_is_a_bad_signature() {
    let token = sign(&issuer_key(), &header(), &access_claims());
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims = access_claims();
    claims["cognito:groups"] = json!(["root"]);
    let forged = format!("{}.{}.{}", parts[0], b64(claims.to_string()), parts[2]);
    assert_eq!(rule(verifier().verify(&forged, now())), Rule::BadSignature);
}

#[test]
fn a_token_signed_by_another_key_is_a_bad_signature() {
    let token = sign(&attacker_key(), &header(), &access_claims());
    assert_eq!(rule(verifier().verify(&token, now())), Rule::BadSignature);
}

#[test]
fn alg_none_is_refused() {
    let h = json!({"alg": "none", "kid": "k1"});
    let unsigned = format!(
        "{}.{}.",
        b64(h.to_string()),
        b64(access_claims().to_string())
    );
    assert!(matches!(
        verifier().verify(&unsigned, now()),
        Err(AuthError::Malformed(_))
    ));
    let with_sig = format!(
        "{}.{}.{}",
        b64(h.to_string()),
        b64(access_claims().to_string()),
        b64("x")
    );
    assert_eq!(
        rule(verifier().verify(&with_sig, now())),
        Rule::AlgNotAllowed
    );
}

#[test]
fn hs256_signed_with_the_rsa_public_key_is_refused() {
    let public_pem = include_str!("../../tests/fixtures/keys/issuer-rsa2048.pub.pem");
    let h = json!({"alg": "HS256", "kid": "k1"});
    let input = format!(
        "{}.{}",
        b64(h.to_string()),
        b64(access_claims().to_string())
    );
    let der = SubjectPublicKeyInfoDer::from_pem_slice(public_pem.as_bytes()).unwrap();
    for secret in [public_pem.as_bytes().to_vec(), der.to_vec()] {
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &secret);
        let tag = aws_lc_rs::hmac::sign(&key, input.as_bytes());
        let token = format!("{input}.{}", b64(tag.as_ref()));
        assert_eq!(rule(verifier().verify(&token, now())), Rule::AlgNotAllowed);
    }
}

#[test]
fn an_alg_outside_the_issuers_algorithms_is_refused() {
    let h = json!({"alg": "RS384", "kid": "k1"});
    let token = sign(&issuer_key(), &h, &access_claims());
    assert_eq!(rule(verifier().verify(&token, now())), Rule::AlgNotAllowed);
    let h = json!({"alg": "ES256", "kid": "ec1"});
    let token = sign(&issuer_key(), &h, &access_claims());
    assert_eq!(rule(verifier().verify(&token, now())), Rule::AlgNotAllowed);
}

#[test]
fn es256_passes_when_allowed() {
    let v = verifier_with(
        json!({"keys": [ec_jwk("ec1")]}),
        vec![TokenUse::Access],
        vec![Alg::RS256, Alg::ES256],
    );
    let h = json!({"alg": "ES256", "kid": "ec1"});
    let token = sign(&ec_key(), &h, &access_claims());
    assert!(v.verify(&token, now()).is_ok());
    // The same kid claimed with an RSA alg does not fit the EC key.
    let h = json!({"alg": "RS256", "kid": "ec1"});
    let token = sign(&issuer_key(), &h, &access_claims());
    assert_eq!(rule(v.verify(&token, now())), Rule::KeyMismatch);
}

#[test]
fn a_missing_kid_is_refused() {
    let token = sign(&issuer_key(), &json!({"alg": "RS256"}), &access_claims());
    assert_eq!(rule(verifier().verify(&token, now())), Rule::KidMissing);
    let token = sign(
        &issuer_key(),
        &json!({"alg": "RS256", "kid": 7}),
        &access_claims(),
    );
    assert_eq!(rule(verifier().verify(&token, now())), Rule::KidMissing);
}

#[test]
fn a_crit_header_is_refused() {
    let h = json!({"alg": "RS256", "kid": "k1", "crit": ["b64"], "b64": false});
    let token = sign(&issuer_key(), &h, &access_claims());
    assert_eq!(rule(verifier().verify(&token, now())), Rule::Crit);
}

#[test]
fn embedded_or_remote_keys_in_the_header_are_never_used() {
    let attacker = attacker_key();
    let jwk = bare_jwk(&attacker, "k1", json!({}));
    for (name, value) in [
        ("jwk", jwk.clone()),
        ("jku", json!("https://attacker.example/jwks.json")),
        ("x5u", json!("https://attacker.example/cert.pem")),
        (
            "x5c",
            json!(["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"]),
        ),
    ] {
        let mut h = header();
        h[name] = value;
        let token = sign(&attacker, &h, &access_claims());
        assert_eq!(
            rule(verifier().verify(&token, now())),
            Rule::BadSignature,
            "{name}"
        );
    }
}

#[test]
fn an_unknown_kid_is_refused_as_unknown_kid() {
    let h = json!({"alg": "RS256", "kid": "rotated-away"});
    let token = sign(&issuer_key(), &h, &access_claims());
    let err = verifier().verify(&token, now()).unwrap_err();
    assert!(err.is_unknown_kid());
    assert_eq!(err.description(), "unknown kid");
}

#[test]
fn padded_base64_and_wrong_segment_counts_are_malformed() {
    let token = sign(&issuer_key(), &header(), &access_claims());
    let padded = format!("{token}=");
    assert!(matches!(
        verifier().verify(&padded, now()),
        Err(AuthError::Malformed(_))
    ));
    let parts: Vec<&str> = token.split('.').collect();
    let two = format!("{}.{}", parts[0], parts[1]);
    assert!(matches!(
        verifier().verify(&two, now()),
        Err(AuthError::Malformed(_))
    ));
    let four = format!("{token}.{}", parts[2]);
    assert!(matches!(
        verifier().verify(&four, now()),
        Err(AuthError::Malformed(_))
    ));
}

#[test]
fn non_json_and_non_object_parts_are_malformed() {
    let key = issuer_key();
    for (h, p) in [
        ("not json", r#"{"iss":"x"}"#),
        ("[1]", r#"{"iss":"x"}"#),
        (r#"{"alg":"RS256","kid":"k1"}"#, "not json"),
        (r#"{"alg":"RS256","kid":"k1"}"#, r#""a string""#),
    ] {
        let token = key.sign_raw(h, p).unwrap();
        assert!(
            matches!(
                verifier().verify(&token, now()),
                Err(AuthError::Malformed(_))
            ),
            "{h} / {p}"
        );
    }
}

#[test]
fn duplicate_json_keys_are_refused_even_when_signed() {
    let payload = access_claims()
        .to_string()
        .replacen('{', r#"{"sub":"admin","#, 1);
    let token = issuer_key()
        .sign_raw(r#"{"alg":"RS256","kid":"k1"}"#, &payload)
        .unwrap();
    let err = verifier().verify(&token, now()).unwrap_err();
    assert!(matches!(
        err,
        AuthError::Malformed(ParseError::DuplicateKey { .. })
    ));
    assert_eq!(err.description(), "duplicate JSON key");
}

#[test]
fn exp_as_a_string_or_missing_is_refused() {
    let mut claims = access_claims();
    claims["exp"] = json!((NOW + 3600).to_string());
    let token = sign(&issuer_key(), &header(), &claims);
    assert_eq!(
        rule(verifier().verify(&token, now())),
        Rule::Claim(ClaimError::NotANumber {
            claim: claims::DateClaim::Exp
        })
    );
    claims.as_object_mut().unwrap().remove("exp");
    let token = sign(&issuer_key(), &header(), &claims);
    assert_eq!(
        rule(verifier().verify(&token, now())),
        Rule::Claim(ClaimError::ExpMissing)
    );
}

#[test]
fn a_numeric_date_beyond_a_64_bit_time_is_out_of_range() {
    for claim in [
        claims::DateClaim::Exp,
        claims::DateClaim::Nbf,
        claims::DateClaim::Iat,
    ] {
        let mut claims = access_claims();
        claims[claim.as_str()] = json!(1e300);
        let token = sign(&issuer_key(), &header(), &claims);
        let err = verifier().verify(&token, now()).unwrap_err();
        assert_eq!(
            rule(Err(err.clone())),
            Rule::Claim(ClaimError::OutOfRange { claim })
        );
        assert_eq!(
            err.description(),
            format!("{} out of range", claim.as_str())
        );
    }
}

#[test]
fn an_expired_token_is_refused() {
    let token = sign(&issuer_key(), &header(), &access_claims());
    let later = now() + Duration::from_secs(3600);
    let err = verifier().verify(&token, later).unwrap_err();
    assert_eq!(err.description(), "token expired");
}

#[test]
fn nbf_in_the_future_is_refused() {
    let mut claims = access_claims();
    claims["nbf"] = json!(NOW + 60);
    let token = sign(&issuer_key(), &header(), &claims);
    assert!(matches!(
        rule(verifier().verify(&token, now())),
        Rule::Claim(ClaimError::NotYetValid { .. })
    ));
}

#[test]
fn token_use_missing_or_wrong_is_refused() {
    let mut claims = access_claims();
    claims["token_use"] = json!("refresh");
    let token = sign(&issuer_key(), &header(), &claims);
    assert_eq!(
        rule(verifier().verify(&token, now())),
        Rule::Claim(ClaimError::TokenUseNotAllowed)
    );
    claims.as_object_mut().unwrap().remove("token_use");
    let token = sign(&issuer_key(), &header(), &claims);
    assert_eq!(
        rule(verifier().verify(&token, now())),
        Rule::Claim(ClaimError::TokenUseMissing)
    );
}

#[test]
fn an_id_token_whose_aud_is_not_an_allowed_client_is_refused() {
    let mut claims = id_claims();
    claims["aud"] = json!("someone-else");
    let token = sign(&issuer_key(), &header(), &claims);
    assert_eq!(
        rule(verifier().verify(&token, now())),
        Rule::Claim(ClaimError::AudNotAllowed)
    );
}

#[test]
fn an_access_token_whose_client_id_is_not_allowed_is_refused() {
    let mut claims = access_claims();
    claims["client_id"] = json!("someone-else");
    let token = sign(&issuer_key(), &header(), &claims);
    assert_eq!(
        rule(verifier().verify(&token, now())),
        Rule::Claim(ClaimError::ClientIdNotAllowed)
    );
}

#[test]
fn an_id_token_where_only_access_tokens_are_allowed_is_refused() {
    let v = verifier_with(
        json!({"keys": [bare_jwk(&issuer_key(), "k1", json!({}))]}),
        vec![TokenUse::Access],
        vec![Alg::RS256],
    );
    let token = sign(&issuer_key(), &header(), &id_claims());
    assert_eq!(
        rule(v.verify(&token, now())),
        Rule::Claim(ClaimError::TokenUseNotAllowed)
    );
}

#[test]
fn a_jwk_with_use_enc_is_never_used() {
    let jwks = json!({"keys": [
        bare_jwk(&issuer_key(), "k1", json!({"use": "enc"})),
        ec_jwk("ec1"),
    ]});
    let (keys, skipped) = parse_jwks(jwks.to_string().as_bytes()).unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(skipped[0].kid.as_deref(), Some("k1"));
    let v = verifier_with(jwks, vec![TokenUse::Access], vec![Alg::RS256]);
    let token = sign(&issuer_key(), &header(), &access_claims());
    assert_eq!(rule(v.verify(&token, now())), Rule::UnknownKid);
}

#[test]
fn a_jwk_whose_alg_differs_from_the_header_is_refused() {
    let v = verifier_with(
        json!({"keys": [bare_jwk(&issuer_key(), "k1", json!({"alg": "RS512"}))]}),
        vec![TokenUse::Access],
        vec![Alg::RS256, Alg::RS512],
    );
    let token = sign(&issuer_key(), &header(), &access_claims());
    assert_eq!(rule(v.verify(&token, now())), Rule::KeyMismatch);
}

#[test]
fn an_rsa_1024_key_is_skipped() {
    // aws-lc-rs refuses to load a 1024-bit private key at all, so the JWK carries a
    // 1024-bit modulus with the top bit set: the size rule alone must refuse it.
    let weak = json!({"kty": "RSA", "kid": "weak", "n": b64([0xC5u8; 128]), "e": "AQAB"});
    let jwks = json!({"keys": [weak, ec_jwk("ec1")]});
    let (keys, skipped) = parse_jwks(jwks.to_string().as_bytes()).unwrap();
    assert!(keys.iter().all(|k| k.kid != "weak"));
    assert_eq!(
        skipped[0].reason.description(),
        "RSA modulus under 2048 bits"
    );
    let v = verifier_with(jwks, vec![TokenUse::Access], vec![Alg::RS256]);
    let token = sign(
        &issuer_key(),
        &json!({"alg": "RS256", "kid": "weak"}),
        &access_claims(),
    );
    assert_eq!(rule(v.verify(&token, now())), Rule::UnknownKid);
    // 2047 bits (leading zero byte, then 0x7F...) is still too small.
    let mut n = vec![0u8];
    n.extend([0x7Fu8; 256]);
    let short = json!({"keys": [{"kty": "RSA", "kid": "s", "n": b64(&n), "e": "AQAB"}]});
    assert_eq!(
        parse_jwks(short.to_string().as_bytes()).unwrap_err(),
        crate::jwks::JwksError::NoUsableKey
    );
}

#[test]
fn a_token_over_max_bytes_is_refused_before_parsing() {
    let v = verifier();
    let huge = "a".repeat(8193);
    assert!(matches!(
        v.verify(&huge, now()),
        Err(AuthError::TooLarge {
            len: 8193,
            limit: 8192
        })
    ));
}

#[test]
fn an_unknown_issuer_is_refused() {
    let mut claims = access_claims();
    claims["iss"] = json!("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other");
    let token = sign(&issuer_key(), &header(), &claims);
    assert_eq!(
        verifier().verify(&token, now()).unwrap_err(),
        AuthError::UnknownIssuer
    );
    claims["iss"] = json!(format!("{ISS}/"));
    let token = sign(&issuer_key(), &header(), &claims);
    assert_eq!(
        verifier().verify(&token, now()).unwrap_err(),
        AuthError::UnknownIssuer
    );
}

#[test]
fn an_issuer_without_keys_is_keys_unavailable() {
    let v = verifier();
    let empty = Verifier::new(
        vec![Issuer {
            config: v.issuers()[0].config.clone(),
            keys: Arc::new(IssuerKeys::new()),
        }],
        8192,
    );
    let token = sign(&issuer_key(), &header(), &access_claims());
    assert_eq!(
        empty.verify(&token, now()).unwrap_err(),
        AuthError::KeysUnavailable { issuer: 0 }
    );
}

#[test]
fn a_claim_with_a_newline_is_escaped_and_cannot_split_a_header() {
    // reference section 3 item 8: the token stays valid; the value cannot end the header.
    let mut claims = access_claims();
    claims["username"] = json!("alice\r\nx-auth-groups: admin");
    let token = sign(&issuer_key(), &header(), &claims);
    let verified = verifier().verify(&token, now()).unwrap();
    assert_eq!(
        verified.identity.username.as_bytes(),
        b"alice%0D%0Ax-auth-groups: admin"
    );
}

#[test]
fn jwks_documents_that_are_not_key_sets_are_refused() {
    for body in [&b"nope"[..], b"[]", b"{}", br#"{"keys": {}}"#] {
        assert_eq!(
            parse_jwks(body).unwrap_err(),
            crate::jwks::JwksError::NotJwks
        );
    }
    assert_eq!(
        parse_jwks(br#"{"keys": [{"kty": "oct", "kid": "h", "k": "c2VjcmV0"}]}"#).unwrap_err(),
        crate::jwks::JwksError::NoUsableKey
    );
}
