//! The dashboard at `{prefix}`: the stored requests as a live list, figures across them, and
//! the toolbar's own shell to open any of them with all its panels.
//!
//! The page is rendered by the core renderer; its behaviour is `static/dashboard.js`, which
//! reads the JSON API (`api/requests`, `api/routes`, `api/statements`, `api/problems`,
//! `api/compare`, `api/requests/{id}/curl`) and follows `api/requests/stream`.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType};
use actix_web::{HttpRequest, HttpResponse};
use debug_toolbar_core::integration::{DashboardContext, Toolbar};
use debug_toolbar_core::{Page, RecordId, RequestRecord};
use std::sync::Arc;

use crate::toolbar::Shared;

/// The page's policy: scripts, styles and connections of the toolbar's own origin only.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                      img-src 'self' data:; connect-src 'self'; form-action 'none'; \
                      frame-ancestors 'none'; base-uri 'none'";

/// `GET {prefix}` (`?request={id}` opens that request's panels, `?compare={a},{b}` compares
/// two): the dashboard page.
pub(crate) async fn page(shared: &Shared, toolbar: &Toolbar, req: &HttpRequest) -> HttpResponse {
    #[derive(serde::Deserialize)]
    struct Params {
        request: Option<String>,
    }
    let wanted = actix_web::web::Query::<Params>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.into_inner().request)
        .and_then(|id| id.parse::<RecordId>().ok());
    let record = shown_record(toolbar, wanted).await;
    let health = toolbar.store_health();
    let cx = DashboardContext {
        prefix: &shared.config.prefix,
        record: record.as_deref(),
        store: Some(&health),
    };
    match toolbar.renderer().dashboard(&cx) {
        Ok(html) => HttpResponse::Ok()
            .content_type(ContentType::html())
            .insert_header((header::CONTENT_SECURITY_POLICY, POLICY))
            .insert_header((header::X_FRAME_OPTIONS, "DENY"))
            .body(html),
        Err(e) => {
            toolbar.log_failure_once("render:dashboard", &e);
            HttpResponse::build(StatusCode::SERVICE_UNAVAILABLE)
                .content_type(ContentType::plaintext())
                .body("The dashboard could not be rendered; the server log says why.")
        }
    }
}

/// The record the page's toolbar shows: the one asked for when it is stored, else the newest.
/// A store that fails shows no record (the page says how the store is doing).
async fn shown_record(toolbar: &Toolbar, wanted: Option<RecordId>) -> Option<Arc<RequestRecord>> {
    if let Some(id) = wanted
        && let Ok(Some(record)) = toolbar.store().get(id).await
    {
        return Some(record);
    }
    let newest = toolbar
        .store()
        .list(Page {
            offset: 0,
            limit: 1,
        })
        .await
        .ok()?
        .into_iter()
        .next()?;
    toolbar.store().get(newest.id).await.ok().flatten()
}
