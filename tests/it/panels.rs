//! The typed panel system: dependency order, typed access, build errors, failures, escaping.

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use actix_debug_toolbar::panels::{
    LoggingPanel, RecordingTera, RequestPanel, RequestStats, SqlPanel, TemplatesPanel, TimerPanel,
};
use actix_debug_toolbar::{DebugToolbar, Panel, Problem, ProblemKind, StatsContext, Template};
use actix_web::http::StatusCode;
use actix_web::test::{call_service, init_service};
use actix_web::{App, HttpResponse, web};
use debug_toolbar_core::integration::{RecordOutcome, Toolbar};
use debug_toolbar_core::{
    BuildError, FinishedRequest, RecordId, Recording, RequestInfo, ResponseInfo, Timing,
};
use serde::{Deserialize, Serialize};

use crate::support::{
    assert_contains, assert_lacks, body_text, config, get, header, stored_record, stored_stats,
};

/// Reads the Timer panel's typed stats and doubles its total.
#[derive(Debug, Clone, Copy)]
struct DoubleTimePanel;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct DoubleTimeStats {
    saw_timer: bool,
    doubled_ms: f64,
}

impl Panel for DoubleTimePanel {
    type Stats = DoubleTimeStats;
    const ID: &'static str = "double-time";

    fn title(&self) -> Cow<'static, str> {
        "Double".into()
    }
    fn dependencies(&self) -> &'static [&'static str] {
        &[TimerPanel::ID]
    }
    fn generate_stats(&self, cx: &StatsContext<'_>) -> DoubleTimeStats {
        let timer = cx.stats::<TimerPanel>();
        DoubleTimeStats {
            saw_timer: timer.is_some(),
            doubled_ms: timer.map_or(0.0, |t| t.total_ms * 2.0),
        }
    }
    fn template(&self) -> Template {
        Template::new("panels/double-time.html", "{{ stats.doubled_ms }}")
    }
}

macro_rules! named_panel {
    ($ty:ident, $id:literal) => {
        #[derive(Debug, Clone, Copy)]
        struct $ty(&'static [&'static str]);
        impl Panel for $ty {
            type Stats = ();
            const ID: &'static str = $id;
            fn title(&self) -> Cow<'static, str> {
                $id.into()
            }
            fn dependencies(&self) -> &'static [&'static str] {
                self.0
            }
            fn generate_stats(&self, _: &StatsContext<'_>) {}
            fn template(&self) -> Template {
                Template::new(concat!("panels/", $id, ".html"), "")
            }
        }
    };
}

named_panel!(PanelA, "a");
named_panel!(PanelB, "b");
named_panel!(PanelC, "c");

/// What `toolbar` makes of `request`, answered `status` after `wall_ms` milliseconds, with
/// nothing recorded by the layer.
fn record_request(
    toolbar: &Toolbar,
    request: &RequestInfo,
    status: u16,
    wall_ms: u64,
) -> RecordOutcome {
    static STATE: std::sync::LazyLock<debug_toolbar_core::RequestState> =
        std::sync::LazyLock::new(Default::default);
    let response = ResponseInfo::new(status);
    let timing = Timing {
        started_at: SystemTime::now(),
        wall: Duration::from_millis(wall_ms),
        cpu: None,
    };
    let recording = Recording::default();
    toolbar.record(&FinishedRequest {
        id: RecordId::random().expect("random"),
        request,
        response: &response,
        timing: &timing,
        recording: &recording,
        state: &STATE,
        layer_attached: true,
    })
}

#[test]
fn panels_run_after_their_dependencies_then_by_id() {
    let toolbar = Toolbar::builder()
        .without_registered_panels()
        .panel(PanelA(&["c"]))
        .panel(PanelB(&[]))
        .panel(PanelC(&["b", "not-compiled-in"]))
        .build()
        .expect("builds");
    assert_eq!(toolbar.panel_ids(), ["b", "c", "a"]);
}

#[test]
fn a_dependency_cycle_is_a_clear_build_error() {
    let err = Toolbar::builder()
        .without_registered_panels()
        .panel(PanelA(&["b"]))
        .panel(PanelB(&["c"]))
        .panel(PanelC(&["a"]))
        .build()
        .expect_err("cycle");
    assert_eq!(
        err,
        BuildError::DependencyCycle(vec!["a".into(), "b".into(), "c".into()])
    );
    assert_contains(&err.to_string(), "cycle: a -> b -> c");
}

