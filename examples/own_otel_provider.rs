//! An app that already has its own OpenTelemetry provider: its spans appear in the toolbar's
//! waterfall (marked as captured) under the request's server span, and are exported by the
//! app's provider only, never twice.
//!
//! Add the toolbar's `span_processor()` to your `SdkTracerProvider`, and give your spans the
//! request's trace context as parent. The toolbar's own export stays off here
//! (`OTEL_TRACES_EXPORTER` unset); your provider's exporters go where the comment says.
//!
//! Run with `cargo run -p debug-toolbar-examples --example own_otel_provider` and open
//! <http://127.0.0.1:8080/>, then the OpenTelemetry panel.

use actix_debug_toolbar::otel::opentelemetry::trace::{Span as _, Tracer as _};
use actix_debug_toolbar::otel::opentelemetry::{KeyValue, global};
use actix_debug_toolbar::otel::opentelemetry_sdk::trace::SdkTracerProvider;
use actix_debug_toolbar::otel::{OtelPanel, trace_context};
use actix_debug_toolbar::{DebugToolbar, ToolbarConfig};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};

async fn index(req: HttpRequest) -> HttpResponse {
    let tracer = global::tracer("my-app");
    let mut span = match trace_context(&req) {
        Some(trace) => tracer
            .span_builder("app.checkout")
            .start_with_context(&tracer, &trace.context()),
        None => tracer.start("app.checkout"),
    };
    span.set_attribute(KeyValue::new("cart.items", 3_i64));
    span.end();
    HttpResponse::Ok()
        .content_type("text/html")
        .body("<html><body>checked out</body></html>")
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let otel = OtelPanel::global();
    let provider = SdkTracerProvider::builder()
        // .with_batch_exporter(your_exporter)    // your export, as before
        .with_span_processor(otel.span_processor()) // the toolbar's capture
        .build();
    global::set_tracer_provider(provider.clone());

    // `OtelPanel::global()` is the panel the toolbar registers: nothing to add to the config.
    let toolbar = DebugToolbar::new(ToolbarConfig::from_env());
    toolbar.init_tracing()?;
    HttpServer::new(move || {
        App::new()
            .wrap(toolbar.clone())
            .route("/", web::get().to(index))
    })
    .bind(("127.0.0.1", 8080))?
    .run()
    .await?;
    provider.shutdown()?;
    Ok(())
}
