//! The verified-token cache (reference section 3.6): bounded, concurrent (sharded, no global lock), keyed
//! by the token string stored once. An entry is used only while now < exp + clock_skew and
//! while the exact key that verified it is still in the issuer's current set, so a kid
//! that leaves the set (or is replaced) takes its cached tokens with it at once.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use quick_cache::sync::Cache;

use crate::auth::{Issuer, Verified};

pub struct VerifyCache {
    /// `None` when `token.cache_entries` is 0.
    entries: Option<Cache<Box<str>, Arc<Verified>>>,
}

impl std::fmt::Debug for VerifyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyCache")
            .field("enabled", &self.entries.is_some())
            .finish_non_exhaustive()
    }
}

impl VerifyCache {
    pub fn new(capacity: usize) -> VerifyCache {
        VerifyCache {
            entries: (capacity > 0).then(|| Cache::new(capacity)),
        }
    }

    pub fn enabled(&self) -> bool {
        self.entries.is_some()
    }

    /// A cached verdict still valid at `now` against the issuers' current key sets.
    pub fn get(&self, token: &str, issuers: &[Issuer], now: SystemTime) -> Option<Arc<Verified>> {
        let entries = self.entries.as_ref()?;
        let verified = entries.get(token)?;
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
            entries.insert(token.into(), verified);
        }
    }
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
        let cache = VerifyCache::new(16);
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
        let cache = VerifyCache::new(16);
        cache.insert("tok", verified(&issuers[0]));
        assert!(cache.get("tok", &issuers, at(EXP + 29.0)).is_some());
        assert!(cache.get("tok", &issuers, at(EXP + 30.0)).is_none());
    }

    #[test]
    fn a_kid_that_leaves_the_set_takes_its_cached_tokens_with_it() {
        let issuers = vec![issuer(0)];
        let cache = VerifyCache::new(16);
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
        let cache = VerifyCache::new(16);
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
        let cache = VerifyCache::new(16);
        cache.insert("tok", verified(&issuers[0]));
        issuers[0].keys.clear();
        assert!(cache.get("tok", &issuers, at(EXP - 1.0)).is_none());
    }

    #[test]
    fn zero_entries_disables_the_cache() {
        let issuers = vec![issuer(0)];
        let cache = VerifyCache::new(0);
        assert!(!cache.enabled());
        cache.insert("tok", verified(&issuers[0]));
        assert!(cache.get("tok", &issuers, at(EXP - 1.0)).is_none());
    }
}
