//! Records in a PostgreSQL table, shared by every application instance that uses it.

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, Row};
use tokio::sync::OnceCell;

use super::{Page, SpanLimits, SpansSaved, Store, StoreError, StoreFuture, TraceKey, TraceSpans};
use crate::record::{RecordId, RecordSummary, RequestKind, RequestRecord};

/// Keeps records in a PostgreSQL table (created on first use) and prunes it to a capacity,
/// so that several application instances behind a load balancer show each other's requests.
/// Received spans go into two more tables, `{table}_traces` and `{table}_spans`, within
/// [`SpanLimits`], so that the instance that shows a page sees the spans another one received.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
    span_limits: SpanLimits,
}

struct Inner {
    pool: Pool,
    table: String,
    capacity: usize,
    created: OnceCell<()>,
}

/// The pool the store queries through: the application's, or one made on first use (making
/// a pool needs a Tokio runtime, which configuration may run without).
enum Pool {
    Given(PgPool),
    Lazy {
        options: Box<PgConnectOptions>,
        pool: OnceLock<PgPool>,
    },
}

impl Pool {
    fn get(&self) -> &PgPool {
        match self {
            Pool::Given(pool) => pool,
            Pool::Lazy { options, pool } => pool.get_or_init(|| {
                PgPoolOptions::new()
                    .max_connections(4)
                    .acquire_timeout(Duration::from_secs(2))
                    .connect_lazy_with(PgConnectOptions::clone(options))
            }),
        }
    }
}

// The connect options hold the password: they are not printed.
impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pool = match &self.pool {
            Pool::Given(pool) => Some(pool),
            Pool::Lazy { pool, .. } => pool.get(),
        };
        f.debug_struct("Inner")
            .field("pool", &pool)
            .field("table", &self.table)
            .field("capacity", &self.capacity)
            .field("created", &self.created.initialized())
            .finish()
    }
}

impl PostgresStore {
    /// Table used by [`PostgresStore::connect_lazy`].
    pub const DEFAULT_TABLE: &'static str = "debug_toolbar_records";

    /// A store on `pool` keeping the newest `capacity` records in table `table`, which must be
    /// a plain SQL identifier (letters, digits, `_`).
    pub fn new(pool: PgPool, table: &str, capacity: usize) -> Result<Self, StoreError> {
        Self::with_pool(Pool::Given(pool), table, capacity)
    }

    fn with_pool(pool: Pool, table: &str, capacity: usize) -> Result<Self, StoreError> {
        let valid = !table.is_empty()
            && table
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !table.as_bytes()[0].is_ascii_digit();
        if !valid {
            return Err(StoreError::msg(format!(
                "{table:?} is not a plain table name (letters, digits and _)"
            )));
        }
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                table: table.to_owned(),
                capacity: capacity.max(1),
                created: OnceCell::new(),
            }),
            span_limits: SpanLimits::default(),
        })
    }

    /// A store for the database at `url` (`postgres://…`) that makes its pool and connects
    /// when first used, inside the application's runtime, with short timeouts so that a
    /// database that is down makes the toolbar say so quickly.
    pub fn connect_lazy(url: &str, capacity: usize) -> Result<Self, StoreError> {
        let options = url
            .parse::<PgConnectOptions>()
            .map_err(|e| StoreError::new("invalid PostgreSQL store URL", e))?;
        let pool = Pool::Lazy {
            options: Box::new(options),
            pool: OnceLock::new(),
        };
        Self::with_pool(pool, Self::DEFAULT_TABLE, capacity)
    }

    /// The same store keeping received spans within `limits`. By default,
    /// [`SpanLimits::default`].
    #[must_use]
    pub fn with_span_limits(mut self, limits: SpanLimits) -> Self {
        self.span_limits = limits;
        self
    }
}

