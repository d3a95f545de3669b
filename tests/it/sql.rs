//! The SQL panel against real databases: SQLite everywhere, PostgreSQL and MariaDB in CI.

use std::sync::Arc;

use actix_debug_toolbar::panels::{Backend, SqlPanel, SqlStats, TransactionOutcome};
use actix_debug_toolbar::{DebugToolbar, InMemoryStore, ToolbarConfig};
use actix_web::http::StatusCode;
use actix_web::test::{call_service, init_service};
use actix_web::{App, HttpResponse, web};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{MySqlPool, PgPool, SqlitePool};
use tracing::Instrument;

use crate::support::{
    action, assert_contains, assert_lacks, body_text, get, header, init_tracing, stored_stats,
};

pub(crate) const POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
pub(crate) const MARIADB_URL: &str = "mysql://root@127.0.0.1:3306/test";

/// A fresh in-memory SQLite database with one table of three rows.
pub(crate) async fn sqlite() -> SqlitePool {
    let options = "sqlite::memory:"
        .parse::<SqliteConnectOptions>()
        .expect("sqlite url");
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(options)
        .await
        .expect("sqlite");
    for sql in [
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)",
        "INSERT INTO items (name) VALUES ('a'), ('b'), ('c')",
    ] {
        sqlx::query(sql).execute(&pool).await.expect("seed");
    }
    pool
}

fn toolbar(panel: SqlPanel) -> DebugToolbar {
    DebugToolbar::new(
        ToolbarConfig::builder()
            .enabled(true)
            .store(Arc::new(InMemoryStore::new(25)))
            .panel(panel)
            .build(),
    )
}

/// Runs `statements` in order on the pool, inside a span named `load_items`.
async fn run_sqlite(
    pool: web::Data<SqlitePool>,
    statements: web::Data<Vec<String>>,
) -> HttpResponse {
    async {
        for sql in statements.iter() {
            sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .fetch_all(pool.get_ref())
                .await
                .expect("query");
        }
    }
    .instrument(tracing::info_span!("load_items"))
    .await;
    HttpResponse::Ok()
        .content_type("text/html")
        .body("<html><body>ok</body></html>")
}

/// Serves `/` running `statements` against SQLite; returns the toolbar and the record id.
async fn sqlite_request(
    panel: impl FnOnce(SqlitePool) -> SqlPanel,
    statements: &[&str],
) -> (DebugToolbar, String, SqlitePool) {
    init_tracing();
    let pool = sqlite().await;
    let toolbar = toolbar(panel(pool.clone()));
    let app = init_service(
        App::new()
            .wrap(toolbar.clone())
            .app_data(web::Data::new(pool.clone()))
            .app_data(web::Data::new(
                statements
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect::<Vec<_>>(),
            ))
            .route("/", web::get().to(run_sqlite)),
    )
    .await;
    let res = call_service(&app, get("/").to_request()).await;
    let id = header(&res, "x-debug-toolbar-id").expect("served");
    (toolbar, id, pool)
}

#[actix_web::test]
async fn captures_sqlite_queries_in_order_with_rows_and_origin() {
    let (toolbar, id, _) = sqlite_request(
        |pool| SqlPanel::new().with_sqlite(pool),
        &[
            "SELECT id, name FROM items ORDER BY id",
            "UPDATE items SET name = 'z' WHERE id > 1",
            "SELECT name FROM items WHERE id = 1",
        ],
    )
    .await;
    let stats: SqlStats = stored_stats::<SqlPanel>(&toolbar, &id).await;
    assert_eq!(stats.total_count, 3);
    let sql: Vec<&str> = stats.queries.iter().map(|q| q.sql.as_str()).collect();
    assert_eq!(
        sql,
        [
            "SELECT id, name FROM items ORDER BY id",
            "UPDATE items SET name = 'z' WHERE id > 1",
            "SELECT name FROM items WHERE id = 1",
        ]
    );
    assert_eq!(stats.queries[0].rows_returned, 3);
    assert_eq!(
        stats.queries[0].rows_affected, None,
        "reads report no stale count"
    );
    assert_eq!(stats.queries[1].rows_affected, Some(2));
    assert_eq!(stats.queries[2].rows_returned, 1);
    for q in &stats.queries {
        assert_eq!(q.backend, Some(Backend::Sqlite));
        assert_eq!(q.span_path, ["load_items"]);
        assert!(q.duration_ms > 0.0);
    }
    assert!(stats.queries[0].start_ms <= stats.queries[1].start_ms);
    assert!(stats.queries[0].explain.available);
    assert!(
        !stats.queries[1].explain.available,
        "writes are not explained"
    );
}

