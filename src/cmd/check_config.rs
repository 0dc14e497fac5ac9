//! `tokengate check-config FILE`: validate without network I/O; `ok` or every problem.

use std::path::Path;
use std::process::ExitCode;

use crate::config::load_file;

pub fn run(file: &Path) -> ExitCode {
    let (text, code) = match load_file(file, &super::process_env) {
        Ok(_) => ("ok".to_owned(), ExitCode::SUCCESS),
        Err(e) => {
            let problems: Vec<String> = e.problems.iter().map(ToString::to_string).collect();
            (problems.join("\n"), ExitCode::from(1))
        }
    };
    match super::stdout_line(&text) {
        Ok(()) => code,
        Err(e) => super::write_failed("check-config", &e),
    }
}
