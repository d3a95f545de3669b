//! EXPLAIN of a recorded query, against a pool the application gives the panel.
//!
//! The statement is checked from its stored text on every click (`read_only`), whatever the
//! record says about it, and run so that it cannot write or hang even where the check missed
//! something: PostgreSQL in a `READ ONLY` transaction with a `statement_timeout`, always rolled
//! back; MySQL and MariaDB in a read-only transaction under a statement time limit, rolled
//! back; SQLite on a connection of its own, opened read-only with `query_only` on. PostgreSQL
//! and MySQL connections come from the application's pool and are closed afterwards, so
//! nothing a statement left in its session (a lock, a setting) outlives it.

use std::fmt;
#[cfg(any(
    feature = "sql-sqlite",
    feature = "sql-postgres",
    feature = "sql-mysql"
))]
use std::time::Duration;

use debug_toolbar_core::{ActionError, ActionFuture, ActionResponse};
use serde::Serialize;

use super::analysis::pretty;
use super::lex::{Dialect, Token, tokens};
use super::read_only::read_only_statement;
use super::{Explainability, SqlStats};

/// The template EXPLAIN answers with.
pub(super) const TEMPLATE: &str = "panels/sql_explain.html";

/// How long EXPLAIN may take to get a connection, and the database to run it.
#[cfg(any(
    feature = "sql-sqlite",
    feature = "sql-postgres",
    feature = "sql-mysql"
))]
const TIME_LIMIT: Duration = Duration::from_secs(2);

/// How much longer than the database's own limit the toolbar waits before it gives up itself.
#[cfg(any(
    feature = "sql-sqlite",
    feature = "sql-postgres",
    feature = "sql-mysql"
))]
const GRACE: Duration = Duration::from_secs(1);

/// The pools EXPLAIN runs against, one per backend the application gave.
#[derive(Clone, Default)]
pub struct Pools {
    #[cfg(feature = "sql-sqlite")]
    pub(super) sqlite: Option<sqlx::SqlitePool>,
    #[cfg(feature = "sql-postgres")]
    pub(super) postgres: Option<sqlx::PgPool>,
    #[cfg(feature = "sql-mysql")]
    pub(super) mysql: Option<sqlx::MySqlPool>,
}

impl fmt::Debug for Pools {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.backends()).finish()
    }
}

impl Pools {
    /// The backends there is a pool for.
    fn backends(&self) -> Vec<&'static str> {
        #[cfg_attr(
            not(any(
                feature = "sql-sqlite",
                feature = "sql-postgres",
                feature = "sql-mysql"
            )),
            expect(unused_mut, reason = "no backend feature, no pool")
        )]
        let mut backends = Vec::new();
        #[cfg(feature = "sql-sqlite")]
        if self.sqlite.is_some() {
            backends.push("sqlite");
        }
        #[cfg(feature = "sql-postgres")]
        if self.postgres.is_some() {
            backends.push("postgresql");
        }
        #[cfg(feature = "sql-mysql")]
        if self.mysql.is_some() {
            backends.push("mysql");
        }
        backends
    }

    /// The backend, when the application gave a pool of exactly one.
    pub(super) fn only_backend(&self) -> Option<super::Backend> {
        match self.backends().as_slice() {
            [one] => super::Backend::from_name(one),
            _ => None,
        }
    }
}

/// Why a statement is not explained.
enum Unexplainable {
    /// Not this statement.
    Refused(String),
    /// Not with this configuration: no pool for the statement's database.
    Unavailable(String),
}

/// What EXPLAIN runs, and how.
struct Explainable<'a> {
    backend: &'static str,
    /// The one read-only statement of the query's text.
    statement: &'a str,
    /// EXPLAIN ANALYZE is offered too.
    analyze: bool,
    note: Option<String>,
}

