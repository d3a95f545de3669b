//! The Logging panel: what it lists, for which request, how much, and how it shows it.

use actix_debug_toolbar::DebugToolbar;
use actix_debug_toolbar::core::BadgeLevel;
use actix_debug_toolbar::panels::{LogLevel, LoggingPanel, LoggingStats};
use actix_web::http::StatusCode;
use actix_web::test::{call_service, init_service};
use actix_web::{App, HttpResponse, web};
use tracing::Instrument;

use crate::support::{
    assert_contains, assert_lacks, body_text, config, get, header, init_tracing, panel_uri,
    stored_record, stored_stats,
};

#[derive(serde::Deserialize)]
struct Marker {
    marker: String,
}

fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html")
        .body("<html><body>logged</body></html>")
}

/// Logs at every level through `tracing` and `log`, inside a span and from a spawned task, plus
/// two sqlx query events and two of the toolbar's own.
async fn chatty(query: web::Query<Marker>) -> HttpResponse {
    let marker = query.into_inner().marker;
    tracing::info!(user = "ada", password = "hunter2", "{marker} first");
    async { tracing::debug!(rows = 3_u64, "{marker} inside load") }
        .instrument(tracing::info_span!("load"))
        .await;
    tracing::debug!(target: "sqlx::query", summary = "SELECT 1", "SELECT 1");
    tracing::debug!(target: "sqlx::query", summary = "SELECT 2", "SELECT 2");
    tracing::info!(target: "debug_toolbar", "the toolbar's own");
    tracing::info!(target: "debug_toolbar::template", "the toolbar's own too");
    let m = marker.clone();
    let _ =
        actix_web::rt::spawn(async move { tracing::warn!("{m} from a task") }.in_current_span())
            .await;
    log::error!(target: "app::legacy", "{marker} from log");
    page()
}

async fn serve(marker: &str) -> (DebugToolbar, String) {
    init_tracing();
    let toolbar = DebugToolbar::new(config().build());
    let app = init_service(
        App::new()
            .wrap(toolbar.clone())
            .route("/", web::get().to(chatty)),
    )
    .await;
    let res = call_service(&app, get(&format!("/?marker={marker}")).to_request()).await;
    let id = header(&res, "x-debug-toolbar-id").expect("served");
    (toolbar, id)
}

