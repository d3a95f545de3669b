//! The `DebugToolbar` middleware: decide, record, inject.

use std::future::{Ready, ready};
use std::net::IpAddr;
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{Error, HttpMessage};
use debug_toolbar_core::{
    AppInfo, BuildError, CpuTime, FinishedRequest, HeaderLookup, InMemoryStore, PanicReport,
    RecordId, RecordingLimits, RequestFilter, RequestHead, RequestKind, RequestRecorder,
    RequestState, ShellContext, Store, StoreHealth, Timing, Toolbar, ToolbarGate, ToolbarLayer,
    ToolbarSettings,
};
use tracing::Instrument;
use tracing_subscriber::filter::Filtered;
use tracing_subscriber::registry::LookupSpan;

use crate::access::Access;
use crate::body::{self, Cut, Read};
use crate::capture;
use crate::config::ToolbarConfig;
use crate::encoding::{self, Coding, DecodeError};
use crate::future::{CpuTimed, ToolbarFuture};
use crate::inject::{self, Skip};
use crate::panic::{self, CatchPanic, KeptHead};
use crate::routes;

/// Header carrying the id of the request's record on every response the toolbar serves.
pub const TOOLBAR_ID_HEADER: HeaderName = HeaderName::from_static("x-debug-toolbar-id");
/// Header saying why the toolbar was not injected into a served response.
pub const TOOLBAR_STATUS_HEADER: HeaderName = HeaderName::from_static("x-debug-toolbar");

/// The in-memory store shared by every toolbar built without a store of its own, so that all
/// workers of a server see each other's records.
fn default_store(capacity: usize) -> Arc<dyn Store> {
    static STORE: std::sync::OnceLock<Arc<InMemoryStore>> = std::sync::OnceLock::new();
    STORE
        .get_or_init(|| Arc::new(InMemoryStore::new(capacity)))
        .clone()
}

/// The debug toolbar middleware.
///
/// Wrap an `App` with it; every HTML page an allowed client opens then shows the toolbar:
///
/// ```no_run
/// use actix_web::{App, HttpServer};
/// use actix_debug_toolbar::{DebugToolbar, ToolbarConfig};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let toolbar = DebugToolbar::new(ToolbarConfig::from_env()?);
/// toolbar.init_tracing()?;
/// HttpServer::new(move || App::new().wrap(toolbar.clone()))
///     .bind(("127.0.0.1", 8080))?
///     .run()
///     .await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct DebugToolbar {
    shared: Arc<Shared>,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: ToolbarConfig,
    /// `None` when the toolbar is switched off or could not be built.
    pub(crate) toolbar: Option<Toolbar>,
    /// Why the toolbar could not be built, said again on the first request: `new` usually runs
    /// before the application installs its subscriber.
    build_error: Option<(BuildError, std::sync::Once)>,
    /// The access settings of `config`, ready for the checks every request makes.
    pub(crate) access: Access,
}

impl DebugToolbar {
    /// A toolbar with the given configuration and every panel enabled by cargo features.
    ///
    /// If the panels cannot be put together (see [`DebugToolbar::try_new`]) the error is logged
    /// and the toolbar stays off; the application runs as if it were not there.
    pub fn new(config: ToolbarConfig) -> Self {
        match Self::try_new(config.clone()) {
            Ok(toolbar) => toolbar,
            Err(e) => {
                tracing::error!(target: "debug_toolbar", "debug toolbar switched off: {e}");
                Self {
                    shared: Arc::new(Shared::new(config, None, Some((e, std::sync::Once::new())))),
                }
            }
        }
    }

    /// A toolbar with the given configuration; fails when two panels share an id, a panel's
    /// dependencies form a cycle or a template does not parse.
    pub fn try_new(config: ToolbarConfig) -> Result<Self, BuildError> {
        let toolbar = if config.enabled {
            let store = config
                .store
                .clone()
                .unwrap_or_else(|| default_store(config.store_capacity));
            let mut settings = ToolbarSettings::default();
            settings.recording_limits = config.recording_limits;
            settings.store_limits = config.store_limits;
            settings.disabled_panels = config.disabled_panels.clone();
            settings.panel_order = config.panel_order.clone();
            settings.app = app_info(&config);
            let builder = config
                .panels
                .iter()
                .fold(Toolbar::builder(), |builder, make| {
                    builder.boxed_panel(make())
                });
            Some(builder.store(store).settings(settings).build()?)
        } else {
            None
        };
        Ok(Self {
            shared: Arc::new(Shared::new(config, toolbar, None)),
        })
    }

