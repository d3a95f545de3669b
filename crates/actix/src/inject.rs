//! When the toolbar may be injected into a response, and where.

use actix_web::body::BodySize;
use actix_web::http::header::{self, HeaderMap};
use actix_web::http::{Method, StatusCode};
use memchr::memmem;

use crate::encoding::{BodyCoding, Coding, body_coding};

/// Why a response was left as the application made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Skip {
    /// A `HEAD` request has no body.
    Head,
    /// 1xx, 204 and 304 responses have no body.
    NoBodyStatus,
    /// 206 carries a range of a representation.
    PartialContent,
    /// A 3xx redirect: the browser follows it and never shows its body (see
    /// `intercept_redirects` for a page in its place).
    Redirect,
    /// Not `text/html`.
    NotHtml,
    /// `application/xhtml+xml`: parsed as XML, where the shell (HTML with a declarative shadow
    /// root) is not well-formed.
    Xhtml,
    /// A `Content-Encoding` the toolbar does not read, or several stacked.
    Encoded,
    /// The body is not valid in its `Content-Encoding`.
    Undecodable,
    /// `Content-Disposition: attachment`.
    Attachment,
    /// The body's length is unknown before it is sent (a stream that is not encoded).
    Streamed,
    /// An encoded stream did not end within the configured wait.
    Slow,
    /// The body is empty.
    Empty,
    /// The body is larger than the configured limit.
    TooLarge,
    /// The page has no `</body>`.
    NoBodyTag,
}

impl Skip {
    /// The value of the `X-Debug-Toolbar` header for this reason.
    pub(crate) fn header_value(self) -> &'static str {
        match self {
            Skip::Head => "skipped; reason=head-request",
            Skip::NoBodyStatus => "skipped; reason=no-body-status",
            Skip::PartialContent => "skipped; reason=partial-content",
            Skip::Redirect => "skipped; reason=redirect",
            Skip::NotHtml => "skipped; reason=not-html",
            Skip::Xhtml => "skipped; reason=xhtml",
            Skip::Encoded => "skipped; reason=encoded-body",
            Skip::Undecodable => "skipped; reason=undecodable-body",
            Skip::Attachment => "skipped; reason=attachment",
            Skip::Streamed => "skipped; reason=streamed",
            Skip::Slow => "skipped; reason=slow-body",
            Skip::Empty => "skipped; reason=empty-body",
            Skip::TooLarge => "skipped; reason=too-large",
            Skip::NoBodyTag => "skipped; reason=no-closing-body-tag",
        }
    }
}

/// Decides, from the head alone, whether the body may be read and injected into, and in
/// which coding it comes (`None`: as it is). An encoded stream (what actix-web's `Compress`
/// sends) is read as far as the limits allow.
pub(crate) fn check(
    method: &Method,
    status: StatusCode,
    headers: &HeaderMap,
    size: BodySize,
    max_body_bytes: usize,
) -> Result<Option<Coding>, Skip> {
    if method == Method::HEAD {
        return Err(Skip::Head);
    }
    if status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        return Err(Skip::NoBodyStatus);
    }
    if status == StatusCode::PARTIAL_CONTENT || headers.contains_key(header::CONTENT_RANGE) {
        return Err(Skip::PartialContent);
    }
    if status.is_redirection() {
        return Err(Skip::Redirect);
    }
    match media_type(headers) {
        Some(essence) if essence.eq_ignore_ascii_case("text/html") => {}
        Some(essence) if essence.eq_ignore_ascii_case("application/xhtml+xml") => {
            return Err(Skip::Xhtml);
        }
        _ => return Err(Skip::NotHtml),
    }
    let coding = match body_coding(headers) {
        BodyCoding::Identity => None,
        BodyCoding::Coded(coding) => Some(coding),
        BodyCoding::Unsupported => return Err(Skip::Encoded),
    };
    if headers
        .get(header::CONTENT_DISPOSITION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .get(..10)
                .is_some_and(|s| s.eq_ignore_ascii_case("attachment"))
        })
    {
        return Err(Skip::Attachment);
    }
    match size {
        BodySize::None => Err(Skip::Empty),
        BodySize::Stream if coding.is_none() => Err(Skip::Streamed),
        BodySize::Stream => Ok(coding),
        BodySize::Sized(0) => Err(Skip::Empty),
        BodySize::Sized(n) => match usize::try_from(n) {
            Ok(n) if n <= max_body_bytes => Ok(coding),
            _ => Err(Skip::TooLarge),
        },
    }
}

