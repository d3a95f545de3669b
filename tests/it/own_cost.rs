//! The toolbar's own cost, through real requests: a `Server-Timing` entry of its own and the
//! Timer panel, apart from the application's time.

use actix_debug_toolbar::DebugToolbar;
use actix_debug_toolbar::core::Spent;
use actix_web::test::{call_service, init_service};
use actix_web::{App, HttpResponse, web};

use crate::support::{
    assert_contains, body_text, config, get, header, init_tracing, panel_uri, stored_record,
};

/// The routes: an HTML page and a plain-text answer, each logging one line.
fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/page",
        web::get().to(|| async {
            tracing::info!("rendering the page");
            HttpResponse::Ok()
                .content_type("text/html; charset=utf-8")
                .body("<!doctype html><html><body><p>A page.</p></body></html>")
        }),
    )
    .route(
        "/plain",
        web::get().to(|| async {
            tracing::info!("answering in plain text");
            HttpResponse::Ok().content_type("text/plain").body("plain")
        }),
    );
}

/// The duration of the `toolbar` entry among the response's `Server-Timing` headers.
fn own_entry<B>(res: &actix_web::dev::ServiceResponse<B>) -> f64 {
    let entries: Vec<String> = res
        .headers()
        .get_all("server-timing")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(", ").map(str::to_owned).collect::<Vec<_>>())
        .collect();
    let own = entries
        .iter()
        .find_map(|e| e.strip_prefix("toolbar;dur="))
        .unwrap_or_else(|| panic!("no toolbar entry in {entries:?}"));
    let (duration, description) = own.split_once(';').expect("a description");
    assert_eq!(description, "desc=\"Debug toolbar (own time)\"");
    duration.parse().expect("a duration")
}

/// As the Timer panel's template shows a number of milliseconds.
fn shown(ms: f64) -> String {
    format!("{:?} ms", (ms * 1000.0).round() / 1000.0)
}

#[actix_web::test]
async fn a_served_page_shows_what_the_toolbar_itself_spent_part_by_part() {
    init_tracing();
    let toolbar = DebugToolbar::new(config().build());
    let app = init_service(App::new().wrap(toolbar.clone()).configure(routes)).await;
    let res = call_service(&app, get("/page").to_request()).await;
    let id = header(&res, "x-debug-toolbar-id").expect("served");
    let announced = own_entry(&res);
    assert_contains(&body_text(res).await, "id=\"debug-toolbar\"");

    let record = stored_record(&toolbar, &id).await;
    let cost = record.toolbar;
    assert!(
        cost.recording_ms > 0.0,
        "the log line was recorded: {cost:?}"
    );
    for (part, spent) in [
        ("stats", cost.stats),
        ("render", cost.render),
        ("injection", cost.injection),
    ] {
        assert!(spent.wall_ms > 0.0, "{part}: {cost:?}");
        if cfg!(target_os = "linux") {
            assert!(spent.cpu_ms.is_some(), "{part}: {cost:?}");
        }
    }
    assert!(
        (cost.total().wall_ms - announced).abs() < 0.001,
        "Server-Timing says {announced} ms, the record {cost:?}"
    );

    let res = call_service(&app, get(&panel_uri(&id, "timer")).to_request()).await;
    let timer = body_text(res).await;
    assert_contains(&timer, "The toolbar's own cost");
    assert_contains(&timer, &shown(cost.recording_ms));
    assert_contains(&timer, &shown(cost.stats.wall_ms));
    assert_contains(&timer, &shown(cost.render.wall_ms));
    assert_contains(&timer, &shown(cost.injection.wall_ms));
    assert_contains(&timer, &shown(cost.total().wall_ms));
}

#[actix_web::test]
async fn a_response_without_the_toolbar_costs_neither_render_nor_injection() {
    init_tracing();
    let toolbar = DebugToolbar::new(config().build());
    let app = init_service(App::new().wrap(toolbar.clone()).configure(routes)).await;
    let res = call_service(&app, get("/plain").to_request()).await;
    let id = header(&res, "x-debug-toolbar-id").expect("served");
    let announced = own_entry(&res);
    assert_eq!(body_text(res).await, "plain");

    let cost = stored_record(&toolbar, &id).await.toolbar;
    assert!(cost.stats.wall_ms > 0.0, "{cost:?}");
    assert_eq!(cost.render, Spent::default());
    assert_eq!(cost.injection, Spent::default());
    assert!((cost.total().wall_ms - announced).abs() < 0.001);
}
