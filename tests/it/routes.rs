//! The toolbar's own routes when what they are asked for is not there: unknown ids, panels and
//! actions, a store that cannot be reached, and records written by another version.

use std::sync::Arc;

use actix_debug_toolbar::{DebugToolbar, InMemoryStore, RedisStore, Store};
use actix_web::http::StatusCode;
use actix_web::test::{call_service, init_service};
use actix_web::{App, HttpResponse, web};
use debug_toolbar_core::{RECORD_FORMAT_VERSION, RecordId, RequestRecord};

use crate::support::{action, assert_contains, body_text, config, get, header, panel_uri};

async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html")
        .body("<html><body>page</body></html>")
}

/// The status and body of `req` sent through an app wrapped in `toolbar`.
macro_rules! send {
    ($app:expr, $req:expr) => {{
        let res = call_service(&$app, $req.to_request()).await;
        let status = res.status();
        (status, body_text(res).await)
    }};
}

#[actix_web::test]
async fn unknown_ids_panels_and_actions_are_not_found() {
    let toolbar = DebugToolbar::new(config().build());
    let app = init_service(App::new().wrap(toolbar).route("/", web::get().to(page))).await;
    let res = call_service(&app, get("/").to_request()).await;
    let id = header(&res, "x-debug-toolbar-id").expect("served");
    let unknown = RecordId::random().expect("random").to_string();

    let (status, body) = send!(app, get(&panel_uri(&id, "no-such-panel")));
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_contains(&body, "Unknown panel");
    assert_contains(&body, "This request has no such panel.");

    for uri in [
        "/__debug_toolbar/api/requests/not-an-id".to_owned(),
        format!("/__debug_toolbar/api/requests/{unknown}"),
        format!("/__debug_toolbar/panels/{id}"),
    ] {
        let (status, body) = send!(app, get(&uri));
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(body, "Not Found", "{uri}");
    }

    let (status, body) = send!(app, action("/__debug_toolbar/sql/explain?query=0"));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_contains(&body, "The action needs a request id.");

    let (status, body) = send!(
        app,
        action(&format!(
            "/__debug_toolbar/sql/explain?request={unknown}&query=0"
        ))
    );
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_contains(&body, "no longer keeps this request");

    // A panel without actions, an action the panel does not have, a panel the record lacks.
    for uri in [
        format!("/__debug_toolbar/timer/explain?request={id}"),
        format!("/__debug_toolbar/sql/drop-table?request={id}&query=0"),
        format!("/__debug_toolbar/no-such-panel/explain?request={id}"),
    ] {
        let (status, body) = send!(app, action(&uri));
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(body, "Not Found", "{uri}");
    }

    let (status, body) = send!(app, get(&format!("/__debug_toolbar/api/requests/{id}")));
    assert_eq!(status, StatusCode::OK);
    let record: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(record["id"], id);
}

#[actix_web::test]
async fn every_route_that_reads_the_store_says_when_it_cannot() {
    // Nothing listens on port 9 of loopback.
    let store = Arc::new(RedisStore::open("redis://127.0.0.1:9/", 25).expect("url parses"));
    let app = init_service(
        App::new()
            .wrap(DebugToolbar::new(config().store(store).build()))
            .route("/", web::get().to(page)),
    )
    .await;
    let id = RecordId::random().expect("random");
    for (req, what) in [
        (get("/__debug_toolbar/api/requests"), "list"),
        (get(&format!("/__debug_toolbar/api/requests/{id}")), "one"),
        (
            action(&format!(
                "/__debug_toolbar/sql/explain?request={id}&query=0"
            )),
            "action",
        ),
    ] {
        let (status, body) = send!(app, req);
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{what}");
        assert_contains(&body, "the toolbar's store is unavailable: ");
        assert_contains(&body, "Redis");
    }
}

/// A record as an instance of another version may have stored it in a shared store: the panels'
/// stats are not what this version's panels read.
fn foreign_record() -> RequestRecord {
    let stats = serde_json::json!({ "written_by": "another version" });
    let json = serde_json::json!({
        "format_version": RECORD_FORMAT_VERSION,
        "id": RecordId::random().expect("random").to_string(),
        "started_at_unix_ms": 1,
        "method": "GET",
        "path": "/elsewhere",
        "status": 200,
        "duration_ms": 1.0,
        "ajax": false,
        "layer_attached": true,
        "panels": [
            { "id": "timer", "title": "Time", "stats": stats },
            { "id": "sql", "title": "SQL", "stats": stats },
        ],
    });
    serde_json::from_str(&json.to_string()).expect("a record")
}

#[actix_web::test]
async fn stats_this_version_cannot_read_are_reported_not_rendered() {
    crate::support::init_tracing();
    let store = Arc::new(InMemoryStore::new(5));
    let record = foreign_record();
    let id = record.id;
    store.save(record).await.expect("saved");
    let app = init_service(
        App::new()
            .wrap(DebugToolbar::new(config().store(store).build()))
            .route("/", web::get().to(page)),
    )
    .await;

    let (status, body) = send!(app, get(&panel_uri(&id.to_string(), "timer")));
    assert_eq!(status, StatusCode::OK, "a note, not a 500");
    assert_contains(&body, "Panel failed");
    assert_contains(&body, "its template could not be rendered");

    let (status, body) = send!(
        app,
        action(&format!(
            "/__debug_toolbar/sql/explain?request={id}&query=0"
        ))
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_contains(&body, "the stored stats could not be read");
}
