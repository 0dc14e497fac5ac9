//! The unknown-kid refetch gate between requests and an issuer's key task (reference section 4):
//! concurrent requests share one fetch, and none starts within `min_refresh_interval` of
//! the last fetch's start. A request only reads atomics and subscribes: it never locks,
//! fetches or blocks here.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;

use tokio::sync::{watch, Notify};
use tokio::time::Instant;

/// One issuer's single-flight state. Requests call [`RefetchGate::refetch_for_unknown_kid`];
/// the key task alone calls the rest.
#[derive(Debug)]
pub struct RefetchGate {
    /// Requests ask the key task for a refetch here (permits collapse into one).
    refetch: Notify,
    /// Counts finished fetches; waiters see it change when the fetch they wait on ends.
    fetched: watch::Sender<u64>,
    fetching: AtomicBool,
    /// Milliseconds after `origin` at which the last fetch of any kind started.
    last_start_ms: AtomicU64,
    origin: Instant,
    /// The kid the last refetch was asked for (ALB issuers fetch one key per kid; a JWKS
    /// fetch ignores it). Several askers before the fetch starts: the last one wins.
    wanted: ArcSwapOption<String>,
}

/// `last_start_ms` before any fetch.
const NEVER: u64 = u64::MAX;

impl Default for RefetchGate {
    fn default() -> RefetchGate {
        RefetchGate::new()
    }
}

impl RefetchGate {
    /// A gate that has seen no fetch: the first refetch may start at once.
    pub fn new() -> RefetchGate {
        RefetchGate {
            refetch: Notify::new(),
            fetched: watch::Sender::new(0),
            fetching: AtomicBool::new(false),
            last_start_ms: AtomicU64::new(NEVER),
            origin: Instant::now(),
            wanted: ArcSwapOption::empty(),
        }
    }

    /// The key task marks the start of every fetch (`min_refresh_interval` counts from it).
    pub fn fetch_started(&self) {
        let ms = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(NEVER - 1);
        self.last_start_ms.store(ms, Ordering::SeqCst);
        self.fetching.store(true, Ordering::SeqCst);
    }

    /// The key task marks the end of every fetch, waking every request waiting on it.
    pub fn fetch_finished(&self) {
        self.fetching.store(false, Ordering::SeqCst);
        self.fetched.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// How long until a new fetch may start, `floor` after the last one started
    /// (`Duration::ZERO` when it may start now). Millisecond resolution.
    pub fn until_refetch_allowed(&self, floor: Duration) -> Duration {
        match self.last_start_ms.load(Ordering::SeqCst) {
            NEVER => Duration::ZERO,
            ms => (Duration::from_millis(ms) + floor).saturating_sub(self.origin.elapsed()),
        }
    }

    /// For a request holding a token with an unknown kid: a receiver that changes when the
    /// next fetch ends, or `None` when no fetch is running and `floor`
    /// (`min_refresh_interval`) forbids a new one (the caller answers 401 at once). Never
    /// fetches, never blocks.
    pub fn refetch_for_unknown_kid(&self, floor: Duration) -> Option<watch::Receiver<u64>> {
        let receiver = self.fetched.subscribe();
        if self.fetching.load(Ordering::SeqCst) {
            return Some(receiver);
        }
        if !self.until_refetch_allowed(floor).is_zero() {
            return None;
        }
        self.refetch.notify_one();
        Some(receiver)
    }

    /// [`RefetchGate::refetch_for_unknown_kid`] for an ALB issuer, whose key task fetches the
    /// one key `kid` names: `kid` is recorded when this call asks for the fetch. Never
    /// fetches, never blocks.
    pub fn refetch_for_kid(&self, floor: Duration, kid: &str) -> Option<watch::Receiver<u64>> {
        let receiver = self.fetched.subscribe();
        if self.fetching.load(Ordering::SeqCst) {
            return Some(receiver);
        }
        if !self.until_refetch_allowed(floor).is_zero() {
            return None;
        }
        self.wanted.store(Some(Arc::new(kid.to_owned())));
        self.refetch.notify_one();
        Some(receiver)
    }

    /// The kid asked for since the last call (the ALB key task, when woken).
    pub fn take_wanted(&self) -> Option<Arc<String>> {
        self.wanted.swap(None)
    }

    /// The key task waits here for refetch requests.
    pub async fn refetch_requested(&self) {
        self.refetch.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_refetch_floor_counts_from_the_start_of_the_last_fetch() {
        let keys = RefetchGate::new();
        let floor = Duration::from_secs(30);
        assert!(keys.until_refetch_allowed(floor).is_zero(), "never fetched");
        keys.fetch_started();
        keys.fetch_finished();
        assert_eq!(keys.until_refetch_allowed(floor), floor);
        assert!(
            keys.refetch_for_unknown_kid(floor).is_none(),
            "inside the floor: refused at once"
        );
        tokio::time::advance(Duration::from_secs(29)).await;
        assert_eq!(keys.until_refetch_allowed(floor), Duration::from_secs(1));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(keys.until_refetch_allowed(floor).is_zero());
        let mut waiting = keys.refetch_for_unknown_kid(floor).unwrap();
        // The key task is woken by the request...
        tokio::time::timeout(Duration::from_millis(1), keys.refetch_requested())
            .await
            .unwrap();
        // ...and every waiter sees the one fetch end.
        let mut second = keys.refetch_for_unknown_kid(floor).unwrap();
        keys.fetch_started();
        let mut third = keys
            .refetch_for_unknown_kid(floor)
            .expect("a fetch is running: wait on it");
        keys.fetch_finished();
        waiting.changed().await.unwrap();
        second.changed().await.unwrap();
        third.changed().await.unwrap();
    }
}
