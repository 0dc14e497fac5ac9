//! This replica's copy of the shared list: one slot per target with the log id of the change
//! that last set it, so a change is applied once and never undone by an older one, whether
//! it arrives from the log reader or from this replica's own write (read-your-writes).

use std::collections::HashMap;

use crate::revocation::entry::{Entry, Kind};
use crate::revocation::redis::keys::{Change, LogId};
use crate::revocation::set::RevocationSet;

type TargetKey = (String, Kind, String);

fn target_key(entry: &Entry) -> TargetKey {
    (
        entry.issuer.clone(),
        entry.target.kind(),
        entry.target.id().to_owned(),
    )
}

/// An entry, or a deletion (`None`) kept until the reader has passed it.
#[derive(Debug, Clone)]
struct Slot {
    entry: Option<Entry>,
    version: LogId,
}

/// The entries as of the log reader's position, plus this replica's newer writes.
#[derive(Debug, Default)]
pub struct Local {
    slots: HashMap<TargetKey, Slot>,
    /// Every change up to this id has been applied.
    position: LogId,
}

impl Local {
    /// Where the reader resumes (`XREAD ... <position>`).
    pub fn position(&self) -> LogId {
        self.position
    }

    /// Applies `change`, logged as `id`, unless the slot already holds that change or a
    /// later one, or the reader has already gone past `id`. Returns whether it applied.
    pub fn apply(&mut self, change: &Change, id: LogId) -> bool {
        if id <= self.position {
            return false;
        }
        let key = target_key(change.entry());
        if self.slots.get(&key).is_some_and(|s| s.version >= id) {
            return false;
        }
        let entry = match change {
            Change::Add(e) => Some(e.clone()),
            Change::Del(_) => None,
        };
        self.slots.insert(key, Slot { entry, version: id });
        true
    }

    /// The reader has applied every change up to `id`.
    pub fn advance(&mut self, id: LogId) {
        self.position = self.position.max(id);
    }

    /// Replaces the list with `entries`, read from the keys after the log's last id was
    /// `at` (`ZERO` for an empty log); the reader then follows from `at`. Nothing of the old
    /// list is kept: after Redis lost or rewound its data, the old ids mean nothing. A write
    /// of this replica that the scan missed comes back with the next `XREAD` from `at`.
    pub fn replace(&mut self, entries: Vec<Entry>, at: LogId) {
        self.slots = entries
            .into_iter()
            .map(|e| {
                (
                    target_key(&e),
                    Slot {
                        entry: Some(e),
                        version: at,
                    },
                )
            })
            .collect();
        self.position = at;
    }

    /// Drops expired entries and deletions the reader has passed, and returns the set of
    /// live entries at `now` (Unix seconds).
    pub fn snapshot(&mut self, now: u64) -> RevocationSet {
        let position = self.position;
        self.slots.retain(|_, s| match &s.entry {
            Some(e) => e.is_live(now),
            None => s.version > position,
        });
        RevocationSet::new(self.slots.values().filter_map(|s| s.entry.clone()), now)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const NOW: u64 = 1_000;

    fn entry(id: &str) -> Entry {
        Entry::from_json(&json!({"issuer": "main", "jti": id}), &["main"], NOW, 100).unwrap()
    }

    fn id(ms: u64) -> LogId {
        LogId { ms, seq: 0 }
    }

    fn live(local: &mut Local) -> Vec<String> {
        let mut ids: Vec<String> = local
            .snapshot(NOW)
            .entries()
            .iter()
            .map(|e| e.target.id().to_owned())
            .collect();
        ids.sort();
        ids
    }

    #[test]
    fn an_older_change_never_undoes_a_newer_one() {
        let mut local = Local::default();
        // This replica deleted `a` (logged at 20); the reader then brings the older add (10).
        assert!(local.apply(&Change::Del(entry("a")), id(20)));
        assert!(!local.apply(&Change::Add(entry("a")), id(10)));
        local.advance(id(10));
        assert_eq!(live(&mut local), Vec::<String>::new());
        // The reader reaches the delete itself: nothing changes, the tombstone goes.
        assert!(!local.apply(&Change::Del(entry("a")), id(20)));
        local.advance(id(20));
        assert_eq!(live(&mut local), Vec::<String>::new());
        assert!(local.slots.is_empty());
    }

    #[test]
    fn a_write_the_reader_has_already_passed_is_not_applied_again() {
        let mut local = Local::default();
        // Another replica deleted `a` at 30 after this one added it at 25; the reader has
        // applied both before this replica's own add returns.
        local.apply(&Change::Add(entry("a")), id(25));
        local.apply(&Change::Del(entry("a")), id(30));
        local.advance(id(30));
        assert!(live(&mut local).is_empty());
        assert!(!local.apply(&Change::Add(entry("a")), id(25)));
        assert!(live(&mut local).is_empty());
    }

    #[test]
    fn a_reload_replaces_the_list_and_the_position() {
        let mut local = Local::default();
        local.apply(&Change::Add(entry("old")), id(5));
        local.apply(&Change::Add(entry("mine")), id(50));
        // Redis restarted empty: the log is gone, the keys hold one entry.
        local.replace(vec![entry("from-keys")], LogId::ZERO);
        assert_eq!(local.position(), LogId::ZERO);
        assert_eq!(live(&mut local), ["from-keys"]);
        // The new log's first record applies.
        assert!(local.apply(&Change::Add(entry("new")), id(1)));
        assert_eq!(live(&mut local), ["from-keys", "new"]);
    }

    #[test]
    fn expired_entries_leave_at_the_next_snapshot() {
        let mut local = Local::default();
        let mut short = entry("short");
        short.expires_at = NOW + 1;
        local.apply(&Change::Add(short), id(1));
        local.apply(&Change::Add(entry("long")), id(2));
        assert_eq!(live(&mut local), ["long", "short"]);
        let set = local.snapshot(NOW + 1);
        assert_eq!(set.entries().len(), 1);
        assert_eq!(local.slots.len(), 1);
    }
}
