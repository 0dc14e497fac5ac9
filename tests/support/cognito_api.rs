//! The Cognito JSON API over raw HTTP/1.1, as both emulators (moto, cognito-local) speak it,
//! and reading a JWT's parts without verifying them. Shared by the end-to-end tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;

/// The response head and body of one `AWSCognitoIdentityProviderService.{operation}` call,
/// whatever its status. Neither emulator checks signatures; a dummy SigV4 header is sent, as
/// an AWS SDK would send one.
pub fn try_call(addr: SocketAddr, operation: &str, body: &Value) -> (String, String) {
    let body = body.to_string();
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: AWSCognitoIdentityProviderService.{operation}\r\nAuthorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/cognito-idp/aws4_request, SignedHeaders=host, Signature=x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, payload) = text.split_once("\r\n\r\n").unwrap();
    let payload = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(payload)
    } else {
        payload.to_owned()
    };
    (head.to_owned(), payload)
}

/// One call that must succeed (`context` is added to the failure message).
pub fn call(addr: SocketAddr, operation: &str, body: &Value, context: &str) -> Value {
    let (head, payload) = try_call(addr, operation, body);
    assert!(
        head.starts_with("HTTP/1.1 200"),
        "{operation}: {head}\n{payload}\n{context}"
    );
    serde_json::from_str(&payload).unwrap_or(Value::Null)
}

fn dechunk(mut data: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = data.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        data = &rest[size + 2..];
    }
    out
}

/// A JWT's payload, not verified.
pub fn payload(token: &str) -> Value {
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// A JWT's header, not verified.
pub fn header(token: &str) -> Value {
    let part = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}
