//! `tokengate version [--json]`: which build this is (version, commit, build date, profile,
//! target, features), as text or as one JSON object.

use std::process::ExitCode;

use crate::build_info;

pub fn run(json: bool) -> ExitCode {
    if json {
        println!("{}", build_info::to_json());
    } else {
        println!("tokengate {}", build_info::LONG_VERSION);
    }
    ExitCode::SUCCESS
}
