//! The answer to a recorded request: the record made and stored, the toolbar's headers set, and
//! the toolbar injected into the page, put on an intercepted redirect or a panic page.

use std::net::IpAddr;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use actix_web::Error;
use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use debug_toolbar_core::FinishedRequest;
use debug_toolbar_core::integration::{RequestRecorder, ShellContext, Stopwatch, Toolbar};
use debug_toolbar_core::{
    CpuTime, PanicReport, RecordId, RequestKind, RequestRecord, RequestState, Spent, StoreError,
    Timing, ToolbarCost,
};

use crate::body::{self, Cut, Read};
use crate::config::ToolbarConfig;
use crate::encoding::{self, Coding, DecodeError};
use crate::info;
use crate::inject::{self, Skip};
use crate::panic::KeptHead;
use crate::toolbar::Shared;

/// Header carrying the id of the request's record on every response the toolbar serves.
pub const TOOLBAR_ID_HEADER: HeaderName = HeaderName::from_static("x-debug-toolbar-id");
/// The `Server-Timing` header.
const SERVER_TIMING: HeaderName = HeaderName::from_static("server-timing");

/// Header saying why the toolbar was not injected into a served response.
pub const TOOLBAR_STATUS_HEADER: HeaderName = HeaderName::from_static("x-debug-toolbar");

/// A recorded request whose handler is done (or panicked), ready to be stored and answered.
pub(crate) struct Served {
    pub(crate) shared: Arc<Shared>,
    pub(crate) recorder: RequestRecorder,
    pub(crate) state: Arc<RequestState>,
    pub(crate) client: IpAddr,
    pub(crate) cpu: Option<CpuTime>,
}

/// What is left of a served response once its record is made: the toolbar to inject into its
/// page, or nothing.
enum Answer<R, B> {
    /// The response as it goes out; its record is on its way to the store.
    Done(ServiceResponse<EitherBody<B>>),
    /// A page to read and inject the shell into before it goes out and its record is stored.
    Inject(Box<Injection<R>>),
}

/// A page waiting for the toolbar, with what its record still needs.
struct Injection<R> {
    res: ServiceResponse<R>,
    shell: String,
    coding: Option<Coding>,
    record: RequestRecord,
    cost: ToolbarCost,
    shared: Arc<Shared>,
    state: Arc<RequestState>,
}

impl Served {
    /// Records the request, stores the record and sends `res` with the toolbar's headers and,
    /// where it fits, the toolbar; `into` says how `res` goes out untouched.
    pub(crate) async fn respond<R, B>(
        self,
        res: ServiceResponse<R>,
        panic: Option<PanicReport>,
        into: fn(ServiceResponse<R>) -> ServiceResponse<EitherBody<B>>,
    ) -> Result<ServiceResponse<EitherBody<B>>, Error>
    where
        R: MessageBody + 'static,
        B: MessageBody + 'static,
    {
        // Everything but reading the page is done before the first await, so that this future
        // stays small: only a page to inject into keeps a (boxed) future of its own.
        match self.answer(res, panic, into) {
            Answer::Done(res) => Ok(res),
            Answer::Inject(injection) => Ok(Box::pin(injection.inject()).await),
        }
    }

