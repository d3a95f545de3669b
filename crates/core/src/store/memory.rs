use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use super::{Page, SpanBuffer, SpanLimits, SpansSaved, Store, StoreError, StoreFuture};
use super::{TraceKey, TraceSpans};
use crate::record::{RecordId, RecordSummary, RequestRecord};

/// Keeps the newest records in memory, in a ring of fixed capacity, and received spans in a
/// [`SpanBuffer`] of its own.
#[derive(Debug)]
pub struct InMemoryStore {
    capacity: usize,
    records: Mutex<VecDeque<Arc<RequestRecord>>>,
    spans: SpanBuffer,
}

impl InMemoryStore {
    /// Capacity used by [`InMemoryStore::default`].
    pub const DEFAULT_CAPACITY: usize = 25;

    /// A store that keeps the newest `capacity` records (at least one) and received spans
    /// within the default [`SpanLimits`].
    pub fn new(capacity: usize) -> Self {
        Self::with_span_limits(capacity, SpanLimits::default())
    }

    /// A store that keeps the newest `capacity` records (at least one) and received spans
    /// within `limits`.
    pub fn with_span_limits(capacity: usize, limits: SpanLimits) -> Self {
        let capacity = capacity.max(1);
        Self {
            capacity,
            records: Mutex::new(VecDeque::with_capacity(capacity)),
            spans: SpanBuffer::new(limits),
        }
    }

    /// How many records it keeps at most.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    fn records(&self) -> MutexGuard<'_, VecDeque<Arc<RequestRecord>>> {
        self.records
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn save_now(&self, record: RequestRecord) {
        let mut records = self.records();
        while records.len() >= self.capacity {
            records.pop_front();
        }
        records.push_back(Arc::new(record));
    }

    fn get_now(&self, id: RecordId) -> Option<Arc<RequestRecord>> {
        self.records().iter().rev().find(|r| r.id == id).cloned()
    }

    fn list_now(&self, page: Page) -> Vec<RecordSummary> {
        self.records()
            .iter()
            .rev()
            .skip(page.offset)
            .take(page.limit)
            .map(|r| r.summary())
            .collect()
    }
}

impl Default for InMemoryStore {
    fn default() -> Self {
        Self::new(Self::DEFAULT_CAPACITY)
    }
}

/// Saving and reading happen when the method is called; the returned futures are ready.
impl Store for InMemoryStore {
    fn save(&self, record: RequestRecord) -> StoreFuture<()> {
        self.save_now(record);
        Box::pin(std::future::ready(Ok::<(), StoreError>(())))
    }

    fn get(&self, id: RecordId) -> StoreFuture<Option<Arc<RequestRecord>>> {
        Box::pin(std::future::ready(Ok(self.get_now(id))))
    }

    fn list(&self, page: Page) -> StoreFuture<Vec<RecordSummary>> {
        Box::pin(std::future::ready(Ok(self.list_now(page))))
    }

    fn keeps_values(&self) -> bool {
        true
    }

    fn save_spans(&self, trace: &TraceKey, spans: Vec<String>) -> StoreFuture<SpansSaved> {
        Box::pin(std::future::ready(Ok(self.spans.save(trace, spans))))
    }

    fn spans(&self, trace: &TraceKey) -> StoreFuture<TraceSpans> {
        Box::pin(std::future::ready(Ok(self.spans.get(trace))))
    }
}
