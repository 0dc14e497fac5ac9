//! Tests of the claim rules (reference section 3.5): time claims, token_use, aud and client_id,
//! claim types, generic issuers.

use std::time::Duration;

use serde_json::json;

use super::*;
use crate::config::Alg;

const NOW: f64 = 1_800_000_000.0;

fn cognito(token_use: Vec<TokenUse>, skew: u64) -> IssuerConfig {
    IssuerConfig {
        name: "main".into(),
        issuer: "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_A".into(),
        jwks_uri: http::Uri::from_static("https://example.com/jwks.json"),
        kind: IssuerKind::Cognito {
            audiences: vec![],
            client_ids: vec!["client-a".into()],
            token_use,
        },
        algorithms: vec![Alg::RS256],
        clock_skew: Duration::from_secs(skew),
    }
}

fn access(extra: Value) -> Map<String, Value> {
    let mut m =
        json!({"token_use": "access", "client_id": "client-a", "exp": NOW + 60.0, "sub": "u"});
    if let (Some(m), Value::Object(e)) = (m.as_object_mut(), extra) {
        m.extend(e);
    }
    m.as_object().unwrap().clone()
}

fn both() -> IssuerConfig {
    cognito(vec![TokenUse::Access, TokenUse::Id], 0)
}

#[test]
fn a_valid_access_token_passes() {
    let c = check(&both(), &access(json!({})), NOW).unwrap();
    assert_eq!(c.token_use, Some(TokenUse::Access));
    assert_eq!(c.client_id, "client-a");
}

#[test]
fn exp_is_required_and_must_be_a_number() {
    let mut m = access(json!({}));
    m.remove("exp");
    assert_eq!(check(&both(), &m, NOW), Err(ClaimError::ExpMissing));
    let m = access(json!({"exp": "9999999999"}));
    assert_eq!(
        check(&both(), &m, NOW),
        Err(ClaimError::NotANumber {
            claim: DateClaim::Exp
        })
    );
    let m = access(json!({"exp": null}));
    assert!(check(&both(), &m, NOW).is_err());
    let m = access(json!({"exp": 1e300}));
    assert!(check(&both(), &m, NOW).is_err());
}

#[test]
fn expiry_boundary_and_skew() {
    let m = access(json!({"exp": NOW}));
    assert!(matches!(
        check(&both(), &m, NOW),
        Err(ClaimError::Expired { .. })
    ));
    let m = access(json!({"exp": NOW + 0.5}));
    assert!(check(&both(), &m, NOW).is_ok(), "fractional exp");
    let skewed = cognito(vec![TokenUse::Access], 30);
    let m = access(json!({"exp": NOW - 29.0}));
    assert!(check(&skewed, &m, NOW).is_ok());
    let m = access(json!({"exp": NOW - 30.0}));
    assert!(check(&skewed, &m, NOW).is_err());
}

#[test]
fn nbf_in_the_future_is_rejected_unless_within_skew() {
    let m = access(json!({"nbf": NOW + 10.0}));
    assert!(matches!(
        check(&both(), &m, NOW),
        Err(ClaimError::NotYetValid { .. })
    ));
    let skewed = cognito(vec![TokenUse::Access], 10);
    assert!(check(&skewed, &m, NOW).is_ok());
    let m = access(json!({"nbf": NOW + 11.0}));
    assert!(check(&skewed, &m, NOW).is_err());
    let m = access(json!({"nbf": "soon"}));
    assert_eq!(
        check(&both(), &m, NOW),
        Err(ClaimError::NotANumber {
            claim: DateClaim::Nbf
        })
    );
}

#[test]
fn iat_must_be_a_number() {
    let m = access(json!({"iat": "yesterday"}));
    assert_eq!(
        check(&both(), &m, NOW),
        Err(ClaimError::NotANumber {
            claim: DateClaim::Iat
        })
    );
}

#[test]
fn token_use_missing_or_wrong_is_rejected() {
    let mut m = access(json!({}));
    m.remove("token_use");
    assert_eq!(check(&both(), &m, NOW), Err(ClaimError::TokenUseMissing));
    let m = access(json!({"token_use": "refresh"}));
    assert_eq!(check(&both(), &m, NOW), Err(ClaimError::TokenUseNotAllowed));
    let m = access(json!({"token_use": ["access"]}));
    assert!(check(&both(), &m, NOW).is_err());
}