/// Whether EXPLAIN runs `sql`, a statement run on `backend`, and what exactly; decided from
/// the text alone.
fn explainable<'a>(
    sql: &'a str,
    backend: Option<&str>,
    pools: &Pools,
) -> Result<Explainable<'a>, Unexplainable> {
    let dialect = Dialect::of(backend);
    let statement = read_only_statement(sql, dialect)
        .map_err(|refusal| Unexplainable::Refused(refusal.to_string()))?;
    let Some(backend) = backend else {
        return Err(Unexplainable::Unavailable(
            "the database of this query is unknown: give the SQL panel a pool \
             (SqlPanel::new().with_postgres(pool)) or run the query inside a span with a \
             db.system.name field."
                .to_owned(),
        ));
    };
    let Some(backend) = pools.backends().into_iter().find(|b| *b == backend) else {
        return Err(Unexplainable::Unavailable(format!(
            "no {backend} pool to explain with: pass SqlPanel::new().with_{}(pool) to \
             ToolbarConfig::builder().panel(…) (cargo feature sql-{}).",
            method_suffix(backend),
            method_suffix(backend),
        )));
    };
    let placeholders = tokens(statement, dialect).contains(&Token::Placeholder);
    if placeholders && backend != "sqlite" {
        return Err(Unexplainable::Refused(
            "sqlx does not report the values of bind parameters, so this statement cannot be \
             re-run."
                .to_owned(),
        ));
    }
    Ok(Explainable {
        backend,
        statement,
        analyze: backend == "postgresql",
        note: placeholders.then(|| {
            "Bind parameters are taken as NULL; the plan does not depend on them.".to_owned()
        }),
    })
}

/// Whether EXPLAIN can run `sql`, a statement run on `backend`, and what to say when it cannot.
pub(super) fn explainability(sql: &str, backend: Option<&str>, pools: &Pools) -> Explainability {
    match explainable(sql, backend, pools) {
        Ok(explainable) => Explainability {
            available: true,
            analyze: explainable.analyze,
            note: explainable.note,
        },
        Err(Unexplainable::Refused(note) | Unexplainable::Unavailable(note)) => Explainability {
            available: false,
            analyze: false,
            note: Some(note),
        },
    }
}

fn method_suffix(backend: &str) -> &str {
    match backend {
        "postgresql" => "postgres",
        other => other,
    }
}

/// What EXPLAIN answered, as the template shows it.
#[derive(Debug, Serialize)]
struct Plan {
    backend: String,
    /// The statement explained, pretty-printed.
    sql: String,
    analyze: bool,
    columns: Vec<String>,
    rows: Vec<Vec<String>>,
    note: Option<String>,
}

/// Runs EXPLAIN of query `params["query"]` of the stored request.
pub(super) fn explain(pools: &Pools, stats: SqlStats, params: &[(String, String)]) -> ActionFuture {
    let param = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let analyze = param("analyze") == Some("1");
    let query = param("query")
        .and_then(|q| q.parse::<usize>().ok())
        .and_then(|index| stats.query(index))
        .cloned();
    let pools = pools.clone();
    Box::pin(async move {
        let query = query.ok_or_else(|| {
            ActionError::NotFound("EXPLAIN: this request has no such query.".to_owned())
        })?;
        // Decided again from the stored text, whatever the record says: a record read back
        // from a shared store may have been written by anyone who can write there.
        let explainable = explainable(
            &query.sql,
            query.backend.map(super::Backend::as_str),
            &pools,
        )
        .map_err(|why| match why {
            Unexplainable::Refused(reason) => {
                ActionError::Refused(format!("EXPLAIN refused: {reason}"))
            }
            Unexplainable::Unavailable(reason) => {
                ActionError::Unavailable(format!("EXPLAIN unavailable: {reason}"))
            }
        })?;
        if analyze && !explainable.analyze {
            return Err(ActionError::Refused(
                "EXPLAIN refused: EXPLAIN ANALYZE is offered for PostgreSQL only.".to_owned(),
            ));
        }
        let (columns, rows) =
            run(&pools, explainable.backend, explainable.statement, analyze).await?;
        let plan = Plan {
            backend: explainable.backend.to_owned(),
            sql: pretty(explainable.statement),
            analyze,
            columns,
            rows,
            note: explainable.note,
        };
        let data = serde_json::to_value(&plan).map_err(|e| {
            ActionError::Failed(format!("EXPLAIN failed: the plan could not be shown: {e}"))
        })?;
        Ok(ActionResponse {
            template: TEMPLATE,
            data,
        })
    })
}

