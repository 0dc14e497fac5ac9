//! The read path's Redis commands, on the reader's own connection (its response timeout
//! exceeds the `BLOCK` time): the log's first and last ids, a full load from the keys
//! (`SCAN ... TYPE string` + `MGET`), and one `XREAD BLOCK` after a given id.

use redis::aio::MultiplexedConnection;
use redis::streams::{StreamRangeReply, StreamReadReply};

use crate::revocation::entry::Entry;
use crate::revocation::redis::connect::{Failure, Step};
use crate::revocation::redis::keys::{parse_entry, Change, Keys, LogId};

/// Keys per `SCAN` step and `MGET`.
const SCAN_COUNT: usize = 1000;

/// The log's first and last record ids; `None` when the log is empty or missing.
pub async fn bounds(
    connection: &mut MultiplexedConnection,
    keys: &Keys,
) -> Result<Option<(LogId, LogId)>, Failure> {
    let first = edge(connection, keys, "XRANGE", "-", "+").await?;
    let last = edge(connection, keys, "XREVRANGE", "+", "-").await?;
    Ok(first.zip(last))
}

/// The log's last record id (where a load starts following), `None` when it is empty.
pub async fn last_id(
    connection: &mut MultiplexedConnection,
    keys: &Keys,
) -> Result<Option<LogId>, Failure> {
    edge(connection, keys, "XREVRANGE", "+", "-").await
}

async fn edge(
    connection: &mut MultiplexedConnection,
    keys: &Keys,
    command: &str,
    from: &str,
    to: &str,
) -> Result<Option<LogId>, Failure> {
    let reply: StreamRangeReply = redis::cmd(command)
        .arg(keys.log())
        .arg(from)
        .arg(to)
        .arg("COUNT")
        .arg(1)
        .query_async(connection)
        .await
        .map_err(Failure::redis(Step::Load))?;
    match reply.ids.first() {
        None => Ok(None),
        Some(record) => LogId::parse(&record.id)
            .map(Some)
            .ok_or(Failure::Reply { step: Step::Load }),
    }
}

/// Whether a reconnecting reader at `position` must reload from the keys rather than resume:
/// the log is gone or empty (Redis lost its data, or every record was trimmed), went back
/// before `position` (restored from an older snapshot), or starts after `position` (records
/// this replica never read may have been trimmed while it was away, or the log was
/// recreated). Reloading when resuming would have been enough costs one `SCAN`.
pub fn must_reload(bounds: Option<(LogId, LogId)>, position: LogId) -> bool {
    match bounds {
        None => true,
        Some((first, last)) => last < position || first > position,
    }
}

/// Every entry under the prefix, and how many values were not entries.
pub async fn load_entries(
    connection: &mut MultiplexedConnection,
    keys: &Keys,
) -> Result<(Vec<Entry>, usize), Failure> {
    let pattern = keys.scan_pattern();
    let mut cursor: u64 = 0;
    let mut entries = Vec::new();
    let mut skipped = 0;
    loop {
        let (next, names): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(SCAN_COUNT)
            .arg("TYPE")
            .arg("string")
            .query_async(connection)
            .await
            .map_err(Failure::redis(Step::Load))?;
        if !names.is_empty() {
            let values: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
                .arg(&names)
                .query_async(connection)
                .await
                .map_err(Failure::redis(Step::Load))?;
            // A key that expired between SCAN and MGET reads as nil.
            for value in values.into_iter().flatten() {
                match parse_entry(&value) {
                    Some(entry) => entries.push(entry),
                    None => skipped += 1,
                }
            }
        }
        if next == 0 {
            return Ok((entries, skipped));
        }
        cursor = next;
    }
}

/// Up to `count` records after `after`, waiting up to `block_ms` for the first one. A record
/// tokengate did not write comes back as `None` (skipped, but read past).
pub async fn read(
    connection: &mut MultiplexedConnection,
    keys: &Keys,
    after: LogId,
    count: usize,
    block_ms: u64,
) -> Result<Vec<(LogId, Option<Change>)>, Failure> {
    let reply: Option<StreamReadReply> = redis::cmd("XREAD")
        .arg("COUNT")
        .arg(count)
        .arg("BLOCK")
        .arg(block_ms)
        .arg("STREAMS")
        .arg(keys.log())
        .arg(after.to_string())
        .query_async(connection)
        .await
        .map_err(Failure::redis(Step::Read))?;
    let mut out = Vec::new();
    for record in reply.into_iter().flat_map(|r| r.keys).flat_map(|k| k.ids) {
        let id = LogId::parse(&record.id).ok_or(Failure::Reply { step: Step::Read })?;
        out.push((id, Change::from_fields(&record.map)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(ms: u64) -> LogId {
        LogId { ms, seq: 0 }
    }

    #[test]
    fn a_reader_resumes_only_inside_the_log_it_left() {
        assert!(!must_reload(Some((id(10), id(30))), id(20)));
        assert!(!must_reload(Some((id(10), id(30))), id(10)));
        assert!(!must_reload(Some((id(10), id(30))), id(30)));
        assert!(must_reload(None, id(20)), "log gone");
        assert!(
            must_reload(Some((id(25), id(30))), id(20)),
            "trimmed or recreated"
        );
        assert!(
            must_reload(Some((id(5), id(15))), id(20)),
            "went back in time"
        );
        assert!(must_reload(Some((id(5), id(15))), LogId::ZERO));
    }
}
