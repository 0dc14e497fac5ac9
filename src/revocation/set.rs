//! The revocation list as the request path reads it: an immutable set, indexed by issuer
//! name and kind, built from entries and replaced whole (behind `ArcSwap`) when the list
//! changes. A check is a few hash lookups: no lock, no I/O, no allocation.

use std::collections::HashMap as StdHashMap;

use serde_json::{Map, Value};

use crate::config::TokenUse;
use crate::revocation::entry::{Entry, Kind, Target};

/// The set's tables: foldhash, randomly seeded per process. The keys are ids Cognito chose
/// (or an operator typed), looked up with claims of verified tokens: SipHash's protection
/// against chosen keys buys nothing here, and costs most of a check's time.
type HashMap<K, V> = StdHashMap<K, V, foldhash::fast::RandomState>;

/// Which entry refused a token (for logs and tests; the response says only "token revoked").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Revoked {
    pub kind: Kind,
}

/// The entries of one issuer, by kind. Cut-offs keep the latest `before` per id.
#[derive(Debug, Default, Clone)]
struct IssuerList {
    origin_jti: HashMap<String, ()>,
    jti: HashMap<String, ()>,
    sub: HashMap<String, f64>,
    client_id: HashMap<String, f64>,
}

/// The claims a revocation check reads, taken from a verified payload once, when it is
/// verified: a cached verdict is then checked without reading its claims again. Each is
/// `None` when the claim is absent or not a string (`iat`: not a number).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RevocationClaims {
    pub origin_jti: Option<Box<str>>,
    pub jti: Option<Box<str>>,
    pub sub: Option<Box<str>>,
    /// The claim naming the token's client: `client_id` for access tokens, `aud` for ID
    /// tokens and generic issuers' tokens (reference section 8).
    pub client: Option<Box<str>>,
    /// RFC 7519 NumericDate; absent means "issued at an unknown time", which a cut-off covers.
    pub iat: Option<f64>,
}

impl RevocationClaims {
    /// The claims of a verified payload; `token_use` picks the client claim (`None`:
    /// a generic issuer's token).
    pub fn of(claims: &Map<String, Value>, token_use: Option<TokenUse>) -> RevocationClaims {
        let client_claim = match token_use {
            Some(TokenUse::Access) => "client_id",
            Some(TokenUse::Id) | None => "aud",
        };
        RevocationClaims::read(claims, client_claim)
    }

    /// The claims of a payload whose client is named by `client_claim`.
    pub fn read(claims: &Map<String, Value>, client_claim: &str) -> RevocationClaims {
        let text = |name: &str| claims.get(name).and_then(Value::as_str).map(Box::from);
        RevocationClaims {
            origin_jti: text("origin_jti"),
            jti: text("jti"),
            sub: text("sub"),
            client: text(client_claim),
            iat: claims.get("iat").and_then(Value::as_f64),
        }
    }
}

/// An immutable revocation list.
#[derive(Debug, Default, Clone)]
pub struct RevocationSet {
    issuers: HashMap<String, IssuerList>,
    entries: Vec<Entry>,
    /// Entries by kind, in `Kind::ALL` order (counted once, read at every scrape).
    counts: [usize; 4],
}

impl RevocationSet {
    /// A set of the `entries` still live at `now` (Unix seconds); of two entries naming the
    /// same target, the later-expiring one is kept.
    pub fn new(entries: impl IntoIterator<Item = Entry>, now: u64) -> RevocationSet {
        // One entry per (issuer, kind, id): linear in the number of entries, so a list of
        // 100,000 builds in milliseconds.
        let mut by_target: HashMap<(String, Kind, String), Entry> = HashMap::default();
        for entry in entries.into_iter().filter(|e| e.is_live(now)) {
            let key = (
                entry.issuer.clone(),
                entry.target.kind(),
                entry.target.id().to_owned(),
            );
            match by_target.get(&key) {
                Some(k) if k.expires_at >= entry.expires_at => {}
                _ => {
                    by_target.insert(key, entry);
                }
            }
        }
        let mut kept: Vec<Entry> = by_target.into_values().collect();
        kept.sort_by(|a, b| (a.created_at, &a.issuer).cmp(&(b.created_at, &b.issuer)));
        let mut issuers: HashMap<String, IssuerList> = HashMap::default();
        let mut counts = [0; 4];
        for entry in &kept {
            if let Some(i) = Kind::ALL.iter().position(|k| *k == entry.target.kind()) {
                counts[i] += 1;
            }
            let list = issuers.entry(entry.issuer.clone()).or_default();
            match &entry.target {
                Target::OriginJti(id) => {
                    list.origin_jti.insert(id.clone(), ());
                }
                Target::Jti(id) => {
                    list.jti.insert(id.clone(), ());
                }
                Target::Sub { sub, before } => {
                    let b = list.sub.entry(sub.clone()).or_insert(*before);
                    *b = b.max(*before);
                }
                Target::ClientId { client_id, before } => {
                    let b = list.client_id.entry(client_id.clone()).or_insert(*before);
                    *b = b.max(*before);
                }
            }
        }
        RevocationSet {
            issuers,
            entries: kept,
            counts,
        }
    }

    /// Whether a verified token of `issuer` (its configured name) with these `claims` is
    /// revoked. `client_claim` is the claim naming its client: `client_id` for access tokens,
    /// `aud` for ID tokens. A token without the claim an entry looks at is not affected by it.
    /// Reads the claims each time: the request path uses [`RevocationSet::check_claims`].
    pub fn check(
        &self,
        issuer: &str,
        claims: &Map<String, Value>,
        client_claim: &str,
    ) -> Result<(), Revoked> {
        self.check_claims(issuer, &RevocationClaims::read(claims, client_claim))
    }

