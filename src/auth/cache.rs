//! The verified-token cache (reference section 3.6): bounded, concurrent (sharded, no global lock), keyed
//! by the token string stored once. An entry is used only while now < exp + clock_skew and
//! while the exact key that verified it is still in the issuer's current set, so a kid
//! that leaves the set (or is replaced) takes its cached tokens with it at once.
//!
//! Bounded twice: at most `token.cache_entries` entries, and at most `token.cache_max_bytes`
//! of estimated memory ([`entry_bytes`]). A cached Cognito token costs about 5.6 times its
//! length (a 1 KiB access token: ~6 KiB of RSS, `benches/cache_memory.rs`), so the entry
//! count alone let 65,536 entries hold ~380 MiB, which one user minting tokens (every
//! refresh gives a new one) could fill; the byte bound keeps a sidecar inside its memory
//! limit whatever the tokens' sizes and number.

use std::mem::size_of;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use quick_cache::sync::Cache;
use quick_cache::Weighter;
use serde_json::Value;

use crate::auth::{Issuer, Verified};

/// What an entry weighs in the cache: its estimated bytes, and at least
/// `cache_max_bytes / cache_entries`, so that no more than `cache_entries` fit.
#[derive(Clone)]
struct Entry {
    verified: Arc<Verified>,
    weight: u64,
}

#[derive(Clone, Copy)]
struct ByWeight;

impl Weighter<Box<str>, Entry> for ByWeight {
    fn weight(&self, _token: &Box<str>, entry: &Entry) -> u64 {
        entry.weight
    }
}

/// A typical cached entry, in bytes: sizes the cache's tables for `cache_max_bytes`.
const TYPICAL_ENTRY_BYTES: u64 = 6 * 1024;

pub struct VerifyCache {
    /// `None` when `token.cache_entries` is 0.
    entries: Option<Cache<Box<str>, Entry, ByWeight>>,
    /// The least weight of an entry: `cache_max_bytes / cache_entries`, rounded up.
    floor: u64,
}

impl std::fmt::Debug for VerifyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyCache")
            .field("enabled", &self.entries.is_some())
            .finish_non_exhaustive()
    }
}

impl VerifyCache {
    /// A cache of at most `entries` entries (`0`: no cache) and at most `max_bytes` bytes of
    /// estimated memory (`token.cache_entries`, `token.cache_max_bytes`; reference section
    /// 3.6). An entry estimated above the budget of one shard (`max_bytes` over up to
    /// 4 shards per CPU, each holding at least 32 typical entries) is not cached.
    pub fn new(entries: usize, max_bytes: u64) -> VerifyCache {
        let count = u64::try_from(entries).unwrap_or(u64::MAX);
        let max_bytes = max_bytes.max(1);
        let estimated = (max_bytes / TYPICAL_ENTRY_BYTES).clamp(1, count.max(1));
        VerifyCache {
            entries: (entries > 0).then(|| {
                Cache::with_weighter(
                    usize::try_from(estimated).unwrap_or(usize::MAX),
                    max_bytes,
                    ByWeight,
                )
            }),
            floor: max_bytes.div_ceil(count.max(1)),
        }
    }

    pub fn enabled(&self) -> bool {
        self.entries.is_some()
    }

    /// A cached verdict still valid at `now` against the issuers' current key sets.
    pub fn get(&self, token: &str, issuers: &[Issuer], now: SystemTime) -> Option<Arc<Verified>> {
        let entries = self.entries.as_ref()?;
        let verified = entries.get(token)?.verified;
        let issuer = issuers.get(verified.issuer)?;
        let now = now.duration_since(UNIX_EPOCH).ok()?.as_secs_f64();
        if now >= verified.exp + issuer.config.clock_skew.as_secs_f64() {
            return None;
        }
        let set = issuer.keys.load()?;
        let current = set.get(&verified.kid)?;
        if !Arc::ptr_eq(current, &verified.key) {
            return None;
        }
        Some(verified)
    }

    pub fn insert(&self, token: &str, verified: Arc<Verified>) {
        if let Some(entries) = &self.entries {
            let weight = entry_bytes(token, &verified).max(self.floor);
            entries.insert(token.into(), Entry { verified, weight });
        }
    }

    /// Entries held, and their total weight (bytes, each at least the floor).
    pub fn usage(&self) -> (usize, u64) {
        self.entries
            .as_ref()
            .map_or((0, 0), |c| (c.len(), c.weight()))
    }
}

/// Bytes glibc's malloc takes for a block of `n` bytes: its 8-byte header, rounded up to
/// 16, at least 32 (`malloc/malloc.c`, `request2size` and `MINSIZE` on 64-bit).
fn block(n: usize) -> u64 {
    if n == 0 {
        return 0;
    }
    u64::try_from((n + 8 + 15) & !15)
        .unwrap_or(u64::MAX)
        .max(32)
}

