//! EXPLAIN that cannot write or hang. Hostile statements come back from the store as a shared
//! store may hand them back, marked explainable, and are refused on SQLite, PostgreSQL and
//! MariaDB, each with its reason; what does run runs read-only and under a time limit.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_debug_toolbar::panels::SqlPanel;
use actix_debug_toolbar::{DebugToolbar, InMemoryStore, Store};
use actix_web::App;
use actix_web::http::StatusCode;
use actix_web::test::{call_service, init_service};
use debug_toolbar_core::{RECORD_FORMAT_VERSION, RecordId, RequestRecord};
use serde_json::json;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{MySqlPool, PgPool};

use crate::sql::{MARIADB_URL, POSTGRES_URL, sqlite};
use crate::support::{assert_contains, assert_lacks, body_text, config, init_tracing};

/// Statements EXPLAIN refuses on every database, each for its own reason. `items` is the
/// table the test's database holds; `dt_explain_seq` a sequence (PostgreSQL).
const HOSTILE: &[&str] = &[
    "DELETE FROM items",
    "SELECT 1; DELETE FROM items",
    // A backslash does not escape a quote in standard strings: the DELETE is a statement of
    // its own there, and in MySQL where the string ends depends on the server's mode.
    r"SELECT '\'; DELETE FROM items; -- '",
    "SELECT $x$ ; $x$; DELETE FROM items",
    "SELECT 1 /* ; */; DELETE FROM items",
    "WITH d AS (DELETE FROM items RETURNING *) SELECT * FROM d",
    "SELECT nextval('dt_explain_seq')",
    "SELECT setval('dt_explain_seq', 100)",
    "SELECT pg_advisory_lock(4242)",
    "SELECT pg_sleep(600)",
    "SELECT set_config('statement_timeout', '0', false)",
    "SELECT * FROM items FOR UPDATE",
    "SELECT * FROM items LOCK IN SHARE MODE",
    "SELECT 1 INTO x",
    "SELECT * INTO dt_explain_copy FROM items",
    "SELECT sleep(600)",
    "SELECT benchmark(100000000, md5('a'))",
    "SELECT get_lock('dt_explain', 0)",
    "SELECT load_file('/etc/passwd')",
];

/// What EXPLAIN answered for one statement.
#[derive(Debug)]
struct Answer {
    sql: String,
    status: StatusCode,
    body: String,
    took: Duration,
}

/// A record as a shared store may hand it back: the SQL panel's stats hold `statements`, run
/// on `backend`, each marked explainable (with ANALYZE) whatever it is.
fn forged_record(backend: &str, statements: &[&str]) -> RequestRecord {
    let queries: Vec<serde_json::Value> = statements
        .iter()
        .enumerate()
        .map(|(index, sql)| {
            json!({
                "index": index, "sql": sql, "formatted": sql, "kind": "SELECT",
                "duration_ms": 1.0, "start_ms": 0.0, "rows_returned": 0, "rows_affected": null,
                "backend": backend, "span_path": [], "duplicates": 1, "similar": 1,
                "slow": false, "transaction": null,
                "explain": { "available": true, "analyze": true, "note": null },
            })
        })
        .collect();
    let stats = json!({
        "queries": queries, "total_count": statements.len(), "total_ms": 1.0, "not_shown": 0,
        "share_of_request": null, "slowest": null, "duplicates": [], "similar": [],
        "n_plus_one": [], "transactions": [], "slow_threshold_ms": 100.0, "notice": null,
    });
    serde_json::from_value(json!({
        "format_version": RECORD_FORMAT_VERSION,
        "id": RecordId::random().expect("random").to_string(),
        "started_at_unix_ms": 1, "method": "GET", "path": "/forged", "status": 200,
        "duration_ms": 1.0, "kind": "page", "layer_attached": true,
        "panels": [{ "id": "sql", "title": "SQL", "stats": stats }],
    }))
    .expect("a record")
}

