//! The body type of every response tokengate sends: an upstream's body streamed through, or
//! one of tokengate's own complete answers (refusals, checks, admin pages).

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};

/// The body type of every response tokengate sends.
pub type Body = BoxBody<Bytes, BoxError>;

/// The error a streamed body can end with (an upstream's, boxed).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A complete body from bytes (tokengate's own answers).
pub fn full(bytes: Bytes) -> Body {
    Full::new(bytes).map_err(|never| match never {}).boxed()
}
