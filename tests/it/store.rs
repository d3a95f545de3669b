//! The store contract, checked against every store, and what the toolbar says when a record
//! is gone.

use std::sync::Arc;

use std::time::Duration;

use actix_debug_toolbar::{DebugToolbar, InMemoryStore, PostgresStore, RedisStore, Store};
use actix_web::http::StatusCode;
use actix_web::test::{call_service, init_service};
use actix_web::{App, HttpResponse, web};
use debug_toolbar_core::{Page, RECORD_FORMAT_VERSION, RecordId, RequestRecord};

use crate::support::{assert_contains, body_text, config, get, header};

fn record(path: &str) -> RequestRecord {
    RequestRecord {
        format_version: RECORD_FORMAT_VERSION,
        id: RecordId::random().expect("random"),
        started_at_unix_ms: 1,
        method: "GET".into(),
        path: path.into(),
        status: 200,
        duration_ms: 1.5,
        ajax: false,
        layer_attached: true,
        panels: vec![debug_toolbar_core::PanelRecord {
            id: "timer".into(),
            title: "Time".into(),
            subtitle: None,
            stats: debug_toolbar_core::StatsJson::from_stats(&serde_json::json!({"total_ms": 1.5}))
                .expect("json"),
            note: None,
            badge: None,
            switched_off: false,
        }],
    }
}

/// What every store must do, given a store that keeps exactly three records.
async fn store_contract(store: &dyn Store) {
    let records: Vec<RequestRecord> = (0..5).map(|i| record(&format!("/{i}"))).collect();
    for r in &records {
        store.save(r.clone()).await.expect("save");
    }
    let listed = store.list(Page::default()).await.expect("list");
    let paths: Vec<&str> = listed.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(paths, ["/4", "/3", "/2"], "newest first, oldest evicted");

    let page = store
        .list(Page {
            offset: 1,
            limit: 1,
        })
        .await
        .expect("list");
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].path, "/3");

    let kept = store.get(records[4].id).await.expect("get").expect("kept");
    assert_eq!(*kept, records[4], "read back unchanged");
    assert!(
        store.get(records[0].id).await.expect("get").is_none(),
        "evicted"
    );
    let unknown = RecordId::random().expect("random");
    assert!(store.get(unknown).await.expect("get").is_none());
}

#[actix_web::test]
async fn in_memory_store_keeps_the_newest_records() {
    store_contract(&InMemoryStore::new(3)).await;
}

const POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
const REDIS_URL: &str = "redis://127.0.0.1:6379/";

/// A PostgreSQL store in a table of its own, emptied first.
async fn postgres_store(table: &str, capacity: usize) -> PostgresStore {
    let pool = sqlx::PgPool::connect(POSTGRES_URL)
        .await
        .expect("PostgreSQL is up");
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE IF EXISTS {table}")))
        .execute(&pool)
        .await
        .expect("drop");
    PostgresStore::new(pool, table, capacity).expect("valid table")
}

/// A Redis store under a key prefix of its own, emptied first.
async fn redis_store(prefix: &str, capacity: usize) -> RedisStore {
    let client = redis::Client::open(REDIS_URL).expect("redis url");
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .expect("Redis is up");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query_async(&mut connection)
        .await
        .expect("keys");
    if !keys.is_empty() {
        let _: () = redis::cmd("DEL")
            .arg(keys)
            .query_async(&mut connection)
            .await
            .expect("del");
    }
    RedisStore::with_client(client, prefix, capacity, Duration::from_secs(60))
}

#[actix_web::test]
#[ignore = "needs PostgreSQL on 127.0.0.1:5432 with database test (started by .ci/run)"]
async fn postgres_store_keeps_the_newest_records() {
    store_contract(&postgres_store("dt_store_contract", 3).await).await;
}

#[actix_web::test]
#[ignore = "needs Redis on 127.0.0.1:6379 (started by .ci/run)"]
async fn redis_store_keeps_the_newest_records() {
    store_contract(&redis_store("dt-test-contract", 3).await).await;
}

/// Many writers at once: every record is readable until pruned, and the store ends at capacity.
async fn concurrent_writers(store: Arc<dyn Store>) {
    let writes = (0..40).map(|i| {
        let store = store.clone();
        async move { store.save(record(&format!("/w{i}"))).await }
    });
    for result in futures_util::future::join_all(writes).await {
        result.expect("save");
    }
    let listed = store
        .list(Page {
            offset: 0,
            limit: 100,
        })
        .await
        .expect("list");
    assert_eq!(listed.len(), 10, "pruned to capacity: {listed:?}");
}

#[actix_web::test]
#[ignore = "needs PostgreSQL on 127.0.0.1:5432 with database test (started by .ci/run)"]
async fn postgres_store_takes_concurrent_writers() {
    concurrent_writers(Arc::new(postgres_store("dt_store_concurrent", 10).await)).await;
}

#[actix_web::test]
#[ignore = "needs Redis on 127.0.0.1:6379 (started by .ci/run)"]
async fn redis_store_takes_concurrent_writers() {
    concurrent_writers(Arc::new(redis_store("dt-test-concurrent", 10).await)).await;
}

