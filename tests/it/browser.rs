//! The demo in a real headless Chromium, driven through chromedriver: the toolbar shows on the
//! demo's pages, opens and closes, every panel loads real content, and the browser logs no
//! errors on the way; the dashboard lists, filters, compares and opens the demo's requests.
//!
//! Ignored by default: it needs Debian's `chromium` and `chromium-driver` packages, which
//! `.ci/browser.sh` installs. Run it with
//! `cargo test -p debug-toolbar-tests --test integration browser -- --include-ignored`; set
//! `UPDATE_SCREENSHOT=1` to refresh `docs/screenshot.png` and `docs/waterfall.png` as well.

use std::fmt::Debug;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix_debug_toolbar::DebugToolbar;
use actix_web::dev::ServerHandle;
use actix_web::{App, HttpResponse, web};
use fantoccini::actions::{InputSource, KeyAction, KeyActions, MouseActions, PointerAction};
use fantoccini::key::Key;
use fantoccini::wd::{Capabilities, TimeoutConfiguration, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Headless, and quiet: no first-run UI and no traffic but the test's own.
const CHROMIUM_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
];

/// How long one thing may take to happen in the browser.
const WAIT: Duration = Duration::from_secs(10);
/// How often a condition is checked while waiting for it.
const POLL: Duration = Duration::from_millis(25);
/// How long the whole walk through the demo may take.
const TEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Panels the demo must list, each with the leading cells of a row its body must show.
const EXPECTED_ROWS: &[(&str, &[&str])] = &[
    ("timer", &["Total time"]),
    ("request", &["Path", "/"]),
    ("headers", &["user-agent"]),
    ("response", &["Status", "200 OK"]),
    ("versions", &["actix-web"]),
    ("page-weight", &["Size"]),
    ("budgets", &["Max queries"]),
    ("sql", &["Queries", "1"]),
    ("logging", &["Time", "Level", "Target", "Message"]),
    ("templates", &["Extends"]),
    ("profiling", &["Span", "Calls", "Total (ms)", "Self (ms)"]),
    ("otel", &["Trace id"]),
];

#[actix_web::test]
#[ignore = "needs Debian's chromium and chromedriver (installed by .ci/run)"]
async fn demo_toolbar_works_in_headless_chromium() {
    require_installed(CHROMIUM);
    require_installed(CHROMEDRIVER);
    crate::support::init_tracing();
    let started = Instant::now();
    let server = DemoServer::start().await;
    let browser = Browser::launch().await;

    // Run the checks in a task of their own so that a failing one still lets the browser and
    // the server shut down before the panic is passed on.
    let client = browser.client.clone();
    let base = server.base.clone();
    let checks = actix_web::rt::spawn(async move {
        tokio::time::timeout(TEST_TIMEOUT, walk_through_demo(&client, &base)).await
    });
    let outcome = checks.await;

    browser.close().await;
    server.stop().await;
    match outcome {
        Ok(Ok(())) => eprintln!("browser test took {:.1?}", started.elapsed()),
        Ok(Err(_)) => panic!("the browser checks did not finish within {TEST_TIMEOUT:?}"),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("the browser checks were cancelled: {e}"),
    }
}

#[actix_web::test]
#[ignore = "needs Debian's chromium and chromedriver (installed by .ci/run)"]
async fn dashboard_works_in_headless_chromium() {
    require_installed(CHROMIUM);
    require_installed(CHROMEDRIVER);
    crate::support::init_tracing();
    let server = DemoServer::start().await;
    let browser = Browser::launch().await;
    let client = browser.client.clone();
    let base = server.base.clone();
    let checks = actix_web::rt::spawn(async move {
        tokio::time::timeout(TEST_TIMEOUT, walk_through_dashboard(&client, &base)).await
    });
    let outcome = checks.await;
    browser.close().await;
    server.stop().await;
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(_)) => panic!("the dashboard checks did not finish within {TEST_TIMEOUT:?}"),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("the dashboard checks were cancelled: {e}"),
    }
}

/// The paths of the dashboard's request rows that the filters leave shown.
const SHOWN_PATHS: &str = r##"
    return [...document.querySelectorAll("#db-request-rows tr")]
        .filter((row) => !row.hidden)
        .map((row) => row.dataset.path);
"##;

