//! One revocation entry (reference section 8): which issuer, which kind (`origin_jti`,
//! `jti`, `sub` cut-off, `client_id` cut-off), when it was written and when it is dropped.
//! Parsed from the admin API's JSON with every problem named; never from a token hash.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What an entry refuses, within its issuer.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// One sign-in session: every token whose `origin_jti` equals it (both token types and
    /// every token refreshed from the same refresh token).
    OriginJti(String),
    /// One token: the token whose `jti` equals it.
    Jti(String),
    /// A user's global sign-out: tokens whose `sub` equals it and whose `iat` is at most
    /// `before` (NumericDate, seconds) or absent.
    Sub { sub: String, before: f64 },
    /// A client's cut-off (machine-to-machine tokens, which Cognito cannot revoke): tokens
    /// whose `client_id` (access) or `aud` (ID) equals it and whose `iat` is at most
    /// `before` or absent.
    ClientId { client_id: String, before: f64 },
}

impl Target {
    /// The kind's name, as the API, the metrics label `kind` and the JSON field say it.
    pub fn kind(&self) -> Kind {
        match self {
            Target::OriginJti(_) => Kind::OriginJti,
            Target::Jti(_) => Kind::Jti,
            Target::Sub { .. } => Kind::Sub,
            Target::ClientId { .. } => Kind::ClientId,
        }
    }

    /// The identifier the entry names (the `origin_jti`, `jti`, `sub` or `client_id`).
    pub fn id(&self) -> &str {
        match self {
            Target::OriginJti(id) | Target::Jti(id) => id,
            Target::Sub { sub, .. } => sub,
            Target::ClientId { client_id, .. } => client_id,
        }
    }
}

/// The four kinds of entry; also the values of the `kind` metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    OriginJti,
    Jti,
    Sub,
    ClientId,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::OriginJti, Kind::Jti, Kind::Sub, Kind::ClientId];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::OriginJti => "origin_jti",
            Kind::Jti => "jti",
            Kind::Sub => "sub",
            Kind::ClientId => "client_id",
        }
    }
}

/// A stored entry: the target within one issuer (its configured `name`), when it was
/// written, and when it is dropped (`max_token_lifetime` after `before`, or after it was
/// written for `origin_jti` and `jti`). Times are Unix seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub issuer: String,
    pub target: Target,
    pub created_at: u64,
    pub expires_at: u64,
}

/// Why a JSON object is not an entry (the admin API answers 400 with the description).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    #[error("not a JSON object")]
    NotAnObject,
    #[error("unknown field {field:?}")]
    UnknownField { field: String },
    #[error("issuer missing")]
    IssuerMissing,
    #[error("unknown issuer")]
    UnknownIssuer,
    #[error("one of origin_jti, jti, sub, client_id is required")]
    KindMissing,
    #[error("only one of origin_jti, jti, sub, client_id may be given")]
    TwoKinds,
    #[error("{field} must be a non-empty string")]
    NotAString { field: &'static str },
    #[error("before must be a NumericDate (seconds since the epoch)")]
    BadBefore,
    #[error("before applies to sub and client_id only")]
    BeforeNotAllowed,
}

/// The JSON fields an entry may carry.
const FIELDS: [&str; 6] = ["issuer", "origin_jti", "jti", "sub", "client_id", "before"];

/// The largest `before` accepted: year 9999, far past any token's `iat`.
const MAX_NUMERIC_DATE: f64 = 253_402_300_799.0;