#[test]
fn duplicate_ids_are_a_build_error() {
    let err = Toolbar::builder()
        .without_registered_panels()
        .panel(PanelA(&[]))
        .panel(PanelA(&[]))
        .build()
        .expect_err("duplicate");
    assert_eq!(err, BuildError::DuplicatePanel("a".into()));
}

#[test]
fn a_panel_reads_the_typed_stats_of_the_panels_before_it() {
    let toolbar = Toolbar::builder()
        .without_registered_panels()
        .panel(DoubleTimePanel)
        .panel(TimerPanel)
        .build()
        .expect("builds");
    assert_eq!(toolbar.panel_ids(), ["timer", "double-time"]);
    let outcome = record_request(&toolbar, &RequestInfo::new("GET", "/"), 200, 21);
    let stats = outcome
        .record
        .stats::<DoubleTimePanel>()
        .expect("present")
        .expect("typed");
    assert_eq!(
        stats,
        DoubleTimeStats {
            saw_timer: true,
            doubled_ms: 42.0
        }
    );
}

#[actix_web::test]
async fn oversized_panels_are_dropped_with_a_note_to_fit_the_record_limit() {
    let mut settings = debug_toolbar_core::integration::ToolbarSettings::default();
    settings.max_record_bytes = 2_000;
    let toolbar = Toolbar::builder()
        .without_registered_panels()
        .panel(RequestPanel)
        .panel(TimerPanel)
        .settings(settings)
        .build()
        .expect("builds");
    let mut request = RequestInfo::new("GET", "/");
    request.query_string = "q=".to_owned() + &"x".repeat(5_000);
    let made = record_request(&toolbar, &request, 200, 1).record;
    let id = made.id;
    assert!(
        !made
            .panel("request")
            .expect("request panel")
            .stats
            .is_null(),
        "nothing is serialized or dropped while the request is recorded"
    );
    toolbar.store().save(made).await.expect("stored");
    // The record is settled when it is read.
    let record = toolbar.store().get(id).await.expect("read").expect("kept");
    let part = record.panel("request").expect("request panel");
    assert!(part.stats.is_null());
    assert_contains(
        part.note.as_deref().unwrap_or(""),
        "record limit of 2000 bytes",
    );
    assert!(record.stats::<RequestPanel>().is_none());
    assert!(record.stats::<TimerPanel>().is_some(), "small panels stay");
    assert!(serde_json::to_vec(&*record).expect("json").len() <= 2_000);
}

/// Panics on `/boom`.
#[derive(Debug, Clone, Copy)]
struct PanickingPanel;

impl Panel for PanickingPanel {
    type Stats = ();
    const ID: &'static str = "panicking";
    fn title(&self) -> Cow<'static, str> {
        "Panics".into()
    }
    fn generate_stats(&self, cx: &StatsContext<'_>) {
        assert!(cx.request().path != "/boom", "panel bug");
    }
    fn template(&self) -> Template {
        Template::new("panels/panicking.html", "")
    }
}

const PAGE: &str = "<html><body>page</body></html>";

#[actix_web::test]
async fn a_panicking_panel_is_set_aside_and_the_page_keeps_its_toolbar() {
    let toolbar = DebugToolbar::new(config().panel(PanickingPanel).build());
    let app = init_service(App::new().wrap(toolbar.clone()).route(
        "/{any:.*}",
        web::get().to(|| async { HttpResponse::Ok().content_type("text/html").body(PAGE) }),
    ))
    .await;
    let res = call_service(&app, get("/boom").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let id = header(&res, "x-debug-toolbar-id").expect("still served");
    let body = body_text(res).await;
    assert!(body.starts_with("<html><body>page"), "{body}");
    assert!(body.contains("debug-toolbar"), "the toolbar is still shown");
    let record = crate::support::stored_record(&toolbar, &id).await;
    let part = record.panel("panicking").expect("still listed");
    assert!(part.stats.is_null());
    assert!(
        part.note
            .as_deref()
            .is_some_and(|n| n.contains("panicked in generate_stats")),
        "{part:?}"
    );
    assert!(record.stats::<TimerPanel>().is_some(), "the rest recorded");
    let res = call_service(&app, get("/fine").to_request()).await;
    assert!(
        header(&res, "x-debug-toolbar-id").is_some(),
        "other requests still served"
    );
}

/// A panel whose title is hostile.
#[derive(Debug, Clone, Copy)]
struct HostileTitlePanel;

impl Panel for HostileTitlePanel {
    type Stats = String;
    const ID: &'static str = "hostile";
    fn title(&self) -> Cow<'static, str> {
        "<script>alert('title')</script>".into()
    }
    fn nav_subtitle(&self, stats: &String) -> Option<String> {
        Some(stats.clone())
    }
    fn generate_stats(&self, _: &StatsContext<'_>) -> String {
        "\"><img src=x onerror=alert('subtitle')>".to_owned()
    }
    fn template(&self) -> Template {
        Template::new("panels/hostile.html", "<p>{{ stats }}</p>")
    }
}

