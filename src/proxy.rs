//! The Gate: runs a request through its phases (normalize path, route, extract token,
//! verify, policy, logout on `action: logout` routes, header hygiene, forward) and closes
//! every request, allowed or refused, with one log phase. Per request it never locks,
//! fetches keys or blocks.

pub mod authz;
pub mod body;
pub mod head;
pub mod headers;
pub mod log;
pub mod logout;
pub mod original;
pub mod path;
pub mod route;
pub mod trace;
pub mod tunnel;
pub mod upstream;
pub mod verify;

use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use http::header::USER_AGENT;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::upgrade::OnUpgrade;
use tokio::time::Instant;

use crate::app::{App, Snapshot};
use crate::auth::{token, Verified};
use crate::config::{AuthMode, Mode, RouteAction, TokenSource};
use crate::error::Reject;
use crate::outcome::Outcome;
use crate::proxy::body::{full, Body, BoxError, Counted};
use crate::proxy::headers::reserved::X_REQUEST_ID;
use crate::proxy::log::{AccessLog, Logged};
use crate::proxy::trace::RequestTrace;
use crate::proxy::upstream::Dedicated;
use crate::proxy::verify::verify;

/// What the accept loop knows about the connection a request came on.
#[derive(Debug, Clone)]
pub struct Conn {
    pub client_ip: IpAddr,
    /// `client_ip` as `X-Forwarded-For` writes it ([`headers::client_address`]), made once
    /// per connection.
    pub forwarded_for: HeaderValue,
    /// Whether the listener speaks TLS, for `X-Forwarded-Proto`.
    pub tls: bool,
}

impl Conn {
    /// A connection from `client_ip`, over TLS or not.
    pub fn new(client_ip: IpAddr, tls: bool) -> Conn {
        Conn {
            client_ip,
            forwarded_for: headers::client_address(client_ip),
            tls,
        }
    }
}

/// The outer handler: always answers, and always logs (when the response body is done);
/// every response carries the request's `x-request-id`. `dedicated` is the connection's own
/// upstream connection (used for HTTP/1 requests; see [`Dedicated`]).
pub async fn handle(
    app: Arc<App>,
    conn: Conn,
    request: Request<Incoming>,
    dedicated: &Dedicated,
) -> Result<Response<Logged<Body>>, Infallible> {
    let started = Instant::now();
    let _inflight = Inflight::enter(&app.metrics.inflight);
    let snapshot = app.snapshot.load_full();
    let trace = RequestTrace::from_request(request.headers());
    let mut log = AccessLog::new(request.method(), request.uri().path(), trace);
    log.client_ip = Some(conn.client_ip);
    log.tls = conn.tls;
    log.http_version = request.version();
    log.user_agent = request.headers().get(USER_AGENT).cloned();
    let grpc = request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"));
    // Phase: the head's size (`max_header_bytes` below hyper's smallest buffer).
    let sized = head::check(
        request.version(),
        request.method(),
        request.uri(),
        request.headers(),
        snapshot.config.server.max_header_bytes,
    );
    let decided = match (sized, snapshot.config.mode) {
        (Err(e), _) => Err(Reject::HeadTooLarge(e)),
        (Ok(()), Mode::Proxy) => forward(&app, &snapshot, conn, request, &mut log, dedicated).await,
        (Ok(()), Mode::Authz) => authz::check(&snapshot, request, &mut log).await,
    };
    let mut response = match decided {
        Ok(response) => {
            log.outcome = Outcome::Allowed;
            response
        }
        Err(reject) => {
            log.outcome = reject.outcome();
            log.reason = reject.description();
            if grpc {
                reject.to_grpc_response().map(full)
            } else {
                reject.to_response(Some(&log.trace.request_id)).map(full)
            }
        }
    };
    response
        .headers_mut()
        .insert(X_REQUEST_ID, log.trace.request_id.clone());
    log.status = response.status().as_u16();
    let elapsed = count(&app, &snapshot, &log, started);
    let log = snapshot.config.log.access_log.then_some((log, snapshot));
    Ok(response.map(|body| Logged::new(body, log, elapsed)))
}

