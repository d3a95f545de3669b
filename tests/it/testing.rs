//! The `testing` helpers' failures: each assertion names what went over, and misuse says how
//! to fix it.

use actix_debug_toolbar::ToolbarConfig;
use actix_debug_toolbar::panels::{SqlPanel, TimerPanel};
use actix_debug_toolbar::testing::TestToolbar;
use actix_web::test::{TestRequest, init_service};
use actix_web::{App, HttpResponse, web};
use sqlx::SqlitePool;

async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html")
        .body("<html><body>page</body></html>")
}

/// Logs an error and runs five similar queries straight from the handler.
async fn sloppy(pool: web::Data<SqlitePool>) -> HttpResponse {
    tracing::error!(target: "shop::orders", "order 7 has no customer");
    for id in 1..=5 {
        sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {id} AS n")))
            .fetch_all(pool.get_ref())
            .await
            .expect("query");
    }
    page().await
}

macro_rules! sloppy_app {
    ($toolbar:ident, $app:ident) => {
        // One connection, opened now: the request runs only its own statements.
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect("sqlite::memory:")
            .await
            .expect("sqlite");
        let $toolbar = TestToolbar::default();
        let $app = init_service(
            App::new()
                .wrap($toolbar.middleware())
                .app_data(web::Data::new(pool))
                .route("/", web::get().to(sloppy)),
        )
        .await;
    };
}

#[actix_web::test]
#[should_panic(
    expected = "the toolbar did not serve this request: wrap the app in TestToolbar::middleware()"
)]
async fn a_request_the_toolbar_did_not_serve_says_how_to_fix_it() {
    let toolbar = TestToolbar::new();
    let app = init_service(App::new().route("/", web::get().to(page))).await;
    toolbar.call(&app, TestRequest::get().uri("/")).await;
}

#[actix_web::test]
#[should_panic(expected = "the sql panel did not run for this request")]
async fn stats_of_a_panel_that_did_not_run_say_so() {
    let toolbar = TestToolbar::with_config(ToolbarConfig::builder().disabled_panels(["sql"]));
    let app = init_service(
        App::new()
            .wrap(toolbar.middleware())
            .route("/", web::get().to(page)),
    )
    .await;
    let recorded = toolbar.call(&app, TestRequest::get().uri("/")).await;
    assert_eq!(recorded.record().path, "/");
    assert!(recorded.stats::<TimerPanel>().total_ms >= 0.0);
    recorded.stats::<SqlPanel>();
}

#[actix_web::test]
#[should_panic(expected = "GET / did not render \"index.html\"; it rendered []")]
async fn a_missing_render_lists_what_was_rendered() {
    let toolbar = TestToolbar::new();
    let app = init_service(
        App::new()
            .wrap(toolbar.middleware())
            .route("/", web::get().to(page)),
    )
    .await;
    toolbar
        .call(&app, TestRequest::get().uri("/"))
        .await
        .assert_rendered("index.html");
}

#[actix_web::test]
#[should_panic(expected = "GET / logged errors:\n  shop::orders: order 7 has no customer")]
async fn error_logs_are_listed_with_their_target() {
    sloppy_app!(toolbar, app);
    let recorded = toolbar.call(&app, TestRequest::get().uri("/")).await;
    recorded.assert_max_queries(5);
    recorded.assert_no_error_logs();
}

#[actix_web::test]
#[should_panic(expected = "GET / ran N+1 queries:\n  5× from the request handler: SELECT ")]
async fn n_plus_one_queries_from_the_handler_itself_say_so() {
    sloppy_app!(toolbar, app);
    toolbar
        .call(&app, TestRequest::get().uri("/"))
        .await
        .assert_no_n_plus_one();
}
