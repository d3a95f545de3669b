//! The SQL panel: every sqlx query of the request, with time, rows, duplicates, similar
//! queries, N+1 warnings and EXPLAIN.
//!
//! Queries are captured from the `tracing` events sqlx emits for every statement (target
//! `sqlx::query`, level `DEBUG` by default); the application changes nothing in its query code.
//! EXPLAIN needs a pool of the matching backend, given to the panel with `with_sqlite`,
//! `with_postgres` or `with_mysql` (cargo features `sql-sqlite`, `sql-postgres`, `sql-mysql`)
//! and passed to the toolbar's config builder, where it replaces the registered panel.

mod analysis;
mod explain;
mod lex;
mod read_only;
mod sqlx_events;
mod statements;

use std::borrow::Cow;
use std::time::Duration;

use debug_toolbar_core::{
    ActionFuture, Badge, BadgeLevel, Panel, Problem, ProblemKind, ServerTiming, StatsContext,
    Template, register_panel,
};
use serde::{Deserialize, Serialize};

pub use explain::Pools;

/// Where the database time of a request went.
#[derive(Debug, Clone, Default)]
pub struct SqlPanel {
    settings: SqlSettings,
    pools: Pools,
    /// What is worked out once per distinct statement, shared by the panel's clones.
    statements: statements::Statements,
}

/// Thresholds and limits of the SQL panel.
#[derive(Debug, Clone, Copy, PartialEq)]
struct SqlSettings {
    max_queries: usize,
    n_plus_one_threshold: usize,
    slow_ms: f64,
}

impl Default for SqlSettings {
    fn default() -> Self {
        Self {
            max_queries: 1000,
            n_plus_one_threshold: 5,
            slow_ms: 100.0,
        }
    }
}

impl SqlPanel {
    /// A panel with the default settings and no pool for EXPLAIN.
    pub fn new() -> Self {
        Self::default()
    }

    /// Most queries kept per request; the true count and time are still reported.
    /// By default, 1000.
    #[must_use]
    pub fn with_max_queries(mut self, max: usize) -> Self {
        self.settings.max_queries = max;
        self
    }

    /// How many similar queries from the same place make an N+1. By default, 5.
    #[must_use]
    pub fn with_n_plus_one_threshold(mut self, count: usize) -> Self {
        self.settings.n_plus_one_threshold = count.max(2);
        self
    }

    /// Queries at least this slow are highlighted. By default, 100 ms.
    #[must_use]
    pub fn with_slow_threshold(mut self, threshold: Duration) -> Self {
        self.settings.slow_ms = threshold.as_secs_f64() * 1000.0;
        self
    }

    /// Runs EXPLAIN QUERY PLAN of SQLite queries against the database of `pool`, on a
    /// read-only connection of its own.
    #[cfg(feature = "sql-sqlite")]
    #[must_use]
    pub fn with_sqlite(mut self, pool: sqlx::SqlitePool) -> Self {
        self.pools.sqlite = Some(pool);
        self
    }

    /// Runs EXPLAIN (and EXPLAIN ANALYZE) of PostgreSQL queries against `pool`, in a read-only
    /// transaction with a 2 s statement timeout, rolled back.
    #[cfg(feature = "sql-postgres")]
    #[must_use]
    pub fn with_postgres(mut self, pool: sqlx::PgPool) -> Self {
        self.pools.postgres = Some(pool);
        self
    }

    /// Runs EXPLAIN of MySQL and MariaDB queries against `pool`, in a read-only transaction
    /// with a 2 s statement time limit, rolled back.
    #[cfg(feature = "sql-mysql")]
    #[must_use]
    pub fn with_mysql(mut self, pool: sqlx::MySqlPool) -> Self {
        self.pools.mysql = Some(pool);
        self
    }
}

/// The database that ran a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Backend {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgresql,
    /// MySQL or MariaDB.
    Mysql,
}