impl Entry {
    /// Parses an admin API request body (`{"issuer": "main", "origin_jti": "..."}`, ...):
    /// `issuer` must be one of `issuers` (configured names); exactly one kind; `before`
    /// (a NumericDate, default `now`) only with `sub` and `client_id`; no other field.
    /// `now` and `max_lifetime` are seconds.
    pub fn from_json(
        value: &Value,
        issuers: &[&str],
        now: u64,
        max_lifetime: u64,
    ) -> Result<Entry, EntryError> {
        let object = value.as_object().ok_or(EntryError::NotAnObject)?;
        if let Some(field) = object.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            return Err(EntryError::UnknownField {
                field: field.clone(),
            });
        }
        let issuer = match object.get("issuer") {
            None => return Err(EntryError::IssuerMissing),
            Some(v) => text(v, "issuer")?,
        };
        if !issuers.contains(&issuer) {
            return Err(EntryError::UnknownIssuer);
        }
        let kinds: Vec<&str> = ["origin_jti", "jti", "sub", "client_id"]
            .into_iter()
            .filter(|k| object.contains_key(*k))
            .collect();
        let kind = match kinds.as_slice() {
            [] => return Err(EntryError::KindMissing),
            [kind] => *kind,
            _ => return Err(EntryError::TwoKinds),
        };
        let before = match object.get("before") {
            None => None,
            Some(_) if kind == "origin_jti" || kind == "jti" => {
                return Err(EntryError::BeforeNotAllowed)
            }
            Some(v) => Some(
                v.as_f64()
                    .filter(|b| b.is_finite() && *b >= 0.0 && *b <= MAX_NUMERIC_DATE)
                    .ok_or(EntryError::BadBefore)?,
            ),
        };
        let before_or_now = before.unwrap_or(now as f64);
        let target = match kind {
            "origin_jti" => Target::OriginJti(field(object, "origin_jti")?),
            "jti" => Target::Jti(field(object, "jti")?),
            "sub" => Target::Sub {
                sub: field(object, "sub")?,
                before: before_or_now,
            },
            _ => Target::ClientId {
                client_id: field(object, "client_id")?,
                before: before_or_now,
            },
        };
        Ok(Entry::new(issuer.to_owned(), target, now, max_lifetime))
    }

    /// An entry for `target` within `issuer` (configured name), written at `now`: kept until
    /// `max_lifetime` after its `before` (cut-offs) or after `now` (`origin_jti`, `jti`),
    /// never shorter than from `now`. Seconds.
    pub fn new(issuer: String, target: Target, now: u64, max_lifetime: u64) -> Entry {
        let applies_from = match &target {
            Target::OriginJti(_) | Target::Jti(_) => now,
            // A cut-off in the future keeps the entry until tokens issued up to it expire.
            Target::Sub { before, .. } | Target::ClientId { before, .. } => {
                (before.ceil() as u64).max(now)
            }
        };
        Entry {
            issuer,
            target,
            created_at: now,
            expires_at: applies_from.saturating_add(max_lifetime),
        }
    }

    /// The entry as the API returns it and the stores keep it: the request's fields plus
    /// `created_at` and `expires_at` (Unix seconds).
    pub fn to_json(&self) -> Value {
        let mut object = Map::new();
        object.insert("issuer".into(), Value::from(self.issuer.clone()));
        object.insert(
            self.target.kind().as_str().into(),
            Value::from(self.target.id()),
        );
        if let Target::Sub { before, .. } | Target::ClientId { before, .. } = &self.target {
            object.insert("before".into(), numeric(*before));
        }
        object.insert("created_at".into(), Value::from(self.created_at));
        object.insert("expires_at".into(), Value::from(self.expires_at));
        Value::Object(object)
    }

    /// Reads back what [`Entry::to_json`] wrote (persisted files, Redis), trusting its
    /// times; `None` for anything else.
    pub fn from_stored(value: &Value) -> Option<Entry> {
        let stored: Stored = serde_json::from_value(value.clone()).ok()?;
        let target = match (
            stored.origin_jti,
            stored.jti,
            stored.sub,
            stored.client_id,
            stored.before,
        ) {
            (Some(id), None, None, None, None) => Target::OriginJti(id),
            (None, Some(id), None, None, None) => Target::Jti(id),
            (None, None, Some(sub), None, Some(before)) => Target::Sub { sub, before },
            (None, None, None, Some(client_id), Some(before)) => {
                Target::ClientId { client_id, before }
            }
            _ => return None,
        };
        Some(Entry {
            issuer: stored.issuer,
            target,
            created_at: stored.created_at,
            expires_at: stored.expires_at,
        })
    }

    /// Whether the entry still applies at `now` (Unix seconds).
    pub fn is_live(&self, now: u64) -> bool {
        now < self.expires_at
    }

    /// Whether `other` names the same thing (same issuer, kind and id): the identity used by
    /// `DELETE /revocations` and to keep one entry per thing.
    pub fn same_target(&self, other: &Entry) -> bool {
        self.issuer == other.issuer
            && self.target.kind() == other.target.kind()
            && self.target.id() == other.target.id()
    }
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    issuer: String,
    origin_jti: Option<String>,
    jti: Option<String>,
    sub: Option<String>,
    client_id: Option<String>,
    before: Option<f64>,
    created_at: u64,
    expires_at: u64,
}

