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
    connection: Mutex<Option<MultiplexedConnection>>,
    health: Health,
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
            connection: Mutex::new(None),
            health,
        }
    }

    /// Writes `change` at `now_ms` (Unix milliseconds):
    /// `SET key json PXAT expires` or `DEL key`, then `XADD log MINID <now - lifetime> * op
    /// <op> entry <json>`, atomically. A kept connection found closed (Redis restarted) is
    /// replaced and the write tried once more; a timeout is not retried.
    pub async fn write(&self, change: &Change, now_ms: u64) -> Result<Written, Failure> {
        let (connection, reused) = self.connection().await.inspect_err(|f| self.failed(f))?;
        let mut result = self.try_write(connection, change, now_ms).await;
        if reused && result.as_ref().is_err_and(Failure::is_dropped_connection) {
            self.drop_connection().await;
            result = match self.connection().await {
                Ok((connection, _)) => self.try_write(connection, change, now_ms).await,
                Err(f) => Err(f),
            };
        }
        match &result {
            Ok(_) => self.health.ok(),
            Err(failure) => {
                // The next write opens a new connection.
                self.drop_connection().await;
                self.failed(failure);
            }
        }
        result
    }

    fn failed(&self, failure: &Failure) {
        self.health.failed(failure);
    }

    async fn drop_connection(&self) {
        *self.connection.lock().await = None;
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

    /// The shared connection and whether it was already open; opened (under the lock, so
    /// callers queue behind one attempt) when there is none.
    async fn connection(&self) -> Result<(MultiplexedConnection, bool), Failure> {
        let mut slot = self.connection.lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok((c.clone(), true));
        }
        let c = self.connector.connect(self.timeout).await?;
        *slot = Some(c.clone());
        Ok((c, false))
    }
}