/// Clicks EXPLAIN (or EXPLAIN ANALYZE) on each of `statements`, stored as statements run on
/// `backend`, with `panel` in the toolbar.
async fn explain_each(
    panel: SqlPanel,
    backend: &str,
    statements: &[&str],
    analyze: bool,
) -> Vec<Answer> {
    init_tracing();
    let store = Arc::new(InMemoryStore::new(5));
    let record = forged_record(backend, statements);
    let id = record.id;
    store.save(record).await.expect("saved");
    let app = init_service(App::new().wrap(DebugToolbar::new(
        config().store(store).panel(panel).build(),
    )))
    .await;
    let mut answers = Vec::new();
    for (index, sql) in statements.iter().enumerate() {
        let suffix = if analyze { "&analyze=1" } else { "" };
        let uri = format!("/__debug_toolbar/sql/explain?request={id}&query={index}{suffix}");
        let req = crate::support::action(&uri);
        let started = Instant::now();
        let res = call_service(&app, req.to_request()).await;
        let status = res.status();
        let body = body_text(res).await;
        answers.push(Answer {
            sql: (*sql).to_owned(),
            status,
            body,
            took: started.elapsed(),
        });
    }
    answers
}

/// Asserts that every answer is a 422 refusal, quickly, and says so in words.
#[track_caller]
fn assert_refused(answers: &[Answer]) {
    for answer in answers {
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}: {}",
            answer.sql,
            answer.body
        );
        assert_contains(&answer.body, "EXPLAIN refused: ");
        assert_lacks(&answer.body, "Action unavailable");
        assert!(
            answer.took < Duration::from_secs(1),
            "{}: {:?}",
            answer.sql,
            answer.took
        );
    }
    let slowest = answers.iter().map(|a| a.took).max().unwrap_or_default();
    eprintln!("{} refusals, slowest {slowest:?}", answers.len());
}

/// Asserts that `answer` is a plan.
#[track_caller]
fn assert_explained(answer: &Answer, marker: &str) {
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "{}: {}",
        answer.sql,
        answer.body
    );
    assert_contains(&answer.body, marker);
}

#[actix_web::test]
async fn hostile_statements_are_refused_on_sqlite_and_the_rows_stay() {
    let pool = sqlite().await;
    let before: Vec<(i64, String)> = sqlx::query_as("SELECT id, name FROM items ORDER BY id")
        .fetch_all(&pool)
        .await
        .expect("rows");
    let sqlite_only = [
        "SELECT [a'b]; DELETE FROM items; --']",
        "SELECT load_extension('x')",
    ];
    let statements: Vec<&str> = HOSTILE.iter().copied().chain(sqlite_only).collect();
    let panel = || SqlPanel::new().with_sqlite(pool.clone());
    assert_refused(&explain_each(panel(), "sqlite", &statements, false).await);

    let after: Vec<(i64, String)> = sqlx::query_as("SELECT id, name FROM items ORDER BY id")
        .fetch_all(&pool)
        .await
        .expect("rows");
    assert_eq!(before, after);
    assert_eq!(after.len(), 3);

    let benign = explain_each(
        panel(),
        "sqlite",
        &["SELECT name FROM items WHERE id = 1;"],
        false,
    )
    .await;
    assert_explained(&benign[0], "SEARCH items");
}

