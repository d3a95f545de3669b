//! What the toolbar adds to a request, measured through the public middleware with actix-web's
//! test utilities (no sockets, one current-thread actix `System`, a subscriber with the
//! toolbar's layer installed as the thread default). Each benchmark times whole requests: build
//! the request, call the app, read the whole body.
//!
//! - `injection/10KB` and `injection/1MB`: an HTML page of that size ending in `</body>`, asked
//!   for by an allowed client (127.0.0.1). `toolbar` is the app wrapped in `DebugToolbar`
//!   (recorded, stored, shell injected); `no-middleware` is the same app without it.
//! - `skip`: a small page asked for by a client the toolbar does not serve (203.0.113.9).
//!   `no-middleware` is the app alone, `not-served` the app wrapped in an enabled toolbar, and
//!   `disabled` the app wrapped in a switched-off toolbar.
//! - `encoded-1MB`: a 1 MiB page of varied HTML rows sent pre-compressed (`gzip`, `br`, `zstd`)
//!   or as it is (`identity`) through the toolbar: read, decoded, injected and encoded again.
//! - `served/page`: the same small page asked for by an allowed client, with every panel this
//!   crate's default features enable. Its cost over `skip/no-middleware` is what the toolbar
//!   adds to a served request.
//!
//! Run with `cargo bench -p actix-debug-toolbar --bench middleware`; add a filter such as
//! `-- skip/` to run one group.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use actix_debug_toolbar::{DebugToolbar, TOOLBAR_ID_HEADER, TOOLBAR_STATUS_HEADER, ToolbarConfig};
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::rt::{System, SystemRunner};
use actix_web::test::{self, TestRequest};
use actix_web::web::{self, Bytes};
use actix_web::{App, HttpResponse};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use tracing_subscriber::prelude::*;

/// A client inside the default `DEBUG_TOOLBAR_ALLOWED_IPS`.
const ALLOWED_PEER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 40_000);
/// A client outside it (TEST-NET-3).
const REFUSED_PEER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9)), 40_000);
/// The page of the `skip` and `served` groups.
const SMALL_PAGE: &str = "<!doctype html><html><head><title>Bench</title></head>\
                          <body><h1>Hello</h1><p>A small page.</p></body></html>";

/// A toolbar switched on or off, every other setting at its default.
fn toolbar(enabled: bool) -> DebugToolbar {
    DebugToolbar::new(ToolbarConfig::builder().enabled(enabled).build())
}

/// Makes a subscriber with the toolbar's layer this thread's default, as an application's
/// `init_tracing` would, less the console output.
fn trace_with_toolbar_layer() -> tracing::subscriber::DefaultGuard {
    tracing::subscriber::set_default(tracing_subscriber::registry().with(toolbar(true).layer()))
}

/// An HTML page of exactly `size` bytes that ends with `</body></html>`.
fn html_page(size: usize) -> Bytes {
    const HEAD: &str = "<!doctype html><html><body>";
    const TAIL: &str = "</body></html>";
    let filler = size - HEAD.len() - TAIL.len();
    let mut page = String::with_capacity(size);
    page.push_str(HEAD);
    page.extend(std::iter::repeat_n('x', filler));
    page.push_str(TAIL);
    Bytes::from(page)
}

/// The app's only route: `GET /` answers `page` as HTML.
fn page_route(page: Bytes) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.route(
            "/",
            web::get().to(move || {
                let page = page.clone();
                async move {
                    HttpResponse::Ok()
                        .content_type("text/html; charset=utf-8")
                        .body(page)
                }
            }),
        );
    }
}

/// `GET /` from `peer`.
fn get(peer: SocketAddr) -> TestRequest {
    TestRequest::get().uri("/").peer_addr(peer)
}

/// Sends one request and reads the whole body; returns whether the toolbar was injected (its
/// id header is set, and no header says why it was skipped).
async fn fetch<S, R, B>(app: &S, req: R) -> bool
where
    S: Service<R, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let res = test::call_service(app, req).await;
    let headers = res.headers();
    let injected =
        headers.contains_key(TOOLBAR_ID_HEADER) && !headers.contains_key(TOOLBAR_STATUS_HEADER);
    black_box(test::read_body(res).await);
    injected
}

/// Benchmarks requests made by `request` as `id` in `group`, after checking once that the
/// toolbar is injected into the page or not as `injected` says.
fn bench_requests<S, R, B>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    id: &str,
    sys: &SystemRunner,
    app: &S,
    request: impl Fn() -> R,
    injected: bool,
) where
    S: Service<R, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let was_injected = sys.block_on(fetch(app, request()));
    assert_eq!(
        was_injected, injected,
        "{id}: whether the toolbar was injected"
    );
    group.bench_function(id, |b| {
        b.iter_custom(|iters| {
            sys.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    fetch(app, request()).await;
                }
                start.elapsed()
            })
        });
    });
}