#[actix_web::test]
async fn tells_identical_from_similar_statements() {
    let (toolbar, id, _) = sqlite_request(
        |_| SqlPanel::new(),
        &[
            "SELECT name FROM items WHERE id = 1",
            "SELECT name FROM items WHERE id = 1",
            "SELECT name FROM items WHERE id = 2",
            "SELECT id FROM items",
        ],
    )
    .await;
    let stats: SqlStats = stored_stats::<SqlPanel>(&toolbar, &id).await;
    assert_eq!(stats.duplicates.len(), 1);
    assert_eq!(stats.duplicates[0].count, 2);
    assert_eq!(stats.duplicates[0].queries, [0, 1]);
    assert_eq!(stats.similar.len(), 1);
    assert_eq!(stats.similar[0].count, 3);
    assert_eq!(stats.similar[0].sql, "SELECT name FROM items WHERE id = ?");
    assert_eq!(stats.queries[3].similar, 1);
    assert!(stats.n_plus_one.is_empty(), "3 is under the threshold of 5");
}

#[actix_web::test]
async fn the_n_plus_one_and_slow_thresholds_are_settings() {
    let similar = [
        "SELECT name FROM items WHERE id = 1",
        "SELECT name FROM items WHERE id = 2",
        "SELECT name FROM items WHERE id = 3",
    ];
    let (toolbar, id, _) = sqlite_request(
        |_| {
            SqlPanel::new()
                .with_n_plus_one_threshold(3)
                .with_slow_threshold(std::time::Duration::ZERO)
        },
        &similar,
    )
    .await;
    let stats: SqlStats = stored_stats::<SqlPanel>(&toolbar, &id).await;
    assert_eq!(stats.n_plus_one.len(), 1, "{:?}", stats.n_plus_one);
    assert_eq!(stats.n_plus_one[0].count, 3);
    assert_eq!(stats.n_plus_one[0].span_path, ["load_items"]);
    assert!(
        stats.queries.iter().all(|q| q.slow),
        "nothing is under 0 ms"
    );

    let (toolbar, id, _) = sqlite_request(
        |_| {
            SqlPanel::new()
                .with_n_plus_one_threshold(1)
                .with_slow_threshold(std::time::Duration::from_secs(60))
        },
        &similar[..2],
    )
    .await;
    let stats: SqlStats = stored_stats::<SqlPanel>(&toolbar, &id).await;
    assert_eq!(
        stats.n_plus_one[0].count, 2,
        "a threshold under two is two: one query is no pattern"
    );
    assert!(stats.queries.iter().all(|q| !q.slow));
}

#[actix_web::test]
async fn keeps_at_most_the_limit_but_counts_everything() {
    let statements = ["SELECT 1", "SELECT 2", "SELECT 3", "SELECT 4", "SELECT 5"];
    let (toolbar, id, _) =
        sqlite_request(|_| SqlPanel::new().with_max_queries(3), &statements).await;
    let stats: SqlStats = stored_stats::<SqlPanel>(&toolbar, &id).await;
    assert_eq!(stats.queries.len(), 3);
    assert_eq!(stats.total_count, 5);
    assert_eq!(stats.not_shown, 2);
    assert!(stats.total_ms >= stats.queries.iter().map(|q| q.duration_ms).sum::<f64>());
}

#[actix_web::test]
async fn groups_transactions() {
    let (toolbar, id, _) = sqlite_request(
        |_| SqlPanel::new(),
        &["BEGIN", "UPDATE items SET name = 'q'", "COMMIT", "SELECT 1"],
    )
    .await;
    let stats: SqlStats = stored_stats::<SqlPanel>(&toolbar, &id).await;
    assert_eq!(stats.transactions.len(), 1);
    assert_eq!(stats.transactions[0].queries, [0, 1, 2]);
    assert_eq!(stats.transactions[0].outcome, TransactionOutcome::Commit);
    assert_eq!(stats.queries[3].transaction, None);
}