/// The dashboard lists requests as they happen, filters them, shows the N+1 of `/users`
/// across requests, compares two, and opens a JSON request's SQL panel.
async fn walk_through_dashboard(client: &Client, base: &str) {
    let url = format!("{base}/__debug_toolbar/");
    goto(client, &url).await;
    wait_for(
        client,
        "the dashboard listing and following",
        r##"const main = document.getElementById("db");
           return main.dataset.ready === "true" && main.dataset.live === "true";"##,
        |ready: &bool| *ready,
    )
    .await;
    // Requests made after the page loaded arrive through the event stream.
    run_script::<bool>(
        client,
        r##"return (async () => {
             for (const path of ["/", "/users", "/api/users", "/users"]) await fetch(path);
             return true;
           })();"##,
    )
    .await
    .expect("the page's requests");
    wait_for(
        client,
        "the new requests in the list",
        SHOWN_PATHS,
        |paths: &Vec<String>| {
            ["/", "/api/users"]
                .iter()
                .all(|p| paths.iter().any(|q| q == p))
                && paths.iter().filter(|p| *p == "/users").count() >= 2
        },
    )
    .await;
    wait_for(
        client,
        "the N+1 of /users flagged in the routes",
        r##"const row = [...document.querySelectorAll("#db-route-rows tr")]
               .find((row) => row.dataset.route === "/users");
           return row ? row.textContent : "";"##,
        |text: &String| text.contains("N+1"),
    )
    .await;
    wait_for(
        client,
        "the N+1 in the problems",
        r##"return [...document.querySelectorAll("#db-problem-list li")].map((li) => li.dataset.kind ?? "");"##,
        |kinds: &Vec<String>| kinds.iter().any(|k| k == "n_plus_one"),
    )
    .await;

    // Filters.
    let filtered: Vec<String> = run_script(
        client,
        r##"const path = document.getElementById("db-filter-path");
           path.value = "/api/";
           path.dispatchEvent(new Event("input", { bubbles: true }));
           return [...document.querySelectorAll("#db-request-rows tr")]
               .filter((row) => !row.hidden).map((row) => row.dataset.path);"##,
    )
    .await
    .expect("filter by path");
    assert!(
        !filtered.is_empty() && filtered.iter().all(|p| p.contains("/api/")),
        "filtered by path: {filtered:?}"
    );
    let none: Vec<String> = run_script(
        client,
        r##"document.getElementById("db-filter-path").value = "";
           const method = document.getElementById("db-filter-method");
           method.value = "DELETE";
           method.dispatchEvent(new Event("input", { bubbles: true }));
           return [...document.querySelectorAll("#db-request-rows tr")]
               .filter((row) => !row.hidden).map((row) => row.dataset.path);"##,
    )
    .await
    .expect("filter by method");
    assert!(none.is_empty(), "no DELETE requests: {none:?}");
    run_script::<bool>(
        client,
        r##"const method = document.getElementById("db-filter-method");
           method.value = "";
           method.dispatchEvent(new Event("input", { bubbles: true }));
           return true;"##,
    )
    .await
    .expect("clear the filters");

    // Compare /users with /api/users.
    for path in ["/users", "/api/users"] {
        client
            .find(Locator::Css(&format!(
                r##"#db-request-rows tr[data-path="{path}"] input.db-pick"##
            )))
            .await
            .unwrap_or_else(|e| panic!("no row for {path}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("selecting {path} failed: {e}"));
    }
    client
        .find(Locator::Id("db-compare-selected"))
        .await
        .expect("the compare button")
        .click()
        .await
        .expect("compare");
    let compared: Vec<String> = wait_for(
        client,
        "the comparison",
        r##"const body = document.getElementById("db-compare-body");
           return [...body.querySelectorAll("[data-part]")].map((part) => part.dataset.part)
               .concat([body.querySelector(".db-sides")?.textContent ?? ""]);"##,
        |parts: &Vec<String>| parts.len() > 1,
    )
    .await;
    for part in ["timings", "queries", "spans", "headers", "problems"] {
        assert!(compared.iter().any(|p| p == part), "{part} in {compared:?}");
    }
    let sides = compared.last().expect("the sides");
    assert!(
        sides.contains("/users") && sides.contains("/api/users"),
        "{sides}"
    );

    // The picture in the README: the list, the comparison, the toolbar docked away.
    if read_toolbar_if_any(client).await {
        let shown = run_script::<bool>(
            client,
            r#"return !document.getElementById("debug-toolbar").shadowRoot.getElementById("dt-toolbar").hidden;"#,
        )
        .await
        .expect("the toolbar's state");
        if shown {
            click_in_toolbar(client, "#dt-hide").await;
        }
    }
    run_script::<bool>(client, "window.scrollTo(0, 0); return true;")
        .await
        .expect("scroll to the top");
    move_mouse_away(client).await;
    save_screenshot(client, "dashboard.png").await;

    // A JSON request opens with all its panels.
    client
        .find(Locator::Css(
            r##"#db-request-rows tr[data-path="/api/users"] button[data-action="open"]"##,
        ))
        .await
        .expect("the Open button of /api/users")
        .click()
        .await
        .expect("open /api/users");
    let toolbar = wait_for_toolbar_state(client, "showing /api/users", |t| {
        t.ready && t.styled && t.open && t.path == "/api/users"
    })
    .await;
    assert!(toolbar.panels.iter().any(|p| p == "sql"), "{toolbar:?}");
    let sql = open_panel_by_click(client, "sql").await;
    assert!(sql.error.is_none(), "{sql:?}");
    assert!(
        sql.text.contains("SELECT"),
        "the SQL panel of /api/users: {sql:?}"
    );
    assert_no_console_errors(client, &url).await;
}

/// Every check, page by page.
async fn walk_through_demo(client: &Client, base: &str) {
    check_home_page(client, base).await;
    check_users_page(client, base).await;
    check_cpu_sampling_toggle(client, base).await;
    check_panel_switch(client, base).await;
    check_large_trace(client, base).await;
    check_compressed_and_panic_pages(client, base).await;
}

/// Pages compressed ahead of time get the toolbar, and so does the debug page of a handler
/// that panicked.
async fn check_compressed_and_panic_pages(client: &Client, base: &str) {
    for encoding in ["gzip", "br", "zstd"] {
        let url = format!("{base}/precompressed?encoding={encoding}");
        goto(client, &url).await;
        let toolbar = wait_for_toolbar(client).await;
        assert_eq!(toolbar.path, "/precompressed", "toolbar summary of {url}");
        assert_eq!(toolbar.status, "200", "toolbar summary of {url}");
    }
    let url = format!("{base}/panic");
    goto(client, &url).await;
    let toolbar = wait_for_toolbar(client).await;
    assert_eq!(toolbar.path, "/panic", "toolbar summary of {url}");
    assert_eq!(toolbar.status, "500", "toolbar summary of {url}");
    let message: String = run_script(
        client,
        r#"return document.getElementById("panic-message")?.textContent ?? "";"#,
    )
    .await
    .expect("the page's panic message");
    assert!(
        message.contains("panicked on purpose"),
        "the panic's message on {url}: {message:?}"
    );
}

async fn check_home_page(client: &Client, base: &str) {
    let url = format!("{base}/");
    goto(client, &url).await;
    let toolbar = wait_for_toolbar(client).await;
    assert_eq!(toolbar.path, "/", "toolbar summary of {url}");
    assert_eq!(toolbar.status, "200", "toolbar summary of {url}");
    assert!(
        toolbar.open,
        "a fresh browser profile should see the toolbar open: {toolbar:?}"
    );
    for (id, _) in EXPECTED_ROWS {
        assert!(
            toolbar.panels.iter().any(|p| p == id),
            "panel {id:?} missing from the toolbar; it lists {:?}",
            toolbar.panels
        );
    }

    check_hide_then_handle(client, &url).await;

    for id in &toolbar.panels {
        let panel = open_panel_by_click(client, id).await;
        check_panel_content(&panel);
    }
    check_otel_waterfall(client).await;
    check_panel_closes(client).await;

    check_script_requests_and_history(client).await;
    check_browser_spans(client).await;

    let timer = open_panel_by_api(client, "timer").await;
    check_browser_timing_filled(&timer);

    assert_no_console_errors(client, &url).await;
}

async fn check_users_page(client: &Client, base: &str) {
    let url = format!("{base}/users");
    goto(client, &url).await;
    let toolbar = wait_for_toolbar(client).await;
    assert_eq!(toolbar.path, "/users", "toolbar summary of {url}");
    assert_eq!(toolbar.status, "200", "toolbar summary of {url}");
    assert!(
        toolbar.open,
        "the toolbar stays open across pages: {toolbar:?}"
    );

    let panel = open_panel_by_click(client, "request").await;
    assert_row(&panel, &["Path", "/users"]);

    // The page's deliberate N+1 is flagged, and one click explains the repeated query.
    let sql = open_panel_by_click(client, "sql").await;
    assert!(
        sql.text.contains("6 similar queries"),
        "the SQL panel flags the N+1: {sql:#?}"
    );
    click_in_toolbar(
        client,
        r#"[data-query="1"] button[data-action="sql/explain"]"#,
    )
    .await;
    wait_for_panel_state(client, "showing the query plan", |p| {
        p.text.contains("EXPLAIN (sqlite)")
    })
    .await;
    move_mouse_away(client).await;
    save_screenshot(client, "screenshot.png").await;

    check_grouped_waterfall(client).await;

    assert_no_console_errors(client, &url).await;
}

/// What the OpenTelemetry panel's waterfall shows.
#[derive(Debug, Deserialize)]
struct WaterfallView {
    /// The labels of the rows shown, top to bottom.
    shown: Vec<String>,
    /// `aria-expanded` of each group's button.
    groups: Vec<String>,
    /// What the filter says it kept.
    count: String,
}

impl WaterfallView {
    fn shown(&self, label: &str) -> usize {
        self.shown.iter().filter(|l| *l == label).count()
    }
}

const READ_WATERFALL: &str = r#"
    const root = document.getElementById("debug-toolbar").shadowRoot;
    const rows = [...root.querySelectorAll("[data-waterfall] [data-wf-row]")];
    return {
        shown: rows.filter((row) => !row.hidden)
            .map((row) => row.querySelector(".dt-wf-label")?.textContent.trim() ?? ""),
        groups: [...root.querySelectorAll("[data-wf-toggle]")]
            .map((button) => button.getAttribute("aria-expanded")),
        count: root.querySelector("[data-wf-count]")?.textContent ?? "",
    };
"#;

async fn wait_for_waterfall(
    client: &Client,
    what: &str,
    done: impl Fn(&WaterfallView) -> bool,
) -> WaterfallView {
    wait_for(client, &format!("waterfall {what}"), READ_WATERFALL, done).await
}

/// On the N+1 page the loop's six queries are one row of the waterfall, which expands to list
/// them; the filter keeps the spans with a matching attribute and the rows they are under.
async fn check_grouped_waterfall(client: &Client) {
    let otel = open_panel_by_click(client, "otel").await;
    assert!(
        otel.text.contains("6× SELECT posts") && otel.text.contains("Flame view"),
        "the N+1 loop is one row: {otel:#?}"
    );
    let collapsed = wait_for_waterfall(client, "with the group collapsed", |w| {
        w.shown("6× SELECT posts") == 1
    })
    .await;
    assert_eq!(collapsed.shown("SELECT posts"), 0, "{collapsed:#?}");
    assert_eq!(collapsed.shown("SELECT users"), 1, "{collapsed:#?}");

    click_in_toolbar(client, "[data-wf-group] > [data-wf-toggle]").await;
    wait_for_waterfall(client, "listing the six queries", |w| {
        w.shown("SELECT posts") == 6 && w.groups == ["true"]
    })
    .await;
    move_mouse_away(client).await;
    run_script::<()>(
        client,
        r#"document.getElementById("debug-toolbar").shadowRoot
            .querySelector("[data-waterfall]").closest("section").scrollIntoView();"#,
    )
    .await
    .unwrap_or_else(|e| panic!("scrolling to the waterfall failed: {e}"));
    save_screenshot(client, "waterfall.png").await;

    type_in_toolbar(client, "[data-wf-filter]", "db.collection.name=posts").await;
    let filtered = wait_for_waterfall(client, "filtered by an attribute", |w| {
        w.count.starts_with("6 of ")
    })
    .await;
    // The browser's document load span, once it has arrived, is the root above the server span.
    let under_the_document: Vec<&str> = filtered
        .shown
        .iter()
        .map(String::as_str)
        .skip_while(|name| name.starts_with("documentLoad "))
        .collect();
    assert_eq!(
        under_the_document,
        std::iter::once("GET /users")
            .chain(["users", "6× SELECT posts"])
            .chain(std::iter::repeat_n("SELECT posts", 6))
            .collect::<Vec<_>>(),
        "matches and the rows they are drawn under"
    );

    let erase = char::from(Key::Backspace).to_string().repeat(40);
    type_in_toolbar(client, "[data-wf-filter]", &erase).await;
    wait_for_waterfall(client, "unfiltered again", |w| {
        w.count.is_empty() && w.shown("SELECT users") == 1 && w.shown("SELECT posts") == 6
    })
    .await;
    click_in_toolbar(client, "[data-wf-group] > [data-wf-toggle]").await;
    wait_for_waterfall(client, "with the group collapsed again", |w| {
        w.shown("SELECT posts") == 0 && w.groups == ["false"]
    })
    .await;
}

/// How long the OpenTelemetry panel of a 2,000-span trace takes to draw, measured in the page.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LargeTraceTimes {
    /// The panel's fetch, from Resource Timing: the server renders it and sends it.
    fetch_ms: f64,
    /// From opening the panel to the first frame drawn after its body is in place.
    open_ms: f64,
    /// From "Expand groups" to the next frame, with every row shown.
    expand_ms: f64,
    /// From typing a filter to the next frame.
    filter_ms: f64,
    rows: usize,
    shown: usize,
    panel_bytes: usize,
}

