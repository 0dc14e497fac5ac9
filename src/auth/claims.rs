//! The claim rules of SPEC section 3.5: time claims as JSON numbers (never read as absent
//! when of the wrong type), then Cognito (`token_use`, `aud` / `client_id`) or generic (`aud`).

use serde_json::{Map, Value};

use crate::config::{IssuerConfig, IssuerKind, TokenUse};

/// A claim rule a token broke. Facts only; never a claim's value.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum ClaimError {
    #[error("exp missing")]
    ExpMissing,
    #[error("{claim} is not a number")]
    NotANumber { claim: &'static str },
    #[error("token expired")]
    Expired { exp: f64, now: f64 },
    #[error("token not yet valid")]
    NotYetValid { nbf: f64, now: f64 },
    #[error("token_use missing")]
    TokenUseMissing,
    #[error("token_use not allowed")]
    TokenUseNotAllowed,
    #[error("aud not allowed")]
    AudNotAllowed,
    #[error("client_id not allowed")]
    ClientIdNotAllowed,
    #[error("{claim} has the wrong type")]
    WrongType { claim: &'static str },
}

impl ClaimError {
    pub fn description(&self) -> &'static str {
        match self {
            ClaimError::ExpMissing => "exp missing",
            ClaimError::NotANumber { claim: "exp" } => "exp not a number",
            ClaimError::NotANumber { claim: "nbf" } => "nbf not a number",
            ClaimError::NotANumber { .. } => "iat not a number",
            ClaimError::Expired { .. } => "token expired",
            ClaimError::NotYetValid { .. } => "token not yet valid",
            ClaimError::TokenUseMissing => "token_use missing",
            ClaimError::TokenUseNotAllowed => "wrong token_use",
            ClaimError::AudNotAllowed => "aud not allowed",
            ClaimError::ClientIdNotAllowed => "client_id not allowed",
            ClaimError::WrongType {
                claim: "cognito:groups",
            } => "cognito:groups not an array of strings",
            ClaimError::WrongType { claim: "scope" } => "scope not a string",
            ClaimError::WrongType { claim: "aud" } => "aud has the wrong type",
            ClaimError::WrongType { claim: "client_id" } => "client_id not a string",
            ClaimError::WrongType { claim: "token_use" } => "token_use not a string",
            ClaimError::WrongType { .. } => "claim has the wrong type",
        }
    }
}

/// What the claim rules established, for the identity headers.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    /// `None` for generic issuers.
    pub token_use: Option<TokenUse>,
    /// `client_id` (access), `aud` (ID) or the matched audience (generic).
    pub client_id: String,
    pub exp: f64,
}

/// Checks every claim rule at `now` (seconds since the epoch, fractional).
pub fn check(
    issuer: &IssuerConfig,
    claims: &Map<String, Value>,
    now: f64,
) -> Result<Checked, ClaimError> {
    let skew = issuer.clock_skew.as_secs_f64();
    let exp = match claims.get("exp") {
        None => return Err(ClaimError::ExpMissing),
        Some(v) => numeric_date(v, "exp")?,
    };
    if now >= exp + skew {
        return Err(ClaimError::Expired { exp, now });
    }
    if let Some(v) = claims.get("nbf") {
        let nbf = numeric_date(v, "nbf")?;
        if now + skew < nbf {
            return Err(ClaimError::NotYetValid { nbf, now });
        }
    }
    if let Some(v) = claims.get("iat") {
        numeric_date(v, "iat")?;
    }
    match claims.get("cognito:groups") {
        None => {}
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => {}
        Some(_) => {
            return Err(ClaimError::WrongType {
                claim: "cognito:groups",
            })
        }
    }
    if claims.get("scope").is_some_and(|s| !s.is_string()) {
        return Err(ClaimError::WrongType { claim: "scope" });
    }
    if claims.get("sub").is_some_and(|s| !s.is_string()) {
        return Err(ClaimError::WrongType { claim: "sub" });
    }
    match &issuer.kind {
        IssuerKind::Cognito {
            client_ids,
            token_use: allowed,
        } => {
            let token_use = match claims.get("token_use") {
                None => return Err(ClaimError::TokenUseMissing),
                Some(Value::String(s)) if s == "access" => TokenUse::Access,
                Some(Value::String(s)) if s == "id" => TokenUse::Id,
                Some(Value::String(_)) => return Err(ClaimError::TokenUseNotAllowed),
                Some(_) => return Err(ClaimError::WrongType { claim: "token_use" }),
            };
            if !allowed.contains(&token_use) {
                return Err(ClaimError::TokenUseNotAllowed);
            }
            let client_id = match token_use {
                TokenUse::Id => match claims.get("aud") {
                    Some(Value::String(aud)) if client_ids.contains(aud) => aud.clone(),
                    Some(Value::String(_)) | None => return Err(ClaimError::AudNotAllowed),
                    Some(_) => return Err(ClaimError::WrongType { claim: "aud" }),
                },
                TokenUse::Access => match claims.get("client_id") {
                    Some(Value::String(id)) if client_ids.contains(id) => id.clone(),
                    Some(Value::String(_)) | None => return Err(ClaimError::ClientIdNotAllowed),
                    Some(_) => return Err(ClaimError::WrongType { claim: "client_id" }),
                },
            };
            Ok(Checked {
                token_use: Some(token_use),
                client_id,
                exp,
            })
        }
        IssuerKind::Generic { audiences } => {
            let matched = match claims.get("aud") {
                Some(Value::String(aud)) => audiences.iter().find(|a| *a == aud),
                Some(Value::Array(items)) => {
                    if !items.iter().all(Value::is_string) {
                        return Err(ClaimError::WrongType { claim: "aud" });
                    }
                    audiences
                        .iter()
                        .find(|a| items.iter().any(|i| i.as_str() == Some(a.as_str())))
                }
                None => None,
                Some(_) => return Err(ClaimError::WrongType { claim: "aud" }),
            };
            let client_id = matched.ok_or(ClaimError::AudNotAllowed)?.clone();
            Ok(Checked {
                token_use: None,
                client_id,
                exp,
            })
        }
    }
}

/// A NumericDate: a finite JSON number (integer or fraction), within a sane range so no
/// arithmetic on it can overflow or wrap.
fn numeric_date(v: &Value, claim: &'static str) -> Result<f64, ClaimError> {
    const LIMIT: f64 = 1.0e12; // ~33,000 years: beyond any real token
    match v.as_f64() {
        Some(n) if n.is_finite() && (-LIMIT..=LIMIT).contains(&n) && v.is_number() => Ok(n),
        _ => Err(ClaimError::NotANumber { claim }),
    }
}

#[cfg(test)]
mod tests {
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
            Err(ClaimError::NotANumber { claim: "exp" })
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
            Err(ClaimError::NotANumber { claim: "nbf" })
        );
    }

    #[test]
    fn iat_must_be_a_number() {
        let m = access(json!({"iat": "yesterday"}));
        assert_eq!(
            check(&both(), &m, NOW),
            Err(ClaimError::NotANumber { claim: "iat" })
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

    #[test]
    fn groups_and_scope_types_are_checked() {
        let m = access(json!({"cognito:groups": "admin"}));
        assert!(check(&both(), &m, NOW).is_err());
        let m = access(json!({"cognito:groups": ["admin", 1]}));
        assert!(check(&both(), &m, NOW).is_err());
        let m = access(json!({"scope": ["a"]}));
        assert!(check(&both(), &m, NOW).is_err());
        let m =
            access(json!({"cognito:groups": ["admin"], "scope": "a b", "email_verified": "true"}));
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
}
