//! The Templates panel: renders through the Tera 2 and Tera 1 wrappers, their context, time
//! and parents, and how the panel shows them.

use std::sync::Arc;

use actix_debug_toolbar::DebugToolbar;
use actix_debug_toolbar::panels::{RecordingTera, RecordingTera1, TemplatesPanel, TemplatesStats};
use actix_web::test::{call_service, init_service};
use actix_web::{App, HttpResponse, web};

use crate::support::{
    assert_contains, assert_lacks, body_text, config, get, header, init_tracing, panel_uri,
    stored_record, stored_stats,
};

const BASE: &str = "<html><body>{% block content %}{% endblock content %}</body></html>";
const PAGE: &str = r#"{% extends "base.html" %}{% block content %}<h1>{{ title }}</h1>{% if api_token %}signed in{% endif %}<p>{{ user.name }} {{ big | length }}</p>{% include "part.html" %}{% endblock content %}"#;
const PART: &str = "<footer>{{ footer }}</footer>";

fn tera2() -> RecordingTera {
    let mut tera = RecordingTera::new(tera::Tera::new());
    tera.add_raw_templates([
        ("base.html", BASE),
        ("page.html", PAGE),
        ("part.html", PART),
    ])
    .expect("templates parse");
    tera
}

fn tera1() -> RecordingTera1 {
    let mut tera = RecordingTera1::default();
    tera.add_raw_templates([
        ("base.html", BASE),
        ("page.html", PAGE),
        ("part.html", PART),
    ])
    .expect("templates parse");
    tera
}

/// The values every render gets: a hostile title, secrets at the top and nested, a long value.
fn values() -> serde_json::Value {
    serde_json::json!({
        "title": "<script>alert(1)</script>",
        "api_token": "hunter2",
        "user": { "name": "Ada", "password": "hunter3" },
        "big": "x".repeat(5000),
        "footer": "made with tera",
        "unused": "not in the template",
    })
}

fn html(body: String) -> HttpResponse {
    HttpResponse::Ok().content_type("text/html").body(body)
}

/// The line of `tera2_page` that renders page.html.
const PAGE_RENDERED_AT: u32 = line!() + 5;

/// Renders page.html, then part.html on its own.
async fn tera2_page(tera: web::Data<RecordingTera>) -> HttpResponse {
    let context = tera::Context::from_serialize(&values()).expect("context");
    let page = tera.render("page.html", &context).expect("page renders");
    let part = tera.render("part.html", &context).expect("part renders");
    html(page.replace("</body>", &format!("{part}</body>")))
}

async fn tera1_page(tera: web::Data<RecordingTera1>) -> HttpResponse {
    let context = tera1::Context::from_serialize(values()).expect("context");
    html(tera.render("page.html", &context).expect("page renders"))
}

async fn missing(tera: web::Data<RecordingTera>) -> HttpResponse {
    let error = tera
        .render("nope.html", &tera::Context::new())
        .expect_err("no such template");
    html(format!(
        "<html><body>{}</body></html>",
        error.to_string().len()
    ))
}

async fn serve(path: &str) -> (DebugToolbar, String, String) {
    init_tracing();
    let toolbar = DebugToolbar::new(config().build());
    let app = init_service(
        App::new()
            .wrap(toolbar.clone())
            .app_data(web::Data::from(Arc::new(tera2())))
            .app_data(web::Data::from(Arc::new(tera1())))
            .route("/tera2", web::get().to(tera2_page))
            .route("/tera1", web::get().to(tera1_page))
            .route("/missing", web::get().to(missing)),
    )
    .await;
    let res = call_service(&app, get(path).to_request()).await;
    let id = header(&res, "x-debug-toolbar-id").expect("served");
    let res = call_service(&app, get(&panel_uri(&id, "templates")).to_request()).await;
    let panel = body_text(res).await;
    (toolbar, id, panel)
}

fn variable<'a>(stats: &'a TemplatesStats, render: usize, name: &str) -> &'a str {
    stats.renders[render]
        .context
        .iter()
        .find(|v| v.name == name)
        .map(|v| v.value.as_str())
        .unwrap_or_else(|| panic!("no variable {name}: {:?}", stats.renders[render]))
}