const MEASURE_LARGE_TRACE: &str = r#"
    const frame = () => new Promise((done) => requestAnimationFrame(() => setTimeout(done)));
    const root = document.getElementById("debug-toolbar").shadowRoot;
    const body = root.getElementById("dt-panel-body");
    const started = performance.now();
    await window.debugToolbar.open("otel");
    await frame();
    const opened = performance.now();
    root.querySelector('button[data-wf-expand="all"]').click();
    await frame();
    const expanded = performance.now();
    const rows = [...root.querySelectorAll("[data-waterfall] [data-wf-row]")];
    const shown = rows.filter((row) => !row.hidden).length;
    const filter = root.querySelector("[data-wf-filter]");
    filter.value = "field=16";
    filter.dispatchEvent(new Event("input", { bubbles: true }));
    await frame();
    const filtered = performance.now();
    const fetch = performance.getEntriesByType("resource")
        .filter((entry) => entry.name.endsWith("/otel")).pop();
    return {
        fetchMs: fetch ? fetch.duration : -1,
        openMs: opened - started,
        expandMs: expanded - opened,
        filterMs: filtered - expanded,
        rows: rows.length,
        shown,
        panelBytes: body.innerHTML.length,
    };
"#;

/// The waterfall of a trace of 2,000 spans opens with its repeated spans collapsed, and stays
/// quick with all of them shown.
async fn check_large_trace(client: &Client, base: &str) {
    let url = format!("{base}/large-trace");
    goto(client, &url).await;
    wait_for_toolbar(client).await;
    let script = format!("return (async () => {{ {MEASURE_LARGE_TRACE} }})();");
    let times: LargeTraceTimes = run_script(client, &script)
        .await
        .unwrap_or_else(|e| panic!("measuring the large waterfall failed: {e}"));
    eprintln!(
        "2,000-span waterfall in Chromium: opened in {:.0} ms (the panel's fetch {:.0} ms, \
         {} KiB), all {} rows shown in {:.0} ms, filtered in {:.0} ms",
        times.open_ms,
        times.fetch_ms,
        times.panel_bytes / 1024,
        times.rows,
        times.expand_ms,
        times.filter_ms
    );
    // 2,000 spans, a group of 111 items and one of 17 fields in each.
    assert_eq!(times.rows, 2000 + 1 + 111, "{times:?}");
    assert_eq!(times.shown, times.rows, "expanded: {times:?}");
    let filtered = wait_for_waterfall(client, "filtered to one field per item", |w| {
        w.count.starts_with("111 of 2000")
    })
    .await;
    assert_eq!(filtered.shown("load_field"), 111, "{filtered:?}");
    assert!(
        times.open_ms < 5000.0 && times.expand_ms < 5000.0 && times.filter_ms < 2000.0,
        "the 2,000-span waterfall is slow: {times:?}"
    );
    assert_no_console_errors(client, &url).await;
}

