//! Catching a served request's panic: the hook that notes where it happened, the future that
//! catches it, and the request head the toolbar answers on.
//!
//! The hook is process-wide, so it is installed once, at the first request the toolbar records,
//! on top of whatever hook was there (which it always calls on, so the application's own panic
//! output stays). It notes a panic only on a thread that is polling a recorded request's
//! handler at that moment; every other panic goes straight to the previous hook. Swapping the
//! hook in and out around each request would race between workers and could lose the
//! application's hook.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Once;
use std::task::{Context, Poll};

use actix_web::HttpRequest;
use actix_web::dev::ServiceRequest;
use actix_web::http::header::HeaderMap;
use actix_web::http::{Method, Uri, Version};
use debug_toolbar_core::{PanicReport, StackFrame};
use pin_project_lite::pin_project;

thread_local! {
    /// Whether this thread is polling a recorded request's handler.
    static WATCHING: Cell<bool> = const { Cell::new(false) };
    /// What the hook noted of the last panic while watching.
    static NOTED: RefCell<Option<Noted>> = const { RefCell::new(None) };
}

/// What the hook sees that the caught payload does not tell.
struct Noted {
    location: Option<String>,
    backtrace: backtrace::Backtrace,
}

/// Installs the toolbar's panic hook, once per process.
pub(crate) fn install_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if WATCHING.get() {
                let location = info
                    .location()
                    .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
                // Unresolved: walking the stack is cheap, symbols are looked up only for a page.
                let backtrace = backtrace::Backtrace::new_unresolved();
                NOTED.set(Some(Noted {
                    location,
                    backtrace,
                }));
            }
            previous(info);
        }));
    });
}

pin_project! {
    /// Polls a recorded request's handler, catching a panic.
    pub(crate) struct CatchPanic<F> {
        #[pin]
        inner: F,
    }
}

impl<F> CatchPanic<F> {
    pub(crate) fn new(inner: F) -> Self {
        Self { inner }
    }
}

impl<F: Future> Future for CatchPanic<F> {
    type Output = Result<F::Output, Caught>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.project().inner;
        let watching = WATCHING.replace(true);
        // The handler's future is never polled again after a panic: it is dropped.
        let polled = catch_unwind(AssertUnwindSafe(|| inner.poll(cx)));
        WATCHING.set(watching);
        match polled {
            Ok(poll) => poll.map(Ok),
            Err(payload) => Poll::Ready(Err(Caught {
                payload,
                noted: NOTED.take(),
            })),
        }
    }
}

/// A panic caught while polling a handler.
pub(crate) struct Caught {
    payload: Box<dyn Any + Send>,
    noted: Option<Noted>,
}

impl std::fmt::Debug for Caught {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caught")
            .field("message", &message(self.payload.as_ref()))
            .finish_non_exhaustive()
    }
}

impl Caught {
    /// The panic's message, location and the application's frames (symbols resolved here).
    pub(crate) fn report(&mut self) -> PanicReport {
        let mut report = PanicReport::new(message(self.payload.as_ref()));
        if let Some(noted) = &mut self.noted {
            report.location = noted.location.clone();
            noted.backtrace.resolve();
            report.frames = application_frames(&noted.backtrace);
        }
        report
    }

    /// Goes on panicking, as if the toolbar were not there.
    pub(crate) fn resume(self) -> ! {
        std::panic::resume_unwind(self.payload)
    }
}

fn message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any>".to_owned()
    }
}

/// Most frames a report keeps.
const MAX_FRAMES: usize = 64;

/// The frames with a source file of the application: not the standard library's, not a
/// dependency's (from the cargo registry or git checkouts), not the toolbar's own.
fn application_frames(backtrace: &backtrace::Backtrace) -> Vec<StackFrame> {
    backtrace
        .frames()
        .iter()
        .flat_map(backtrace::BacktraceFrame::symbols)
        .filter_map(|symbol| {
            let file = symbol.filename()?.to_string_lossy().into_owned();
            let function = symbol.name().map(|n| format!("{n:#}")).unwrap_or_default();
            is_application(&function, &file).then(|| {
                let mut frame = StackFrame::new(function);
                frame.file = Some(file);
                frame.line = symbol.lineno();
                frame
            })
        })
        .take(MAX_FRAMES)
        .collect()
}

fn is_application(function: &str, file: &str) -> bool {
    const FOREIGN_FILES: [&str; 4] = ["/rustc/", "/.cargo/registry/", "/.cargo/git/", "/rustlib/"];
    const FOREIGN_FUNCTIONS: [&str; 6] = [
        "std::",
        "core::",
        "alloc::",
        "backtrace::",
        "actix_debug_toolbar::",
        "<actix_debug_toolbar::",
    ];
    !FOREIGN_FILES.iter().any(|f| file.contains(f))
        && !FOREIGN_FUNCTIONS.iter().any(|f| function.starts_with(f))
}

/// The request head, kept before the request goes to the application (a `ServiceRequest`
/// cannot be cloned before routing), so that the toolbar can answer when the handler panics.
#[derive(Debug)]
pub(crate) struct KeptHead {
    method: Method,
    uri: Uri,
    version: Version,
    headers: HeaderMap,
    peer: Option<SocketAddr>,
}

impl KeptHead {
    pub(crate) fn new(req: &ServiceRequest) -> Self {
        Self {
            method: req.method().clone(),
            uri: req.uri().clone(),
            version: req.version(),
            headers: req.headers().clone(),
            peer: req.peer_addr(),
        }
    }

    /// A request with this head, to answer on (without the application's data or route).
    pub(crate) fn to_request(&self) -> HttpRequest {
        let mut req = actix_web::test::TestRequest::default()
            .method(self.method.clone())
            .uri(&self.uri.to_string())
            .version(self.version);
        for (name, value) in &self.headers {
            req = req.append_header((name.clone(), value.clone()));
        }
        if let Some(peer) = self.peer {
            req = req.peer_addr(peer);
        }
        req.to_http_request()
    }
}
