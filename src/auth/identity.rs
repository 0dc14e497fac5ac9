//! The verified identity as ready-made header values, computed once per verified token.
//! Every value goes through [`encode`], so no claim character can make a valid token fail.

pub mod encode;

use bytes::BytesMut;
use http::HeaderValue;
use serde_json::{Map, Value};

use crate::auth::claims::Checked;
use crate::config::{IssuerConfig, IssuerKind};

#[derive(Debug, Clone)]
pub struct Identity {
    pub sub: HeaderValue,
    pub username: HeaderValue,
    pub email: Option<HeaderValue>,
    /// `cognito:groups` as an encoded list: each name escaped (`,` as `%2C`), joined with
    /// `,` (empty when absent).
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

impl Identity {
    /// Builds the header values, each encoded by [`encode`] (`x-auth-claims` is the
    /// payload's base64url, kept byte for byte). Username: `cognito:username` (ID) or
    /// `username` (access); generic issuers: `preferred_username`, else `username`, else
    /// `sub`; ALB issuers: `username`. Generic issuers have no `token_use`:
    /// `x-auth-token-use` is then empty; for ALB issuers it is `alb` (reference section 9).
    pub fn build(
        issuer: &IssuerConfig,
        claims: &Map<String, Value>,
        checked: &Checked,
        payload_b64: &str,
    ) -> Identity {
        let text = |name: &'static str| claims.get(name).and_then(Value::as_str);
        let sub_text = text("sub").unwrap_or("");
        let username = match (&issuer.kind, checked.token_use) {
            (IssuerKind::Cognito { .. }, Some(crate::config::TokenUse::Id)) => {
                text("cognito:username")
            }
            (IssuerKind::Cognito { .. }, _) => text("username"),
            (IssuerKind::Alb { .. }, _) => text("username"),
            (IssuerKind::Generic { .. }, _) => text("preferred_username")
                .or_else(|| text("username"))
                .or_else(|| text("sub")),
        };
        // `claims::check` has made sure this is an array of strings when present.
        let groups: &[Value] = claims
            .get("cognito:groups")
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice);
        let email = text("email");
        let scope = text("scope");
        let parts: [Part; 8] = [
            Part::Text(sub_text),
            Part::Text(username.unwrap_or("")),
            Part::Text(email.unwrap_or("")),
            Part::List(groups),
            Part::Text(scope.unwrap_or("")),
            Part::Text(&checked.client_id),
            Part::Text(&issuer.name),
            Part::Raw(payload_b64),
        ];
        // One buffer holds every value; each header value is a slice of it (one allocation
        // instead of nine on the cold path; escapes may grow it).
        let mut buf = BytesMut::with_capacity(parts.iter().map(Part::len_hint).sum());
        let mut ends = [0usize; 8];
        for (end, part) in ends.iter_mut().zip(&parts) {
            match part {
                Part::Text(text) => encode::push_text(&mut buf, text),
                Part::List(items) => encode::push_list(&mut buf, items),
                Part::Raw(text) => buf.extend_from_slice(text.as_bytes()),
            }
            *end = buf.len();
        }
        let all = buf.freeze();
        let at = |i: usize| {
            let start = if i == 0 { 0 } else { ends[i - 1] };
            encode::to_header(all.slice(start..ends[i]))
        };
        Identity {
            sub: at(0),
            username: at(1),
            email: email.map(|_| at(2)),
            groups: at(3),
            scope: scope.map(|_| at(4)),
            client_id: at(5),
            token_use: HeaderValue::from_static(match issuer.kind {
                IssuerKind::Alb { .. } => "alb",
                IssuerKind::Cognito { .. } | IssuerKind::Generic { .. } => {
                    checked.token_use.map_or("", |t| t.as_str())
                }
            }),
            issuer: at(6),
            claims: at(7),
            sub_text: sub_text.to_owned(),
        }
    }
}

/// One identity value before encoding.
enum Part<'a> {
    /// A claim's (or the issuer name's) text: escaped.
    Text(&'a str),
    /// `cognito:groups`: a list.
    List(&'a [Value]),
    /// The payload's base64url: kept as is (it holds only `A-Za-z0-9-_`).
    Raw(&'a str),
}

impl Part<'_> {
    /// The encoded length when nothing needs escaping.
    fn len_hint(&self) -> usize {
        match self {
            Part::Text(text) | Part::Raw(text) => text.len(),
            Part::List(items) => items
                .iter()
                .map(|item| item.as_str().map_or(0, str::len) + 1)
                .sum(),
        }
    }
}
