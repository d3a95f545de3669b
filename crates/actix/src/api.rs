//! The JSON API's routes across requests: `api/routes`, `api/statements`, `api/problems` and
//! `api/compare`, answered from [`crate::analysis`].

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use debug_toolbar_core::integration::Toolbar;
use debug_toolbar_core::{RECORD_FORMAT_VERSION, RecordId, StoreError};
use serde::Serialize;

use crate::analysis::{self, Analysed, RequestProblems};
use crate::routes::not_found;

/// Statements `api/statements` lists unless `limit` says otherwise.
pub(crate) const DEFAULT_STATEMENTS: usize = 20;

/// An answer of the API: the format version, then the answer's own fields.
#[derive(Serialize)]
struct Answer<T> {
    format_version: u32,
    #[serde(flatten)]
    body: T,
}

fn ok<T: Serialize>(body: T) -> HttpResponse {
    HttpResponse::Ok().json(Answer {
        format_version: RECORD_FORMAT_VERSION,
        body,
    })
}

fn unavailable(e: &StoreError) -> HttpResponse {
    #[derive(Serialize)]
    struct Error {
        error: String,
    }
    HttpResponse::build(StatusCode::SERVICE_UNAVAILABLE).json(Answer {
        format_version: RECORD_FORMAT_VERSION,
        body: Error {
            error: format!("the toolbar's store is unavailable: {e}"),
        },
    })
}

/// `GET api/routes`: figures per route over the stored requests.
pub(crate) async fn routes(toolbar: &Toolbar) -> HttpResponse {
    #[derive(Serialize)]
    struct Routes {
        requests: usize,
        routes: Vec<analysis::RouteStats>,
    }
    match analysis::stored(toolbar).await {
        Ok(stored) => ok(Routes {
            requests: stored.len(),
            routes: analysis::routes(&stored),
        }),
        Err(e) => unavailable(&e),
    }
}

/// `GET api/statements?limit=N`: the statements that cost the most time.
pub(crate) async fn statements(toolbar: &Toolbar, req: &HttpRequest) -> HttpResponse {
    #[derive(serde::Deserialize)]
    struct Params {
        limit: Option<usize>,
    }
    #[derive(Serialize)]
    struct Statements {
        requests: usize,
        statements: Vec<analysis::StatementCost>,
    }
    let limit = actix_web::web::Query::<Params>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.limit)
        .unwrap_or(DEFAULT_STATEMENTS)
        .min(analysis::MAX_RECORDS);
    match analysis::stored(toolbar).await {
        Ok(stored) => ok(Statements {
            requests: stored.len(),
            statements: analysis::statements(&stored, limit),
        }),
        Err(e) => unavailable(&e),
    }
}

/// `GET api/problems`: the problems of every stored request that has some.
pub(crate) async fn problems(toolbar: &Toolbar) -> HttpResponse {
    #[derive(Serialize)]
    struct Problems {
        requests: usize,
        problems: Vec<RequestProblems>,
    }
    match analysis::stored(toolbar).await {
        Ok(stored) => ok(Problems {
            requests: stored.len(),
            problems: analysis::problems(&stored),
        }),
        Err(e) => unavailable(&e),
    }
}

/// `GET api/problems/{id}`: one request's problems (an empty list when it has none).
pub(crate) async fn request_problems(toolbar: &Toolbar, id: &str) -> HttpResponse {
    match one(toolbar, id).await {
        Ok(Some(analysed)) => ok(RequestProblems::of(&analysed)),
        Ok(None) => not_found(),
        Err(e) => unavailable(&e),
    }
}

/// `GET api/compare/{a}/{b}`: how request `b` differs from request `a`.
pub(crate) async fn compare(toolbar: &Toolbar, a: &str, b: &str) -> HttpResponse {
    let (a, b) = match (one(toolbar, a).await, one(toolbar, b).await) {
        (Ok(Some(a)), Ok(Some(b))) => (a, b),
        (Err(e), _) | (_, Err(e)) => return unavailable(&e),
        _ => return not_found(),
    };
    ok(analysis::compare(&a, &b))
}

/// The stored request `id` ready for analysis; `None` for a malformed or dropped id.
pub(crate) async fn one(toolbar: &Toolbar, id: &str) -> Result<Option<Analysed>, StoreError> {
    let Ok(id) = id.parse::<RecordId>() else {
        return Ok(None);
    };
    Ok(toolbar
        .store()
        .get(id)
        .await?
        .map(|record| Analysed::new(toolbar, record)))
}
