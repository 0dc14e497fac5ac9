//! Build facts for `tokengate --version` and `tokengate version --json`: the git commit the
//! binary was built from and the build date. Read from the build, never hand-edited.
//!
//! - Commit: `TOKENGATE_GIT_COMMIT` if set (a container build without `.git` passes it as a
//!   build argument), else `git rev-parse HEAD` (with `-dirty` when the work tree has
//!   uncommitted changes to tracked files), else `unknown`.
//! - Date: `SOURCE_DATE_EPOCH` (reproducible builds) if set, else the time of the build,
//!   as an RFC 3339 UTC date-time.
//!
//! No dependency for this: two `git` calls and a date are all it takes.

use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

fn commit() -> String {
    if let Ok(commit) = std::env::var("TOKENGATE_GIT_COMMIT") {
        if !commit.trim().is_empty() {
            return commit.trim().to_owned();
        }
    }
    let Some(head) = git(&["rev-parse", "HEAD"]) else {
        return "unknown".to_owned();
    };
    let dirty = Command::new("git")
        .args(["diff-index", "--quiet", "HEAD", "--"])
        .status()
        .map(|s| s.code() == Some(1))
        .unwrap_or(false);
    if dirty {
        format!("{head}-dirty")
    } else {
        head
    }
}

fn build_date() -> String {
    let epoch = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(|s| UNIX_EPOCH + Duration::from_secs(s))
        .unwrap_or_else(SystemTime::now);
    humantime::format_rfc3339_seconds(epoch).to_string()
}

fn main() {
    println!("cargo:rerun-if-env-changed=TOKENGATE_GIT_COMMIT");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    // A new commit or checkout changes HEAD or the ref it points to; the index changes with
    // staged edits. (Paths are resolved by git, so worktrees work too.)
    // Only paths that exist: cargo treats a missing rerun-if-changed path as changed on
    // every build, which would rebuild the crate each time (no packed-refs in a new clone).
    let watch = |path: &str| {
        if let Some(p) = git(&["rev-parse", "--git-path", path]) {
            if std::path::Path::new(&p).exists() {
                println!("cargo:rerun-if-changed={p}");
            }
        }
    };
    for path in ["HEAD", "index", "packed-refs"] {
        watch(path);
    }
    if let Some(reference) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watch(&reference);
    }
    let commit = commit();
    let short = match commit.strip_suffix("-dirty") {
        Some(hash) => format!("{}-dirty", &hash[..hash.len().min(12)]),
        None => commit[..commit.len().min(12)].to_owned(),
    };
    println!("cargo:rustc-env=TOKENGATE_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=TOKENGATE_GIT_COMMIT_SHORT={short}");
    println!("cargo:rustc-env=TOKENGATE_BUILD_DATE={}", build_date());
    println!(
        "cargo:rustc-env=TOKENGATE_BUILD_PROFILE={}",
        std::env::var("PROFILE").unwrap_or_else(|_| "unknown".to_owned())
    );
    println!(
        "cargo:rustc-env=TOKENGATE_BUILD_TARGET={}",
        std::env::var("TARGET").unwrap_or_else(|_| "unknown".to_owned())
    );
}
