//! The MCP server at `{prefix}mcp`: rmcp's own client over Streamable HTTP, and a JSON-RPC
//! client that follows the `2025-11-25` handshake by hand.

use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::StreamableHttpClientTransport;
use serde_json::{Value, json};

use crate::support::{DemoServer, assert_contains};

/// The tools, by name.
const TOOLS: [&str; 7] = [
    "compare_requests",
    "explain_query",
    "find_problems",
    "get_panel",
    "get_request",
    "get_trace",
    "list_requests",
];

#[actix_web::test]
async fn an_mcp_client_lists_the_seven_tools_and_find_problems_names_the_n_plus_one() {
    let demo = DemoServer::start().await;
    let users = demo.visit("/users").await;
    demo.stored(1).await;

    // This test binary's reqwest is built with `rustls-no-provider` (the toolbar's feature
    // `otel-tls`): a client of its own needs a crypto provider installed, as an application's
    // would (see the README's TLS paragraph).
    #[expect(
        deprecated,
        reason = "ring builds without a C toolchain; no post-quantum needed here"
    )]
    let _ = rustls::crypto::ring::default_provider().install_default();
    let transport =
        StreamableHttpClientTransport::from_uri(format!("{}/__debug_toolbar/mcp", demo.base));
    let client = ().serve(transport).await.expect("the MCP client connects");
    let tools = client.list_all_tools().await.expect("tools/list");
    let mut names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    names.sort_unstable();
    assert_eq!(names, TOOLS);
    for tool in &tools {
        assert_eq!(
            tool.input_schema.get("type"),
            Some(&json!("object")),
            "{}",
            tool.name
        );
        assert!(
            tool.description.as_ref().is_some_and(|d| !d.is_empty()),
            "{}",
            tool.name
        );
    }
    let explain = tools
        .iter()
        .find(|t| t.name == "explain_query")
        .expect("explain_query");
    let mut required: Vec<&str> = explain
        .input_schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    required.sort_unstable();
    assert_eq!(
        required,
        ["query", "request_id"],
        "{:?}",
        explain.input_schema
    );

    let found = client
        .call_tool(CallToolRequestParams::new("find_problems"))
        .await
        .expect("tools/call find_problems");
    assert_eq!(found.is_error, Some(false));
    let text = found
        .content
        .first()
        .and_then(|c| c.as_text())
        .map(|t| t.text.clone())
        .expect("a text answer");
    assert_contains(&text, "N+1: the same statement ran 6 times");
    assert_contains(
        &text,
        "statement: SELECT COUNT(*) FROM posts WHERE user_id = ?",
    );
    assert_contains(&text, &users);
    let structured = found.structured_content.expect("structured content");
    let problems = &structured["problems"][0];
    assert_eq!(problems["request"]["id"], users.as_str());
    assert!(
        problems["problems"]
            .as_array()
            .is_some_and(|p| p.iter().any(|p| p["kind"] == "n_plus_one"
                && p["statement"] == "SELECT COUNT(*) FROM posts WHERE user_id = ?")),
        "{structured:#}"
    );
    client.cancel().await.expect("the client closes");
    demo.stop().await;
}

/// One JSON-RPC message to the server: the status and the JSON answer (`Null` for none).
async fn rpc(demo: &DemoServer, message: Value, version: Option<&str>) -> (u16, Value) {
    let mut req = awc::Client::new()
        .post(format!("{}/__debug_toolbar/mcp", demo.base))
        .insert_header(("content-type", "application/json"))
        .insert_header(("accept", "application/json, text/event-stream"));
    if let Some(version) = version {
        req = req.insert_header(("mcp-protocol-version", version));
    }
    let mut res = req.send_json(&message).await.expect("the server answers");
    let body = res.body().limit(16 << 20).await.expect("a body");
    let json = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body)
            .unwrap_or_else(|e| panic!("JSON ({e}): {}", String::from_utf8_lossy(&body)))
    };
    (res.status().as_u16(), json)
}