#[test]
fn an_id_token_where_only_access_tokens_are_allowed_is_rejected() {
    let only_access = cognito(vec![TokenUse::Access], 0);
    let m = access(json!({"token_use": "id", "aud": "client-a"}));
    assert_eq!(
        check(&only_access, &m, NOW),
        Err(ClaimError::TokenUseNotAllowed)
    );
    assert!(check(&both(), &m, NOW).is_ok());
}

#[test]
fn id_token_aud_must_be_an_allowed_client() {
    let m = access(json!({"token_use": "id", "aud": "client-b"}));
    assert_eq!(check(&both(), &m, NOW), Err(ClaimError::AudNotAllowed));
    let m = access(json!({"token_use": "id", "aud": ["client-a"]}));
    assert!(
        check(&both(), &m, NOW).is_err(),
        "Cognito ID token aud is a string"
    );
}

#[test]
fn access_token_client_id_must_be_allowed() {
    let m = access(json!({"client_id": "client-b"}));
    assert_eq!(check(&both(), &m, NOW), Err(ClaimError::ClientIdNotAllowed));
    let mut m = access(json!({}));
    m.remove("client_id");
    assert_eq!(check(&both(), &m, NOW), Err(ClaimError::ClientIdNotAllowed));
}

/// An issuer with resource binding: access tokens' `aud` must name one of `audiences`.
fn bound(audiences: &[&str]) -> IssuerConfig {
    let mut issuer = both();
    issuer.kind = IssuerKind::Cognito {
        client_ids: vec!["client-a".into()],
        token_use: vec![TokenUse::Access, TokenUse::Id],
        audiences: audiences.iter().map(|a| (*a).to_owned()).collect(),
    };
    issuer
}

#[test]
fn resource_bound_access_tokens_need_an_aud_in_common_with_audiences() {
    let issuer = bound(&["https://api.example.com", "urn:orders"]);
    for aud in [
        json!("https://api.example.com"),
        json!(["urn:other", "urn:orders"]),
        json!(["urn:orders"]),
    ] {
        let c = check(&issuer, &access(json!({ "aud": aud })), NOW).unwrap();
        // The client is still the `client_id`, never the resource.
        assert_eq!(c.client_id, "client-a", "{aud}");
    }
    for aud in [json!("https://other.example.com"), json!([]), json!(["x"])] {
        assert_eq!(
            check(&issuer, &access(json!({ "aud": aud })), NOW),
            Err(ClaimError::AudNotAllowed),
            "{aud}"
        );
    }
    // Absent: not bound to this resource.
    assert_eq!(
        check(&issuer, &access(json!({})), NOW),
        Err(ClaimError::AudNotAllowed)
    );
    for aud in [
        json!(5),
        json!(["urn:orders", 5]),
        json!({"a": 1}),
        json!(null),
    ] {
        assert_eq!(
            check(&issuer, &access(json!({ "aud": aud })), NOW),
            Err(ClaimError::WrongType { claim: Claim::Aud }),
            "{aud}"
        );
    }
    // client_id is still checked first.
    assert_eq!(
        check(
            &issuer,
            &access(json!({"client_id": "client-b", "aud": "urn:orders"})),
            NOW
        ),
        Err(ClaimError::ClientIdNotAllowed)
    );
}

#[test]
fn without_audiences_an_access_tokens_aud_is_not_judged() {
    for aud in [json!("anything"), json!(["a", "b"]), json!(5)] {
        assert!(check(&both(), &access(json!({ "aud": aud })), NOW).is_ok());
    }
}

#[test]
fn resource_binding_leaves_id_tokens_aud_the_client_id() {
    let issuer = bound(&["urn:orders"]);
    let id = access(json!({"token_use": "id", "aud": "client-a"}));
    assert_eq!(check(&issuer, &id, NOW).unwrap().client_id, "client-a");
    let id = access(json!({"token_use": "id", "aud": "urn:orders"}));
    assert_eq!(check(&issuer, &id, NOW), Err(ClaimError::AudNotAllowed));
}

#[test]
fn groups_and_scope_types_are_checked() {
    let m = access(json!({"cognito:groups": "admin"}));
    assert!(check(&both(), &m, NOW).is_err());
    let m = access(json!({"cognito:groups": ["admin", 1]}));
    assert!(check(&both(), &m, NOW).is_err());
    let m = access(json!({"scope": ["a"]}));
    assert!(check(&both(), &m, NOW).is_err());
    let m = access(json!({"cognito:groups": ["admin"], "scope": "a b", "email_verified": "true"}));
    assert!(check(&both(), &m, NOW).is_ok());
}