/// The demo's handler for `/large-trace`: 1,999 spans of its own (2,000 with the server span),
/// 111 items of 17 fields each under one span.
async fn large_trace() -> HttpResponse {
    {
        let _report = tracing::info_span!("build_report").entered();
        for item in 0..111_u32 {
            let _item = tracing::info_span!("load_item", item).entered();
            for field in 0..17_u32 {
                let _field = tracing::info_span!("load_field", field).entered();
            }
        }
    }
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body("<!doctype html><html><head><title>Large trace</title></head><body><h1>2,000 spans</h1></body></html>")
}

/// The Profiling panel's button sets the sampling cookie, the next page load is sampled, and
/// the button clears the cookie again.
async fn check_cpu_sampling_toggle(client: &Client, base: &str) {
    let url = format!("{base}/");
    goto(client, &url).await;
    wait_for_toolbar(client).await;
    let panel = open_panel_by_click(client, "profiling").await;
    assert!(
        panel.text.contains("CPU sampling in this browser: off"),
        "{panel:#?}"
    );

    let toggle = "button[data-cookie-toggle]";
    click_in_toolbar(client, toggle).await;
    wait_for_panel_state(client, "sampling switched on", |p| {
        p.text.contains("CPU sampling in this browser: on")
    })
    .await;
    let cookies: String = run_script(client, "return document.cookie;")
        .await
        .unwrap_or_else(|e| panic!("reading document.cookie failed: {e}"));
    assert!(cookies.contains("debug-toolbar-cpu=1"), "{cookies:?}");

    goto(client, &url).await;
    wait_for_toolbar(client).await;
    let panel = open_panel_by_click(client, "profiling").await;
    assert!(
        panel.text.contains("CPU samples (") && panel.text.contains("sampling in this browser: on"),
        "the page load was sampled: {panel:#?}"
    );

    click_in_toolbar(client, toggle).await;
    wait_for_panel_state(client, "sampling switched off", |p| {
        p.text.contains("CPU sampling in this browser: off")
    })
    .await;
    let cookies: String = run_script(client, "return document.cookie;")
        .await
        .unwrap_or_else(|e| panic!("reading document.cookie failed: {e}"));
    assert!(!cookies.contains("debug-toolbar-cpu"), "{cookies:?}");

    assert_no_console_errors(client, &url).await;
}

