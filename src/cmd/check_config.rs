//! `tokengate check-config FILE`: validate without network I/O; `ok` or every problem.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use crate::config::load_file;

pub fn run(file: &Path) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match load_file(file, &super::process_env) {
        Ok(_) => {
            let _ = writeln!(out, "ok");
            ExitCode::SUCCESS
        }
        Err(e) => {
            for problem in &e.problems {
                let _ = writeln!(out, "{problem}");
            }
            ExitCode::from(1)
        }
    }
}
