//! Every refusal tokengate makes itself: `Reject` -> status, `WWW-Authenticate`,
//! `Retry-After` and the JSON body. The only place that turns a failure into a response.

#![deny(clippy::wildcard_enum_match_arm)]

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{Response, StatusCode};

use crate::auth::token::TokenError;
use crate::auth::{AuthError, PolicyError};
use crate::outcome::Outcome;
use crate::proxy::head::HeadTooLarge;
use crate::proxy::headers::HeaderError;
use crate::proxy::original::OriginalError;
use crate::proxy::path::PathError;
use crate::proxy::upstream::UpstreamError;

/// Why a request was not forwarded (or, for the last two, why forwarding failed).
#[derive(Debug, thiserror::Error)]
pub enum Reject {
    #[error("missing token")]
    MissingToken,
    #[error("invalid token: {0}")]
    InvalidToken(AuthError),
    #[error("keys unavailable for issuer {issuer}")]
    KeysUnavailable { issuer: usize },
    /// The revocation list has not loaded, or is older than `max_lag` with
    /// `on_unavailable: deny` (or a logout could not reach the shared store).
    #[error("revocation list unavailable")]
    RevocationUnavailable,
    /// A logout route got a valid token without `origin_jti` or `jti` to list.
    #[error("token has nothing to revoke")]
    NothingToRevoke,
    #[error("insufficient scope: {0}")]
    InsufficientScope(PolicyError),
    #[error("bad path: {0}")]
    BadPath(PathError),
    #[error("bad token request: {0}")]
    BadTokenRequest(TokenError),
    #[error("bad headers: {0}")]
    BadHeaders(HeaderError),
    #[error("bad check request: {0}")]
    BadOriginal(OriginalError),
    #[error("{0}")]
    HeadTooLarge(HeadTooLarge),
    #[error("no route")]
    NoRoute,
    #[error("upstream unreachable")]
    BadGateway,
    #[error("upstream timed out")]
    GatewayTimeout,
}

/// Seconds a client is told to wait when an issuer has no keys yet (or the revocation list
/// cannot be trusted yet).
const RETRY_AFTER_SECONDS: &str = "5";

/// `KeysUnavailable` is a 503 to retry; every other verification failure is a 401.
impl From<AuthError> for Reject {
    fn from(e: AuthError) -> Reject {
        match e {
            AuthError::KeysUnavailable { issuer } => Reject::KeysUnavailable { issuer },
            other @ (AuthError::TooLarge { .. }
            | AuthError::Malformed(_)
            | AuthError::MissingIssuer
            | AuthError::UnknownIssuer
            | AuthError::Rejected { .. }
            | AuthError::Revoked { .. }) => Reject::InvalidToken(other),
        }
    }
}

/// the reference's table: an upstream that cannot be reached (or addressed) is a 502, one that does
/// not answer within `upstream.timeout` a 504.
impl From<UpstreamError> for Reject {
    fn from(e: UpstreamError) -> Reject {
        match e {
            UpstreamError::BadUri | UpstreamError::Connect => Reject::BadGateway,
            UpstreamError::Timeout { .. } => Reject::GatewayTimeout,
        }
    }
}

impl Reject {
    /// The `outcome` label this refusal is counted and logged under.
    pub fn outcome(&self) -> Outcome {
        match self {
            Reject::MissingToken => Outcome::MissingToken,
            Reject::InvalidToken(_) => Outcome::InvalidToken,
            Reject::KeysUnavailable { .. } | Reject::RevocationUnavailable => {
                Outcome::KeysUnavailable
            }
            Reject::InsufficientScope(_) => Outcome::InsufficientScope,
            Reject::NothingToRevoke
            | Reject::BadPath(_)
            | Reject::BadTokenRequest(_)
            | Reject::BadHeaders(_)
            | Reject::BadOriginal(_)
            | Reject::HeadTooLarge(_) => Outcome::InvalidRequest,
            Reject::NoRoute => Outcome::NoRoute,
            Reject::BadGateway => Outcome::BadGateway,
            Reject::GatewayTimeout => Outcome::GatewayTimeout,
        }
    }