type Table = (Vec<String>, Vec<Vec<String>>);

#[allow(
    unused_variables,
    reason = "which arguments a backend reads depends on the backend features switched on"
)]
async fn run(
    pools: &Pools,
    backend: &str,
    statement: &str,
    analyze: bool,
) -> Result<Table, ActionError> {
    match backend {
        #[cfg(feature = "sql-sqlite")]
        "sqlite" => match &pools.sqlite {
            Some(pool) => sqlite(pool, statement).await,
            None => Err(no_pool()),
        },
        #[cfg(feature = "sql-postgres")]
        "postgresql" => match &pools.postgres {
            Some(pool) => postgres(pool, statement, analyze).await,
            None => Err(no_pool()),
        },
        #[cfg(feature = "sql-mysql")]
        "mysql" => match &pools.mysql {
            Some(pool) => mysql(pool, statement).await,
            None => Err(no_pool()),
        },
        _ => Err(no_pool()),
    }
}

/// EXPLAIN QUERY PLAN on a connection of its own, opened read-only and with `query_only` on:
/// SQLite refuses to write through it whatever the text says. (sqlx runs every statement of
/// a text on SQLite, so the statement passed is the single one the check found.)
#[cfg(feature = "sql-sqlite")]
async fn sqlite(pool: &sqlx::SqlitePool, statement: &str) -> Result<Table, ActionError> {
    use sqlx::{ConnectOptions, Connection};
    let options = (*pool.connect_options())
        .clone()
        .read_only(true)
        .pragma("query_only", "ON");
    let mut conn = tokio::time::timeout(TIME_LIMIT, options.connect())
        .await
        .map_err(|_| not_reached())?
        .map_err(unavailable)?;
    let explain = format!("EXPLAIN QUERY PLAN {statement}");
    let rows = tokio::time::timeout(
        TIME_LIMIT + GRACE,
        sqlx::query(sqlx::AssertSqlSafe(explain)).fetch_all(&mut conn),
    )
    .await;
    close(conn.close()).await;
    Ok(table(&rows.map_err(|_| timed_out())?.map_err(failed)?))
}

/// EXPLAIN (ANALYZE) in a `READ ONLY` transaction with a `statement_timeout`, rolled back, on a
/// connection closed afterwards. `standard_conforming_strings` is set for the transaction, so
/// the server reads strings as the check did.
#[cfg(feature = "sql-postgres")]
async fn postgres(
    pool: &sqlx::PgPool,
    statement: &str,
    analyze: bool,
) -> Result<Table, ActionError> {
    use sqlx::Connection;
    let mut conn = acquire(pool).await?;
    let settings = format!(
        "SET LOCAL statement_timeout = {}; SET LOCAL standard_conforming_strings = on",
        TIME_LIMIT.as_millis()
    );
    let explain = if analyze {
        format!("EXPLAIN ANALYZE {statement}")
    } else {
        format!("EXPLAIN {statement}")
    };
    let rows = tokio::time::timeout(TIME_LIMIT + GRACE, async {
        let mut tx = conn.begin_with("BEGIN READ ONLY").await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(settings))
            .execute(&mut *tx)
            .await?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(explain))
            .fetch_all(&mut *tx)
            .await;
        tx.rollback().await?;
        rows
    })
    .await;
    close(conn.close()).await;
    Ok(table(&rows.map_err(|_| timed_out())?.map_err(failed)?))
}

