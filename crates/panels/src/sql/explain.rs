//! EXPLAIN of a recorded query, against a pool the application gives the panel.

use std::fmt;

use debug_toolbar_core::{ActionError, ActionFuture, ActionResponse};
use serde::Serialize;

use super::analysis::{Token, tokens};
use super::{Explainability, SqlStats};

/// The template EXPLAIN answers with.
pub(super) const TEMPLATE: &str = "panels/sql_explain.html";

/// Words that make a statement more than a read; EXPLAIN refuses statements containing them.
const WRITE_WORDS: &[&str] = &[
    "INSERT", "UPDATE", "DELETE", "MERGE", "UPSERT", "REPLACE", "CREATE", "DROP", "ALTER",
    "TRUNCATE", "GRANT", "REVOKE", "INTO", "CALL", "COPY", "LOCK", "VACUUM", "ATTACH", "DETACH",
    "PRAGMA", "SET", "EXEC", "EXECUTE", "DO", "LOAD", "HANDLER", "OUTFILE",
];

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
        #[allow(unused_mut)]
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
    pub(super) fn only_backend(&self) -> Option<&'static str> {
        match self.backends().as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }
}

/// Whether `sql` only reads: one `SELECT` (or `WITH … SELECT`) statement without any word
/// that could change data or settings.
pub(super) fn is_read_only(sql: &str) -> bool {
    let tokens = tokens(sql);
    let mut words = tokens.iter().filter_map(|t| match t {
        Token::Word(w) => Some(w.to_ascii_uppercase()),
        _ => None,
    });
    let starts_with_read = words
        .next()
        .is_some_and(|first| first == "SELECT" || first == "WITH");
    let writes = words.any(|w| WRITE_WORDS.contains(&w.as_str()));
    let semicolons = tokens.iter().filter(|t| **t == Token::Punct(';')).count();
    let one_statement =
        semicolons == 0 || (semicolons == 1 && tokens.last() == Some(&Token::Punct(';')));
    starts_with_read && !writes && one_statement
}

fn has_placeholders(sql: &str) -> bool {
    tokens(sql).contains(&Token::Placeholder)
}

/// Whether EXPLAIN can run `sql`, and what to say when it cannot.
pub(super) fn explainability(
    sql: &str,
    kind: &str,
    backend: Option<&str>,
    pools: &Pools,
) -> Explainability {
    let no = |note: String| Explainability {
        available: false,
        analyze: false,
        note: Some(note),
    };
    if !matches!(kind, "SELECT" | "WITH") {
        return no(format!("Only reads are explained; this is {kind}."));
    }
    if !is_read_only(sql) {
        return no("Only single read-only statements are explained.".to_owned());
    }
    let Some(backend) = backend else {
        return no(
            "The database of this query is unknown: give the SQL panel a pool \
             (SqlPanel::new().with_postgres(pool)) or run the query inside a span with a \
             db.system.name field."
                .to_owned(),
        );
    };
    if !pools.backends().contains(&backend) {
        return no(format!(
            "No {backend} pool to explain with: pass SqlPanel::new().with_{}(pool) to \
             ToolbarConfig::builder().panel(…) (cargo feature sql-{}).",
            method_suffix(backend),
            method_suffix(backend),
        ));
    }
    if has_placeholders(sql) && backend != "sqlite" {
        return no(
            "sqlx does not report the values of bind parameters, so this statement cannot be \
             re-run."
                .to_owned(),
        );
    }
    Explainability {
        available: true,
        analyze: backend == "postgresql",
        note: (backend == "sqlite" && has_placeholders(sql)).then(|| {
            "Bind parameters are taken as NULL; the plan does not depend on them.".to_owned()
        }),
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
        let query = query
            .ok_or_else(|| ActionError::NotFound("This request has no such query.".to_owned()))?;
        let explainability =
            explainability(&query.sql, &query.kind, query.backend.as_deref(), &pools);
        if !explainability.available {
            return Err(ActionError::Refused(
                explainability.note.unwrap_or_default(),
            ));
        }
        if analyze && !explainability.analyze {
            return Err(ActionError::Refused(
                "EXPLAIN ANALYZE is offered for PostgreSQL only.".to_owned(),
            ));
        }
        let backend = query.backend.clone().unwrap_or_default();
        let (columns, rows) = run(&pools, &backend, &query.sql, analyze).await?;
        let plan = Plan {
            backend,
            sql: query.formatted,
            analyze,
            columns,
            rows,
            note: explainability.note,
        };
        let data = serde_json::to_value(&plan)
            .map_err(|e| ActionError::Failed(format!("the plan could not be shown: {e}")))?;
        Ok(ActionResponse {
            template: TEMPLATE,
            data,
        })
    })
}