impl Backend {
    /// The name the panel shows and stores: `sqlite`, `postgresql` or `mysql` (also the
    /// OpenTelemetry `db.system.name`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgresql => "postgresql",
            Self::Mysql => "mysql",
        }
    }

    /// The backend a `db.system.name` (or `db.system`) value names, in any case; `postgres`
    /// and `mariadb` are understood too.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "sqlite" => Some(Self::Sqlite),
            "postgresql" | "postgres" => Some(Self::Postgresql),
            "mysql" | "mariadb" => Some(Self::Mysql),
            _ => None,
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One executed statement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryRecord {
    /// Position in the request, from 0; also the id EXPLAIN takes.
    pub index: usize,
    /// Index of sqlx's event for this statement in the request's
    /// [`Recording::events`](debug_toolbar_core::Recording::events): where it happened, for
    /// panels that place queries in the span structure.
    #[serde(default)]
    pub event_index: usize,
    /// The table (or other collection) the statement works on, when it names one: the first
    /// name after `FROM`, `INTO` or `UPDATE`, read from the statement's tokens.
    #[serde(default)]
    pub collection: Option<String>,
    /// The statement as sqlx ran it.
    pub sql: String,
    /// The statement with literals and parameters normalised: what similar queries share, the
    /// key the across-request analysis groups statements by.
    #[serde(default)]
    pub normalized: String,
    /// The statement pretty-printed.
    pub formatted: String,
    /// `SELECT`, `INSERT`, `BEGIN`, … (the first keyword, upper case).
    pub kind: String,
    /// Execution time in milliseconds.
    pub duration_ms: f64,
    /// When it started, in milliseconds after the request started.
    pub start_ms: f64,
    /// Rows streamed back.
    pub rows_returned: u64,
    /// Rows changed; `None` for reads (SQLite reports a stale count for them).
    pub rows_affected: Option<u64>,
    /// The database that ran it, when known.
    pub backend: Option<Backend>,
    /// The `tracing` spans it ran inside, outermost first: where the query came from.
    pub span_path: Vec<String>,
    /// How many queries of the request have exactly this statement.
    pub duplicates: usize,
    /// Whether the statement takes bind parameters (`?`, `$1`). sqlx does not report their
    /// values, so queries with the same statement may still have differed in them.
    #[serde(default)]
    pub parameters: bool,
    /// How many have this statement once literals and parameters are normalised.
    pub similar: usize,
    /// At least the slow threshold.
    pub slow: bool,
    /// The transaction it belongs to, numbered from 1.
    pub transaction: Option<usize>,
    /// Whether EXPLAIN can run it, or why not.
    pub explain: Explainability,
    /// The error the application logged right after this query, taken as its failure: sqlx
    /// reports a failed statement like a successful one, so this is the best signal there is
    /// (an `ERROR`, or a `WARN` with an `error` field, in the query's span or one enclosing
    /// it, before the next query).
    #[serde(default)]
    pub error: Option<String>,
}

/// Whether a query can be explained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explainability {
    /// EXPLAIN can run.
    pub available: bool,
    /// EXPLAIN ANALYZE can run too (PostgreSQL).
    pub analyze: bool,
    /// Why not, or a caveat.
    pub note: Option<String>,
}

/// Queries that share a statement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryGroup {
    /// The statement (normalised for similar groups).
    pub sql: String,
    /// How many queries.
    pub count: usize,
    /// Their total time in milliseconds.
    pub total_ms: f64,
    /// Indexes of the queries.
    pub queries: Vec<usize>,
    /// Whether the statement takes bind parameters, whose values are not recorded: the queries
    /// ran the same statement but may have differed in them.
    #[serde(default)]
    pub parameters: bool,
}

/// Similar queries run again and again from one place: probably a loop that should be a join.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NPlusOne {
    /// The normalised statement.
    pub sql: String,
    /// How many times it ran.
    pub count: usize,
    /// The span path it ran from, outermost first.
    pub span_path: Vec<String>,
    /// Where it ran from, in words: the span path joined with ` › `, or "the request handler"
    /// when it ran in no span of the application's. The SQL and Budgets panels and the
    /// `testing` assertions all say this.
    pub origin: String,
    /// Their total time in milliseconds.
    pub total_ms: f64,
}

/// How the toolbar names the place of queries run outside any span of the application's.
const HANDLER_ORIGIN: &str = "the request handler";

/// Where queries with this span path ran from, in words.
pub(crate) fn origin(span_path: &[String]) -> String {
    if span_path.is_empty() {
        HANDLER_ORIGIN.to_owned()
    } else {
        span_path.join(" › ")
    }
}

/// A transaction: its queries and how it ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transaction {
    /// Its number, from 1.
    pub id: usize,
    /// Indexes of its statements, `BEGIN` to `COMMIT`/`ROLLBACK`.
    pub queries: Vec<usize>,
    /// How it ended.
    pub outcome: TransactionOutcome,
}

/// How a transaction ended; stored as `COMMIT`, `ROLLBACK` or `open`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum TransactionOutcome {
    /// `COMMIT` (or `END`).
    #[serde(rename = "COMMIT")]
    Commit,
    /// `ROLLBACK`.
    #[serde(rename = "ROLLBACK")]
    Rollback,
    /// The request ended inside it.
    #[serde(rename = "open")]
    Open,
}

