//! The store contract, checked against every store, and what the toolbar says when a record
//! is gone.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_debug_toolbar::{
    DebugToolbar, InMemoryStore, PostgresStore, RedisStore, SpanLimits, Store, StoreLimits,
};
use actix_web::http::StatusCode;
use actix_web::test::{call_service, init_service};
use actix_web::{App, HttpResponse, web};
use debug_toolbar_core::{
    Page, RECORD_FORMAT_VERSION, RecordId, RequestRecord, SpansSaved, TraceKey, TraceSpans,
};

use crate::support::{assert_contains, assert_lacks, body_text, config, get, header};

fn record(path: &str) -> RequestRecord {
    RequestRecord {
        format_version: RECORD_FORMAT_VERSION,
        id: RecordId::random().expect("random"),
        started_at_unix_ms: 1,
        method: "GET".into(),
        path: path.into(),
        status: 200,
        duration_ms: 1.5,
        kind: actix_debug_toolbar::core::RequestKind::Page,
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
        toolbar: Default::default(),
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
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP TABLE IF EXISTS {table}, {table}_spans, {table}_traces"
    )))
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

/// The limits the received-span contract runs with.
const SPAN_LIMITS: SpanLimits = SpanLimits {
    max_traces: 2,
    max_spans_per_trace: 3,
    max_bytes_per_trace: 12,
};

/// A trace id no earlier run used.
fn fresh_trace() -> TraceKey {
    let id = RecordId::random().expect("random").to_string();
    id.parse().expect("32 hex digits")
}

/// The received-span contract (with [`SPAN_LIMITS`]): spans come back in order, a full trace
/// drops and counts what does not fit by count or bytes, the oldest trace is evicted whole.
async fn span_contract(store: &dyn Store) {
    let first = fresh_trace();
    let saved = store
        .save_spans(&first, vec!["aaaa".into(), "bbbb".into(), "ccccc".into()])
        .await
        .expect("save");
    assert_eq!(
        saved,
        SpansSaved {
            kept: 2,
            dropped: 1
        },
        "12 bytes at most"
    );
    let saved = store
        .save_spans(&first, vec!["dd".into(), "e".into()])
        .await
        .expect("save");
    assert_eq!(
        saved,
        SpansSaved {
            kept: 1,
            dropped: 1
        },
        "3 spans at most"
    );
    assert_eq!(
        store.spans(&first).await.expect("read"),
        TraceSpans {
            spans: vec!["aaaa".into(), "bbbb".into(), "dd".into()],
            dropped: 2,
        }
    );
    let (second, third) = (fresh_trace(), fresh_trace());
    for trace in [&second, &third] {
        store
            .save_spans(trace, vec!["x".into()])
            .await
            .expect("save");
    }
    assert_eq!(
        store.spans(&first).await.expect("read"),
        TraceSpans::default()
    );
    assert_eq!(store.spans(&third).await.expect("read").spans, ["x"]);
    assert_eq!(
        store.spans(&fresh_trace()).await.expect("read"),
        TraceSpans::default()
    );
}

#[actix_web::test]
async fn in_memory_store_keeps_received_spans_within_limits() {
    span_contract(&InMemoryStore::with_span_limits(3, SPAN_LIMITS)).await;
}

#[actix_web::test]
#[ignore = "needs PostgreSQL on 127.0.0.1:5432 with database test (started by .ci/run)"]
async fn postgres_store_keeps_received_spans_within_limits() {
    let store = postgres_store("dt_store_spans", 3).await;
    span_contract(&store.with_span_limits(SPAN_LIMITS)).await;
}

#[actix_web::test]
#[ignore = "needs Redis on 127.0.0.1:6379 (started by .ci/run)"]
async fn redis_store_keeps_received_spans_within_limits() {
    let store = redis_store("dt-test-spans", 3).await;
    span_contract(&store.with_span_limits(SPAN_LIMITS)).await;
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

/// A TCP server on loopback that accepts connections and never answers.
fn silent_server() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    std::thread::spawn(move || {
        // Held, never read or written: the client waits for an answer that never comes.
        let mut held = Vec::new();
        for stream in listener.incoming() {
            match stream {
                Ok(stream) => held.push(stream),
                Err(_) => break,
            }
        }
    });
    addr
}

/// This process's resident memory, in KiB, from /proc/self/status.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in kB")
}

