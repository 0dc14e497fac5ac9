//! The claim rules of reference section 3.5: time claims as JSON numbers (never read as absent
//! when of the wrong type), then Cognito (`token_use`, `aud` / `client_id`, the `aud` of a
//! resource-bound access token) or generic (`aud`).

use serde_json::{Map, Value};

use crate::config::{IssuerConfig, IssuerKind, TokenUse};

/// A NumericDate claim (RFC 7519 section 4.1.4-4.1.6): seconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateClaim {
    Exp,
    Nbf,
    Iat,
}

impl DateClaim {
    /// The claim's name in the payload.
    pub fn as_str(self) -> &'static str {
        match self {
            DateClaim::Exp => "exp",
            DateClaim::Nbf => "nbf",
            DateClaim::Iat => "iat",
        }
    }
}

/// A claim whose JSON type the rules check (a string, or for `cognito:groups` an array of
/// strings; `aud` a string or, for generic issuers and resource-bound access tokens, an
/// array of strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    Sub,
    TokenUse,
    Aud,
    ClientId,
    Groups,
    Scope,
}

impl Claim {
    /// The claim's name in the payload.
    pub fn as_str(self) -> &'static str {
        match self {
            Claim::Sub => "sub",
            Claim::TokenUse => "token_use",
            Claim::Aud => "aud",
            Claim::ClientId => "client_id",
            Claim::Groups => "cognito:groups",
            Claim::Scope => "scope",
        }
    }
}

/// A claim rule a token broke. Facts only; never a claim's value. Times are seconds since
/// the epoch.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum ClaimError {
    #[error("exp missing")]
    ExpMissing,
    #[error("{} is not a number", .claim.as_str())]
    NotANumber { claim: DateClaim },
    /// A number no 64-bit count of seconds holds (`1e300`).
    #[error("{} out of range", .claim.as_str())]
    OutOfRange { claim: DateClaim },
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
    #[error("{} has the wrong type", .claim.as_str())]
    WrongType { claim: Claim },
    /// An ALB token's payload `iss` differs from the configured issuer (reference section 9).
    #[error("iss not allowed")]
    IssNotAllowed,
}

