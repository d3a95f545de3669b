//! The store contract, checked against every store, and what the toolbar says when a record
//! is gone.

use std::sync::Arc;

use actix_debug_toolbar::{DebugToolbar, InMemoryStore, Store};
use actix_web::http::StatusCode;
use actix_web::test::{call_service, init_service};
use actix_web::{App, HttpResponse, web};
use debug_toolbar_core::{Page, RECORD_FORMAT_VERSION, RecordId, RequestRecord};

use crate::support::{assert_contains, body_text, config, get, header};

fn record(path: &str) -> RequestRecord {
    RequestRecord {
        format_version: RECORD_FORMAT_VERSION,
        id: RecordId::random().expect("random"),
        started_at_unix_ms: 1,
        method: "GET".into(),
        path: path.into(),
        status: 200,
        duration_ms: 1.5,
        ajax: false,
        layer_attached: true,
        panels: vec![debug_toolbar_core::PanelRecord {
            id: "timer".into(),
            title: "Time".into(),
            subtitle: None,
            stats: serde_json::json!({"total_ms": 1.5}),
            note: None,
            badge: None,
        }],
    }
}

/// What every store must do, given a store that keeps exactly three records.
async fn store_contract(store: &dyn Store) {
    let records: Vec<RequestRecord> = (0..5).map(|i| record(&format!("/{i}"))).collect();
    for r in &records {
        store.save(r.clone()).await.expect("save");
    }
    let listed = store.list(Page::default()).await.expect("list");
    let paths: Vec<&str> = listed.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(paths, ["/4", "/3", "/2"], "newest first, oldest evicted");

    let page = store
        .list(Page {
            offset: 1,
            limit: 1,
        })
        .await
        .expect("list");
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].path, "/3");

    let kept = store.get(records[4].id).await.expect("get").expect("kept");
    assert_eq!(*kept, records[4], "read back unchanged");
    assert!(
        store.get(records[0].id).await.expect("get").is_none(),
        "evicted"
    );
    let unknown = RecordId::random().expect("random");
    assert!(store.get(unknown).await.expect("get").is_none());
}

#[actix_web::test]
async fn in_memory_store_keeps_the_newest_records() {
    store_contract(&InMemoryStore::new(3)).await;
}

#[actix_web::test]
async fn an_expired_record_gives_a_clear_message() {
    let toolbar = DebugToolbar::new(
        config()
            .store(Arc::new(InMemoryStore::new(1)))
            .store_capacity(1)
            .build(),
    );
    let app = init_service(App::new().wrap(toolbar).route(
        "/",
        web::get().to(|| async {
            HttpResponse::Ok()
                .content_type("text/html")
                .body("<html><body></body></html>")
        }),
    ))
    .await;
    let first = call_service(&app, get("/").to_request()).await;
    let first = header(&first, "x-debug-toolbar-id").expect("served");
    let _second = call_service(&app, get("/").to_request()).await;
    let uri = format!("/__debug_toolbar/panels/{first}/timer");
    let res = call_service(&app, get(&uri).to_request()).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let html = body_text(res).await;
    assert_contains(&html, "no longer stored");
    assert_contains(&html, "Reload the page");

    let res = call_service(
        &app,
        get("/__debug_toolbar/panels/not-an-id/timer").to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}
