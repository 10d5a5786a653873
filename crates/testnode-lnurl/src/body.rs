//! The reply body: a whole buffer (with Content-Length) or a stream fed by a task (chunked),
//! for the slow-drip and endless-body faults.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Frame, SizeHint};
use tokio::sync::mpsc;

/// Interval between two bytes of [`crate::Fault::SlowDrip`].
pub const DRIP_INTERVAL: Duration = Duration::from_millis(500);

/// Size of one chunk of [`crate::Fault::EndlessBody`].
const ENDLESS_CHUNK: usize = 16 * 1024;

/// A reply body.
pub enum Body {
    Full(Option<Bytes>),
    Stream(mpsc::Receiver<Bytes>),
}

impl Body {
    pub fn full(bytes: impl Into<Bytes>) -> Body {
        Body::Full(Some(bytes.into()))
    }

    /// `bytes` one byte every [`DRIP_INTERVAL`], chunked.
    pub fn drip(bytes: Bytes) -> Body {
        let (tx, rx) = mpsc::channel(1);
        tokio::spawn(async move {
            for i in 0..bytes.len() {
                tokio::time::sleep(DRIP_INTERVAL).await;
                if tx.send(bytes.slice(i..i + 1)).await.is_err() {
                    return;
                }
            }
        });
        Body::Stream(rx)
    }

    /// `{` and then whitespace for ever, chunked; paced by the reader (the channel holds one
    /// chunk), ends when the client goes away.
    pub fn endless() -> Body {
        let (tx, rx) = mpsc::channel(1);
        tokio::spawn(async move {
            if tx.send(Bytes::from_static(b"{")).await.is_err() {
                return;
            }
            let chunk = Bytes::from(vec![b' '; ENDLESS_CHUNK]);
            while tx.send(chunk.clone()).await.is_ok() {}
        });
        Body::Stream(rx)
    }
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            Body::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Body::Stream(rx) => rx.poll_recv(cx).map(|b| b.map(|b| Ok(Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, Body::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            Body::Full(None) => SizeHint::with_exact(0),
            Body::Stream(_) => SizeHint::default(),
        }
    }
}
