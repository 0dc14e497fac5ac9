//! Reload, on SIGHUP or when a watched file changes (`app/watch.rs`): re-read and validate
//! the file; publish a valid one as one new snapshot (requests in flight finish on the
//! snapshot they loaded); keep the key handles and key tasks of issuers whose key source
//! did not change, and the process's revocation list (its API token file is re-read). An
//! invalid file changes nothing.

use std::path::PathBuf;
use std::sync::Arc;

use crate::app::watch::{Fingerprint, Watch};
use crate::app::{self, App};
use crate::config::{load_file, Config};
use crate::jwks::fetch;
use crate::jwks::keyring::{KeyTaskId, Keyring};
use crate::telemetry;

/// What a reload did.
#[derive(Debug, PartialEq, Eq)]
pub enum Reloaded {
    /// Published; the listed sections changed but apply only after a restart.
    Applied { needs_restart: Vec<&'static str> },
    /// The file (or a CA bundle it names) was refused; the running config is unchanged.
    Refused,
}

/// Re-reads one file on demand and publishes what it holds.
#[derive(Debug)]
pub struct Reloader {
    pub path: PathBuf,
    pub app: Arc<App>,
    pub keyring: Keyring,
    pub env: fn(&str) -> Option<String>,
}

impl Reloader {
    /// The config file, then every file the running configuration names (`Config::files`).
    pub fn files(&self) -> Vec<PathBuf> {
        let mut files = vec![self.path.clone()];
        files.extend(self.app.snapshot.load().config.files());
        files
    }

    pub fn reload(&mut self) -> Reloaded {
        let result = self.try_reload();
        let label = match result {
            Reloaded::Applied { .. } => "ok",
            Reloaded::Refused => "error",
        };
        self.app
            .metrics
            .config_reloads
            .with_label_values(&[label])
            .inc();
        result
    }

    fn try_reload(&mut self) -> Reloaded {
        let config = match load_file(&self.path, &self.env) {
            Ok(config) => config,
            Err(e) => {
                let problems: Vec<String> = e.problems.iter().map(ToString::to_string).collect();
                tracing::error!(
                    file = %self.path.display(),
                    problems = %problems.join("; "),
                    "configuration reload refused; the running configuration is unchanged"
                );
                return Reloaded::Refused;
            }
        };
        let running_mode = self.app.snapshot.load().config.mode;
        if config.mode != running_mode {
            tracing::error!("configuration reload refused: changing mode needs a restart");
            return Reloaded::Refused;
        }
        // The list and its store are opened at start-up: a reload keeps them, so it cannot
        // add one (logout routes would have no store) nor drop one (revoked tokens would pass).
        if config.revocation.is_some() != self.app.revocation.is_some() {
            tracing::error!(
                "configuration reload refused: adding or removing the revocation section needs a restart"
            );
            return Reloaded::Refused;
        }
        let client = match fetch::client(config.jwks.fetch_timeout, config.jwks.ca_file.as_deref())
        {
            Ok(client) => client,
            Err(e) => {
                tracing::error!(error = %e, "configuration reload refused: jwks.ca_file");
                return Reloaded::Refused;
            }
        };
        // A TLS listener gets its certificate and key re-read (a renewed certificate).
        let tls = match (&config.server.tls, self.app.tls.load().is_some()) {
            (Some(files), true) => match crate::server::tls::server_config(files) {
                Ok(tls) => Some(Arc::new(tls)),
                Err(e) => {
                    tracing::error!(error = %e, "configuration reload refused: server.tls");
                    return Reloaded::Refused;
                }
            },
            _ => None,
        };
        let running = self.app.snapshot.load_full();
        let needs_restart = restart_only_changes(&running.config, &config);
        let level = config.log.level.clone();
        let keep: Vec<KeyTaskId> = config
            .issuers
            .iter()
            .map(|i| KeyTaskId::of(i, &config.jwks, &client))
            .collect();
        let (snapshot, fresh) = app::build_keeping(
            config,
            &self.app.metrics,
            &client,
            self.app.revocation.clone(),
            |id| self.keyring.find(id),
        );
        let kept = keep.len() - fresh.len();
        let started = fresh.len();
        self.keyring.replace(&keep, fresh);
        self.app.snapshot.store(Arc::new(snapshot));
        if tls.is_some() {
            self.app.tls.store(tls);
        }
        telemetry::set_level(&level);
        if !needs_restart.is_empty() {
            tracing::warn!(
                sections = %needs_restart.join(", "),
                "these settings changed but apply only after a restart"
            );
        }
        tracing::info!(
            file = %self.path.display(),
            issuers_kept = kept,
            issuers_started = started,
            "configuration reloaded"
        );
        Reloaded::Applied { needs_restart }
    }
}

/// Settings bound at start-up (listeners, connection handling, log format, mode).
fn restart_only_changes(running: &Config, new: &Config) -> Vec<&'static str> {
    let mut changed = Vec::new();
    if running.authz.grpc_listen != new.authz.grpc_listen {
        changed.push("authz.grpc_listen");
    }
    if running.server != new.server {
        changed.push("server");
    }
    if running.admin != new.admin {
        changed.push("admin");
    }
    if running.log.format != new.log.format {
        changed.push("log.format");
    }
    if let (Some(running), Some(new)) = (&running.revocation, &new.revocation) {
        if running.store_settings_differ(new) {
            changed.push("revocation");
        }
    }
    changed
}

