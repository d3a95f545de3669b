//! The debug toolbar's demo: a small app with an SQLite database, Tera pages, logging, a JSON
//! API, a download, a streamed page, a pre-compressed page and a panicking handler, behind
//! `Compress`, with the toolbar on every HTML page.
//!
//! Run with `cargo run -p demo`, then open <http://127.0.0.1:8080/>. `DEMO_ADDR` changes the
//! address; the toolbar reads the `DEBUG_TOOLBAR_*` variables and the OpenTelemetry panel the
//! standard `OTEL_*` ones (see the README), e.g.
//! `OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 DEBUG_TOOLBAR_OTEL_JAEGER_UI=http://localhost:16686 cargo run -p demo`.
//! Coding agents reach the toolbar's MCP server at <http://127.0.0.1:8080/__debug_toolbar/mcp>;
//! `curl -N http://127.0.0.1:8080/__debug_toolbar/api/requests/stream` follows new requests.

use actix_debug_toolbar::DebugToolbar;
use actix_debug_toolbar::otel::{OtelConfig, OtelPanel};
use actix_web::middleware::Compress;
use actix_web::{App, HttpServer};

#[actix_web::main]
async fn main() -> Result<(), demo::StartError> {
    let state = demo::State::new().await?;
    // Exporters are built here, on threads of their own; they are flushed after the server stops.
    let otel = OtelPanel::new(OtelConfig::builder().service_name("demo").env()?.build());
    let config = demo::toolbar_config(&state)
        .panel(otel.clone())
        .env()?
        .build();
    let toolbar = DebugToolbar::new(config);
    toolbar.init_tracing()?;
    let addr = std::env::var("DEMO_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".to_owned());
    tracing::info!("demo listening on http://{addr}/");
    HttpServer::new(move || {
        App::new()
            // Inside Compress (the last `wrap` is the outermost); the other order works too.
            .wrap(toolbar.clone())
            .wrap(Compress::default())
            .app_data(state.clone())
            .configure(demo::routes)
    })
    .bind(&addr)?
    .run()
    .await?;
    // The server has stopped: send what is still queued (never on an actix worker).
    if let Err(e) = otel.shutdown() {
        tracing::warn!("{e}");
    }
    Ok(())
}
