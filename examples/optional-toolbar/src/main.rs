//! An app that leaves the toolbar out of its release builds: `actix-debug-toolbar` is an
//! optional dependency behind the app's cargo feature `debug-toolbar`, and the two places that
//! name it are `#[cfg(feature = "debug-toolbar")]`.
//!
//! Run with `cargo run -p debug-toolbar-example-optional --features debug-toolbar` (with the
//! toolbar) or `cargo run -p debug-toolbar-example-optional` (without it: not compiled, not
//! linked), and open <http://127.0.0.1:8080/>.

use actix_web::{App, HttpResponse, HttpServer, web};

async fn index() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html")
        .body("<html><body>Hello</body></html>")
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    #[cfg(feature = "debug-toolbar")]
    let toolbar = {
        use actix_debug_toolbar::{DebugToolbar, ToolbarConfig};
        let toolbar = DebugToolbar::new(ToolbarConfig::from_env());
        toolbar.init_tracing()?;
        toolbar
    };

    HttpServer::new(move || {
        let app = App::new();
        #[cfg(feature = "debug-toolbar")]
        let app = app.wrap(toolbar.clone());
        app.route("/", web::get().to(index))
    })
    .bind(("127.0.0.1", 8080))?
    .run()
    .await?;
    Ok(())
}
