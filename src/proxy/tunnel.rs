//! An upgraded connection (WebSocket) joined to its upstream: it keeps its connection's
//! place among `server.max_connections` until it ends, and when shutdown cuts it, a
//! WebSocket gets a Close frame, 1001 "going away" (RFC 6455 section 7.4.1), on both sides.
//! Runs once per upgrade, never per request; frames are copied as they come, never parsed
//! beyond their headers (extensions such as permessage-deflate pass untouched).

use std::sync::Arc;
use std::time::Duration;

use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{watch, OwnedSemaphorePermit};

/// How long a tunnel takes at most, once cut, to finish the frame in flight, send its
/// Close frames and read the peers' answering Close. `server.rs` cuts tunnels this long
/// before `shutdown_grace` ends, so the whole shutdown stays within the grace period.
pub const CLOSING: Duration = Duration::from_millis(500);

/// Once one side of a WebSocket tunnel has ended, how long the other may take to end too
/// (to send its last frames or answer a Close) before the tunnel is dropped: a finished
/// WebSocket never holds its `max_connections` permit because a peer keeps its socket.
pub const LINGER: Duration = Duration::from_secs(2);

/// Status 1001 "going away" (RFC 6455 section 7.4.1) and its reason, the payload of the
/// Close frame a tunnel cut by shutdown sends each side.
const GOING_AWAY: [u8; 12] = *b"\x03\xe9going away";

/// What an upgraded connection keeps of the connection it came on: its permit among
/// `server.max_connections` (released when the tunnel ends), and the signal that shutdown's
/// grace period is ending. The accept loop puts one in the extensions of every request
/// that asks to upgrade; `proxy.rs` hands it to [`run`].
#[derive(Debug, Clone)]
pub struct Slot {
    _permit: Arc<OwnedSemaphorePermit>,
    cut: watch::Receiver<bool>,
}

impl Slot {
    /// `permit` is the connection's; `cut` turns true when open tunnels must close.
    pub fn new(permit: Arc<OwnedSemaphorePermit>, cut: watch::Receiver<bool>) -> Slot {
        Slot {
            _permit: permit,
            cut,
        }
    }
}

/// Joins an upgraded client connection to the upgraded upstream connection until both
/// sides close (a WebSocket: until one closes, and the other within [`LINGER`]), or until
/// the slot's cut: then a WebSocket (`websocket`, the `Upgrade`
/// protocol both sides agreed on) is closed with 1001 on both sides, anything else is cut.
pub async fn run(client: OnUpgrade, upstream: OnUpgrade, websocket: bool, slot: Option<Slot>) {
    let (client, upstream) = match tokio::try_join!(client, upstream) {
        Ok(pair) => pair,
        Err(e) => {
            tracing::debug!(error = %e, "upgrade failed");
            return;
        }
    };
    let (client_rx, client_tx) = tokio::io::split(TokioIo::new(client));
    let (upstream_rx, upstream_tx) = tokio::io::split(TokioIo::new(upstream));
    let cut = slot.as_ref().map(|s| s.cut.clone());
    // Frames a client sends are masked (RFC 6455 section 5.3); so is our Close to the upstream.
    let to_upstream = relay(client_rx, upstream_tx, true, websocket, cut.clone());
    let to_client = relay(upstream_rx, client_tx, false, websocket, cut);
    if websocket {
        // A WebSocket does not go on half-closed (RFC 6455 section 7.1.1): one side ended,
        // the other gets LINGER to follow.
        tokio::pin!(to_upstream, to_client);
        tokio::select! {
            () = &mut to_upstream => {
                let _ = tokio::time::timeout(LINGER, to_client).await;
            }
            () = &mut to_client => {
                let _ = tokio::time::timeout(LINGER, to_upstream).await;
            }
        }
    } else {
        tokio::join!(to_upstream, to_client);
    }
    drop(slot);
}

/// One direction of a tunnel: copies `src` to `dst` until `src` ends (then shuts `dst`'s
/// writing down), or until `cut`. Cut, a WebSocket direction finishes the frame in flight,
/// sends `dst` a Close (1001) unless `src` already sent one, and reads `src` until its own
/// Close arrives, all within [`CLOSING`]; any other protocol is dropped at once.
async fn relay<R, W>(
    src: R,
    dst: W,
    to_server: bool,
    websocket: bool,
    cut: Option<watch::Receiver<bool>>,
) where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut copy = Copy::new(src, dst);
    let ended = match cut {
        None => copy.until_end().await,
        Some(mut cut) => {
            tokio::select! {
                ended = copy.until_end() => ended,
                // The sender gone means no cut will ever come.
                Ok(_) = cut.wait_for(|cut| *cut) => false,
            }
        }
    };
    if ended {
        return;
    }
    if websocket {
        // Within CLOSING less a margin, so the permit is back before the grace period ends.
        let within = CLOSING.saturating_sub(CLOSING / 5);
        if tokio::time::timeout(within, copy.close(to_server))
            .await
            .is_err()
        {
            tracing::debug!(
                "a WebSocket peer did not finish its frame or answer the Close in time"
            );
        }
    }
}

