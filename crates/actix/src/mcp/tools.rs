//! The MCP server's tools: the stored requests, their panels, problems, EXPLAIN, comparisons
//! and traces. Each answer is a few lines an agent can act on, plus the data as structured
//! content (the same JSON the API's routes answer). Records hold what the panels show,
//! secrets already masked.

use std::fmt::Write as _;
use std::sync::{Arc, LazyLock};

use debug_toolbar_core::integration::Toolbar;
use debug_toolbar_core::{Page, RequestRecord};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, Implementation, ServerCapabilities, ServerConfig};
use rmcp::{ErrorData, ServerHandler, tool, tool_handler, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::analysis::{self, Analysed};
use crate::api;
use crate::toolbar::Shared;

/// The value of a `Result` whose error is the tool's answer (why there is nothing to show),
/// or that answer, returned from the tool.
macro_rules! or_answer {
    ($result:expr) => {
        match $result {
            Ok(value) => value,
            Err(answer) => return Ok(answer),
        }
    };
}

/// Requests `list_requests` returns unless `limit` says otherwise.
const DEFAULT_LIST: usize = 20;
/// Lines of text an answer shows before it says how many more the structured content has.
const MAX_LINES: usize = 30;

/// The toolbar's MCP server: one per request (the server is stateless).
#[derive(Clone)]
pub(crate) struct ToolbarMcp {
    shared: Arc<Shared>,
    tool_router: ToolRouter<Self>,
}

/// The tools, with their JSON Schemas, made once.
static TOOLS: LazyLock<ToolRouter<ToolbarMcp>> = LazyLock::new(ToolbarMcp::tool_router);

impl ToolbarMcp {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self {
            shared,
            tool_router: TOOLS.clone(),
        }
    }

    fn toolbar(&self) -> Result<&Toolbar, CallToolResult> {
        self.shared
            .toolbar
            .as_ref()
            .ok_or_else(|| failure("The debug toolbar is switched off."))
    }

    /// The stored request `id`, or the answer that says why there is none.
    async fn record(&self, id: &str) -> Result<(&Toolbar, Analysed), CallToolResult> {
        let toolbar = self.toolbar()?;
        match api::one(toolbar, id).await {
            Ok(Some(analysed)) => Ok((toolbar, analysed)),
            Ok(None) => Err(failure(format!(
                "No stored request has id {id:?}: the toolbar keeps only the most recent \
                 requests. Call list_requests for the ids it has."
            ))),
            Err(e) => Err(store_failure(&e)),
        }
    }
}

/// Arguments of `list_requests`.
#[derive(Debug, Deserialize, JsonSchema)]
struct ListRequests {
    /// Only requests whose path contains this text, e.g. `/users`.
    path: Option<String>,
    /// Only requests with this HTTP method, e.g. `GET`.
    method: Option<String>,
    /// Only requests answered with this status, e.g. `500`.
    status: Option<u16>,
    /// Most requests returned (default 20).
    limit: Option<usize>,
}

/// Arguments naming one stored request.
#[derive(Debug, Deserialize, JsonSchema)]
struct OneRequest {
    /// The request's id (32 hex digits), from list_requests or the `X-Debug-Toolbar-Id` header.
    request_id: String,
}

/// Arguments of `get_panel`.
#[derive(Debug, Deserialize, JsonSchema)]
struct GetPanel {
    /// The request's id (32 hex digits).
    request_id: String,
    /// The panel's id, e.g. `sql`, `logging`, `timer`, `headers`, `otel`.
    panel: String,
}

/// Arguments of `find_problems`.
#[derive(Debug, Deserialize, JsonSchema)]
struct FindProblems {
    /// One request's id; without it, every stored request is searched.
    request_id: Option<String>,
}

/// Arguments of `explain_query`.
#[derive(Debug, Deserialize, JsonSchema)]
struct ExplainQuery {
    /// The request's id (32 hex digits).
    request_id: String,
    /// The query's index in the request (`index` in the SQL panel's stats, `query` in
    /// find_problems' and the statements' answers).
    query: usize,
    /// Run EXPLAIN ANALYZE (PostgreSQL only; the statement really runs, inside a transaction
    /// that is rolled back).
    analyze: Option<bool>,
}

/// Arguments of `compare_requests`.
#[derive(Debug, Deserialize, JsonSchema)]
struct CompareRequests {
    /// The request to compare from, e.g. before a fix.
    before: String,
    /// The request to compare with it, e.g. after the fix.
    after: String,
}

