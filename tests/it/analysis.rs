//! The JSON API across requests (`api/routes`, `api/statements`, `api/problems`,
//! `api/compare`), the feed of new records (`api/requests/stream`) and who may read them.

use std::time::Duration;

use actix_debug_toolbar::DebugToolbar;
use actix_web::http::StatusCode;
use actix_web::{App, HttpResponse, test, web};
use futures_util::StreamExt;
use serde_json::Value;

use crate::support::{DemoServer, allowed_peer, config, init_tracing, refused_peer};

/// The statement the demo's `/users` runs once per user.
const N_PLUS_ONE: &str = "SELECT COUNT(*) FROM posts WHERE user_id = ?";

fn find(items: &Value, what: impl Fn(&Value) -> bool) -> Option<&Value> {
    items.as_array()?.iter().find(|item| what(item))
}

#[actix_web::test]
async fn the_json_api_flags_the_n_plus_one_of_users_across_requests_and_compares_two() {
    let demo = DemoServer::start().await;
    let home = demo.visit("/").await;
    let users = demo.visit("/users").await;
    let users_again = demo.visit("/users").await;
    demo.visit("/api/users").await;
    demo.stored(4).await;

    let routes = demo.api("api/routes").await;
    assert_eq!(routes["requests"], 4, "{routes:#}");
    let route = |path: &str| {
        find(&routes["routes"], |r| {
            r["method"] == "GET" && r["route"] == path
        })
        .unwrap_or_else(|| panic!("route {path} in {routes:#}"))
        .clone()
    };
    let users_route = route("/users");
    assert_eq!(users_route["count"], 2);
    assert_eq!(users_route["queries_per_request"], 7.0);
    assert_eq!(users_route["flags"]["n_plus_one"], 2, "{users_route:#}");
    assert_eq!(users_route["flags"]["broken_budget"], 2, "{users_route:#}");
    assert_eq!(users_route["latest"], users_again.as_str());
    assert!(users_route["p50_ms"].as_f64() > Some(0.0));
    assert!(users_route["p95_ms"].as_f64() >= users_route["p50_ms"].as_f64());
    let home_route = route("/");
    assert_eq!(home_route["flags"]["n_plus_one"], 0, "{home_route:#}");
    assert_eq!(home_route["queries_per_request"], 1.0);
    route("/api/users");

    let statements = demo.api("api/statements?limit=3").await;
    assert!(statements["statements"].as_array().map(Vec::len) <= Some(3));
    let posts = find(&statements["statements"], |s| {
        s["statement"]
            .as_str()
            .is_some_and(|s| s.contains("FROM posts"))
    })
    .unwrap_or_else(|| panic!("the posts count among the costliest: {statements:#}"));
    assert_eq!(posts["count"], 12, "{posts:#}");
    assert_eq!(posts["requests"], 2, "{posts:#}");
    assert_eq!(posts["routes"], serde_json::json!(["GET /users"]));
    assert!(
        [users.as_str(), users_again.as_str()]
            .contains(&posts["slowest"]["request"].as_str().unwrap_or("")),
        "{posts:#}"
    );

    let problems = demo.api("api/problems").await;
    let of_users = find(&problems["problems"], |p| {
        p["request"]["id"] == users.as_str()
    })
    .unwrap_or_else(|| panic!("/users has problems: {problems:#}"));
    let n_plus_one = find(&of_users["problems"], |p| p["kind"] == "n_plus_one")
        .unwrap_or_else(|| panic!("an N+1: {of_users:#}"));
    assert_eq!(n_plus_one["statement"], N_PLUS_ONE);
    assert_eq!(n_plus_one["panel"], "sql");
    assert_eq!(n_plus_one["count"], 6);
    assert!(find(&of_users["problems"], |p| p["kind"] == "broken_budget").is_some());
    let of_home = demo.api(&format!("api/problems/{home}")).await;
    assert_eq!(of_home["problems"], serde_json::json!([]), "{of_home:#}");
    assert_eq!(of_home["request"]["path"], "/");

    // From /users to /: the N+1 is gone.
    let compared = demo.api(&format!("api/compare/{users}/{home}")).await;
    assert_eq!(compared["a"]["path"], "/users");
    assert_eq!(compared["b"]["path"], "/");
    assert_eq!(compared["status"]["changed"], false);
    let removed = find(&compared["queries"]["removed"], |q| {
        q["key"].as_str().is_some_and(|k| k.contains("FROM posts"))
    })
    .unwrap_or_else(|| panic!("the posts count removed: {compared:#}"));
    assert_eq!(removed["a_count"], 6);
    assert_eq!(removed["b_count"], 0);
    let queries = find(&compared["timings"], |t| t["name"] == "queries").expect("query count");
    assert_eq!(
        (queries["a"].clone(), queries["b"].clone()),
        (7.0.into(), 1.0.into())
    );
    assert!(
        find(&compared["problems"]["fixed"], |p| p["kind"]
            == "n_plus_one")
        .is_some()
    );
    assert_eq!(compared["problems"]["introduced"], serde_json::json!([]));
    // Spans by their path from the server span, whatever the route.
    assert!(
        find(&compared["spans"]["removed"], |s| s["key"]
            == "server › users › SELECT posts")
        .is_some_and(|s| s["a_count"] == 6),
        "{compared:#}"
    );
    assert!(
        find(&compared["spans"]["changed"], |s| s["key"] == "server").is_some()
            || find(&compared["spans"]["added"], |s| s["key"] == "server").is_none(),
        "the server span is in both: {compared:#}"
    );
    assert!(compared["headers"]["request"].is_array(), "{compared:#}");
    // Two requests of one route: nothing added or removed.
    let same = demo
        .api(&format!("api/compare/{users}/{users_again}"))
        .await;
    assert_eq!(same["queries"]["added"], serde_json::json!([]));
    assert_eq!(same["queries"]["removed"], serde_json::json!([]));
    demo.stop().await;
}