#[test]
fn generic_issuers_need_an_audience_in_common() {
    let mut issuer = both();
    issuer.kind = IssuerKind::Generic {
        audiences: vec!["api".into()],
    };
    let base = json!({"exp": NOW + 60.0});
    let mut m = base.as_object().unwrap().clone();
    assert_eq!(check(&issuer, &m, NOW), Err(ClaimError::AudNotAllowed));
    m.insert("aud".into(), json!(["other", "api"]));
    assert_eq!(check(&issuer, &m, NOW).unwrap().client_id, "api");
    m.insert("aud".into(), json!("other"));
    assert_eq!(check(&issuer, &m, NOW), Err(ClaimError::AudNotAllowed));
}

#[test]
fn every_error_keeps_its_description() {
    let expected = [
        (ClaimError::ExpMissing, "exp missing"),
        (
            ClaimError::NotANumber {
                claim: DateClaim::Exp,
            },
            "exp not a number",
        ),
        (
            ClaimError::NotANumber {
                claim: DateClaim::Nbf,
            },
            "nbf not a number",
        ),
        (
            ClaimError::NotANumber {
                claim: DateClaim::Iat,
            },
            "iat not a number",
        ),
        (ClaimError::Expired { exp: 1.0, now: 2.0 }, "token expired"),
        (
            ClaimError::NotYetValid { nbf: 2.0, now: 1.0 },
            "token not yet valid",
        ),
        (ClaimError::TokenUseMissing, "token_use missing"),
        (ClaimError::TokenUseNotAllowed, "wrong token_use"),
        (ClaimError::AudNotAllowed, "aud not allowed"),
        (ClaimError::ClientIdNotAllowed, "client_id not allowed"),
        (
            ClaimError::WrongType {
                claim: Claim::Groups,
            },
            "cognito:groups not an array of strings",
        ),
        (
            ClaimError::WrongType {
                claim: Claim::Scope,
            },
            "scope not a string",
        ),
        (
            ClaimError::WrongType { claim: Claim::Aud },
            "aud has the wrong type",
        ),
        (
            ClaimError::WrongType {
                claim: Claim::ClientId,
            },
            "client_id not a string",
        ),
        (
            ClaimError::WrongType {
                claim: Claim::TokenUse,
            },
            "token_use not a string",
        ),
        (
            ClaimError::WrongType { claim: Claim::Sub },
            "claim has the wrong type",
        ),
    ];
    for (error, description) in expected {
        assert_eq!(error.description(), description, "{error:?}");
    }
}

#[test]
fn error_display_names_the_claim() {
    let error = ClaimError::NotANumber {
        claim: DateClaim::Nbf,
    };
    assert_eq!(error.to_string(), "nbf is not a number");
    let error = ClaimError::WrongType {
        claim: Claim::Groups,
    };
    assert_eq!(error.to_string(), "cognito:groups has the wrong type");
}

#[test]
fn numeric_dates_beyond_a_64_bit_time_are_out_of_range_not_not_a_number() {
    for claim in [DateClaim::Exp, DateClaim::Nbf, DateClaim::Iat] {
        for huge in [json!(1e300), json!(-1e300), json!(9.3e18), json!(-9.3e18)] {
            let mut m = access(json!({}));
            m.insert(claim.as_str().into(), huge.clone());
            assert_eq!(
                check(&both(), &m, NOW),
                Err(ClaimError::OutOfRange { claim }),
                "{} = {huge}",
                claim.as_str()
            );
        }
    }
    let error = ClaimError::OutOfRange {
        claim: DateClaim::Exp,
    };
    assert_eq!(error.description(), "exp out of range");
    assert_eq!(error.to_string(), "exp out of range");
    for (claim, text) in [(DateClaim::Nbf, "nbf"), (DateClaim::Iat, "iat")] {
        let error = ClaimError::OutOfRange { claim };
        assert_eq!(error.description(), format!("{text} out of range"));
    }
}

#[test]
fn numeric_dates_inside_a_64_bit_time_are_read() {
    // Far in the future but a 64-bit time still holds it: a valid (if odd) expiry.
    let m = access(json!({"exp": 9.2e18, "iat": 0, "nbf": -9.2e18}));
    assert!(check(&both(), &m, NOW).is_ok());
    let m = access(json!({"exp": u64::MAX}));
    assert_eq!(
        check(&both(), &m, NOW),
        Err(ClaimError::OutOfRange {
            claim: DateClaim::Exp
        })
    );
    let m = access(json!({"exp": i64::MIN}));
    assert!(matches!(
        check(&both(), &m, NOW),
        Err(ClaimError::Expired { .. })
    ));
}
