//! The toolbar's checks in an app's own tests: the same assertions the browser shows, on the
//! record of a request sent through the app (feature `testing`, in `[dev-dependencies]`).
//!
//! Run with `cargo test -p debug-toolbar-examples --example testing_assertions` (also run by
//! `cargo test --workspace`); `cargo run … --example testing_assertions` serves the app.

use actix_debug_toolbar::panels::{Budget, BudgetsPanel};
use actix_debug_toolbar::{DebugToolbar, ToolbarConfig, ToolbarConfigBuilder};
use actix_web::{App, HttpResponse, HttpServer, web};

/// The app's routes, shared by `main` and the tests.
fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/users",
        web::get().to(|| async {
            tracing::info!(users = 2, "listing users");
            HttpResponse::Ok()
                .content_type("text/html")
                .body("<html><body>ann, bob</body></html>")
        }),
    );
}

/// The app's toolbar configuration: its budgets, pools and panels.
fn toolbar_config() -> ToolbarConfigBuilder {
    ToolbarConfig::builder()
        .panel(BudgetsPanel::new().route("/users", Budget::new().max_queries(3).no_n_plus_one()))
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let toolbar = DebugToolbar::new(toolbar_config().env()?.build());
    toolbar.init_tracing()?;
    HttpServer::new(move || App::new().wrap(toolbar.clone()).configure(routes))
        .bind(("127.0.0.1", 8080))?
        .run()
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use actix_debug_toolbar::panels::LoggingPanel;
    use actix_debug_toolbar::testing::TestToolbar;
    use actix_web::{App, test};

    #[actix_web::test]
    async fn the_users_page_is_cheap_and_logs_no_errors() {
        let toolbar = TestToolbar::with_config(super::toolbar_config());
        let app = test::init_service(
            App::new()
                .wrap(toolbar.middleware())
                .configure(super::routes),
        )
        .await;
        let recorded = toolbar
            .call(&app, test::TestRequest::get().uri("/users"))
            .await;
        recorded
            .assert_max_queries(3)
            .assert_no_n_plus_one()
            .assert_no_error_logs()
            .assert_within_budgets();
        // Any panel's typed stats, for checks of your own.
        let logging = recorded.stats::<LoggingPanel>();
        assert_eq!(logging.records.len(), 1, "{logging:?}");
    }
}
