//! A served request against the same request without the toolbar, on the page the toolbar's
//! cost is measured on (`demo::cost`): `/page` makes three sqlx SQLite queries, renders a 5 KB
//! Tera page with inheritance and logs one line; `/plain` answers 23 bytes of `text/plain`.
//!
//! For each path, `no-toolbar` is the application alone and `served` the same application
//! wrapped in the toolbar with its default panels and the OpenTelemetry panel (no export),
//! serving the client. Requests go through actix-web's test utilities (no sockets) on one
//! current-thread actix `System`, with the global subscriber an application would install.
//! `scripts/callgrind.sh` counts the instructions of the same requests.
//!
//! Run with `cargo bench -p demo --bench served`.

// A benchmark that cannot set up fails loudly.
#![expect(
    clippy::expect_used,
    reason = "a benchmark that cannot set up has nothing to measure"
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use actix_web::dev::{Service, ServiceResponse};
use actix_web::rt::{System, SystemRunner};
use actix_web::{App, test};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, criterion_group, criterion_main};
use demo::cost::{self, PAGE, PLAIN, PageState, Setup};

/// Benchmarks `GET path` on `app` as `id` in `group`.
fn bench_path<S, B>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    id: &str,
    sys: &SystemRunner,
    app: &S,
    path: &str,
) where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: actix_web::body::MessageBody,
{
    group.bench_function(id, |b| {
        b.iter_custom(|iters| {
            sys.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(cost::fetch(app, path).await);
                }
                start.elapsed()
            })
        });
    });
}

fn served(c: &mut Criterion) {
    let (toolbar, _otel) = cost::toolbar(Setup::Served).expect("the toolbar");
    let toolbar = toolbar.expect("a toolbar in the served setup");
    cost::init_tracing(Some(&toolbar)).expect("the global subscriber");
    let sys = System::new();
    let state = sys.block_on(PageState::new()).expect("the page's database");
    let alone = sys.block_on(test::init_service(
        App::new().app_data(state.clone()).configure(cost::routes),
    ));
    let wrapped = sys.block_on(test::init_service(
        App::new()
            .wrap(toolbar)
            .app_data(state)
            .configure(cost::routes),
    ));
    for path in [PAGE, PLAIN] {
        let mut group = c.benchmark_group(format!("served{path}"));
        bench_path(&mut group, "no-toolbar", &sys, &alone, path);
        bench_path(&mut group, "served", &sys, &wrapped, path);
        group.finish();
    }
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
    targets = served
}
criterion_main!(benches);
