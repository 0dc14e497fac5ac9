//! The Redis layout: one string key per entry (`{prefix}rv:{issuer}:{kind}:{id}`, the
//! entry's JSON, expiring at its `expires_at`), the change log stream (`{prefix}rv:log`,
//! fields `op` = `add`|`del` and `entry`), and stream ids as ordered values.

use std::collections::HashMap;
use std::fmt;

use redis::Value;
use serde_json::Value as Json;

use crate::revocation::entry::Entry;

/// Key names under one prefix.
#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    pub fn new(prefix: &str) -> Keys {
        Keys {
            prefix: prefix.to_owned(),
        }
    }

    /// `{prefix}rv:{issuer}:{kind}:{id}`. Issuer names are `[a-z0-9_-]` and kinds fixed
    /// words, so no two targets share a key whatever their id holds.
    pub fn entry(&self, entry: &Entry) -> String {
        format!(
            "{}rv:{}:{}:{}",
            self.prefix,
            entry.issuer,
            entry.target.kind().as_str(),
            entry.target.id()
        )
    }

    /// The change log stream.
    pub fn log(&self) -> String {
        format!("{}rv:log", self.prefix)
    }

    /// A `SCAN MATCH` pattern for the entry keys (and the log, which `TYPE string` leaves
    /// out): the prefix with glob characters escaped.
    pub fn scan_pattern(&self) -> String {
        let mut pattern = String::with_capacity(self.prefix.len() + 4);
        for c in self.prefix.chars() {
            if matches!(c, '*' | '?' | '[' | ']' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push_str("rv:*");
        pattern
    }
}

/// A stream entry id (`<ms>-<seq>`), ordered as Redis orders them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct LogId {
    pub ms: u64,
    pub seq: u64,
}

impl LogId {
    /// `0-0`: before every entry.
    pub const ZERO: LogId = LogId { ms: 0, seq: 0 };

    pub fn parse(s: &str) -> Option<LogId> {
        let (ms, seq) = s.split_once('-')?;
        Some(LogId {
            ms: ms.parse().ok()?,
            seq: seq.parse().ok()?,
        })
    }
}

impl fmt::Display for LogId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// One change in the log.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// The entry was added or replaced.
    Add(Entry),
    /// The entry with this target was deleted.
    Del(Entry),
}

impl Change {
    pub fn entry(&self) -> &Entry {
        match self {
            Change::Add(e) | Change::Del(e) => e,
        }
    }

    /// `op` field value.
    pub fn op(&self) -> &'static str {
        match self {
            Change::Add(_) => "add",
            Change::Del(_) => "del",
        }
    }

    /// The entry as stored (key value and `entry` field).
    pub fn entry_json(&self) -> String {
        self.entry().to_json().to_string()
    }

    /// Reads a log entry's fields back; `None` for anything tokengate did not write.
    pub fn from_fields(fields: &HashMap<String, Value>) -> Option<Change> {
        let text = |name: &str| match fields.get(name)? {
            Value::BulkString(b) => std::str::from_utf8(b).ok(),
            Value::SimpleString(s) => Some(s.as_str()),
            _ => None,
        };
        let entry = parse_entry(text("entry")?.as_bytes())?;
        match text("op")? {
            "add" => Some(Change::Add(entry)),
            "del" => Some(Change::Del(entry)),
            _ => None,
        }
    }
}

/// An entry key's value (or a log entry's `entry` field) back into an [`Entry`].
pub fn parse_entry(bytes: &[u8]) -> Option<Entry> {
    let json: Json = serde_json::from_slice(bytes).ok()?;
    Entry::from_stored(&json)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn entry(body: Json) -> Entry {
        Entry::from_json(&body, &["main"], 1_000, 86_400).unwrap()
    }

    #[test]
    fn keys_follow_the_documented_layout_and_the_pattern_escapes_globs() {
        let keys = Keys::new("tokengate:");
        let e = entry(json!({"issuer": "main", "origin_jti": "a:b*c"}));
        assert_eq!(keys.entry(&e), "tokengate:rv:main:origin_jti:a:b*c");
        assert_eq!(keys.log(), "tokengate:rv:log");
        assert_eq!(keys.scan_pattern(), "tokengate:rv:*");
        assert_eq!(Keys::new("{t*g}[1]:").scan_pattern(), r"{t\*g}\[1\]:rv:*");
    }

    #[test]
    fn log_ids_order_numerically() {
        let a = LogId::parse("999-5").unwrap();
        let b = LogId::parse("1000-0").unwrap();
        assert!(a < b && LogId::ZERO < a);
        assert_eq!(b.to_string(), "1000-0");
        assert_eq!(LogId::parse("12"), None);
        assert_eq!(LogId::parse("x-1"), None);
    }

    #[test]
    fn changes_round_trip_through_log_fields_and_strangers_are_ignored() {
        let e = entry(json!({"issuer": "main", "sub": "u", "before": 900}));
        for change in [Change::Add(e.clone()), Change::Del(e.clone())] {
            let fields: HashMap<String, Value> = [
                ("op".to_owned(), Value::BulkString(change.op().into())),
                (
                    "entry".to_owned(),
                    Value::BulkString(change.entry_json().into()),
                ),
            ]
            .into();
            assert_eq!(Change::from_fields(&fields), Some(change));
        }
        let odd: HashMap<String, Value> = [
            ("op".to_owned(), Value::BulkString(b"upsert".to_vec())),
            (
                "entry".to_owned(),
                Value::BulkString(Change::Add(e).entry_json().into()),
            ),
        ]
        .into();
        assert_eq!(Change::from_fields(&odd), None);
        assert_eq!(Change::from_fields(&HashMap::new()), None);
    }
}
