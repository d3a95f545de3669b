//! The debug toolbar's demo: a small app with an SQLite database, Tera pages, logging, a JSON
//! API, a download and a streamed page, with the toolbar on every HTML page.
//!
//! Run with `cargo run -p demo`, then open <http://127.0.0.1:8080/>. `DEMO_ADDR` changes the
//! address; the toolbar reads the `DEBUG_TOOLBAR_*` variables (see the README).

use actix_debug_toolbar::DebugToolbar;
use actix_web::{App, HttpServer};

#[actix_web::main]
async fn main() -> Result<(), demo::StartError> {
    let state = demo::State::new().await?;
    let config = demo::toolbar_config(&state).env()?.build();
    let toolbar = DebugToolbar::new(config);
    toolbar.init_tracing()?;
    let addr = std::env::var("DEMO_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".to_owned());
    tracing::info!("demo listening on http://{addr}/");
    HttpServer::new(move || {
        App::new()
            .wrap(toolbar.clone())
            .app_data(state.clone())
            .configure(demo::routes)
    })
    .bind(&addr)?
    .run()
    .await?;
    Ok(())
}
