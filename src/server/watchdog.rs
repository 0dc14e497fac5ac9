//! Per-connection timers hyper does not have: `header_read_timeout` counted from the first
//! byte of a request head, and `idle_timeout` for a keep-alive connection with no request
//! in flight. Atomics only: the read path and the request path never lock.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

/// No head being read (`head_since` holds milliseconds + 1 otherwise).
const NONE: u64 = 0;

/// What the watchdog knows of one connection.
#[derive(Debug)]
pub struct Activity {
    born: Instant,
    in_flight: AtomicUsize,
    /// Milliseconds since `born` when the connection last became idle.
    idle_since: AtomicU64,
    /// Milliseconds since `born` + 1 when the first byte of a pending head arrived.
    head_since: AtomicU64,
    /// HTTP/2: streams multiplex, so only the idle timer applies.
    h2: AtomicBool,
    /// Whether the first bytes were inspected for the h2c preface.
    sniffed: AtomicBool,
}

/// Why the watchdog ends a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// A request head took longer than `header_read_timeout`: close at once.
    SlowHead,
    /// No request for `idle_timeout`: close gracefully.
    Idle,
}

impl Activity {
    pub fn new(h2: bool) -> Arc<Activity> {
        Arc::new(Activity {
            born: Instant::now(),
            in_flight: AtomicUsize::new(0),
            idle_since: AtomicU64::new(0),
            head_since: AtomicU64::new(NONE),
            h2: AtomicBool::new(h2),
            sniffed: AtomicBool::new(h2),
        })
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.born.elapsed().as_millis()).unwrap_or(u64::MAX - 1)
    }

    /// Called with the bytes of every successful read.
    fn on_read(&self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if !self.sniffed.load(Ordering::Relaxed) && !self.sniffed.swap(true, Ordering::Relaxed) {
            const PREFACE: &[u8] = b"PRI * HTTP/2.0";
            let n = bytes.len().min(PREFACE.len());
            if bytes[..n] == PREFACE[..n] {
                self.h2.store(true, Ordering::Relaxed);
            }
        }
        if self.in_flight.load(Ordering::Acquire) == 0 && !self.h2.load(Ordering::Relaxed) {
            let now = self.now_ms() + 1;
            let _ =
                self.head_since
                    .compare_exchange(NONE, now, Ordering::AcqRel, Ordering::Relaxed);
        }
    }

    /// A request's head is complete: the handler runs until the guard (carried by the
    /// response body) is dropped.
    pub fn enter(self: &Arc<Self>) -> RequestGuard {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.head_since.store(NONE, Ordering::Release);
        RequestGuard(Arc::clone(self))
    }

    /// When the connection expires if nothing happens, and why.
    pub fn deadline(&self, head: Duration, idle: Duration) -> Option<(Instant, Expiry)> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let since = |ms: u64| self.born + Duration::from_millis(ms);
        match self.head_since.load(Ordering::Acquire) {
            NONE => Some((
                since(self.idle_since.load(Ordering::Acquire)) + idle,
                Expiry::Idle,
            )),
            started => Some((since(started - 1) + head, Expiry::SlowHead)),
        }
    }
}

/// One request in flight on the connection; dropped when its response body ends or is
/// dropped (also when the client goes away mid-request).
#[derive(Debug)]
pub struct RequestGuard(Arc<Activity>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        let activity = &self.0;
        activity
            .idle_since
            .store(activity.now_ms(), Ordering::Release);
        activity.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The connection's IO, reporting reads to its [`Activity`].
#[derive(Debug)]
pub struct Watched<I> {
    io: I,
    activity: Arc<Activity>,
}

impl<I> Watched<I> {
    pub fn new(io: I, activity: Arc<Activity>) -> Watched<I> {
        Watched { io, activity }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Watched<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let result = Pin::new(&mut this.io).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = result {
            this.activity.on_read(&buf.filled()[before..]);
        }
        result
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Watched<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// A response body that keeps its request counted as in flight until it ends.
#[derive(Debug)]
pub struct Guarded<B> {
    body: B,
    guard: Option<RequestGuard>,
}

impl<B> Guarded<B> {
    pub fn new(body: B, guard: RequestGuard) -> Guarded<B> {
        Guarded {
            body,
            guard: Some(guard),
        }
    }
}

impl<B: Body<Data = Bytes> + Unpin> Body for Guarded<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.body).poll_frame(cx);
        if let Poll::Ready(None) = polled {
            this.guard = None;
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

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: Duration = Duration::from_secs(10);
    const IDLE: Duration = Duration::from_secs(60);

    fn kind(a: &Activity) -> Option<Expiry> {
        a.deadline(HEAD, IDLE).map(|(_, e)| e)
    }

    #[tokio::test(start_paused = true)]
    async fn idle_then_head_then_in_flight_then_idle_again() {
        let a = Activity::new(false);
        let (at, why) = a
            .deadline(HEAD, IDLE)
            .unwrap_or_else(|| (Instant::now(), Expiry::SlowHead));
        assert_eq!(why, Expiry::Idle);
        assert_eq!(at, a.born + IDLE);

        tokio::time::advance(Duration::from_secs(5)).await;
        a.on_read(b"GET / HT");
        let deadline = a.deadline(HEAD, IDLE);
        assert_eq!(deadline.map(|d| d.1), Some(Expiry::SlowHead));
        assert_eq!(
            deadline.map(|d| d.0),
            Some(a.born + Duration::from_secs(15))
        );
        // More bytes of the same head do not move the deadline (trickling does not help).
        tokio::time::advance(Duration::from_secs(3)).await;
        a.on_read(b"TP/1.1\r\n");
        assert_eq!(
            a.deadline(HEAD, IDLE).map(|d| d.0),
            Some(a.born + Duration::from_secs(15))
        );

        let guard = a.enter();
        assert_eq!(kind(&a), None, "no timer while a request is in flight");
        a.on_read(b"request body bytes");
        assert_eq!(kind(&a), None);
        tokio::time::advance(Duration::from_secs(100)).await;
        drop(guard);
        let deadline = a.deadline(HEAD, IDLE);
        assert_eq!(deadline.map(|d| d.1), Some(Expiry::Idle));
        assert_eq!(
            deadline.map(|d| d.0),
            Some(a.born + Duration::from_secs(108) + IDLE)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn h2c_preface_and_h2_alpn_use_only_the_idle_timer() {
        let a = Activity::new(false);
        a.on_read(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
        assert_eq!(kind(&a), Some(Expiry::Idle));
        let b = Activity::new(true);
        b.on_read(b"\x00\x00\x00\x04");
        assert_eq!(kind(&b), Some(Expiry::Idle));
        let c = Activity::new(false);
        c.on_read(b"GET");
        assert_eq!(kind(&c), Some(Expiry::SlowHead));
    }
}