#[actix_web::test]
async fn attributes_queries_to_the_right_one_of_two_concurrent_requests() {
    init_tracing();
    let pool = sqlite().await;
    let toolbar = toolbar(SqlPanel::new());
    async fn marked(pool: web::Data<SqlitePool>, marker: web::Path<String>) -> HttpResponse {
        for _ in 0..3 {
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT '{marker}' AS marker")))
                .fetch_all(pool.get_ref())
                .await
                .expect("query");
            actix_web::rt::task::yield_now().await;
        }
        HttpResponse::Ok().finish()
    }
    let app = init_service(
        App::new()
            .wrap(toolbar.clone())
            .app_data(web::Data::new(pool))
            .route("/{marker}", web::get().to(marked)),
    )
    .await;
    let (a, b) = futures_util::future::join(
        call_service(&app, get("/alpha").to_request()),
        call_service(&app, get("/beta").to_request()),
    )
    .await;
    for (res, own) in [(a, "alpha"), (b, "beta")] {
        let id = header(&res, "x-debug-toolbar-id").expect("served");
        let stats: SqlStats = stored_stats::<SqlPanel>(&toolbar, &id).await;
        assert_eq!(stats.total_count, 3, "{own}");
        assert!(
            stats.queries.iter().all(|q| q.sql.contains(own)),
            "{own}: {stats:?}"
        );
    }
}

#[actix_web::test]
async fn flags_the_demo_users_page_as_n_plus_one() {
    init_tracing();
    let state = demo::State::new().await.expect("demo state");
    let toolbar = toolbar(SqlPanel::new().with_sqlite(state.pool().clone()));
    let app = init_service(
        App::new()
            .wrap(toolbar.clone())
            .app_data(state.clone())
            .configure(demo::routes),
    )
    .await;
    let res = call_service(&app, get("/users").to_request()).await;
    let id = header(&res, "x-debug-toolbar-id").expect("served");
    let page = body_text(res).await;
    assert_contains(&page, "dt-badge-warning");
    assert_contains(&page, "N+1");
    let stats: SqlStats = stored_stats::<SqlPanel>(&toolbar, &id).await;
    assert_eq!(
        stats.total_count, 7,
        "one list query and one count per user"
    );
    assert_eq!(stats.n_plus_one.len(), 1);
    let n = &stats.n_plus_one[0];
    assert_eq!(n.count, 6);
    assert_eq!(n.sql, "SELECT COUNT(*) FROM posts WHERE user_id = ?");
    assert_eq!(n.span_path, ["users"]);

    // One click: EXPLAIN of the repeated query.
    let index = stats.queries[1].index;
    let uri = format!("/__debug_toolbar/sql/explain?request={id}&query={index}");
    let res = call_service(&app, action(&uri).to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let plan = body_text(res).await;
    assert_contains(&plan, "EXPLAIN (sqlite)");
    assert_contains(&plan, "posts");
}

/// POSTs to a toolbar route from an allowed client.
macro_rules! post {
    ($app:expr, $uri:expr) => {{
        let req = action(&$uri);
        let res = call_service($app, req.to_request()).await;
        (res.status(), body_text(res).await)
    }};
}

#[actix_web::test]
async fn explain_refuses_writes_foreign_statements_and_other_clients() {
    init_tracing();
    let pool = sqlite().await;
    let toolbar = toolbar(SqlPanel::new().with_sqlite(pool.clone()));
    let app = init_service(
        App::new()
            .wrap(toolbar.clone())
            .app_data(web::Data::new(pool))
            .app_data(web::Data::new(vec![
                "SELECT name FROM items".to_owned(),
                "INSERT INTO items (name) VALUES ('d')".to_owned(),
            ]))
            .route("/", web::get().to(run_sqlite)),
    )
    .await;
    let res = call_service(&app, get("/").to_request()).await;
    let id = header(&res, "x-debug-toolbar-id").expect("served");

    let (status, body) = post!(
        &app,
        format!("/__debug_toolbar/sql/explain?request={id}&query=0")
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_contains(&body, "SCAN");

    let (status, body) = post!(
        &app,
        format!("/__debug_toolbar/sql/explain?request={id}&query=1")
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_contains(&body, "EXPLAIN refused: ");
    assert_contains(&body, "this is INSERT");

    let (status, _) = post!(
        &app,
        format!("/__debug_toolbar/sql/explain?request={id}&query=99")
    );
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a statement that is not in the record"
    );

    let (status, _) = post!(
        &app,
        format!("/__debug_toolbar/sql/explain?request={id}&query=0&analyze=1")
    );
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "ANALYZE is PostgreSQL's"
    );

    let other = "0123456789abcdef0123456789abcdef";
    let (status, _) = post!(
        &app,
        format!("/__debug_toolbar/sql/explain?request={other}&query=0")
    );
    assert_eq!(status, StatusCode::NOT_FOUND, "an unknown request");

    let req = action(&format!(
        "/__debug_toolbar/sql/explain?request={id}&query=0"
    ))
    .peer_addr(crate::support::refused_peer());
    let res = call_service(&app, req.to_request()).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "refused clients");
}

