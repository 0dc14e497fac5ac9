//! The development issuer's JWKS endpoint: one fixed key set over HTTP/1.1 or h2c, at every
//! path ending in `/.well-known/jwks.json` (so any issuer URL on the listener works).

use std::convert::Infallible;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde_json::Value;
use tokio::net::TcpListener;

/// Serves `jwks` (for example [`super::DevKey::jwks`]) as `application/json` at every path
/// ending in `/.well-known/jwks.json`, and 404 elsewhere, until accepting fails.
/// Each connection runs on its own spawned task.
pub async fn serve_jwks(listener: TcpListener, jwks: Value) {
    let body = Bytes::from(jwks.to_string());
    let builder = auto::Builder::new(TokioExecutor::new());
    while let Ok((stream, _)) = listener.accept().await {
        let body = body.clone();
        let service = service_fn(move |request: Request<Incoming>| {
            let body = body.clone();
            async move { Ok::<_, Infallible>(answer(&request, body)) }
        });
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
            .into_owned();
        tokio::spawn(connection);
    }
}

fn answer(request: &Request<Incoming>, jwks: Bytes) -> Response<Full<Bytes>> {
    if request.uri().path().ends_with("/.well-known/jwks.json") {
        let mut response = Response::new(Full::new(jwks));
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response
    } else {
        let mut response = Response::new(Full::new(Bytes::from_static(b"not found")));
        *response.status_mut() = StatusCode::NOT_FOUND;
        response
    }
}
