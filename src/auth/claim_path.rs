//! Naming a claim and matching it (reference section 3.7), for `require.claims` and
//! `forward.headers`: a top-level name, or an RFC 6901 JSON Pointer into the payload when the
//! name starts with `/`. Parsed once at validation; per request, a lookup and a match never
//! allocate, lock or block.

use std::fmt;

use serde_json::{Map, Value};

/// A claim as configured: `custom:tenant` (a top-level name, taken literally) or
/// `/identities/0/providerName` (a JSON Pointer, its reference tokens unescaped once here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimPath {
    /// As written in the file (for messages and equality with a name).
    text: String,
    /// Empty for a top-level name; the unescaped reference tokens of a pointer.
    steps: Vec<Step>,
}

/// One reference token of a pointer: an object member name, and the array index it also
/// names when it is one (`0`, or digits without a leading zero).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Step {
    key: String,
    index: Option<usize>,
}

/// Why a claim name cannot be used. Facts only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ClaimPathError {
    #[error("needs a claim name")]
    Empty,
    /// `~` must be followed by `0` (for `~`) or `1` (for `/`); `at` is its byte offset.
    #[error("not a JSON Pointer (RFC 6901): `~` at byte {at} must be followed by 0 or 1 (`~0` is `~`, `~1` is `/`)")]
    BadEscape { at: usize },
}

impl ClaimPath {
    /// A claim name as configured. A name starting with `/` is a JSON Pointer.
    ///
    /// # Errors
    /// [`ClaimPathError::Empty`] for `""`; [`ClaimPathError::BadEscape`] for a pointer with
    /// a `~` not followed by `0` or `1`.
    pub fn parse(text: &str) -> Result<ClaimPath, ClaimPathError> {
        if text.is_empty() {
            return Err(ClaimPathError::Empty);
        }
        let Some(pointer) = text.strip_prefix('/') else {
            return Ok(ClaimPath {
                text: text.to_owned(),
                steps: Vec::new(),
            });
        };
        let mut steps = Vec::new();
        let mut offset = 1;
        for token in pointer.split('/') {
            steps.push(Step::parse(token, offset)?);
            offset += token.len() + 1;
        }
        Ok(ClaimPath {
            text: text.to_owned(),
            steps,
        })
    }

    /// The name as written in the file.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether it is a JSON Pointer (not a top-level name).
    pub fn is_pointer(&self) -> bool {
        !self.steps.is_empty()
    }

    /// The claim it names in a verified payload, or `None` when absent. A pointer step into
    /// an array needs an index within it (`-`, a leading zero or a name never match).
    pub fn lookup<'a>(&self, claims: &'a Map<String, Value>) -> Option<&'a Value> {
        let Some((first, rest)) = self.steps.split_first() else {
            return claims.get(&self.text);
        };
        let mut at = claims.get(&first.key)?;
        for step in rest {
            at = match at {
                Value::Object(members) => members.get(&step.key)?,
                Value::Array(items) => items.get(step.index?)?,
                Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => return None,
            };
        }
        Some(at)
    }
}

impl Step {
    /// One reference token (`offset`: its byte offset in the whole name, for the error).
    fn parse(token: &str, offset: usize) -> Result<Step, ClaimPathError> {
        let mut key = String::with_capacity(token.len());
        let mut chars = token.char_indices();
        while let Some((i, c)) = chars.next() {
            if c != '~' {
                key.push(c);
                continue;
            }
            match chars.next() {
                Some((_, '0')) => key.push('~'),
                Some((_, '1')) => key.push('/'),
                _ => return Err(ClaimPathError::BadEscape { at: offset + i }),
            }
        }
        let index = match key.as_bytes() {
            [b'0'] => Some(0),
            [b'1'..=b'9', rest @ ..] if rest.iter().all(u8::is_ascii_digit) => key.parse().ok(),
            _ => None,
        };
        Ok(Step { key, index })
    }
}

impl fmt::Display for ClaimPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for ClaimPath {
    type Err = ClaimPathError;

    fn from_str(text: &str) -> Result<ClaimPath, ClaimPathError> {
        ClaimPath::parse(text)
    }
}

impl PartialEq<str> for ClaimPath {
    fn eq(&self, other: &str) -> bool {
        self.text == other
    }
}

impl PartialEq<&str> for ClaimPath {
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}

/// Whether a claim matches one of the accepted texts: a string, number or boolean when its
/// text (numbers and booleans as JSON text) equals one; an array when any of its scalar
/// elements does. An object, `null`, or an absent claim never matches.
pub fn matches(claim: Option<&Value>, accepted: &[String]) -> bool {
    match claim {
        Some(Value::Array(items)) => items.iter().any(|item| scalar_matches(item, accepted)),
        Some(value) => scalar_matches(value, accepted),
        None => false,
    }
}

/// A string, number or boolean whose text equals one of `accepted`; anything else: `false`.
fn scalar_matches(value: &Value, accepted: &[String]) -> bool {
    let text: &str = match value {
        Value::String(s) => s,
        Value::Bool(true) => "true",
        Value::Bool(false) => "false",
        Value::Number(n) => {
            // The JSON text of a number, on the stack: no allocation per request.
            let mut buf = StackText::default();
            if fmt::write(&mut buf, format_args!("{n}")).is_err() {
                return false;
            }
            return accepted.iter().any(|a| a.as_bytes() == buf.as_bytes());
        }
        Value::Null | Value::Array(_) | Value::Object(_) => return false,
    };
    accepted.iter().any(|a| a == text)
}

/// A short text written on the stack. Long enough for any number serde_json prints (an
/// `f64` takes at most 24 bytes, an `i64`/`u64` 20); longer writes fail.
struct StackText {
    buf: [u8; 48],
    len: usize,
}

impl Default for StackText {
    fn default() -> StackText {
        StackText {
            buf: [0; 48],
            len: 0,
        }
    }
}

impl StackText {
    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let slot = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
