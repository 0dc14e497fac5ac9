//! The verified identity as ready-made header values, computed once per verified token.
//! A claim that cannot be a header value (control characters) makes the token invalid.

use http::HeaderValue;
use serde_json::{Map, Value};

use crate::auth::claims::Checked;
use crate::config::{IssuerConfig, IssuerKind};

#[derive(Debug, Clone)]
pub struct Identity {
    pub sub: HeaderValue,
    pub username: HeaderValue,
    pub email: Option<HeaderValue>,
    /// `cognito:groups` joined with `,` (empty when absent).
    pub groups: HeaderValue,
    pub scope: Option<HeaderValue>,
    pub client_id: HeaderValue,
    pub token_use: HeaderValue,
    /// The issuer's configured name.
    pub issuer: HeaderValue,
    /// base64url (no padding) of the verified payload bytes.
    pub claims: HeaderValue,
    /// For logs: `sub` as text.
    pub sub_text: String,
}

/// Which claim could not be carried in a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("{claim} cannot be carried in a header")]
    Unrepresentable { claim: &'static str },
    #[error("a group name contains a comma")]
    CommaInGroup,
}

impl Identity {
    /// Builds the header values. Username: `cognito:username` (ID) or `username` (access);
    /// generic issuers: `preferred_username`, else `username`, else `sub`.
    /// Generic issuers have no `token_use`: `x-auth-token-use` is then empty.
    pub fn build(
        issuer: &IssuerConfig,
        claims: &Map<String, Value>,
        checked: &Checked,
        payload_b64: &str,
    ) -> Result<Identity, IdentityError> {
        let text = |name: &'static str| claims.get(name).and_then(Value::as_str);
        let sub_text = text("sub").unwrap_or("");
        let username = match (&issuer.kind, checked.token_use) {
            (IssuerKind::Cognito { .. }, Some(crate::config::TokenUse::Id)) => {
                text("cognito:username")
            }
            (IssuerKind::Cognito { .. }, _) => text("username"),
            (IssuerKind::Generic { .. }, _) => text("preferred_username")
                .or_else(|| text("username"))
                .or_else(|| text("sub")),
        };
        let groups: Vec<&str> = claims
            .get("cognito:groups")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if groups.iter().any(|g| g.contains(',')) {
            return Err(IdentityError::CommaInGroup);
        }
        Ok(Identity {
            sub: value(sub_text, "sub")?,
            username: value(username.unwrap_or(""), "username")?,
            email: text("email").map(|e| value(e, "email")).transpose()?,
            groups: value(&groups.join(","), "cognito:groups")?,
            scope: text("scope").map(|s| value(s, "scope")).transpose()?,
            client_id: value(&checked.client_id, "client_id")?,
            token_use: HeaderValue::from_static(checked.token_use.map_or("", |t| t.as_str())),
            issuer: value(&issuer.name, "issuer")?,
            claims: value(payload_b64, "claims")?,
            sub_text: sub_text.to_owned(),
        })
    }
}

/// A header value from claim text: UTF-8 is kept as is; control characters are refused.
fn value(text: &str, claim: &'static str) -> Result<HeaderValue, IdentityError> {
    // ASCII (nearly every claim, and always the base64url claims header) is checked bytewise.
    let control = if text.is_ascii() {
        text.bytes().any(|b| b < 0x20 || b == 0x7f)
    } else {
        text.chars().any(char::is_control)
    };
    if control {
        return Err(IdentityError::Unrepresentable { claim });
    }
    HeaderValue::from_bytes(text.as_bytes()).map_err(|_| IdentityError::Unrepresentable { claim })
}