    /// The HTTP status of the reference's refusal table.
    pub fn status(&self) -> StatusCode {
        match self {
            Reject::MissingToken | Reject::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            Reject::InsufficientScope(_) => StatusCode::FORBIDDEN,
            Reject::NothingToRevoke
            | Reject::BadPath(_)
            | Reject::BadTokenRequest(_)
            | Reject::BadHeaders(_)
            | Reject::BadOriginal(_) => StatusCode::BAD_REQUEST,
            Reject::HeadTooLarge(_) => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Reject::NoRoute => StatusCode::NOT_FOUND,
            Reject::KeysUnavailable { .. } | Reject::RevocationUnavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Reject::BadGateway => StatusCode::BAD_GATEWAY,
            Reject::GatewayTimeout => StatusCode::GATEWAY_TIMEOUT,
        }
    }

    /// The `error_description`: names the rule, never echoes the token. Fixed texts only.
    pub fn description(&self) -> &'static str {
        match self {
            Reject::MissingToken => "no token in the request",
            Reject::InvalidToken(e) => e.description(),
            Reject::KeysUnavailable { .. } => "the token's issuer has no keys yet",
            Reject::RevocationUnavailable => "revocation list unavailable",
            Reject::NothingToRevoke => "token has no origin_jti or jti to revoke",
            Reject::InsufficientScope(e) => e.description(),
            Reject::BadPath(e) => e.description(),
            Reject::BadTokenRequest(e) => e.description(),
            Reject::BadHeaders(e) => e.description(),
            Reject::BadOriginal(e) => e.description(),
            Reject::HeadTooLarge(_) => "request head too large",
            Reject::NoRoute => "no route matches the request",
            Reject::BadGateway => "upstream unreachable",
            Reject::GatewayTimeout => "upstream timed out",
        }
    }

    /// The `WWW-Authenticate` challenge, for the rows of the reference's table that carry one.
    fn challenge(&self) -> Option<String> {
        match self {
            Reject::MissingToken => Some(r#"Bearer realm="tokengate""#.to_owned()),
            Reject::InvalidToken(_) => Some(format!(
                r#"Bearer realm="tokengate", error="invalid_token", error_description="{}""#,
                self.description()
            )),
            Reject::InsufficientScope(_) => Some(format!(
                r#"Bearer realm="tokengate", error="insufficient_scope", error_description="{}""#,
                self.description()
            )),
            Reject::KeysUnavailable { .. }
            | Reject::RevocationUnavailable
            | Reject::NothingToRevoke
            | Reject::BadPath(_)
            | Reject::BadTokenRequest(_)
            | Reject::BadHeaders(_)
            | Reject::BadOriginal(_)
            | Reject::HeadTooLarge(_)
            | Reject::NoRoute
            | Reject::BadGateway
            | Reject::GatewayTimeout => None,
        }
    }

    /// The gRPC status code a gRPC client (or Envoy's ext_authz) reads for this refusal.
    pub fn grpc_code(&self) -> i32 {
        match self {
            Reject::MissingToken | Reject::InvalidToken(_) => 16, // UNAUTHENTICATED
            Reject::InsufficientScope(_) => 7,                    // PERMISSION_DENIED
            Reject::NothingToRevoke
            | Reject::BadPath(_)
            | Reject::BadTokenRequest(_)
            | Reject::BadHeaders(_)
            | Reject::BadOriginal(_)
            | Reject::HeadTooLarge(_) => 3, // INVALID_ARGUMENT
            Reject::NoRoute => 12,                                // UNIMPLEMENTED
            Reject::KeysUnavailable { .. } | Reject::RevocationUnavailable | Reject::BadGateway => {
                14
            } // UNAVAILABLE
            Reject::GatewayTimeout => 4,                          // DEADLINE_EXCEEDED
        }
    }

    /// The refusal for a gRPC request (`content-type: application/grpc...`): the same HTTP
    /// status and challenge, plus `grpc-status` and `grpc-message` in the headers (a
    /// trailers-only response), so gRPC clients see UNAUTHENTICATED, PERMISSION_DENIED ...
    pub fn to_grpc_response(&self) -> Response<Bytes> {
        let mut response = self.with_headers(Bytes::new());
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
        headers.insert("grpc-status", HeaderValue::from(self.grpc_code()));
        // Descriptions are fixed ASCII texts without `%`, valid as grpc-message as they are.
        if let Ok(v) = HeaderValue::from_str(self.description()) {
            headers.insert("grpc-message", v);
        }
        response
    }

    /// The full response tokengate sends for this refusal; the body names the request id
    /// when there is one (the caller sets the `x-request-id` header).
    pub fn to_response(&self, request_id: Option<&HeaderValue>) -> Response<Bytes> {
        let body = ErrorBody {
            error: self.outcome().as_str(),
            error_description: self.description(),
            request_id: request_id.and_then(|id| id.to_str().ok()),
        };
        // Serializing three strings cannot fail; an empty body would still carry the status.
        let body = serde_json::to_vec(&body).unwrap_or_default();
        let mut response = self.with_headers(Bytes::from(body));
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response
    }

    /// `body` with this refusal's status, challenge and `Retry-After`.
    fn with_headers(&self, body: Bytes) -> Response<Bytes> {
        let mut response = Response::new(body);
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        if let Some(challenge) = self.challenge() {
            // Descriptions are fixed ASCII texts, so this cannot fail; stay safe anyway.
            if let Ok(v) = HeaderValue::from_str(&challenge) {
                headers.insert(WWW_AUTHENTICATE, v);
            }
        }
        if matches!(
            self,
            Reject::KeysUnavailable { .. } | Reject::RevocationUnavailable
        ) {
            headers.insert(RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECONDS));
        }
        response
    }
}