#[actix_web::test]
async fn lists_tracing_and_log_records_in_order_with_their_details() {
    let (toolbar, id) = serve("one").await;
    let stats: LoggingStats = stored_stats::<LoggingPanel>(&toolbar, &id).await;
    let summary: Vec<(LogLevel, &str)> = stats
        .records
        .iter()
        .map(|r| (r.level, r.message.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            (LogLevel::Info, "one first"),
            (LogLevel::Debug, "one inside load"),
            (LogLevel::Warn, "one from a task"),
            (LogLevel::Error, "one from log"),
        ]
    );
    assert!(
        stats
            .records
            .windows(2)
            .all(|w| w[0].offset_ms <= w[1].offset_ms),
        "offsets grow"
    );

    let first = &stats.records[0];
    assert_eq!(first.target, "integration::logging");
    assert!(!first.from_log);
    let fields: Vec<(&str, &str)> = first
        .fields
        .iter()
        .map(|f| (f.name.as_str(), f.value.as_str()))
        .collect();
    assert_eq!(fields, [("user", "ada"), ("password", "********")]);
    assert_contains(
        first.location.as_deref().unwrap_or(""),
        "tests/it/logging.rs:",
    );
    // The location is published as fields too, for panels that read it.
    assert_eq!(first.file.as_deref(), Some("tests/it/logging.rs"));
    assert_eq!(
        first.location.as_deref(),
        first
            .line
            .map(|l| format!("tests/it/logging.rs:{l}"))
            .as_deref()
    );
    assert!(first.thread.is_some(), "{first:?}");
    assert!(first.span_path.is_empty());

    let inside = &stats.records[1];
    assert_eq!(inside.span_path, ["load"]);
    assert_eq!(inside.fields[0].name, "rows");
    assert_eq!(inside.fields[0].value, "3");

    let from_log = &stats.records[3];
    assert!(from_log.from_log);
    assert_eq!(from_log.target, "app::legacy");
    assert!(
        from_log.fields.is_empty(),
        "log.* fields are folded in: {from_log:?}"
    );
    assert_contains(
        from_log.location.as_deref().unwrap_or(""),
        "tests/it/logging.rs:",
    );

    assert_eq!(stats.total, 4);
    assert_eq!(stats.not_shown, 0);
    assert_eq!(
        stats.sql_queries, 2,
        "sqlx query events go to the SQL panel"
    );
    assert_eq!(
        (
            stats.counts.error,
            stats.counts.warn,
            stats.counts.info,
            stats.counts.debug
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(stats.targets, ["app::legacy", "integration::logging"]);

    let record = stored_record(&toolbar, &id).await;
    let part = record.panel("logging").expect("logging panel");
    assert_eq!(
        part.subtitle.as_deref(),
        Some("4 records, 1 error, 1 warning")
    );
    let badge = part.badge.as_ref().expect("an error badge");
    assert_eq!(
        (badge.level, badge.text.as_str()),
        (BadgeLevel::Error, "1 error")
    );
}

#[actix_web::test]
async fn concurrent_requests_list_only_their_own_records() {
    init_tracing();
    let toolbar = DebugToolbar::new(config().build());
    let app = init_service(
        App::new()
            .wrap(toolbar.clone())
            .route("/", web::get().to(chatty)),
    )
    .await;
    let (a, b) = futures_util::future::join(
        call_service(&app, get("/?marker=alpha").to_request()),
        call_service(&app, get("/?marker=beta").to_request()),
    )
    .await;
    for (res, own, other) in [(a, "alpha", "beta"), (b, "beta", "alpha")] {
        let id = header(&res, "x-debug-toolbar-id").expect("served");
        let stats = stored_stats::<LoggingPanel>(&toolbar, &id).await;
        assert_eq!(stats.records.len(), 4, "{own}: {:?}", stats.records);
        assert_eq!(stats.sql_queries, 2, "{own}");
        for record in &stats.records {
            assert!(
                record.message.starts_with(own) && !record.message.contains(other),
                "{own}: {record:?}"
            );
        }
    }
}

/// Emits `n` INFO events.
async fn flood(n: web::Path<usize>) -> HttpResponse {
    for i in 0..n.into_inner() {
        tracing::info!(i, "event {i}");
    }
    page()
}

#[actix_web::test]
async fn lists_at_most_a_thousand_records_and_counts_the_rest() {
    init_tracing();
    let toolbar = DebugToolbar::new(config().build());
    let app = init_service(
        App::new()
            .wrap(toolbar.clone())
            .route("/{n}", web::get().to(flood)),
    )
    .await;
    let res = call_service(&app, get("/1205").to_request()).await;
    let id = header(&res, "x-debug-toolbar-id").expect("served");
    let stats = stored_stats::<LoggingPanel>(&toolbar, &id).await;
    assert_eq!(stats.records.len(), LoggingPanel::MAX_RECORDS);
    assert_eq!(
        stats.records[999].message, "event 999",
        "the first ones are kept"
    );
    assert_eq!((stats.total, stats.not_shown), (1205, 205));
    assert_eq!(stats.counts.info, 1205, "counts cover every record");

    let res = call_service(&app, get(&panel_uri(&id, "logging")).to_request()).await;
    let html = body_text(res).await;
    assert_contains(&html, "205 more not shown, of 1205 in all");
    let record = stored_record(&toolbar, &id).await;
    let part = record.panel("logging").expect("logging panel");
    assert_eq!(part.subtitle.as_deref(), Some("1205 records"));
    assert!(part.badge.is_none());
}

async fn hostile() -> HttpResponse {
    tracing::info!(
        note = "\"><img src=x onerror=alert(2)>",
        "<script>alert(1)</script>"
    );
    log::warn!(target: "<b>bold</b>", "<svg onload=alert(3)>");
    page()
}

#[actix_web::test]
async fn hostile_messages_fields_and_targets_come_out_escaped() {
    init_tracing();
    let toolbar = DebugToolbar::new(config().build());
    let app = init_service(
        App::new()
            .wrap(toolbar.clone())
            .route("/", web::get().to(hostile)),
    )
    .await;
    let res = call_service(&app, get("/").to_request()).await;
    let id = header(&res, "x-debug-toolbar-id").expect("served");
    let page = body_text(res).await;
    assert_contains(&page, "dt-badge-warning");
    assert_contains(&page, "1 warning");

    let res = call_service(&app, get(&panel_uri(&id, "logging")).to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = body_text(res).await;
    for raw in ["<script>alert", "<img src=x", "<svg onload", "<b>bold"] {
        assert_lacks(&html, raw);
    }
    assert_contains(&html, "&lt;script&gt;alert(1)&lt;/script&gt;");
    assert_contains(&html, "data-filter-min=\"severity\"");
    assert_contains(&html, "data-target=\"&lt;b&gt;bold&lt;/b&gt;\"");

    let stats = stored_stats::<LoggingPanel>(&toolbar, &id).await;
    assert_eq!(stats.records[1].target, "<b>bold</b>");
    assert_eq!(stats.records[1].level, LogLevel::Warn);
}

/// A `MakeWriter` that keeps what a fmt layer prints.
#[derive(Clone, Default)]
struct Console(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Console {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Console {
    type Writer = Console;

    fn make_writer(&'a self) -> Console {
        self.clone()
    }
}

async fn console_handler() -> HttpResponse {
    tracing::info!(user = "ada", "loading the page");
    async { tracing::warn!("inside a span of the application's") }
        .instrument(tracing::info_span!("load", rows = 3))
        .await;
    page()
}

/// What the application's own fmt layer (INFO, the README's own-subscriber recipe) prints for
/// one request, with or without the toolbar wrapping the app.
async fn console_lines(with_toolbar: bool) -> String {
    use tracing_subscriber::prelude::*;
    let console = Console::default();
    let toolbar = DebugToolbar::new(config().build());
    let filter = tracing_subscriber::filter::Targets::new()
        .with_default(tracing_subscriber::filter::LevelFilter::INFO);
    let subscriber = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(console.clone())
                .without_time()
                .with_ansi(false)
                .with_filter(filter.clone()),
        )
        .with(toolbar.layer())
        .with(toolbar.gate(filter));
    let _default = tracing::subscriber::set_default(subscriber);
    let app = init_service(
        App::new()
            .wrap(actix_web::middleware::Condition::new(
                with_toolbar,
                toolbar.clone(),
            ))
            .route("/", web::get().to(console_handler)),
    )
    .await;
    let res = call_service(&app, get("/").to_request()).await;
    assert_eq!(
        header(&res, "x-debug-toolbar-id").is_some(),
        with_toolbar,
        "served only with the toolbar"
    );
    let printed = console.0.lock().unwrap().clone();
    String::from_utf8(printed).unwrap()
}

#[actix_web::test]
async fn the_application_s_console_lines_are_the_same_with_the_toolbar() {
    let without = console_lines(false).await;
    let with = console_lines(true).await;
    assert_contains(&without, "loading the page");
    assert_contains(&without, "load{rows=3}: ");
    assert_eq!(
        with, without,
        "the toolbar changed the application's console lines"
    );
}
