//! What this binary is: version, git commit, build date, profile, target and the protocols
//! and integrations compiled in. Filled in by `build.rs` at build time; printed by
//! `tokengate --version` and `tokengate version --json`.

/// The crate version (`Cargo.toml`), e.g. `0.1.0`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The full git commit hash the binary was built from, `-dirty` appended when tracked files
/// had uncommitted changes, or `unknown` when built outside a git checkout without
/// `TOKENGATE_GIT_COMMIT`.
pub const COMMIT: &str = env!("TOKENGATE_GIT_COMMIT");

/// The build date, RFC 3339 UTC (`SOURCE_DATE_EPOCH` when set, for reproducible builds).
pub const BUILD_DATE: &str = env!("TOKENGATE_BUILD_DATE");

/// The cargo profile (`release`, `debug`).
pub const PROFILE: &str = env!("TOKENGATE_BUILD_PROFILE");

/// The target triple, e.g. `x86_64-unknown-linux-gnu`.
pub const TARGET: &str = env!("TOKENGATE_BUILD_TARGET");

/// What this build can do, in the words of the README: protocols, TLS provider, integrations.
pub const FEATURES: &str =
    "http1 http2 h2c tls-rustls-aws-lc websocket grpc authz-http ext-authz-grpc";

/// The first 12 characters of [`COMMIT`] (with `-dirty` kept), for one-line output.
pub const SHORT_COMMIT: &str = env!("TOKENGATE_GIT_COMMIT_SHORT");

/// `--version`'s text: `0.1.0 (commit 0123456789ab, built 2026-11-30T12:00:00Z, release,
/// x86_64-unknown-linux-gnu)` and a second line with [`FEATURES`].
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("TOKENGATE_GIT_COMMIT_SHORT"),
    ", built ",
    env!("TOKENGATE_BUILD_DATE"),
    ", ",
    env!("TOKENGATE_BUILD_PROFILE"),
    ", ",
    env!("TOKENGATE_BUILD_TARGET"),
    ")\nfeatures: http1 http2 h2c tls-rustls-aws-lc websocket grpc authz-http ext-authz-grpc"
);

/// `version --json`: every fact above as one JSON object.
pub fn to_json() -> serde_json::Value {
    serde_json::json!({
        "version": VERSION,
        "commit": COMMIT,
        "build_date": BUILD_DATE,
        "profile": PROFILE,
        "target": TARGET,
        "features": FEATURES.split(' ').collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_line_names_the_commit_and_the_build_date() {
        let text = LONG_VERSION;
        assert!(text.starts_with(VERSION));
        assert!(text.contains(SHORT_COMMIT));
        assert!(COMMIT.starts_with(SHORT_COMMIT.trim_end_matches("-dirty")));
        assert!(text.ends_with(FEATURES));
        assert!(text.contains(BUILD_DATE));
        assert!(BUILD_DATE.ends_with('Z'), "{BUILD_DATE}");
        let json = to_json();
        assert_eq!(json["commit"], COMMIT);
        assert!(json["features"].as_array().is_some_and(|f| !f.is_empty()));
    }
}
