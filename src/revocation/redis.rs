//! `revocation.store: redis` (reference section 8): the list shared by every replica through
//! one Redis, followed through a change log stream and kept whole in this process, so the
//! request path never waits on Redis. Runs in a background task; `add`/`remove` are bounded.
//!
//! **Layout.** An entry is the string key `{prefix}rv:{issuer}:{kind}:{id}` holding the
//! entry's JSON and expiring at its `expires_at` (`SET ... PXAT`); every change is also
//! appended to the stream `{prefix}rv:log` (`op` `add`|`del`, `entry` JSON), trimmed on each
//! append to `max_token_lifetime` (`XADD ... MINID <now - lifetime>`). Key and record are
//! written in one `MULTI`/`EXEC`. The keys hold every live entry; the log gives the order and
//! where to resume. No hash tag: standalone Redis needs none (tested: 7.0). Redis Cluster
//! is not supported (no `MOVED` handling, `SCAN` of one node); it would also need key and
//! log in one slot, which a hash tag in `key_prefix` (`{tokengate}:`) gives. Sentinel and
//! Unix socket URLs are refused.
//!
//! **Reading.** Load: the log's last id `L` first, then `SCAN MATCH {prefix}rv:* TYPE
//! string` + `MGET`; then `XREAD BLOCK 1000` from `L`, so an entry written during the scan
//! is read from the log if the scan missed it. After each read the list is marked synced.
//! On failure: back off (jittered, 100 ms doubling to 5 s), reconnect, and resume from the
//! last id, or reload from the keys when the log is gone, went back, or starts after that id
//! (trimmed while away, or Redis restarted without its data). Each slot remembers the id of
//! the change that set it, so this replica's own writes apply at once (read-your-writes)
//! and an older change never undoes a newer one. Expired entries leave within a second.
//!
//! **Client.** redis-rs (`redis` 1.8.1, BSD-3-Clause, MSRV 1.88; the toolchain is 1.95,
//! and jsonwebtoken 11 and tonic 0.14 already need 1.88): checked 2026-12-01, 16 releases
//! in 2026 (1.0.1 2025-12-11 to 1.8.1 2026-10-30), several maintainers. Features
//! `tokio-comp` and `streams` only: no redis TLS feature, because its `root_cert` replaces
//! the roots rather than adding to them and it would pull rustls-native-certs; we hand
//! redis-rs our own rustls (aws-lc) stream instead (`connect.rs`), and reconnect ourselves
//! rather than through `ConnectionManager`, which cannot take a custom stream. redis-rs
//! pulls `url` (with idna and the icu crates), combine, arcstr, async-lock, xxhash-rust; no
//! ring. Its default response timeout (500 ms) is never used: the reader's exceeds `BLOCK`.

mod connect;
mod keys;
mod local;
mod reader;
pub mod settings;
mod writer;

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::Rng;
use redis::aio::MultiplexedConnection;
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::revocation::entry::Entry;
use crate::revocation::list::Revocations;
use crate::revocation::store::{Store, StoreError, StoreFuture};
use connect::{Connector, Failure, Health};
use keys::{Change, Keys, LogId};
use local::Local;
use writer::Writer;

pub use connect::SetupError;
pub use settings::{redact, RedisSettings};

/// How long one `XREAD` waits for a change.
const BLOCK: Duration = Duration::from_millis(1000);
/// Records per `XREAD`; a full batch is followed at once by the next.
const BATCH: usize = 1000;
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The Redis revocation store. Build it with [`RedisStore::new`], spawn
/// `Arc::clone(&store).run()`, and hand it to the admin API as `Arc<dyn Store>`.
pub struct RedisStore {
    list: Arc<Revocations>,
    local: Arc<Mutex<Local>>,
    connector: Arc<Connector>,
    writer: Writer,
    keys: Keys,
    /// The reader's response timeout: `BLOCK` plus the settings' timeout.
    read_timeout: Duration,
    reader_health: Health,
    loads: AtomicU64,
}

impl RedisStore {
    /// Checks the settings (URL, CA bundle) and prepares the connections; connects nothing.
    pub fn new(settings: &RedisSettings, list: Arc<Revocations>) -> Result<Self, SetupError> {
        let connector = Arc::new(Connector::new(settings)?);
        let keys = Keys::new(&settings.key_prefix);
        let url = redact(&settings.url);
        Ok(RedisStore {
            list,
            local: Arc::new(Mutex::new(Local::default())),
            writer: Writer::new(
                Arc::clone(&connector),
                keys.clone(),
                settings.max_token_lifetime,
                settings.timeout,
                Health::new("writer", url.clone()),
            ),
            connector,
            keys,
            read_timeout: BLOCK + settings.timeout,
            reader_health: Health::new("reader", url),
            loads: AtomicU64::new(0),
        })
    }

    /// How many full loads from the keys have completed (the first one and every reload).
    pub fn loads(&self) -> u64 {
        self.loads.load(Ordering::Acquire)
    }