    /// The `tracing` layer that records what happens inside the requests this toolbar serves;
    /// add it to the application's subscriber.
    pub fn layer<S>(&self) -> Filtered<ToolbarLayer, RequestFilter, S>
    where
        S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    {
        ToolbarLayer::filtered(self.shared.config.tracing_level)
    }

    /// A filter for the whole subscriber, added after every other layer: builds a span or event
    /// only when `others` (the filter of the application's own layers) or this toolbar wants
    /// it, so that the toolbar's layer costs nothing outside the requests it serves. See
    /// [`ToolbarGate`].
    pub fn gate<F>(&self, others: F) -> ToolbarGate<F> {
        ToolbarGate::new(others, self.shared.config.tracing_level)
    }

    /// Installs a global subscriber that prints `INFO` and above (or what `RUST_LOG` says, in
    /// `target=level` form) to stderr and feeds this toolbar's layer, behind its
    /// [gate](Self::gate). Also captures `log` records.
    pub fn init_tracing(&self) -> Result<(), tracing_subscriber::util::TryInitError> {
        use tracing_subscriber::prelude::*;
        let console = std::env::var("RUST_LOG")
            .ok()
            .and_then(|v| v.parse::<tracing_subscriber::filter::Targets>().ok())
            .unwrap_or_else(|| {
                tracing_subscriber::filter::Targets::new()
                    .with_default(tracing_subscriber::filter::LevelFilter::INFO)
            });
        // Off means off: no layer, and no raised level for the rest of the application.
        let enabled = self.is_enabled();
        tracing_subscriber::registry()
            .with(tracing_subscriber::fmt::layer().with_filter(console.clone()))
            .with(enabled.then(|| self.layer()))
            .with(enabled.then(|| self.gate(console)))
            .try_init()
    }

    /// Whether the toolbar is on.
    pub fn is_enabled(&self) -> bool {
        self.shared.toolbar.is_some()
    }

    /// The configuration.
    pub fn config(&self) -> &ToolbarConfig {
        &self.shared.config
    }

    /// The store records go to, when the toolbar is on.
    pub fn store(&self) -> Option<&Arc<dyn Store>> {
        self.shared.toolbar.as_ref().map(Toolbar::store)
    }

    /// Records saved, dropped and failed so far, and the store's last failure, when the
    /// toolbar is on.
    pub fn store_health(&self) -> Option<StoreHealth> {
        self.shared.toolbar.as_ref().map(Toolbar::store_health)
    }
}

fn app_info(config: &ToolbarConfig) -> AppInfo {
    let mut app = AppInfo::default();
    app.app = config.app.clone();
    app.framework = Some((
        "actix-web".to_owned(),
        env!("DEBUG_TOOLBAR_ACTIX_WEB_VERSION").to_owned(),
    ));
    app.features = crate::FEATURES.iter().map(|f| (*f).to_owned()).collect();
    app
}

impl<S, B> Transform<S, ServiceRequest> for DebugToolbar
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = ToolbarMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(ToolbarMiddleware {
            service: Rc::new(service),
            shared: self.shared.clone(),
        }))
    }
}

/// The service [`DebugToolbar`] wraps the application in.
#[doc(hidden)]
#[derive(Debug)]
pub struct ToolbarMiddleware<S> {
    service: Rc<S>,
    shared: Arc<Shared>,
}

/// The panels' state for the request being handled, in the request's extensions.
#[derive(Clone, Debug)]
pub(crate) struct ToolbarState(pub(crate) Arc<RequestState>);

