//! Strict compact-JWS parsing: three base64url segments without padding, header and payload
//! JSON objects with no duplicate key at any depth. Pure; no key is looked at here.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Which part of the token a parse failure is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment {
    Header,
    Payload,
    Signature,
}

/// Why a token is not a well-formed compact JWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("expected 3 segments, found {count}")]
    Segments { count: usize },
    #[error("{segment:?} is not strict base64url without padding")]
    Base64 { segment: Segment },
    #[error("{segment:?} is not JSON")]
    NotJson { segment: Segment },
    #[error("{segment:?} is not a JSON object")]
    NotObject { segment: Segment },
    #[error("{segment:?} repeats a JSON key")]
    DuplicateKey { segment: Segment },
}

/// A token split and decoded, not yet trusted.
#[derive(Debug)]
pub struct Parsed<'a> {
    pub header: Map<String, Value>,
    pub payload: Map<String, Value>,
    /// `header_b64.payload_b64`: the exact bytes the signature covers.
    pub signing_input: &'a str,
    /// The payload segment as received (canonical base64url: forwarded as `x-auth-claims`).
    pub payload_b64: &'a str,
    pub signature_b64: &'a str,
    /// The signature bytes, decoded once here (the strictness check) and used to verify.
    pub signature: Vec<u8>,
}

pub fn parse(token: &str) -> Result<Parsed<'_>, ParseError> {
    let count = token.split('.').count();
    let mut parts = token.splitn(3, '.');
    let (Some(h), Some(p), Some(s)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(ParseError::Segments { count });
    };
    if count != 3 {
        return Err(ParseError::Segments { count });
    }
    let signature = match URL_SAFE_NO_PAD.decode(s) {
        Ok(bytes) if !bytes.is_empty() => bytes,
        _ => {
            return Err(ParseError::Base64 {
                segment: Segment::Signature,
            })
        }
    };
    let header = object(h, Segment::Header)?;
    let payload = object(p, Segment::Payload)?;
    Ok(Parsed {
        header,
        payload,
        signing_input: &token[..h.len() + 1 + p.len()],
        payload_b64: p,
        signature_b64: s,
        signature,
    })
}

fn object(segment_b64: &str, segment: Segment) -> Result<Map<String, Value>, ParseError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment_b64)
        .map_err(|_| ParseError::Base64 { segment })?;
    strict_object(&bytes, segment)
}

/// Parses a JSON object, refusing a repeated key at any depth.
pub fn strict_object(bytes: &[u8], segment: Segment) -> Result<Map<String, Value>, ParseError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = match StrictValue::deserialize(&mut de).and_then(|v| de.end().map(|()| v)) {
        Ok(StrictValue(v)) => v,
        Err(e) if e.to_string().starts_with(DUPLICATE) => {
            return Err(ParseError::DuplicateKey { segment })
        }
        Err(_) => return Err(ParseError::NotJson { segment }),
    };
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(ParseError::NotObject { segment }),
    }
}

const DUPLICATE: &str = "duplicate key";