/// Thousands of pages through a toolbar whose store fails: every page is fast, at most
/// `max_in_flight` saves wait for the store and the rest are dropped and counted, the toolbar
/// says so, a panel answers 503 within 2 s. Resident memory after the first 500 pages and at
/// the end is printed; these tests run one at a time so that the numbers are their own.
async fn a_failing_store_costs_neither_time_nor_memory(name: &str, store: Arc<dyn Store>) {
    const PAGES: usize = 3000;
    static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _alone = ONE_AT_A_TIME.lock().await;
    let limits = StoreLimits::default();
    let toolbar = DebugToolbar::new(config().store(store).store_limits(limits).build());
    let app = init_service(App::new().wrap(toolbar.clone()).route(
        "/",
        web::get().to(|| async {
            HttpResponse::Ok()
                .content_type("text/html")
                .body("<html><body>page</body></html>")
        }),
    ))
    .await;
    let started = Instant::now();
    let mut rss_warm = 0;
    let mut times = Vec::with_capacity(PAGES);
    let mut most_in_flight = 0;
    let mut last = (String::new(), String::new());
    for page in 0..PAGES {
        if page == 500 {
            rss_warm = rss_kib();
        }
        let page_started = Instant::now();
        let res = call_service(&app, get("/").to_request()).await;
        assert_eq!(res.status(), StatusCode::OK);
        let id = header(&res, "x-debug-toolbar-id").expect("served");
        let html = body_text(res).await;
        times.push(page_started.elapsed());
        last = (id, html);
        let health = toolbar.store_health().expect("toolbar is on");
        most_in_flight = most_in_flight.max(health.in_flight);
        // The saves run on this thread, as on a server's worker, between pages.
        actix_web::rt::task::yield_now().await;
    }
    let elapsed = started.elapsed();
    times.sort_unstable();
    let slowest = times[PAGES - 1];
    let p99 = times[PAGES * 99 / 100];
    let rss_end = rss_kib();
    let health = toolbar.store_health().expect("toolbar is on");
    println!(
        "{name}: {PAGES} pages in {elapsed:.1?} (p99 {p99:.1?}, slowest {slowest:.1?}); VmRSS after 500 pages \
         {rss_warm} KiB, after {PAGES} {rss_end} KiB ({:+} KiB); at most {most_in_flight} saves \
         in flight; {health:?}",
        rss_end as i64 - rss_warm as i64
    );
    assert!(
        most_in_flight <= limits.max_in_flight,
        "{most_in_flight} saves in flight"
    );
    assert_eq!(health.saved, 0, "{health:?}");
    assert!(
        health.dropped >= PAGES as u64 * 9 / 10,
        "most saves dropped at once: {health:?}"
    );
    assert_eq!(
        health.saved + health.dropped + health.failed + health.in_flight as u64,
        PAGES as u64,
        "every save counted: {health:?}"
    );
    assert!(health.failing, "{health:?}");
    assert!(
        p99 < Duration::from_millis(100),
        "pages waited for the store: p99 {p99:?}"
    );
    // Below the store's 1 s deadline, so that one page waiting for the store fails; above the
    // pauses a 2-core machine running the other tests can cause.
    assert!(
        slowest < limits.timeout * 9 / 10,
        "a page waited for the store: {slowest:?}"
    );
    let (id, html) = last;
    assert_contains(&html, "dt-store-problem");
    assert_contains(&html, "store is unavailable");

    let asked = Instant::now();
    let res = call_service(
        &app,
        get(&format!("/__debug_toolbar/panels/{id}/request")).to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_contains(&body_text(res).await, "Store unavailable");
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "{:?}",
        asked.elapsed()
    );

    let asked = Instant::now();
    let res = call_service(&app, get("/__debug_toolbar/api/requests").to_request()).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let list: serde_json::Value = actix_web::test::read_body_json(res).await;
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "{:?}",
        asked.elapsed()
    );
    assert_contains(
        list["error"].as_str().expect("error"),
        "store is unavailable",
    );
    assert!(list["store"]["dropped"].as_u64().expect("dropped") >= health.dropped);
    assert!(list["store"]["last_error"].is_string(), "{list}");
}

#[actix_web::test]
async fn a_redis_store_that_refuses_connections_costs_neither_time_nor_memory() {
    let store = RedisStore::open("redis://127.0.0.1:1/", 25).expect("url parses");
    a_failing_store_costs_neither_time_nor_memory("refusing Redis", Arc::new(store)).await;
}

#[actix_web::test]
async fn a_redis_store_that_never_answers_costs_neither_time_nor_memory() {
    let url = format!("redis://{}/", silent_server());
    let store = RedisStore::open(&url, 25).expect("url parses");
    a_failing_store_costs_neither_time_nor_memory("silent Redis", Arc::new(store)).await;
}

#[actix_web::test]
async fn a_postgres_store_that_refuses_connections_costs_neither_time_nor_memory() {
    let store =
        PostgresStore::connect_lazy("postgres://postgres@127.0.0.1:1/test", 25).expect("url");
    a_failing_store_costs_neither_time_nor_memory("refusing PostgreSQL", Arc::new(store)).await;
}

#[actix_web::test]
async fn a_postgres_store_that_never_answers_costs_neither_time_nor_memory() {
    let url = format!("postgres://postgres@{}/test", silent_server());
    let store = PostgresStore::connect_lazy(&url, 25).expect("url parses");
    a_failing_store_costs_neither_time_nor_memory("silent PostgreSQL", Arc::new(store)).await;
}

#[actix_web::test]
async fn the_request_list_tells_how_the_store_is_doing() {
    let toolbar = DebugToolbar::new(config().build());
    let app = init_service(App::new().wrap(toolbar.clone()).route(
        "/",
        web::get().to(|| async {
            HttpResponse::Ok()
                .content_type("text/html")
                .body("<html><body>page</body></html>")
        }),
    ))
    .await;
    let res = call_service(&app, get("/").to_request()).await;
    assert_lacks(&body_text(res).await, "dt-store-problem");
    // The save runs after the response.
    for _ in 0..100 {
        if toolbar.store_health().expect("on").saved == 1 {
            break;
        }
        actix_web::rt::task::yield_now().await;
    }
    let res = call_service(&app, get("/__debug_toolbar/api/requests").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let list: serde_json::Value = actix_web::test::read_body_json(res).await;
    assert_eq!(list["requests"].as_array().map(Vec::len), Some(1), "{list}");
    let store = &list["store"];
    assert_eq!(
        (&store["saved"], &store["dropped"], &store["failed"]),
        (&1.into(), &0.into(), &0.into()),
        "{list}"
    );
    assert_eq!(store["failing"], false, "{list}");
    assert!(list.get("error").is_none(), "{list}");
}
