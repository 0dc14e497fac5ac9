//! tokengate's entry point: parse the command line, dispatch, map to an exit code.

use std::process::ExitCode;

use clap::Parser;
use tokengate::cli::{Cli, Command};
use tokengate::cmd;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Run { config }) => cmd::run::run(&config),
        None => match cli.config {
            Some(config) => cmd::run::run(&config),
            None => {
                cmd::stderr_line(format_args!("tokengate: no configuration: use `tokengate run --config FILE`, set TOKENGATE_CONFIG, or try `tokengate demo` (see --help)"));
                ExitCode::from(1)
            }
        },
        Some(Command::CheckConfig { file }) => cmd::check_config::run(&file),
        Some(Command::ConfigSchema) => cmd::config_schema::run(),
        Some(Command::Verify {
            config,
            token,
            path,
            method,
        }) => cmd::verify::run(
            &config,
            token,
            path.as_deref().map(|p| (method.as_str(), p)),
        ),
        Some(Command::Decode { token }) => cmd::decode::run(token),
        Some(Command::Demo { listen, admin }) => cmd::demo::run(listen, admin),
        Some(Command::Healthcheck { config, timeout }) => cmd::healthcheck::run(&config, timeout),
        Some(Command::Revoke(args)) => cmd::revoke::run(&args),
        Some(Command::Version { json }) => cmd::version::run(json),
    }
}
