//! Where records are kept between the page and the panel the user opens.

mod guarded;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "redis")]
mod redis;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub use guarded::{GuardedStore, StoreHealth, StoreLimits};
pub use memory::InMemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
#[cfg(feature = "redis")]
pub use redis::RedisStore;

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
}

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