    /// [`RevocationSet::check`] of claims read once: a few hash lookups, no claim lookup,
    /// no allocation.
    pub fn check_claims(&self, issuer: &str, claims: &RevocationClaims) -> Result<(), Revoked> {
        let Some(list) = self.issuers.get(issuer) else {
            return Ok(());
        };
        // A table is looked in only when it has entries (most lists are sessions only).
        if !list.origin_jti.is_empty()
            && claims
                .origin_jti
                .as_deref()
                .is_some_and(|id| list.origin_jti.contains_key(id))
        {
            return Err(Revoked {
                kind: Kind::OriginJti,
            });
        }
        if !list.jti.is_empty()
            && claims
                .jti
                .as_deref()
                .is_some_and(|id| list.jti.contains_key(id))
        {
            return Err(Revoked { kind: Kind::Jti });
        }
        // RFC 7519: iat is a NumericDate; absent means "issued at an unknown time", which a
        // cut-off must cover (reference section 8).
        let issued_by = |before: f64| claims.iat.is_none_or(|iat| iat <= before);
        if !list.sub.is_empty() {
            if let Some(before) = claims.sub.as_deref().and_then(|s| list.sub.get(s)) {
                if issued_by(*before) {
                    return Err(Revoked { kind: Kind::Sub });
                }
            }
        }
        if !list.client_id.is_empty() {
            if let Some(before) = claims.client.as_deref().and_then(|c| list.client_id.get(c)) {
                if issued_by(*before) {
                    return Err(Revoked {
                        kind: Kind::ClientId,
                    });
                }
            }
        }
        Ok(())
    }

    /// The live entries, for `GET /revocations`, persistence and the metrics.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Entries in force by kind, for `tokengate_revocations{kind}`.
    pub fn count(&self, kind: Kind) -> usize {
        Kind::ALL
            .iter()
            .position(|k| *k == kind)
            .map_or(0, |i| self.counts[i])
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The earliest `expires_at` of the entries, when the set next needs rebuilding.
    pub fn next_expiry(&self) -> Option<u64> {
        self.entries.iter().map(|e| e.expires_at).min()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const NOW: u64 = 1_000_000;

    fn entry(issuer: &str, body: Value) -> Entry {
        let mut body = body;
        body["issuer"] = json!(issuer);
        Entry::from_json(&body, &["main", "other"], NOW, 86_400).unwrap()
    }

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn a_session_entry_refuses_every_token_of_that_session_only() {
        let set = RevocationSet::new([entry("main", json!({"origin_jti": "A"}))], NOW);
        let a_access = claims(json!({"origin_jti": "A", "jti": "1", "sub": "u"}));
        let a_id_refreshed = claims(json!({"origin_jti": "A", "jti": "9", "sub": "u"}));
        let b = claims(json!({"origin_jti": "B", "jti": "2", "sub": "u"}));
        assert!(set.check("main", &a_access, "client_id").is_err());
        assert!(set.check("main", &a_id_refreshed, "aud").is_err());
        assert_eq!(set.check("main", &b, "client_id"), Ok(()));
        assert_eq!(
            set.check("other", &a_access, "client_id"),
            Ok(()),
            "per issuer"
        );
        let no_claim = claims(json!({"sub": "u"}));
        assert_eq!(set.check("main", &no_claim, "client_id"), Ok(()));
    }

    #[test]
    fn cut_offs_refuse_tokens_issued_up_to_before_or_without_iat() {
        let set = RevocationSet::new(
            [
                entry("main", json!({"sub": "u", "before": 900_000})),
                entry("main", json!({"client_id": "m2m", "before": 900_000})),
            ],
            NOW,
        );
        let old = claims(json!({"sub": "u", "iat": 899_999}));
        let at = claims(json!({"sub": "u", "iat": 900_000}));
        let newer = claims(json!({"sub": "u", "iat": 900_001}));
        let no_iat = claims(json!({"sub": "u"}));
        assert_eq!(
            set.check("main", &old, "client_id"),
            Err(Revoked { kind: Kind::Sub })
        );
        assert!(set.check("main", &at, "client_id").is_err());
        assert_eq!(set.check("main", &newer, "client_id"), Ok(()));
        assert!(set.check("main", &no_iat, "client_id").is_err());
        let machine = claims(json!({"client_id": "m2m", "iat": 1}));
        assert_eq!(
            set.check("main", &machine, "client_id"),
            Err(Revoked {
                kind: Kind::ClientId
            })
        );
        let id_token = claims(json!({"aud": "m2m", "iat": 1}));
        assert!(set.check("main", &id_token, "aud").is_err());
        assert_eq!(set.check("main", &id_token, "client_id"), Ok(()));
    }

    #[test]
    fn expired_entries_are_dropped_and_duplicates_kept_once() {
        let a = entry("main", json!({"jti": "j"}));
        let mut later = a.clone();
        later.expires_at += 10;
        let set = RevocationSet::new([a.clone(), later.clone()], NOW);
        assert_eq!(set.entries(), &[later.clone()]);
        assert_eq!(set.count(Kind::Jti), 1);
        assert_eq!(set.next_expiry(), Some(later.expires_at));
        let gone = RevocationSet::new([a.clone()], a.expires_at);
        assert!(gone.is_empty());
        assert_eq!(
            gone.check("main", &claims(json!({"jti": "j"})), "client_id"),
            Ok(())
        );
    }
}