#[actix_web::test]
async fn hostile_strings_come_out_escaped() {
    let toolbar = DebugToolbar::new(config().panel(HostileTitlePanel).build());
    let app = init_service(App::new().wrap(toolbar.clone()).route(
        "/{any:.*}",
        web::get().to(|| async { HttpResponse::Ok().content_type("text/html").body(PAGE) }),
    ))
    .await;
    let req = get("/%3Cscript%3Ealert(1)%3C/script%3E?q=%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert(2)%3E&%3Cb%3E=1")
        .insert_header(("x-evil", "<script>alert(3)</script>"))
        .insert_header(("user-agent", "\"><svg onload=alert(4)>"))
        .insert_header(("cookie", "<i>=\"><script>alert(5)</script>"));
    let res = call_service(&app, req.to_request()).await;
    let id = header(&res, "x-debug-toolbar-id").expect("served");
    let page = body_text(res).await;
    assert_lacks(&page, "<script>alert('title')");
    assert_lacks(&page, "<img src=x onerror=alert('subtitle')");
    assert_contains(&page, "&lt;script&gt;alert(&#39;title&#39;)");

    let stats: RequestStats = stored_stats::<RequestPanel>(&toolbar, &id).await;
    assert_eq!(
        stats.query_params[0].value,
        "\"><img src=x onerror=alert(2)>"
    );
    for panel in ["request", "headers", "hostile"] {
        let uri = format!("/__debug_toolbar/panels/{id}/{panel}");
        let res = call_service(&app, get(&uri).to_request()).await;
        assert_eq!(res.status(), StatusCode::OK, "{panel}");
        let html = body_text(res).await;
        for raw in ["<script>alert", "<img src=x", "<svg onload", "<i>", "<b>"] {
            assert_lacks(&html, raw);
        }
    }
}

#[actix_web::test]
async fn secrets_are_masked_in_headers_cookies_and_parameters() {
    let toolbar = DebugToolbar::new(config().build());
    let app = init_service(App::new().wrap(toolbar.clone()).route(
        "/login",
        web::get().to(|| async { HttpResponse::Ok().content_type("text/html").body(PAGE) }),
    ))
    .await;
    let req = get("/login?user=ada&api_key=hunter2&password=hunter3")
        .insert_header(("authorization", "Bearer hunter4"))
        .insert_header(("x-auth-token", "hunter5"))
        .insert_header(("cookie", "sessionid=hunter6; theme=dark"));
    let res = call_service(&app, req.to_request()).await;
    let id = header(&res, "x-debug-toolbar-id").expect("served");
    let uri = format!("/__debug_toolbar/api/requests/{id}");
    let res = call_service(&app, get(&uri).to_request()).await;
    let json = body_text(res).await;
    for secret in ["hunter2", "hunter3", "hunter4", "hunter5", "hunter6"] {
        assert_lacks(&json, secret);
    }
    assert_contains(&json, "dark");
    assert_contains(&json, "ada");
    let stats: RequestStats = stored_stats::<RequestPanel>(&toolbar, &id).await;
    assert_eq!(
        stats.query_string,
        "user=ada&api_key=REDACTED&password=REDACTED"
    );
}

/// Keeps the incoming `x-trace` header at request start; shows it in its stats.
#[derive(Debug, Clone, Copy)]
struct StartPanel;

/// What [`StartPanel`] kept.
#[derive(Debug, Clone, PartialEq)]
struct Started(String);

