//! Records in Redis, shared by every application instance that uses it; they expire.

use std::sync::Arc;
use std::time::Duration;

use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use tokio::sync::OnceCell;

use super::{Page, SpanLimits, SpansSaved, Store, StoreError, StoreFuture, TraceKey, TraceSpans};
use crate::record::{RecordId, RecordSummary, RequestRecord};

/// Keeps records in Redis: each record and its summary under their own keys with a time to
/// live, and a list of ids, newest first, trimmed to a capacity. Received spans are kept the
/// same way, a list per trace within [`SpanLimits`], so that the instance that shows a page
/// sees the spans another one received.
#[derive(Debug, Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

#[derive(Debug, Clone)]
struct Inner {
    client: redis::Client,
    connection: OnceCell<ConnectionManager>,
    prefix: String,
    capacity: usize,
    ttl: Duration,
    span_limits: SpanLimits,
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
                span_limits: SpanLimits::default(),
            }),
        }
    }

    /// The same store keeping received spans within `limits`. By default,
    /// [`SpanLimits::default`].
    #[must_use]
    pub fn with_span_limits(self, limits: SpanLimits) -> Self {
        let inner = Arc::unwrap_or_clone(self.inner);
        Self {
            inner: Arc::new(Inner {
                span_limits: limits,
                ..inner
            }),
        }
    }
}

/// Adds a batch of spans to a trace within the limits, atomically: the trace's list and its
/// byte and drop counts, then the list of traces, evicting the oldest past the limit.
/// KEYS: spans list, counts hash, traces list; ARGV: ttl, max spans, max bytes, max traces,
/// key prefix, trace id, spans…
const SAVE_SPANS: &str = r"
local count = redis.call('LLEN', KEYS[1])
local known = redis.call('HGET', KEYS[2], 'bytes')
local bytes = tonumber(known or '0')
local kept, dropped = 0, 0
for i = 7, #ARGV do
  local len = string.len(ARGV[i])
  if count < tonumber(ARGV[2]) and bytes + len <= tonumber(ARGV[3]) then
    redis.call('RPUSH', KEYS[1], ARGV[i])
    count = count + 1
    bytes = bytes + len
    kept = kept + 1
  else
    dropped = dropped + 1
  end
end
redis.call('HSET', KEYS[2], 'bytes', bytes)
redis.call('HINCRBY', KEYS[2], 'dropped', dropped)
redis.call('EXPIRE', KEYS[2], ARGV[1])
if kept > 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
if not known then
  redis.call('LREM', KEYS[3], 0, ARGV[6])
  redis.call('LPUSH', KEYS[3], ARGV[6])
  local evicted = redis.call('LRANGE', KEYS[3], tonumber(ARGV[4]), -1)
  redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[4]) - 1)
  for _, id in ipairs(evicted) do
    redis.call('DEL', ARGV[5] .. ':spans:' .. id, ARGV[5] .. ':span-counts:' .. id)
  end
end
return {kept, dropped}
";

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

    fn spans_key(&self, trace: &TraceKey) -> String {
        format!("{}:spans:{trace}", self.prefix)
    }

    fn span_counts_key(&self, trace: &TraceKey) -> String {
        format!("{}:span-counts:{trace}", self.prefix)
    }

    fn traces_key(&self) -> String {
        format!("{}:traces", self.prefix)
    }

    async fn save_spans(
        &self,
        trace: TraceKey,
        spans: Vec<String>,
    ) -> Result<SpansSaved, StoreError> {
        let mut connection = self.connection().await?;
        let limits = &self.span_limits;
        let (kept, dropped): (usize, usize) = redis::Script::new(SAVE_SPANS)
            .key(self.spans_key(&trace))
            .key(self.span_counts_key(&trace))
            .key(self.traces_key())
            .arg(self.ttl.as_secs())
            .arg(limits.max_spans_per_trace)
            .arg(limits.max_bytes_per_trace)
            .arg(limits.max_traces.max(1))
            .arg(&self.prefix)
            .arg(trace.as_str())
            .arg(spans)
            .invoke_async(&mut connection)
            .await
            .map_err(unavailable)?;
        Ok(SpansSaved { kept, dropped })
    }

    async fn spans(&self, trace: TraceKey) -> Result<TraceSpans, StoreError> {
        let mut connection = self.connection().await?;
        let (spans, dropped): (Vec<String>, Option<u64>) = redis::pipe()
            .lrange(self.spans_key(&trace), 0, -1)
            .hget(self.span_counts_key(&trace), "dropped")
            .query_async(&mut connection)
            .await
            .map_err(unavailable)?;
        Ok(TraceSpans {
            spans,
            dropped: dropped.unwrap_or(0),
        })
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

    fn save_spans(&self, trace: &TraceKey, spans: Vec<String>) -> StoreFuture<SpansSaved> {
        let (inner, trace) = (self.inner.clone(), trace.clone());
        Box::pin(async move { inner.save_spans(trace, spans).await })
    }

    fn spans(&self, trace: &TraceKey) -> StoreFuture<TraceSpans> {
        let (inner, trace) = (self.inner.clone(), trace.clone());
        Box::pin(async move { inner.spans(trace).await })
    }
}