#[actix_web::test]
async fn refusals_are_decided_from_the_stored_text_whatever_the_record_says() {
    // The forged record marks everything explainable, with ANALYZE; SQLite offers neither
    // for a write, nor ANALYZE at all.
    let pool = sqlite().await;
    let answers = explain_each(
        SqlPanel::new().with_sqlite(pool),
        "sqlite",
        &["SELECT 1", "INSERT INTO items (name) VALUES ('x')"],
        true,
    )
    .await;
    assert_eq!(answers[0].status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_contains(
        &answers[0].body,
        "EXPLAIN ANALYZE is offered for PostgreSQL only",
    );
    assert_refused(&answers[1..]);
    assert_contains(&answers[1].body, "this is INSERT");
}

/// The answer to EXPLAIN of `SELECT 1` on `backend` through `panel`, which must be `503`.
async fn unavailable(panel: SqlPanel, backend: &str) -> Answer {
    let mut answers = explain_each(panel, backend, &["SELECT 1"], false).await;
    let answer = answers.remove(0);
    assert_eq!(
        answer.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        answer.body
    );
    answer
}

#[actix_web::test]
async fn an_unreachable_database_answers_503_within_the_connect_limit() {
    // Nothing listens on port 1 of loopback.
    let pool = PgPoolOptions::new()
        .connect_lazy("postgres://postgres@127.0.0.1:1/test")
        .expect("url parses");
    let answer = unavailable(SqlPanel::new().with_postgres(pool), "postgresql").await;
    assert_contains(&answer.body, "EXPLAIN unavailable: ");
    assert!(answer.took < Duration::from_secs(3), "{:?}", answer.took);
    eprintln!("unreachable PostgreSQL: 503 after {:?}", answer.took);

    // A SQLite database that cannot be opened at all.
    let options = SqliteConnectOptions::new().filename("/nonexistent/dt-explain/x.db");
    let pool = SqlitePoolOptions::new().connect_lazy_with(options);
    let answer = unavailable(SqlPanel::new().with_sqlite(pool), "sqlite").await;
    assert_contains(
        &answer.body,
        "EXPLAIN unavailable: the database could not be reached",
    );
    eprintln!("unopenable SQLite: 503 after {:?}", answer.took);
}

/// A PostgreSQL pool; `dt_explain_items` holds three rows and `dt_explain_seq` is at 7, set up
/// once for all the tests of this binary (which only read them).
async fn postgres() -> PgPool {
    static SEEDED: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    let pool = PgPool::connect(POSTGRES_URL)
        .await
        .expect("PostgreSQL is up");
    SEEDED
        .get_or_init(|| async {
            for sql in [
                "CREATE TABLE IF NOT EXISTS dt_explain_items \
                 (id INTEGER PRIMARY KEY, name TEXT NOT NULL)",
                "CREATE SEQUENCE IF NOT EXISTS dt_explain_seq",
                "CREATE OR REPLACE FUNCTION dt_explain_writer() RETURNS integer LANGUAGE sql \
                 AS $$ INSERT INTO dt_explain_items VALUES (99, 'written') RETURNING 1 $$",
                "CREATE OR REPLACE FUNCTION dt_explain_locker() RETURNS void LANGUAGE sql \
                 AS $$ SELECT pg_advisory_lock(4243) $$",
                "TRUNCATE dt_explain_items",
                "INSERT INTO dt_explain_items VALUES (1, 'a'), (2, 'b'), (3, 'c')",
                "SELECT setval('dt_explain_seq', 7)",
            ] {
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(&pool)
                    .await
                    .expect("seed");
            }
        })
        .await;
    pool
}

/// The rows, the sequence and how many advisory locks on `key` anyone holds.
async fn postgres_state(pool: &PgPool, key: i64) -> (Vec<(i32, String)>, (i64, bool), i64) {
    let rows = sqlx::query_as("SELECT id, name FROM dt_explain_items ORDER BY id")
        .fetch_all(pool)
        .await
        .expect("rows");
    let sequence = sqlx::query_as("SELECT last_value, is_called FROM dt_explain_seq")
        .fetch_one(pool)
        .await
        .expect("sequence");
    let locks = sqlx::query_scalar(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid::bigint = $1",
    )
    .bind(key)
    .fetch_one(pool)
    .await
    .expect("locks");
    (rows, sequence, locks)
}

#[actix_web::test]
#[ignore = "needs PostgreSQL at 127.0.0.1:5432"]
async fn hostile_statements_are_refused_on_postgres_and_nothing_changes() {
    let pool = postgres().await;
    let before = postgres_state(&pool, 4242).await;
    assert_eq!(before.0.len(), 3);
    assert_eq!(before.2, 0, "no advisory lock before");
    let postgres_only = [
        r"SELECT E'\''; DELETE FROM items; --'",
        "SELECT \"pg_sleep\"(600)",
        r#"SELECT U&"pg\005fsleep"(600)"#,
        "SELECT pg_catalog.pg_advisory_lock(4242)",
        "SELECT 1 FROM items FOR NO KEY UPDATE",
    ];
    let statements: Vec<String> = HOSTILE
        .iter()
        .copied()
        .chain(postgres_only)
        .map(|s| s.replace("items", "dt_explain_items"))
        .collect();
    let statements: Vec<&str> = statements.iter().map(String::as_str).collect();
    let panel = || SqlPanel::new().with_postgres(pool.clone());
    assert_refused(&explain_each(panel(), "postgresql", &statements, true).await);
    assert_eq!(
        postgres_state(&pool, 4242).await,
        before,
        "rows, sequence and locks"
    );

    let benign = ["SELECT name FROM dt_explain_items WHERE id = 1"];
    assert_explained(
        &explain_each(panel(), "postgresql", &benign, false).await[0],
        "QUERY PLAN",
    );
    assert_explained(
        &explain_each(panel(), "postgresql", &benign, true).await[0],
        "actual time",
    );
}

#[actix_web::test]
#[ignore = "needs PostgreSQL at 127.0.0.1:5432"]
async fn what_passes_the_check_still_cannot_write_or_keep_a_lock_on_postgres() {
    let pool = postgres().await;
    let before = postgres_state(&pool, 4243).await;
    // Functions of the application's may do anything; the text only shows their names.
    let answers = explain_each(
        SqlPanel::new().with_postgres(pool.clone()),
        "postgresql",
        &["SELECT dt_explain_writer()", "SELECT dt_explain_locker()"],
        true,
    )
    .await;
    let writer = &answers[0];
    assert_eq!(
        writer.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        writer.body
    );
    assert_contains(&writer.body, "EXPLAIN failed: the database answered: ");
    assert_contains(&writer.body, "read-only transaction");
    // The lock was taken, in a session that was closed afterwards.
    assert_explained(&answers[1], "actual time");
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut after = postgres_state(&pool, 4243).await;
    while after.2 != 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        after = postgres_state(&pool, 4243).await;
    }
    assert_eq!(after, before, "rows, sequence and locks");
}