/// A panel's checkbox switches it off for the next requests of this browser, and on again.
async fn check_panel_switch(client: &Client, base: &str) {
    let url = format!("{base}/");
    let switch = r#".dt-panel-switch[data-panel-id="headers"]"#;
    let checked = format!(
        r#"return document.getElementById("debug-toolbar").shadowRoot.querySelector('{switch}').checked;"#
    );
    let cookies = || async {
        run_script::<String>(client, "return document.cookie;")
            .await
            .unwrap_or_else(|e| panic!("reading document.cookie failed: {e}"))
    };

    goto(client, &url).await;
    if !wait_for_toolbar(client).await.open {
        click_in_toolbar(client, "#dt-handle").await;
    }
    assert_eq!(run_script::<bool>(client, &checked).await, Ok(true));
    click_in_toolbar(client, switch).await;
    let set = cookies().await;
    assert!(set.contains("debug-toolbar-panels=-headers"), "{set:?}");

    goto(client, &url).await;
    wait_for_toolbar(client).await;
    assert_eq!(run_script::<bool>(client, &checked).await, Ok(false));
    let panel = open_panel_by_click(client, "headers").await;
    assert!(
        panel.text.contains("This panel is switched off"),
        "{panel:#?}"
    );

    click_in_toolbar(client, switch).await;
    let set = cookies().await;
    assert!(set.contains("debug-toolbar-panels=+headers"), "{set:?}");
    goto(client, &url).await;
    wait_for_toolbar(client).await;
    assert_eq!(run_script::<bool>(client, &checked).await, Ok(true));
    let panel = open_panel_by_click(client, "headers").await;
    assert!(!panel.text.contains("switched off"), "{panel:#?}");
    assert_no_console_errors(client, &url).await;
}

/// The page's `fetch` of `/api/users` shows up in the toolbar; switching to it shows its panels;
/// the History panel lists both and switches back.
async fn check_script_requests_and_history(client: &Client) {
    open_panel_by_api(client, "request").await;
    wait_for_toolbar_state(client, "listing the page's fetch of /api/users", |t| {
        t.script_requests.iter().any(|r| r == "GET /api/users 200")
    })
    .await;
    click_in_toolbar(client, "#dt-ajax button[data-switch]").await;
    let switched =
        wait_for_toolbar_state(client, "switched to /api/users", |t| t.path == "/api/users").await;
    assert!(switched.panels.iter().any(|p| p == "sql"), "{switched:?}");
    let request = open_panel_by_click(client, "request").await;
    assert_row(&request, &["Path", "/api/users"]);

    click_in_toolbar(client, ".dt-back").await;
    wait_for_toolbar_state(client, "back to the page's own request", |t| t.path == "/").await;

    open_panel_by_click(client, "history").await;
    let history = wait_for_panel_state(client, "listing the stored requests", |p| {
        p.rows
            .iter()
            .any(|row| row.get(2).is_some_and(|c| c == "/api/users"))
    })
    .await;
    let fetched = history
        .rows
        .iter()
        .find(|row| row.get(2).is_some_and(|c| c == "/api/users"))
        .unwrap_or_else(|| panic!("the History panel lists the fetch: {history:#?}"));
    assert_eq!(
        fetched.get(5).map(String::as_str),
        Some("script"),
        "{fetched:?}"
    );
    // Newest first: the first request that can be switched to is the page's latest fetch.
    click_in_toolbar(client, "[data-history] button[data-switch]").await;
    wait_for_toolbar_state(client, "switched by the History panel", |t| {
        t.path == "/api/users"
    })
    .await;
    click_in_toolbar(client, ".dt-back").await;
    wait_for_toolbar_state(client, "back again", |t| t.path == "/").await;
}