fn text<'a>(v: &'a Value, name: &'static str) -> Result<&'a str, EntryError> {
    v.as_str()
        .filter(|s| !s.is_empty())
        .ok_or(EntryError::NotAString { field: name })
}

fn field(object: &Map<String, Value>, name: &'static str) -> Result<String, EntryError> {
    object
        .get(name)
        .ok_or(EntryError::NotAString { field: name })
        .and_then(|v| text(v, name))
        .map(str::to_owned)
}

/// A NumericDate as JSON: an integer when it is whole, so `1700000000` stays `1700000000`.
fn numeric(t: f64) -> Value {
    if t.fract() == 0.0 && t.abs() < 9.0e15 {
        Value::from(t as i64)
    } else {
        Value::from(t)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const DAY: u64 = 86_400;

    fn parse(v: Value) -> Result<Entry, EntryError> {
        Entry::from_json(&v, &["main", "other"], 1_000_000, DAY)
    }

    #[test]
    fn each_kind_parses_and_round_trips_through_storage() {
        for body in [
            json!({"issuer": "main", "origin_jti": "o-1"}),
            json!({"issuer": "main", "jti": "j-1"}),
            json!({"issuer": "main", "sub": "s-1", "before": 999_000}),
            json!({"issuer": "other", "client_id": "c-1"}),
        ] {
            let entry = parse(body.clone()).unwrap();
            let stored = entry.to_json();
            assert_eq!(Entry::from_stored(&stored), Some(entry.clone()), "{body}");
            assert_eq!(stored["issuer"], body["issuer"]);
        }
    }

    #[test]
    fn entries_live_for_max_token_lifetime_past_the_time_they_apply_to() {
        let session = parse(json!({"issuer": "main", "origin_jti": "o"})).unwrap();
        assert_eq!(session.expires_at, 1_000_000 + DAY);
        assert!(session.is_live(1_000_000 + DAY - 1));
        assert!(!session.is_live(1_000_000 + DAY));
        let past = parse(json!({"issuer": "main", "sub": "s", "before": 500_000})).unwrap();
        assert_eq!(
            past.expires_at,
            1_000_000 + DAY,
            "never shorter than from now"
        );
        let future = parse(json!({"issuer": "main", "sub": "s", "before": 1_050_000})).unwrap();
        assert_eq!(future.expires_at, 1_050_000 + DAY);
        let default = parse(json!({"issuer": "main", "client_id": "c"})).unwrap();
        assert_eq!(
            default.target,
            Target::ClientId {
                client_id: "c".into(),
                before: 1_000_000.0
            }
        );
    }

    #[test]
    fn bad_requests_are_named() {
        let cases = [
            (json!([1]), EntryError::NotAnObject),
            (json!({"origin_jti": "o"}), EntryError::IssuerMissing),
            (
                json!({"issuer": "nope", "jti": "j"}),
                EntryError::UnknownIssuer,
            ),
            (json!({"issuer": "main"}), EntryError::KindMissing),
            (
                json!({"issuer": "main", "jti": "j", "sub": "s"}),
                EntryError::TwoKinds,
            ),
            (
                json!({"issuer": "main", "jti": ""}),
                EntryError::NotAString { field: "jti" },
            ),
            (
                json!({"issuer": "main", "jti": 5}),
                EntryError::NotAString { field: "jti" },
            ),
            (
                json!({"issuer": "main", "jti": "j", "before": 1}),
                EntryError::BeforeNotAllowed,
            ),
            (
                json!({"issuer": "main", "sub": "s", "before": "1"}),
                EntryError::BadBefore,
            ),
            (
                json!({"issuer": "main", "sub": "s", "before": 1e300}),
                EntryError::BadBefore,
            ),
            (
                json!({"issuer": "main", "sub": "s", "before": -1}),
                EntryError::BadBefore,
            ),
            (
                json!({"issuer": "main", "jti": "j", "token": "x"}),
                EntryError::UnknownField {
                    field: "token".into(),
                },
            ),
        ];
        for (body, want) in cases {
            assert_eq!(parse(body.clone()), Err(want), "{body}");
        }
    }

    #[test]
    fn stored_records_of_another_shape_are_ignored() {
        assert_eq!(Entry::from_stored(&json!({"issuer": "main"})), None);
        assert_eq!(
            Entry::from_stored(&json!({"issuer": "main", "jti": "j", "sub": "s",
                "created_at": 1, "expires_at": 2})),
            None
        );
    }
}
