//! What `ToolbarLayer` records for a served request, and for whom.

use std::time::Duration;

use actix_debug_toolbar::DebugToolbar;
use actix_web::test::{call_service, init_service};
use actix_web::{App, HttpResponse, web};
use tracing::Instrument;

use crate::support::{
    EventsPanel, EventsStats, assert_contains, body_text, config, get, header, init_tracing,
    refused_peer, stored_stats,
};

#[derive(serde::Deserialize)]
struct Marker {
    marker: String,
}

/// Logs from the handler, from a child span, from instrumented and bare spawned tasks.
async fn traced(query: web::Query<Marker>) -> HttpResponse {
    let marker = query.into_inner().marker;
    tracing::info!("{marker} handler event");
    actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    async { tracing::warn!("{marker} inside child span") }
        .instrument(tracing::info_span!("child"))
        .await;
    let m = marker.clone();
    let _ = actix_web::rt::spawn(
        async move { tracing::info!("{m} spawned instrumented") }.in_current_span(),
    )
    .await;
    let m = marker.clone();
    let _ = actix_web::rt::spawn(async move { tracing::info!("{m} spawned bare") }).await;
    log::info!("{marker} from the log crate");
    HttpResponse::Ok()
        .content_type("text/html")
        .body("<html><body>traced</body></html>")
}

fn toolbar() -> DebugToolbar {
    DebugToolbar::new(config().panel(crate::support::EventsPanel).build())
}

async fn events_of(toolbar: &DebugToolbar, id: &str) -> EventsStats {
    stored_stats::<EventsPanel>(toolbar, id).await
}

#[actix_web::test]
async fn records_events_and_spans_inside_the_request_and_its_instrumented_tasks() {
    init_tracing();
    let toolbar = toolbar();
    let app = init_service(
        App::new()
            .wrap(toolbar.clone())
            .route("/t", web::get().to(traced)),
    )
    .await;
    let res = call_service(&app, get("/t?marker=one").to_request()).await;
    let id = header(&res, "x-debug-toolbar-id").expect("served");
    let stats = events_of(&toolbar, &id).await;
    assert_eq!(
        stats.events,
        [
            ": one handler event",
            "child: one inside child span",
            ": one spawned instrumented",
            ": one from the log crate",
        ],
        "the bare spawned task is not part of the request"
    );
    assert_eq!(stats.spans, ["child"]);
}

#[actix_web::test]
async fn concurrent_requests_keep_their_own_events() {
    init_tracing();
    let toolbar = toolbar();
    let app = init_service(
        App::new()
            .wrap(toolbar.clone())
            .route("/t", web::get().to(traced)),
    )
    .await;
    let (a, b) = futures_util::future::join(
        call_service(&app, get("/t?marker=alpha").to_request()),
        call_service(&app, get("/t?marker=beta").to_request()),
    )
    .await;
    for (res, own, other) in [(a, "alpha", "beta"), (b, "beta", "alpha")] {
        let id = header(&res, "x-debug-toolbar-id").expect("served");
        let stats = events_of(&toolbar, &id).await;
        assert_eq!(stats.events.len(), 4, "{own}: {:?}", stats.events);
        for event in &stats.events {
            assert!(
                event.contains(own) && !event.contains(other),
                "{own}: {event}"
            );
        }
    }
}

#[actix_web::test]
async fn nothing_is_recorded_for_requests_the_toolbar_does_not_serve() {
    init_tracing();
    let toolbar = toolbar();
    let app = init_service(
        App::new()
            .wrap(toolbar.clone())
            .route("/t", web::get().to(traced)),
    )
    .await;
    let req = actix_web::test::TestRequest::get()
        .uri("/t?marker=x")
        .peer_addr(refused_peer());
    let res = call_service(&app, req.to_request()).await;
    assert_eq!(header(&res, "x-debug-toolbar-id"), None);
    let store = toolbar.store().expect("on");
    let listed = store.list(Default::default()).await.expect("list");
    assert!(listed.is_empty(), "{listed:?}");
}

