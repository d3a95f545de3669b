//! Where records are kept between the page and the panel the user opens.

mod guarded;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "redis")]
mod redis;
mod spans;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, LazyLock};

pub use guarded::{GuardedStore, StoreHealth, StoreLimits};
pub use memory::InMemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
#[cfg(feature = "redis")]
pub use redis::RedisStore;
pub use spans::{InvalidTraceKey, SpanBuffer, SpanLimits, SpansSaved, TraceKey, TraceSpans};

use crate::record::{RecordId, RecordSummary, RequestRecord};

/// The future a [`Store`] returns; it owns what it needs, so it can run after the call returns
/// (the toolbar saves records off the response path).
pub type StoreFuture<T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'static>>;

/// Keeps request records for the toolbar.
///
/// Implementations bound what they keep; a record that is gone is `Ok(None)`, not an error.
/// An error means the store could not be reached; the toolbar then says so and never fails
/// the user's request. Stores that talk to a server do so outside any request the toolbar
/// records, so their own queries never show up in the toolbar.
pub trait Store: Send + Sync + fmt::Debug + 'static {
    /// Saves a record, evicting the oldest when over capacity.
    fn save(&self, record: RequestRecord) -> StoreFuture<()>;

    /// The record with id `id`, if it is still kept.
    fn get(&self, id: RecordId) -> StoreFuture<Option<Arc<RequestRecord>>>;

    /// A page of record summaries, newest first.
    fn list(&self, page: Page) -> StoreFuture<Vec<RecordSummary>>;

    /// Whether the store keeps records as values in this process rather than writing them
    /// as JSON. The toolbar hands such a store records whose panels' stats are not serialized
    /// yet, and settles them ([`RequestRecord::settle`]) when they are read; any other store
    /// gets them settled. Defaults to `false`.
    fn keeps_values(&self) -> bool {
        false
    }

    /// Keeps spans another process sent for trace `trace` (each serialized by the receiver),
    /// within [`SpanLimits`], so that a record of that trace shows them when it is read.
    ///
    /// By default they are kept in this process's memory, in one buffer every store without
    /// its own shares, with the default [`SpanLimits`]; a store shared by several instances
    /// overrides this so that every instance sees them.
    fn save_spans(&self, trace: &TraceKey, spans: Vec<String>) -> StoreFuture<SpansSaved> {
        let saved = PROCESS_SPANS.save(trace, spans);
        Box::pin(std::future::ready(Ok(saved)))
    }

    /// The spans kept for trace `trace` by [`Store::save_spans`]; none when there are none.
    fn spans(&self, trace: &TraceKey) -> StoreFuture<TraceSpans> {
        let spans = PROCESS_SPANS.get(trace);
        Box::pin(std::future::ready(Ok(spans)))
    }
}

/// Where [`Store::save_spans`] keeps spans by default.
static PROCESS_SPANS: LazyLock<SpanBuffer> = LazyLock::new(SpanBuffer::default);

/// Which records [`Store::list`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// How many of the newest records to skip.
    pub offset: usize,
    /// Most records returned.
    pub limit: usize,
}

impl Default for Page {
    fn default() -> Self {
        Self {
            offset: 0,
            limit: 50,
        }
    }
}

/// A store could not do what was asked.
#[derive(Debug)]
pub struct StoreError {
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl StoreError {
    /// An error with a message and the underlying cause.
    pub fn new(
        message: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// An error with a message only.
    pub fn msg(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
