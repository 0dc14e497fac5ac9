//! The verified identity as ready-made header values, computed once per verified token.
//! A claim that cannot be a header value (control characters) makes the token invalid.

use bytes::{Bytes, BytesMut};
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
        // One buffer holds every value; each header value is a slice of it (one allocation
        // instead of nine on the cold path).
        let groups = groups.join(",");
        let email = text("email");
        let scope = text("scope");
        let parts: [(&str, &'static str); 8] = [
            (sub_text, "sub"),
            (username.unwrap_or(""), "username"),
            (email.unwrap_or(""), "email"),
            (&groups, "cognito:groups"),
            (scope.unwrap_or(""), "scope"),
            (&checked.client_id, "client_id"),
            (&issuer.name, "issuer"),
            (payload_b64, "claims"),
        ];
        let mut buf = BytesMut::with_capacity(parts.iter().map(|(t, _)| t.len()).sum());
        let mut ends = [0usize; 8];
        for (end, (text, _)) in ends.iter_mut().zip(&parts) {
            buf.extend_from_slice(text.as_bytes());
            *end = buf.len();
        }
        let all = buf.freeze();
        let at = |i: usize| {
            let start = if i == 0 { 0 } else { ends[i - 1] };
            value(parts[i].0, all.slice(start..ends[i]), parts[i].1)
        };
        Ok(Identity {
            sub: at(0)?,
            username: at(1)?,
            email: email.map(|_| at(2)).transpose()?,
            groups: at(3)?,
            scope: scope.map(|_| at(4)).transpose()?,
            client_id: at(5)?,
            token_use: HeaderValue::from_static(checked.token_use.map_or("", |t| t.as_str())),
            issuer: at(6)?,
            claims: at(7)?,
            sub_text: sub_text.to_owned(),
        })
    }
}

/// A header value from claim text: UTF-8 is kept as is; control characters are refused.
/// `bytes` holds `text`'s bytes (a slice of the shared buffer).
fn value(text: &str, bytes: Bytes, claim: &'static str) -> Result<HeaderValue, IdentityError> {
    // ASCII (nearly every claim, and always the base64url claims header): `from_bytes`
    // below refuses every control character but tab, so only tab is looked for here.
    let control = if text.is_ascii() {
        text.as_bytes().contains(&b'\t')
    } else {
        text.chars().any(char::is_control)
    };
    if control {
        return Err(IdentityError::Unrepresentable { claim });
    }
    HeaderValue::from_maybe_shared(bytes).map_err(|_| IdentityError::Unrepresentable { claim })
}
