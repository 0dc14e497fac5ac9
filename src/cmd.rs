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

use std::io::{ErrorKind, Read, Write};

/// `eprintln!` without its panic: one line to stderr, and a failed write (stderr is a pipe
/// whose reader is gone, as in `tokengate decode T 2>&1 | head -1`) is ignored: there is
/// nowhere left to say anything, and the exit status still tells.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::cmd::stderr_line(format_args!($($arg)*))
    };
}
pub(crate) use say;

/// The body of [`say!`].
pub fn stderr_line(line: std::fmt::Arguments<'_>) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}

/// Writes `text` and a newline to stdout and flushes.
///
/// A reader that went away (a closed pipe: `tokengate version | head -c0`, `| head -1` on
/// longer output) is not an error: the output ends there, quietly, and the command's exit
/// status stays what its work decided, as `grep` and `ripgrep` do. Without this a closed
/// pipe was a Rust panic and exit 101.
///
/// # Errors
/// Any other write error (a full disk, `EIO`), for the command to report with
/// [`write_failed`]: a cut output must not pass unnoticed.
pub fn stdout_line(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() != ErrorKind::BrokenPipe => Err(e),
        _ => Ok(()),
    }
}

/// Reports a failed write to stdout on stderr (`tokengate <command>: cannot write the
/// output: <error>`) and returns exit status 1.
pub fn write_failed(command: &str, e: &std::io::Error) -> std::process::ExitCode {
    say!("tokengate {command}: cannot write the output: {e}");
    std::process::ExitCode::from(1)
}

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
            say!("tokengate: cannot start the runtime: {e}");
            None
        }
    }
}
