//! Shared helpers: the global subscriber, test toolbars, requests and assertions.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::{Arc, Once};

use actix_debug_toolbar::{
    DebugToolbar, InMemoryStore, Panel, StatsContext, Template, ToolbarConfig, ToolbarConfigBuilder,
};
use actix_web::body::MessageBody;
use actix_web::dev::ServiceResponse;
use actix_web::test::TestRequest;
use serde::{Deserialize, Serialize};
use tracing_subscriber::prelude::*;

/// Installs, once per test binary, a subscriber that feeds the toolbar's layer, behind its gate.
pub(crate) fn init_tracing() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let toolbar = DebugToolbar::new(ToolbarConfig::default());
        let _ = tracing_subscriber::registry()
            .with(toolbar.layer())
            .with(toolbar.gate(tracing_subscriber::filter::LevelFilter::OFF))
            .try_init();
    });
}

/// An enabled toolbar configuration with a store of its own, so tests do not see each other.
pub(crate) fn config() -> ToolbarConfigBuilder {
    ToolbarConfig::builder()
        .enabled(true)
        .store(Arc::new(InMemoryStore::new(25)))
}

/// A client the default configuration shows the toolbar to.
pub(crate) fn allowed_peer() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 50_000))
}

/// A client outside the default allowed networks.
pub(crate) fn refused_peer() -> SocketAddr {
    SocketAddr::from(([203, 0, 113, 9], 50_000))
}

/// A GET request from an allowed client.
pub(crate) fn get(uri: &str) -> TestRequest {
    TestRequest::get().uri(uri).peer_addr(allowed_peer())
}

/// A panel action from an allowed client, as the toolbar's script sends it: a POST with the
/// toolbar's own header.
pub(crate) fn action(uri: &str) -> TestRequest {
    TestRequest::post()
        .uri(uri)
        .peer_addr(allowed_peer())
        .insert_header(("x-debug-toolbar-action", "1"))
}

/// The value of header `name`, if present and text.
pub(crate) fn header<B>(res: &ServiceResponse<B>, name: &str) -> Option<String> {
    res.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The body as text.
pub(crate) async fn body_text<B: MessageBody>(res: ServiceResponse<B>) -> String {
    let bytes = actix_web::test::read_body(res).await;
    String::from_utf8(bytes.to_vec()).expect("utf-8 body")
}

/// Asserts that `haystack` contains `needle`, showing both when it does not.
#[track_caller]
pub(crate) fn assert_contains(haystack: &str, needle: &str) {
    assert!(
        haystack.contains(needle),
        "expected to find {needle:?} in:\n{haystack}"
    );
}

/// Asserts that `haystack` does not contain `needle`.
#[track_caller]
pub(crate) fn assert_lacks(haystack: &str, needle: &str) {
    assert!(
        !haystack.contains(needle),
        "did not expect {needle:?} in:\n{haystack}"
    );
}

/// A panel that exposes what `ToolbarLayer` recorded: event messages and span paths.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EventsPanel;

/// What [`EventsPanel`] records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct EventsStats {
    /// Each event as `span/path: message`.
    pub(crate) events: Vec<String>,
    /// Names of the recorded spans.
    pub(crate) spans: Vec<String>,
}

impl Panel for EventsPanel {
    type Stats = EventsStats;
    const ID: &'static str = "test-events";

    fn title(&self) -> Cow<'static, str> {
        "Events".into()
    }

    fn generate_stats(&self, cx: &StatsContext<'_>) -> EventsStats {
        let recording = cx.recording();
        EventsStats {
            events: recording
                .events
                .iter()
                .map(|event| {
                    let message = event
                        .field("message")
                        .map(|m| m.to_text())
                        .unwrap_or_default();
                    format!("{}: {message}", recording.span_path(event.span).join("/"))
                })
                .collect(),
            spans: recording
                .spans
                .iter()
                .map(|s| s.metadata.name().to_owned())
                .collect(),
        }
    }

    fn template(&self) -> Template {
        Template::new(
            "panels/test-events.html",
            "<ul>{% for e in stats.events %}<li>{{ e }}</li>{% endfor %}</ul>",
        )
    }
}

