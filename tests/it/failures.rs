//! When the toolbar or a panel fails: panels that do not fit together switch the toolbar off,
//! a panel that fails anywhere (panics in a hook, stats that cannot be stored, a template that
//! cannot be rendered) is set aside with a note, and a page body that breaks while the toolbar
//! reads it is an error, not a cut page.

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_debug_toolbar::{DebugToolbar, Panel, RequestHead, RequestState, StatsContext, Template};
use actix_web::body::{BodySize, MessageBody};
use actix_web::http::StatusCode;
use actix_web::test::{call_service, init_service, try_call_service};
use actix_web::web::Bytes;
use actix_web::{App, HttpResponse, web};
use debug_toolbar_core::BuildError;

use crate::support::{assert_contains, body_text, config, get, header, panel_uri, stored_record};

const PAGE: &str = "<html><body>page</body></html>";

async fn page() -> HttpResponse {
    HttpResponse::Ok().content_type("text/html").body(PAGE)
}

/// A panel with the given id and template, recording nothing.
#[derive(Debug, Clone, Copy)]
struct Named<const N: usize>;

macro_rules! named {
    ($n:literal, $id:literal, $template:expr) => {
        impl Panel for Named<$n> {
            type Stats = ();
            const ID: &'static str = $id;
            fn title(&self) -> Cow<'static, str> {
                $id.into()
            }
            fn generate_stats(&self, _: &StatsContext<'_>) {}
            fn template(&self) -> Template {
                $template
            }
        }
    };
}

named!(0, "static", Template::new("panels/static.html", ""));
named!(1, "plain", Template::new("panels/plain.txt", "{{ stats }}"));
named!(2, "broken", Template::new("panels/broken.html", "{% if %}"));
named!(3, "twin", Template::new("panels/twin-a.html", ""));
named!(4, "twin", Template::new("panels/twin-b.html", ""));

#[actix_web::test]
async fn panels_that_do_not_fit_together_switch_the_toolbar_off() {
    crate::support::init_tracing();
    let cases: Vec<(actix_debug_toolbar::ToolbarConfigBuilder, &str)> = vec![
        (
            config().panel(Named::<0>),
            "panel id \"static\" is not usable: use lowercase letters, digits, '-' and '_', \
             and not one of static, panels, api",
        ),
        (
            config().panel(Named::<1>),
            "template \"panels/plain.txt\" does not parse: template names end in .html",
        ),
        (
            config().panel(Named::<2>),
            "template \"panels/broken.html\" does not parse: ",
        ),
        (
            config().panel(Named::<3>).panel(Named::<4>),
            "two panels have the id \"twin\"; panel ids must be unique",
        ),
    ];
    for (builder, message) in cases {
        let config = builder.build();
        let err = DebugToolbar::try_new(config.clone()).expect_err(message);
        assert_contains(&err.to_string(), message);
        if message.contains("does not parse") {
            assert!(matches!(err, BuildError::Template(..)), "{err:?}");
        }

        // The lenient constructor runs the application as if the toolbar were not there.
        let toolbar = DebugToolbar::new(config);
        assert!(!toolbar.is_enabled());
        assert!(toolbar.store().is_none());
        let app = init_service(App::new().wrap(toolbar).route("/", web::get().to(page))).await;
        for _ in 0..2 {
            let res = call_service(&app, get("/").to_request()).await;
            assert_eq!(header(&res, "x-debug-toolbar-id"), None, "{message}");
            assert_eq!(body_text(res).await, PAGE);
        }
        let res = call_service(&app, get("/__debug_toolbar/api/requests").to_request()).await;
        assert_eq!(
            res.status(),
            StatusCode::NOT_FOUND,
            "the application's own 404"
        );
    }
}

/// Panics as every request starts.
#[derive(Debug, Clone, Copy)]
struct PanicsOnRequest;

impl Panel for PanicsOnRequest {
    type Stats = bool;
    const ID: &'static str = "panics-on-request";
    fn title(&self) -> Cow<'static, str> {
        "Panics early".into()
    }
    fn on_request(&self, head: &RequestHead<'_>, _: &mut RequestState) {
        panic!("panel bug at {}", head.path);
    }
    fn generate_stats(&self, _: &StatsContext<'_>) -> bool {
        true
    }
    fn template(&self) -> Template {
        Template::new("panels/panics-on-request.html", "{{ stats }}")
    }
}

/// Stats that JSON cannot hold: a map whose keys are not strings.
#[derive(Debug, Clone, Copy)]
struct UnstorablePanel;

impl Panel for UnstorablePanel {
    type Stats = HashMap<(u8, u8), u8>;
    const ID: &'static str = "unstorable";
    fn title(&self) -> Cow<'static, str> {
        "Unstorable".into()
    }
    fn generate_stats(&self, _: &StatsContext<'_>) -> Self::Stats {
        HashMap::from([((1, 2), 3)])
    }
    fn template(&self) -> Template {
        Template::new("panels/unstorable.html", "{{ stats }}")
    }
}

/// Panics while it generates its stats.
#[derive(Debug, Clone, Copy)]
struct PanicsInStats;

impl Panel for PanicsInStats {
    type Stats = ();
    const ID: &'static str = "panics-in-stats";
    fn title(&self) -> Cow<'static, str> {
        "Panics late".into()
    }
    fn generate_stats(&self, cx: &StatsContext<'_>) {
        panic!("panel bug at {}", cx.request().path);
    }
    fn template(&self) -> Template {
        Template::new("panels/panics-in-stats.html", "")
    }
}

/// Panics in an optional hook, after its stats were made.
#[derive(Debug, Clone, Copy)]
struct PanicsInBadge;