    async fn write(&self, change: &Change) -> Result<bool, StoreError> {
        let written =
            self.writer
                .write(change, unix_ms())
                .await
                .map_err(|f| StoreError::Unavailable {
                    cause: f.to_string(),
                })?;
        let mut local = self.lock().await;
        if local.apply(change, written.id) {
            self.publish(local, unix_ms() / 1000).await;
        }
        Ok(written.existed)
    }

    async fn lock(&self) -> OwnedMutexGuard<Local> {
        Arc::clone(&self.local).lock_owned().await
    }

    /// Prunes `local` at `now` (Unix seconds) and publishes its set, built on the blocking
    /// pool: indexing 100,000 entries must not stall the request path's workers.
    async fn publish(&self, mut local: OwnedMutexGuard<Local>, now: u64) {
        let list = Arc::clone(&self.list);
        let built = tokio::task::spawn_blocking(move || list.publish(local.snapshot(now))).await;
        if let Err(e) = built {
            tracing::error!(error = %e, "revocation store: building the list failed");
        }
    }

    /// Follows Redis forever: connect, load or resume, read; on failure back off and retry.
    async fn follow(&self) {
        let mut needs_load = true;
        let mut backoff = FIRST_BACKOFF;
        loop {
            let Err(failure) = self.session(&mut needs_load, &mut backoff).await;
            self.reader_health.failed(&failure);
            let pause = backoff.mul_f64(rand::rng().random_range(0.5..=1.0));
            tokio::time::sleep(pause).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// One connection's life, until it fails.
    async fn session(
        &self,
        needs_load: &mut bool,
        backoff: &mut Duration,
    ) -> Result<Infallible, Failure> {
        let mut connection = self.connector.connect(self.read_timeout).await?;
        if !*needs_load {
            let position = self.local.lock().await.position();
            let bounds = reader::bounds(&mut connection, &self.keys).await?;
            if reader::must_reload(bounds, position) {
                tracing::info!(%position, "revocation store: log trimmed, recreated or rewound while away; reloading from the keys");
                *needs_load = true;
            }
        }
        if *needs_load {
            self.load(&mut connection).await?;
            *needs_load = false;
        }
        self.reader_health.ok();
        *backoff = FIRST_BACKOFF;
        loop {
            self.catch_up(&mut connection).await?;
        }
    }

    /// A full load from the keys, followed from the log's last id taken before the scan.
    async fn load(&self, connection: &mut MultiplexedConnection) -> Result<(), Failure> {
        let started_ms = unix_ms();
        let at = reader::last_id(connection, &self.keys)
            .await?
            .unwrap_or(LogId::ZERO);
        let (entries, skipped) = reader::load_entries(connection, &self.keys).await?;
        let count = entries.len();
        let mut local = self.lock().await;
        local.replace(entries, at);
        self.publish(local, unix_ms() / 1000).await;
        self.list.mark_synced(started_ms);
        self.loads.fetch_add(1, Ordering::AcqRel);
        let took_ms = unix_ms().saturating_sub(started_ms);
        tracing::info!(entries = count, skipped, took_ms, log_id = %at, "revocation store: list loaded from redis");
        Ok(())
    }

    /// Reads until a batch comes back short (the list is then current), applies the records,
    /// publishes once, and marks the list synced.
    async fn catch_up(&self, connection: &mut MultiplexedConnection) -> Result<(), Failure> {
        let block_ms = u64::try_from(BLOCK.as_millis()).unwrap_or(1000);
        let mut changed = false;
        loop {
            let after = self.local.lock().await.position();
            let batch = reader::read(connection, &self.keys, after, BATCH, block_ms).await?;
            let replied_ms = unix_ms();
            let full = batch.len() >= BATCH;
            let mut local = self.lock().await;
            let mut foreign = 0;
            for (id, change) in &batch {
                match change {
                    Some(change) => changed |= local.apply(change, *id),
                    None => foreign += 1,
                }
                local.advance(*id);
            }
            if foreign > 0 {
                tracing::warn!(
                    records = foreign,
                    "revocation store: skipped log records tokengate did not write"
                );
            }
            if !full {
                if changed {
                    self.publish(local, replied_ms / 1000).await;
                }
                self.list.mark_synced(replied_ms);
                return Ok(());
            }
        }
    }

    /// Rebuilds the set when its next entry expires (checked every second), whether or not
    /// Redis is reachable.
    async fn expire(&self) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            let now = unix_ms() / 1000;
            if self
                .list
                .current()
                .next_expiry()
                .is_some_and(|at| at <= now)
            {
                let local = self.lock().await;
                self.publish(local, now).await;
            }
        }
    }
}

impl Store for RedisStore {
    fn add(&self, entry: Entry) -> StoreFuture<'_, Result<(), StoreError>> {
        Box::pin(async move { self.write(&Change::Add(entry)).await.map(|_| ()) })
    }

    fn remove(&self, entry: Entry) -> StoreFuture<'_, Result<bool, StoreError>> {
        Box::pin(async move { self.write(&Change::Del(entry)).await })
    }

    fn run(self: Arc<Self>) -> StoreFuture<'static, ()> {
        Box::pin(async move {
            tokio::select! {
                () = self.follow() => {}
                () = self.expire() => {}
            }
        })
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