/// What the SQL panel records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SqlStats {
    /// The queries kept, in the order they finished.
    pub queries: Vec<QueryRecord>,
    /// How many queries the request ran.
    pub total_count: usize,
    /// Their total time in milliseconds.
    pub total_ms: f64,
    /// Queries run but not kept, over the per-request limit.
    pub not_shown: usize,
    /// Database time as a percentage of the request's wall time.
    pub share_of_request: Option<f64>,
    /// Index of the slowest query.
    pub slowest: Option<usize>,
    /// Groups of queries that ran the same statement more than once (identical unless the
    /// statement takes parameters, whose values are not recorded).
    pub duplicates: Vec<QueryGroup>,
    /// Groups of statements equal but for literals and parameters, run more than once.
    pub similar: Vec<QueryGroup>,
    /// Similar statements run at least the threshold number of times from one place.
    pub n_plus_one: Vec<NPlusOne>,
    /// Transactions, in order.
    pub transactions: Vec<Transaction>,
    /// The slow threshold in milliseconds.
    pub slow_threshold_ms: f64,
    /// Why no query may have been seen, when none was.
    pub notice: Option<String>,
}

impl SqlStats {
    /// The query with EXPLAIN id `index`.
    pub fn query(&self, index: usize) -> Option<&QueryRecord> {
        self.queries.iter().find(|q| q.index == index)
    }
}

impl Panel for SqlPanel {
    type Stats = SqlStats;
    const ID: &'static str = "sql";

    fn title(&self) -> Cow<'static, str> {
        "SQL".into()
    }

    fn nav_subtitle(&self, stats: &SqlStats) -> Option<String> {
        let noun = if stats.total_count == 1 {
            "query"
        } else {
            "queries"
        };
        Some(format!(
            "{} {noun} in {:.2} ms",
            stats.total_count, stats.total_ms
        ))
    }

    fn badge(&self, stats: &SqlStats) -> Option<Badge> {
        if stats.queries.iter().any(|q| q.error.is_some()) {
            Some(Badge::new(BadgeLevel::Error, "SQL error"))
        } else if !stats.n_plus_one.is_empty() {
            Some(Badge::new(BadgeLevel::Warning, "N+1"))
        } else if stats.queries.iter().any(|q| q.slow) {
            Some(Badge::new(BadgeLevel::Warning, "slow SQL"))
        } else {
            None
        }
    }

    /// Each N+1 pattern with its statement and origin, each slow query and each failed one.
    fn problems(&self, stats: &SqlStats) -> Vec<Problem> {
        let n_plus_one = stats.n_plus_one.iter().map(|n| {
            Problem::new(
                ProblemKind::NPlusOne,
                format!(
                    "N+1: the same statement ran {} times from {} ({:.1} ms); load the rows \
                     in one query (a join or `IN (…)`)",
                    n.count, n.origin, n.total_ms
                ),
            )
            .with_statement(&n.sql)
            .with_origin(&n.origin)
            .with_count(n.count)
            .with_duration_ms(n.total_ms)
        });
        let queries = stats.queries.iter().filter_map(|q| {
            let (kind, message) = if let Some(error) = &q.error {
                (
                    ProblemKind::QueryError,
                    format!("query {} failed: {error}", q.index),
                )
            } else if q.slow {
                (
                    ProblemKind::SlowQuery,
                    format!(
                        "slow query {}: {:.1} ms (threshold {:.1} ms); EXPLAIN it",
                        q.index, q.duration_ms, stats.slow_threshold_ms
                    ),
                )
            } else {
                return None;
            };
            Some(
                Problem::new(kind, message)
                    .with_statement(&q.sql)
                    .with_origin(origin(&q.span_path))
                    .with_duration_ms(q.duration_ms),
            )
        });
        n_plus_one.chain(queries).collect()
    }

    fn generate_stats(&self, cx: &StatsContext<'_>) -> SqlStats {
        let captured = sqlx_events::capture(cx.recording(), &self.settings, &self.pools);
        analysis::analyse(
            captured,
            &self.settings,
            &self.pools,
            &self.statements,
            cx.timing().wall,
        )
    }

    fn template(&self) -> Template {
        Template::new("panels/sql.html", include_str!("../templates/sql.html"))
    }

    fn action_templates(&self) -> Vec<Template> {
        vec![Template::new(
            explain::TEMPLATE,
            include_str!("../templates/sql_explain.html"),
        )]
    }

    /// Total SQL time, on requests that ran SQL.
    fn server_timing(&self, stats: &SqlStats) -> Vec<ServerTiming> {
        if stats.total_count == 0 {
            return Vec::new();
        }
        vec![ServerTiming {
            name: "sql",
            duration_ms: stats.total_ms,
            description: "SQL".into(),
        }]
    }

    fn action(
        &self,
        name: &str,
        stats: SqlStats,
        params: &[(String, String)],
    ) -> Option<ActionFuture> {
        (name == "explain").then(|| explain::explain(&self.pools, stats, params))
    }
}

register_panel!(SqlPanel::new());
