//! Finding the token in a request (header, cookie, query), as a redacted newtype.

use std::fmt;

/// A raw token. `Debug` shows only its length.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn new(s: impl Into<String>) -> Token {
        Token(s.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token(len={})", self.0.len())
    }
}