#[actix_web::test]
async fn tera2_renders_are_recorded_with_time_and_the_context_they_use() {
    let (toolbar, id, _) = serve("/tera2").await;
    let stats: TemplatesStats = stored_stats::<TemplatesPanel>(&toolbar, &id).await;
    let names: Vec<&str> = stats.renders.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["page.html", "part.html"], "in the order they ran");
    assert_eq!((stats.count, stats.not_shown), (2, 0));

    let page = &stats.renders[0];
    assert_eq!(page.engine, "tera 2");
    assert_eq!(
        (page.file.as_deref(), page.line),
        (Some(file!()), Some(PAGE_RENDERED_AT)),
        "the application's call site, not the toolbar's"
    );
    assert_eq!(page.depth, 0);
    assert!(page.duration_ms > 0.0);
    assert!(page.error.is_none());
    assert_eq!(page.parents, None, "Tera 2 does not tell");
    let variables: Vec<&str> = page.context.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(
        variables,
        ["api_token", "big", "footer", "title", "user"],
        "the variables page.html, its parent and its include use, sorted"
    );
    assert!(
        page.context
            .iter()
            .find(|v| v.name == "api_token")
            .is_some_and(|v| v.masked)
    );
    assert_eq!(variable(&stats, 0, "api_token"), "********");
    assert_contains(variable(&stats, 0, "user"), "\"name\": \"Ada\"");
    assert_contains(variable(&stats, 0, "user"), "\"password\": \"********\"");
    let big = page.context.iter().find(|v| v.name == "big").expect("big");
    assert!(big.cut && big.bytes == 5002, "{big:?}");
    assert!(big.value.len() < 2100, "cut to about 2 KiB");

    let part = &stats.renders[1];
    let variables: Vec<&str> = part.context.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(variables, ["footer"]);

    let total = page.duration_ms + part.duration_ms;
    assert!((stats.total_ms - total).abs() < 1e-9, "{stats:?}");
    let record = stored_record(&toolbar, &id).await;
    let subtitle = record.panel("templates").and_then(|p| p.subtitle.clone());
    assert_eq!(subtitle, Some(format!("2 renders, {total:.2} ms")));
    let json = serde_json::to_string(&*record).expect("json");
    assert_lacks(&json, "hunter2");
    assert_lacks(&json, "hunter3");
}

#[actix_web::test]
async fn tera1_renders_report_parents_includes_and_every_context_key() {
    let (toolbar, id, _) = serve("/tera1").await;
    let stats = stored_stats::<TemplatesPanel>(&toolbar, &id).await;
    assert_eq!(stats.renders.len(), 1);
    let page = &stats.renders[0];
    assert_eq!(page.file.as_deref(), Some(file!()));
    assert_eq!(
        (page.name.as_str(), page.engine.as_str()),
        ("page.html", "tera 1")
    );
    assert_eq!(page.parents.as_deref(), Some(&["base.html".to_owned()][..]));
    assert_eq!(
        page.includes.as_deref(),
        Some(&["part.html".to_owned()][..])
    );
    let variables: Vec<&str> = page.context.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(
        variables,
        ["api_token", "big", "footer", "title", "unused", "user"]
    );
    assert_eq!(variable(&stats, 0, "unused"), "\"not in the template\"");
    assert_eq!(variable(&stats, 0, "api_token"), "********");
    assert_contains(variable(&stats, 0, "user"), "\"password\": \"********\"");
}

#[actix_web::test]
async fn a_failed_render_is_recorded_with_its_error() {
    let (toolbar, id, panel) = serve("/missing").await;
    let stats = stored_stats::<TemplatesPanel>(&toolbar, &id).await;
    assert_eq!(stats.renders.len(), 1);
    assert_contains(stats.renders[0].error.as_deref().unwrap_or(""), "nope.html");
    assert_contains(&panel, "Render failed");
    let record = stored_record(&toolbar, &id).await;
    let badge = record.panel("templates").and_then(|p| p.badge.clone());
    assert_eq!(badge.map(|b| b.text), Some("1 render failed".to_owned()));
}

#[actix_web::test]
async fn context_values_come_out_escaped() {
    let (_, _, panel) = serve("/tera2").await;
    assert_lacks(&panel, "<script>alert(1)");
    assert_contains(&panel, "&quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;");
    assert_contains(&panel, "<code class=\"dt-render-name\">page.html</code>");
    assert_contains(&panel, "Cut: 5002 bytes in all.");
    assert_contains(&panel, "not reported by tera 2");
}

#[test]
fn renders_outside_a_request_work_as_usual() {
    let tera = tera2();
    let context = tera::Context::from_serialize(&values()).expect("context");
    let page = tera.render("part.html", &context).expect("renders");
    assert_eq!(page, "<footer>made with tera</footer>");
}