#[actix_web::test]
#[ignore = "needs PostgreSQL at 127.0.0.1:5432"]
async fn a_runaway_explain_analyze_is_cut_after_two_seconds_with_504() {
    let pool = postgres().await;
    let runaway = "SELECT count(*) FROM generate_series(1, 100000000) a \
                   CROSS JOIN generate_series(1, 100000000) b";
    let answers = explain_each(
        SqlPanel::new().with_postgres(pool.clone()),
        "postgresql",
        &[runaway],
        true,
    )
    .await;
    let answer = &answers[0];
    assert_eq!(
        answer.status,
        StatusCode::GATEWAY_TIMEOUT,
        "{}",
        answer.body
    );
    assert_contains(&answer.body, "EXPLAIN timed out after 2 s.");
    assert!(
        answer.took >= Duration::from_millis(1900) && answer.took < Duration::from_secs(4),
        "{:?}",
        answer.took
    );
    eprintln!("runaway EXPLAIN ANALYZE: 504 after {:?}", answer.took);
    let running: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity \
         WHERE state = 'active' AND query LIKE 'EXPLAIN ANALYZE SELECT count(*) FROM generate_series%'",
    )
    .fetch_one(&pool)
    .await
    .expect("activity");
    assert_eq!(running, 0, "the statement is not left running");
}

/// A MariaDB pool with `items` holding three rows.
async fn mariadb() -> MySqlPool {
    let pool = MySqlPool::connect(MARIADB_URL)
        .await
        .expect("MariaDB is up");
    for sql in [
        "CREATE TABLE IF NOT EXISTS dt_explain_items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)",
        "DELETE FROM dt_explain_items",
        "INSERT INTO dt_explain_items VALUES (1, 'a'), (2, 'b'), (3, 'c')",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&pool)
            .await
            .expect("seed");
    }
    pool
}

#[actix_web::test]
#[ignore = "needs MariaDB at 127.0.0.1:3306"]
async fn hostile_statements_are_refused_on_mariadb_and_nothing_changes() {
    let pool = mariadb().await;
    let rows = || async {
        sqlx::query_as::<_, (i32, String)>("SELECT id, name FROM dt_explain_items ORDER BY id")
            .fetch_all(&pool)
            .await
            .expect("rows")
    };
    let before = rows().await;
    assert_eq!(before.len(), 3);
    let mariadb_only = [
        "SELECT 1 /*! ; DELETE FROM items */",
        r"SELECT 'a\'; DELETE FROM items; -- '",
        r"SELECT E'\''; DELETE FROM items; --'",
        "SELECT 1 # ;\n, sleep(600)",
        "SELECT 1 --1\n, sleep(600)",
    ];
    let statements: Vec<String> = HOSTILE
        .iter()
        .copied()
        .chain(mariadb_only)
        .map(|s| s.replace("items", "dt_explain_items"))
        .collect();
    let statements: Vec<&str> = statements.iter().map(String::as_str).collect();
    let panel = || SqlPanel::new().with_mysql(pool.clone());
    assert_refused(&explain_each(panel(), "mysql", &statements, false).await);
    assert_eq!(rows().await, before);
    let free: i64 = sqlx::query_scalar("SELECT CAST(IS_USED_LOCK('dt_explain') IS NULL AS SIGNED)")
        .fetch_one(&pool)
        .await
        .expect("lock");
    assert_eq!(free, 1, "no named lock held");

    let benign = ["SELECT name FROM dt_explain_items WHERE id = 1"];
    assert_explained(
        &explain_each(panel(), "mysql", &benign, false).await[0],
        "select_type",
    );
}
