//! The guard every store is used through: a failing store costs neither memory nor time.
//!
//! A store that is down or does not answer would otherwise collect one waiting save per
//! request, each holding its record, and make the toolbar's own pages wait as long as the store
//! does. [`GuardedStore`] bounds the saves waiting at once (the rest are dropped and counted),
//! puts a deadline on every call, and after a failure leaves the store alone for a while
//! (250 ms, doubling up to 5 s by default) during which calls fail at once; then one call tries
//! again.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::Instant;

use serde::{Deserialize, Serialize};

use super::{Page, SpansSaved, Store, StoreError, StoreFuture, TraceKey, TraceSpans};
use crate::record::{RecordId, RecordSummary, RequestRecord};

/// The limits a [`GuardedStore`] puts on the store it wraps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreLimits {
    /// Most saves waiting for the store at once; more are dropped and counted. By default, 16.
    pub max_in_flight: usize,
    /// Longest a save or a read may take; then it fails as unavailable. By default, 1 s.
    pub timeout: Duration,
    /// How long the store is left alone after a failure; the pause doubles with each failure
    /// in a row. By default, 250 ms.
    pub min_backoff: Duration,
    /// Longest pause between two attempts while the store fails. By default, 5 s.
    pub max_backoff: Duration,
}

impl Default for StoreLimits {
    fn default() -> Self {
        Self {
            max_in_flight: 16,
            timeout: Duration::from_secs(1),
            min_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// What a [`GuardedStore`] has seen of its store since it was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreHealth {
    /// Records the store saved.
    pub saved: u64,
    /// Records never handed to the store: too many saves were waiting, or the store was
    /// failing.
    pub dropped: u64,
    /// Saves the store failed or did not finish within the deadline.
    pub failed: u64,
    /// Saves waiting for the store now.
    pub in_flight: usize,
    /// Most saves waiting at once ([`StoreLimits::max_in_flight`]).
    pub max_in_flight: usize,
    /// Whether the store's last answer was a failure; calls then fail at once until the next
    /// attempt.
    pub failing: bool,
    /// The last failure, if there was one.
    pub last_error: Option<String>,
}

impl StoreHealth {
    /// What is wrong with the store, in a sentence for the toolbar; `None` when nothing is.
    pub fn problem(&self) -> Option<String> {
        if !self.failing && self.in_flight < self.max_in_flight {
            return None;
        }
        let counts = format!(
            "{} saved, {} dropped, {} failed",
            self.saved, self.dropped, self.failed
        );
        if self.failing {
            let error = self.last_error.as_deref().unwrap_or("no answer");
            Some(format!(
                "The toolbar's store is unavailable ({error}); requests are not being stored, \
                 so their panels cannot be opened ({counts})."
            ))
        } else if self.in_flight >= self.max_in_flight {
            Some(format!(
                "The toolbar's store is slow: {} saves are waiting and new requests are not \
                 stored ({counts}).",
                self.in_flight
            ))
        } else {
            None
        }
    }
}

/// Wraps a store so that a failing one costs neither memory nor time: at most
/// [`StoreLimits::max_in_flight`] saves wait at once, every call has a deadline, and while the
/// store fails it is left alone for a growing pause, during which calls fail at once.
///
/// Saves that are not handed to the store are counted, and so are failures; see
/// [`GuardedStore::health`]. The toolbar uses every store through one of these.
#[derive(Debug)]
pub struct GuardedStore {
    store: Arc<dyn Store>,
    shared: Arc<Shared>,
    max_record_bytes: usize,
}

#[derive(Debug)]
struct Shared {
    limits: StoreLimits,
    saved: AtomicU64,
    dropped: AtomicU64,
    failed: AtomicU64,
    in_flight: AtomicUsize,
    breaker: Mutex<Breaker>,
}

/// Whether the store may be called now.
#[derive(Debug, Default)]
struct Breaker {
    /// Failures in a row; 0 while the store answers.
    failures: u32,
    /// When the store may be tried again, after a failure.
    retry_at: Option<Instant>,
    /// Whether one call is trying the store again right now.
    probing: bool,
    last_error: Option<String>,
}

impl GuardedStore {
    /// Guards `store` with `limits`.
    pub fn new(store: Arc<dyn Store>, limits: StoreLimits) -> Self {
        Self {
            store,
            shared: Arc::new(Shared {
                limits: StoreLimits {
                    max_in_flight: limits.max_in_flight.max(1),
                    ..limits
                },
                saved: AtomicU64::new(0),
                dropped: AtomicU64::new(0),
                failed: AtomicU64::new(0),
                in_flight: AtomicUsize::new(0),
                breaker: Mutex::new(Breaker::default()),
            }),
            max_record_bytes: 4 * 1024 * 1024,
        }
    }

    /// Settles records ([`RequestRecord::settle`]) to at most `max_bytes` of JSON before they
    /// are written as JSON or read. By default, 4 MiB.
    #[must_use]
    pub fn record_limit(mut self, max_bytes: usize) -> Self {
        self.max_record_bytes = max_bytes;
        self
    }

    /// The store it guards.
    pub fn inner(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The limits it applies.
    pub fn limits(&self) -> &StoreLimits {
        &self.shared.limits
    }

    /// Counts of saves and the store's last failure.
    pub fn health(&self) -> StoreHealth {
        let shared = &self.shared;
        let breaker = shared.breaker();
        StoreHealth {
            saved: shared.saved.load(Ordering::Relaxed),
            dropped: shared.dropped.load(Ordering::Relaxed),
            failed: shared.failed.load(Ordering::Relaxed),
            in_flight: shared.in_flight.load(Ordering::Relaxed),
            max_in_flight: shared.limits.max_in_flight,
            failing: breaker.failures > 0,
            last_error: breaker.last_error.clone(),
        }
    }

    /// Runs `call` on the store within the deadline; the ticket records how it went.
    fn guarded<T: Send + 'static>(
        &self,
        ticket: Ticket,
        call: impl FnOnce(&dyn Store) -> StoreFuture<T>,
    ) -> StoreFuture<T> {
        let future = Deadline::new(call(&*self.store), self.shared.limits.timeout);
        Box::pin(async move {
            let result = future.await;
            ticket.settle(&result);
            result
        })
    }
}

impl Shared {
    fn breaker(&self) -> MutexGuard<'_, Breaker> {
        self.breaker
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A ticket to call the store now, or why not.
    fn admit(self: &Arc<Self>, save_slot: bool) -> Result<Ticket, StoreError> {
        let mut breaker = self.breaker();
        let mut probe = false;
        if breaker.failures > 0 {
            let now = Instant::now();
            match breaker.retry_at {
                Some(at) if now < at => {
                    return Err(self.unavailable(&breaker, Some(at - now)));
                }
                _ if breaker.probing => return Err(self.unavailable(&breaker, None)),
                _ => {
                    breaker.probing = true;
                    probe = true;
                }
            }
        }
        Ok(Ticket {
            shared: self.clone(),
            probe,
            save_slot,
            settled: false,
        })
    }

    fn unavailable(&self, breaker: &Breaker, retry_in: Option<Duration>) -> StoreError {
        let error = breaker.last_error.as_deref().unwrap_or("no answer");
        let when = match retry_in {
            Some(wait) => format!("tried again in {} ms", wait.as_millis().max(1)),
            None => "being tried again".to_owned(),
        };
        StoreError::msg(format!("store unavailable ({when}): {error}"))
    }

    fn backoff(&self, failures: u32) -> Duration {
        let limits = &self.limits;
        let doublings = failures.saturating_sub(1).min(16);
        limits
            .min_backoff
            .saturating_mul(1 << doublings)
            .min(limits.max_backoff)
    }
}

/// Leave to call the store once; records the outcome when settled, and gives back what it
/// holds when dropped, also unsettled (a call dropped before it finished).
struct Ticket {
    shared: Arc<Shared>,
    /// Whether this call tries a failing store again.
    probe: bool,
    /// Whether it holds one of the saves in flight.
    save_slot: bool,
    settled: bool,
}

impl Ticket {
    fn settle<T>(mut self, result: &Result<T, StoreError>) {
        self.settled = true;
        let shared = &self.shared;
        if self.save_slot {
            let counter = match result {
                Ok(_) => &shared.saved,
                Err(_) => &shared.failed,
            };
            counter.fetch_add(1, Ordering::Relaxed);
        }
        let mut breaker = shared.breaker();
        if self.probe {
            breaker.probing = false;
        }
        match result {
            Ok(_) => {
                breaker.failures = 0;
                breaker.retry_at = None;
            }
            Err(e) => {
                // Calls that were under way when the store started failing do not lengthen the
                // pause; the first failure and each failed retry do.
                if breaker.failures == 0 || self.probe {
                    breaker.failures = breaker.failures.saturating_add(1);
                    breaker.retry_at = Some(Instant::now() + shared.backoff(breaker.failures));
                }
                breaker.last_error = Some(e.to_string());
            }
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.save_slot {
            self.shared.in_flight.fetch_sub(1, Ordering::Relaxed);
        }
        if self.probe && !self.settled {
            self.shared.breaker().probing = false;
        }
    }
}

impl Store for GuardedStore {
    /// Hands the record to the store unless [`StoreLimits::max_in_flight`] saves are waiting
    /// or the store is being left alone; then the record is dropped at once, counted, and the
    /// future fails saying why.
    fn save(&self, record: RequestRecord) -> StoreFuture<()> {
        let shared = &self.shared;
        let max = shared.limits.max_in_flight;
        let reserved = shared
            .in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .is_ok();
        let ticket = if reserved {
            shared.admit(true).inspect_err(|_| {
                shared.in_flight.fetch_sub(1, Ordering::Relaxed);
            })
        } else {
            Err(StoreError::msg(format!(
                "record not stored: {max} saves are already waiting for the store"
            )))
        };
        match ticket {
            Ok(ticket) => {
                let mut record = record;
                if !self.store.keeps_values() {
                    record.settle(self.max_record_bytes);
                }
                self.guarded(ticket, move |store| store.save(record))
            }
            Err(error) => {
                drop(record);
                shared.dropped.fetch_add(1, Ordering::Relaxed);
                Box::pin(std::future::ready(Err(error)))
            }
        }
    }

    /// The record, settled ([`RequestRecord::settle`]) if the store kept it as a value.
    fn get(&self, id: RecordId) -> StoreFuture<Option<Arc<RequestRecord>>> {
        let future = match self.shared.admit(false) {
            Ok(ticket) => self.guarded(ticket, move |store| store.get(id)),
            Err(e) => return Box::pin(std::future::ready(Err(e))),
        };
        if !self.store.keeps_values() {
            return future;
        }
        let max_bytes = self.max_record_bytes;
        Box::pin(async move {
            Ok(future.await?.map(|kept| {
                let mut record = RequestRecord::clone(&kept);
                record.settle(max_bytes);
                Arc::new(record)
            }))
        })
    }

    fn keeps_values(&self) -> bool {
        self.store.keeps_values()
    }

    fn list(&self, page: Page) -> StoreFuture<Vec<RecordSummary>> {
        match self.shared.admit(false) {
            Ok(ticket) => self.guarded(ticket, move |store| store.list(page)),
            Err(e) => Box::pin(std::future::ready(Err(e))),
        }
    }

    fn save_spans(&self, trace: &TraceKey, spans: Vec<String>) -> StoreFuture<SpansSaved> {
        match self.shared.admit(false) {
            Ok(ticket) => self.guarded(ticket, move |store| store.save_spans(trace, spans)),
            Err(e) => Box::pin(std::future::ready(Err(e))),
        }
    }

    fn spans(&self, trace: &TraceKey) -> StoreFuture<TraceSpans> {
        match self.shared.admit(false) {
            Ok(ticket) => self.guarded(ticket, move |store| store.spans(trace)),
            Err(e) => Box::pin(std::future::ready(Err(e))),
        }
    }
}

/// A store call that fails as unavailable when it takes longer than its timeout.
///
/// The timer starts when the call is first found waiting, so a call that answers at once (the
/// in-memory store) needs neither a timer nor a Tokio runtime; outside a runtime there is no
/// timer and the call is simply awaited.
struct Deadline<T> {
    future: StoreFuture<T>,
    timeout: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<T> Deadline<T> {
    fn new(future: StoreFuture<T>, timeout: Duration) -> Self {
        Self {
            future,
            timeout,
            sleep: None,
        }
    }
}

impl<T> Future for Deadline<T> {
    type Output = Result<T, StoreError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Poll::Ready(result) = this.future.as_mut().poll(cx) {
            return Poll::Ready(result);
        }
        if this.sleep.is_none() && tokio::runtime::Handle::try_current().is_ok() {
            this.sleep = Some(Box::pin(tokio::time::sleep(this.timeout)));
        }
        match &mut this.sleep {
            Some(sleep) => sleep.as_mut().poll(cx).map(|()| {
                Err(StoreError::msg(format!(
                    "store unavailable: no answer within {} ms",
                    this.timeout.as_millis()
                )))
            }),
            None => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {

    use std::sync::atomic::AtomicUsize;

    use super::*;
    use crate::record::RECORD_FORMAT_VERSION;
    use crate::store::InMemoryStore;

    fn record() -> RequestRecord {
        RequestRecord {
            format_version: RECORD_FORMAT_VERSION,
            id: RecordId::random().unwrap(),
            started_at_unix_ms: 1,
            method: "GET".into(),
            path: "/".into(),
            status: 200,
            duration_ms: 1.0,
            kind: crate::record::RequestKind::Page,
            layer_attached: true,
            panels: Vec::new(),
            toolbar: Default::default(),
        }
    }

    /// A store whose calls fail at once, or never answer, counting the calls it got.
    #[derive(Debug, Default)]
    struct Broken {
        calls: AtomicUsize,
        silent: bool,
    }

    impl Broken {
        fn answer<T: Send + 'static>(&self) -> StoreFuture<T> {
            self.calls.fetch_add(1, Ordering::Relaxed);
            if self.silent {
                Box::pin(std::future::pending())
            } else {
                Box::pin(std::future::ready(Err(StoreError::msg("refused"))))
            }
        }
    }

    impl Store for Broken {
        fn save(&self, _record: RequestRecord) -> StoreFuture<()> {
            self.answer()
        }
        fn get(&self, _id: RecordId) -> StoreFuture<Option<Arc<RequestRecord>>> {
            self.answer()
        }
        fn list(&self, _page: Page) -> StoreFuture<Vec<RecordSummary>> {
            self.answer()
        }
    }

    /// A store that keeps what it is given as JSON would: it reads nothing back.
    #[derive(Debug, Default)]
    struct Writes(Mutex<Vec<RequestRecord>>);

    impl Store for Writes {
        fn save(&self, record: RequestRecord) -> StoreFuture<()> {
            self.0.lock().unwrap().push(record);
            Box::pin(std::future::ready(Ok(())))
        }
        fn get(&self, _id: RecordId) -> StoreFuture<Option<Arc<RequestRecord>>> {
            Box::pin(std::future::ready(Ok(None)))
        }
        fn list(&self, _page: Page) -> StoreFuture<Vec<RecordSummary>> {
            Box::pin(std::future::ready(Ok(Vec::new())))
        }
    }

    /// A record with a small panel and a large one, neither serialized yet.
    fn record_with_panels() -> RequestRecord {
        let panel = |id: &str, stats: String| crate::record::PanelRecord {
            id: id.to_owned().into(),
            title: id.to_owned().into(),
            subtitle: None,
            stats: crate::stats_json::StatsJson::deferred(stats).0,
            note: None,
            badge: None,
            switched_off: false,
        };
        RequestRecord {
            panels: vec![
                panel("small", "s".repeat(10)),
                panel("large", "l".repeat(1000)),
            ],
            ..record()
        }
    }

    #[test]
    fn records_are_settled_before_a_json_store_gets_them_and_when_read_from_memory() {
        let note = "more than the record limit of 900 bytes";
        let writes = Arc::new(Writes::default());
        let guarded = GuardedStore::new(writes.clone(), StoreLimits::default()).record_limit(900);
        run(guarded.save(record_with_panels())).unwrap();
        let written = writes.0.lock().unwrap().pop().unwrap();
        assert!(written.panels[1].stats.is_null());
        assert!(written.panels[1].note.as_deref().unwrap().contains(note));
        assert_eq!(
            written.panels[0].stats.get(),
            format!("\"{}\"", "s".repeat(10))
        );

        let memory = Arc::new(InMemoryStore::default());
        let guarded = GuardedStore::new(memory.clone(), StoreLimits::default()).record_limit(900);
        let made = record_with_panels();
        let id = made.id;
        run(guarded.save(made)).unwrap();
        let kept = run(memory.get(id)).unwrap().unwrap();
        assert!(
            !kept.panels[1].stats.is_null(),
            "kept as the panels made it"
        );
        let read = run(guarded.get(id)).unwrap().unwrap();
        assert!(read.panels[1].stats.is_null());
        assert!(read.panels[1].note.as_deref().unwrap().contains(note));
        assert!(serde_json::to_vec(&*read).unwrap().len() <= 900);
    }

    fn run<F: Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn a_failing_store_is_left_alone_for_a_doubling_pause() {
        let broken = Arc::new(Broken::default());
        let store = GuardedStore::new(broken.clone(), StoreLimits::default());
        run(async {
            assert!(store.save(record()).await.is_err());
            assert_eq!(broken.calls.load(Ordering::Relaxed), 1);
            for _ in 0..100 {
                let error = store.save(record()).await.unwrap_err().to_string();
                assert!(
                    error.starts_with("store unavailable (tried again in"),
                    "{error}"
                );
            }
            assert_eq!(broken.calls.load(Ordering::Relaxed), 1, "left alone");
            let health = store.health();
            assert_eq!((health.saved, health.dropped, health.failed), (0, 100, 1));
            assert!(health.failing);
            assert_eq!(health.last_error.as_deref(), Some("refused"));

            let mut pauses = Vec::new();
            for _ in 0..6 {
                let before = broken.calls.load(Ordering::Relaxed);
                let started = tokio::time::Instant::now();
                while broken.calls.load(Ordering::Relaxed) == before {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    let _ = store.get(RecordId::random().unwrap()).await;
                }
                pauses.push(started.elapsed().as_millis() / 10 * 10);
            }
            assert_eq!(pauses, [250, 500, 1000, 2000, 4000, 5000]);
        });
    }

    #[test]
    fn a_store_that_answers_again_is_used_again() {
        let memory = Arc::new(InMemoryStore::new(10));
        let store = GuardedStore::new(memory, StoreLimits::default());
        run(async {
            let r = record();
            let id = r.id;
            store.save(r).await.unwrap();
            assert!(store.get(id).await.unwrap().is_some());
            let health = store.health();
            assert_eq!((health.saved, health.dropped, health.failed), (1, 0, 0));
            assert!(!health.failing);
            assert_eq!(health.problem(), None);
        });
    }

    #[test]
    fn a_silent_store_gets_a_bounded_number_of_saves_and_a_deadline() {
        let broken = Arc::new(Broken {
            silent: true,
            ..Broken::default()
        });
        let limits = StoreLimits {
            max_in_flight: 4,
            ..StoreLimits::default()
        };
        let store = GuardedStore::new(broken.clone(), limits);
        run(async {
            let waiting: Vec<_> = (0..10).map(|_| store.save(record())).collect();
            let health = store.health();
            assert_eq!((health.in_flight, health.dropped), (4, 6));
            assert!(health.problem().unwrap().contains("4 saves are waiting"));
            let started = tokio::time::Instant::now();
            let results = join_saves(waiting).await;
            assert_eq!(started.elapsed(), Duration::from_secs(1), "the deadline");
            let errors: Vec<String> = results
                .into_iter()
                .filter_map(Result::err)
                .map(|e| e.to_string())
                .collect();
            assert_eq!(errors.len(), 10);
            assert!(errors.contains(&"store unavailable: no answer within 1000 ms".to_owned()));
            let health = store.health();
            assert_eq!(health.in_flight, 0, "slots given back");
            assert_eq!((health.dropped, health.failed), (6, 4));
            assert!(health.problem().unwrap().contains("unavailable"));

            // A read waits no longer than the deadline either, once the pause is over.
            tokio::time::sleep(Duration::from_millis(250)).await;
            let started = tokio::time::Instant::now();
            assert!(store.list(Page::default()).await.is_err());
            assert_eq!(started.elapsed(), Duration::from_secs(1));
        });
    }

    /// Awaits every save, running them together.
    async fn join_saves(saves: Vec<StoreFuture<()>>) -> Vec<Result<(), StoreError>> {
        let handles: Vec<_> = saves.into_iter().map(tokio::spawn).collect();
        let mut results = Vec::new();
        for handle in handles {
            results.push(handle.await.unwrap());
        }
        results
    }

    #[test]
    fn a_dropped_retry_lets_the_next_call_try() {
        let broken = Arc::new(Broken {
            silent: true,
            ..Broken::default()
        });
        let store = GuardedStore::new(broken.clone(), StoreLimits::default());
        run(async {
            assert!(store.list(Page::default()).await.is_err());
            tokio::time::sleep(Duration::from_millis(250)).await;
            let retry = store.list(Page::default());
            assert!(
                store.list(Page::default()).await.is_err(),
                "one retry at a time"
            );
            assert_eq!(broken.calls.load(Ordering::Relaxed), 2);
            drop(retry);
            drop(store.list(Page::default()));
            assert_eq!(broken.calls.load(Ordering::Relaxed), 3);
        });
    }

    #[test]
    fn without_a_runtime_an_immediate_answer_needs_no_timer() {
        let store = GuardedStore::new(Arc::new(InMemoryStore::new(1)), StoreLimits::default());
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        let mut save = store.save(record());
        assert!(matches!(save.as_mut().poll(&mut cx), Poll::Ready(Ok(()))));
    }
}
