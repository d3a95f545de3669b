//! Two instances of an app sharing the toolbar's records through PostgreSQL (or Redis): a page
//! served by one is listed in the other's History panel, and its panels open there.
//!
//! The store is chosen in code here; `DEBUG_TOOLBAR_STORE=postgres://…` or `redis://…` does the
//! same without code.
//!
//! Run with (two terminals; PostgreSQL at 127.0.0.1:5432, database `test`):
//!
//! ```sh
//! PORT=8080 cargo run -p debug-toolbar-examples --example shared_store
//! PORT=8081 cargo run -p debug-toolbar-examples --example shared_store
//! # or Redis: STORE=redis://127.0.0.1:6379/ PORT=8080 cargo run …
//! ```
//!
//! then open <http://127.0.0.1:8080/> and the History panel of <http://127.0.0.1:8081/>.

use std::sync::Arc;

use actix_debug_toolbar::{DebugToolbar, PostgresStore, RedisStore, Store, ToolbarConfig};
use actix_web::{App, HttpResponse, HttpServer, web};

/// Records kept in the shared store.
const CAPACITY: usize = 100;

fn store(url: &str) -> Result<Arc<dyn Store>, Box<dyn std::error::Error>> {
    Ok(if url.starts_with("redis://") {
        Arc::new(RedisStore::open(url, CAPACITY)?)
    } else {
        // Or `PostgresStore::new(pool, "debug_toolbar_records", CAPACITY)` on your own pool.
        Arc::new(PostgresStore::connect_lazy(url, CAPACITY)?)
    })
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url =
        std::env::var("STORE").unwrap_or_else(|_| "postgres://postgres@127.0.0.1/test".into());
    let port: u16 = std::env::var("PORT").map_or(Ok(8080), |p| p.parse())?;
    let config = ToolbarConfig::builder().store(store(&url)?).env()?.build();
    let toolbar = DebugToolbar::new(config);
    toolbar.init_tracing()?;
    HttpServer::new(move || {
        App::new().wrap(toolbar.clone()).route(
            "/",
            web::get().to(move || async move {
                HttpResponse::Ok()
                    .content_type("text/html")
                    .body(format!("<html><body>served by :{port}</body></html>"))
            }),
        )
    })
    .bind(("127.0.0.1", port))?
    .run()
    .await?;
    Ok(())
}