#[tool_router]
impl ToolbarMcp {
    /// The stored requests, newest first, filtered by path, method and status.
    #[tool(
        name = "list_requests",
        description = "List the requests the debug toolbar recorded, newest first (id, method, path, status, duration, kind). Filter by path (substring), method and status."
    )]
    async fn list_requests(
        &self,
        Parameters(args): Parameters<ListRequests>,
    ) -> Result<CallToolResult, ErrorData> {
        let toolbar = or_answer!(self.toolbar());
        let page = Page {
            offset: 0,
            limit: analysis::MAX_RECORDS,
        };
        let summaries = match toolbar.store().list(page).await {
            Ok(summaries) => summaries,
            Err(e) => return Ok(store_failure(&e)),
        };
        let limit = args
            .limit
            .unwrap_or(DEFAULT_LIST)
            .min(analysis::MAX_RECORDS);
        let requests: Vec<_> = summaries
            .into_iter()
            .filter(|s| args.path.as_deref().is_none_or(|p| s.path.contains(p)))
            .filter(|s| {
                args.method
                    .as_deref()
                    .is_none_or(|m| s.method.eq_ignore_ascii_case(m))
            })
            .filter(|s| args.status.is_none_or(|status| s.status == status))
            .take(limit)
            .collect();
        let mut text = match requests.len() {
            0 => "No stored request matches.".to_owned(),
            n => format!("{n} stored requests, newest first:\n"),
        };
        for s in requests.iter().take(MAX_LINES) {
            let _ = writeln!(
                text,
                "{} {} {} -> {} in {:.1} ms ({})",
                s.id,
                s.method,
                s.path,
                s.status,
                s.duration_ms,
                s.kind.as_str()
            );
        }
        more(&mut text, requests.len());
        Ok(answer(text, json!({ "requests": requests })))
    }

    /// One request: its summary and every panel's stats.
    #[tool(
        name = "get_request",
        description = "One recorded request: its summary, every panel's title and subtitle, its problems, and every panel's stats as structured content."
    )]
    async fn get_request(
        &self,
        Parameters(args): Parameters<OneRequest>,
    ) -> Result<CallToolResult, ErrorData> {
        let (_, analysed) = or_answer!(self.record(&args.request_id).await);
        let record = &analysed.record;
        let mut text = format!(
            "{} {} -> {} in {:.1} ms ({}, route {})\n",
            record.method,
            record.path,
            record.status,
            record.duration_ms,
            record.kind.as_str(),
            analysed.route
        );
        for panel in &record.panels {
            let _ = write!(text, "- {} ({})", panel.title, panel.id);
            if let Some(subtitle) = &panel.subtitle {
                let _ = write!(text, ": {subtitle}");
            }
            if let Some(note) = &panel.note {
                let _ = write!(text, " [{note}]");
            }
            text.push('\n');
        }
        problem_lines(&mut text, &analysed.problems);
        text.push_str("Call get_panel for one panel's stats.");
        Ok(answer(text, record_json(record)))
    }

    /// One panel's stats of one request.
    #[tool(
        name = "get_panel",
        description = "One panel's stats of a recorded request, e.g. panel `sql` (queries, N+1, duplicates), `logging`, `timer`, `headers`, `request`, `templates`, `profiling`, `budgets`, `otel`."
    )]
    async fn get_panel(
        &self,
        Parameters(args): Parameters<GetPanel>,
    ) -> Result<CallToolResult, ErrorData> {
        let (_, analysed) = or_answer!(self.record(&args.request_id).await);
        let Some(panel) = analysed.record.panel(&args.panel) else {
            let ids: Vec<&str> = analysed
                .record
                .panels
                .iter()
                .map(|p| p.id.as_ref())
                .collect();
            return Ok(failure(format!(
                "This request has no panel {:?}; it has: {}.",
                args.panel,
                ids.join(", ")
            )));
        };
        let mut text = format!(
            "{} of {} {}",
            panel.title, analysed.record.method, analysed.record.path
        );
        if let Some(subtitle) = &panel.subtitle {
            let _ = write!(text, ": {subtitle}");
        }
        if let Some(note) = &panel.note {
            let _ = write!(text, "\n{note}");
        }
        let stats: Value = panel.stats.parse().unwrap_or(Value::Null);
        Ok(answer(
            text,
            json!({ "request_id": analysed.record.id, "panel": panel.id, "stats": stats }),
        ))
    }

    /// Problems of one request or of every stored request.
    #[tool(
        name = "find_problems",
        description = "Problems of the recorded requests (or of one): N+1 queries with the statement and where they ran from, slow and failed queries, error logs, broken budgets, 5xx responses."
    )]
    async fn find_problems(
        &self,
        Parameters(args): Parameters<FindProblems>,
    ) -> Result<CallToolResult, ErrorData> {
        let (problems, searched) = match &args.request_id {
            Some(id) => {
                let (_, analysed) = or_answer!(self.record(id).await);
                (analysis::problems(std::slice::from_ref(&analysed)), 1)
            }
            None => {
                let toolbar = or_answer!(self.toolbar());
                match analysis::stored(toolbar).await {
                    Ok(stored) => (analysis::problems(&stored), stored.len()),
                    Err(e) => return Ok(store_failure(&e)),
                }
            }
        };
        let count: usize = problems.iter().map(|p| p.problems.len()).sum();
        let mut text = if count == 0 {
            format!("No problems in {searched} stored request(s).\n")
        } else {
            format!(
                "{count} problem(s) in {} of {searched} stored request(s):\n",
                problems.len()
            )
        };
        let mut lines = 0;
        for request in &problems {
            for p in &request.problems {
                lines += 1;
                if lines > MAX_LINES {
                    continue;
                }
                let _ = writeln!(
                    text,
                    "- {} {} ({}): {}",
                    request.request.method, request.request.path, request.request.id, p.message
                );
                if let Some(statement) = &p.statement {
                    let _ = writeln!(text, "  statement: {statement}");
                }
            }
        }
        more(&mut text, lines);
        Ok(answer(
            text,
            json!({ "requests": searched, "problems": problems }),
        ))
    }

    /// EXPLAIN of a stored query, as the SQL panel runs it.
    #[tool(
        name = "explain_query",
        description = "The database's plan (EXPLAIN) for one query of a recorded request, with the SQL panel's read-only rules: only reads are explained; EXPLAIN ANALYZE on PostgreSQL only."
    )]
    async fn explain_query(
        &self,
        Parameters(args): Parameters<ExplainQuery>,
    ) -> Result<CallToolResult, ErrorData> {
        let (toolbar, analysed) = or_answer!(self.record(&args.request_id).await);
        let mut params = vec![
            ("request".to_owned(), analysed.record.id.to_string()),
            ("query".to_owned(), args.query.to_string()),
        ];
        if args.analyze == Some(true) {
            params.push(("analyze".to_owned(), "1".to_owned()));
        }
        let Some(explain) = toolbar.action(&analysed.record, "sql", "explain", &params) else {
            return Ok(failure(
                "This request has no SQL stats to EXPLAIN (the SQL panel is off or recorded nothing).",
            ));
        };
        let plan = match explain.await {
            Ok(response) => response.data,
            Err(e) => return Ok(failure(e.to_string())),
        };
        let mut text = format!("EXPLAIN of query {}:\n", args.query);
        if let Some(sql) = plan.get("sql").and_then(Value::as_str) {
            let _ = writeln!(text, "{sql}");
        }
        let cells = |row: &Value| -> Vec<String> {
            row.as_array()
                .map(|cells| {
                    cells
                        .iter()
                        .map(|c| c.as_str().map_or_else(|| c.to_string(), str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        if let Some(columns) = plan.get("columns") {
            let _ = writeln!(text, "{}", cells(columns).join(" | "));
        }
        for row in plan
            .get("rows")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let _ = writeln!(text, "{}", cells(row).join(" | "));
        }
        Ok(answer(text, plan))
    }

    /// How one request differs from another.
    #[tool(
        name = "compare_requests",
        description = "Compare two recorded requests (did my fix work?): status, wall/CPU/SQL time and query count, statements added/removed/changed in count or time, span tree differences, headers, problems fixed and introduced."
    )]
    async fn compare_requests(
        &self,
        Parameters(args): Parameters<CompareRequests>,
    ) -> Result<CallToolResult, ErrorData> {
        let (_, before) = or_answer!(self.record(&args.before).await);
        let (_, after) = or_answer!(self.record(&args.after).await);
        let comparison = analysis::compare(&before, &after);
        let mut text = format!(
            "{} {} ({}) -> {} {} ({})\n",
            comparison.a.method,
            comparison.a.path,
            comparison.a.status,
            comparison.b.method,
            comparison.b.path,
            comparison.b.status
        );
        for t in &comparison.timings {
            if let (Some(a), Some(b), Some(change)) = (t.a, t.b, t.change) {
                let _ = writeln!(text, "{}: {a} -> {b} ({change:+})", t.name);
            }
        }
        if let Some(queries) = &comparison.queries {
            let _ = writeln!(
                text,
                "statements: {} added, {} removed, {} changed",
                queries.added.len(),
                queries.removed.len(),
                queries.changed.len()
            );
            for e in queries.changed.iter().take(MAX_LINES) {
                let _ = writeln!(
                    text,
                    "  {}x {:.1} ms -> {}x {:.1} ms: {}",
                    e.a_count, e.a_ms, e.b_count, e.b_ms, e.key
                );
            }
        }
        if let Some(spans) = &comparison.spans {
            let _ = writeln!(
                text,
                "spans: {} added, {} removed, {} changed",
                spans.added.len(),
                spans.removed.len(),
                spans.changed.len()
            );
        }
        for p in &comparison.problems.fixed {
            let _ = writeln!(text, "fixed: {}", p.message);
        }
        for p in &comparison.problems.introduced {
            let _ = writeln!(text, "introduced: {}", p.message);
        }
        Ok(answer(text, to_json(&comparison)))
    }

    /// The request's spans, downstream ones included.
    #[tool(
        name = "get_trace",
        description = "The OpenTelemetry trace of a recorded request: trace id and every span (server, SQL, templates, outgoing calls, spans received from downstream services) with parent, timing, attributes and events."
    )]
    async fn get_trace(
        &self,
        Parameters(args): Parameters<OneRequest>,
    ) -> Result<CallToolResult, ErrorData> {
        let (_, analysed) = or_answer!(self.record(&args.request_id).await);
        Ok(trace(&analysed.record))
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for ToolbarMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new(
                "actix-debug-toolbar",
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions(
                "The debug toolbar of an actix-web application in development: what each \
                 recent request did (timings, SQL, logs, templates, profile, trace). Start with \
                 find_problems or list_requests; ids come from their answers or from the \
                 X-Debug-Toolbar-Id response header.",
            )
    }
}

