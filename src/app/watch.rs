//! Watching the configuration file and the files it names, without a signal: the directory
//! of each file, of each symlink on its way and of its target is watched (notify: inotify,
//! FSEvents), a burst of events is debounced into one nudge, and where no watcher can be set
//! up the files are looked at every `POLL` instead. A nudge only says "look": the reloader
//! compares the files' digests (`Fingerprint`) and reloads when they differ, so reading the
//! files (which inotify reports as an access, ignored here) never causes a reload.

pub mod links;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::PathBuf;
use std::time::Duration;

use notify_debouncer_full::notify::event::{AccessKind, AccessMode};
use notify_debouncer_full::notify::{EventKind, RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{new_debouncer, DebounceEventResult, Debouncer, RecommendedCache};
use tokio::sync::mpsc;

use crate::config::files::{digest_file, Digest};

/// Quiet time after the last event of a burst before the files are looked at.
pub const DEBOUNCE: Duration = Duration::from_secs(1);
/// How often the files are looked at where a directory cannot be watched.
pub const POLL: Duration = Duration::from_secs(2);

/// What the files held when last looked at: path -> digest (`None`: unreadable).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fingerprint(BTreeMap<PathBuf, Option<Digest>>);

impl Fingerprint {
    /// Reads and digests every file.
    pub fn of(files: &[PathBuf]) -> Fingerprint {
        Fingerprint(files.iter().map(|f| (f.clone(), digest_file(f))).collect())
    }

    /// The files of `files` whose digest differs from (or is missing in) `self`, and those
    /// of `self` no longer listed.
    pub fn changed(&self, now: &Fingerprint) -> Vec<PathBuf> {
        let mut changed: Vec<PathBuf> = now
            .0
            .iter()
            .filter(|(path, digest)| self.0.get(*path) != Some(*digest))
            .map(|(path, _)| path.clone())
            .collect();
        changed.extend(self.0.keys().filter(|p| !now.0.contains_key(*p)).cloned());
        changed
    }

    /// This fingerprint over `files`: the digests it has, and a fresh one for each file it
    /// does not have yet (a file a reload just added).
    pub fn over(&self, files: &[PathBuf]) -> Fingerprint {
        Fingerprint(
            files
                .iter()
                .map(|f| {
                    let digest = match self.0.get(f) {
                        Some(known) => *known,
                        None => digest_file(f),
                    };
                    (f.clone(), digest)
                })
                .collect(),
        )
    }
}

/// What the notify thread tells the reload task.
#[derive(Debug)]
enum Nudge {
    /// Something other than a read happened to these paths.
    Paths(Vec<PathBuf>),
    /// Events may have been lost (queue overflow, a watch error): look at the files.
    Lost,
}

/// The watch on a set of files; `changed` resolves when they may have changed.
pub struct Watch {
    debouncer: Option<Debouncer<RecommendedWatcher, RecommendedCache>>,
    nudges: mpsc::UnboundedReceiver<Nudge>,
    /// The directories watched now.
    dirs: BTreeSet<PathBuf>,
    /// The paths whose events matter: each file, each symlink on its way, its target.
    relevant: HashSet<PathBuf>,
    /// Set when some directory cannot be watched: the files are looked at this often.
    poll: Option<tokio::time::Interval>,
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch")
            .field("dirs", &self.dirs)
            .field("polling", &self.poll.is_some())
            .finish_non_exhaustive()
    }
}

impl Watch {
    /// Watches `files`; falls back to polling every `POLL` if no watcher can be set up.
    pub fn start(files: &[PathBuf]) -> Watch {
        let (tx, nudges) = mpsc::unbounded_channel();
        let debouncer = new_debouncer(DEBOUNCE, None, move |result: DebounceEventResult| {
            if let Some(nudge) = nudge(result) {
                // The reload task is gone only at exit.
                let _ = tx.send(nudge);
            }
        });
        let debouncer = match debouncer {
            Ok(d) => Some(d),
            Err(e) => {
                tracing::warn!(error = %e, every = ?POLL, "cannot watch files; polling them instead");
                None
            }
        };
        let mut watch = Watch {
            debouncer,
            nudges,
            dirs: BTreeSet::new(),
            relevant: HashSet::new(),
            poll: None,
        };
        if watch.debouncer.is_none() {
            watch.start_polling();
        }
        watch.follow(files);
        watch
    }

