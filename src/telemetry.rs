//! Logging set-up: tracing-subscriber, JSON by default, `RUST_LOG` overriding the level.
//! Nothing here ever formats a token, an Authorization value or a cookie.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Where log lines go: the proxy logs to stdout; `verify` and `decode` keep stdout for their JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    Stdout,
    Stderr,
}

/// Installs the global subscriber. A second call is a no-op (tests, `demo`).
pub fn init(format: LogFormat, level: &str, sink: Sink) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(true);
    let result = match (format, sink) {
        (LogFormat::Json, Sink::Stdout) => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_writer(std::io::stdout)
            .try_init(),
        (LogFormat::Json, Sink::Stderr) => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_writer(std::io::stderr)
            .try_init(),
        (LogFormat::Text, Sink::Stdout) => builder.with_writer(std::io::stdout).try_init(),
        (LogFormat::Text, Sink::Stderr) => builder.with_writer(std::io::stderr).try_init(),
    };
    // Already installed: keep the first one.
    drop(result);
}
