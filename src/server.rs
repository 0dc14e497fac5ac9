//! The data-plane listener: accept loop with connection permits (`max_connections`), an
//! optional TLS handshake, one `auto::Builder` (HTTP/1.1 keep-alive, h2c or h2), the
//! per-connection watchdog, and graceful draining on shutdown (upgraded connections, which
//! keep their permit, are closed just before the grace period ends: `proxy/tunnel.rs`).

pub mod admin;
pub mod ext_authz;
pub mod tls;
pub mod watchdog;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::app::App;
use crate::config::ServerConfig;
use crate::proxy::tunnel::{self, Slot};
use crate::proxy::upstream::Dedicated;
use crate::proxy::{self, Conn};
use crate::server::watchdog::{Activity, Expiry, Guarded, Watched};

/// hyper's smallest read buffer; `max_header_bytes` is enforced to the byte by the Gate's
/// own check (`proxy::head`), and by hyper too when it is larger than this.
const HYPER_MIN_BUF: usize = 8192;

/// The HTTP/1.1 + HTTP/2 connection builder for the data plane. hyper's own h1 header
/// timer is off: it also counts the wait between keep-alive requests, so the watchdog
/// keeps `header_read_timeout` and `idle_timeout` instead.
pub fn builder(config: &ServerConfig) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(None)
        .max_buf_size(config.max_header_bytes.max(HYPER_MIN_BUF))
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(config.max_header_bytes).unwrap_or(u32::MAX))
        .keep_alive_interval(Some(Duration::from_secs(30)));
    builder
}

/// What every connection task shares.
struct Shared {
    app: Arc<App>,
    builder: auto::Builder<TokioExecutor>,
    config: ServerConfig,
    stop: watch::Receiver<bool>,
    /// Turns true when the upgraded connections (tunnels) still open must close.
    cut: watch::Receiver<bool>,
}

/// Serves until `stop` turns true, then drains in-flight requests for at most `grace`.
/// Past `max_connections`, new connections wait in the kernel's accept backlog; an
/// upgraded connection (WebSocket) keeps its permit until it closes. Tunnels still open
/// [`tunnel::CLOSING`] before the grace period ends are closed (WebSocket: 1001 "going
/// away" to both sides), so they are done by its end; other requests run to its end.
pub async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    config: ServerConfig,
    mut stop: watch::Receiver<bool>,
) {
    let max =
        u32::try_from(config.max_connections.clamp(1, Semaphore::MAX_PERMITS)).unwrap_or(u32::MAX);
    let permits = Arc::new(Semaphore::new(max as usize));
    let (cut, cut_rx) = watch::channel(false);
    let shared = Arc::new(Shared {
        app,
        builder: builder(&config),
        config: config.clone(),
        stop: stop.clone(),
        cut: cut_rx,
    });
    loop {
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
        let shared = Arc::clone(&shared);
        let tls = shared.app.tls.load_full();
        tokio::spawn(async move {
            // Shared with a tunnel if the connection upgrades: it outlives the connection.
            let permit = Arc::new(permit);
            match tls {
                None => {
                    let conn = Conn::new(peer.ip(), false);
                    drive(&shared, stream, conn, Activity::new(false), &permit).await;
                }
                Some(tls) => {
                    let handshake = tokio_rustls::TlsAcceptor::from(tls).accept(stream);
                    match tokio::time::timeout(shared.config.header_read_timeout, handshake).await {
                        Ok(Ok(stream)) => {
                            let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
                            let conn = Conn::new(peer.ip(), true);
                            drive(&shared, stream, conn, Activity::new(h2), &permit).await;
                        }
                        Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!("TLS handshake timed out"),
                    }
                }
            }
            drop(permit);
        });
    }
    drop(listener);
    // Every connection task and every tunnel holds a permit: all permits back means all
    // connections done.
    let grace = config.shutdown_grace;
    let before_cut = grace.saturating_sub(tunnel::CLOSING);
    let mut drained = tokio::time::timeout(before_cut, permits.acquire_many(max))
        .await
        .is_ok();
    if !drained {
        tracing::info!("shutdown grace period ending: closing upgraded connections (WebSocket: 1001 going away)");
        // Every receiver may be gone already; no tunnel to tell then.
        let _ = cut.send(true);
        drained = tokio::time::timeout(grace - before_cut, permits.acquire_many(max))
            .await
            .is_ok();
    }
    match drained {
        true => tracing::info!("all connections drained"),
        false => tracing::warn!(
            grace = ?config.shutdown_grace,
            "shutdown grace period over; cutting the remaining connections"
        ),
    }
}