/// EXPLAIN in a read-only transaction, rolled back, under the session's statement time limit
/// (MariaDB's `max_statement_time`, MySQL's `max_execution_time`), on a connection closed
/// afterwards.
#[cfg(feature = "sql-mysql")]
async fn mysql(pool: &sqlx::MySqlPool, statement: &str) -> Result<Table, ActionError> {
    use sqlx::Connection;
    let mut conn = acquire(pool).await?;
    let explain = format!("EXPLAIN {statement}");
    let rows = tokio::time::timeout(TIME_LIMIT + GRACE, async {
        let version: String = sqlx::query_scalar("SELECT VERSION()")
            .fetch_one(&mut *conn)
            .await?;
        let limit = if version.contains("MariaDB") {
            format!(
                "SET SESSION max_statement_time = {}",
                TIME_LIMIT.as_secs_f64()
            )
        } else {
            format!(
                "SET SESSION max_execution_time = {}",
                TIME_LIMIT.as_millis()
            )
        };
        sqlx::raw_sql(sqlx::AssertSqlSafe(limit))
            .execute(&mut *conn)
            .await?;
        let mut tx = conn.begin_with("START TRANSACTION READ ONLY").await?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(explain))
            .fetch_all(&mut *tx)
            .await;
        tx.rollback().await?;
        rows
    })
    .await;
    close(conn.close()).await;
    Ok(table(&rows.map_err(|_| timed_out())?.map_err(failed)?))
}

/// A connection of the application's pool, closed when dropped instead of returned: nothing a
/// statement leaves in its session (a lock, a setting) outlives EXPLAIN.
#[cfg(any(feature = "sql-postgres", feature = "sql-mysql"))]
async fn acquire<DB: sqlx::Database>(
    pool: &sqlx::Pool<DB>,
) -> Result<sqlx::pool::PoolConnection<DB>, ActionError> {
    let mut conn = tokio::time::timeout(TIME_LIMIT, pool.acquire())
        .await
        .map_err(|_| not_reached())?
        .map_err(unavailable)?;
    conn.close_on_drop();
    Ok(conn)
}

/// Waits a little for a connection to close; whatever happens, it is gone.
#[cfg(any(
    feature = "sql-sqlite",
    feature = "sql-postgres",
    feature = "sql-mysql"
))]
async fn close(closing: impl Future<Output = Result<(), sqlx::Error>>) {
    // An error here changes nothing: the connection is not used again either way.
    let _ = tokio::time::timeout(GRACE, closing).await;
}

fn no_pool() -> ActionError {
    ActionError::Unavailable("EXPLAIN unavailable: no pool for this query's database.".to_owned())
}

#[cfg(any(
    feature = "sql-sqlite",
    feature = "sql-postgres",
    feature = "sql-mysql"
))]
fn timed_out() -> ActionError {
    ActionError::TimedOut(format!(
        "EXPLAIN timed out after {} s.",
        TIME_LIMIT.as_secs()
    ))
}

#[cfg(any(
    feature = "sql-sqlite",
    feature = "sql-postgres",
    feature = "sql-mysql"
))]
fn not_reached() -> ActionError {
    ActionError::Unavailable(format!(
        "EXPLAIN unavailable: no connection to the database within {} s.",
        TIME_LIMIT.as_secs()
    ))
}

#[cfg(any(
    feature = "sql-sqlite",
    feature = "sql-postgres",
    feature = "sql-mysql"
))]
fn unavailable(e: sqlx::Error) -> ActionError {
    ActionError::Unavailable(format!(
        "EXPLAIN unavailable: the database could not be reached: {e}"
    ))
}

/// What an error of a connection that was reached means.
#[cfg(any(
    feature = "sql-sqlite",
    feature = "sql-postgres",
    feature = "sql-mysql"
))]
fn failed(e: sqlx::Error) -> ActionError {
    match e {
        sqlx::Error::Database(db) if is_timeout(db.as_ref()) => timed_out(),
        sqlx::Error::Database(db) => ActionError::Failed(format!(
            "EXPLAIN failed: the database answered: {}",
            db.message()
        )),
        e @ (sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed) => unavailable(e),
        other => ActionError::Failed(format!("EXPLAIN failed: {other}")),
    }
}