/// The OpenTelemetry panel draws the request's waterfall; clicking the query's span shows its
/// attributes.
async fn check_otel_waterfall(client: &Client) {
    let otel = open_panel_by_click(client, "otel").await;
    assert!(
        otel.text.contains("Waterfall")
            && otel.text.contains("GET /")
            && otel.text.contains("SELECT users"),
        "the waterfall lists the server and query spans: {otel:#?}"
    );
    click_in_toolbar(client, r#"details[data-category="db"] > summary"#).await;
    wait_for_panel_state(client, "showing the query span's attributes", |p| {
        p.text.contains("db.query.text") && p.text.contains("db.system.name")
    })
    .await;
}

/// toolbar.js sends the page's document load and its script requests to the receiver: the
/// waterfall, opened again, shows them under the browser's service, the document load as the
/// server span's parent, and the server side of a `fetch` made after the script ran (it
/// carried a `traceparent`) under the browser's client span.
async fn check_browser_spans(client: &Client) {
    let status: u16 = run_script(
        client,
        "return fetch('/api/users').then((response) => response.status);",
    )
    .await
    .expect("a fetch of /api/users");
    assert_eq!(status, 200);
    let deadline = Instant::now() + WAIT;
    loop {
        let otel = open_panel_by_api(client, "otel").await;
        let joined = otel.text.contains("documentLoad /")
            && otel.text.contains("-browser")
            && otel.text.matches("GET /api/users").count() >= 3;
        if joined {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the browser's spans and the fetch's server span join the waterfall: {otel:#?}"
        );
        tokio::time::sleep(POLL).await;
    }
    let depths: Vec<String> = run_script(
        client,
        r#"const body = document.getElementById("debug-toolbar").shadowRoot;
           return [...body.querySelectorAll("[data-waterfall] .dt-wf-name")]
             .map((row) => `${row.className.match(/dt-wf-d(\d+)/)[1]} ${row.textContent.trim()}`);"#,
    )
    .await
    .expect("the waterfall's rows");
    assert!(
        depths[0].starts_with("0 ") && depths[0].contains("documentLoad /"),
        "the document load leads: {depths:#?}"
    );
    assert!(
        depths
            .iter()
            .any(|d| d.starts_with("1 ") && d.ends_with("GET /")),
        "the server span under it: {depths:#?}"
    );
}

/// The Hide button closes the toolbar, a reload keeps it closed, and the handle opens it again.
async fn check_hide_then_handle(client: &Client, url: &str) {
    click_in_toolbar(client, "#dt-hide").await;
    let closed = wait_for_toolbar_state(client, "closed by its Hide button", |t| !t.open).await;
    assert_eq!(closed.handle_expanded, "false", "{closed:?}");
    assert_eq!(closed.stored.as_deref(), Some("false"), "{closed:?}");

    goto(client, url).await;
    let reloaded = wait_for_toolbar(client).await;
    assert!(
        !reloaded.open,
        "a closed toolbar stays closed after a reload: {reloaded:?}"
    );

    click_in_toolbar(client, "#dt-handle").await;
    let opened = wait_for_toolbar_state(client, "opened by the handle", |t| t.open).await;
    assert_eq!(opened.handle_expanded, "true", "{opened:?}");
    assert_eq!(opened.stored.as_deref(), Some("true"), "{opened:?}");
}

/// The open panel's link, its close button and Esc each close the panel; a second Esc closes
/// the toolbar.
async fn check_panel_closes(client: &Client) {
    open_panel_by_click(client, "request").await;
    click_in_toolbar(client, r#".dt-panel-link[data-panel-id="request"]"#).await;
    wait_for_panel_closed(client, "by clicking its link again").await;

    open_panel_by_click(client, "request").await;
    click_in_toolbar(client, ".dt-close").await;
    wait_for_panel_closed(client, "by its close button").await;

    open_panel_by_click(client, "request").await;
    press_escape(client).await;
    wait_for_panel_closed(client, "by Esc").await;
    let toolbar = read_toolbar(client).await;
    assert!(
        toolbar.open,
        "the first Esc closes only the panel: {toolbar:?}"
    );

    press_escape(client).await;
    wait_for_toolbar_state(client, "closed by a second Esc", |t| !t.open).await;
}

/// The body of every panel: loaded, no error, with the row the demo must show.
#[track_caller]
fn check_panel_content(panel: &PanelView) {
    let id = panel.open_id.as_deref().unwrap_or("?");
    assert_eq!(panel.error, None, "panel {id:?} shows an error: {panel:#?}");
    assert!(
        !panel.text.trim().is_empty(),
        "panel {id:?} has an empty body: {panel:#?}"
    );
    assert!(
        !panel.title.is_empty(),
        "panel {id:?} has no title: {panel:#?}"
    );
    if let Some((_, row)) = EXPECTED_ROWS.iter().find(|(expected, _)| *expected == id) {
        assert_row(panel, row);
    }
}

/// The Timer panel's browser-timing table, filled in by toolbar.js from Navigation Timing.
#[track_caller]
fn check_browser_timing_filled(panel: &PanelView) {
    let load = panel
        .rows
        .iter()
        .find(|row| row.first().is_some_and(|cell| cell == "Load event"))
        .unwrap_or_else(|| panic!("no browser timing in the Timer panel: {panel:#?}"));
    let start = load.get(1).map(String::as_str).unwrap_or_default();
    assert!(
        start.parse::<f64>().is_ok_and(|ms| ms > 0.0),
        "the page's load event should have a start time, not {start:?}: {panel:#?}"
    );
}

/// Asserts that the panel has a table row starting with `cells`.
#[track_caller]
fn assert_row(panel: &PanelView, cells: &[&str]) {
    let found = panel.rows.iter().any(|row| {
        row.len() >= cells.len() && row.iter().zip(cells).all(|(cell, want)| cell == want)
    });
    assert!(
        found,
        "panel {:?} has no row starting with {cells:?}; its rows: {:#?}",
        panel.open_id, panel.rows
    );
}

// ---- the demo server ----

/// The demo app with the toolbar, served in this process on a free port.
struct DemoServer {
    base: String,
    handle: ServerHandle,
}

impl DemoServer {
    async fn start() -> Self {
        let state = demo::State::new().await.expect("demo state");
        let toolbar = DebugToolbar::new(demo::toolbar_config(&state).enabled(true).build());
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        let addr = listener.local_addr().expect("bound address");
        let handle = crate::support::serve(listener, move || {
            App::new()
                .wrap(toolbar.clone())
                .wrap(actix_web::middleware::Compress::default())
                .app_data(state.clone())
                .configure(demo::routes)
                .route("/large-trace", web::get().to(large_trace))
        });
        Self {
            base: format!("http://{addr}"),
            handle,
        }
    }

    async fn stop(self) {
        self.handle.stop(true).await;
    }
}

// ---- the browser ----

/// A Chromium session through a chromedriver of our own, with a fresh profile.
///
/// Fields drop in order: should [`Browser::close`] not run, the driver is still killed before
/// the profile is removed.
struct Browser {
    client: Client,
    driver: ChromeDriver,
    profile: ProfileDir,
}

impl Browser {
    async fn launch() -> Self {
        let profile = ProfileDir::create();
        let driver = ChromeDriver::start().await;
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities(&profile.path))
            .connect(&driver.url)
            .await
            .unwrap_or_else(|e| panic!("chromedriver could not start {CHROMIUM}: {e}"));
        client
            .update_timeouts(TimeoutConfiguration::new(Some(WAIT), Some(WAIT), None))
            .await
            .expect("set WebDriver timeouts");
        Self {
            client,
            driver,
            profile,
        }
    }

    /// Ends the session, which quits Chromium, then stops chromedriver and removes the profile.
    async fn close(self) {
        let Self {
            client,
            driver,
            profile,
        } = self;
        if let Err(e) = client.close().await {
            eprintln!("closing the WebDriver session failed: {e}");
        }
        drop(driver);
        drop(profile);
    }
}

#[track_caller]
fn require_installed(program: &str) {
    assert!(
        Path::new(program).exists(),
        "{program} is missing: run .ci/browser.sh (it installs Debian's chromium and \
         chromium-driver)"
    );
}

fn capabilities(profile: &Path) -> Capabilities {
    let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|&a| a.to_owned()).collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    let mut caps = Capabilities::new();
    caps.insert("browserName".to_owned(), json!("chrome"));
    caps.insert(
        "goog:chromeOptions".to_owned(),
        json!({ "binary": CHROMIUM, "args": args }),
    );
    caps.insert("goog:loggingPrefs".to_owned(), json!({ "browser": "ALL" }));
    caps
}

/// A chromedriver process on a free port, killed when dropped.
struct ChromeDriver {
    child: Child,
    url: String,
}

impl ChromeDriver {
    async fn start() -> Self {
        let port = free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("could not run {CHROMEDRIVER}: {e}"));
        let mut driver = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        driver.wait_until_listening(port).await;
        driver
    }

    async fn wait_until_listening(&mut self, port: u16) {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + WAIT;
        while TcpStream::connect(addr).is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{CHROMEDRIVER} exited before listening on port {port}: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "{CHROMEDRIVER} did not listen on port {port} within {WAIT:?}"
            );
            tokio::time::sleep(POLL).await;
        }
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("find a free port")
}

