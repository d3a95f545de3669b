//! The request body as the application reads it: the payload is passed on chunk by chunk while
//! its first [`MAX_RECORDED`] bytes are kept for the record, masked when it is made.

use std::cell::RefCell;
use std::rc::Rc;

use actix_web::HttpMessage;
use actix_web::dev::{Payload, ServiceRequest};
use actix_web::error::PayloadError;
use actix_web::http::header;
use debug_toolbar_core::{RequestBody, redact};
use futures_util::StreamExt;

/// Bytes of a request body kept for the record.
pub(crate) const MAX_RECORDED: usize = 16 * 1024;

/// What was read of the body so far; in the request's extensions.
#[derive(Clone, Default)]
pub(crate) struct BodyTap(Rc<RefCell<Tapped>>);

#[derive(Default)]
struct Tapped {
    kept: Vec<u8>,
    size: u64,
}

/// Puts a tap on the request's payload; a request without one is left alone.
pub(crate) fn tap(req: &mut ServiceRequest) {
    let payload = req.take_payload();
    if matches!(payload, Payload::None) {
        req.set_payload(payload);
        return;
    }
    let tap = BodyTap::default();
    let tapped = tap.0.clone();
    let stream = payload.inspect(move |chunk| {
        if let Ok(bytes) = chunk {
            let mut tapped = tapped.borrow_mut();
            tapped.size += bytes.len() as u64;
            let room = MAX_RECORDED.saturating_sub(tapped.kept.len());
            tapped
                .kept
                .extend_from_slice(&bytes[..room.min(bytes.len())]);
        }
    });
    let boxed: std::pin::Pin<
        Box<dyn futures_util::Stream<Item = Result<actix_web::web::Bytes, PayloadError>>>,
    > = Box::pin(stream);
    req.set_payload(Payload::from(boxed));
    req.extensions_mut().insert(tap);
}

impl BodyTap {
    /// What the application read, masked for a body of type `content_type`; `None` when it read
    /// nothing.
    pub(crate) fn recorded(&self, content_type: Option<&str>) -> Option<RequestBody> {
        let tapped = self.0.borrow();
        if tapped.size == 0 {
            return None;
        }
        let truncated = tapped.size > tapped.kept.len() as u64;
        let text = masked_text(&tapped.kept, content_type.unwrap_or(""), truncated);
        Some(RequestBody::new(text, tapped.size, truncated))
    }
}

/// The kept bytes as masked text; `None` when they are not UTF-8 text.
fn masked_text(kept: &[u8], content_type: &str, truncated: bool) -> Option<String> {
    let text = match std::str::from_utf8(kept) {
        Ok(text) => text,
        // Cut inside a character: keep what came before it.
        Err(e) if truncated && e.error_len().is_none() => {
            std::str::from_utf8(&kept[..e.valid_up_to()]).ok()?
        }
        Err(_) => return None,
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == "application/x-www-form-urlencoded" {
        return Some(redact::mask_query(text).into_owned());
    }
    if (essence == "application/json" || essence.ends_with("+json"))
        && let Ok(mut value) = serde_json::from_str::<serde_json::Value>(text)
    {
        redact::mask_json(&mut value);
        return Some(value.to_string());
    }
    if essence.starts_with("multipart/") {
        // Parts may be files or secrets under any name: only the size is kept.
        return None;
    }
    Some(redact::mask_text(text).into_owned())
}

/// The request's `Content-Type`.
pub(crate) fn content_type(req: &actix_web::HttpRequest) -> Option<&str> {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_by_the_body_type() {
        let json = masked_text(
            br#"{"user":"ann","password":"hunter2"}"#,
            "application/json; charset=utf-8",
            false,
        )
        .unwrap();
        assert!(json.contains("ann") && !json.contains("hunter2"), "{json}");
        let form = masked_text(
            b"user=ann&token=abc",
            "application/x-www-form-urlencoded",
            false,
        )
        .unwrap();
        assert!(form.contains("ann") && !form.contains("abc"), "{form}");
        assert_eq!(
            masked_text(b"a=1", "multipart/form-data; boundary=x", false),
            None
        );
        assert_eq!(
            masked_text(&[0xff, 0xfe], "application/octet-stream", false),
            None
        );
        // A cut inside a character keeps what came before.
        assert_eq!(
            masked_text("né".as_bytes()[..2].as_ref(), "text/plain", true).as_deref(),
            Some("n")
        );
    }
}
