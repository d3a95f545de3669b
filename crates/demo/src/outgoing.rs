//! Outgoing calls that carry the trace on: a page that calls the demo's own JSON API through
//! the toolbar's `awc` helper (the call and the API's own spans show in the waterfall, in one
//! trace), and the W3C Trace Context interop test endpoint.

use actix_debug_toolbar::otel;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

/// The address this server answers on, for calls to itself.
fn own_base(req: &HttpRequest) -> String {
    format!("http://{}", req.app_config().local_addr())
}

#[derive(Debug, Deserialize, Serialize)]
struct ApiUser {
    id: i64,
    name: String,
    email: String,
}

/// An HTML page built from an outgoing call to `/api/users`.
pub(crate) async fn outgoing(req: HttpRequest) -> HttpResponse {
    let client = awc::Client::default();
    let url = format!("{}/api/users", own_base(&req));
    let sent = otel::awc::send(&req, client.get(&url), |call| call.send()).await;
    let users: Result<Vec<ApiUser>, String> = match sent {
        Ok(mut res) => res.json().await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let body = match users {
        Ok(users) => {
            let items: String = users
                .iter()
                .map(|u| format!("<li>{}</li>", escape(&u.name)))
                .collect();
            format!(
                "<p>{} users, fetched from <code>/api/users</code> by the server:</p><ul>{items}</ul>",
                users.len()
            )
        }
        Err(e) => {
            tracing::error!("the call to /api/users failed: {e}");
            format!(
                "<p>The call to <code>/api/users</code> failed: {}</p>",
                escape(&e)
            )
        }
    };
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(format!(
            "<!doctype html><html><head><title>Outgoing call</title></head><body>\
             <h1>Outgoing call</h1>{body}<p><a href=\"/\">Home</a></p></body></html>"
        ))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One call the interop test harness asks for.
#[derive(Debug, Deserialize)]
pub(crate) struct InteropCall {
    url: String,
    arguments: serde_json::Value,
}

/// `POST /interop/trace-context`, the endpoint of the W3C Trace Context test suite: for each
/// `{url, arguments}` in the JSON list, POST `arguments` as JSON to `url`, carrying the request's
/// trace context on.
pub(crate) async fn interop(req: HttpRequest, calls: web::Json<Vec<InteropCall>>) -> HttpResponse {
    let client = awc::Client::default();
    for call in calls.into_inner() {
        let request = client.post(&call.url);
        if let Err(e) = otel::awc::send(&req, request, |r| r.send_json(&call.arguments)).await {
            tracing::warn!(url = %call.url, "interop call failed: {e}");
        }
    }
    HttpResponse::Ok().finish()
}