#[cfg(feature = "otel")]
fn trace(record: &RequestRecord) -> CallToolResult {
    let stats = match record.stats::<debug_toolbar_otel::OtelPanel>() {
        Some(Ok(stats)) => stats,
        Some(Err(e)) => return failure(format!("The trace could not be read: {e}")),
        None => {
            return failure(
                "This request has no trace: the OpenTelemetry panel did not record it.",
            );
        }
    };
    let mut text = format!("trace {} ({} spans)\n", stats.trace_id, stats.spans.len());
    for span in stats.spans.iter().take(MAX_LINES) {
        let _ = write!(
            text,
            "{}{} {:.1} ms",
            "  ".repeat(span.depth),
            span.name,
            span.duration_ms
        );
        if let Some(service) = &span.service {
            let _ = write!(text, " [{service}]");
        }
        if let Some(error) = &span.error {
            let _ = write!(text, " error: {error}");
        }
        text.push('\n');
    }
    more(&mut text, stats.spans.len());
    answer(text, to_json(&stats))
}

#[cfg(not(feature = "otel"))]
fn trace(_: &RequestRecord) -> CallToolResult {
    failure(
        "This build has no OpenTelemetry panel (actix-debug-toolbar's cargo feature `otel`), \
         so requests carry no trace.",
    )
}

/// A record as the JSON API's `api/requests/{id}` answers it.
fn record_json(record: &RequestRecord) -> Value {
    to_json(record)
}

fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// A successful answer: `text` for the agent to read, `data` as structured content.
fn answer(text: String, data: Value) -> CallToolResult {
    let mut result = CallToolResult::structured(data);
    result.content = vec![ContentBlock::text(text.trim_end().to_owned())];
    result
}

/// A tool error the agent reads.
fn failure(text: impl Into<String>) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(text.into())])
}

fn store_failure(e: &debug_toolbar_core::StoreError) -> CallToolResult {
    failure(format!("The toolbar's store is unavailable: {e}"))
}

/// Says how many lines the text left out.
fn more(text: &mut String, total: usize) {
    if total > MAX_LINES {
        let _ = writeln!(
            text,
            "… and {} more in the structured content.",
            total - MAX_LINES
        );
    }
}

fn problem_lines(text: &mut String, problems: &[debug_toolbar_core::Problem]) {
    if problems.is_empty() {
        text.push_str("No problems.\n");
        return;
    }
    for p in problems.iter().take(MAX_LINES) {
        let _ = writeln!(text, "problem: {}", p.message);
    }
    more(text, problems.len());
}