/// Why a reload runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cause {
    /// SIGHUP: always reloads.
    Hangup,
    /// The watch woke: reloads only when a file's digest changed.
    Files,
}

/// Reloads on every SIGHUP and whenever the config file or a file it names changes, until
/// the task is aborted; then stops the key tasks. Both causes take the one `reload` path.
/// The files' digests are taken before each reload and kept, so a reload that changes
/// nothing (or a file read) is not followed by another; a refused file is not retried
/// until it changes again.
pub async fn run(mut reloader: Reloader) {
    let mut hangups = hangups();
    let files = reloader.files();
    let mut seen = Fingerprint::of(&files);
    let mut watch = Watch::start(&files);
    loop {
        let cause = tokio::select! {
            () = next_hangup(&mut hangups) => Cause::Hangup,
            () = watch.changed() => Cause::Files,
        };
        let files = reloader.files();
        let now = Fingerprint::of(&files);
        let changed = seen.changed(&now);
        match cause {
            Cause::Hangup => {
                tracing::info!(file = %reloader.path.display(), "SIGHUP received: reloading");
            }
            Cause::Files if changed.is_empty() => {
                // A swap may have moved a target even when no content changed.
                watch.follow(&files);
                continue;
            }
            Cause::Files => {
                let names: Vec<String> = changed.iter().map(|p| p.display().to_string()).collect();
                tracing::info!(files = %names.join(", "), "watched files changed: reloading");
            }
        }
        reloader.reload();
        let files = reloader.files();
        seen = now.over(&files);
        watch.follow(&files);
    }
}

/// SIGHUP would end the process by default, so it is always listened for.
#[cfg(unix)]
fn hangups() -> Option<tokio::signal::unix::Signal> {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::hangup()) {
        Ok(hup) => Some(hup),
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGHUP; configuration changes are picked up from the files only");
            None
        }
    }
}

#[cfg(unix)]
async fn next_hangup(hangups: &mut Option<tokio::signal::unix::Signal>) {
    match hangups {
        Some(hup) => {
            if hup.recv().await.is_none() {
                *hangups = None;
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending::<()>().await,
    }
}

#[cfg(not(unix))]
fn hangups() {}

#[cfg(not(unix))]
async fn next_hangup(_: &mut ()) {
    std::future::pending::<()>().await;
}