fn injection(c: &mut Criterion) {
    let sys = System::new();
    let _tracing = trace_with_toolbar_layer();
    let allowed = || get(ALLOWED_PEER).to_request();
    for (name, size) in [("10KB", 10 * 1024), ("1MB", 1024 * 1024)] {
        let page = html_page(size);
        let plain = sys.block_on(test::init_service(
            App::new().configure(page_route(page.clone())),
        ));
        let wrapped = sys.block_on(test::init_service(
            App::new().wrap(toolbar(true)).configure(page_route(page)),
        ));
        let mut group = c.benchmark_group(format!("injection/{name}"));
        group.throughput(Throughput::Bytes(size as u64));
        bench_requests(&mut group, "no-middleware", &sys, &plain, allowed, false);
        bench_requests(&mut group, "toolbar", &sys, &wrapped, allowed, true);
        group.finish();
    }
}

/// A page of `size` bytes (within a row) of varied table rows, compressing as real pages do.
fn rows_page(size: usize) -> Vec<u8> {
    let mut page = String::from("<!doctype html><html><body><table>");
    let mut i = 0u64;
    while page.len() < size - 30 {
        let n = i.wrapping_mul(2_654_435_761) % 100_000;
        page.push_str(&format!(
            "<tr><td>{i}</td><td>user-{n}</td><td>{}@example.com</td></tr>\n",
            n * 7
        ));
        i += 1;
    }
    page.push_str("</table></body></html>");
    page.into_bytes()
}

fn compress(coding: &str, page: &[u8]) -> Vec<u8> {
    use std::io::Write;
    match coding {
        "gzip" => {
            let mut w = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            w.write_all(page)
                .and_then(|()| w.finish())
                .unwrap_or_default()
        }
        "br" => {
            let mut w = brotli::CompressorWriter::new(Vec::new(), 4096, 5, 22);
            w.write_all(page)
                .map(|()| w.into_inner())
                .unwrap_or_default()
        }
        "zstd" => zstd::stream::encode_all(page, 3).unwrap_or_default(),
        _ => page.to_vec(),
    }
}

fn encoded(c: &mut Criterion) {
    let sys = System::new();
    let _tracing = trace_with_toolbar_layer();
    let allowed = || get(ALLOWED_PEER).to_request();
    let page = rows_page(1024 * 1024);
    let mut group = c.benchmark_group("encoded-1MB");
    group.throughput(Throughput::Bytes(page.len() as u64));
    for coding in ["identity", "gzip", "br", "zstd"] {
        let body = Bytes::from(compress(coding, &page));
        let coding_header = coding;
        let app = sys.block_on(test::init_service(App::new().wrap(toolbar(true)).route(
            "/",
            web::get().to(move || {
                let body = body.clone();
                async move {
                    HttpResponse::Ok()
                        .content_type("text/html; charset=utf-8")
                        .insert_header(("content-encoding", coding_header))
                        .body(body)
                }
            }),
        )));
        bench_requests(&mut group, coding, &sys, &app, allowed, true);
    }
    group.finish();
}

fn skip(c: &mut Criterion) {
    let sys = System::new();
    let _tracing = trace_with_toolbar_layer();
    let page = Bytes::from_static(SMALL_PAGE.as_bytes());
    let plain = sys.block_on(test::init_service(
        App::new().configure(page_route(page.clone())),
    ));
    let enabled = sys.block_on(test::init_service(
        App::new()
            .wrap(toolbar(true))
            .configure(page_route(page.clone())),
    ));
    let disabled = sys.block_on(test::init_service(
        App::new().wrap(toolbar(false)).configure(page_route(page)),
    ));
    let refused = || get(REFUSED_PEER).to_request();
    let mut group = c.benchmark_group("skip");
    bench_requests(&mut group, "no-middleware", &sys, &plain, refused, false);
    bench_requests(&mut group, "not-served", &sys, &enabled, refused, false);
    bench_requests(&mut group, "disabled", &sys, &disabled, refused, false);
    group.finish();
}

fn served(c: &mut Criterion) {
    let sys = System::new();
    let _tracing = trace_with_toolbar_layer();
    let page = Bytes::from_static(SMALL_PAGE.as_bytes());
    let app = sys.block_on(test::init_service(
        App::new().wrap(toolbar(true)).configure(page_route(page)),
    ));
    let allowed = || get(ALLOWED_PEER).to_request();
    let mut group = c.benchmark_group("served");
    bench_requests(&mut group, "page", &sys, &app, allowed, true);
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(40)
}

criterion_group! {
    name = benches;
    config = config();
    targets = injection, encoded, skip, served
}
criterion_main!(benches);
