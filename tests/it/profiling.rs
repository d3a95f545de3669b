//! The Profiling panel: the span tree, merged calls, busy and idle time, limits, and how the
//! flame graph and table show it.

use std::time::Duration;

use actix_debug_toolbar::DebugToolbar;
use actix_debug_toolbar::panels::{ProfileNode, ProfilingPanel, ProfilingStats};
use actix_web::test::{call_service, init_service};
use actix_web::{App, HttpResponse, web};
use tracing::Instrument;

use crate::support::{
    assert_contains, assert_lacks, body_text, config, get, header, init_tracing, panel_uri,
    stored_record, stored_stats,
};

fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html")
        .body("<html><body>profiled</body></html>")
}

/// Waits without holding a thread: idle time.
#[tracing::instrument]
async fn load(item: u32) {
    actix_web::rt::time::sleep(Duration::from_millis(5)).await;
}

/// Holds the thread: busy time.
#[tracing::instrument]
fn compute() {
    std::thread::sleep(Duration::from_millis(4));
}

async fn work() -> HttpResponse {
    async {
        for item in 0..3 {
            load(item).await;
        }
        compute();
    }
    .instrument(tracing::info_span!("outer"))
    .await;
    page()
}

fn node<'a>(stats: &'a ProfilingStats, label: &str) -> &'a ProfileNode {
    stats
        .nodes
        .iter()
        .find(|n| n.label == label)
        .unwrap_or_else(|| panic!("no node {label}: {:?}", stats.nodes))
}

async fn serve(route: &str, handler: fn() -> HttpResponseFuture) -> (DebugToolbar, String, String) {
    init_tracing();
    let toolbar = DebugToolbar::new(config().build());
    let app = init_service(
        App::new()
            .wrap(toolbar.clone())
            .route(route, web::get().to(handler)),
    )
    .await;
    let res = call_service(&app, get(route).to_request()).await;
    let id = header(&res, "x-debug-toolbar-id").expect("served");
    let res = call_service(&app, get(&panel_uri(&id, "profiling")).to_request()).await;
    let panel = body_text(res).await;
    (toolbar, id, panel)
}

type HttpResponseFuture = std::pin::Pin<Box<dyn std::future::Future<Output = HttpResponse>>>;

#[actix_web::test]
async fn repeated_calls_merge_and_async_waits_count_as_idle() {
    let (toolbar, id, _) = serve("/work", || Box::pin(work())).await;
    let stats = stored_stats::<ProfilingPanel>(&toolbar, &id).await;
    let labels: Vec<(&str, usize)> = stats
        .nodes
        .iter()
        .map(|n| (n.label.as_str(), n.depth))
        .collect();
    assert_eq!(labels, [("outer", 1), ("load", 2), ("compute", 2)]);
    assert_eq!(stats.spans, 5);

    let outer = node(&stats, "outer");
    let load = node(&stats, "load");
    let compute = node(&stats, "compute");
    assert_eq!((outer.calls, load.calls, compute.calls), (1, 3, 1));
    assert_eq!(load.parent, Some(0));
    assert_eq!(load.path, "outer");
    assert!(load.total_ms >= 15.0, "{load:?}");
    assert!(
        load.idle_ms >= 14.0 && load.busy_ms < load.idle_ms,
        "{load:?}"
    );
    assert!(
        compute.busy_ms >= 4.0 && compute.idle_ms < 1.0,
        "{compute:?}"
    );
    assert!(outer.total_ms >= load.total_ms + compute.total_ms);
    let children = load.total_ms + compute.total_ms;
    assert!(
        (outer.self_ms - (outer.total_ms - children)).abs() < 1e-6,
        "{outer:?}"
    );

    // The icicle: children side by side inside their parent, widths as shares of the request.
    assert!(outer.x >= 0.0 && outer.x + outer.width <= 1.0 + 1e-9);
    assert!((load.x - outer.x).abs() < 1e-9);
    assert!((compute.x - (load.x + load.width)).abs() < 1e-9);
    assert!((load.width - load.total_ms / stats.request_ms).abs() < 1e-9);
    assert!(load.percent > 0.0 && outer.percent <= 100.0 + 1e-9);

    let record = stored_record(&toolbar, &id).await;
    let subtitle = record.panel("profiling").and_then(|p| p.subtitle.clone());
    let hottest = stats
        .nodes
        .iter()
        .max_by(|a, b| a.self_ms.total_cmp(&b.self_ms))
        .expect("nodes");
    assert_eq!(
        subtitle,
        Some(format!(
            "5 spans, hottest: {} {:.2} ms",
            hottest.label, hottest.self_ms
        ))
    );
}