/// Serves one connection until it ends, its watchdog expires it, or shutdown drains it.
/// A request asking to upgrade carries the connection's [`Slot`] for its tunnel.
async fn drive<I>(
    shared: &Shared,
    io: I,
    conn: Conn,
    activity: Arc<Activity>,
    permit: &Arc<OwnedSemaphorePermit>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let app = Arc::clone(&shared.app);
    let watched = Arc::clone(&activity);
    let slot = Slot::new(Arc::clone(permit), shared.cut.clone());
    let client_ip = conn.client_ip;
    // The connection's own upstream connection, driven below beside the connection.
    let dedicated = Arc::new(Dedicated::default());
    let for_requests = Arc::clone(&dedicated);
    let service = service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
        // hyper puts `OnUpgrade` only in requests that ask to upgrade (HTTP/1.1).
        if request
            .extensions()
            .get::<hyper::upgrade::OnUpgrade>()
            .is_some()
        {
            request.extensions_mut().insert(slot.clone());
        }
        let guard = watched.enter();
        let app = Arc::clone(&app);
        let conn = conn.clone();
        let dedicated = Arc::clone(&for_requests);
        async move {
            let response = proxy::handle(app, conn, request, &dedicated).await;
            response.map(|r| r.map(|body| Guarded::new(body, guard)))
        }
    });
    let connection = shared.builder.serve_connection_with_upgrades(
        TokioIo::new(Watched::new(io, Arc::clone(&activity))),
        service,
    );
    tokio::pin!(connection);
    let mut stop = shared.stop.clone();
    let (head, idle) = (
        shared.config.header_read_timeout,
        shared.config.idle_timeout,
    );
    // A head may start (or a request end) while we sleep: look again at least this often,
    // so a deadline is enforced at most half a period late.
    let recheck = (head.min(idle) / 2).max(Duration::from_millis(50));
    let mut draining = *stop.borrow();
    if draining {
        connection.as_mut().graceful_shutdown();
    }
    loop {
        let expiry = activity.deadline(head, idle);
        let soon = Instant::now() + recheck;
        let wake = expiry.map_or(soon, |(at, _)| at.min(soon));
        tokio::select! {
            // The connection first: it is what wakes this task nearly every time.
            biased;
            // The upstream connection before and after the downstream one: a response read
            // upstream, and a request the downstream side just sent, are handled in one pass.
            result = std::future::poll_fn(|cx| {
                let _ = dedicated.poll_drive(cx);
                let polled = connection.as_mut().poll(cx);
                if polled.is_pending() {
                    let _ = dedicated.poll_drive(cx);
                }
                polled
            }) => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            _ = stop.changed(), if !draining => {
                draining = true;
                connection.as_mut().graceful_shutdown();
            }
            () = tokio::time::sleep_until(wake), if !draining => {
                match activity.deadline(head, idle) {
                    Some((at, Expiry::SlowHead)) if at <= Instant::now() => {
                        tracing::debug!(client = %client_ip, "request head too slow; connection closed");
                        return;
                    }
                    Some((at, Expiry::Idle)) if at <= Instant::now() => {
                        draining = true;
                        connection.as_mut().graceful_shutdown();
                    }
                    _ => {}
                }
            }
        }
    }
}
