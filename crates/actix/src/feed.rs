//! The feed of new records: `GET {prefix}api/requests/stream`, server-sent events with one
//! record summary per new record.
//!
//! A save this toolbar makes wakes every stream at once; a short poll of the store also finds
//! records saved by other instances sharing it (PostgreSQL, Redis).

use std::collections::{HashSet, VecDeque};
use std::convert::Infallible;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use actix_web::web::Bytes;
use debug_toolbar_core::{Page, RecordId, RecordSummary, Store};
use futures_util::Stream;
use futures_util::future::{Either, select};
use tokio::sync::watch;

/// How often a stream looks at the store when no save of this toolbar woke it.
const POLL: Duration = Duration::from_secs(2);
/// Polls without news before a keep-alive comment goes out (about 16 s).
const KEEP_ALIVE_POLLS: u32 = 8;
/// The newest records a stream looks at each time.
const PAGE: usize = 50;
/// Ids a stream remembers before it forgets all but the newest page.
const MAX_SEEN: usize = 10_000;

/// Tells the streams that a record was saved.
#[derive(Debug)]
pub(crate) struct Feed {
    saved: watch::Sender<u64>,
}

impl Feed {
    pub(crate) fn new() -> Self {
        Self {
            saved: watch::Sender::new(0),
        }
    }

    /// A record was saved.
    pub(crate) fn saved(&self) {
        self.saved
            .send_modify(|count| *count = count.wrapping_add(1));
    }

    /// The event stream for one client: a `retry` line and a comment once the stream knows
    /// which records are already stored, then an event `request` (id: the record id, data: the
    /// record's summary as JSON) per record stored after that, oldest first.
    pub(crate) fn stream(
        &self,
        store: Arc<dyn Store>,
    ) -> impl Stream<Item = Result<Bytes, Infallible>> + 'static {
        let state = State {
            store,
            saved: self.saved.subscribe(),
            seen: None,
            queue: VecDeque::new(),
            quiet_polls: 0,
        };
        futures_util::stream::unfold(state, |mut state| async move {
            let chunk = state.next().await?;
            Some((Ok(chunk), state))
        })
    }
}

struct State {
    store: Arc<dyn Store>,
    saved: watch::Receiver<u64>,
    /// `None` until the records stored before the client came are known.
    seen: Option<HashSet<RecordId>>,
    queue: VecDeque<RecordSummary>,
    quiet_polls: u32,
}

impl State {
    /// The next chunk to send; `None` ends the stream (the toolbar is gone).
    async fn next(&mut self) -> Option<Bytes> {
        if self.seen.is_none() {
            let newest = self.newest().await;
            self.seen = Some(newest.iter().map(|s| s.id).collect());
            return Some(Bytes::from_static(
                b"retry: 2000\n: new requests of the debug toolbar follow\n\n",
            ));
        }
        loop {
            if let Some(summary) = self.queue.pop_front() {
                // A summary always serializes; were it not to, the record is skipped.
                let Ok(json) = serde_json::to_string(&summary) else {
                    continue;
                };
                return Some(Bytes::from(format!(
                    "event: request\nid: {}\ndata: {json}\n\n",
                    summary.id
                )));
            }
            let woken = {
                let saved = pin!(self.saved.changed());
                let poll = pin!(actix_web::rt::time::sleep(POLL));
                match select(saved, poll).await {
                    Either::Left((Ok(()), _)) => true,
                    Either::Left((Err(_), _)) => return None,
                    Either::Right(_) => false,
                }
            };
            self.take_new(self.newest().await);
            if self.queue.is_empty() && !woken {
                self.quiet_polls += 1;
                if self.quiet_polls >= KEEP_ALIVE_POLLS {
                    self.quiet_polls = 0;
                    return Some(Bytes::from_static(b": keep-alive\n\n"));
                }
            }
        }
    }

    /// The newest stored summaries; none while the store fails (the stream waits it out).
    async fn newest(&self) -> Vec<RecordSummary> {
        let page = Page {
            offset: 0,
            limit: PAGE,
        };
        self.store.list(page).await.unwrap_or_default()
    }

    /// Queues the summaries not seen yet, oldest first.
    fn take_new(&mut self, newest: Vec<RecordSummary>) {
        let seen = self.seen.get_or_insert_with(HashSet::new);
        let fresh: Vec<RecordSummary> = newest
            .iter()
            .rev()
            .filter(|s| !seen.contains(&s.id))
            .cloned()
            .collect();
        if seen.len() > MAX_SEEN {
            // What is older than the newest page cannot come back.
            *seen = newest.iter().map(|s| s.id).collect();
        } else {
            seen.extend(fresh.iter().map(|s| s.id));
        }
        if !fresh.is_empty() {
            self.quiet_polls = 0;
        }
        self.queue.extend(fresh);
    }
}
