//! Logging set-up: tracing-subscriber, JSON by default, `RUST_LOG` overriding the level.
//! Nothing here ever formats a token, an Authorization value or a cookie.

use std::sync::OnceLock;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, reload, EnvFilter, Layer, Registry};

use crate::config::LogFormat;

/// Where log lines go: the proxy logs to stdout; `verify` and `decode` keep stdout for their JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    Stdout,
    Stderr,
}

/// The handle that swaps the level filter on reload; set by the first `init`.
static LEVEL: OnceLock<reload::Handle<EnvFilter, Registry>> = OnceLock::new();

/// Installs the global subscriber. A second call is a no-op (tests, `demo`).
pub fn init(format: LogFormat, level: &str, sink: Sink) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let (filter, handle) = reload::Layer::new(filter);
    let fmt = fmt::layer().with_target(true);
    let fmt = match (format, sink) {
        (LogFormat::Json, Sink::Stdout) => fmt
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_writer(std::io::stdout)
            .boxed(),
        (LogFormat::Json, Sink::Stderr) => fmt
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_writer(std::io::stderr)
            .boxed(),
        (LogFormat::Text, Sink::Stdout) => fmt.with_writer(std::io::stdout).boxed(),
        (LogFormat::Text, Sink::Stderr) => fmt.with_writer(std::io::stderr).boxed(),
    };
    if tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .try_init()
        .is_ok()
    {
        // Only the installed subscriber's handle is of use.
        let _ = LEVEL.set(handle);
    }
}

/// Applies a reloaded `log.level`; `RUST_LOG`, when set, keeps overriding it.
pub fn set_level(level: &str) {
    if std::env::var_os("RUST_LOG").is_some() {
        return;
    }
    let (Some(handle), Ok(filter)) = (LEVEL.get(), EnvFilter::try_new(level)) else {
        return;
    };
    if let Err(e) = handle.reload(filter) {
        tracing::warn!(error = %e, "cannot apply the reloaded log.level");
    }
}