/// The `Content-Type` without its parameters (`text/html`).
fn media_type(headers: &HeaderMap) -> Option<&str> {
    let content_type = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    content_type.split(';').next().map(str::trim)
}

/// Where the last `</body>` (any case, optional whitespace before `>`) starts.
pub(crate) fn closing_body_tag(page: &[u8]) -> Option<usize> {
    memmem::rfind_iter(page, b"</").find(|&at| {
        let rest = &page[at + 2..];
        rest.len() >= 4
            && rest[..4].eq_ignore_ascii_case(b"body")
            && rest[4..]
                .iter()
                .find(|b| !b.is_ascii_whitespace())
                .is_some_and(|b| *b == b'>')
    })
}

/// The page with `markup` inserted before its last `</body>`; `None` if there is none.
pub(crate) fn splice(page: &[u8], markup: &str) -> Option<Vec<u8>> {
    let at = closing_body_tag(page)?;
    let mut out = Vec::with_capacity(page.len() + markup.len());
    out.extend_from_slice(&page[..at]);
    out.extend_from_slice(markup.as_bytes());
    out.extend_from_slice(&page[at..]);
    Some(out)
}

/// The nonce the response's `Content-Security-Policy` allows scripts with, if any.
pub(crate) fn csp_nonce(headers: &HeaderMap) -> Option<String> {
    let policies: Vec<&str> = headers
        .get_all(header::CONTENT_SECURITY_POLICY)
        .filter_map(|v| v.to_str().ok())
        .collect();
    ["script-src", "default-src"].iter().find_map(|wanted| {
        policies
            .iter()
            .flat_map(|policy| policy.split(';'))
            .filter_map(|directive| {
                let mut parts = directive.split_ascii_whitespace();
                let name = parts.next()?;
                name.eq_ignore_ascii_case(wanted).then_some(parts)
            })
            .flatten()
            .find_map(|source| {
                let nonce = source.strip_prefix("'nonce-")?.strip_suffix('\'')?;
                let valid = !nonce.is_empty()
                    && nonce
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"+/=-_".contains(&b));
                valid.then(|| nonce.to_owned())
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    #[test]
    fn finds_the_last_closing_body_tag_in_any_case() {
        let page = b"<body><pre></body></pre></BODY >\n</html>";
        assert_eq!(closing_body_tag(page), Some(24));
        assert_eq!(closing_body_tag(b"<p>no end"), None);
        assert_eq!(closing_body_tag(b"</bodyguard>"), None);
    }

    #[test]
    fn splices_before_the_tag() {
        let out = splice(b"<html><body>x</body></html>", "<i>t</i>").unwrap();
        assert_eq!(out, b"<html><body>x<i>t</i></body></html>");
    }

    #[test]
    fn reads_nonce_from_script_src_then_default_src() {
        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_static("content-security-policy"),
            HeaderValue::from_static("default-src 'nonce-def'; script-src 'self' 'nonce-abc+/='"),
        );
        assert_eq!(csp_nonce(&headers).as_deref(), Some("abc+/="));
        headers.insert(
            HeaderName::from_static("content-security-policy"),
            HeaderValue::from_static("default-src 'self' 'nonce-def'"),
        );
        assert_eq!(csp_nonce(&headers).as_deref(), Some("def"));
    }

    #[test]
    fn rejects_nonces_that_would_break_out_of_the_attribute() {
        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_static("content-security-policy"),
            HeaderValue::from_static("script-src 'nonce-a\"><script>'"),
        );
        assert_eq!(csp_nonce(&headers), None);
    }
}