#[actix_web::test]
async fn the_stream_sends_one_summary_per_new_record() {
    let demo = DemoServer::start().await;
    demo.visit("/").await;
    demo.stored(1).await;
    let mut stream = awc::Client::new()
        .get(format!("{}/__debug_toolbar/api/requests/stream", demo.base))
        .send()
        .await
        .expect("the stream opens");
    assert_eq!(stream.status(), 200);
    assert_eq!(
        stream
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/event-stream")
    );
    let mut received = String::new();
    let mut next_chunk = async || {
        let chunk = actix_web::rt::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("an event within 10 s")
            .expect("the stream goes on")
            .expect("a chunk");
        String::from_utf8(chunk.to_vec()).expect("text")
    };
    // The records stored before the client came are not sent again.
    received.push_str(&next_chunk().await);
    assert!(received.starts_with("retry: 2000\n"), "{received}");
    let users = demo.visit("/users").await;
    let api = demo.visit("/api/users").await;
    while received.matches("event: request\n").count() < 2 {
        received.push_str(&next_chunk().await);
    }
    let events: Vec<Value> = received
        .lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .map(|data| serde_json::from_str(data).expect("a JSON summary"))
        .collect();
    assert_eq!(events.len(), 2, "{received}");
    assert_eq!(events[0]["id"], users.as_str());
    assert_eq!(events[0]["path"], "/users");
    assert_eq!(events[0]["status"], 200);
    assert_eq!(events[1]["id"], api.as_str());
    assert!(received.contains(&format!("id: {users}\n")), "{received}");
    demo.stop().await;
}

/// The routes this file is about, and the MCP server's.
const NEW_ROUTES: &[(&str, &str)] = &[
    ("GET", "api/routes"),
    ("GET", "api/statements"),
    ("GET", "api/problems"),
    ("GET", "api/problems/0123456789abcdef0123456789abcdef"),
    (
        "GET",
        "api/compare/0123456789abcdef0123456789abcdef/0123456789abcdef0123456789abcdef",
    ),
    ("GET", "api/requests/stream"),
    ("POST", "mcp"),
];

#[actix_web::test]
async fn every_new_route_is_refused_to_other_clients_and_foreign_hosts() {
    init_tracing();
    let app = test::init_service(
        App::new()
            .wrap(DebugToolbar::new(config().build()))
            .route("/", web::get().to(HttpResponse::Ok)),
    )
    .await;
    let request = |method: &str, route: &str| {
        let uri = format!("/__debug_toolbar/{route}");
        let req = if method == "POST" {
            test::TestRequest::post()
                .uri(&uri)
                .insert_header(("content-type", "application/json"))
                .insert_header(("accept", "application/json, text/event-stream"))
                .set_payload(
                    r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#,
                )
        } else {
            test::TestRequest::get().uri(&uri)
        };
        req.peer_addr(allowed_peer())
            .insert_header(("host", "localhost:8080"))
    };
    for &(method, route) in NEW_ROUTES {
        let res = test::call_service(
            &app,
            request(method, route)
                .peer_addr(refused_peer())
                .to_request(),
        )
        .await;
        assert_eq!(
            res.status(),
            StatusCode::NOT_FOUND,
            "{method} {route} from another client"
        );
        let foreign = request(method, route).insert_header(("host", "attacker.example"));
        let res = test::call_service(&app, foreign.to_request()).await;
        assert_eq!(
            res.status(),
            StatusCode::NOT_FOUND,
            "{method} {route} for a foreign host"
        );
        let res = test::call_service(&app, request(method, route).to_request()).await;
        let expected = if route.contains("0123456789abcdef") {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::OK
        };
        assert_eq!(
            res.status(),
            expected,
            "{method} {route} for an allowed client"
        );
    }
    // The MCP server, like the toolbar's actions, answers no other origin.
    let cross_site = request("POST", "mcp").insert_header(("origin", "https://attacker.example"));
    let res = test::call_service(&app, cross_site.to_request()).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}
