//! Reading a response body up to a size and a time, and giving back what was read when the
//! body turns out to be too large or too slow.

use std::collections::VecDeque;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{BodySize, MessageBody};
use actix_web::rt::time::sleep;
use actix_web::web::{Bytes, BytesMut};

/// What [`read`] got of a body.
pub(crate) enum Read<B: MessageBody> {
    /// The whole body.
    Whole(Bytes),
    /// The body stopped being read: what was read followed by the rest, byte for byte.
    Cut(Replay<B>, Cut),
}

/// Why a body stopped being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cut {
    /// It went past the size limit.
    TooLarge,
    /// It did not end within the time limit.
    TooSlow,
    /// It failed; the error is sent on after what was read.
    Failed,
}

/// Reads `body` while it stays within `limit` bytes and `wait`.
pub(crate) async fn read<B: MessageBody>(body: B, limit: usize, wait: Duration) -> Read<B> {
    let mut body = Box::pin(body);
    let mut read = VecDeque::new();
    let mut len = 0usize;
    let mut timer = std::pin::pin!(sleep(wait));
    loop {
        let next = poll_fn(|cx| match body.as_mut().poll_next(cx) {
            Poll::Ready(next) => Poll::Ready(Some(next)),
            Poll::Pending => timer.as_mut().poll(cx).map(|()| None),
        })
        .await;
        match next {
            None => return Read::Cut(Replay::new(read, body, None), Cut::TooSlow),
            Some(None) => return Read::Whole(join(read, len)),
            Some(Some(Err(e))) => {
                return Read::Cut(Replay::new(read, body, Some(e)), Cut::Failed);
            }
            Some(Some(Ok(chunk))) => {
                len = len.saturating_add(chunk.len());
                read.push_back(chunk);
                if len > limit {
                    return Read::Cut(Replay::new(read, body, None), Cut::TooLarge);
                }
            }
        }
    }
}

fn join(chunks: VecDeque<Bytes>, len: usize) -> Bytes {
    if chunks.len() == 1 {
        return chunks.into_iter().next().unwrap_or_default();
    }
    let mut all = BytesMut::with_capacity(len);
    for chunk in chunks {
        all.extend_from_slice(&chunk);
    }
    all.freeze()
}

/// A body that sends chunks already read, then the rest of the body they were read from.
pub(crate) struct Replay<B: MessageBody> {
    read: VecDeque<Bytes>,
    rest: Pin<Box<B>>,
    /// The error reading stopped at, sent after the chunks read.
    error: Option<B::Error>,
    /// Whether the rest was already sent to its end (or its error).
    done: bool,
}

impl<B: MessageBody> Replay<B> {
    fn new(read: VecDeque<Bytes>, rest: Pin<Box<B>>, error: Option<B::Error>) -> Self {
        Self {
            done: error.is_some(),
            read,
            rest,
            error,
        }
    }
}

// Nothing of a `Replay` is ever pinned in place: the rest of the body is boxed, and the error
// is only moved out.
impl<B: MessageBody> Unpin for Replay<B> {}

impl<B: MessageBody> std::fmt::Debug for Replay<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replay")
            .field("read", &self.read.len())
            .finish_non_exhaustive()
    }
}

impl<B: MessageBody> MessageBody for Replay<B> {
    type Error = B::Error;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = self.get_mut();
        if let Some(chunk) = this.read.pop_front() {
            return Poll::Ready(Some(Ok(chunk)));
        }
        if let Some(e) = this.error.take() {
            return Poll::Ready(Some(Err(e)));
        }
        if this.done {
            return Poll::Ready(None);
        }
        let next = this.rest.as_mut().poll_next(cx);
        if matches!(next, Poll::Ready(None | Some(Err(_)))) {
            this.done = true;
        }
        next
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use actix_web::body::{BodyStream, to_bytes};
    use futures_util::stream;

    fn chunks(parts: &[&'static str]) -> impl MessageBody<Error = std::io::Error> {
        BodyStream::new(stream::iter(
            parts
                .iter()
                .map(|p| Ok::<_, std::io::Error>(Bytes::from_static(p.as_bytes())))
                .collect::<Vec<_>>(),
        ))
    }

    #[actix_web::test]
    async fn a_body_within_the_limit_is_read_whole() {
        let read = read(chunks(&["ab", "cd"]), 4, Duration::from_secs(5)).await;
        assert!(matches!(read, Read::Whole(b) if b == "abcd"));
    }

    #[actix_web::test]
    async fn a_body_over_the_limit_is_replayed_byte_for_byte() {
        let read = read(chunks(&["ab", "cd", "ef"]), 3, Duration::from_secs(5)).await;
        let Read::Cut(replay, Cut::TooLarge) = read else {
            panic!("cut by size");
        };
        assert_eq!(to_bytes(replay).await.unwrap(), "abcdef");
    }

    #[actix_web::test]
    async fn a_slow_body_is_replayed_byte_for_byte() {
        let slow = BodyStream::new(stream::unfold(0, |n| async move {
            match n {
                0 => Some((Ok::<_, std::io::Error>(Bytes::from_static(b"ab")), 1)),
                1 => {
                    sleep(Duration::from_millis(300)).await;
                    Some((Ok(Bytes::from_static(b"cd")), 2))
                }
                _ => None,
            }
        }));
        let read = read(slow, 100, Duration::from_millis(50)).await;
        let Read::Cut(replay, Cut::TooSlow) = read else {
            panic!("cut by time");
        };
        assert_eq!(to_bytes(replay).await.unwrap(), "abcd");
    }
}
