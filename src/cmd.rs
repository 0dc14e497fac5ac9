//! The commands of reference section 1, one file each. `anyhow` lives here and in `main.rs` only.

pub mod check_config;
pub mod config_schema;
pub mod decode;
pub mod demo;
pub mod healthcheck;
pub mod revoke;
pub mod run;
pub mod verify;
pub mod version;

use std::io::Read;

/// A token from the argument, else the first line of stdin (trimmed).
pub fn token_arg(token: Option<String>) -> anyhow::Result<String> {
    match token {
        Some(t) => Ok(t.trim().to_owned()),
        None => {
            let mut input = String::new();
            std::io::stdin().take(1 << 20).read_to_string(&mut input)?;
            Ok(input.trim().to_owned())
        }
    }
}

/// Environment lookup for configuration files (the real process environment).
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The runtime the serving commands run on; a failure is printed as one line. With one CPU
/// available (`std::thread::available_parallelism`: the affinity mask and the cgroup CPU
/// quota, so a sidecar limited to one CPU or less), a current-thread runtime: the same tasks
/// without the work-stealing scheduler's cross-thread hand-offs, which cost CPU on every
/// request when there is no second worker to steal (BENCHMARKS.md, "What we tried"). With
/// more, a multi-threaded runtime with one worker per CPU.
pub fn runtime() -> Option<tokio::runtime::Runtime> {
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let mut builder = if cpus == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    match builder.enable_all().build() {
        Ok(rt) => Some(rt),
        Err(e) => {
            eprintln!("tokengate: cannot start the runtime: {e}");
            None
        }
    }
}