    /// Polling only, every `every` (also what `start` falls back to).
    pub fn polling(files: &[PathBuf], every: Duration) -> Watch {
        let (_tx, nudges) = mpsc::unbounded_channel();
        let mut watch = Watch {
            debouncer: None,
            nudges,
            dirs: BTreeSet::new(),
            relevant: HashSet::new(),
            poll: Some(interval(every)),
        };
        watch.follow(files);
        watch
    }

    /// Whether the files are polled (some directory could not be watched).
    pub fn is_polling(&self) -> bool {
        self.poll.is_some()
    }

    fn start_polling(&mut self) {
        if self.poll.is_none() {
            self.poll = Some(interval(POLL));
        }
    }

    /// Watches what `files` resolve to now (after a reload, or after a symlink swap moved
    /// a target): new directories are added, ones no longer needed dropped.
    pub fn follow(&mut self, files: &[PathBuf]) {
        let mut relevant = HashSet::new();
        let mut dirs = BTreeSet::new();
        for file in files {
            let resolved = links::resolve(file);
            for path in resolved.paths() {
                relevant.insert(path.to_owned());
                if let Some(dir) = path.parent() {
                    dirs.insert(dir.to_owned());
                }
            }
        }
        self.relevant = relevant;
        let Some(debouncer) = self.debouncer.as_mut() else {
            self.dirs = dirs;
            return;
        };
        for gone in self.dirs.difference(&dirs) {
            // A directory that was removed has lost its watch already.
            let _ = debouncer.unwatch(gone);
        }
        let mut failed = false;
        for dir in dirs.difference(&self.dirs) {
            if let Err(e) = debouncer.watch(dir, RecursiveMode::NonRecursive) {
                tracing::warn!(dir = %dir.display(), error = %e, every = ?POLL, "cannot watch a directory; polling the files instead");
                failed = true;
            }
        }
        self.dirs = dirs;
        if failed {
            self.start_polling();
        }
    }

    /// Resolves when a watched file may have changed: a debounced burst touching a relevant
    /// path, lost events, or (when polling) the next poll.
    pub async fn changed(&mut self) {
        let Watch {
            nudges,
            relevant,
            dirs,
            poll,
            debouncer,
        } = self;
        loop {
            tokio::select! {
                nudge = nudges.recv(), if debouncer.is_some() => match nudge {
                    Some(Nudge::Paths(paths)) => {
                        if paths.iter().any(|p| relevant.contains(p) || dirs.contains(p)) {
                            return;
                        }
                    }
                    Some(Nudge::Lost) => return,
                    None => {
                        tracing::warn!(every = ?POLL, "the file watcher stopped; polling the files instead");
                        *debouncer = None;
                        if poll.is_none() {
                            *poll = Some(interval(POLL));
                        }
                    }
                },
                _ = tick(poll) => return,
            }
        }
    }
}

/// A poll timer whose first tick is one period away.
fn interval(every: Duration) -> tokio::time::Interval {
    let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    interval
}

async fn tick(poll: &mut Option<tokio::time::Interval>) {
    match poll {
        Some(interval) => {
            interval.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// What a debounced batch means for the reload task; `None`: only reads happened.
fn nudge(result: DebounceEventResult) -> Option<Nudge> {
    match result {
        Ok(events) => {
            if events.iter().any(|e| e.need_rescan()) {
                return Some(Nudge::Lost);
            }
            let paths: Vec<PathBuf> = events
                .iter()
                .filter(|e| changes(&e.kind))
                .flat_map(|e| e.paths.iter().cloned())
                .collect();
            (!paths.is_empty()).then_some(Nudge::Paths(paths))
        }
        Err(errors) => {
            for e in &errors {
                tracing::warn!(error = %e, "file watcher error; looking at the files");
            }
            Some(Nudge::Lost)
        }
    }
}

/// Whether an event may mean new contents: anything but opening or reading (which is what
/// looking at the files causes); closing a file written to counts.
fn changes(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        EventKind::Any
        | EventKind::Create(_)
        | EventKind::Modify(_)
        | EventKind::Remove(_)
        | EventKind::Other => true,
    }
}

#[cfg(test)]
mod tests;