/// A fresh Chromium profile directory, removed when dropped.
struct ProfileDir {
    path: PathBuf,
}

impl ProfileDir {
    fn create() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let path = std::env::temp_dir().join(format!(
            "debug-toolbar-chromium-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir(&path)
            .unwrap_or_else(|e| panic!("could not create {}: {e}", path.display()));
        Self { path }
    }
}

impl Drop for ProfileDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

// ---- the page ----

async fn goto(client: &Client, url: &str) {
    client
        .goto(url)
        .await
        .unwrap_or_else(|e| panic!("could not open {url}: {e}"));
}

/// What the toolbar shows, read from its shadow root.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ToolbarView {
    /// toolbar.js has run: `window.debugToolbar` exists.
    ready: bool,
    /// toolbar.css has applied: the root is no longer hidden.
    styled: bool,
    open: bool,
    handle_expanded: String,
    /// The open state remembered in localStorage.
    stored: Option<String>,
    path: String,
    status: String,
    panels: Vec<String>,
    /// The requests of the page's scripts the toolbar lists.
    script_requests: Vec<String>,
}

const READ_TOOLBAR: &str = r##"
    const root = document.getElementById("debug-toolbar")?.shadowRoot;
    if (!root) return null;
    const text = (selector) => root.querySelector(selector)?.textContent.trim() ?? "";
    return {
        ready: typeof window.debugToolbar === "object",
        styled: getComputedStyle(root.querySelector(".dt-root")).display !== "none",
        open: !root.getElementById("dt-toolbar").hidden,
        handleExpanded: root.getElementById("dt-handle").getAttribute("aria-expanded"),
        stored: localStorage.getItem("debug-toolbar.open"),
        path: text(".dt-path"),
        status: text(".dt-status"),
        panels: [...root.querySelectorAll(".dt-panel-link[data-panel-id]")]
            .map((link) => link.dataset.panelId),
        scriptRequests: [...root.querySelectorAll("#dt-ajax button[data-switch]")]
            .map((button) => button.textContent.replace(/\s+/g, " ").trim()),
    };
"##;

/// What the panel area shows.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PanelView {
    shown: bool,
    /// The panel whose link is expanded.
    open_id: Option<String>,
    title: String,
    /// A panel fetch is in flight.
    busy: bool,
    loading: bool,
    error: Option<String>,
    text: String,
    /// The cells of every table row in the body.
    rows: Vec<Vec<String>>,
}

const READ_PANEL: &str = r#"
    const root = document.getElementById("debug-toolbar").shadowRoot;
    const body = root.getElementById("dt-panel-body");
    const link = root.querySelector('.dt-panel-link[aria-expanded="true"]');
    return {
        shown: !root.getElementById("dt-panel-content").hidden,
        openId: link ? link.dataset.panelId : null,
        title: root.getElementById("dt-panel-title").textContent,
        busy: body.hasAttribute("aria-busy"),
        loading: body.querySelector(".dt-loading") !== null,
        error: body.querySelector(".dt-error")?.textContent.trim() ?? null,
        text: body.innerText,
        rows: [...body.querySelectorAll("tr")]
            .map((row) => [...row.cells].map((cell) => cell.textContent.trim())),
    };
"#;

/// Waits until the page has a toolbar that is scripted and styled.
async fn wait_for_toolbar(client: &Client) -> ToolbarView {
    wait_for_toolbar_state(client, "scripted and styled", |t| t.ready && t.styled).await
}

async fn wait_for_toolbar_state(
    client: &Client,
    what: &str,
    done: impl Fn(&ToolbarView) -> bool,
) -> ToolbarView {
    let what = format!("toolbar {what}");
    wait_for(client, &what, READ_TOOLBAR, |t: &Option<ToolbarView>| {
        t.as_ref().is_some_and(&done)
    })
    .await
    .expect("wait_for returns only a toolbar that `done` accepted")
}

/// Whether the page carries the toolbar's shell (the dashboard does once a request is stored).
async fn read_toolbar_if_any(client: &Client) -> bool {
    run_script::<Option<ToolbarView>>(client, READ_TOOLBAR)
        .await
        .is_ok_and(|t| t.is_some())
}

async fn read_toolbar(client: &Client) -> ToolbarView {
    run_script::<Option<ToolbarView>>(client, READ_TOOLBAR)
        .await
        .unwrap_or_else(|e| panic!("reading the toolbar failed: {e}"))
        .unwrap_or_else(|| panic!("the page has no #debug-toolbar with a shadow root"))
}

async fn wait_for_panel_state(
    client: &Client,
    what: &str,
    done: impl Fn(&PanelView) -> bool,
) -> PanelView {
    wait_for(client, &format!("panel {what}"), READ_PANEL, done).await
}

/// Waits until no panel is shown and no panel link is expanded.
async fn wait_for_panel_closed(client: &Client, how: &str) {
    wait_for_panel_state(client, &format!("closed {how}"), |p| {
        !p.shown && p.open_id.is_none()
    })
    .await;
}

