//! `tokengate version [--json]`: which build this is (version, commit, build date, profile,
//! target, features), as text or as one JSON object.

use std::process::ExitCode;

use crate::build_info;

pub fn run(json: bool) -> ExitCode {
    let text = if json {
        build_info::to_json().to_string()
    } else {
        format!("tokengate {}", build_info::LONG_VERSION)
    };
    match super::stdout_line(&text) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => super::write_failed("version", &e),
    }
}