#[actix_web::test]
async fn hostile_sql_is_escaped() {
    let (toolbar, id, _) = sqlite_request(
        |pool| SqlPanel::new().with_sqlite(pool),
        &["SELECT '<script>alert(1)</script>' AS x, '\"><img src=x onerror=alert(2)>' AS y"],
    )
    .await;
    let stats: SqlStats = stored_stats::<SqlPanel>(&toolbar, &id).await;
    assert_contains(&stats.queries[0].sql, "<script>alert(1)</script>");
    let app = init_service(App::new().wrap(toolbar)).await;
    let res = call_service(
        &app,
        get(&format!("/__debug_toolbar/panels/{id}/sql")).to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = body_text(res).await;
    assert_lacks(&html, "<script>alert");
    assert_lacks(&html, "<img src=x");
    assert_contains(&html, "&lt;script&gt;alert(1)&lt;/script&gt;");
}

/// Runs the PostgreSQL statements of the test: a read without and one with a bind parameter.
async fn run_postgres(pool: web::Data<PgPool>) -> HttpResponse {
    sqlx::query("SELECT id, name FROM dt_sql_items ORDER BY id")
        .fetch_all(pool.get_ref())
        .await
        .expect("select");
    sqlx::query("SELECT name FROM dt_sql_items WHERE id = $1")
        .bind(1_i32)
        .fetch_all(pool.get_ref())
        .await
        .expect("select by id");
    HttpResponse::Ok().finish()
}

#[actix_web::test]
#[ignore = "needs PostgreSQL on 127.0.0.1:5432 with database test (started by .ci/run)"]
async fn postgres_queries_are_captured_and_explained() {
    init_tracing();
    let pool = PgPool::connect(POSTGRES_URL)
        .await
        .expect("PostgreSQL is up");
    for sql in [
        "CREATE TABLE IF NOT EXISTS dt_sql_items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)",
        "TRUNCATE dt_sql_items",
        "INSERT INTO dt_sql_items VALUES (1, 'a'), (2, 'b')",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&pool)
            .await
            .expect("seed");
    }
    let toolbar = toolbar(SqlPanel::new().with_postgres(pool.clone()));
    let app = init_service(
        App::new()
            .wrap(toolbar.clone())
            .app_data(web::Data::new(pool))
            .route("/", web::get().to(run_postgres)),
    )
    .await;
    let res = call_service(&app, get("/").to_request()).await;
    let id = header(&res, "x-debug-toolbar-id").expect("served");
    let stats: SqlStats = stored_stats::<SqlPanel>(&toolbar, &id).await;
    assert_eq!(stats.total_count, 2);
    assert_eq!(stats.queries[0].rows_returned, 2);
    assert_eq!(stats.queries[1].rows_returned, 1);
    assert!(
        stats
            .queries
            .iter()
            .all(|q| q.backend == Some(Backend::Postgresql))
    );
    assert!(stats.queries[0].explain.analyze);

    let (status, body) = post!(
        &app,
        format!("/__debug_toolbar/sql/explain?request={id}&query=0")
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_contains(&body, "QUERY PLAN");
    assert_contains(&body, "dt_sql_items");
    let (status, body) = post!(
        &app,
        format!("/__debug_toolbar/sql/explain?request={id}&query=0&analyze=1")
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_contains(&body, "actual time");
    let (status, body) = post!(
        &app,
        format!("/__debug_toolbar/sql/explain?request={id}&query=1")
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_contains(&body, "bind parameters");
}

/// Runs the MariaDB statements of the test.
async fn run_mariadb(pool: web::Data<MySqlPool>) -> HttpResponse {
    sqlx::query("SELECT id, name FROM dt_sql_items ORDER BY id")
        .fetch_all(pool.get_ref())
        .await
        .expect("select");
    sqlx::query("UPDATE dt_sql_items SET name = 'c' WHERE id = 2")
        .execute(pool.get_ref())
        .await
        .expect("update");
    HttpResponse::Ok().finish()
}

#[actix_web::test]
#[ignore = "needs MariaDB on 127.0.0.1:3306 with database test (started by .ci/run)"]
async fn mariadb_queries_are_captured_and_explained() {
    init_tracing();
    let pool = MySqlPool::connect(MARIADB_URL)
        .await
        .expect("MariaDB is up");
    for sql in [
        "CREATE TABLE IF NOT EXISTS dt_sql_items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)",
        "DELETE FROM dt_sql_items",
        "INSERT INTO dt_sql_items VALUES (1, 'a'), (2, 'b')",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&pool)
            .await
            .expect("seed");
    }
    let toolbar = toolbar(SqlPanel::new().with_mysql(pool.clone()));
    let app = init_service(
        App::new()
            .wrap(toolbar.clone())
            .app_data(web::Data::new(pool))
            .route("/", web::get().to(run_mariadb)),
    )
    .await;
    let res = call_service(&app, get("/").to_request()).await;
    let id = header(&res, "x-debug-toolbar-id").expect("served");
    let stats: SqlStats = stored_stats::<SqlPanel>(&toolbar, &id).await;
    // The pool may reconnect during the request; the connection's own set-up statement
    // (`SET sql_mode=…`) is then recorded too, as the application really ran it.
    let ours: Vec<_> = stats
        .queries
        .iter()
        .filter(|q| !q.sql.starts_with("SET "))
        .collect();
    assert_eq!(ours.len(), 2, "{:#?}", stats.queries);
    let (select, update) = (ours[0], ours[1]);
    assert_eq!(select.sql, "SELECT id, name FROM dt_sql_items ORDER BY id");
    assert_eq!(select.rows_returned, 2);
    assert_eq!(update.rows_affected, Some(1));
    assert!(
        stats
            .queries
            .iter()
            .all(|q| q.backend == Some(Backend::Mysql))
    );

    let (status, body) = post!(
        &app,
        format!(
            "/__debug_toolbar/sql/explain?request={id}&query={}",
            select.index
        )
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_contains(&body, "dt_sql_items");
    assert_contains(&body, "select_type");
    let (status, _) = post!(
        &app,
        format!(
            "/__debug_toolbar/sql/explain?request={id}&query={}",
            update.index
        )
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[test]
fn a_configured_panel_replaces_the_registered_one() {
    let toolbar = DebugToolbar::try_new(
        ToolbarConfig::builder()
            .enabled(true)
            .panel(SqlPanel::new().with_max_queries(3))
            .build(),
    );
    assert!(toolbar.is_ok(), "{:?}", toolbar.err());
}

/// Runs one statement that fails, logging the error as an application would, then one that
/// works; or, with `?bind=1`, the same parameterised statement twice.
async fn failing_or_bound(
    pool: web::Data<SqlitePool>,
    query: web::Query<std::collections::HashMap<String, String>>,
) -> HttpResponse {
    let pool = pool.get_ref();
    if query.contains_key("bind") {
        for id in [1_i64, 2] {
            sqlx::query("SELECT name FROM items WHERE id = ?")
                .bind(id)
                .fetch_all(pool)
                .await
                .expect("query");
        }
    } else if query.contains_key("fail") {
        if let Err(e) = sqlx::query("SELECT nope FROM missing")
            .fetch_all(pool)
            .await
        {
            tracing::error!(error = %e, "loading the items failed");
        }
        sqlx::query("SELECT id FROM items")
            .fetch_all(pool)
            .await
            .expect("query");
    }
    HttpResponse::Ok()
        .content_type("text/html")
        .body("<html><body>ok</body></html>")
}

/// Serves `uri` through [`failing_or_bound`]; returns the toolbar, the record id and the
/// response's `Server-Timing`.
async fn serve_failing_or_bound(uri: &str) -> (DebugToolbar, String, String) {
    init_tracing();
    let pool = sqlite().await;
    let toolbar = toolbar(SqlPanel::new().with_sqlite(pool.clone()));
    let app = init_service(
        App::new()
            .wrap(toolbar.clone())
            .app_data(web::Data::new(pool))
            .route("/", web::get().to(failing_or_bound)),
    )
    .await;
    let res = call_service(&app, get(uri).to_request()).await;
    let id = header(&res, "x-debug-toolbar-id").expect("served");
    let timing = header(&res, "server-timing").unwrap_or_default();
    (toolbar, id, timing)
}

/// The SQL panel's body for record `id`, as the toolbar serves it.
async fn sql_panel_body(toolbar: &DebugToolbar, id: &str) -> String {
    let app = init_service(App::new().wrap(toolbar.clone())).await;
    let uri = crate::support::panel_uri(id, "sql");
    body_text(call_service(&app, get(&uri).to_request()).await).await
}

#[actix_web::test]
async fn a_failed_sqlite_query_is_marked_with_the_error_the_application_logged() {
    let (toolbar, id, _) = serve_failing_or_bound("/?fail=1").await;
    let stats: SqlStats = stored_stats::<SqlPanel>(&toolbar, &id).await;
    assert_eq!(stats.queries.len(), 2, "{:?}", stats.queries);
    let error = stats.queries[0]
        .error
        .as_deref()
        .expect("the failed query is marked");
    assert_contains(error, "loading the items failed");
    assert_contains(error, "missing");
    assert_eq!(stats.queries[1].error, None, "the next query worked");
    let record = crate::support::stored_record(&toolbar, &id).await;
    let badge = record
        .panel("sql")
        .and_then(|p| p.badge.as_ref())
        .expect("a badge");
    assert_eq!(badge.text, "SQL error");
    let body = sql_panel_body(&toolbar, &id).await;
    assert_contains(&body, "dt-sql-error");
    assert_contains(&body, "loading the items failed");
}

/// Logs an error about a query before sqlx reports that query, as SQLite's worker thread may
/// (it logs a statement when it is done with it), then runs one more that started later.
async fn reported_after_its_error() -> HttpResponse {
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    tracing::error!(error = "no such table: missing", "loading the items failed");
    tracing::debug!(
        target: "sqlx::query",
        summary = "SELECT nope FROM missing",
        elapsed_secs = 0.010_f64,
        "SELECT nope FROM missing"
    );
    tracing::debug!(
        target: "sqlx::query",
        summary = "SELECT id FROM items",
        elapsed_secs = 0.000_001_f64,
        "SELECT id FROM items"
    );
    HttpResponse::Ok()
        .content_type("text/html")
        .body("<html><body>ok</body></html>")
}

#[actix_web::test]
async fn an_error_logged_before_sqlx_reports_its_query_still_marks_that_query() {
    init_tracing();
    let toolbar = toolbar(SqlPanel::new());
    let app = init_service(
        App::new()
            .wrap(toolbar.clone())
            .route("/", web::get().to(reported_after_its_error)),
    )
    .await;
    let res = call_service(&app, get("/").to_request()).await;
    let id = header(&res, "x-debug-toolbar-id").expect("served");
    let stats: SqlStats = stored_stats::<SqlPanel>(&toolbar, &id).await;
    assert_eq!(stats.queries.len(), 2, "{:?}", stats.queries);
    let error = stats.queries[0].error.as_deref().expect("marked");
    assert_contains(error, "loading the items failed: no such table: missing");
    assert_eq!(
        stats.queries[1].error, None,
        "a query that started after the error is not what it was about"
    );
}

#[actix_web::test]
async fn statements_with_parameters_are_the_same_statement_not_identical() {
    let (toolbar, id, _) = serve_failing_or_bound("/?bind=1").await;
    let stats: SqlStats = stored_stats::<SqlPanel>(&toolbar, &id).await;
    assert_eq!(stats.duplicates.len(), 1);
    assert!(stats.duplicates[0].parameters, "the ids are not recorded");
    assert!(stats.queries.iter().all(|q| q.parameters));
    let body = sql_panel_body(&toolbar, &id).await;
    assert_contains(&body, "same statement ×2 (parameters not recorded)");
    assert_lacks(&body, "× identical");
}

#[actix_web::test]
async fn served_responses_report_sql_time_only_when_sql_ran() {
    let (_, _, without) = serve_failing_or_bound("/").await;
    assert_lacks(&without, "sql;");
    let (_, _, with) = serve_failing_or_bound("/?fail=1").await;
    assert_contains(&with, "sql;dur=");
}
