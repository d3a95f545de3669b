//! Records in a PostgreSQL table, shared by every application instance that uses it.

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, Row};
use tokio::sync::OnceCell;

use super::{Page, Store, StoreError, StoreFuture};
use crate::record::{RecordId, RecordSummary, RequestKind, RequestRecord};

/// Keeps records in a PostgreSQL table (created on first use) and prunes it to a capacity,
/// so that several application instances behind a load balancer show each other's requests.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
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
                for sql in [sql, upgrade] {
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
}