impl Inner {
    async fn ensure_table(&self) -> Result<(), StoreError> {
        self.created
            .get_or_try_init(|| async {
                let sql = format!(
                    "CREATE TABLE IF NOT EXISTS {} (
                        seq BIGSERIAL PRIMARY KEY,
                        id TEXT NOT NULL UNIQUE,
                        started_at_unix_ms BIGINT NOT NULL,
                        method TEXT NOT NULL,
                        path TEXT NOT NULL,
                        status INTEGER NOT NULL,
                        duration_ms DOUBLE PRECISION NOT NULL,
                        kind TEXT NOT NULL,
                        record TEXT NOT NULL
                    )",
                    self.table
                );
                // Tables made by earlier versions had `ajax BOOLEAN` where `kind` is now.
                let upgrade = format!(
                    "ALTER TABLE {0} ADD COLUMN IF NOT EXISTS kind TEXT NOT NULL DEFAULT 'page';
                     ALTER TABLE {0} DROP COLUMN IF EXISTS ajax",
                    self.table
                );
                let spans = format!(
                    "CREATE TABLE IF NOT EXISTS {0}_traces (
                        seq BIGSERIAL PRIMARY KEY,
                        trace_id TEXT NOT NULL UNIQUE,
                        spans BIGINT NOT NULL DEFAULT 0,
                        bytes BIGINT NOT NULL DEFAULT 0,
                        dropped BIGINT NOT NULL DEFAULT 0
                    );
                    CREATE TABLE IF NOT EXISTS {0}_spans (
                        seq BIGSERIAL PRIMARY KEY,
                        trace_id TEXT NOT NULL REFERENCES {0}_traces (trace_id) ON DELETE CASCADE,
                        span TEXT NOT NULL
                    );
                    CREATE INDEX IF NOT EXISTS {0}_spans_trace ON {0}_spans (trace_id)",
                    self.table
                );
                for sql in [sql, upgrade, spans] {
                    sqlx::raw_sql(AssertSqlSafe(sql))
                        .execute(self.pool.get())
                        .await
                        .map_err(unavailable)?;
                }
                Ok::<(), StoreError>(())
            })
            .await?;
        Ok(())
    }

    async fn save(&self, record: RequestRecord) -> Result<(), StoreError> {
        self.ensure_table().await?;
        let json = serde_json::to_string(&record)
            .map_err(|e| StoreError::new("record could not be serialized", e))?;
        let insert = format!(
            "INSERT INTO {} (id, started_at_unix_ms, method, path, status, duration_ms, kind, record)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            self.table
        );
        sqlx::query(AssertSqlSafe(insert))
            .bind(record.id.to_string())
            .bind(i64::try_from(record.started_at_unix_ms).unwrap_or(i64::MAX))
            .bind(&record.method)
            .bind(&record.path)
            .bind(i32::from(record.status))
            .bind(record.duration_ms)
            .bind(record.kind.as_str())
            .bind(json)
            .execute(self.pool.get())
            .await
            .map_err(unavailable)?;
        let prune = format!(
            "DELETE FROM {table} WHERE seq <= (SELECT seq FROM {table} ORDER BY seq DESC OFFSET $1 LIMIT 1)",
            table = self.table
        );
        sqlx::query(AssertSqlSafe(prune))
            .bind(i64::try_from(self.capacity).unwrap_or(i64::MAX))
            .execute(self.pool.get())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn get(&self, id: RecordId) -> Result<Option<Arc<RequestRecord>>, StoreError> {
        self.ensure_table().await?;
        let select = format!("SELECT record FROM {} WHERE id = $1", self.table);
        let row = sqlx::query(AssertSqlSafe(select))
            .bind(id.to_string())
            .fetch_optional(self.pool.get())
            .await
            .map_err(unavailable)?;
        let Some(row) = row else { return Ok(None) };
        let json: String = row.try_get(0).map_err(unavailable)?;
        serde_json::from_str(&json)
            .map(|record| Some(Arc::new(record)))
            .map_err(|e| StoreError::new("stored record could not be read", e))
    }

    async fn list(&self, page: Page) -> Result<Vec<RecordSummary>, StoreError> {
        self.ensure_table().await?;
        let select = format!(
            "SELECT id, started_at_unix_ms, method, path, status, duration_ms, kind
             FROM {} ORDER BY seq DESC OFFSET $1 LIMIT $2",
            self.table
        );
        let rows = sqlx::query(AssertSqlSafe(select))
            .bind(i64::try_from(page.offset).unwrap_or(i64::MAX))
            .bind(i64::try_from(page.limit).unwrap_or(i64::MAX))
            .fetch_all(self.pool.get())
            .await
            .map_err(unavailable)?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get(0).map_err(unavailable)?;
                let started: i64 = row.try_get(1).map_err(unavailable)?;
                let status: i32 = row.try_get(4).map_err(unavailable)?;
                Ok(RecordSummary {
                    id: id
                        .parse()
                        .map_err(|e| StoreError::new("stored record id could not be read", e))?,
                    started_at_unix_ms: u64::try_from(started).unwrap_or(0),
                    method: row.try_get(2).map_err(unavailable)?,
                    path: row.try_get(3).map_err(unavailable)?,
                    status: u16::try_from(status).unwrap_or(0),
                    duration_ms: row.try_get(5).map_err(unavailable)?,
                    kind: RequestKind::from_name(row.try_get(6).map_err(unavailable)?)
                        .unwrap_or_default(),
                })
            })
            .collect()
    }
}

