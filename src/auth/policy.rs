//! Route requirements (`require`): token_use, groups_any, groups_all, scopes_all, scopes_any,
//! claims
//! (matched by `auth/claim_path.rs`). Pure and allocation-free over the verified claims.

use serde_json::Value;

use crate::auth::{claim_path, Verified};
use crate::config::Require;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("wrong token_use")]
    TokenUse,
    #[error("missing group")]
    GroupsAny,
    #[error("missing group")]
    GroupsAll,
    #[error("missing scope")]
    Scope,
    #[error("missing scope")]
    ScopesAny,
    #[error("claim not allowed")]
    Claim,
}

impl PolicyError {
    pub fn description(&self) -> &'static str {
        match self {
            PolicyError::TokenUse => "wrong token_use",
            PolicyError::GroupsAny => "missing group",
            PolicyError::GroupsAll => "missing group",
            PolicyError::Scope => "missing scope",
            PolicyError::ScopesAny => "missing scope",
            PolicyError::Claim => "claim not allowed",
        }
    }
}

pub fn check(require: &Require, verified: &Verified) -> Result<(), PolicyError> {
    let claims = &verified.claims;
    if !require.token_use.is_empty()
        && !verified
            .token_use
            .is_some_and(|t| require.token_use.contains(&t))
    {
        return Err(PolicyError::TokenUse);
    }
    let in_groups = |g: &String| {
        claims
            .get("cognito:groups")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|v| v.as_str() == Some(g.as_str())))
    };
    if !require.groups_any.is_empty() && !require.groups_any.iter().any(in_groups) {
        return Err(PolicyError::GroupsAny);
    }
    if !require.groups_all.iter().all(in_groups) {
        return Err(PolicyError::GroupsAll);
    }
    let scope = claims.get("scope").and_then(Value::as_str).unwrap_or("");
    let has_scope = |wanted: &String| scope.split(' ').any(|have| have == wanted);
    if !require.scopes_all.iter().all(has_scope) {
        return Err(PolicyError::Scope);
    }
    if !require.scopes_any.is_empty() && !require.scopes_any.iter().any(has_scope) {
        return Err(PolicyError::ScopesAny);
    }
    for (claim, accepted) in &require.claims {
        if !claim_path::matches(claim.lookup(claims), accepted) {
            return Err(PolicyError::Claim);
        }
    }
    Ok(())
}