/// What the panels kept for this request when it started (e.g. its trace context), when the
/// toolbar serves it.
pub fn request_state(req: &actix_web::HttpRequest) -> Option<Arc<RequestState>> {
    use actix_web::HttpMessage;
    req.extensions().get::<ToolbarState>().map(|s| s.0.clone())
}

/// actix-web's headers, as the core reads them.
struct HeaderMapLookup<'a>(&'a header::HeaderMap);

impl HeaderLookup for HeaderMapLookup<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(|v| v.to_str().ok())
    }

    fn header_count(&self, name: &str) -> usize {
        self.0.get_all(name).count()
    }

    fn header_values(&self, name: &str) -> Vec<&str> {
        self.0
            .get_all(name)
            .filter_map(|v| v.to_str().ok())
            .collect()
    }
}

/// What to do with a request.
enum Decision {
    /// Not the toolbar's business: the application answers, untouched.
    PassThrough,
    /// One of the toolbar's routes, for an allowed client.
    Route,
    /// One of the toolbar's routes, for anyone else.
    NotFound,
    /// Record the request and show the toolbar to this client.
    Record(IpAddr),
}

impl Shared {
    fn new(
        config: ToolbarConfig,
        toolbar: Option<Toolbar>,
        build_error: Option<(BuildError, std::sync::Once)>,
    ) -> Self {
        Self {
            access: Access::new(&config),
            config,
            toolbar,
            build_error,
        }
    }

    /// What to do with `req`: the checks of [`Access`] (the client, then the host), then the
    /// `show_toolbar` callback, guard the toolbar's routes and pages alike.
    fn decide(&self, req: &ServiceRequest) -> Decision {
        let is_route = req.path().starts_with(&self.config.prefix);
        let refused = if is_route {
            Decision::NotFound
        } else {
            Decision::PassThrough
        };
        let checked = self
            .access
            .client(req.peer_addr().map(|a| a.ip()), req.headers())
            .and_then(|client| {
                self.access.host(req.uri(), req.headers())?;
                Ok(client)
            });
        let client = match checked {
            Ok(client) => client,
            Err(refusal) => {
                refusal.log_once();
                return refused;
            }
        };
        if let Some(show) = &self.config.show_toolbar
            && !show(req)
        {
            return refused;
        }
        if is_route {
            Decision::Route
        } else {
            Decision::Record(client)
        }
    }
}

impl<S, B> Service<ServiceRequest> for ToolbarMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = ToolbarFuture<S::Future, B>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        if self.shared.toolbar.is_none() {
            if let Some((error, once)) = &self.shared.build_error {
                once.call_once(|| {
                    tracing::error!(target: "debug_toolbar", "debug toolbar switched off: {error}");
                });
            }
            return ToolbarFuture::pass_through(self.service.call(req));
        }
        match self.shared.decide(&req) {
            Decision::PassThrough => ToolbarFuture::pass_through(self.service.call(req)),
            Decision::NotFound => Self::not_found(req),
            Decision::Route => self.route(req),
            Decision::Record(client) => self.record(req, client),
        }
    }
}

