//! tokengate: a token-validation sidecar proxy for Amazon Cognito user-pool JWTs.

pub mod auth;
pub mod config;
pub mod jwks;
pub mod proxy;