/// Estimated heap bytes of a JSON value's contents (a `serde_json::Map` is a `BTreeMap`:
/// nodes of up to 11 keys and values, about half full when built from unsorted keys).
fn value_bytes(value: &Value) -> u64 {
    match value {
        Value::String(s) => block(s.capacity()),
        Value::Array(items) => {
            block(items.capacity() * size_of::<Value>())
                + items.iter().map(value_bytes).sum::<u64>()
        }
        Value::Object(map) => map_bytes(map),
        Value::Null | Value::Bool(_) | Value::Number(_) => 0,
    }
}

fn map_bytes(map: &serde_json::Map<String, Value>) -> u64 {
    const NODE: usize = 11 * (size_of::<String>() + size_of::<Value>()) + 16;
    let nodes = map.len().div_ceil(6).max(usize::from(!map.is_empty()));
    let node_bytes = u64::try_from(nodes).unwrap_or(u64::MAX) * block(NODE);
    node_bytes
        + map
            .iter()
            .map(|(k, v)| block(k.capacity()) + value_bytes(v))
            .sum::<u64>()
}

/// A header value's bytes: its shared buffer (`bytes::Bytes`) and its text.
fn header_bytes(value: &http::HeaderValue) -> u64 {
    block(32) + block(value.len())
}

