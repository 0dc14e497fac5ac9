//! The command line (reference section 1): clap types only.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgGroup, Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "tokengate",
    version,
    long_version = crate::build_info::LONG_VERSION,
    about = "Verifies Amazon Cognito user-pool JWTs in front of a service and forwards the identity as headers",
    after_help = "Without a command, `tokengate --config FILE` runs the proxy (same as `tokengate run --config FILE`)."
)]
pub struct Cli {
    /// Configuration file; runs the proxy when no command is given
    #[arg(long, value_name = "FILE", env = "TOKENGATE_CONFIG")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the proxy (exit 0 after a clean shutdown, 1 on a fatal start-up error)
    Run {
        /// Configuration file
        #[arg(long, value_name = "FILE", env = "TOKENGATE_CONFIG")]
        config: PathBuf,
    },
    /// Load and validate a configuration file; print `ok` or every problem with its key path
    CheckConfig {
        /// Configuration file
        #[arg(value_name = "FILE", env = "TOKENGATE_CONFIG")]
        file: PathBuf,
    },
    /// Print the JSON Schema (draft 2020-12) of the configuration file, for editors and CI;
    /// the repository ships it as config/tokengate.schema.json
    ConfigSchema,
    /// Verify one token exactly as the proxy would (fetches the JWKS); prints JSON
    /// (exit 0 valid, 1 invalid, 2 could not check)
    Verify {
        /// Configuration file
        #[arg(long, value_name = "FILE", env = "TOKENGATE_CONFIG")]
        config: PathBuf,
        /// The token; read from stdin when absent. An ALB's `x-amzn-oidc-data` value is
        /// recognised by its header's `signer` when an `alb:` issuer is configured
        token: Option<String>,
        /// Also judge a request to this path (with its query, if any) as the proxy would:
        /// route, then the route's `require`; the verdict is printed as `route`
        #[arg(long, value_name = "PATH")]
        path: Option<String>,
        /// The method of that request
        #[arg(long, value_name = "METHOD", default_value = "GET", requires = "path")]
        method: String,
    },
    /// Print a token's header and payload WITHOUT verifying it (exit 1 if not a JWT)
    Decode {
        /// The token; read from stdin when absent. An ALB's `x-amzn-oidc-data` value is
        /// recognised by its header's `signer` when an `alb:` issuer is configured
        token: Option<String>,
    },
    /// Start a development issuer, an echo upstream and the proxy on loopback, and print
    /// curl lines to try (runs until Ctrl-C)
    Demo {
        /// Address of the demo proxy
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Address of the demo admin listener
        #[arg(long, default_value = "127.0.0.1:9901")]
        admin: SocketAddr,
    },
    /// GET `/readyz` on the configuration's admin listener (loopback when it binds to all
    /// addresses); exit 0 when it answers 200, else 1. For Docker's HEALTHCHECK
    Healthcheck {
        /// Configuration file (its `admin.listen` is probed)
        #[arg(long, value_name = "FILE", env = "TOKENGATE_CONFIG")]
        config: PathBuf,
        /// How long to wait for the answer
        #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
        timeout: Duration,
    },
    /// Add a revocation entry through a running instance's admin API and print it as stored
    /// (exit 0 stored, 1 refused, 2 admin API unreachable)
    Revoke(RevokeArgs),
    /// Print which build this is: version, git commit, build date, profile, target, features
    Version {
        /// One JSON object instead of text
        #[arg(long)]
        json: bool,
    },
}

/// `tokengate revoke`: one entry of one kind for one issuer.
#[derive(Debug, Args)]
#[command(group(
    ArgGroup::new("target")
        .required(true)
        .args(["origin_jti", "jti", "sub", "client_id"])
))]
pub struct RevokeArgs {
    /// The admin listener's URL (e.g. http://127.0.0.1:9901)
    #[arg(long, value_name = "URL")]
    pub admin: String,
    /// File holding the admin API token (`revocation.api_token_file`)
    #[arg(long, value_name = "FILE")]
    pub token_file: PathBuf,
    /// The issuer's configured name
    #[arg(long, value_name = "NAME")]
    pub issuer: String,
    /// Revoke one sign-in session: both token types and every refreshed token
    #[arg(long, value_name = "ID")]
    pub origin_jti: Option<String>,
    /// Revoke one token
    #[arg(long, value_name = "ID")]
    pub jti: Option<String>,
    /// Revoke a user's tokens issued up to --before (global sign-out)
    #[arg(long, value_name = "SUB")]
    pub sub: Option<String>,
    /// Revoke a client's tokens issued up to --before (machine-to-machine clients)
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// The cut-off for --sub and --client-id: a NumericDate (seconds) or RFC 3339 time;
    /// default now
    #[arg(long, value_name = "T", conflicts_with_all = ["origin_jti", "jti"])]
    pub before: Option<String>,
    /// How long to wait for the admin API
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}