// The served paths build large futures; kept out of line, they leave `call` a small stack frame
// for the requests the toolbar passes through.
impl<S, B> ToolbarMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    #[inline(never)]
    fn not_found(req: ServiceRequest) -> ToolbarFuture<S::Future, B> {
        let res = req.into_response(routes::not_found());
        ToolbarFuture::served(Box::pin(ready(Ok(res.map_into_right_body()))))
    }

    #[inline(never)]
    fn route(&self, req: ServiceRequest) -> ToolbarFuture<S::Future, B> {
        let shared = self.shared.clone();
        ToolbarFuture::served(Box::pin(async move {
            let (http_req, _payload) = req.into_parts();
            let response = match &shared.toolbar {
                Some(toolbar) => routes::serve(&shared, toolbar, &http_req).await,
                None => routes::not_found(),
            };
            Ok(ServiceResponse::new(http_req, response).map_into_right_body())
        }))
    }

    #[inline(never)]
    fn record(&self, req: ServiceRequest, client: IpAddr) -> ToolbarFuture<S::Future, B> {
        let limits = self
            .shared
            .toolbar
            .as_ref()
            .map_or_else(RecordingLimits::default, |toolbar| {
                toolbar.settings().recording_limits
            });
        let recorder = RequestRecorder::new(limits);
        let state = match &self.shared.toolbar {
            Some(toolbar) => {
                let headers = HeaderMapLookup(req.headers());
                let head = RequestHead::new(
                    req.method().as_str(),
                    req.path(),
                    recorder.started_at(),
                    &headers,
                );
                Arc::new(toolbar.start_request(&head))
            }
            None => Arc::default(),
        };
        req.extensions_mut().insert(ToolbarState(state.clone()));
        panic::install_hook();
        let kept = KeptHead::new(&req);
        let span = recorder.open_request_span(req.method().as_str(), req.path());
        let cpu_before = CpuTime::thread_now();
        let fut = {
            let _entered = span.enter();
            self.service.call(req)
        };
        let cpu_used = cpu_before.zip(CpuTime::thread_now()).map(|(b, a)| a - b);
        let shared = self.shared.clone();
        ToolbarFuture::served(Box::pin(async move {
            let (handled, cpu) =
                CpuTimed::new(CatchPanic::new(fut.instrument(span)), cpu_used).await;
            let served = Served {
                shared: shared.clone(),
                recorder,
                state,
                client,
                cpu,
            };
            match handled {
                Ok(res) => {
                    served
                        .respond(res?, None, ServiceResponse::map_into_left_body)
                        .await
                }
                Err(mut caught) => {
                    let report = caught.report();
                    match panic_page(&shared, &kept, &report) {
                        Some(res) => {
                            let into = ServiceResponse::map_into_right_body;
                            served.respond(res, Some(report), into).await
                        }
                        // No page to show: actix-web's own behaviour, the connection dropped.
                        None => caught.resume(),
                    }
                }
            }
        }))
    }
}

/// A recorded request whose handler is done (or panicked), ready to be stored and answered.
struct Served {
    shared: Arc<Shared>,
    recorder: RequestRecorder,
    state: Arc<RequestState>,
    client: IpAddr,
    cpu: Option<CpuTime>,
}

impl Served {
    /// Records the request, stores the record and sends `res` with the toolbar's headers and,
    /// where it fits, the toolbar; `into` says how `res` goes out untouched.
    async fn respond<R, B>(
        self,
        res: ServiceResponse<R>,
        panic: Option<PanicReport>,
        into: fn(ServiceResponse<R>) -> ServiceResponse<EitherBody<B>>,
    ) -> Result<ServiceResponse<EitherBody<B>>, Error>
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
            return Ok(into(res));
        };
        let Some(id) = RecordId::random() else {
            return Ok(into(res));
        };
        let request = capture::request_info(res.request(), Some(client));
        let mut response = capture::response_info(res.response());
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
        let redirect = shared
            .config
            .intercept_redirects
            .then(|| intercepted_redirect(&res, outcome.record.kind))
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
        let shell = match injectable {
            Ok(coding) => {
                let nonce = inject::csp_nonce(res.headers());
                let store = toolbar.store_health();
                let cx = ShellContext {
                    prefix: &shared.config.prefix,
                    nonce: nonce.as_deref(),
                    record: &outcome.record,
                    update_on_fetch: shared.config.update_on_fetch,
                    store: Some(&store),
                };
                match toolbar.renderer().shell(&cx) {
                    Ok(shell) => Ok((shell, coding)),
                    Err(e) => {
                        toolbar.log_failure_once("render:shell", &e);
                        return Ok(into(res));
                    }
                }
            }
            Err(skip) => Err(skip),
        };
        // Saved off the response path: a slow or unreachable store never delays the page.
        let save = toolbar.store().save(outcome.record);
        let failures = shared.clone();
        actix_web::rt::spawn(async move {
            if let (Err(e), Some(toolbar)) = (save.await, &failures.toolbar) {
                toolbar.log_failure_once("store:save", &e);
            }
        });
        let mut res = res;
        let method = res.request().method().clone();
        let headers = res.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&id.to_string()) {
            headers.insert(TOOLBAR_ID_HEADER, value);
        }
        // The record id and the method also go into Server-Timing, where the toolbar's
        // script finds them for the page's own fetch/XHR requests through Resource Timing
        // (which tells neither). A method is a token: it needs no escaping in the quotes.
        let timings: Vec<String> = outcome
            .server_timing
            .iter()
            .map(|t| t.to_header_value())
            .chain(std::iter::once(format!(
                "debug-toolbar;desc=\"{id} {method}\""
            )))
            .collect();
        if let Ok(value) = HeaderValue::from_str(&timings.join(", ")) {
            headers.append(header::HeaderName::from_static("server-timing"), value);
        }
        for (name, value) in &outcome.response_headers {
            if let (Ok(name), Ok(value)) = (
                header::HeaderName::try_from(*name),
                HeaderValue::from_str(value),
            ) {
                headers.insert(name, value);
            }
        }
        match (shell, redirect) {
            (Err(skip), _) => {
                headers.insert(
                    TOOLBAR_STATUS_HEADER,
                    HeaderValue::from_static(skip.header_value()),
                );
                Ok(into(res))
            }
            (Ok((shell, _)), Some(location)) => {
                match redirect_page(res.response(), &location, &shell, toolbar) {
                    Some(page) => {
                        let (req, _) = res.into_parts();
                        Ok(ServiceResponse::new(req, page).map_into_right_body())
                    }
                    None => Ok(into(res)),
                }
            }
            (Ok((shell, coding)), None) => {
                inject_into(res, &shell, coding, &shared.config, toolbar).await
            }
        }
    }
}

