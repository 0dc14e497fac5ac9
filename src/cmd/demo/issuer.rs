//! The demo's development issuer: an ephemeral RSA-2048 key, tokens signed RS256 with its
//! `kid`, and its JWKS served over HTTP on loopback.

use std::convert::Infallible;
use std::sync::Arc;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde_json::{json, Value};
use tokio::net::TcpListener;

const KID: &str = "demo-key-1";

#[derive(Clone)]
pub struct DevIssuer {
    inner: Arc<Inner>,
}

struct Inner {
    issuer: String,
    key: KeyPair,
    jwks: Bytes,
}

impl DevIssuer {
    pub fn new(issuer: &str) -> anyhow::Result<DevIssuer> {
        let key = KeyPair::generate(KeySize::Rsa2048)
            .map_err(|_| anyhow::anyhow!("RSA key generation failed"))?;
        let public = key.public_key();
        let jwk = json!({
            "kty": "RSA",
            "kid": KID,
            "use": "sig",
            "alg": "RS256",
            "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
            "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
        });
        let jwks = Bytes::from(json!({ "keys": [jwk] }).to_string());
        Ok(DevIssuer {
            inner: Arc::new(Inner {
                issuer: issuer.to_owned(),
                key,
                jwks,
            }),
        })
    }

    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// Signs `claims` as an RS256 JWT with this issuer's kid.
    pub fn mint(&self, claims: &Value) -> anyhow::Result<String> {
        let header = json!({"alg": "RS256", "kid": KID, "typ": "JWT"});
        let mut token = URL_SAFE_NO_PAD.encode(header.to_string());
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(claims.to_string()));
        let mut signature = vec![0u8; self.inner.key.public_modulus_len()];
        self.inner
            .key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                token.as_bytes(),
                &mut signature,
            )
            .map_err(|_| anyhow::anyhow!("signing failed"))?;
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(signature));
        Ok(token)
    }

    /// Serves the JWKS at every path ending in `/.well-known/jwks.json`.
    pub async fn serve(self, listener: TcpListener) {
        let builder = auto::Builder::new(TokioExecutor::new());
        while let Ok((stream, _)) = listener.accept().await {
            let jwks = self.inner.jwks.clone();
            let service = service_fn(move |request: Request<Incoming>| {
                let jwks = jwks.clone();
                async move { Ok::<_, Infallible>(answer(&request, jwks)) }
            });
            let connection = builder
                .serve_connection(TokioIo::new(stream), service)
                .into_owned();
            tokio::spawn(connection);
        }
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
