//! A handler that panics: a debug page with the toolbar for the clients the toolbar serves, a
//! stored record and an exported error span; actix-web's own behaviour (the connection closed)
//! for everyone else.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use actix_debug_toolbar::DebugToolbar;
use actix_debug_toolbar::otel::{OtelConfig, Protocol};
use actix_web::{App, HttpResponse, test, web};

use crate::otel::receivers::{Receivers, Wire};
use crate::otel::{panel, shut_down};
use crate::support::{
    assert_contains, assert_lacks, body_text, config, get, header, init_tracing, stored_record,
};

async fn give_up() -> HttpResponse {
    tracing::warn!(target: "app", "about to give up");
    let line = line!() + 1;
    panic!("gave up on <b>purpose</b> at line {line}");
}

fn app(cfg: &mut web::ServiceConfig) {
    cfg.route("/give-up", web::get().to(give_up));
}

/// The line the handler panicked on, as its message says.
#[track_caller]
fn panic_line(page: &str) -> u32 {
    let (_, after) = page
        .split_once("at line ")
        .expect("the message on the page");
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().expect("a line number")
}

#[actix_web::test]
async fn a_served_panicking_handler_gets_a_debug_page_a_record_and_an_error_span() {
    init_tracing();
    let receivers = Receivers::start();
    let otel = panel(OtelConfig::builder().otlp(Protocol::Grpc, receivers.grpc_endpoint.clone()));
    let toolbar = DebugToolbar::new(config().panel(otel.clone()).build());
    let service = test::init_service(App::new().wrap(toolbar.clone()).configure(app)).await;

    let res = test::call_service(&service, get("/give-up").to_request()).await;

    assert_eq!(res.status(), 500);
    assert_eq!(
        header(&res, "content-type").as_deref(),
        Some("text/html; charset=utf-8")
    );
    let id = header(&res, "x-debug-toolbar-id").expect("the request is recorded");
    let traceresponse = header(&res, "traceresponse").expect("the trace goes on");
    let page = body_text(res).await;
    assert_contains(&page, "gave up on &lt;b&gt;purpose");
    assert_lacks(&page, "<b>purpose");
    let line = panic_line(&page);
    assert_contains(&page, &format!("tests/it/panics.rs:{line}:"));
    let frames = page
        .split_once("id=\"panic-frames\"")
        .expect("the application's frames")
        .1;
    assert_contains(frames, "panics.rs");
    assert_lacks(frames, "/rustc/");
    assert_eq!(
        page.matches("<div id=\"debug-toolbar\"").count(),
        1,
        "the toolbar, once"
    );

    let record = stored_record(&toolbar, &id).await;
    assert_eq!(record.status, 500, "History shows the request");
    assert_eq!(record.path, "/give-up");

    shut_down(&otel).await.expect("flushed");
    let trace = traceresponse
        .split('-')
        .nth(1)
        .expect("trace id")
        .to_owned();
    let spans = receivers.wait_for(Wire::Grpc, &trace, 1, Duration::from_secs(5));
    let server = spans
        .iter()
        .find(|s| s.kind == "server")
        .expect("the server span is exported");
    assert!(server.error, "error status: {server:#?}");
    assert_eq!(
        server.attributes.get("error.type").map(String::as_str),
        Some("panic")
    );
    assert!(
        server.events.iter().any(|e| e == "exception"),
        "an exception event: {server:#?}"
    );
}

#[actix_web::test]
async fn a_client_the_toolbar_does_not_serve_gets_the_connection_closed() {
    init_tracing();
    let toolbar = DebugToolbar::new(
        config()
            .allowed_ips(["192.0.2.0/24".parse().expect("a network")])
            .build(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    let addr = listener.local_addr().expect("its address");
    let handle = crate::support::serve(listener, move || {
        App::new().wrap(toolbar.clone()).configure(app)
    });

    let answer = actix_web::rt::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).expect("connected");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("a timeout");
        stream
            .write_all(b"GET /give-up HTTP/1.1\r\nHost: test\r\n\r\n")
            .expect("request sent");
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        answer
    })
    .await
    .expect("the client thread");
    handle.stop(true).await;

    assert!(
        answer.is_empty(),
        "actix-web closes the connection without an answer, got {:?}",
        String::from_utf8_lossy(&answer)
    );
}
