//! Signals -> readiness off at once -> stop accepting -> drain within `shutdown_grace`.

use std::sync::Arc;

use tokio::sync::watch;

use crate::app::App;

/// Waits for SIGTERM or SIGINT, then marks the app as shutting down and tells the listeners.
pub async fn on_signal(app: Arc<App>, stop: watch::Sender<bool>) {
    wait_for_signal().await;
    tracing::info!("shutdown signal received; readiness off, draining");
    app.begin_shutdown();
    // Every receiver may be gone already; nothing left to tell then.
    let _ = stop.send(true);
}

/// SIGHUP would end the process by default; with no file to reload (`demo`) it is logged
/// and ignored, so a `kill -HUP` never takes the process down.
#[cfg(unix)]
pub async fn ignore_hangup() {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        return;
    };
    while hup.recv().await.is_some() {
        tracing::warn!("SIGHUP received: there is no configuration file to reload; ignored");
    }
}

#[cfg(not(unix))]
pub async fn ignore_hangup() {}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops tokengate");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}
