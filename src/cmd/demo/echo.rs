//! The demo's echo upstream: answers every request with its method, path (and query) and
//! headers as JSON, so the identity headers tokengate added can be seen.

use std::collections::BTreeMap;
use std::convert::Infallible;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde_json::json;
use tokio::net::TcpListener;

pub async fn serve(listener: TcpListener) {
    let builder = auto::Builder::new(TokioExecutor::new());
    while let Ok((stream, _)) = listener.accept().await {
        let connection = builder
            .serve_connection(TokioIo::new(stream), service_fn(echo))
            .into_owned();
        tokio::spawn(connection);
    }
}

async fn echo(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let mut headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in &parts.headers {
        headers
            .entry(name.as_str().to_owned())
            .or_default()
            .push(String::from_utf8_lossy(value.as_bytes()).into_owned());
    }
    let body_bytes = body.collect().await.map_or(0, |b| b.to_bytes().len());
    let answer = json!({
        "method": parts.method.as_str(),
        "version": format!("{:?}", parts.version),
        "path": parts.uri.path_and_query().map_or("/", |pq| pq.as_str()),
        "headers": headers,
        "body_bytes": body_bytes,
    });
    let mut response = Response::new(Full::new(Bytes::from(format!("{answer:#}\n"))));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}
