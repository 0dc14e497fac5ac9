//! `tokengate config-schema`: print the configuration file's JSON Schema (`config/schema.rs`);
//! exit 1 when stdout cannot be written (a full disk must not leave a cut schema unnoticed).

use std::process::ExitCode;

use crate::config::schema;

pub fn run() -> ExitCode {
    match super::stdout_line(schema::to_json().trim_end()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => super::write_failed("config-schema", &e),
    }
}