/// A cancel-safe copy from `src` to `dst` that knows where the WebSocket frames it has
/// passed on begin and end.
struct Copy<R, W> {
    src: R,
    dst: W,
    buf: Box<[u8]>,
    /// `buf[start..end]` was read and not yet written.
    start: usize,
    end: usize,
    /// The frames of every byte written (or, while closing, skipped).
    frames: Frames,
}

impl<R: AsyncRead + Unpin, W: AsyncWrite + Unpin> Copy<R, W> {
    fn new(src: R, dst: W) -> Copy<R, W> {
        Copy {
            src,
            dst,
            buf: vec![0; 16 * 1024].into_boxed_slice(),
            start: 0,
            end: 0,
            frames: Frames::default(),
        }
    }

    /// Copies until `src` ends or fails (true: `dst` is then shut down for writing) or `dst`
    /// fails. Cancel-safe: each await is one read or one write, and what was read is
    /// kept until written.
    async fn until_end(&mut self) -> bool {
        loop {
            if self.start == self.end {
                match self.src.read(&mut self.buf).await {
                    Ok(0) | Err(_) => {
                        let _ = self.dst.shutdown().await;
                        return true;
                    }
                    Ok(n) => (self.start, self.end) = (0, n),
                }
            }
            match self.dst.write(&self.buf[self.start..self.end]).await {
                Ok(0) | Err(_) => return true,
                Ok(n) => {
                    self.frames.advance(&self.buf[self.start..self.start + n]);
                    self.start += n;
                }
            }
        }
    }

    /// The closing: the rest of the frame in flight (no byte of the next), the Close frame
    /// (masked towards the upstream) unless `src` already sent one, then `src` read until
    /// its Close answers ours, or it ends.
    async fn close(&mut self, to_server: bool) {
        while !self.frames.at_boundary() {
            if self.start == self.end {
                let want = self.frames.to_boundary().min(self.buf.len());
                match self.src.read(&mut self.buf[..want]).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => (self.start, self.end) = (0, n),
                }
            }
            let want = self.frames.to_boundary().min(self.end - self.start);
            match self
                .dst
                .write(&self.buf[self.start..self.start + want])
                .await
            {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    self.frames.advance(&self.buf[self.start..self.start + n]);
                    self.start += n;
                }
            }
        }
        if !self.frames.closed {
            let frame = close_frame(to_server);
            if self.dst.write_all(&frame).await.is_err() || self.dst.flush().await.is_err() {
                return;
            }
        }
        let _ = self.dst.shutdown().await;
        // What `src` sent past the boundary is never passed on; read until its Close, so the
        // connection ends with nothing unread (a clean FIN, not a reset that could destroy
        // our Close before the peer reads it).
        self.frames.closed = false;
        self.frames.advance(&self.buf[self.start..self.end]);
        while !self.frames.closed {
            match self.src.read(&mut self.buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => self.frames.advance(&self.buf[..n]),
            }
        }
    }
}

/// A Close frame with status 1001, masked with a random key when sent to the server
/// (RFC 6455 sections 5.3 and 5.5.1).
fn close_frame(masked: bool) -> Vec<u8> {
    let len = GOING_AWAY.len() as u8; // 12: a control frame's payload is under 126 bytes.
    if !masked {
        let mut frame = vec![0x88, len];
        frame.extend_from_slice(&GOING_AWAY);
        return frame;
    }
    let key: [u8; 4] = rand::random();
    let mut frame = vec![0x88, 0x80 | len];
    frame.extend_from_slice(&key);
    frame.extend(
        GOING_AWAY
            .iter()
            .zip(key.iter().cycle())
            .map(|(b, k)| b ^ k),
    );
    frame
}

/// Where a byte stream of WebSocket frames stands (RFC 6455 section 5.2): within a frame's
/// header (`have` bytes of it gathered) or within its payload (`left` bytes to go).
#[derive(Debug, Default)]
struct Frames {
    head: [u8; 14],
    have: usize,
    left: u64,
    /// A Close frame (opcode 0x8) has begun.
    closed: bool,
}