async fn alpha() -> HttpResponse {
    async { actix_web::rt::time::sleep(Duration::from_millis(10)).await }
        .instrument(tracing::info_span!("alpha_work"))
        .await;
    page()
}

async fn beta() -> HttpResponse {
    async { actix_web::rt::time::sleep(Duration::from_millis(10)).await }
        .instrument(tracing::info_span!("beta_work"))
        .await;
    page()
}

#[actix_web::test]
async fn concurrent_requests_keep_their_own_spans() {
    init_tracing();
    let toolbar = DebugToolbar::new(config().build());
    let app = init_service(
        App::new()
            .wrap(toolbar.clone())
            .route("/alpha", web::get().to(alpha))
            .route("/beta", web::get().to(beta)),
    )
    .await;
    let (a, b) = futures_util::future::join(
        call_service(&app, get("/alpha").to_request()),
        call_service(&app, get("/beta").to_request()),
    )
    .await;
    for (res, own) in [(a, "alpha_work"), (b, "beta_work")] {
        let id = header(&res, "x-debug-toolbar-id").expect("served");
        let stats = stored_stats::<ProfilingPanel>(&toolbar, &id).await;
        let labels: Vec<&str> = stats.nodes.iter().map(|n| n.label.as_str()).collect();
        assert_eq!(labels, [own]);
    }
}

/// Renders 2 100 different templates (as the template wrapper's spans): as many tree nodes.
async fn many() -> HttpResponse {
    for i in 0..2100 {
        tracing::debug_span!("template.render", template.name = i).in_scope(|| ());
    }
    page()
}

#[actix_web::test]
async fn keeps_at_most_two_thousand_nodes_and_counts_the_rest() {
    let (toolbar, id, panel) = serve("/many", || Box::pin(many())).await;
    let stats = stored_stats::<ProfilingPanel>(&toolbar, &id).await;
    assert_eq!(stats.spans, 2100);
    assert_eq!(stats.nodes.len(), ProfilingPanel::MAX_NODES);
    assert_eq!(
        stats.nodes[1999].label, "template.render 1999",
        "the first ones are kept"
    );
    assert_eq!(stats.not_shown, 100);
    assert_eq!(stats.max_depth, 1);
    assert_contains(&panel, "100 more frames not shown");
}

async fn hostile() -> HttpResponse {
    tracing::info_span!(
        "template.render",
        template.name = "<script>alert(1)</script>"
    )
    .in_scope(|| ());
    page()
}

#[actix_web::test]
async fn flame_graph_and_table_escape_span_labels() {
    let (toolbar, id, panel) = serve("/hostile", || Box::pin(hostile())).await;
    let stats = stored_stats::<ProfilingPanel>(&toolbar, &id).await;
    assert_eq!(
        stats.nodes[0].label,
        "template.render <script>alert(1)</script>"
    );
    assert_lacks(&panel, "<script>alert(1)");
    assert_contains(
        &panel,
        "template.render &lt;script&gt;alert(1)&lt;/script&gt;",
    );
    assert_contains(&panel, "data-flamegraph");
    assert_contains(&panel, "<table class=\"dt-profile\" data-sortable>");
}

#[actix_web::test]
async fn a_request_without_spans_says_how_to_get_them() {
    let (toolbar, id, panel) = serve("/plain", || Box::pin(async { page() })).await;
    let stats = stored_stats::<ProfilingPanel>(&toolbar, &id).await;
    assert!(stats.nodes.is_empty());
    assert_contains(&panel, "#[tracing::instrument]");
}