/// `tools/call` of `name`: the text and the structured content.
async fn call(demo: &DemoServer, name: &str, arguments: Value) -> (String, Value, bool) {
    let message = json!({
        "jsonrpc": "2.0", "id": 3, "method": "tools/call",
        "params": { "name": name, "arguments": arguments }
    });
    let (status, answer) = rpc(demo, message, Some("2025-11-25")).await;
    assert_eq!(status, 200, "{name}: {answer:#}");
    let result = &answer["result"];
    let text = result["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (
        text,
        result["structuredContent"].clone(),
        result["isError"] == true,
    )
}

#[actix_web::test]
async fn a_json_rpc_client_follows_the_handshake_and_every_tool_answers() {
    let demo = DemoServer::start().await;
    let users = demo.visit("/users").await;
    let home = demo.visit("/").await;
    demo.stored(2).await;

    let (status, init) = rpc(
        &demo,
        json!({
            "jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": { "name": "raw", "version": "1" }
            }
        }),
        None,
    )
    .await;
    assert_eq!(status, 200, "{init:#}");
    assert_eq!(init["result"]["protocolVersion"], "2025-11-25");
    assert_eq!(init["result"]["serverInfo"]["name"], "actix-debug-toolbar");
    assert!(
        init["result"]["capabilities"]["tools"].is_object(),
        "{init:#}"
    );
    let (status, _) = rpc(
        &demo,
        json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }),
        Some("2025-11-25"),
    )
    .await;
    assert_eq!(status, 202);
    let (status, list) = rpc(
        &demo,
        json!({ "jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {} }),
        Some("2025-11-25"),
    )
    .await;
    assert_eq!(status, 200);
    let mut names: Vec<&str> = list["result"]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(names, TOOLS);

    let (text, data, error) = call(&demo, "list_requests", json!({ "path": "/users" })).await;
    assert!(!error, "{text}");
    assert_eq!(
        data["requests"].as_array().map(Vec::len),
        Some(1),
        "{data:#}"
    );
    assert_contains(&text, &format!("{users} GET /users -> 200"));

    let (text, data, error) = call(&demo, "get_request", json!({ "request_id": users })).await;
    assert!(!error, "{text}");
    assert_contains(&text, "GET /users -> 200");
    assert_contains(&text, "problem: N+1");
    assert!(
        data["panels"]
            .as_array()
            .is_some_and(|p| p.iter().any(|p| p["id"] == "sql"))
    );

    let (text, data, error) = call(
        &demo,
        "get_panel",
        json!({ "request_id": users, "panel": "sql" }),
    )
    .await;
    assert!(!error, "{text}");
    assert_eq!(data["stats"]["total_count"], 7, "{data:#}");
    let (text, _, error) = call(
        &demo,
        "get_panel",
        json!({ "request_id": users, "panel": "nope" }),
    )
    .await;
    assert!(error);
    assert_contains(&text, "it has: ");

    let (text, data, error) = call(
        &demo,
        "explain_query",
        json!({ "request_id": users, "query": 1 }),
    )
    .await;
    assert!(!error, "{text}");
    assert_contains(&text, "EXPLAIN of query 1:");
    assert_eq!(data["backend"], "sqlite", "{data:#}");
    assert!(
        data["rows"].as_array().is_some_and(|r| !r.is_empty()),
        "{data:#}"
    );

    let (text, data, error) = call(
        &demo,
        "compare_requests",
        json!({ "before": users, "after": home }),
    )
    .await;
    assert!(!error, "{text}");
    assert_contains(&text, "fixed: N+1");
    assert_eq!(data["b"]["path"], "/");

    let (text, data, error) = call(&demo, "get_trace", json!({ "request_id": users })).await;
    assert!(!error, "{text}");
    assert_contains(
        &text,
        &format!("trace {}", data["trace_id"].as_str().unwrap_or("?")),
    );
    assert!(
        data["spans"].as_array().is_some_and(|s| s.len() >= 8),
        "{data:#}"
    );

    let (text, _, error) = call(
        &demo,
        "get_request",
        json!({ "request_id": "0123456789abcdef0123456789abcdef" }),
    )
    .await;
    assert!(error);
    assert_contains(&text, "Call list_requests");
    demo.stop().await;
}