    /// The record made, and the response with the toolbar's headers, unless its page is still
    /// to be injected into.
    fn answer<R, B>(
        self,
        res: ServiceResponse<R>,
        panic: Option<PanicReport>,
        into: fn(ServiceResponse<R>) -> ServiceResponse<EitherBody<B>>,
    ) -> Answer<R, B>
    where
        R: MessageBody + 'static,
        B: MessageBody + 'static,
    {
        let Served {
            shared,
            recorder,
            state,
            client,
            cpu,
        } = self;
        let wall = recorder.elapsed();
        let recording = recorder.finish();
        let Some(toolbar) = &shared.toolbar else {
            return Answer::Done(into(res));
        };
        let stats_watch = Stopwatch::start();
        let Some(id) = RecordId::random() else {
            return Answer::Done(into(res));
        };
        let request = info::request_info(res.request(), Some(client));
        let mut response = info::response_info(res.response());
        response.panic = panic;
        let timing = Timing {
            started_at: recorder.started_at(),
            wall,
            cpu,
        };
        let finished = FinishedRequest {
            id,
            request: &request,
            response: &response,
            timing: &timing,
            recording: &recording,
            state: &state,
            layer_attached: recorder.is_attached(),
        };
        let outcome = toolbar.record(&finished);
        let record = outcome.record;
        let mut cost = ToolbarCost {
            recording_ms: recorder.recording_time().as_secs_f64() * 1000.0,
            stats: stats_watch.stop(),
            ..ToolbarCost::default()
        };
        let redirect = shared
            .config
            .intercept_redirects
            .then(|| intercepted_redirect(&res, record.kind))
            .flatten();
        // An intercepted redirect becomes a page of the toolbar's own, always injectable.
        let injectable = match redirect {
            Some(_) => Ok(None),
            None => inject::check(
                res.request().method(),
                res.status(),
                res.headers(),
                res.response().body().size(),
                shared.config.max_body_bytes,
            ),
        };
        let shell = injectable.map(|coding| {
            let render_watch = Stopwatch::start();
            let nonce = inject::csp_nonce(res.headers());
            let store = toolbar.store_health();
            let cx = ShellContext {
                prefix: &shared.config.prefix,
                nonce: nonce.as_deref(),
                record: &record,
                update_on_fetch: shared.config.update_on_fetch,
                store: Some(&store),
            };
            let shell = toolbar.renderer().shell(&cx);
            cost.render = render_watch.stop();
            (shell, coding)
        });
        let mut res = res;
        let method = res.request().method().clone();
        let headers = res.headers_mut();
        let id = id.to_string();
        if let Ok(value) = HeaderValue::from_str(&id) {
            headers.insert(TOOLBAR_ID_HEADER, value);
        }
        // The record id and the method also go into Server-Timing, where the toolbar's
        // script finds them for the page's own fetch/XHR requests through Resource Timing
        // (which tells neither). A method is a token: it needs no escaping in the quotes.
        let mut timings = String::with_capacity(256);
        for timing in &outcome.server_timing {
            timing.write_header_value(&mut timings);
            timings.push_str(", ");
        }
        timings.push_str("debug-toolbar;desc=\"");
        timings.push_str(&id);
        timings.push(' ');
        timings.push_str(method.as_str());
        timings.push('"');
        if let Ok(value) = HeaderValue::from_str(&timings) {
            headers.append(SERVER_TIMING, value);
        }
        for (name, value) in &outcome.response_headers {
            if let (Ok(name), Ok(value)) = (
                header::HeaderName::try_from(*name),
                HeaderValue::from_str(value),
            ) {
                headers.insert(name, value);
            }
        }
        let res = match (shell, redirect) {
            (Err(skip), _) => {
                headers.insert(
                    TOOLBAR_STATUS_HEADER,
                    HeaderValue::from_static(skip.header_value()),
                );
                into(res)
            }
            (Ok((shell, _)), Some(location)) => {
                match redirect_page(res.response(), &location, &shell, toolbar) {
                    Some(page) => {
                        let (req, _) = res.into_parts();
                        ServiceResponse::new(req, page).map_into_right_body()
                    }
                    None => into(res),
                }
            }
            (Ok((shell, coding)), None) => {
                return Answer::Inject(Box::new(Injection {
                    res,
                    shell,
                    coding,
                    record,
                    cost,
                    shared,
                    state,
                }));
            }
        };
        Answer::Done(finish(res, record, cost, &shared, &state))
    }
}

impl<R: MessageBody + 'static> Injection<R> {
    /// The page with the toolbar (or as it was, saying why not); its record stored.
    async fn inject<B>(self) -> ServiceResponse<EitherBody<B>> {
        let Injection {
            res,
            shell,
            coding,
            record,
            mut cost,
            shared,
            state,
        } = self;
        let Some(toolbar) = &shared.toolbar else {
            return res.map_into_boxed_body().map_into_right_body();
        };
        let (res, injection) = inject_into(res, &shell, coding, &shared.config, toolbar).await;
        cost.injection = injection;
        finish(res, record, cost, &shared, &state)
    }
}

