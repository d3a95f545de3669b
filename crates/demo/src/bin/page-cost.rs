//! The page the toolbar's cost is measured on (`demo::cost`), in one setup, either sent a
//! number of requests in-process (for `valgrind --tool=callgrind`, see scripts/callgrind.sh)
//! or served over HTTP (for wrk).
//!
//! Run with `cargo run --release -p demo --bin page-cost -- SETUP fetch PATH COUNT` or
//! `… -- SETUP serve ADDR`, where SETUP is one of no-toolbar, off, skipped, served, export and
//! PATH is /page or /plain. `fetch` sends COUNT requests after one warm-up request and prints
//! the bytes of the last body.

use std::process::ExitCode;

use actix_web::dev::{Service, ServiceResponse};
use actix_web::{App, HttpServer, test};
use demo::StartError;
use demo::cost::{self, PageState, Setup};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("page-cost: {e}");
            eprintln!("usage: page-cost SETUP fetch PATH COUNT | page-cost SETUP serve ADDR");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<(), StartError> {
    let [setup, command, rest @ ..] = args else {
        return Err("missing arguments".into());
    };
    let setup: Setup = setup.parse()?;
    let (toolbar, otel) = cost::toolbar(setup)?;
    cost::init_tracing(toolbar.as_ref())?;
    let result = match (command.as_str(), rest) {
        ("fetch", [path, count]) => {
            let count: usize = count.parse()?;
            actix_web::rt::System::new().block_on(fetch(toolbar, path, count))
        }
        ("serve", [addr]) => actix_web::rt::System::new().block_on(serve(toolbar, addr)),
        _ => Err("unknown command".into()),
    };
    // Whatever the exporter still holds is dropped at the dead endpoint: no waiting for it.
    if let Some(otel) = otel {
        let _ = otel.shutdown();
    }
    result
}

async fn fetch(
    toolbar: Option<actix_debug_toolbar::DebugToolbar>,
    path: &str,
    count: usize,
) -> Result<(), StartError> {
    let state = PageState::new().await?;
    let app = App::new().app_data(state).configure(cost::routes);
    let bytes = match toolbar {
        Some(toolbar) => repeat(&test::init_service(app.wrap(toolbar)).await, path, count).await,
        None => repeat(&test::init_service(app).await, path, count).await,
    };
    println!("{bytes}");
    Ok(())
}

/// Sends one warm-up request and then `count` more; the length of the last body.
async fn repeat<S, B>(app: &S, path: &str, count: usize) -> usize
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: actix_web::body::MessageBody,
{
    let mut bytes = cost::fetch(app, path).await;
    for _ in 0..count {
        bytes = cost::fetch(app, path).await;
    }
    bytes
}

async fn serve(
    toolbar: Option<actix_debug_toolbar::DebugToolbar>,
    addr: &str,
) -> Result<(), StartError> {
    let state = PageState::new().await?;
    // One worker: the measurements give the server one core.
    let server = match toolbar {
        Some(toolbar) => HttpServer::new(move || {
            App::new()
                .wrap(toolbar.clone())
                .app_data(state.clone())
                .configure(cost::routes)
        })
        .workers(1)
        .bind(addr)?
        .run(),
        None => HttpServer::new(move || App::new().app_data(state.clone()).configure(cost::routes))
            .workers(1)
            .bind(addr)?
            .run(),
    };
    server.await?;
    Ok(())
}
