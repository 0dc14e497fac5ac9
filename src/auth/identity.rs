//! The verified identity as ready-made header values, computed once per verified token.

use http::HeaderValue;

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