/// Adds the toolbar's own time to the response and hands the record to the store, off the
/// response path.
fn finish<B>(
    mut res: ServiceResponse<B>,
    mut record: RequestRecord,
    cost: ToolbarCost,
    shared: &Arc<Shared>,
    state: &RequestState,
) -> ServiceResponse<B> {
    let Some(toolbar) = &shared.toolbar else {
        return res;
    };
    // The toolbar's own time, once all of it is known: a header of its own, since the
    // others went out with the head the body was injected into.
    if let Ok(value) = HeaderValue::from_str(&cost.server_timing().to_header_value()) {
        res.headers_mut().append(SERVER_TIMING, value);
    }
    record.toolbar = cost;
    // The spans of a callee go where its caller's record finds them.
    #[cfg(feature = "otel")]
    let own_spans = crate::receiver::own_spans(toolbar, &record, state)
        .map(|(trace, spans)| toolbar.store().save_spans(&trace, spans));
    #[cfg(not(feature = "otel"))]
    let _ = state;
    // Saved off the response path: a slow or unreachable store never delays the page. A
    // store that answers at once (the in-memory one) has saved the record when first asked,
    // and needs no task to wait for it.
    let mut save = toolbar.store().save(record);
    #[cfg(feature = "otel")]
    let waits_for_spans = own_spans.is_some();
    #[cfg(not(feature = "otel"))]
    let waits_for_spans = false;
    if !waits_for_spans
        && let Poll::Ready(result) = save.as_mut().poll(&mut Context::from_waker(Waker::noop()))
    {
        saved(shared, result);
        return res;
    }
    let failures = shared.clone();
    actix_web::rt::spawn(async move {
        saved(&failures, save.await);
        #[cfg(feature = "otel")]
        if let (Some(Err(e)), Some(toolbar)) = (
            match own_spans {
                Some(save) => Some(save.await),
                None => None,
            },
            &failures.toolbar,
        ) {
            toolbar.log_failure_once("store:spans", &e);
        }
    });
    res
}

/// Tells the event stream about a saved record, or logs why it was not saved.
fn saved(shared: &Shared, result: Result<(), StoreError>) {
    match (result, &shared.toolbar) {
        (Ok(()), _) => shared.feed.saved(),
        (Err(e), Some(toolbar)) => {
            toolbar.log_failure_once("store:save", &e);
        }
        (Err(_), None) => {}
    }
}

/// The toolbar's 500 page for a handler that panicked, on a request with the kept head; `None`
/// when the toolbar is off or the page does not render.
pub(crate) fn panic_page(
    shared: &Shared,
    kept: &KeptHead,
    report: &PanicReport,
) -> Option<ServiceResponse<BoxBody>> {
    let toolbar = shared.toolbar.as_ref()?;
    let req = kept.to_request();
    let page = match toolbar
        .renderer()
        .panic(req.method().as_str(), req.path(), report)
    {
        Ok(page) => page,
        Err(e) => {
            toolbar.log_failure_once("render:panic", &e);
            return None;
        }
    };
    let res = actix_web::HttpResponse::InternalServerError()
        .content_type("text/html; charset=utf-8")
        .body(page);
    Some(ServiceResponse::new(req, res))
}