/// Estimated resident bytes of one cache entry for `token`: the token text (the key), the
/// verdict (parsed claims, identity header values, revocation claims, kid) and the cache's
/// slot. Within ~20% of the RSS each entry adds (`benches/cache_memory.rs` prints both).
pub fn entry_bytes(token: &str, v: &Verified) -> u64 {
    let identity = &v.identity;
    let headers = [
        Some(&identity.sub),
        Some(&identity.username),
        identity.email.as_ref(),
        Some(&identity.groups),
        identity.scope.as_ref(),
        Some(&identity.client_id),
        Some(&identity.token_use),
        Some(&identity.issuer),
        Some(&identity.claims),
    ];
    let revocation = &v.revocation;
    let boxed = |b: &Option<Box<str>>| b.as_ref().map_or(0, |s| block(s.len()));
    block(token.len())
        + block(size_of::<Verified>() + 16)
        + block(v.kid.capacity())
        + map_bytes(&v.claims)
        + headers.into_iter().flatten().map(header_bytes).sum::<u64>()
        + block(identity.sub_text.capacity())
        + boxed(&revocation.origin_jti)
        + boxed(&revocation.jti)
        + boxed(&revocation.sub)
        + boxed(&revocation.client)
        // The cache's slot: key, value and weight, its index entry, at ~70% load.
        + u64::try_from((size_of::<Box<str>>() + size_of::<Entry>() + 16) * 10 / 7)
            .unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use jsonwebtoken::DecodingKey;
    use serde_json::{Map, Value};

    use super::*;
    use crate::auth::Identity;
    use crate::config::{Alg, IssuerConfig, IssuerKind, TokenUse};
    use crate::jwks::{IssuerKeys, KeyFamily, KeySet, SetOrigin, VerifyKey};

    const EXP: f64 = 1_800_000_000.0;

    fn key(kid: &str) -> VerifyKey {
        VerifyKey {
            kid: kid.into(),
            alg: None,
            family: KeyFamily::Rsa,
            key: DecodingKey::from_rsa_raw_components(&[0xC5; 256], &[1, 0, 1]),
            parsed: None,
        }
    }

    fn issuer(skew: u64) -> Issuer {
        let keys = Arc::new(IssuerKeys::new());
        keys.publish(KeySet::new(
            vec![key("k1")],
            SetOrigin::Static,
            SystemTime::now(),
        ));
        Issuer {
            config: IssuerConfig {
                name: "main".into(),
                issuer: "https://idp".into(),
                jwks_uri: http::Uri::from_static("https://idp/jwks.json"),
                kind: IssuerKind::Cognito {
                    audiences: vec![],
                    client_ids: vec!["c".into()],
                    token_use: vec![TokenUse::Access],
                },
                algorithms: vec![Alg::RS256],
                clock_skew: Duration::from_secs(skew),
            },
            keys,
        }
    }

    fn verified(issuer: &Issuer) -> Arc<Verified> {
        let set = issuer.keys.load().unwrap();
        let v = http::HeaderValue::from_static("v");
        Arc::new(Verified {
            issuer: 0,
            kid: "k1".into(),
            generation: set.generation,
            key: Arc::clone(set.get("k1").unwrap()),
            exp: EXP,
            token_use: Some(TokenUse::Access),
            claims: Map::<String, Value>::new(),
            revocation: Default::default(),
            identity: Identity {
                sub: v.clone(),
                username: v.clone(),
                email: None,
                groups: v.clone(),
                scope: None,
                client_id: v.clone(),
                token_use: v.clone(),
                issuer: v.clone(),
                claims: v,
                sub_text: "s".into(),
            },
        })
    }

    fn at(secs: f64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs_f64(secs)
    }

    #[test]
    fn a_cached_verdict_is_returned_until_exp() {
        let issuers = vec![issuer(0)];
        let cache = VerifyCache::new(16, 1 << 20);
        let v = verified(&issuers[0]);
        cache.insert("tok", Arc::clone(&v));
        let hit = cache.get("tok", &issuers, at(EXP - 1.0)).unwrap();
        assert!(Arc::ptr_eq(&hit, &v));
        assert!(
            cache.get("tok", &issuers, at(EXP)).is_none(),
            "never after exp"
        );
        assert!(cache.get("other", &issuers, at(EXP - 1.0)).is_none());
    }

    #[test]
    fn clock_skew_extends_a_cached_verdict_like_a_fresh_one() {
        let issuers = vec![issuer(30)];
        let cache = VerifyCache::new(16, 1 << 20);
        cache.insert("tok", verified(&issuers[0]));
        assert!(cache.get("tok", &issuers, at(EXP + 29.0)).is_some());
        assert!(cache.get("tok", &issuers, at(EXP + 30.0)).is_none());
    }

    #[test]
    fn a_kid_that_leaves_the_set_takes_its_cached_tokens_with_it() {
        let issuers = vec![issuer(0)];
        let cache = VerifyCache::new(16, 1 << 20);
        cache.insert("tok", verified(&issuers[0]));
        issuers[0].keys.publish(KeySet::new(
            vec![key("k2")],
            SetOrigin::Fetch,
            SystemTime::now(),
        ));
        assert!(cache.get("tok", &issuers, at(EXP - 1.0)).is_none());
    }

    #[test]
    fn a_kid_reused_for_another_key_does_not_revive_cached_tokens() {
        let issuers = vec![issuer(0)];
        let cache = VerifyCache::new(16, 1 << 20);
        cache.insert("tok", verified(&issuers[0]));
        issuers[0].keys.publish(KeySet::new(
            vec![key("k1")],
            SetOrigin::Fetch,
            SystemTime::now(),
        ));
        assert!(cache.get("tok", &issuers, at(EXP - 1.0)).is_none());
    }

    #[test]
    fn an_issuer_that_lost_its_keys_gets_no_cached_verdicts() {
        let issuers = vec![issuer(0)];
        let cache = VerifyCache::new(16, 1 << 20);
        cache.insert("tok", verified(&issuers[0]));
        issuers[0].keys.clear();
        assert!(cache.get("tok", &issuers, at(EXP - 1.0)).is_none());
    }

    /// A verdict whose claims hold `bytes` of text in one claim.
    fn verified_with(issuer: &Issuer, bytes: usize) -> Arc<Verified> {
        let mut v = (*verified(issuer)).clone();
        v.claims
            .insert("custom:blob".into(), Value::String("x".repeat(bytes)));
        Arc::new(v)
    }

    #[test]
    fn the_byte_bound_holds_the_cache_whatever_the_number_of_tokens() {
        let issuers = [issuer(0)];
        // 1,000 entries allowed, 1 MiB: tokens with 10 KB of claims fit about a hundred.
        let cache = VerifyCache::new(1000, 1 << 20);
        for i in 0..500 {
            cache.insert(&format!("tok{i}"), verified_with(&issuers[0], 10_000));
        }
        let (held, weight) = cache.usage();
        assert!(weight <= 1 << 20, "{weight}");
        assert!((50..=105).contains(&held), "{held}");
    }

    #[test]
    fn the_entry_bound_holds_when_tokens_are_small() {
        let issuers = [issuer(0)];
        let cache = VerifyCache::new(4, 1 << 20);
        for i in 0..100 {
            cache.insert(&format!("tok{i}"), verified(&issuers[0]));
        }
        assert!(cache.usage().0 <= 4, "{:?}", cache.usage());
    }

    #[test]
    fn an_entry_weighs_its_token_and_its_claims() {
        let issuers = [issuer(0)];
        let small = entry_bytes("t", &verified(&issuers[0]));
        let long_token = entry_bytes(&"t".repeat(8000), &verified(&issuers[0]));
        let big_claims = entry_bytes("t", &verified_with(&issuers[0], 8000));
        assert!(long_token >= small + 7900, "{small} {long_token}");
        assert!(big_claims >= small + 7900, "{small} {big_claims}");
    }

    #[test]
    fn zero_entries_disables_the_cache() {
        let issuers = vec![issuer(0)];
        let cache = VerifyCache::new(0, 1 << 20);
        assert!(!cache.enabled());
        cache.insert("tok", verified(&issuers[0]));
        assert!(cache.get("tok", &issuers, at(EXP - 1.0)).is_none());
    }
}
