//! Authz mode over HTTP (nginx `auth_request`, Traefik/Caddy ForwardAuth, Envoy HTTP
//! ext_authz): recover the original method and URI, run the shared decision phases, and
//! answer 200 with tokengate's identity headers or the the reference refusal. Never forwards.

use bytes::Bytes;
use http::{Request, Response};
use hyper::body::Incoming;

use crate::app::Snapshot;
use crate::error::Reject;
use crate::metrics::Api;
use crate::proxy::body::{full, Body};
use crate::proxy::decide;
use crate::proxy::log::AccessLog;
use crate::proxy::original::original;

/// Answers one check request.
pub async fn check(
    snapshot: &Snapshot,
    request: Request<Incoming>,
    log: &mut AccessLog,
) -> Result<Response<Body>, Reject> {
    log.api = Api::Http;
    let (parts, _body) = request.into_parts();
    let original = original(
        &parts.method,
        &parts.uri,
        &parts.headers,
        &snapshot.config.authz.path_prefix,
    )
    .map_err(Reject::BadOriginal)?;
    log.method = original.method.clone();
    original.uri.path().clone_into(&mut log.path);
    let decision = decide(
        snapshot,
        &original.method,
        original.uri.path(),
        original.uri.query(),
        &parts.headers,
        log,
    )
    .await?;
    if decision.logged_out {
        return Ok(crate::proxy::logout::no_content());
    }
    let mut response = Response::new(full(Bytes::new()));
    if let Some(verified) = &decision.verified {
        snapshot
            .headers
            .add_identity(response.headers_mut(), &verified.identity, &verified.claims)
            .map_err(Reject::BadHeaders)?;
    }
    Ok(response)
}