/// Where a redirect the toolbar should stop at was going: a 3xx with a `Location`, not 304,
/// for a page load (scripts follow redirects themselves).
fn intercepted_redirect<B>(res: &ServiceResponse<B>, kind: RequestKind) -> Option<String> {
    let status = res.status();
    if kind != RequestKind::Page
        || !status.is_redirection()
        || status == actix_web::http::StatusCode::NOT_MODIFIED
        || res.request().method() == actix_web::http::Method::HEAD
    {
        return None;
    }
    res.headers()
        .get(header::LOCATION)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// The toolbar's stand-in for an intercepted redirect: a page with the toolbar and a link on.
/// It keeps the redirect's headers (cookies, the toolbar's own) but not `Location`.
fn redirect_page<B>(
    original: &actix_web::HttpResponse<B>,
    location: &str,
    shell: &str,
    toolbar: &Toolbar,
) -> Option<actix_web::HttpResponse<BoxBody>> {
    let status = original.status();
    let page = match toolbar.renderer().redirect(
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        location,
    ) {
        Ok(page) => page,
        Err(e) => {
            toolbar.log_failure_once("render:redirect", &e);
            return None;
        }
    };
    let body = inject::splice(page.as_bytes(), shell).unwrap_or_else(|| page.into_bytes());
    let mut response = actix_web::HttpResponse::Ok().body(body);
    let headers = response.headers_mut();
    for (name, value) in original.headers() {
        let dropped = [
            header::LOCATION,
            header::CONTENT_LENGTH,
            header::CONTENT_TYPE,
            header::CONTENT_ENCODING,
            header::ETAG,
        ];
        if !dropped.contains(name) {
            headers.append(name.clone(), value.clone());
        }
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    Some(response)
}

/// Reads the checked body and splices the shell in before `</body>`, decoding the page and
/// encoding it again when it came encoded. A body that cannot take the toolbar (too large or
/// too slow once read, undecodable, without `</body>`) goes on byte for byte, saying why.
async fn inject_into<R: MessageBody + 'static, B>(
    res: ServiceResponse<R>,
    shell: &str,
    coding: Option<Coding>,
    config: &ToolbarConfig,
    toolbar: &Toolbar,
) -> (ServiceResponse<EitherBody<B>>, Spent) {
    let (req, res) = res.into_parts();
    let (mut head, body) = res.into_parts();
    let limit = config.max_body_bytes;
    let mut spent = Spent::default();
    let (body, skip) = match body::read(body, limit, config.max_body_wait).await {
        Read::Cut(rest, cut) => {
            let skip = match cut {
                Cut::TooLarge => Some(Skip::TooLarge),
                Cut::TooSlow => Some(Skip::Slow),
                Cut::Failed => None,
            };
            (BoxBody::new(rest), skip)
        }
        Read::Whole(sent) => {
            let watch = Stopwatch::start();
            let page = with_toolbar(&sent, shell, coding, limit, toolbar);
            spent = watch.stop();
            match page {
                Ok(page) => {
                    let headers = head.headers_mut();
                    headers.remove(header::CONTENT_LENGTH);
                    headers.remove(header::ETAG);
                    (BoxBody::new(page), None)
                }
                Err(skip) => (BoxBody::new(sent), Some(skip)),
            }
        }
    };
    if let Some(skip) = skip {
        head.headers_mut().insert(
            TOOLBAR_STATUS_HEADER,
            HeaderValue::from_static(skip.header_value()),
        );
    }
    let res = head.set_body(body);
    (ServiceResponse::new(req, res).map_into_right_body(), spent)
}

/// The body as sent, with the shell spliced into its page, in the body's own coding.
fn with_toolbar(
    sent: &[u8],
    shell: &str,
    coding: Option<Coding>,
    limit: usize,
    toolbar: &Toolbar,
) -> Result<Vec<u8>, Skip> {
    let Some(coding) = coding else {
        return inject::splice(sent, shell).ok_or(Skip::NoBodyTag);
    };
    let decoded = match encoding::decode(coding, sent, limit) {
        Ok(decoded) => decoded,
        Err(DecodeError::TooLarge) => return Err(Skip::TooLarge),
        Err(DecodeError::Invalid(e)) => {
            let name = coding.name();
            toolbar.log_failure_once(
                &format!("decode:{name}"),
                &format_args!(
                    "a {name} encoded HTML page did not decode ({e}); sent without the toolbar"
                ),
            );
            return Err(Skip::Undecodable);
        }
    };
    let page = inject::splice(&decoded.page, shell).ok_or(Skip::NoBodyTag)?;
    encoding::encode(&decoded, &page).map_err(|e| {
        let name = coding.name();
        toolbar.log_failure_once(
            &format!("encode:{name}"),
            &format_args!(
                "a page could not be {name} encoded again ({e}); sent without the toolbar"
            ),
        );
        Skip::Encoded
    })
}