#[test]
fn a_missing_layer_is_explained_in_the_toolbar() {
    // This thread's subscriber has no toolbar layer.
    let subscriber = tracing_subscriber::registry();
    tracing::subscriber::with_default(subscriber, || {
        actix_web::rt::System::new().block_on(async {
            let toolbar = toolbar();
            let app = init_service(
                App::new()
                    .wrap(toolbar.clone())
                    .route("/t", web::get().to(traced)),
            )
            .await;
            let res = call_service(&app, get("/t?marker=m").to_request()).await;
            let id = header(&res, "x-debug-toolbar-id").expect("still served");
            let page = body_text(res).await;
            assert_contains(&page, "ToolbarLayer");
            assert_contains(&page, "toolbar.layer()");
            let store = toolbar.store().expect("on");
            let record = store
                .get(id.parse().expect("id"))
                .await
                .expect("store")
                .expect("record");
            assert!(!record.layer_attached);
        });
    });
}

/// Whether a `DEBUG` event would be built here, as sqlx asks before it formats a query.
async fn debug_enabled() -> HttpResponse {
    let enabled = tracing::enabled!(target: "sqlx::query", tracing::Level::DEBUG)
        || log::log_enabled!(target: "sqlx::query", log::Level::Debug);
    HttpResponse::Ok().body(enabled.to_string())
}

#[actix_web::test]
async fn behind_the_gate_debug_records_are_built_only_inside_served_requests() {
    init_tracing();
    let toolbar = toolbar();
    let app = init_service(
        App::new()
            .wrap(toolbar.clone())
            .route("/d", web::get().to(debug_enabled)),
    )
    .await;
    let served = call_service(&app, get("/d").to_request()).await;
    assert_eq!(body_text(served).await, "true");
    let skipped = actix_web::test::TestRequest::get()
        .uri("/d")
        .peer_addr(refused_peer());
    let skipped = call_service(&app, skipped.to_request()).await;
    assert_eq!(body_text(skipped).await, "false");
    assert!(
        !tracing::enabled!(tracing::Level::DEBUG),
        "outside any request"
    );
}

#[actix_web::test]
async fn the_configured_byte_budget_bounds_a_request_and_the_panels_say_so() {
    init_tracing();
    let limits = actix_debug_toolbar::RecordingLimits {
        max_bytes: 16 * 1024,
        ..Default::default()
    };
    let toolbar = DebugToolbar::new(config().recording_limits(limits).build());
    let app = init_service(App::new().wrap(toolbar.clone()).route(
        "/chatty",
        web::get().to(|| async {
            let kilobyte = "x".repeat(1024);
            for i in 0..40 {
                tracing::info_span!("step", i).in_scope(|| tracing::info!(%kilobyte, "line {i}"));
            }
            HttpResponse::Ok()
                .content_type("text/html")
                .body("<html><body>chatty</body></html>")
        }),
    ))
    .await;
    let res = call_service(&app, get("/chatty").to_request()).await;
    let id = header(&res, "x-debug-toolbar-id").expect("served");
    let logging = stored_stats::<actix_debug_toolbar::panels::LoggingPanel>(&toolbar, &id).await;
    assert!(
        logging.records.len() < 16,
        "{} records kept",
        logging.records.len()
    );
    assert!(logging.over_budget > 20, "{}", logging.over_budget);
    assert_eq!(logging.budget, "16 KiB");
    let profiling =
        stored_stats::<actix_debug_toolbar::panels::ProfilingPanel>(&toolbar, &id).await;
    assert!(profiling.spans_over_budget > 0, "{profiling:?}");

    let res = call_service(
        &app,
        get(&crate::support::panel_uri(&id, "logging")).to_request(),
    )
    .await;
    let html = body_text(res).await;
    assert_contains(
        &html,
        &format!(
            "{} events not recorded: the request's recording budget of 16 KiB was spent.",
            logging.over_budget
        ),
    );
    let res = call_service(
        &app,
        get(&crate::support::panel_uri(&id, "profiling")).to_request(),
    )
    .await;
    assert_contains(
        &body_text(res).await,
        "recording budget of 16 KiB was spent",
    );
}
