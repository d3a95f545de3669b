//! The middleware's Transform/Service pair: what to do with each request, and the recording of
//! the requests the toolbar serves.

use std::future::{Ready, ready};
use std::net::IpAddr;
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::header;
use actix_web::{Error, HttpMessage};
use debug_toolbar_core::integration::RequestRecorder;
use debug_toolbar_core::{CpuTime, HeaderLookup, RecordingLimits, RequestHead, RequestState};
use tracing::Instrument;

use crate::future::{CpuTimed, ToolbarFuture};
use crate::panic::{self, CatchPanic, KeptHead};
use crate::respond::{Served, panic_page};
use crate::routes;
use crate::toolbar::{DebugToolbar, Shared};

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
            let (http_req, payload) = req.into_parts();
            let response = match &shared.toolbar {
                Some(toolbar) => routes::serve(&shared, toolbar, &http_req, payload).await,
                None => routes::not_found(),
            };
            Ok(ServiceResponse::new(http_req, response).map_into_right_body())
        }))
    }

    #[inline(never)]
    fn record(&self, mut req: ServiceRequest, client: IpAddr) -> ToolbarFuture<S::Future, B> {
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
        crate::request_body::tap(&mut req);
        panic::install_hook();
        // Boxed: only a panic page reads it, and the served future stays small.
        let kept = Box::new(KeptHead::new(&req));
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
                        // Boxed, as panics are rare: the served future stays small.
                        Some(res) => {
                            let into = ServiceResponse::map_into_right_body;
                            Box::pin(served.respond(res, Some(report), into)).await
                        }
                        // No page to show: actix-web's own behaviour, the connection dropped.
                        None => caught.resume(),
                    }
                }
            }
        }))
    }
}
