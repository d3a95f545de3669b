//! What the toolbar reads of actix-web's request and response.

use std::net::IpAddr;

use actix_web::HttpResponse;
use actix_web::body::{BodySize, MessageBody};
use actix_web::http::header::HeaderMap;
use actix_web::web::Query;
use actix_web::{HttpMessage, HttpRequest};
use debug_toolbar_core::{HttpVersion, NameValue, RequestInfo, ResponseInfo, redact};
use percent_encoding::percent_decode_str;

/// The request, secrets masked, as seen after routing (so the matched route is known).
pub(crate) fn request_info(req: &HttpRequest, client: Option<IpAddr>) -> RequestInfo {
    let connection = req.connection_info();
    let mut info = RequestInfo::new(req.method().as_str(), masked_path(req));
    info.query_string = redact::mask_query(req.query_string()).into_owned();
    info.query_params = Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map(|q| {
            q.into_inner()
                .into_iter()
                .map(|(name, value)| NameValue::redacted(name, value))
                .collect()
        })
        .unwrap_or_default();
    info.path_params = req
        .match_info()
        .iter()
        .map(|(name, value)| NameValue::redacted(name, value))
        .collect();
    info.route_pattern = req.match_pattern();
    info.route_name = req.match_name().map(str::to_owned);
    info.headers = headers(req.headers());
    info.cookies = cookies(req.headers());
    info.http_version = http_version(req.version());
    info.scheme = connection.scheme().to_owned();
    info.host = connection.host().to_owned();
    info.client_addr = client;
    info.peer_addr = req.peer_addr().map(|a| a.ip());
    info.body = req
        .extensions()
        .get::<crate::request_body::BodyTap>()
        .and_then(|tap| tap.recorded(crate::request_body::content_type(req)));
    info
}

fn http_version(version: actix_web::http::Version) -> Option<HttpVersion> {
    use actix_web::http::Version;
    Some(match version {
        Version::HTTP_09 => HttpVersion::Http09,
        Version::HTTP_10 => HttpVersion::Http10,
        Version::HTTP_11 => HttpVersion::Http11,
        Version::HTTP_2 => HttpVersion::H2,
        Version::HTTP_3 => HttpVersion::H3,
        _ => return None,
    })
}

/// The response head as the application made it.
pub(crate) fn response_info<B: MessageBody>(res: &HttpResponse<B>) -> ResponseInfo {
    let status = res.status();
    let mut info = ResponseInfo::new(status.as_u16());
    info.reason = status.canonical_reason().unwrap_or("").to_owned();
    info.headers = headers(res.headers());
    info.body_size = match res.body().size() {
        BodySize::Sized(n) => Some(n),
        BodySize::None => Some(0),
        BodySize::Stream => None,
    };
    info
}

fn headers(map: &HeaderMap) -> Vec<NameValue> {
    let mut headers: Vec<NameValue> = map
        .iter()
        .map(|(name, value)| {
            NameValue::redacted(name.as_str(), String::from_utf8_lossy(value.as_bytes()))
        })
        .collect();
    headers.sort_by(|a, b| a.name.cmp(&b.name));
    headers
}

fn cookies(map: &HeaderMap) -> Vec<NameValue> {
    map.get_all(actix_web::http::header::COOKIE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .flat_map(|line| {
            line.split(';')
                .filter_map(|pair| {
                    let (name, value) = pair.split_once('=')?;
                    Some(NameValue::redacted(name.trim(), value.trim()))
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The path with the segments that hold a secret masked: those matched by a secret-named route
/// parameter (`/reset/{token}`) and JSON Web Tokens.
fn masked_path(req: &HttpRequest) -> String {
    let secrets: Vec<&str> = req
        .match_info()
        .iter()
        .filter(|(name, value)| !value.is_empty() && redact::is_secret_name(name))
        .map(|(_, value)| value)
        .collect();
    let path = req.path();
    let is_secret = |segment: &str| {
        redact::is_jwt(segment)
            || secrets.iter().any(|secret| {
                *secret == segment || percent_decode_str(segment).decode_utf8_lossy() == *secret
            })
    };
    if !path.split('/').any(is_secret) {
        return path.to_owned();
    }
    path.split('/')
        .map(|segment| {
            if is_secret(segment) {
                redact::MASK
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}
