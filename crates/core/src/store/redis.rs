//! Records in Redis, shared by every application instance that uses it; they expire.

use std::sync::Arc;
use std::time::Duration;

use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use tokio::sync::OnceCell;

use super::{Page, Store, StoreError, StoreFuture};
use crate::record::{RecordId, RecordSummary, RequestRecord};

/// Keeps records in Redis: each record and its summary under their own keys with a time to
/// live, and a list of ids, newest first, trimmed to a capacity.
#[derive(Debug, Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    client: redis::Client,
    connection: OnceCell<ConnectionManager>,
    prefix: String,
    capacity: usize,
    ttl: Duration,
}

impl RedisStore {
    /// Key prefix used by [`RedisStore::open`].
    pub const DEFAULT_PREFIX: &'static str = "debug-toolbar";
    /// How long records live by default: one hour.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(3600);

    /// A store for the server at `url` (`redis://…`) that connects when first used.
    pub fn open(url: &str, capacity: usize) -> Result<Self, StoreError> {
        let client =
            redis::Client::open(url).map_err(|e| StoreError::new("invalid Redis store URL", e))?;
        Ok(Self::with_client(
            client,
            Self::DEFAULT_PREFIX,
            capacity,
            Self::DEFAULT_TTL,
        ))
    }

    /// A store on `client` whose keys start with `prefix`, keeping the newest `capacity`
    /// records for at most `ttl`.
    pub fn with_client(
        client: redis::Client,
        prefix: &str,
        capacity: usize,
        ttl: Duration,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                client,
                connection: OnceCell::new(),
                prefix: prefix.to_owned(),
                capacity: capacity.max(1),
                ttl: ttl.max(Duration::from_secs(1)),
            }),
        }
    }
}

impl Inner {
    async fn connection(&self) -> Result<ConnectionManager, StoreError> {
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(1);
        self.connection
            .get_or_try_init(|| ConnectionManager::new_with_config(self.client.clone(), config))
            .await
            .cloned()
            .map_err(unavailable)
    }

    fn ids_key(&self) -> String {
        format!("{}:ids", self.prefix)
    }

    fn record_key(&self, id: &str) -> String {
        format!("{}:record:{id}", self.prefix)
    }

    fn summary_key(&self, id: &str) -> String {
        format!("{}:summary:{id}", self.prefix)
    }

    async fn save(&self, record: RequestRecord) -> Result<(), StoreError> {
        let mut connection = self.connection().await?;
        let id = record.id.to_string();
        let json = serde_json::to_string(&record)
            .map_err(|e| StoreError::new("record could not be serialized", e))?;
        let summary = serde_json::to_string(&record.summary())
            .map_err(|e| StoreError::new("record could not be serialized", e))?;
        let ttl = self.ttl.as_secs();
        let capacity = isize::try_from(self.capacity).unwrap_or(isize::MAX);
        // Records past the capacity are deleted with the ids that point at them.
        let evicted: Vec<String> = redis::pipe()
            .atomic()
            .set_ex(self.record_key(&id), json, ttl)
            .ignore()
            .set_ex(self.summary_key(&id), summary, ttl)
            .ignore()
            .lpush(self.ids_key(), &id)
            .ignore()
            .lrange(self.ids_key(), capacity, -1)
            .ltrim(self.ids_key(), 0, capacity - 1)
            .ignore()
            .query_async::<(Vec<String>,)>(&mut connection)
            .await
            .map(|(evicted,)| evicted)
            .map_err(unavailable)?;
        if !evicted.is_empty() {
            let keys: Vec<String> = evicted
                .iter()
                .flat_map(|id| [self.record_key(id), self.summary_key(id)])
                .collect();
            connection.del::<_, ()>(keys).await.map_err(unavailable)?;
        }
        Ok(())
    }

    async fn get(&self, id: RecordId) -> Result<Option<Arc<RequestRecord>>, StoreError> {
        let mut connection = self.connection().await?;
        let json: Option<String> = connection
            .get(self.record_key(&id.to_string()))
            .await
            .map_err(unavailable)?;
        json.map(|json| {
            serde_json::from_str(&json)
                .map(Arc::new)
                .map_err(|e| StoreError::new("stored record could not be read", e))
        })
        .transpose()
    }

    async fn list(&self, page: Page) -> Result<Vec<RecordSummary>, StoreError> {
        if page.limit == 0 {
            return Ok(Vec::new());
        }
        let mut connection = self.connection().await?;
        let start = isize::try_from(page.offset).unwrap_or(isize::MAX);
        let stop = start.saturating_add(isize::try_from(page.limit).unwrap_or(isize::MAX) - 1);
        let ids: Vec<String> = connection
            .lrange(self.ids_key(), start, stop)
            .await
            .map_err(unavailable)?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = ids.iter().map(|id| self.summary_key(id)).collect();
        let summaries: Vec<Option<String>> = redis::cmd("MGET")
            .arg(keys)
            .query_async(&mut connection)
            .await
            .map_err(unavailable)?;
        // Expired records are skipped; their ids age out of the list.
        Ok(summaries
            .into_iter()
            .flatten()
            .filter_map(|json| serde_json::from_str(&json).ok())
            .collect())
    }
}

fn unavailable(e: redis::RedisError) -> StoreError {
    StoreError::new("Redis store unavailable", e)
}

impl Store for RedisStore {
    fn save(&self, record: RequestRecord) -> StoreFuture<()> {
        let inner = self.inner.clone();
        Box::pin(async move { inner.save(record).await })
    }

    fn get(&self, id: RecordId) -> StoreFuture<Option<Arc<RequestRecord>>> {
        let inner = self.inner.clone();
        Box::pin(async move { inner.get(id).await })
    }

    fn list(&self, page: Page) -> StoreFuture<Vec<RecordSummary>> {
        let inner = self.inner.clone();
        Box::pin(async move { inner.list(page).await })
    }
}
