//! Every request the toolbar serves exported as a trace to Jaeger (OTLP) or Zipkin, under the
//! service name `shop`.
//!
//! Start a backend, then the app, open <http://127.0.0.1:8080/>, and follow the OpenTelemetry
//! panel's link to the trace:
//!
//! ```sh
//! docker run --rm -p 16686:16686 -p 4318:4318 jaegertracing/jaeger
//! cargo run -p debug-toolbar-examples --example otel_export
//! # or Zipkin: docker run --rm -p 9411:9411 openzipkin/zipkin
//! EXPORT_TO=zipkin cargo run -p debug-toolbar-examples --example otel_export
//! ```
//!
//! Run with the commands above; the `OTEL_*` variables still apply on top of this code.

use actix_debug_toolbar::otel::{OtelConfig, OtelPanel, Protocol};
use actix_debug_toolbar::{DebugToolbar, ToolbarConfig};
use actix_web::{App, HttpResponse, HttpServer, web};

#[tracing::instrument]
async fn work() -> usize {
    tracing::info!("working");
    42
}

async fn index() -> HttpResponse {
    let answer = work().await;
    HttpResponse::Ok()
        .content_type("text/html")
        .body(format!("<html><body>{answer}</body></html>"))
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = OtelConfig::builder().service_name("shop");
    let config = match std::env::var("EXPORT_TO").as_deref() {
        Ok("zipkin") => config
            .zipkin("http://localhost:9411/api/v2/spans")
            .zipkin_ui("http://localhost:9411"),
        _ => config
            .otlp(Protocol::HttpProtobuf, "http://localhost:4318/v1/traces")
            .jaeger_ui("http://localhost:16686"),
    };
    let otel = OtelPanel::new(config.env()?.build());
    let toolbar = DebugToolbar::new(ToolbarConfig::builder().panel(otel.clone()).env()?.build());
    toolbar.init_tracing()?;

    HttpServer::new(move || {
        App::new()
            .wrap(toolbar.clone())
            .route("/", web::get().to(index))
    })
    .bind(("127.0.0.1", 8080))?
    .run()
    .await?;
    // After the server stopped: send what is still queued.
    otel.shutdown()?;
    Ok(())
}