impl ClaimError {
    /// The `error_description` of the 401 response (reference section 5).
    pub fn description(&self) -> &'static str {
        match self {
            ClaimError::ExpMissing => "exp missing",
            ClaimError::NotANumber { claim } => match claim {
                DateClaim::Exp => "exp not a number",
                DateClaim::Nbf => "nbf not a number",
                DateClaim::Iat => "iat not a number",
            },
            ClaimError::OutOfRange { claim } => match claim {
                DateClaim::Exp => "exp out of range",
                DateClaim::Nbf => "nbf out of range",
                DateClaim::Iat => "iat out of range",
            },
            ClaimError::Expired { .. } => "token expired",
            ClaimError::NotYetValid { .. } => "token not yet valid",
            ClaimError::TokenUseMissing => "token_use missing",
            ClaimError::TokenUseNotAllowed => "wrong token_use",
            ClaimError::AudNotAllowed => "aud not allowed",
            ClaimError::ClientIdNotAllowed => "client_id not allowed",
            ClaimError::IssNotAllowed => "iss not allowed",
            ClaimError::WrongType { claim } => match claim {
                Claim::Groups => "cognito:groups not an array of strings",
                Claim::Scope => "scope not a string",
                Claim::Aud => "aud has the wrong type",
                Claim::ClientId => "client_id not a string",
                Claim::TokenUse => "token_use not a string",
                // The text of the former catch-all, kept so responses do not change.
                Claim::Sub => "claim has the wrong type",
            },
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
    /// `exp`, seconds since the epoch.
    pub exp: f64,
}

/// Checks every claim rule at `now` (seconds since the epoch, fractional).
///
/// # Errors
/// The first [`ClaimError`] in the reference order: time claims, claim types, then the issuer's
/// `token_use` and audience rules.
pub fn check(
    issuer: &IssuerConfig,
    claims: &Map<String, Value>,
    now: f64,
) -> Result<Checked, ClaimError> {
    let skew = issuer.clock_skew.as_secs_f64();
    let exp = numeric_date(claims, DateClaim::Exp)?.ok_or(ClaimError::ExpMissing)?;
    if now >= exp + skew {
        return Err(ClaimError::Expired { exp, now });
    }
    if let Some(nbf) = numeric_date(claims, DateClaim::Nbf)? {
        if now + skew < nbf {
            return Err(ClaimError::NotYetValid { nbf, now });
        }
    }
    numeric_date(claims, DateClaim::Iat)?;
    let wrong_type = |claim| ClaimError::WrongType { claim };
    match get(claims, Claim::Groups) {
        None => {}
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => {}
        Some(_) => return Err(wrong_type(Claim::Groups)),
    }
    for claim in [Claim::Scope, Claim::Sub] {
        if get(claims, claim).is_some_and(|v| !v.is_string()) {
            return Err(wrong_type(claim));
        }
    }
    match &issuer.kind {
        IssuerKind::Cognito {
            client_ids,
            token_use: allowed,
            audiences,
        } => {
            let token_use = match get(claims, Claim::TokenUse) {
                None => return Err(ClaimError::TokenUseMissing),
                Some(Value::String(s)) if s == "access" => TokenUse::Access,
                Some(Value::String(s)) if s == "id" => TokenUse::Id,
                Some(Value::String(_)) => return Err(ClaimError::TokenUseNotAllowed),
                Some(_) => return Err(wrong_type(Claim::TokenUse)),
            };
            if !allowed.contains(&token_use) {
                return Err(ClaimError::TokenUseNotAllowed);
            }
            let client_id = match token_use {
                TokenUse::Id => match get(claims, Claim::Aud) {
                    Some(Value::String(aud)) if client_ids.contains(aud) => aud.clone(),
                    Some(Value::String(_)) | None => return Err(ClaimError::AudNotAllowed),
                    Some(_) => return Err(wrong_type(Claim::Aud)),
                },
                TokenUse::Access => match get(claims, Claim::ClientId) {
                    Some(Value::String(id)) if client_ids.contains(id) => id.clone(),
                    Some(Value::String(_)) | None => return Err(ClaimError::ClientIdNotAllowed),
                    Some(_) => return Err(wrong_type(Claim::ClientId)),
                },
            };
            // Resource binding (RFC 8707): an access token requested for a resource carries
            // it in `aud`. Judged only when configured; an ID token's `aud` is its client.
            if token_use == TokenUse::Access && !audiences.is_empty() {
                audience(claims, audiences)?.ok_or(ClaimError::AudNotAllowed)?;
            }
            Ok(Checked {
                token_use: Some(token_use),
                client_id,
                exp,
            })
        }
        IssuerKind::Generic { audiences } => {
            let client_id = audience(claims, audiences)?
                .ok_or(ClaimError::AudNotAllowed)?
                .clone();
            Ok(Checked {
                token_use: None,
                client_id,
                exp,
            })
        }
        IssuerKind::Alb { .. } => {
            // Reference section 9: the payload's `iss`, when present, is the configured issuer
            // (the ALB copies it in); the client is the header's, checked by `auth::alb`.
            match claims.get("iss") {
                None => {}
                Some(Value::String(iss)) if *iss == issuer.issuer => {}
                Some(_) => return Err(ClaimError::IssNotAllowed),
            }
            Ok(Checked {
                token_use: None,
                client_id: String::new(),
                exp,
            })
        }
    }
}

/// The first of `audiences` that the token's `aud` (a string or an array of strings) holds;
/// `None` when `aud` is absent or holds none of them.
fn audience<'a>(
    claims: &Map<String, Value>,
    audiences: &'a [String],
) -> Result<Option<&'a String>, ClaimError> {
    match get(claims, Claim::Aud) {
        Some(Value::String(aud)) => Ok(audiences.iter().find(|a| *a == aud)),
        Some(Value::Array(items)) => {
            if !items.iter().all(Value::is_string) {
                return Err(ClaimError::WrongType { claim: Claim::Aud });
            }
            Ok(audiences
                .iter()
                .find(|a| items.iter().any(|i| i.as_str() == Some(a.as_str()))))
        }
        None => Ok(None),
        Some(_) => Err(ClaimError::WrongType { claim: Claim::Aud }),
    }
}

fn get(claims: &Map<String, Value>, claim: Claim) -> Option<&Value> {
    claims.get(claim.as_str())
}

/// The NumericDate `claim`, or `None` when absent: a JSON number (integer or fraction)
/// that a 64-bit count of seconds holds, so every comparison on it is exact and nothing
/// downstream can overflow converting it.
///
/// # Errors
/// [`ClaimError::NotANumber`] for any other JSON type; [`ClaimError::OutOfRange`] for a
/// number outside `[-2^63, 2^63)` seconds.
fn numeric_date(claims: &Map<String, Value>, claim: DateClaim) -> Result<Option<f64>, ClaimError> {
    // 2^63 exactly: i64::MAX rounds up to it as an f64, so the upper bound is exclusive.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    let Some(v) = claims.get(claim.as_str()) else {
        return Ok(None);
    };
    // serde_json reads every JSON number as a finite f64 (a literal too large for one is a
    // parse error), so `as_f64` is `None` only for the other types.
    match v.as_f64() {
        Some(n) if (-LIMIT..LIMIT).contains(&n) => Ok(Some(n)),
        Some(_) => Err(ClaimError::OutOfRange { claim }),
        None => Err(ClaimError::NotANumber { claim }),
    }
}

#[cfg(test)]
mod tests;
