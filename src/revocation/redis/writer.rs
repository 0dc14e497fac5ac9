//! The write path: the entry key and its log record in one `MULTI`/`EXEC` on a shared
//! connection that is reopened after a failure; every step bounded by the timeout, so
//! `add`/`remove` answer (503) even when Redis accepts connections and never replies.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::Value;
use tokio::sync::Mutex;

use crate::revocation::redis::connect::{Connector, Failure, Health, Step};
use crate::revocation::redis::keys::{Change, Keys, LogId};

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// The log record's id.
    pub id: LogId,
    /// For a deletion: whether the key existed.
    pub existed: bool,
}

pub struct Writer {
    connector: Arc<Connector>,
    keys: Keys,
    max_token_lifetime: Duration,
    timeout: Duration,
    connection: Arc<Mutex<Slot>>,
    health: Health,
}

/// The shared connection, numbered so a failure forgets only the connection it met.
#[derive(Default)]
struct Slot {
    generation: u64,
    connection: Option<MultiplexedConnection>,
}

/// A connection handed to one write.
struct Lease {
    connection: MultiplexedConnection,
    generation: u64,
    reused: bool,
}

impl Writer {
    pub fn new(
        connector: Arc<Connector>,
        keys: Keys,
        max_token_lifetime: Duration,
        timeout: Duration,
        health: Health,
    ) -> Writer {
        Writer {
            connector,
            keys,
            max_token_lifetime,
            timeout,
            connection: Arc::new(Mutex::new(Slot::default())),
            health,
        }
    }

    /// Writes `change` at `now_ms` (Unix milliseconds):
    /// `SET key json PXAT expires` or `DEL key`, then `XADD log MINID <now - lifetime> * op
    /// <op> entry <json>`, atomically. A kept connection found closed (Redis restarted) is
    /// replaced and the write tried once more; a timeout is not retried. The whole call,
    /// waiting for other writers' connection attempts included, takes at most twice the
    /// timeout.
    pub async fn write(&self, change: &Change, now_ms: u64) -> Result<Written, Failure> {
        let bound = self.timeout * 2;
        let result = tokio::time::timeout(bound, self.write_or_retry(change, now_ms))
            .await
            .unwrap_or(Err(Failure::Timeout {
                step: Step::Write,
                after: bound,
            }));
        match &result {
            Ok(_) => self.health.ok(),
            Err(failure) => self.health.failed(failure),
        }
        result
    }

    async fn write_or_retry(&self, change: &Change, now_ms: u64) -> Result<Written, Failure> {
        let lease = self.connection().await?;
        let (generation, reused) = (lease.generation, lease.reused);
        let result = self.try_write(lease.connection, change, now_ms).await;
        if result.is_err() {
            self.forget(generation).await;
        }
        match result {
            Err(f) if reused && f.is_dropped_connection() => {
                let lease = self.connection().await?;
                let generation = lease.generation;
                let result = self.try_write(lease.connection, change, now_ms).await;
                if result.is_err() {
                    self.forget(generation).await;
                }
                result
            }
            result => result,
        }
    }

    /// Makes the next write open a new connection, unless one newer than `generation` is
    /// already there. The lock is held by others only to clone the connection or while
    /// opening a new one (then this one is already forgotten).
    async fn forget(&self, generation: u64) {
        let mut slot = self.connection.lock().await;
        if slot.generation == generation {
            slot.connection = None;
        }
    }

    async fn try_write(
        &self,
        mut connection: MultiplexedConnection,
        change: &Change,
        now_ms: u64,
    ) -> Result<Written, Failure> {
        let entry = change.entry();
        let key = self.keys.entry(entry);
        let json = change.entry_json();
        let mut pipe = redis::pipe();
        pipe.atomic();
        match change {
            Change::Add(_) => {
                // PXAT in the past deletes the key; 0 is refused, hence the floor.
                let expires_ms = entry.expires_at.saturating_mul(1000).max(1);
                pipe.cmd("SET")
                    .arg(&key)
                    .arg(&json)
                    .arg("PXAT")
                    .arg(expires_ms);
            }
            Change::Del(_) => {
                pipe.cmd("DEL").arg(&key);
            }
        }
        let lifetime_ms = u64::try_from(self.max_token_lifetime.as_millis()).unwrap_or(u64::MAX);
        pipe.cmd("XADD")
            .arg(self.keys.log())
            .arg("MINID")
            .arg(now_ms.saturating_sub(lifetime_ms))
            .arg("*")
            .arg("op")
            .arg(change.op())
            .arg("entry")
            .arg(&json);
        let reply = tokio::time::timeout(
            self.timeout,
            pipe.query_async::<(Value, String)>(&mut connection),
        )
        .await
        .map_err(|_| Failure::Timeout {
            step: Step::Write,
            after: self.timeout,
        })?
        .map_err(Failure::redis(Step::Write))?;
        let (first, id) = reply;
        let id = LogId::parse(&id).ok_or(Failure::Reply { step: Step::Write })?;
        let existed = matches!(first, Value::Int(n) if n > 0);
        Ok(Written { id, existed })
    }

    /// The shared connection (reused), or a new one opened under the lock, so callers
    /// queue behind one attempt.
    async fn connection(&self) -> Result<Lease, Failure> {
        let mut slot = self.connection.lock().await;
        if let Some(c) = slot.connection.as_ref() {
            return Ok(Lease {
                connection: c.clone(),
                generation: slot.generation,
                reused: true,
            });
        }
        let c = self.connector.connect(self.timeout).await?;
        slot.generation += 1;
        slot.connection = Some(c.clone());
        Ok(Lease {
            connection: c,
            generation: slot.generation,
            reused: false,
        })
    }
}