/// Whether the database stopped the statement at its time limit.
#[cfg(any(
    feature = "sql-sqlite",
    feature = "sql-postgres",
    feature = "sql-mysql"
))]
fn is_timeout(e: &dyn sqlx::error::DatabaseError) -> bool {
    // PostgreSQL's query_canceled, which statement_timeout raises.
    if e.code().as_deref() == Some("57014") {
        return true;
    }
    // MariaDB's max_statement_time, MySQL's max_execution_time.
    #[cfg(feature = "sql-mysql")]
    if let Some(e) = e.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        return matches!(e.number(), 1969 | 3024);
    }
    false
}

/// Column names and every value as text, whatever the backend's types.
#[cfg(any(
    feature = "sql-sqlite",
    feature = "sql-postgres",
    feature = "sql-mysql"
))]
fn table<R>(rows: &[R]) -> Table
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<f64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    use sqlx::Column;
    let columns = rows
        .first()
        .map(|row| row.columns().iter().map(|c| c.name().to_owned()).collect())
        .unwrap_or_default();
    let rows = rows
        .iter()
        .map(|row| {
            (0..row.len())
                .map(|i| {
                    let text = row
                        .try_get::<Option<String>, _>(i)
                        .map(|v| v.unwrap_or_else(|| "NULL".to_owned()))
                        .or_else(|_| {
                            row.try_get::<Option<i64>, _>(i)
                                .map(|v| v.map_or_else(|| "NULL".to_owned(), |v| v.to_string()))
                        })
                        .or_else(|_| {
                            row.try_get::<Option<f64>, _>(i)
                                .map(|v| v.map_or_else(|| "NULL".to_owned(), |v| v.to_string()))
                        });
                    text.unwrap_or_else(|_| "(not shown)".to_owned())
                })
                .collect()
        })
        .collect();
    (columns, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_read_only_check_decides_before_anything_else() {
        let e = explainability("SELECT 1; DELETE FROM t", Some("sqlite"), &Pools::default());
        assert!(!e.available);
        assert!(
            e.note
                .unwrap_or_default()
                .contains("more than one statement")
        );
        let e = explainability("SELECT '\\'; DELETE FROM t", None, &Pools::default());
        assert!(!e.available, "refused whatever the backend");
    }

    /// Even a text the check would refuse cannot write through EXPLAIN's SQLite connection
    /// (sqlx runs every statement of a text on SQLite).
    #[cfg(feature = "sql-sqlite")]
    #[test]
    fn the_sqlite_connection_cannot_write_even_past_the_check() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let pool = sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(1)
                .connect("sqlite::memory:")
                .await
                .expect("sqlite");
            for sql in [
                "CREATE TABLE items (id INTEGER PRIMARY KEY)",
                "INSERT INTO items VALUES (1), (2)",
            ] {
                sqlx::query(sql).execute(&pool).await.expect("seed");
            }
            let answer = sqlite(&pool, "SELECT 1; DELETE FROM items").await;
            assert!(
                matches!(&answer, Err(ActionError::Failed(m)) if m.contains("readonly")),
                "{answer:?}"
            );
            let count: i64 = sqlx::query_scalar("SELECT count(*) FROM items")
                .fetch_one(&pool)
                .await
                .expect("count");
            assert_eq!(count, 2);
            let plan = sqlite(&pool, "SELECT * FROM items WHERE id = 1").await;
            assert!(plan.is_ok(), "the database is still there: {plan:?}");
        });
    }

    #[test]
    fn without_a_pool_explain_says_what_to_pass() {
        let e = explainability("SELECT 1", Some("postgresql"), &Pools::default());
        assert!(!e.available);
        assert!(e.note.unwrap_or_default().contains("with_postgres"));
    }
}