impl Panel for StartPanel {
    type Stats = Option<String>;
    const ID: &'static str = "start";
    fn title(&self) -> Cow<'static, str> {
        "Start".into()
    }
    fn on_request(
        &self,
        head: &actix_debug_toolbar::RequestHead<'_>,
        state: &mut actix_debug_toolbar::RequestState,
    ) {
        state.insert(Started(format!(
            "{} {} {}",
            head.method,
            head.path,
            head.header("x-trace").unwrap_or("-")
        )));
    }
    fn generate_stats(&self, cx: &StatsContext<'_>) -> Option<String> {
        cx.state::<Started>().map(|s| s.0.clone())
    }
    fn template(&self) -> Template {
        Template::new("panels/start.html", "{{ stats }}")
    }
}

#[actix_web::test]
async fn state_kept_at_request_start_reaches_the_handler_and_the_stats() {
    let toolbar = DebugToolbar::new(config().panel(StartPanel).build());
    let app = init_service(App::new().wrap(toolbar.clone()).route(
        "/s",
        web::get().to(|req: actix_web::HttpRequest| async move {
            let state = actix_debug_toolbar::request_state(&req).expect("served request");
            let started = state.get::<Started>().expect("kept").0.clone();
            HttpResponse::Ok().body(started)
        }),
    ))
    .await;
    let res = call_service(
        &app,
        get("/s").insert_header(("x-trace", "t1")).to_request(),
    )
    .await;
    let id = header(&res, "x-debug-toolbar-id").expect("served");
    assert_eq!(body_text(res).await, "GET /s t1");
    let stats = stored_stats::<StartPanel>(&toolbar, &id).await;
    assert_eq!(stats.as_deref(), Some("GET /s t1"));
}

#[actix_web::test]
async fn the_browser_switches_panels_on_and_off_over_the_configured_ones() {
    let toolbar = DebugToolbar::new(config().disabled_panels(["headers"]).build());
    let app = init_service(App::new().wrap(toolbar.clone()).route(
        "/",
        web::get().to(|| async { HttpResponse::Ok().content_type("text/html").body(PAGE) }),
    ))
    .await;
    let switched_off = |record: &actix_debug_toolbar::RequestRecord| {
        record
            .panels
            .iter()
            .filter(|p| p.switched_off)
            .map(|p| p.id.clone())
            .collect::<Vec<_>>()
    };

    let res = call_service(&app, get("/").to_request()).await;
    let id = header(&res, "x-debug-toolbar-id").expect("served");
    let page = body_text(res).await;
    assert_contains(
        &page,
        r#"<input type="checkbox" class="dt-panel-switch" data-panel-id="headers" aria-label="Record Headers from the next request on">"#,
    );
    assert_contains(
        &page,
        r#"data-panel-id="request" aria-label="Record Request from the next request on" checked>"#,
    );
    let record = stored_record(&toolbar, &id).await;
    assert_eq!(switched_off(&record), ["headers"], "as configured");

    let res = call_service(
        &app,
        get("/")
            .insert_header((
                "cookie",
                "a=1; debug-toolbar-panels=+headers|-request|-nonesuch|junk|-",
            ))
            .to_request(),
    )
    .await;
    let id = header(&res, "x-debug-toolbar-id").expect("served");
    let record = stored_record(&toolbar, &id).await;
    assert_eq!(switched_off(&record), ["request"], "as the browser asked");
    let request = record.panel("request").expect("listed");
    assert!(request.stats.is_null());
    assert_contains(request.note.as_deref().unwrap_or(""), "switched off");
    assert!(!record.panel("headers").expect("listed").stats.is_null());
}

