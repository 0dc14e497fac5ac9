//! The data-plane listener: accept loop with connection permits (`max_connections`), one
//! `auto::Builder` (HTTP/1.1 keep-alive and h2c), and graceful draining on shutdown.

pub mod admin;

use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

use crate::app::App;
use crate::config::ServerConfig;
use crate::proxy::{self, Conn};

/// hyper's smallest read buffer; below it, `max_header_bytes` is enforced by the Gate's own check.
const HYPER_MIN_BUF: usize = 8192;

/// The HTTP/1.1 + h2c connection builder for the data plane.
pub fn builder(config: &ServerConfig) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .max_buf_size(config.max_header_bytes.max(HYPER_MIN_BUF))
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(config.max_header_bytes).unwrap_or(u32::MAX))
        .keep_alive_interval(Some(Duration::from_secs(30)));
    builder
}

/// Serves until `stop` turns true, then drains in-flight requests for at most `grace`.
pub async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    config: ServerConfig,
    mut stop: watch::Receiver<bool>,
) {
    let builder = builder(&config);
    let permits = Arc::new(Semaphore::new(config.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    loop {
        // Past max_connections, new connections wait in the kernel's accept backlog.
        let permit = tokio::select! {
            p = Arc::clone(&permits).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = stop.changed() => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        if stream.set_nodelay(true).is_err() {
            tracing::debug!("could not set TCP_NODELAY");
        }
        let conn = Conn {
            client_ip: peer.ip(),
            tls: false,
        };
        let app = Arc::clone(&app);
        let service = service_fn(move |request| proxy::handle(Arc::clone(&app), conn, request));
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    match tokio::time::timeout(config.shutdown_grace, graceful.shutdown()).await {
        Ok(()) => tracing::info!("all connections drained"),
        Err(_) => tracing::warn!(
            grace = ?config.shutdown_grace,
            "shutdown grace period over; cutting the remaining connections"
        ),
    }
}