/// Two application instances on one shared store: a request served by the first is read
/// through the second, and the store's own queries never show up in the SQL panel.
async fn two_instances_share(store: Arc<dyn Store>) {
    crate::support::init_tracing();
    let page = || async {
        HttpResponse::Ok()
            .content_type("text/html")
            .body("<html><body></body></html>")
    };
    let first = init_service(
        App::new()
            .wrap(DebugToolbar::new(config().store(store.clone()).build()))
            .route("/", web::get().to(page)),
    )
    .await;
    let second = init_service(
        App::new()
            .wrap(DebugToolbar::new(config().store(store.clone()).build()))
            .route("/", web::get().to(page)),
    )
    .await;
    let res = call_service(&first, get("/").to_request()).await;
    let id = header(&res, "x-debug-toolbar-id").expect("served");
    // The first instance saves off the response path; wait until the record is there.
    let parsed: RecordId = id.parse().expect("id");
    for _ in 0..100 {
        if store.get(parsed).await.expect("get").is_some() {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let uri = format!("/__debug_toolbar/panels/{id}/request");
    let res = call_service(&second, get(&uri).to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_contains(&body_text(res).await, "GET");

    // A second request: the first one's save queries are not part of it.
    let res = call_service(&first, get("/").to_request()).await;
    let id = header(&res, "x-debug-toolbar-id").expect("served");
    let parsed: RecordId = id.parse().expect("id");
    let mut record = None;
    for _ in 0..100 {
        record = store.get(parsed).await.expect("get");
        if record.is_some() {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let record = record.expect("stored");
    let sql = record
        .stats::<actix_debug_toolbar::panels::SqlPanel>()
        .expect("sql panel")
        .expect("stats");
    assert_eq!(
        sql.total_count, 0,
        "the store's own queries: {:?}",
        sql.queries
    );
}

#[actix_web::test]
#[ignore = "needs PostgreSQL on 127.0.0.1:5432 with database test (started by .ci/run)"]
async fn two_instances_share_a_postgres_store() {
    two_instances_share(Arc::new(postgres_store("dt_store_shared", 25).await)).await;
}

#[actix_web::test]
#[ignore = "needs Redis on 127.0.0.1:6379 (started by .ci/run)"]
async fn two_instances_share_a_redis_store() {
    two_instances_share(Arc::new(redis_store("dt-test-shared", 25).await)).await;
}

#[actix_web::test]
async fn an_unreachable_store_does_not_fail_the_page() {
    // Nothing listens on port 9 of loopback.
    let store = Arc::new(
        PostgresStore::connect_lazy("postgres://nobody@127.0.0.1:9/none", 25).expect("url parses"),
    );
    let app = init_service(
        App::new()
            .wrap(DebugToolbar::new(config().store(store).build()))
            .route(
                "/",
                web::get().to(|| async {
                    HttpResponse::Ok()
                        .content_type("text/html")
                        .body("<html><body>page</body></html>")
                }),
            ),
    )
    .await;
    let started = std::time::Instant::now();
    let res = call_service(&app, get("/").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let id = header(&res, "x-debug-toolbar-id").expect("served");
    assert_contains(&body_text(res).await, "debug-toolbar");
    assert!(
        started.elapsed() < std::time::Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    let uri = format!("/__debug_toolbar/panels/{id}/request");
    let res = call_service(&app, get(&uri).to_request()).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_contains(&body_text(res).await, "store");
}

#[actix_web::test]
async fn an_expired_record_gives_a_clear_message() {
    let toolbar = DebugToolbar::new(
        config()
            .store(Arc::new(InMemoryStore::new(1)))
            .store_capacity(1)
            .build(),
    );
    let app = init_service(App::new().wrap(toolbar).route(
        "/",
        web::get().to(|| async {
            HttpResponse::Ok()
                .content_type("text/html")
                .body("<html><body></body></html>")
        }),
    ))
    .await;
    let first = call_service(&app, get("/").to_request()).await;
    let first = header(&first, "x-debug-toolbar-id").expect("served");
    let _second = call_service(&app, get("/").to_request()).await;
    let uri = format!("/__debug_toolbar/panels/{first}/timer");
    let res = call_service(&app, get(&uri).to_request()).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let html = body_text(res).await;
    assert_contains(&html, "no longer stored");
    assert_contains(&html, "Reload the page");

    let res = call_service(
        &app,
        get("/__debug_toolbar/panels/not-an-id/timer").to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn a_postgres_table_name_must_be_a_plain_identifier() {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .connect_lazy("postgres://nobody@127.0.0.1:9/none")
        .expect("url parses");
    for table in ["", "1records", "records; DROP TABLE users", "\"quoted\""] {
        let err = PostgresStore::new(pool.clone(), table, 5).expect_err(table);
        assert_eq!(
            err.to_string(),
            format!("{table:?} is not a plain table name (letters, digits and _)")
        );
        assert!(std::error::Error::source(&err).is_none());
    }
    assert!(PostgresStore::new(pool, "debug_toolbar_2", 5).is_ok());
}