/// What the `/cart` handler hands over.
#[derive(Debug)]
struct Cart(Vec<&'static str>);

/// Shows what the handler handed over; deliberately not `Clone`.
#[derive(Debug)]
struct CartPanel {
    label: String,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct CartStats {
    label: String,
    items: Option<Vec<String>>,
}

impl Panel for CartPanel {
    type Stats = CartStats;
    const ID: &'static str = "cart";
    fn title(&self) -> Cow<'static, str> {
        "Cart".into()
    }
    fn generate_stats(&self, cx: &StatsContext<'_>) -> CartStats {
        CartStats {
            label: self.label.clone(),
            items: cx
                .handed::<Cart>()
                .map(|cart| cart.0.iter().map(|i| (*i).to_owned()).collect()),
        }
    }
    fn template(&self) -> Template {
        Template::new("panels/cart.html", "{{ stats.label }}")
    }
}

#[actix_web::test]
async fn a_handler_hands_typed_data_to_a_panel_of_its_request() {
    let toolbar = DebugToolbar::new(
        config()
            .panel(CartPanel {
                label: "configured".to_owned(),
            })
            .build(),
    );
    let app = init_service(
        App::new()
            .wrap(toolbar.clone())
            .route(
                "/cart",
                web::get().to(|req: actix_web::HttpRequest| async move {
                    assert!(actix_debug_toolbar::hand_over(&req, Cart(vec!["tea"])));
                    // A later value of the same type replaces the first.
                    actix_debug_toolbar::hand_over(&req, Cart(vec!["tea", "milk"]));
                    HttpResponse::Ok().content_type("text/html").body(PAGE)
                }),
            )
            .route(
                "/other",
                web::get().to(|| async { HttpResponse::Ok().content_type("text/html").body(PAGE) }),
            ),
    )
    .await;
    let res = call_service(&app, get("/cart").to_request()).await;
    let id = header(&res, "x-debug-toolbar-id").expect("served");
    let stats: CartStats = stored_stats::<CartPanel>(&toolbar, &id).await;
    assert_eq!(
        stats,
        CartStats {
            label: "configured".to_owned(),
            items: Some(vec!["tea".to_owned(), "milk".to_owned()]),
        }
    );
    let res = call_service(&app, get("/other").to_request()).await;
    let id = header(&res, "x-debug-toolbar-id").expect("served");
    let stats: CartStats = stored_stats::<CartPanel>(&toolbar, &id).await;
    assert_eq!(stats.items, None, "nothing handed over to another request");
}

#[actix_web::test]
async fn a_handler_outside_a_served_request_hands_over_nothing() {
    let app = init_service(
        App::new()
            .wrap(DebugToolbar::new(config().enabled(false).build()))
            .route(
                "/cart",
                web::get().to(|req: actix_web::HttpRequest| async move {
                    let kept = actix_debug_toolbar::hand_over(&req, Cart(vec!["tea"]));
                    HttpResponse::Ok().body(kept.to_string())
                }),
            ),
    )
    .await;
    let res = call_service(&app, get("/cart").to_request()).await;
    assert_eq!(body_text(res).await, "false");
}

/// The ids of the panels in the record of one request through `toolbar`, in order.
async fn listed_panels(toolbar: &DebugToolbar) -> Vec<String> {
    let app = init_service(App::new().wrap(toolbar.clone()).route(
        "/",
        web::get().to(|| async { HttpResponse::Ok().content_type("text/html").body(PAGE) }),
    ))
    .await;
    let res = call_service(&app, get("/").to_request()).await;
    let id = header(&res, "x-debug-toolbar-id").expect("served");
    let record = stored_record(toolbar, &id).await;
    assert!(
        record
            .stats::<DoubleTimePanel>()
            .and_then(Result::ok)
            .is_some_and(|s| s.saw_timer),
        "still runs after the timer it depends on"
    );
    record.panels.iter().map(|p| p.id.to_string()).collect()
}

#[actix_web::test]
async fn panels_are_listed_in_the_configured_order_and_the_rest_follow() {
    let default = listed_panels(&DebugToolbar::new(config().panel(DoubleTimePanel).build())).await;
    let ordered = listed_panels(&DebugToolbar::new(
        config()
            .panel(DoubleTimePanel)
            .panel_order(["double-time", "response", "no-such-panel", "timer"])
            .build(),
    ))
    .await;
    assert_eq!(
        ordered[..3],
        ["double-time", "response", "timer"],
        "{ordered:?}"
    );
    let rest: Vec<&String> = default
        .iter()
        .filter(|id| !["double-time", "response", "timer"].contains(&id.as_str()))
        .collect();
    assert_eq!(
        ordered[3..].iter().collect::<Vec<_>>(),
        rest,
        "the others keep the order they run in"
    );
}

/// Remembers, in `on_record`, which panels the record it was given holds.
#[derive(Debug, Clone, Default)]
struct WatchesRecordPanel {
    seen: std::sync::Arc<std::sync::Mutex<Vec<Vec<String>>>>,
}

impl Panel for WatchesRecordPanel {
    type Stats = u32;
    const ID: &'static str = "a-watcher";
    fn title(&self) -> Cow<'static, str> {
        "Watches".into()
    }
    fn generate_stats(&self, _: &StatsContext<'_>) -> u32 {
        7
    }
    fn template(&self) -> Template {
        Template::new("panels/watches.html", "")
    }
    fn on_record(
        &self,
        stats: &u32,
        record: &debug_toolbar_core::RequestRecord,
        _: &FinishedRequest<'_>,
    ) {
        let mut ids: Vec<String> = record.panels.iter().map(|p| p.id.to_string()).collect();
        ids.push(stats.to_string());
        self.seen.lock().expect("not poisoned").push(ids);
    }
}

