//! CPU sampling in the Profiling panel (feature `profiling-cpu`): a request with the cookie is
//! sampled, one without is not, one that starts while another is sampled says so, and frame
//! names come out escaped.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_debug_toolbar::panels::{CpuProfile, CpuStatus, ProfilingPanel};
use actix_debug_toolbar::{DebugToolbar, RequestRecord};
use actix_web::test::{call_service, init_service};
use actix_web::{App, HttpResponse, web};

use crate::support::{
    assert_contains, assert_lacks, body_text, config, get, header, init_tracing, panel_uri,
    stored_record, stored_stats,
};

/// The profiler is process-wide: the tests that sample take turns.
static SAMPLING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const COOKIE: &str = "debug-toolbar-cpu=1";

/// Keeps the CPU busy for `time` of wall time, mostly in this function's own code.
#[inline(never)]
fn burn_cpu_for_the_toolbar(time: Duration) -> u64 {
    let start = Instant::now();
    let mut x = 1_u64;
    while start.elapsed() < time {
        for _ in 0..100_000 {
            // xorshift: operators only, no calls, also unoptimised.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
        x = black_box(x);
    }
    x
}

async fn burn() -> HttpResponse {
    let x = burn_cpu_for_the_toolbar(Duration::from_millis(100));
    HttpResponse::Ok()
        .content_type("text/html")
        .body(format!("<html><body>burnt {x}</body></html>"))
}

/// Serves `handler` once, with `cookie` as the `Cookie` header's last pair, and returns the
/// request's CPU profile, its record and the Profiling panel's HTML.
async fn serve(
    handler: fn() -> HandlerFuture,
    cookie: Option<&str>,
) -> (CpuProfile, Arc<RequestRecord>, String) {
    init_tracing();
    let toolbar = DebugToolbar::new(config().build());
    let app = init_service(
        App::new()
            .wrap(toolbar.clone())
            .route("/work", web::get().to(handler)),
    )
    .await;
    let mut req = get("/work");
    if let Some(cookie) = cookie {
        req = req.insert_header(("cookie", format!("theme=dark; {cookie}")));
    }
    let res = call_service(&app, req.to_request()).await;
    let id = header(&res, "x-debug-toolbar-id").expect("served");
    let stats = stored_stats::<ProfilingPanel>(&toolbar, &id).await;
    let res = call_service(&app, get(&panel_uri(&id, "profiling")).to_request()).await;
    let cpu = stats.cpu.expect("feature profiling-cpu is on");
    (
        cpu,
        stored_record(&toolbar, &id).await,
        body_text(res).await,
    )
}

type HandlerFuture = std::pin::Pin<Box<dyn std::future::Future<Output = HttpResponse>>>;

#[track_caller]
fn assert_sampled_in(cpu: &CpuProfile, function: &str) {
    assert_eq!(cpu.status, CpuStatus::Sampled);
    assert!(
        cpu.nodes
            .iter()
            .any(|n| n.name.ends_with(function) && n.samples > 0),
        "no samples in {function}: {:#?}",
        cpu.nodes
    );
}

#[actix_web::test]
async fn a_request_with_the_cookie_is_sampled_down_to_the_handler() {
    let _turn = SAMPLING.lock().await;
    let (cpu, record, panel) = serve(|| Box::pin(burn()), Some(COOKIE)).await;
    assert_sampled_in(&cpu, "profiling_cpu::burn_cpu_for_the_toolbar");
    assert_eq!(cpu.cookie, ProfilingPanel::CPU_COOKIE);
    assert_eq!(cpu.frequency_hz, 997);
    assert!(cpu.duration_ms >= 100.0, "{}", cpu.duration_ms);
    let total: u64 = cpu
        .nodes
        .iter()
        .filter(|n| n.depth == 1)
        .map(|n| n.samples)
        .sum();
    assert_eq!(total, cpu.samples, "every sample is under its thread");
    for n in &cpu.nodes {
        assert!(n.x >= 0.0 && n.x + n.width <= 1.0 + 1e-9, "{n:?}");
        assert!(n.self_samples <= n.samples, "{n:?}");
    }

    // The sampler's own frames are cut off: the interrupted code is the leaf.
    assert!(
        cpu.nodes
            .iter()
            .all(|n| !n.name.contains("perf_signal_handler") && !n.name.starts_with("pprof::")),
        "{:#?}",
        cpu.nodes
    );
    let hot = cpu
        .top
        .iter()
        .find(|f| f.name.ends_with("profiling_cpu::burn_cpu_for_the_toolbar"))
        .expect("the burning function is among the top frames");
    assert_eq!(hot.label, "profiling_cpu::burn_cpu_for_the_toolbar");
    assert!(hot.self_samples > 0 && hot.self_percent > 0.0, "{hot:?}");
    assert!(hot.total_samples >= hot.self_samples, "{hot:?}");

    let subtitle = record.panel("profiling").and_then(|p| p.subtitle.clone());
    assert!(
        subtitle
            .as_deref()
            .is_some_and(|s| s.ends_with(&format!(", {} CPU samples", cpu.samples))),
        "{subtitle:?}"
    );
    assert_contains(&panel, "<h3>CPU samples (");
    assert_contains(&panel, ">profiling_cpu::burn_cpu_for_the_toolbar</text>");
    assert_contains(&panel, "<h3>Hottest functions (CPU samples)</h3>");
    assert_contains(
        &panel,
        "data-cookie-toggle=\"debug-toolbar-cpu\" aria-pressed=\"true\"",
    );
}

#[actix_web::test]
async fn a_request_without_the_cookie_is_not_sampled() {
    for cookie in [
        None,
        Some("debug-toolbar-cpu=0"),
        Some("x-debug-toolbar-cpu=1"),
    ] {
        let (cpu, record, panel) = serve(|| Box::pin(burn()), cookie).await;
        assert_eq!(cpu.status, CpuStatus::Off, "{cookie:?}");
        assert_eq!((cpu.samples, cpu.nodes.len(), cpu.top.len()), (0, 0, 0));
        let subtitle = record.panel("profiling").and_then(|p| p.subtitle.clone());
        assert_eq!(subtitle.as_deref(), Some("0 spans"));
        assert_contains(&panel, "This request was not sampled.");
        assert_contains(
            &panel,
            "<button type=\"button\" class=\"dt-toggle\" data-cookie-toggle=\"debug-toolbar-cpu\" aria-pressed=\"false\">Sample CPU on next load</button>",
        );
        assert_lacks(&panel, "Hottest functions");
    }
}

/// Burns a little, then waits, so that a second request starts while this one is sampled.
async fn burn_then_wait() -> HttpResponse {
    let x = burn_cpu_for_the_toolbar(Duration::from_millis(5));
    actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    HttpResponse::Ok()
        .content_type("text/html")
        .body(format!("<html><body>{x}</body></html>"))
}

#[actix_web::test]
async fn a_request_that_starts_while_another_is_sampled_says_so() {
    let _turn = SAMPLING.lock().await;
    init_tracing();
    let toolbar = DebugToolbar::new(config().build());
    let app = init_service(
        App::new()
            .wrap(toolbar.clone())
            .route("/slow", web::get().to(burn_then_wait))
            .route("/fast", web::get().to(burn)),
    )
    .await;
    let sampled = |path: &str| get(path).insert_header(("cookie", COOKIE)).to_request();
    // `join` polls the first request first: it takes the profiler, then waits.
    let (first, second) = futures_util::future::join(
        call_service(&app, sampled("/slow")),
        call_service(&app, sampled("/fast")),
    )
    .await;
    let first = header(&first, "x-debug-toolbar-id").expect("served");
    let second = header(&second, "x-debug-toolbar-id").expect("served");
    let first = stored_stats::<ProfilingPanel>(&toolbar, &first).await;
    let cpu = stored_stats::<ProfilingPanel>(&toolbar, &second)
        .await
        .cpu
        .expect("feature on");
    assert_eq!(cpu.status, CpuStatus::Busy);
    assert!(cpu.nodes.is_empty());
    // Process-wide: the second request burnt its CPU while the first was sampled.
    assert_sampled_in(
        first.cpu.as_ref().expect("feature on"),
        "profiling_cpu::burn_cpu_for_the_toolbar",
    );

    let res = call_service(&app, get(&panel_uri(&second, "profiling")).to_request()).await;
    assert_contains(
        &body_text(res).await,
        "Not sampled: another request was being sampled when this one started.",
    );

    // The slot is free again.
    let res = call_service(&app, sampled("/fast")).await;
    let id = header(&res, "x-debug-toolbar-id").expect("served");
    let cpu = stored_stats::<ProfilingPanel>(&toolbar, &id).await.cpu;
    assert_eq!(cpu.map(|c| c.status), Some(CpuStatus::Sampled));
}

/// A function whose symbol is markup; it burns CPU in its own code, like
/// [`burn_cpu_for_the_toolbar`].
#[expect(
    unsafe_code,
    reason = "`export_name` may clash with another symbol; this one cannot"
)]
#[unsafe(export_name = "<img src=x onerror=alert(1)>")]
#[inline(never)]
fn hostile(time: Duration) -> u64 {
    let start = Instant::now();
    let mut x = 1_u64;
    while start.elapsed() < time {
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
        x = black_box(x);
    }
    x
}

#[actix_web::test]
async fn frame_names_are_escaped() {
    let _turn = SAMPLING.lock().await;
    let (cpu, _, panel) = serve(
        || {
            Box::pin(async {
                let x = hostile(Duration::from_millis(100));
                HttpResponse::Ok()
                    .content_type("text/html")
                    .body(format!("<html><body>{x}</body></html>"))
            })
        },
        Some(COOKIE),
    )
    .await;
    assert_sampled_in(&cpu, "<img src=x onerror=alert(1)>");
    assert_lacks(&panel, "<img");
    assert_contains(&panel, ">&lt;img src=x onerror=alert(1)&gt;</text>");
    assert_contains(
        &panel,
        "<th scope=\"row\"><code>&lt;img src=x onerror=alert(1)&gt;</code>",
    );
}