/// The JSON body of a refusal (reference section 5): `{"error", "error_description",
/// "request_id"}`, the keys in this order, `request_id` left out when there is none. Written
/// by `serde_json` from borrowed strings (a refusal flood costs no `Value` tree per request).
#[derive(serde::Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    error_description: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_token_is_401_with_bare_bearer_challenge() {
        let r = Reject::MissingToken.to_response(None);
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(r.headers()[WWW_AUTHENTICATE], r#"Bearer realm="tokengate""#);
        let body: serde_json::Value = serde_json::from_slice(r.body()).unwrap();
        assert_eq!(body["error"], "missing_token");
    }

    #[test]
    fn keys_unavailable_is_503_with_retry_after_and_no_challenge() {
        let r = Reject::KeysUnavailable { issuer: 0 }.to_response(None);
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(r.headers().contains_key(RETRY_AFTER));
        assert!(!r.headers().contains_key(WWW_AUTHENTICATE));
        let body: serde_json::Value = serde_json::from_slice(r.body()).unwrap();
        assert_eq!(body["error"], "keys_unavailable");
    }

    #[test]
    fn a_revoked_token_is_401_token_revoked_and_an_untrusted_list_503_with_retry_after() {
        let r = Reject::from(AuthError::Revoked {
            issuer: 0,
            kind: crate::revocation::Kind::OriginJti,
        })
        .to_response(None);
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            r.headers()[WWW_AUTHENTICATE],
            r#"Bearer realm="tokengate", error="invalid_token", error_description="token revoked""#
        );
        let body: serde_json::Value = serde_json::from_slice(r.body()).unwrap();
        assert_eq!(body["error"], "invalid_token");
        assert_eq!(body["error_description"], "token revoked");
        let r = Reject::RevocationUnavailable.to_response(None);
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(r.headers().contains_key(RETRY_AFTER));
        let body: serde_json::Value = serde_json::from_slice(r.body()).unwrap();
        assert_eq!(body["error"], "keys_unavailable");
        assert_eq!(body["error_description"], "revocation list unavailable");
        let r = Reject::NothingToRevoke.to_response(None);
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let body: serde_json::Value = serde_json::from_slice(r.body()).unwrap();
        assert_eq!(body["error"], "invalid_request");
    }

    #[test]
    fn grpc_requests_get_a_grpc_status_they_can_read() {
        let r = Reject::MissingToken.to_grpc_response();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(r.headers()["grpc-status"], "16");
        assert_eq!(r.headers()[CONTENT_TYPE], "application/grpc");
        assert!(r.body().is_empty());
        let r = Reject::InsufficientScope(PolicyError::GroupsAny).to_grpc_response();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert_eq!(r.headers()["grpc-status"], "7");
        assert_eq!(r.headers()["grpc-message"], "missing group");
    }
}
