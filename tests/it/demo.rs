//! The demo's own tests, written with the toolbar's `testing` helpers as an application would.

use actix_debug_toolbar::testing::TestToolbar;
use actix_web::App;
use actix_web::test::{TestRequest, init_service};

/// The demo app wrapped in a test toolbar with the demo's configuration (its budgets).
macro_rules! demo_app {
    ($toolbar:ident, $app:ident) => {
        let state = demo::State::new().await.expect("demo state");
        let $toolbar = TestToolbar::with_config(demo::toolbar_config(&state));
        let $app = init_service(
            App::new()
                .wrap($toolbar.middleware())
                .app_data(state.clone())
                .configure(demo::routes),
        )
        .await;
        let $app = &$app;
    };
}

#[actix_web::test]
async fn the_home_page_runs_one_query_renders_its_template_and_keeps_to_its_budget() {
    demo_app!(toolbar, app);
    let recorded = toolbar.call(app, TestRequest::get().uri("/")).await;
    assert_eq!(recorded.status(), 200);
    recorded
        .assert_max_queries(1)
        .assert_no_n_plus_one()
        .assert_no_error_logs()
        .assert_rendered("index.html")
        .assert_within_budgets();
}

#[actix_web::test]
#[should_panic(
    expected = "GET /users ran N+1 queries:\n  6× from users: SELECT COUNT(*) FROM posts WHERE user_id = ?"
)]
async fn the_users_page_fails_the_n_plus_one_check_with_the_offending_statement() {
    demo_app!(toolbar, app);
    toolbar
        .call(app, TestRequest::get().uri("/users"))
        .await
        .assert_no_n_plus_one();
}

#[actix_web::test]
#[should_panic(expected = "GET /users ran 7 SQL queries, more than 3:\n  #0 ")]
async fn the_users_page_fails_a_query_count_check_listing_the_queries() {
    demo_app!(toolbar, app);
    toolbar
        .call(app, TestRequest::get().uri("/users"))
        .await
        .assert_max_queries(3);
}

#[actix_web::test]
#[should_panic(
    expected = "GET /users broke the budget of /users:\n  over max queries: 7 queries, at most 3"
)]
async fn the_users_page_breaks_the_budget_the_toolbar_flags_in_the_browser() {
    demo_app!(toolbar, app);
    let recorded = toolbar.call(app, TestRequest::get().uri("/users")).await;
    let budgets = recorded.stats::<actix_debug_toolbar::panels::BudgetsPanel>();
    assert_eq!(budgets.broken.len(), 2, "{budgets:?}");
    recorded.assert_within_budgets();
}

#[actix_web::test]
async fn a_broken_budget_marks_the_toolbar_handle() {
    crate::support::init_tracing();
    let state = demo::State::new().await.expect("demo state");
    let toolbar = actix_debug_toolbar::DebugToolbar::new(
        demo::toolbar_config(&state)
            .enabled(true)
            .store(std::sync::Arc::new(
                actix_debug_toolbar::InMemoryStore::new(5),
            ))
            .build(),
    );
    let app = init_service(
        App::new()
            .wrap(toolbar)
            .app_data(state.clone())
            .configure(demo::routes),
    )
    .await;
    let res = actix_web::test::call_service(&app, crate::support::get("/users").to_request()).await;
    let id = crate::support::header(&res, "x-debug-toolbar-id").expect("served");
    let page = crate::support::body_text(res).await;
    crate::support::assert_contains(&page, "dt-badge dt-badge-error");
    crate::support::assert_contains(&page, "over max queries");

    // `/users` sets its own query limits; the fallback fills in the rest, and the panel says so.
    let panel = actix_web::test::call_service(
        &app,
        crate::support::get(&crate::support::panel_uri(&id, "budgets")).to_request(),
    )
    .await;
    let panel = crate::support::body_text(panel).await;
    crate::support::assert_contains(&panel, "the limits it leaves unset come from the fallback");
    crate::support::assert_contains(
        &panel,
        "500.0 ms <span class=\"dt-empty\">(from the fallback)</span>",
    );
}