/// Clicks the panel's link like a user and waits until its body has loaded.
async fn open_panel_by_click(client: &Client, id: &str) -> PanelView {
    click_in_toolbar(client, &format!(r#".dt-panel-link[data-panel-id="{id}"]"#)).await;
    wait_for_panel_loaded(client, id).await
}

/// Opens the panel through toolbar.js's API; its promise settles once the body has loaded.
async fn open_panel_by_api(client: &Client, id: &str) -> PanelView {
    client
        .execute(
            "return window.debugToolbar.open(arguments[0]);",
            vec![json!(id)],
        )
        .await
        .unwrap_or_else(|e| panic!("window.debugToolbar.open({id:?}) failed: {e}"));
    wait_for_panel_loaded(client, id).await
}

async fn wait_for_panel_loaded(client: &Client, id: &str) -> PanelView {
    wait_for_panel_state(client, &format!("{id:?} loaded"), |p| {
        p.shown && p.open_id.as_deref() == Some(id) && !p.busy && !p.loading
    })
    .await
}

/// The element of the toolbar's shadow root that `selector` finds.
async fn find_in_toolbar(client: &Client, selector: &str) -> fantoccini::elements::Element {
    let host = client
        .find(Locator::Id("debug-toolbar"))
        .await
        .unwrap_or_else(|e| panic!("no #debug-toolbar on the page: {e}"));
    let root = host
        .shadow_root()
        .await
        .unwrap_or_else(|e| panic!("#debug-toolbar has no shadow root: {e}"));
    root.find(Locator::Css(selector))
        .await
        .unwrap_or_else(|e| panic!("no {selector} in the toolbar: {e}"))
}

/// Clicks the element of the toolbar's shadow root that `selector` finds.
async fn click_in_toolbar(client: &Client, selector: &str) {
    find_in_toolbar(client, selector)
        .await
        .click()
        .await
        .unwrap_or_else(|e| panic!("clicking {selector} failed: {e}"));
}

/// Types `text` into the element of the toolbar's shadow root that `selector` finds.
async fn type_in_toolbar(client: &Client, selector: &str, text: &str) {
    find_in_toolbar(client, selector)
        .await
        .send_keys(text)
        .await
        .unwrap_or_else(|e| panic!("typing into {selector} failed: {e}"));
}

async fn press_escape(client: &Client) {
    let escape = char::from(Key::Escape);
    let keys = KeyActions::new("keyboard".to_owned())
        .then(KeyAction::Down { value: escape })
        .then(KeyAction::Up { value: escape });
    client
        .perform_actions(keys)
        .await
        .unwrap_or_else(|e| panic!("pressing Esc failed: {e}"));
}

/// Parks the pointer in the page's top-left corner, so that no toolbar button shows as hovered.
async fn move_mouse_away(client: &Client) {
    let pointer = MouseActions::new("mouse".to_owned()).then(PointerAction::MoveTo {
        duration: None,
        x: 0.0,
        y: 0.0,
    });
    client
        .perform_actions(pointer)
        .await
        .unwrap_or_else(|e| panic!("moving the pointer failed: {e}"));
}

/// Runs `script` and reads its result as a `T`.
async fn run_script<T: DeserializeOwned>(client: &Client, script: &str) -> Result<T, String> {
    let value = client
        .execute(script, vec![])
        .await
        .map_err(|e| e.to_string())?;
    serde_json::from_value(value.clone()).map_err(|e| format!("{e} in {value}"))
}

/// Runs `script` until `done` accepts its result; panics with the last result after [`WAIT`].
async fn wait_for<T: DeserializeOwned + Debug>(
    client: &Client,
    what: &str,
    script: &str,
    done: impl Fn(&T) -> bool,
) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        let last = run_script::<T>(client, script).await;
        match last {
            Ok(value) if done(&value) => return value,
            last if Instant::now() >= deadline => {
                panic!("timed out after {WAIT:?} waiting for {what}; last saw: {last:#?}")
            }
            _ => tokio::time::sleep(POLL).await,
        }
    }
}

// ---- the screenshot ----

/// Saves what the browser shows to `target/browser-{name}`, and to `docs/{name}` when
/// `UPDATE_SCREENSHOT=1`.
async fn save_screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.expect("take a screenshot");
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    write_file(&format!("{root}/target/browser-{name}"), &png);
    if std::env::var_os("UPDATE_SCREENSHOT").is_some_and(|v| v == "1") {
        write_file(&format!("{root}/docs/{name}"), &png);
    }
}

fn write_file(path: &str, bytes: &[u8]) {
    let path = Path::new(path);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .unwrap_or_else(|e| panic!("could not create {}: {e}", dir.display()));
    }
    std::fs::write(path, bytes)
        .unwrap_or_else(|e| panic!("could not write {}: {e}", path.display()));
    eprintln!("screenshot written to {}", path.display());
}

// ---- the browser's console ----

/// One entry of the browser's console log, as chromedriver reports it.
#[derive(Debug, Deserialize)]
struct LogEntry {
    level: String,
    message: String,
}

/// Chromedriver's `POST /session/{id}/se/log` for the `browser` log: the console messages
/// since the last call.
#[derive(Debug)]
struct GetBrowserLog;

impl WebDriverCompatibleCommand for GetBrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        // fantoccini only sends commands on an open session; without one, chromedriver would
        // answer "invalid session id".
        let session = session_id.unwrap_or_default();
        base_url.join(&format!("session/{session}/se/log"))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({ "type": "browser" }).to_string()),
        )
    }
}

/// Fails when the browser logged a SEVERE console message (an error) while on `url`.
async fn assert_no_console_errors(client: &Client, url: &str) {
    let log = client
        .issue_cmd(GetBrowserLog)
        .await
        .unwrap_or_else(|e| panic!("could not read the browser log: {e}"));
    let entries: Vec<LogEntry> = serde_json::from_value(log.clone())
        .unwrap_or_else(|e| panic!("unexpected browser log {log}: {e}"));
    let errors: Vec<&str> = entries
        .iter()
        .filter(|entry| entry.level == "SEVERE" && !is_favicon_miss(&entry.message))
        .map(|entry| entry.message.as_str())
        .collect();
    assert!(
        errors.is_empty(),
        "the browser logged errors on {url}:\n  {}",
        errors.join("\n  ")
    );
}

/// The 404 of the favicon the browser asks for on its own: the demo has none, and no page or
/// toolbar script asked for it.
fn is_favicon_miss(message: &str) -> bool {
    message.contains("/favicon.ico - Failed to load resource")
}
