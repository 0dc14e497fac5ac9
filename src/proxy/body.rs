//! The body type of every response tokengate sends: an upstream's body streamed through, or
//! one of tokengate's own complete answers (refusals, checks, admin pages); and the request
//! body forwarded upstream, counted for the access log's `bytes_in`.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};

/// The body type of every response tokengate sends.
pub type Body = BoxBody<Bytes, BoxError>;

/// The error a streamed body can end with (an upstream's, boxed).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A complete body from bytes (tokengate's own answers).
pub fn full(bytes: Bytes) -> Body {
    Full::new(bytes).map_err(|never| match never {}).boxed()
}

/// A request body that counts the bytes read from it (the upstream's read of it).
#[derive(Debug)]
pub struct Counted<B> {
    body: B,
    seen: Arc<AtomicU64>,
}

impl<B> Counted<B> {
    pub fn new(body: B, seen: Arc<AtomicU64>) -> Counted<B> {
        Counted { body, seen }
    }
}

impl<B: http_body::Body<Data = Bytes> + Unpin> http_body::Body for Counted<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.body).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                this.seen.fetch_add(data.len() as u64, Ordering::Relaxed);
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