impl Inner {
    async fn save_spans(
        &self,
        trace: TraceKey,
        spans: Vec<String>,
        limits: SpanLimits,
    ) -> Result<SpansSaved, StoreError> {
        self.ensure_table().await?;
        let table = &self.table;
        let mut tx = self.pool.get().begin().await.map_err(unavailable)?;
        let upsert = format!(
            "INSERT INTO {table}_traces (trace_id) VALUES ($1) ON CONFLICT (trace_id) DO NOTHING"
        );
        sqlx::query(AssertSqlSafe(upsert))
            .bind(trace.as_str())
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        // The trace's row is locked until commit: batches for one trace are counted in turn.
        let select =
            format!("SELECT spans, bytes FROM {table}_traces WHERE trace_id = $1 FOR UPDATE");
        let row = sqlx::query(AssertSqlSafe(select))
            .bind(trace.as_str())
            .fetch_one(&mut *tx)
            .await
            .map_err(unavailable)?;
        let count: i64 = row.try_get(0).map_err(unavailable)?;
        let bytes: i64 = row.try_get(1).map_err(unavailable)?;
        let (kept, dropped) = limits.admit(
            usize::try_from(count).unwrap_or(usize::MAX),
            usize::try_from(bytes).unwrap_or(usize::MAX),
            spans,
        );
        let kept_bytes: usize = kept.iter().map(String::len).sum();
        let saved = SpansSaved {
            kept: kept.len(),
            dropped,
        };
        let insert =
            format!("INSERT INTO {table}_spans (trace_id, span) SELECT $1, unnest($2::text[])");
        sqlx::query(AssertSqlSafe(insert))
            .bind(trace.as_str())
            .bind(kept)
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        let update = format!(
            "UPDATE {table}_traces SET spans = spans + $2, bytes = bytes + $3,
             dropped = dropped + $4 WHERE trace_id = $1"
        );
        sqlx::query(AssertSqlSafe(update))
            .bind(trace.as_str())
            .bind(i64::try_from(saved.kept).unwrap_or(i64::MAX))
            .bind(i64::try_from(kept_bytes).unwrap_or(i64::MAX))
            .bind(i64::try_from(saved.dropped).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        // The oldest traces past the limit go, with their spans (ON DELETE CASCADE).
        let prune = format!(
            "DELETE FROM {table}_traces WHERE seq <= (SELECT seq FROM {table}_traces
             ORDER BY seq DESC OFFSET $1 LIMIT 1)"
        );
        sqlx::query(AssertSqlSafe(prune))
            .bind(i64::try_from(limits.max_traces.max(1)).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)?;
        Ok(saved)
    }

    async fn spans(&self, trace: TraceKey) -> Result<TraceSpans, StoreError> {
        self.ensure_table().await?;
        let table = &self.table;
        let select = format!(
            "SELECT t.dropped, s.span FROM {table}_traces t
             LEFT JOIN {table}_spans s ON s.trace_id = t.trace_id
             WHERE t.trace_id = $1 ORDER BY s.seq"
        );
        let rows = sqlx::query(AssertSqlSafe(select))
            .bind(trace.as_str())
            .fetch_all(self.pool.get())
            .await
            .map_err(unavailable)?;
        let mut spans = TraceSpans::default();
        for row in rows {
            let dropped: i64 = row.try_get(0).map_err(unavailable)?;
            spans.dropped = u64::try_from(dropped).unwrap_or(0);
            if let Some(span) = row.try_get::<Option<String>, _>(1).map_err(unavailable)? {
                spans.spans.push(span);
            }
        }
        Ok(spans)
    }
}

fn unavailable(e: sqlx::Error) -> StoreError {
    StoreError::new("PostgreSQL store unavailable", e)
}

impl Store for PostgresStore {
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
        let (inner, trace, limits) = (self.inner.clone(), trace.clone(), self.span_limits);
        Box::pin(async move { inner.save_spans(trace, spans, limits).await })
    }

    fn spans(&self, trace: &TraceKey) -> StoreFuture<TraceSpans> {
        let (inner, trace) = (self.inner.clone(), trace.clone());
        Box::pin(async move { inner.spans(trace).await })
    }
}