impl Panel for PanicsInBadge {
    type Stats = u8;
    const ID: &'static str = "panics-in-badge";
    fn title(&self) -> Cow<'static, str> {
        "Panics in badge".into()
    }
    fn generate_stats(&self, _: &StatsContext<'_>) -> u8 {
        1
    }
    fn badge(&self, stats: &u8) -> Option<actix_debug_toolbar::Badge> {
        panic!("badge bug for {stats}");
    }
    fn template(&self) -> Template {
        Template::new("panels/panics-in-badge.html", "")
    }
}

/// Records fine; its template fails when rendered.
#[derive(Debug, Clone, Copy)]
struct FailsToRender;

impl Panel for FailsToRender {
    type Stats = u8;
    const ID: &'static str = "fails-to-render";
    fn title(&self) -> Cow<'static, str> {
        "Fails to render".into()
    }
    fn generate_stats(&self, _: &StatsContext<'_>) -> u8 {
        1
    }
    fn template(&self) -> Template {
        Template::new("panels/fails-to-render.html", "{{ stats.no.such.field }}")
    }
}

#[actix_web::test]
async fn a_panel_that_fails_anywhere_is_set_aside_with_a_note_and_the_rest_are_shown() {
    crate::support::init_tracing();
    let toolbar = DebugToolbar::new(
        config()
            .panel(PanicsOnRequest)
            .panel(PanicsInStats)
            .panel(PanicsInBadge)
            .panel(UnstorablePanel)
            .panel(FailsToRender)
            .build(),
    );
    let app = init_service(
        App::new()
            .wrap(toolbar.clone())
            .route("/", web::get().to(page)),
    )
    .await;
    let recorded_notes = [
        ("panics-on-request", "it panicked in on_request"),
        ("panics-in-stats", "it panicked in generate_stats"),
        ("panics-in-badge", "it panicked in generate_stats"),
        ("unstorable", "stats could not be serialized: "),
    ];
    for _ in 0..2 {
        let res = call_service(&app, get("/").to_request()).await;
        assert_eq!(res.status(), StatusCode::OK);
        let id = header(&res, "x-debug-toolbar-id").expect("still served");
        assert_contains(&body_text(res).await, "debug-toolbar");
        let record = stored_record(&toolbar, &id).await;
        for (panel, note) in recorded_notes {
            let part = record.panel(panel).expect("listed");
            assert!(part.stats.is_null(), "{panel}: {part:?}");
            assert_contains(part.note.as_deref().unwrap_or_default(), note);

            let res = call_service(&app, get(&panel_uri(&id, panel)).to_request()).await;
            assert_eq!(res.status(), StatusCode::OK, "{panel}");
            assert_contains(&body_text(res).await, note);
        }
        assert!(
            record
                .stats::<actix_debug_toolbar::panels::TimerPanel>()
                .is_some(),
            "the other panels are recorded"
        );

        assert_eq!(
            record.stats::<FailsToRender>().map(Result::ok),
            Some(Some(1))
        );
        let res = call_service(&app, get(&panel_uri(&id, "fails-to-render")).to_request()).await;
        assert_eq!(res.status(), StatusCode::OK, "a note, not a 500");
        let body = body_text(res).await;
        assert_contains(
            &body,
            "This panel failed: its template could not be rendered",
        );
        let res = call_service(&app, get(&panel_uri(&id, "timer")).to_request()).await;
        assert_eq!(res.status(), StatusCode::OK);
    }
}

/// A body that says it is `declared` bytes long and then sends `chunks`.
struct Lying {
    declared: u64,
    chunks: VecDeque<Result<Bytes, std::io::Error>>,
}

impl MessageBody for Lying {
    type Error = std::io::Error;

    fn size(&self) -> BodySize {
        BodySize::Sized(self.declared)
    }

    fn poll_next(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Poll::Ready(self.chunks.pop_front())
    }
}

async fn breaks() -> HttpResponse {
    HttpResponse::Ok().content_type("text/html").body(Lying {
        declared: 30,
        chunks: VecDeque::from([
            Ok(Bytes::from_static(b"<html><body>")),
            Err(std::io::Error::other("upstream went away")),
        ]),
    })
}

async fn grows() -> HttpResponse {
    HttpResponse::Ok().content_type("text/html").body(Lying {
        declared: 10,
        chunks: VecDeque::from([Ok(Bytes::from(vec![b'x'; 64]))]),
    })
}

#[actix_web::test]
async fn a_page_body_that_breaks_or_grows_while_read_goes_on_as_it_came() {
    crate::support::init_tracing();
    let app = init_service(
        App::new()
            .wrap(DebugToolbar::new(config().max_body_bytes(32).build()))
            .route("/breaks", web::get().to(breaks))
            .route("/grows", web::get().to(grows)),
    )
    .await;
    // The bytes read, then the body's own error: what the client would get without the toolbar.
    let res = try_call_service(&app, get("/breaks").to_request())
        .await
        .expect("the response as the application made it");
    assert_eq!(res.status(), StatusCode::OK);
    let err = actix_web::body::to_bytes(res.into_body())
        .await
        .expect_err("the body's error");
    crate::support::assert_contains(&err.to_string(), "upstream went away");
    // Past the limit: what was read and the rest, byte for byte.
    let res = try_call_service(&app, get("/grows").to_request())
        .await
        .expect("the response as the application made it");
    assert_eq!(
        res.headers().get("x-debug-toolbar").unwrap(),
        "skipped; reason=too-large"
    );
    let body = actix_web::body::to_bytes(res.into_body())
        .await
        .map_err(|e| e.to_string())
        .expect("the whole body");
    assert_eq!(body, vec![b'x'; 64]);
}