/// The closing phase, for every request and every check: metrics and the access log.
pub fn record(app: &App, snapshot: &Snapshot, log: &AccessLog, started: Instant) {
    let elapsed = count(app, snapshot, log, started);
    if snapshot.config.log.access_log {
        log.emit(snapshot, elapsed, 0);
    }
}

/// The metrics of the closing phase; returns the time to the response head.
fn count(app: &App, snapshot: &Snapshot, log: &AccessLog, started: Instant) -> Duration {
    if let Some(counters) = snapshot.route_counters(log.route) {
        counters.inc(log.outcome);
    }
    app.metrics.authz_decision(log.api, log.outcome);
    let elapsed = started.elapsed();
    app.metrics.request_duration.observe(elapsed.as_secs_f64());
    elapsed
}

/// Counts a request in flight until dropped, also when the client goes away mid-request
/// and hyper drops the handler's future.
struct Inflight<'a>(&'a prometheus::IntGauge);

impl<'a> Inflight<'a> {
    fn enter(gauge: &'a prometheus::IntGauge) -> Inflight<'a> {
        gauge.inc();
        Inflight(gauge)
    }
}

impl Drop for Inflight<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// What the decision phases concluded about an allowed request.
#[derive(Debug)]
pub struct Decision {
    pub normalized: String,
    pub verified: Option<Arc<Verified>>,
    /// A logout route listed the token's session: answer `logout::no_content()` (proxy and
    /// authz HTTP) or its ext_authz equivalent, never forward.
    pub logged_out: bool,
}

/// The decision phases shared by proxy mode and both authz APIs: normalize the path, route,
/// extract the token, verify, check the route's policy, and on a logout route list the
/// token's session. Any failure is a `Reject`.
pub async fn decide(
    snapshot: &Snapshot,
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    log: &mut AccessLog,
) -> Result<Decision, Reject> {
    // Phase: normalize the path (hostile paths end here).
    let normalized = path::normalize(path).map_err(Reject::BadPath)?;

    // Phase: route.
    let (route_index, route) = snapshot
        .router
        .find(method, &normalized, headers)
        .ok_or(Reject::NoRoute)?;
    log.route = Some(route_index);

    // Phase: token and verification (the request as received).
    let verified = if route.auth == AuthMode::None {
        None
    } else {
        let found = token::extract(headers, query, &snapshot.config.token.sources)
            .map_err(Reject::BadTokenRequest)?;
        match found {
            None if route.auth == AuthMode::Required => return Err(Reject::MissingToken),
            None => None,
            Some((token, source)) => {
                let alb = snapshot.config.token.sources.get(source) == Some(&TokenSource::Alb);
                let verified = verify(snapshot, token.as_str(), alb, log).await?;
                // Phase: policy.
                crate::auth::policy::check(&route.require, &verified)
                    .map_err(Reject::InsufficientScope)?;
                Some(verified)
            }
        }
    };
    // Phase: logout (validation makes these routes `auth: required`, so a token is here).
    let logged_out = match (&verified, route.action) {
        (Some(verified), RouteAction::Logout) => {
            logout::logout(snapshot, verified, log).await?;
            true
        }
        (None, RouteAction::Logout) => return Err(Reject::MissingToken),
        (_, RouteAction::Forward) => false,
    };
    Ok(Decision {
        normalized,
        verified,
        logged_out,
    })
}

/// Proxy mode: decide, then forward with clean headers and stream back.
async fn forward(
    app: &App,
    snapshot: &Snapshot,
    conn: Conn,
    request: Request<Incoming>,
    log: &mut AccessLog,
    dedicated: &Dedicated,
) -> Result<Response<Body>, Reject> {
    let Some(upstream) = &snapshot.upstream else {
        return Err(Reject::BadGateway);
    };
    let (mut parts, body) = request.into_parts();
    // The connection's place among `max_connections`, kept by a tunnel if this upgrades.
    let slot = parts.extensions.remove::<tunnel::Slot>();
    // Phase: the one host the request is for (an ambiguous one ends here, token or not).
    let host = headers::request_host(&parts.uri, &parts.headers).map_err(Reject::BadHeaders)?;
    let Decision {
        normalized,
        verified,
        logged_out,
    } = decide(
        snapshot,
        &parts.method,
        parts.uri.path(),
        parts.uri.query(),
        &parts.headers,
        log,
    )
    .await?;
    if logged_out {
        return Ok(logout::no_content());
    }
    let config = &snapshot.config;

    // A query-string token never reaches the upstream, whichever route and source. The
    // query is copied only when a `query:` source may have to strip from it.
    let mut query: Option<std::borrow::Cow<'_, str>> =
        parts.uri.query().map(std::borrow::Cow::Borrowed);
    for source in &config.token.sources {
        if let TokenSource::Query(name) = source {
            query = query
                .as_deref()
                .and_then(|q| token::strip_query_param(q, name))
                .map(std::borrow::Cow::Owned);
        }
    }

    // Phase: header hygiene (remove, then add). The ALB's `x-amzn-oidc-*` headers pass only
    // when this request's `x-amzn-oidc-data` is what verified (reference section 9).
    let upgrade = snapshot.headers.strip_request(&mut parts.headers);
    let alb_verified = verified.as_ref().is_some_and(|v| {
        snapshot
            .verifier
            .issuers()
            .get(v.issuer)
            .is_some_and(|i| i.config.is_alb())
    });
    if !alb_verified {
        headers::strip_alb(&mut parts.headers);
    }
    if let Some(verified) = &verified {
        snapshot
            .headers
            .add_identity(&mut parts.headers, &verified.identity, &verified.claims)
            .map_err(Reject::BadHeaders)?;
    }
    // What the upstream receives is what was decided on: one `Host` (an HTTP/2 request's
    // `:authority`) and, for an HTTP/1.1 upstream, one `Cookie` header (RFC 9113 8.2.3).
    headers::set_host(&mut parts.headers, host.clone()).map_err(Reject::BadHeaders)?;
    if !upstream.http2() {
        headers::join_cookies(&mut parts.headers).map_err(Reject::BadHeaders)?;
    }
    headers::set_forwarded(&mut parts.headers, &conn.forwarded_for, conn.tls, host)
        .map_err(Reject::BadHeaders)?;
    log.trace
        .set_upstream(&mut parts.headers)
        .map_err(Reject::BadHeaders)?;
    // An HTTP/1.1 upgrade (WebSocket) asked for by an allowed request is carried through:
    // the hop-by-hop pair is put back for the upstream, and both sides are joined on 101.
    let client_upgrade = match upgrade {
        Some(protocol) => match parts.extensions.remove::<OnUpgrade>() {
            Some(on_upgrade) => {
                headers::restore_upgrade(&mut parts.headers, protocol)
                    .map_err(Reject::BadHeaders)?;
                Some(on_upgrade)
            }
            None => None,
        },
        None => None,
    };

    // Phase: forward and stream back.
    parts.uri = upstream.uri(&normalized, query.as_deref())?;
    let upstream_started = Instant::now();
    let bytes_in = Arc::new(AtomicU64::new(0));
    log.bytes_in = Some(Arc::clone(&bytes_in));
    let body = Counted::new(body, bytes_in);
    // An upgrade needs the pooled client's upgradable connection; HTTP/2 requests are
    // served by other tasks than the connection's.
    let dedicated =
        (client_upgrade.is_none() && parts.version <= http::Version::HTTP_11).then_some(dedicated);
    let result = upstream
        .send(Request::from_parts(parts, body), dedicated)
        .await;
    app.metrics
        .upstream_duration
        .observe(upstream_started.elapsed().as_secs_f64());
    let mut response = result?;
    log.upstream_status = Some(response.status().as_u16());
    let upstream_upgrade = (response.status() == StatusCode::SWITCHING_PROTOCOLS)
        .then(|| hyper::upgrade::on(&mut response));
    let (mut parts, body) = response.into_parts();
    let upgraded_to = headers::strip_response(&mut parts.headers);
    if let (Some(client), Some(upstream), Some(protocol)) =
        (client_upgrade, upstream_upgrade, upgraded_to)
    {
        let websocket = protocol.as_bytes().eq_ignore_ascii_case(b"websocket");
        headers::restore_upgrade(&mut parts.headers, protocol).map_err(Reject::BadHeaders)?;
        tokio::spawn(tunnel::run(client, upstream, websocket, slot));
    }
    Ok(Response::from_parts(
        parts,
        body.map_err(|e| -> BoxError { Box::new(e) }).boxed(),
    ))
}