#[test]
fn on_record_runs_once_with_the_complete_record() {
    let watcher = WatchesRecordPanel::default();
    let seen = watcher.seen.clone();
    let toolbar = Toolbar::builder()
        .without_registered_panels()
        // Runs first (ids sort), yet its on_record sees the Timer panel's part too.
        .panel(watcher)
        .panel(TimerPanel)
        .build()
        .expect("builds");
    record_request(&toolbar, &RequestInfo::new("GET", "/"), 200, 3);
    assert_eq!(
        *seen.lock().expect("not poisoned"),
        [["a-watcher", "timer", "7"]]
    );
}

/// Checks, inside a real request, that the keys the SQL, Logging and Templates panels publish
/// point at the recorded events and spans they came from: the one-way flow other panels (the
/// OpenTelemetry converter) build on.
#[derive(Debug, Clone, Copy)]
struct PublishedKeysPanel;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct PublishedKeysStats {
    /// Each published key, as `what -> what it points at`.
    checked: Vec<String>,
}

impl Panel for PublishedKeysPanel {
    type Stats = PublishedKeysStats;
    const ID: &'static str = "test-published-keys";

    fn title(&self) -> Cow<'static, str> {
        "Published keys".into()
    }

    fn dependencies(&self) -> &'static [&'static str] {
        &[SqlPanel::ID, LoggingPanel::ID, TemplatesPanel::ID]
    }

    fn generate_stats(&self, cx: &StatsContext<'_>) -> PublishedKeysStats {
        let recording = cx.recording();
        let message = |index: usize, field: &str| {
            recording
                .events
                .get(index)
                .and_then(|e| e.field(field))
                .map(|v| v.to_text())
                .unwrap_or_else(|| "(nothing)".to_owned())
        };
        let mut checked = Vec::new();
        for q in cx.stats::<SqlPanel>().map_or(&[][..], |s| &s.queries[..]) {
            let target = recording
                .events
                .get(q.event_index)
                .map_or("(nothing)", |e| e.metadata.target());
            checked.push(format!(
                "query {} in {:?} -> {target}: {}",
                q.sql,
                q.collection,
                message(q.event_index, "db.statement").trim()
            ));
        }
        for r in cx
            .stats::<LoggingPanel>()
            .map_or(&[][..], |s| &s.records[..])
        {
            checked.push(format!(
                "log {} at {:?}:{:?} -> {}",
                r.message,
                r.file.as_deref().map(|f| f.ends_with("panels.rs")),
                r.line.is_some(),
                message(r.event_index, "message")
            ));
        }
        for t in cx
            .stats::<TemplatesPanel>()
            .map_or(&[][..], |s| &s.renders[..])
        {
            let span = recording
                .spans
                .get(t.span_index)
                .map_or("(nothing)", |s| s.metadata.name());
            checked.push(format!("render {} -> {span}", t.name));
        }
        PublishedKeysStats { checked }
    }

    fn template(&self) -> Template {
        Template::new(
            "panels/test-published-keys.html",
            "{{ stats.checked | length }}",
        )
    }
}

async fn query_log_render(
    pool: web::Data<sqlx::SqlitePool>,
    tera: web::Data<RecordingTera>,
) -> HttpResponse {
    tracing::info!("before the query");
    sqlx::query("SELECT name FROM items WHERE id = 1")
        .fetch_all(pool.get_ref())
        .await
        .expect("query");
    tracing::warn!("after the query");
    let page = tera
        .render("page.html", &tera::Context::new())
        .expect("render");
    HttpResponse::Ok().content_type("text/html").body(page)
}