impl Frames {
    /// The length of the header being gathered: 2 bytes, plus 2 or 8 of extended length,
    /// plus 4 of masking key.
    fn head_len(&self) -> usize {
        if self.have < 2 {
            return 2;
        }
        let extended = match self.head[1] & 0x7f {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let mask = if self.head[1] & 0x80 != 0 { 4 } else { 0 };
        2 + extended + mask
    }

    fn advance(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.left > 0 {
                let n = usize::try_from(self.left).map_or(bytes.len(), |l| l.min(bytes.len()));
                self.left -= n as u64;
                bytes = &bytes[n..];
                continue;
            }
            let n = (self.head_len() - self.have).min(bytes.len());
            self.head[self.have..self.have + n].copy_from_slice(&bytes[..n]);
            self.have += n;
            bytes = &bytes[n..];
            if self.have >= 2 && self.have == self.head_len() {
                if self.head[0] & 0x0f == 0x8 {
                    self.closed = true;
                }
                let h = &self.head;
                self.left = match h[1] & 0x7f {
                    126 => u64::from(u16::from_be_bytes([h[2], h[3]])),
                    127 => u64::from_be_bytes([h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9]]),
                    n => u64::from(n),
                };
                self.have = 0;
            }
        }
    }

    fn at_boundary(&self) -> bool {
        self.have == 0 && self.left == 0
    }

    /// How many bytes may pass without going beyond the current frame: the rest of its
    /// header, or of its payload (at least 1 unless at a boundary).
    fn to_boundary(&self) -> usize {
        if self.left > 0 {
            usize::try_from(self.left).unwrap_or(usize::MAX)
        } else if self.have == 0 {
            0
        } else {
            self.head_len() - self.have
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame as a client (masked) or server writes it.
    fn frame(opcode: u8, payload: &[u8], masked: bool) -> Vec<u8> {
        let mut f = vec![0x80 | opcode];
        let m = if masked { 0x80 } else { 0 };
        match payload.len() {
            n if n < 126 => f.push(m | n as u8),
            n if n <= 0xffff => {
                f.push(m | 126);
                f.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                f.push(m | 127);
                f.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        if masked {
            f.extend_from_slice(&[1, 2, 3, 4]);
        }
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn boundaries_are_found_byte_by_byte_for_every_length_form_masked_or_not() {
        for masked in [false, true] {
            for len in [0, 5, 125, 126, 300, 65_535, 65_536, 70_000] {
                let bytes = frame(0x2, &vec![7; len], masked);
                let mut frames = Frames::default();
                for (i, b) in bytes.iter().enumerate() {
                    assert!(
                        frames.at_boundary() == (i == 0),
                        "len {len} masked {masked} at byte {i}"
                    );
                    assert!(i == 0 || frames.to_boundary() >= 1);
                    frames.advance(std::slice::from_ref(b));
                }
                assert!(frames.at_boundary(), "len {len} masked {masked}");
                assert!(!frames.closed);
            }
        }
    }

    #[test]
    fn to_boundary_never_passes_into_the_next_frame() {
        let mut bytes = frame(0x1, b"hello", true);
        let first = bytes.len();
        bytes.extend(frame(0x8, &GOING_AWAY, true));
        let mut frames = Frames::default();
        // Within the header: its rest (the payload's length is not known yet) ...
        frames.advance(&bytes[..3]);
        assert_eq!(frames.to_boundary(), 3);
        // ... then the payload's.
        frames.advance(&bytes[3..6]);
        assert_eq!(frames.to_boundary(), 5);
        frames.advance(&bytes[6..first]);
        assert!(frames.at_boundary());
        assert!(!frames.closed);
        frames.advance(&bytes[first..]);
        assert!(frames.at_boundary() && frames.closed);
    }

    #[test]
    fn the_close_frames_say_1001_going_away_and_the_masked_one_unmasks_to_it() {
        let plain = close_frame(false);
        assert_eq!(&plain[..2], &[0x88, 12]);
        assert_eq!(&plain[2..4], &1001u16.to_be_bytes());
        assert_eq!(&plain[4..], b"going away");
        let masked = close_frame(true);
        assert_eq!(&masked[..2], &[0x88, 0x80 | 12]);
        let key = &masked[2..6];
        let payload: Vec<u8> = masked[6..]
            .iter()
            .zip(key.iter().cycle())
            .map(|(b, k)| b ^ k)
            .collect();
        assert_eq!(payload, GOING_AWAY);
        let mut frames = Frames::default();
        frames.advance(&masked);
        assert!(frames.at_boundary() && frames.closed);
    }
}
