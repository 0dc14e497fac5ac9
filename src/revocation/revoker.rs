//! The process's revocation: the list every request checks, the store that keeps it, and
//! the lifetime new entries get. Opened once at start-up and kept across reloads (a reload
//! never drops entries or forgets that the list loaded). `check` runs per request: it
//! never locks, allocates or does I/O.

use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use crate::config::revocation::{RevocationConfig, StoreKind};
use crate::config::TokenUse;
use crate::revocation::entry::{Entry, Target};
use crate::revocation::list::{Refusal, Revocations};
use crate::revocation::memory::MemoryStore;
use crate::revocation::redis::{RedisSettings, RedisStore, SetupError};
use crate::revocation::set::RevocationClaims;
use crate::revocation::store::{Clock, Store};

/// Why no store could be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The configured store is not part of this build.
    /// The `redis` block cannot make a client (bad URL, unreadable CA file, a CA file
    /// with `redis://`); the error names the key and never the password.
    #[error(transparent)]
    Redis(#[from] SetupError),
}

/// The list, its store, and what new entries are made with.
pub struct Revoker {
    /// What every request reads.
    pub list: Arc<Revocations>,
    /// What the admin API, the logout route and the CLI write through.
    pub store: Arc<dyn Store>,
    /// `memory` or `redis`, for `/readyz` and logs.
    pub store_kind: &'static str,
    /// `revocation.max_token_lifetime`, in seconds.
    pub max_token_lifetime: u64,
}

impl std::fmt::Debug for Revoker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Revoker")
            .field("store", &self.store_kind)
            .field("loaded", &self.list.is_loaded())
            .field("max_token_lifetime", &self.max_token_lifetime)
            .finish_non_exhaustive()
    }
}

impl Revoker {
    /// Opens the configured store over a new, not yet loaded list. The caller spawns
    /// `store.run()`, which loads the list and keeps it current.
    pub fn open(
        config: &RevocationConfig,
        cache_dir: Option<&Path>,
        clock: Clock,
    ) -> Result<Revoker, OpenError> {
        let max_lag = match config.store {
            StoreKind::Memory => None,
            StoreKind::Redis(_) => Some(config.max_lag),
        };
        let list = Arc::new(Revocations::new(max_lag, config.on_unavailable));
        let store: Arc<dyn Store> = match &config.store {
            StoreKind::Memory => Arc::new(MemoryStore::new(Arc::clone(&list), cache_dir, clock)),
            StoreKind::Redis(redis) => {
                let mut settings = RedisSettings::new(redis.url.as_str());
                settings.ca_file = redis.ca_file.clone();
                settings.key_prefix = redis.key_prefix.clone();
                settings.max_token_lifetime = config.max_token_lifetime;
                Arc::new(RedisStore::new(&settings, Arc::clone(&list))?)
            }
        };
        Ok(Revoker {
            list,
            store,
            store_kind: config.store.as_str(),
            max_token_lifetime: config.max_token_lifetime.as_secs(),
        })
    }

    /// The request-path check of a verified token of `issuer` (configured name). The client
    /// is `client_id` for access tokens, `aud` for ID tokens and generic issuers' tokens.
    pub fn check(
        &self,
        issuer: &str,
        claims: &Map<String, Value>,
        token_use: Option<TokenUse>,
        now: SystemTime,
    ) -> Result<(), Refusal> {
        self.check_claims(issuer, &RevocationClaims::of(claims, token_use), now)
    }

    /// [`Revoker::check`] of the claims a verification read once
    /// ([`crate::auth::Verified::revocation`]): what the request path runs, cached verdicts
    /// included.
    pub fn check_claims(
        &self,
        issuer: &str,
        claims: &RevocationClaims,
        now: SystemTime,
    ) -> Result<(), Refusal> {
        let now_ms = now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        self.list.check_claims(issuer, claims, now_ms)
    }

    /// What a logout route lists for a verified token: its session (`origin_jti`: both token
    /// types and every refreshed token), else the token itself (`jti`); `None` when it has
    /// neither as a non-empty string. `now` is Unix seconds.
    pub fn logout_entry(
        &self,
        issuer: &str,
        claims: &Map<String, Value>,
        now: u64,
    ) -> Option<Entry> {
        let text = |name: &str| {
            claims
                .get(name)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let target = text("origin_jti")
            .map(Target::OriginJti)
            .or_else(|| text("jti").map(Target::Jti))?;
        Some(Entry::new(
            issuer.to_owned(),
            target,
            now,
            self.max_token_lifetime,
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::revocation::list::OnUnavailable;
    use crate::revocation::store::system_clock;

    fn config() -> RevocationConfig {
        RevocationConfig {
            store: StoreKind::Memory,
            max_token_lifetime: Duration::from_secs(60),
            max_lag: Duration::from_secs(10),
            on_unavailable: OnUnavailable::Deny,
            api_token: None,
        }
    }

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn logout_lists_the_session_else_the_token_else_nothing() {
        let r = Revoker::open(&config(), None, system_clock()).unwrap();
        let both = r
            .logout_entry("main", &claims(json!({"origin_jti": "o", "jti": "j"})), 100)
            .unwrap();
        assert_eq!(both.target, Target::OriginJti("o".into()));
        assert_eq!((both.created_at, both.expires_at), (100, 160));
        let jti = r
            .logout_entry("main", &claims(json!({"jti": "j", "origin_jti": ""})), 100)
            .unwrap();
        assert_eq!(jti.target, Target::Jti("j".into()));
        assert!(r
            .logout_entry("main", &claims(json!({"sub": "u"})), 100)
            .is_none());
    }

    #[test]
    fn the_client_is_client_id_for_access_tokens_and_aud_otherwise() {
        let r = Revoker::open(&config(), None, system_clock()).unwrap();
        let entry = Entry::new(
            "main".into(),
            Target::ClientId {
                client_id: "c".into(),
                before: 5.0,
            },
            1,
            u64::MAX / 2,
        );
        r.list
            .publish(crate::revocation::set::RevocationSet::new([entry], 1));
        r.list.mark_synced(1);
        let now = SystemTime::now();
        let access = claims(json!({"client_id": "c", "aud": "x", "iat": 4}));
        let id = claims(json!({"aud": "c", "iat": 4}));
        assert!(r
            .check("main", &access, Some(TokenUse::Access), now)
            .is_err());
        assert!(r.check("main", &id, Some(TokenUse::Id), now).is_err());
        assert!(r.check("main", &id, None, now).is_err());
        assert!(r.check("main", &id, Some(TokenUse::Access), now).is_ok());
    }
}
