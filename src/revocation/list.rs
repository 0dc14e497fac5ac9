//! The shared handle every request reads: the current [`RevocationSet`] behind `ArcSwap`,
//! whether the store has completed its first load, and when the list was last known to be
//! complete. The request path only `load()`s: no lock, no I/O.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use serde_json::{Map, Value};

use crate::revocation::entry::Kind;
use crate::revocation::set::{RevocationClaims, RevocationSet, Revoked};

/// `revocation.on_unavailable`: what token routes do once the list is older than `max_lag`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnUnavailable {
    /// 503 `keys_unavailable` (fail closed).
    Deny,
    /// Go on with the last list; a warning is logged.
    Allow,
}

impl OnUnavailable {
    /// The word the file uses for it (`on_unavailable: deny`).
    pub const fn as_str(self) -> &'static str {
        match self {
            OnUnavailable::Deny => "deny",
            OnUnavailable::Allow => "allow",
        }
    }
}

/// Why a verified token may not pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// An entry names it: 401 `invalid_token`, `token revoked`.
    Revoked(Revoked),
    /// The list has not loaded yet, or is older than `max_lag` with `on_unavailable: deny`:
    /// 503 `keys_unavailable`.
    Unavailable,
}

/// The process's revocation list. Written by one store task (and the admin API through the
/// store); read by every request.
#[derive(Debug)]
pub struct Revocations {
    set: ArcSwap<RevocationSet>,
    loaded: AtomicBool,
    /// Unix milliseconds when the list was last known to be complete; 0 before the first load.
    synced_at_ms: AtomicU64,
    /// `None` for stores that are always complete (memory).
    max_lag: Option<Duration>,
    on_unavailable: OnUnavailable,
}

impl Revocations {
    /// An empty, not yet loaded list. `max_lag` is `None` for a store that cannot fall
    /// behind (memory).
    pub fn new(max_lag: Option<Duration>, on_unavailable: OnUnavailable) -> Revocations {
        Revocations {
            set: ArcSwap::from_pointee(RevocationSet::default()),
            loaded: AtomicBool::new(false),
            synced_at_ms: AtomicU64::new(0),
            max_lag,
            on_unavailable,
        }
    }

    /// The current set (for `GET /revocations`, metrics and persistence).
    pub fn current(&self) -> Arc<RevocationSet> {
        self.set.load_full()
    }

    /// Replaces the set as a whole; requests see the old or the new one, never a mix.
    pub fn publish(&self, set: RevocationSet) {
        self.set.store(Arc::new(set));
    }

    /// Records that the list is complete as of `now_ms` (Unix milliseconds); the first call
    /// makes the list loaded (`/readyz`).
    pub fn mark_synced(&self, now_ms: u64) {
        self.synced_at_ms.store(now_ms, Ordering::Release);
        self.loaded.store(true, Ordering::Release);
    }

    /// Whether the first load has completed.
    pub fn is_loaded(&self) -> bool {
        self.loaded.load(Ordering::Acquire)
    }

    /// Time since the list was last known complete, `None` before the first load. A store
    /// that cannot fall behind (`max_lag` `None`: memory) is complete once loaded: zero.
    pub fn sync_age(&self, now_ms: u64) -> Option<Duration> {
        if !self.is_loaded() {
            return None;
        }
        if self.max_lag.is_none() {
            return Some(Duration::ZERO);
        }
        let at = self.synced_at_ms.load(Ordering::Acquire);
        Some(Duration::from_millis(now_ms.saturating_sub(at)))
    }

    /// Whether the list is too old to be trusted (`max_lag` passed), whatever
    /// `on_unavailable` then decides.
    pub fn is_lagging(&self, now_ms: u64) -> bool {
        match (self.max_lag, self.sync_age(now_ms)) {
            (_, None) => true,
            (None, Some(_)) => false,
            (Some(lag), Some(age)) => age > lag,
        }
    }

    /// The request-path check for a verified token of `issuer` (configured name):
    /// see [`RevocationSet::check`] for `client_claim`. `now_ms` is Unix milliseconds.
    pub fn check(
        &self,
        issuer: &str,
        claims: &Map<String, Value>,
        client_claim: &str,
        now_ms: u64,
    ) -> Result<(), Refusal> {
        self.check_claims(
            issuer,
            &RevocationClaims::read(claims, client_claim),
            now_ms,
        )
    }

    /// [`Revocations::check`] of claims read once, when the token was verified.
    pub fn check_claims(
        &self,
        issuer: &str,
        claims: &RevocationClaims,
        now_ms: u64,
    ) -> Result<(), Refusal> {
        if !self.is_loaded() {
            return Err(Refusal::Unavailable);
        }
        if self.on_unavailable == OnUnavailable::Deny && self.is_lagging(now_ms) {
            return Err(Refusal::Unavailable);
        }
        self.set
            .load()
            .check_claims(issuer, claims)
            .map_err(Refusal::Revoked)
    }

    /// Entries in force by kind, for `tokengate_revocations{kind}`.
    pub fn counts(&self) -> [(Kind, usize); 4] {
        let set = self.set.load();
        Kind::ALL.map(|k| (k, set.count(k)))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::revocation::entry::Entry;

    fn claims() -> Map<String, Value> {
        json!({"origin_jti": "A", "sub": "u"})
            .as_object()
            .unwrap()
            .clone()
    }

    #[test]
    fn an_unloaded_list_is_unavailable_then_applies_its_entries() {
        let list = Revocations::new(None, OnUnavailable::Deny);
        assert_eq!(
            list.check("main", &claims(), "client_id", 5),
            Err(Refusal::Unavailable)
        );
        let entry = Entry::from_json(
            &json!({"issuer": "main", "origin_jti": "A"}),
            &["main"],
            1,
            86_400,
        )
        .unwrap();
        list.publish(RevocationSet::new([entry], 1));
        list.mark_synced(1_000);
        assert!(matches!(
            list.check("main", &claims(), "client_id", 2_000),
            Err(Refusal::Revoked(_))
        ));
        assert_eq!(list.check("other", &claims(), "client_id", 2_000), Ok(()));
    }

    #[test]
    fn past_max_lag_deny_refuses_and_allow_goes_on() {
        for (posture, want) in [
            (OnUnavailable::Deny, Err(Refusal::Unavailable)),
            (OnUnavailable::Allow, Ok(())),
        ] {
            let list = Revocations::new(Some(Duration::from_secs(10)), posture);
            list.mark_synced(1_000);
            assert_eq!(list.check("main", &claims(), "client_id", 11_000), Ok(()));
            assert!(list.is_lagging(11_001));
            assert_eq!(list.check("main", &claims(), "client_id", 11_001), want);
        }
    }
}