/// The stats of panel `P` in the record with id `id`, read back from the toolbar's store.
pub(crate) async fn stored_stats<P: Panel>(toolbar: &DebugToolbar, id: &str) -> P::Stats {
    let store = toolbar.store().expect("toolbar is on");
    let record = store
        .get(id.parse().expect("record id"))
        .await
        .expect("store answers")
        .expect("record stored");
    record
        .stats::<P>()
        .expect("panel present")
        .expect("stats deserialize")
}

/// Waits until record `id` is in the toolbar's store: records are saved off the response path.
pub(crate) async fn wait_until_stored(toolbar: &DebugToolbar, id: &str) {
    let store = toolbar.store().expect("toolbar is on");
    for _ in 0..200 {
        if store
            .get(id.parse().expect("record id"))
            .await
            .expect("store answers")
            .is_some()
        {
            return;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("record {id} was never stored");
}

/// The record with id `id`, read back from the toolbar's store.
pub(crate) async fn stored_record(
    toolbar: &DebugToolbar,
    id: &str,
) -> Arc<actix_debug_toolbar::RequestRecord> {
    let store = toolbar.store().expect("toolbar is on");
    store
        .get(id.parse().expect("record id"))
        .await
        .expect("store answers")
        .expect("record stored")
}

/// The route that serves the body of panel `panel` of record `id`.
pub(crate) fn panel_uri(id: &str, panel: &str) -> String {
    format!("/__debug_toolbar/panels/{id}/{panel}")
}

/// Serves the apps `factory` builds on `listener` (bound by the caller, to a free loopback
/// port) with one worker, in this process; the handle stops it.
pub(crate) fn serve<F, T, B>(
    listener: std::net::TcpListener,
    factory: F,
) -> actix_web::dev::ServerHandle
where
    F: Fn() -> actix_web::App<T> + Send + Clone + 'static,
    T: actix_web::dev::ServiceFactory<
            actix_web::dev::ServiceRequest,
            Config = (),
            Response = ServiceResponse<B>,
            Error = actix_web::Error,
            InitError = (),
        > + 'static,
    B: MessageBody + 'static,
{
    let server = actix_web::HttpServer::new(factory)
        .workers(1)
        .disable_signals()
        .listen(listener)
        .expect("serve on the bound port")
        .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    handle
}

/// The demo app with a toolbar of its own store, served in this process on a free port.
pub(crate) struct DemoServer {
    /// `http://127.0.0.1:{port}`.
    pub(crate) base: String,
    handle: actix_web::dev::ServerHandle,
}

impl DemoServer {
    pub(crate) async fn start() -> Self {
        init_tracing();
        let state = demo::State::new().await.expect("demo state");
        let toolbar = DebugToolbar::new(
            demo::toolbar_config(&state)
                .enabled(true)
                .store(Arc::new(InMemoryStore::new(25)))
                .build(),
        );
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        let addr = listener.local_addr().expect("bound address");
        let handle = serve(listener, move || {
            actix_web::App::new()
                .wrap(toolbar.clone())
                .app_data(state.clone())
                .configure(demo::routes)
        });
        Self {
            base: format!("http://{addr}"),
            handle,
        }
    }

    /// GETs `path` and returns the id of its record.
    pub(crate) async fn visit(&self, path: &str) -> String {
        let res = awc::Client::new()
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("the demo answers");
        res.headers()
            .get("x-debug-toolbar-id")
            .and_then(|v| v.to_str().ok())
            .expect("a recorded request")
            .to_owned()
    }

    /// Waits until the store holds `count` records (they are saved after the response).
    pub(crate) async fn stored(&self, count: usize) {
        for _ in 0..100 {
            let list = self.api("api/requests").await;
            if list["requests"].as_array().map_or(0, Vec::len) >= count {
                return;
            }
            actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("the store never held {count} records");
    }

    /// GETs a toolbar route (`api/…`) and parses its JSON.
    pub(crate) async fn api(&self, route: &str) -> serde_json::Value {
        let mut res = awc::Client::new()
            .get(format!("{}/__debug_toolbar/{route}", self.base))
            .send()
            .await
            .expect("the toolbar answers");
        assert_eq!(res.status(), 200, "{route}");
        res.json().limit(16 << 20).await.expect("JSON")
    }

    pub(crate) async fn stop(self) {
        self.handle.stop(true).await;
    }
}