#[actix_web::test]
async fn published_keys_point_at_the_events_and_spans_they_came_from() {
    crate::support::init_tracing();
    let pool = crate::sql::sqlite().await;
    let mut tera = RecordingTera::new(tera::Tera::new());
    tera.add_raw_template("page.html", "<html><body>hi</body></html>")
        .expect("template parses");
    let toolbar = DebugToolbar::new(
        config()
            .panel(SqlPanel::new().with_sqlite(pool.clone()))
            .panel(PublishedKeysPanel)
            .build(),
    );
    let app = init_service(
        App::new()
            .wrap(toolbar.clone())
            .app_data(web::Data::new(pool))
            .app_data(web::Data::new(tera))
            .route("/", web::get().to(query_log_render)),
    )
    .await;
    let res = call_service(&app, get("/").to_request()).await;
    let id = header(&res, "x-debug-toolbar-id").expect("served");
    let stats = stored_stats::<PublishedKeysPanel>(&toolbar, &id).await;
    assert_eq!(
        stats.checked,
        [
            "query SELECT name FROM items WHERE id = 1 in Some(\"items\") -> sqlx::query: \
             SELECT name FROM items WHERE id = 1",
            "log before the query at Some(true):true -> before the query",
            "log after the query at Some(true):true -> after the query",
            "render page.html -> template.render",
        ]
    );
}

/// Reports one problem per request, or panics in its `problems` hook.
#[derive(Debug)]
struct ProblemPanel {
    panics: bool,
}

impl Panel for ProblemPanel {
    type Stats = u32;
    const ID: &'static str = "problem";

    fn title(&self) -> Cow<'static, str> {
        "Problem".into()
    }
    fn generate_stats(&self, _: &StatsContext<'_>) -> u32 {
        3
    }
    fn template(&self) -> Template {
        Template::new("panels/problem.html", "{{ stats }}")
    }
    fn problems(&self, stats: &u32) -> Vec<Problem> {
        assert!(!self.panics, "a problems hook that panics");
        vec![Problem::new(ProblemKind::Other, "three").with_count(*stats as usize)]
    }
}

#[test]
fn problems_come_from_the_panels_and_a_5xx_and_a_failing_hook_is_skipped() {
    let request = RequestInfo::new("GET", "/broken");
    for (panics, expected) in [
        (false, vec!["server_error", "other"]),
        (true, vec!["server_error"]),
    ] {
        let toolbar = Toolbar::builder()
            .without_registered_panels()
            .panel(ProblemPanel { panics })
            .build()
            .expect("builds");
        let outcome = record_request(&toolbar, &request, 503, 1);
        let problems = toolbar.problems(&outcome.record);
        let kinds: Vec<&str> = problems.iter().map(|p| p.kind.as_str()).collect();
        assert_eq!(kinds, expected, "panics: {panics}");
        assert_eq!(problems[0].panel, "response");
        assert_eq!(problems[0].message, "GET /broken answered 503");
        if let Some(other) = problems.get(1) {
            assert_eq!((other.panel.as_str(), other.count), ("problem", 3));
        }
    }
}

#[test]
fn the_versions_panel_is_worked_out_once_and_follows_the_toolbar_it_serves() {
    use actix_debug_toolbar::panels::VersionsPanel;
    use debug_toolbar_core::integration::{ToolbarSettings, shared_panel};
    let panel = std::sync::Arc::new(VersionsPanel::default());
    let toolbar_of = |app: &str| {
        let mut settings = ToolbarSettings::default();
        settings.app.app = Some((app.to_owned(), "1.0.0".to_owned()));
        Toolbar::builder()
            .without_registered_panels()
            .boxed_panel(shared_panel(panel.clone()))
            .settings(settings)
            .build()
            .expect("builds")
    };
    let request = RequestInfo::new("GET", "/");
    let first_app = |toolbar: &Toolbar| {
        let stats = record_request(toolbar, &request, 200, 1)
            .record
            .stats::<VersionsPanel>()
            .expect("recorded")
            .expect("typed");
        stats.entries[0].name.clone()
    };
    let (shop, blog) = (toolbar_of("shop"), toolbar_of("blog"));
    assert_eq!(first_app(&shop), "shop");
    assert_eq!(first_app(&shop), "shop");
    assert_eq!(first_app(&blog), "blog", "one panel, another toolbar");
    assert_eq!(first_app(&shop), "shop");
}