type Table = (Vec<String>, Vec<Vec<String>>);

#[allow(unused_variables)]
async fn run(pools: &Pools, backend: &str, sql: &str, analyze: bool) -> Result<Table, ActionError> {
    match backend {
        #[cfg(feature = "sql-sqlite")]
        "sqlite" => {
            let pool = pools.sqlite.as_ref().ok_or_else(no_pool)?;
            let explain = format!("EXPLAIN QUERY PLAN {sql}");
            let rows = sqlx::query(sqlx::AssertSqlSafe(explain))
                .fetch_all(pool)
                .await
                .map_err(failed)?;
            Ok(table(&rows))
        }
        #[cfg(feature = "sql-postgres")]
        "postgresql" => {
            let pool = pools.postgres.as_ref().ok_or_else(no_pool)?;
            let explain = if analyze {
                format!("EXPLAIN ANALYZE {sql}")
            } else {
                format!("EXPLAIN {sql}")
            };
            // ANALYZE runs the statement: do it in a transaction that is always rolled back.
            let mut tx = pool.begin().await.map_err(failed)?;
            let rows = sqlx::query(sqlx::AssertSqlSafe(explain))
                .fetch_all(&mut *tx)
                .await
                .map_err(failed);
            tx.rollback().await.map_err(failed)?;
            Ok(table(&rows?))
        }
        #[cfg(feature = "sql-mysql")]
        "mysql" => {
            let pool = pools.mysql.as_ref().ok_or_else(no_pool)?;
            let explain = format!("EXPLAIN {sql}");
            let rows = sqlx::query(sqlx::AssertSqlSafe(explain))
                .fetch_all(pool)
                .await
                .map_err(failed)?;
            Ok(table(&rows))
        }
        _ => Err(no_pool()),
    }
}

fn no_pool() -> ActionError {
    ActionError::Refused("No pool for this query's database.".to_owned())
}

#[cfg(any(
    feature = "sql-sqlite",
    feature = "sql-postgres",
    feature = "sql-mysql"
))]
fn failed(e: sqlx::Error) -> ActionError {
    ActionError::Failed(format!("The database answered: {e}"))
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
    fn reads_are_explainable_and_writes_are_not() {
        for sql in [
            "SELECT * FROM users",
            "with t as (select 1) select * from t",
            "SELECT 'DELETE FROM users' AS s;",
        ] {
            assert!(is_read_only(sql), "{sql}");
        }
        for sql in [
            "DELETE FROM users",
            "SELECT * INTO copy FROM users",
            "SELECT 1; DROP TABLE users",
            "WITH d AS (DELETE FROM users RETURNING *) SELECT * FROM d",
            "SELECT * FROM users FOR UPDATE",
            "PRAGMA writable_schema = 1",
        ] {
            assert!(!is_read_only(sql), "{sql}");
        }
    }

    #[test]
    fn without_a_pool_explain_says_what_to_pass() {
        let e = explainability("SELECT 1", "SELECT", Some("postgresql"), &Pools::default());
        assert!(!e.available);
        assert!(e.note.unwrap_or_default().contains("with_postgres"));
    }
}
