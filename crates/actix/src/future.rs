//! The middleware's future types.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::Error;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::ServiceResponse;
use debug_toolbar_core::CpuTime;
use futures_util::future::LocalBoxFuture;
use pin_project_lite::pin_project;

type Output<B> = Result<ServiceResponse<EitherBody<B>>, Error>;

pin_project! {
    /// The future of [`crate::DebugToolbar`]'s service: the application's own future,
    /// untouched, for requests the toolbar does not serve, or the toolbar's work for those it
    /// does.
    #[doc(hidden)]
    #[must_use = "futures do nothing unless polled"]
    pub struct ToolbarFuture<F, B> {
        #[pin]
        kind: Kind<F, B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, B> {
        PassThrough { #[pin] fut: F },
        Served { fut: LocalBoxFuture<'static, Output<B>> },
    }
}

impl<F, B> ToolbarFuture<F, B> {
    pub(crate) fn pass_through(fut: F) -> Self {
        Self {
            kind: Kind::PassThrough { fut },
        }
    }

    pub(crate) fn served(fut: LocalBoxFuture<'static, Output<B>>) -> Self {
        Self {
            kind: Kind::Served { fut },
        }
    }
}

impl<F, B> std::fmt::Debug for ToolbarFuture<F, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.kind {
            Kind::PassThrough { .. } => "ToolbarFuture::PassThrough",
            Kind::Served { .. } => "ToolbarFuture::Served",
        })
    }
}

impl<F, B> Future for ToolbarFuture<F, B>
where
    F: Future<Output = Result<ServiceResponse<B>, Error>>,
    B: MessageBody,
{
    type Output = Output<B>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::PassThrough { fut } => fut
                .poll(cx)
                .map(|res| res.map(ServiceResponse::map_into_left_body)),
            KindProj::Served { fut } => fut.as_mut().poll(cx),
        }
    }
}

pin_project! {
    /// Adds up the CPU time the calling thread spends polling the inner future.
    pub(crate) struct CpuTimed<F> {
        #[pin]
        inner: F,
        used: Option<CpuTime>,
    }
}

impl<F: Future> CpuTimed<F> {
    /// Times `inner`, starting from `used` already spent (`None` where the platform does not
    /// report thread CPU time).
    pub(crate) fn new(inner: F, used: Option<CpuTime>) -> Self {
        Self { inner, used }
    }
}

impl<F: Future> Future for CpuTimed<F> {
    type Output = (F::Output, Option<CpuTime>);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let before = CpuTime::thread_now();
        let poll = this.inner.poll(cx);
        if let (Some(before), Some(after), Some(used)) =
            (before, CpuTime::thread_now(), this.used.as_mut())
        {
            *used += after - before;
        }
        let used = *this.used;
        poll.map(|output| (output, used))
    }
}
