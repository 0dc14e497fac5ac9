//! `tokengate config-schema`: print the configuration file's JSON Schema (`config/schema.rs`);
//! exit 1 when stdout cannot be written (a full disk must not leave a cut schema unnoticed).

use std::io::Write;
use std::process::ExitCode;

use crate::config::schema;

pub fn run() -> ExitCode {
    let mut out = std::io::stdout().lock();
    match out
        .write_all(schema::to_json().as_bytes())
        .and_then(|()| out.flush())
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tokengate: cannot write the schema: {e}");
            ExitCode::from(1)
        }
    }
}
