//! `tokengate demo`: the embedded default. Starts, on loopback, a development issuer
//! (ephemeral RSA key, JWKS over HTTP), an echo upstream and the proxy in front of it, and
//! prints curl lines: one allowed, one forbidden for lack of a group, one without a token,
//! a logout, and the logged-out token refused.

mod echo;

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context;
use serde_json::json;
use tokio::net::TcpListener;

use super::say;
use crate::config::load_str;
use crate::dev_issuer::{serve_jwks, DevKey};
use crate::telemetry::{self, Sink};

pub use echo::serve as serve_echo;

const KID: &str = "demo-key-1";
const POOL: &str = "us-east-1_Demo";
const CLIENT_ID: &str = "demo-client";

/// The demo configuration: the real YAML loader, fed the addresses chosen at start-up
/// (public for `tests/config_schema.rs`, which checks it against the shipped schema).
pub const CONFIG: &str = r#"
server:
  listen: ${DEMO_LISTEN}
admin:
  listen: ${DEMO_ADMIN}
upstream:
  url: http://${DEMO_UPSTREAM}
issuers:
  - name: demo
    cognito:
      issuer: ${DEMO_ISSUER}
    client_ids: [demo-client]
    token_use: [access, id]
routes:
  - name: health
    match: { path: /health }
    auth: none
  - name: admin
    match: { path_prefix: /admin }
    require:
      groups_any: [admin]
  - name: logout
    match: { path: /logout, methods: [POST] }
    action: logout
  - name: api
    match: { path_prefix: / }
forward:
  authorization: strip
revocation:
  store: memory
log:
  format: text
  level: info
"#;

pub fn run(listen: SocketAddr, admin: SocketAddr) -> ExitCode {
    telemetry::init(crate::config::LogFormat::Text, "info", Sink::Stderr);
    let Some(runtime) = super::runtime() else {
        return ExitCode::from(1);
    };
    match runtime.block_on(demo(listen, admin)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            say!("tokengate demo: {e:#}");
            ExitCode::from(1)
        }
    }
}

async fn demo(listen: SocketAddr, admin: SocketAddr) -> anyhow::Result<()> {
    let issuer_listener = TcpListener::bind("127.0.0.1:0").await?;
    let issuer_url = format!("http://{}/{POOL}", issuer_listener.local_addr()?);
    let key = DevKey::generate(KID).context("cannot create the development key")?;
    tokio::spawn(serve_jwks(issuer_listener, key.jwks()));

    let echo_listener = TcpListener::bind("127.0.0.1:0").await?;
    let upstream = echo_listener.local_addr()?;
    tokio::spawn(echo::serve(echo_listener));

    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen} (try --listen 127.0.0.1:0)"))?;
    let admin_listener = TcpListener::bind(admin)
        .await
        .with_context(|| format!("cannot listen on {admin} (try --admin 127.0.0.1:0)"))?;
    let proxy = listener.local_addr()?;
    let admin = admin_listener.local_addr()?;
    let vars = [
        ("DEMO_LISTEN", proxy.to_string()),
        ("DEMO_ADMIN", admin.to_string()),
        ("DEMO_UPSTREAM", upstream.to_string()),
        ("DEMO_ISSUER", issuer_url.clone()),
    ];
    let env = |name: &str| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    };
    let config = load_str(CONFIG, &env).map_err(|e| anyhow::anyhow!("demo config: {e}"))?;

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let alice = key.sign(&access_claims(&issuer_url, "alice", &["admin"], now))?;
    let bob = key.sign(&access_claims(&issuer_url, "bob", &[], now))?;
    let guide = format!(
        "tokengate demo: proxy on http://{proxy}, admin on http://{admin}, echo upstream on http://{upstream}\n\
         development issuer {issuer_url} (ephemeral RSA key, JWKS at {issuer_url}/.well-known/jwks.json)\n\n\
         # 200: alice is in group admin; the echo upstream shows the x-auth-* identity headers\n\
         curl -s http://{proxy}/admin/reports -H 'Authorization: Bearer {alice}'\n\n\
         # 403 insufficient_scope: bob is in no group\n\
         curl -si http://{proxy}/admin/reports -H 'Authorization: Bearer {bob}'\n\n\
         # 401 missing_token: no token\n\
         curl -si http://{proxy}/api/hello\n\n\
         # 204: alice logs out; tokengate revokes her session (origin_jti) and answers itself\n\
         curl -si -X POST http://{proxy}/logout -H 'Authorization: Bearer {alice}'\n\n\
         # 401 invalid_token, token revoked: alice's token after the logout\n\
         curl -si http://{proxy}/admin/reports -H 'Authorization: Bearer {alice}'\n\n\
         # keys and readiness\n\
         curl -s http://{admin}/keys\n\n\
         Ctrl-C stops the demo."
    );
    // The demo serves on whether or not anyone reads its guide (a closed pipe is not an
    // error); a stdout that cannot be written otherwise is one.
    super::stdout_line(&guide).context("cannot write the guide to stdout")?;
    let listeners = crate::cmd::run::Listeners {
        data: listener,
        admin: admin_listener,
        grpc: None,
    };
    crate::cmd::run::serve(config, None, listeners).await
}

/// Claims of a Cognito-shaped access token from `issuer` for `user` in `groups`, issued at
/// `now` (Unix seconds) and valid for an hour.
fn access_claims(issuer: &str, user: &str, groups: &[&str], now: u64) -> serde_json::Value {
    json!({
        "sub": format!("{user}-0000-4000-8000-000000000000"),
        "iss": issuer,
        "token_use": "access",
        "client_id": CLIENT_ID,
        "scope": "aws.cognito.signin.user.admin",
        "username": user,
        "cognito:groups": groups,
        "auth_time": now,
        "iat": now,
        "exp": now + 3600,
        "jti": format!("{user}-jti"),
        "origin_jti": format!("{user}-origin-jti"),
    })
}
