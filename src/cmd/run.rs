//! `tokengate run --config FILE`: validate, bind, start key tasks, serve, drain, exit.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::say;
use crate::app::reload::{self, Reloader};
use crate::app::{self, App};
use crate::config::{load_file, Config};
use crate::jwks::fetch;
use crate::jwks::keyring::Keyring;
use crate::metrics::Metrics;
use crate::revocation::{system_clock, OnUnavailable, Revoker};
use crate::server::{self, admin, ext_authz};
use crate::shutdown;
use crate::telemetry::{self, Sink};

pub fn run(path: &Path) -> ExitCode {
    let config = match load_file(path, &super::process_env) {
        Ok(config) => config,
        Err(e) => {
            let problems: Vec<String> = e.problems.iter().map(ToString::to_string).collect();
            say!(
                "tokengate: invalid configuration {}: {}",
                path.display(),
                problems.join("; ")
            );
            return ExitCode::from(1);
        }
    };
    telemetry::init(config.log.format, &config.log.level, Sink::Stdout);
    let Some(runtime) = super::runtime() else {
        return ExitCode::from(1);
    };
    match runtime.block_on(bind_and_serve(config, path)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            say!("tokengate: {e:#}");
            ExitCode::from(1)
        }
    }
}

async fn bind_and_serve(config: Config, path: &Path) -> anyhow::Result<()> {
    let listener = TcpListener::bind(config.server.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.server.listen))?;
    let admin_listener = TcpListener::bind(config.admin.listen)
        .await
        .with_context(|| format!("cannot listen on {} (admin)", config.admin.listen))?;
    let grpc_listener = match config.authz.grpc_listen {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr} (authz.grpc_listen)"))?,
        ),
        None => None,
    };
    let listeners = Listeners {
        data: listener,
        admin: admin_listener,
        grpc: grpc_listener,
    };
    serve(config, Some(path.to_owned()), listeners).await
}

/// The bound listeners: data plane, admin, and (authz mode) the ext_authz gRPC one.
#[derive(Debug)]
pub struct Listeners {
    pub data: TcpListener,
    pub admin: TcpListener,
    pub grpc: Option<TcpListener>,
}

/// Runs the proxy on already-bound listeners until SIGTERM/SIGINT and the drain finish;
/// with a config file, SIGHUP or a change of the file (or of a file it names) reloads it.
pub async fn serve(
    config: Config,
    path: Option<PathBuf>,
    listeners: Listeners,
) -> anyhow::Result<()> {
    let Listeners {
        data: listener,
        admin: admin_listener,
        grpc: grpc_listener,
    } = listeners;
    if config.jwks.allow_http {
        tracing::warn!("jwks.allow_http is true: key sets may be fetched over plain http from non-loopback hosts");
    }
    let metrics = Metrics::new().context("cannot create metrics")?;
    let jwks_client = fetch::client(config.jwks.fetch_timeout, config.jwks.ca_file.as_deref())
        .context("jwks.ca_file")?;
    let server_config = config.server.clone();
    let tls = match &config.server.tls {
        Some(files) => Some(Arc::new(
            crate::server::tls::server_config(files).context("server.tls")?,
        )),
        None => None,
    };
    let revocation = match &config.revocation {
        Some(settings) => {
            if settings.on_unavailable == OnUnavailable::Allow {
                tracing::warn!("revocation.on_unavailable is allow: once the revocation list is older than max_lag, revoked tokens may pass");
            }
            let revoker =
                Revoker::open(settings, config.jwks.cache_dir.as_deref(), system_clock())?;
            Some(Arc::new(revoker))
        }
        None => None,
    };
    // The store's task loads the list (then `/readyz` may turn 200) and keeps it current.
    let store_task = revocation
        .as_ref()
        .map(|r| tokio::spawn(Arc::clone(&r.store).run()));
    let (snapshot, fresh) =
        app::build_keeping(config, &metrics, &jwks_client, revocation, |_| None);
    let app = Arc::new(App::new(snapshot, metrics));
    app.tls.store(tls);
    let keyring = Keyring::start(fresh);
    tracing::info!(
        listen = %listener.local_addr().context("proxy listener")?,
        admin = %admin_listener.local_addr().context("admin listener")?,
        version = env!("CARGO_PKG_VERSION"),
        "tokengate listening"
    );
    let admin_task = tokio::spawn(admin::serve(admin_listener, Arc::clone(&app)));
    let (stop_tx, stop_rx) = watch::channel(false);
    let grpc_task = match grpc_listener {
        Some(grpc) => {
            tracing::info!(
                listen = %grpc.local_addr().context("authz.grpc_listen")?,
                "Envoy ext_authz gRPC listening"
            );
            Some(tokio::spawn(ext_authz::serve(
                grpc,
                Arc::clone(&app),
                stop_rx.clone(),
            )))
        }
        None => None,
    };
    let signals = tokio::spawn(shutdown::on_signal(Arc::clone(&app), stop_tx));
    // The reload task (SIGHUP and watched files) owns the keyring: aborting it stops the
    // key tasks.
    let hangups = match path {
        Some(path) => tokio::spawn(reload::run(Reloader {
            path,
            app: Arc::clone(&app),
            keyring,
            env: super::process_env,
        })),
        None => tokio::spawn(async move {
            shutdown::ignore_hangup().await;
            drop(keyring);
        }),
    };
    server::serve(listener, app, server_config, stop_rx).await;
    if let Some(grpc) = grpc_task {
        // It stopped taking checks with the data plane; give its in-flight checks a moment.
        if tokio::time::timeout(std::time::Duration::from_secs(1), grpc)
            .await
            .is_err()
        {
            tracing::warn!("ext_authz gRPC listener did not stop in time");
        }
    }
    admin_task.abort();
    if let Some(task) = store_task {
        task.abort();
    }
    signals.abort();
    hangups.abort();
    tracing::info!("tokengate stopped");
    Ok(())
}
