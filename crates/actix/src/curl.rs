//! A stored request as it was sent: `GET {prefix}api/requests/{id}/curl` answers the curl
//! command that sends it again and the parts the dashboard replays it with.
//!
//! Everything comes from the record, whose secrets were masked when it was made
//! ([`debug_toolbar_core::redact`]): a masked header stays masked in the command and is left
//! out of the replay, where the browser sends its own cookies.

use actix_web::HttpResponse;
use debug_toolbar_core::integration::Toolbar;
use debug_toolbar_core::{NameValue, RECORD_FORMAT_VERSION, RequestBody, RequestRecord};
use serde::Serialize;

use crate::routes::{not_found, store_unavailable};

/// Headers neither the command nor the replay repeats: the URL, the connection and the body's
/// framing say them, or the browser sets them itself.
const LEFT_OUT: &[&str] = &[
    "host",
    "content-length",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "upgrade",
    "accept-encoding",
];

/// Headers the command keeps but a replay from the browser leaves to the browser.
const BROWSER_SETS: &[&str] = &["cookie", "origin", "referer", "user-agent"];

/// The request as sent.
#[derive(Debug, Serialize)]
pub(crate) struct SentRequest {
    /// HTTP method.
    pub(crate) method: String,
    /// The full URL (scheme, host, path, query).
    pub(crate) url: String,
    /// The URL without scheme and host, which a same-origin replay fetches.
    pub(crate) path_and_query: String,
    /// Headers as recorded (secrets masked).
    pub(crate) headers: Vec<NameValue>,
    /// Headers a replay from the browser sends: masked ones and those the browser sets itself
    /// are left out.
    pub(crate) replay_headers: Vec<NameValue>,
    /// Whether the request's headers were recorded (the Headers panel ran).
    pub(crate) headers_recorded: bool,
    /// The body as recorded (masked), when the application read a text body.
    pub(crate) body: Option<String>,
    /// Whether the body was longer than what was recorded, so `body` is only its start.
    pub(crate) body_truncated: bool,
    /// The command.
    pub(crate) curl: String,
}

impl SentRequest {
    /// The request of `record`; `host` stands in when the Request panel did not record one.
    pub(crate) fn of(record: &RequestRecord, host: &str) -> Self {
        let (scheme, host, query, body) = request_line(record, host);
        let body_truncated = body.as_ref().is_some_and(|b| b.truncated);
        let body = body.and_then(|b| b.text);
        let path_and_query = if query.is_empty() {
            record.path.clone()
        } else {
            format!("{}?{query}", record.path)
        };
        let url = format!("{scheme}://{host}{path_and_query}");
        let recorded = request_headers(record);
        let headers_recorded = recorded.is_some();
        let headers: Vec<NameValue> = recorded
            .unwrap_or_default()
            .into_iter()
            .filter(|h| !LEFT_OUT.contains(&h.name.to_ascii_lowercase().as_str()))
            .collect();
        let replay_headers = headers
            .iter()
            .filter(|h| {
                let name = h.name.to_ascii_lowercase();
                !BROWSER_SETS.contains(&name.as_str())
                    && !name.starts_with("sec-")
                    && !name.starts_with("x-debug-toolbar")
                    && h.value != debug_toolbar_core::redact::MASK
            })
            .cloned()
            .collect();
        let curl = curl_command(&record.method, &url, &headers, body.as_deref());
        Self {
            method: record.method.clone(),
            url,
            path_and_query,
            headers,
            replay_headers,
            headers_recorded,
            body,
            body_truncated,
            curl,
        }
    }
}

/// `GET api/requests/{id}/curl`.
pub(crate) async fn answer(toolbar: &Toolbar, id: &str, host: &str) -> HttpResponse {
    #[derive(Serialize)]
    struct Answer {
        format_version: u32,
        #[serde(flatten)]
        request: SentRequest,
    }
    let Ok(id) = id.parse() else {
        return not_found();
    };
    match toolbar.store().get(id).await {
        Ok(Some(record)) => HttpResponse::Ok().json(Answer {
            format_version: RECORD_FORMAT_VERSION,
            request: SentRequest::of(&record, host),
        }),
        Ok(None) => not_found(),
        Err(e) => store_unavailable(&e),
    }
}

/// Scheme, host, query string and body from the Request panel, else `http`, `host`, none and
/// none.
fn request_line(
    record: &RequestRecord,
    host: &str,
) -> (String, String, String, Option<RequestBody>) {
    #[cfg(feature = "request")]
    if let Some(Ok(stats)) = record.stats::<debug_toolbar_panels::RequestPanel>()
        && !stats.host.is_empty()
    {
        return (stats.scheme, stats.host, stats.query_string, stats.body);
    }
    #[cfg(not(feature = "request"))]
    let _ = record;
    ("http".to_owned(), host.to_owned(), String::new(), None)
}

/// The request headers the Headers panel recorded.
fn request_headers(record: &RequestRecord) -> Option<Vec<NameValue>> {
    #[cfg(feature = "headers")]
    if let Some(Ok(stats)) = record.stats::<debug_toolbar_panels::HeadersPanel>() {
        return Some(stats.request);
    }
    #[cfg(not(feature = "headers"))]
    let _ = record;
    None
}

/// `curl` with every argument quoted for a POSIX shell.
fn curl_command(method: &str, url: &str, headers: &[NameValue], body: Option<&str>) -> String {
    let mut command = String::from("curl");
    if method != "GET" {
        command.push_str(" -X ");
        command.push_str(&quote(method));
    }
    command.push(' ');
    command.push_str(&quote(url));
    for header in headers {
        command.push_str(" \\\n  -H ");
        command.push_str(&quote(&format!("{}: {}", header.name, header.value)));
    }
    if let Some(body) = body {
        command.push_str(" \\\n  --data-raw ");
        command.push_str(&quote(body));
    }
    command
}

/// `value` in single quotes; a single quote inside becomes `'\''`.
fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(name: &str, value: &str) -> NameValue {
        NameValue {
            name: name.to_owned(),
            value: value.to_owned(),
        }
    }

    #[test]
    fn the_command_quotes_every_argument() {
        let command = curl_command(
            "POST",
            "http://127.0.0.1:8080/api/users?q=it's",
            &[
                header("accept", "application/json"),
                header("x-note", "a'b"),
            ],
            Some(r#"{"a":1}"#),
        );
        assert_eq!(
            command,
            "curl -X 'POST' 'http://127.0.0.1:8080/api/users?q=it'\\''s' \\\n  -H 'accept: \
             application/json' \\\n  -H 'x-note: a'\\''b' \\\n  --data-raw '{\"a\":1}'"
        );
        assert_eq!(
            curl_command("GET", "http://h/", &[], None),
            "curl 'http://h/'"
        );
    }
}