/// A `serde_json::Value` whose objects may not repeat a key.
struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("non-finite number"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            let StrictValue(value) = access.next_value()?;
            if map.insert(key, value).is_some() {
                return Err(de::Error::custom(DUPLICATE));
            }
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    fn token(h: &str, p: &str) -> String {
        format!("{}.{}.{}", b64(h), b64(p), b64("sig"))
    }

    #[test]
    fn a_well_formed_token_parses_and_keeps_the_exact_segments() {
        let t = token(r#"{"alg":"RS256","kid":"k"}"#, r#"{"sub":"a"}"#);
        let parsed = parse(&t).unwrap();
        assert_eq!(parsed.header["kid"], "k");
        assert_eq!(parsed.payload["sub"], "a");
        assert_eq!(parsed.payload_b64, b64(r#"{"sub":"a"}"#));
        assert!(t.starts_with(parsed.signing_input));
        assert_eq!(parsed.signing_input.matches('.').count(), 1);
    }

    #[test]
    fn two_and_four_segments_are_rejected() {
        assert_eq!(parse("a.b").unwrap_err(), ParseError::Segments { count: 2 });
        let t = token("{}", "{}");
        assert_eq!(
            parse(&format!("{t}.x")).unwrap_err(),
            ParseError::Segments { count: 4 }
        );
        assert_eq!(parse("").unwrap_err(), ParseError::Segments { count: 1 });
    }

    #[test]
    fn padded_or_non_url_base64_is_rejected() {
        // `{}` encodes to "e30" (padded: "e30=").
        let good = token("{}", r#"{"a":1}"#);
        let parts: Vec<&str> = good.split('.').collect();
        let padded_header = format!("{}=.{}.{}", parts[0], parts[1], parts[2]);
        assert!(matches!(
            parse(&padded_header),
            Err(ParseError::Base64 {
                segment: Segment::Header
            })
        ));
        let padded_sig = format!("{}.{}.{}=", parts[0], parts[1], "c2lnYQ");
        assert!(matches!(
            parse(&padded_sig),
            Err(ParseError::Base64 {
                segment: Segment::Signature
            })
        ));
        let std_alphabet = format!("{}.{}.ab+/", parts[0], parts[1]);
        assert!(parse(&std_alphabet).is_err());
        let whitespace = format!("{} .{}.{}", parts[0], parts[1], parts[2]);
        assert!(parse(&whitespace).is_err());
    }

    #[test]
    fn non_canonical_trailing_bits_are_rejected() {
        // "e30" is `{}`; "e31" decodes to the same bytes with non-zero trailing bits.
        let t = format!("e31.{}.{}", b64("{}"), b64("s"));
        assert!(matches!(
            parse(&t),
            Err(ParseError::Base64 {
                segment: Segment::Header
            })
        ));
    }

    #[test]
    fn empty_signature_is_rejected() {
        let t = format!("{}.{}.", b64("{}"), b64("{}"));
        assert!(matches!(
            parse(&t),
            Err(ParseError::Base64 {
                segment: Segment::Signature
            })
        ));
    }

    #[test]
    fn non_json_and_non_object_segments_are_rejected() {
        assert!(matches!(
            parse(&token("nope", "{}")),
            Err(ParseError::NotJson {
                segment: Segment::Header
            })
        ));
        assert!(matches!(
            parse(&token("[1,2]", "{}")),
            Err(ParseError::NotObject {
                segment: Segment::Header
            })
        ));
        assert!(matches!(
            parse(&token(r#""alg""#, "{}")),
            Err(ParseError::NotObject {
                segment: Segment::Header
            })
        ));
        assert!(matches!(
            parse(&token("{}", "nope")),
            Err(ParseError::NotJson {
                segment: Segment::Payload
            })
        ));
        assert!(matches!(
            parse(&token("{}", "42")),
            Err(ParseError::NotObject {
                segment: Segment::Payload
            })
        ));
        assert!(matches!(
            parse(&token("{}", "{} {}")),
            Err(ParseError::NotJson {
                segment: Segment::Payload
            })
        ));
    }

    #[test]
    fn duplicate_keys_at_any_depth_are_rejected() {
        assert!(matches!(
            parse(&token("{}", r#"{"sub":"a","sub":"admin"}"#)),
            Err(ParseError::DuplicateKey {
                segment: Segment::Payload
            })
        ));
        assert!(matches!(
            parse(&token("{}", r#"{"x":{"a":1,"a":2}}"#)),
            Err(ParseError::DuplicateKey {
                segment: Segment::Payload
            })
        ));
        assert!(matches!(
            parse(&token("{}", r#"{"x":[{"a":1,"a":2}]}"#)),
            Err(ParseError::DuplicateKey {
                segment: Segment::Payload
            })
        ));
        assert!(matches!(
            parse(&token(r#"{"alg":"RS256","alg":"none"}"#, "{}")),
            Err(ParseError::DuplicateKey {
                segment: Segment::Header
            })
        ));
    }
}