/// The toolbar's 500 page for a handler that panicked, on a request with the kept head; `None`
/// when the toolbar is off or the page does not render.
fn panic_page(
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
) -> Result<ServiceResponse<EitherBody<B>>, Error> {
    let (req, res) = res.into_parts();
    let (mut head, body) = res.into_parts();
    let limit = config.max_body_bytes;
    let (body, skip) = match body::read(body, limit, config.max_body_wait).await {
        Read::Cut(rest, cut) => {
            let skip = match cut {
                Cut::TooLarge => Some(Skip::TooLarge),
                Cut::TooSlow => Some(Skip::Slow),
                Cut::Failed => None,
            };
            (BoxBody::new(rest), skip)
        }
        Read::Whole(sent) => match with_toolbar(&sent, shell, coding, limit, toolbar) {
            Ok(page) => {
                let headers = head.headers_mut();
                headers.remove(header::CONTENT_LENGTH);
                headers.remove(header::ETAG);
                (BoxBody::new(page), None)
            }
            Err(skip) => (BoxBody::new(sent), Some(skip)),
        },
    };
    if let Some(skip) = skip {
        head.headers_mut().insert(
            TOOLBAR_STATUS_HEADER,
            HeaderValue::from_static(skip.header_value()),
        );
    }
    let res = head.set_body(body);
    Ok(ServiceResponse::new(req, res).map_into_right_body())
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

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]

    use super::*;

    // The only test of this binary that installs a global subscriber.
    #[test]
    fn init_tracing_feeds_the_toolbar_layer_once_per_process() {
        let toolbar = DebugToolbar::new(
            ToolbarConfig::builder()
                .enabled(true)
                .store(Arc::new(InMemoryStore::new(1)))
                .build(),
        );
        toolbar.init_tracing().expect("the first global subscriber");
        assert!(
            toolbar.init_tracing().is_err(),
            "a process has one global subscriber"
        );
        let recorder = RequestRecorder::new(RecordingLimits::default());
        let span = recorder.open_request_span("GET", "/");
        assert!(
            recorder.is_attached(),
            "the toolbar's layer took the request"
        );
        span.in_scope(|| tracing::debug!(target: "app", "inside"));
        tracing::debug!(target: "app", "outside");
        drop(span);
        let recording = recorder.finish();
        let messages: Vec<String> = recording
            .events
            .iter()
            .filter_map(|e| e.field("message").map(|m| m.to_text()))
            .collect();
        assert_eq!(messages, ["inside"], "DEBUG inside the request only");
    }
}
