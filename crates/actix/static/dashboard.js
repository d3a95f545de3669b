// The dashboard's behaviour: the stored requests as a live list (the JSON API and its event
// stream), figures across requests, compare two, copy as curl, replay. A request opens in the
// toolbar shell the page carries (toolbar.js), with all its panels.
(() => {
  "use strict";

  const main = document.getElementById("db");
  if (!main) return;
  const prefix = main.dataset.prefix;
  const MAX_ROWS = 500;

  const rowsBody = document.getElementById("db-request-rows");
  const noRequests = document.getElementById("db-no-requests");
  const count = document.getElementById("db-count");
  const live = document.getElementById("db-live");
  const compareButton = document.getElementById("db-compare-selected");
  const filters = {
    method: document.getElementById("db-filter-method"),
    path: document.getElementById("db-filter-path"),
    status: document.getElementById("db-filter-status"),
    duration: document.getElementById("db-filter-duration"),
  };

  const requests = new Map(); // id → summary, as listed
  const selected = []; // ids chosen for comparison, oldest choice first

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function button(text, action, id) {
    const node = element("button", null, text);
    node.type = "button";
    node.dataset.action = action;
    if (id) node.dataset.id = id;
    return node;
  }

  function ms(value) {
    return value === null || value === undefined ? "–" : `${Number(value).toFixed(1)} ms`;
  }

  async function getJson(path) {
    const response = await fetch(`${prefix}${path}`, { headers: { Accept: "application/json" } });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
    return body;
  }

  // ---- The list of requests ----

  function requestRow(r) {
    const row = document.createElement("tr");
    row.dataset.id = r.id;
    row.dataset.method = r.method;
    row.dataset.path = r.path;
    row.dataset.status = String(r.status);
    row.dataset.duration = String(r.duration_ms);
    const pick = element("input");
    pick.type = "checkbox";
    pick.className = "db-pick";
    pick.dataset.id = r.id;
    pick.checked = selected.includes(r.id);
    pick.setAttribute("aria-label", `Select ${r.method} ${r.path} to compare`);
    const pickCell = element("td");
    pickCell.append(pick);
    const status = element("td", r.status >= 500 ? "db-status db-status-error" : r.status >= 400 ? "db-status db-status-warn" : "db-status", String(r.status));
    const actions = element("td", "db-row-actions");
    actions.append(button("Open", "open", r.id), button("curl", "curl", r.id), button("Replay", "replay", r.id));
    row.append(
      pickCell,
      element("td", null, new Date(r.started_at_unix_ms).toLocaleTimeString()),
      element("td", "db-method", r.method),
      element("td", "db-path", r.path),
      status,
      element("td", "db-number", ms(r.duration_ms)),
      element("td", null, r.kind ?? "page"),
      actions,
    );
    return row;
  }

  function addRequest(r, newest) {
    if (!r || !r.id || requests.has(r.id)) return;
    requests.set(r.id, r);
    const row = requestRow(r);
    if (newest) rowsBody.prepend(row);
    else rowsBody.append(row);
    while (rowsBody.rows.length > MAX_ROWS) {
      const last = rowsBody.lastElementChild;
      requests.delete(last.dataset.id);
      last.remove();
    }
    applyFilters();
  }

  function passes(row) {
    const method = filters.method.value;
    const path = filters.path.value.trim().toLowerCase();
    const status = filters.status.value;
    const duration = Number(filters.duration.value || 0);
    return (
      (!method || row.dataset.method === method) &&
      (!path || row.dataset.path.toLowerCase().includes(path)) &&
      (!status || row.dataset.status.startsWith(status)) &&
      Number(row.dataset.duration) >= duration
    );
  }

  function applyFilters() {
    let shown = 0;
    for (const row of rowsBody.rows) {
      row.hidden = !passes(row);
      if (!row.hidden) shown += 1;
    }
    const total = rowsBody.rows.length;
    count.textContent = shown === total ? `${total} requests` : `${shown} of ${total} requests shown`;
    noRequests.hidden = total > 0;
  }

  async function loadRequests() {
    try {
      const { requests: list } = await getJson("api/requests?limit=200");
      for (const r of list) addRequest(r, false);
    } catch (error) {
      live.textContent = `The store did not answer: ${error.message}`;
    }
    applyFilters();
  }

  // New records arrive on the event stream, one summary per event, oldest first.
  function follow() {
    if (typeof EventSource !== "function") {
      live.textContent = "This browser cannot follow new requests; reload to see them.";
      return;
    }
    const source = new EventSource(`${prefix}api/requests/stream`);
    source.addEventListener("open", () => {
      live.textContent = "Live: new requests appear as they are stored.";
      main.dataset.live = "true";
    });
    source.addEventListener("error", () => {
      live.textContent = "Reconnecting…";
      main.dataset.live = "false";
    });
    source.addEventListener("request", (event) => {
      try {
        addRequest(JSON.parse(event.data), true);
        scheduleAnalysis();
      } catch {
        // not a summary: ignored
      }
    });
  }

  // ---- Across requests ----

  let analysisTimer = null;
  function scheduleAnalysis() {
    clearTimeout(analysisTimer);
    analysisTimer = setTimeout(loadAnalysis, 400);
  }

  const FLAG_NAMES = {
    n_plus_one: "N+1",
    slow_query: "slow query",
    query_error: "failed query",
    error_logs: "error logs",
    broken_budget: "over budget",
    server_error: "5xx",
  };

  function flagList(flags) {
    const cell = element("td", "db-flags");
    for (const [key, name] of Object.entries(FLAG_NAMES)) {
      const n = flags?.[key] ?? 0;
      if (n > 0) cell.append(element("span", "db-flag", `${name} ×${n}`), " ");
    }
    return cell;
  }

  function fillRoutes(routes) {
    const body = document.getElementById("db-route-rows");
    body.replaceChildren(
      ...routes.map((r) => {
        const row = document.createElement("tr");
        row.dataset.route = r.route;
        row.append(
          element("td", "db-method", r.method),
          element("td", "db-path", r.route),
          element("td", "db-number", String(r.count)),
          element("td", "db-number", ms(r.p50_ms)),
          element("td", "db-number", ms(r.p95_ms)),
          element("td", "db-number", r.queries_per_request === null ? "–" : r.queries_per_request.toFixed(1)),
          flagList(r.flags),
        );
        return row;
      }),
    );
  }

  function fillStatements(statements) {
    const body = document.getElementById("db-statement-rows");
    body.replaceChildren(
      ...statements.map((s) => {
        const row = document.createElement("tr");
        const sql = element("td");
        sql.append(element("code", "db-sql", s.statement));
        row.append(
          sql,
          element("td", "db-number", String(s.count)),
          element("td", "db-number", String(s.requests)),
          element("td", "db-number", ms(s.total_ms)),
          element("td", "db-number", ms(s.mean_ms)),
          element("td", "db-number", ms(s.max_ms)),
          element("td", null, s.routes.join(", ")),
        );
        return row;
      }),
    );
  }

  function fillProblems(problems) {
    const list = document.getElementById("db-problem-list");
    const items = [];
    for (const p of problems) {
      for (const problem of p.problems) {
        const item = element("li", `db-problem db-problem-${problem.kind}`);
        item.dataset.kind = problem.kind;
        item.append(
          element("span", "db-flag", problem.kind.replaceAll("_", " ")),
          " ",
          element("span", null, problem.message),
          " ",
          element("span", "db-muted", `${p.request.method} ${p.request.path}`),
          " ",
          button("Open", "open", p.request.id),
        );
        if (problem.statement) item.append(element("code", "db-sql db-block", problem.statement));
        items.push(item);
      }
    }
    list.replaceChildren(...(items.length ? items : [element("li", "db-muted", "No problems in the stored requests.")]));
  }

  async function loadAnalysis() {
    const [routes, statements, problems] = await Promise.allSettled([
      getJson("api/routes"),
      getJson("api/statements?limit=10"),
      getJson("api/problems"),
    ]);
    if (routes.status === "fulfilled") fillRoutes(routes.value.routes);
    if (statements.status === "fulfilled") fillStatements(statements.value.statements);
    if (problems.status === "fulfilled") fillProblems(problems.value.problems);
  }

  // ---- One request: open, curl, replay ----

  function setQuery(name, value) {
    const url = new URL(location.href);
    url.search = value ? `?${name}=${encodeURIComponent(value)}` : "";
    history.replaceState(null, "", url);
  }

  async function openRequest(id) {
    const toolbar = window.debugToolbar;
    if (!toolbar) {
      // The page was made before anything was stored: load it again around this request.
      location.assign(`${prefix}?request=${encodeURIComponent(id)}`);
      return;
    }
    await toolbar.switchTo(id);
    toolbar.show();
    setQuery("request", id);
    for (const row of rowsBody.rows) row.classList.toggle("db-open", row.dataset.id === id);
  }

  const tools = document.getElementById("db-request-tools");
  const curlBox = document.getElementById("db-curl");
  const toolsNote = document.getElementById("db-tools-note");
  const replayResult = document.getElementById("db-replay-result");

  async function sentRequest(id) {
    const sent = await getJson(`api/requests/${encodeURIComponent(id)}/curl`);
    tools.hidden = false;
    document.getElementById("db-tools-summary").textContent = `${sent.method} ${sent.path_and_query}`;
    curlBox.textContent = sent.curl;
    const notes = [sent.headers_recorded ? "Secrets are masked." : "The Headers panel did not run for this request: no headers are known."];
    if (sent.body_truncated) notes.push("The body is longer than what was recorded: only its start is here.");
    toolsNote.textContent = notes.join(" ");
    return sent;
  }

  async function copyCurl(id) {
    replayResult.replaceChildren();
    try {
      const sent = await sentRequest(id);
      await navigator.clipboard?.writeText(sent.curl);
      replayResult.textContent = "Copied to the clipboard.";
    } catch (error) {
      // The command is shown either way; copying may be refused by the browser.
      if (tools.hidden) replayResult.textContent = `Could not read the request: ${error.message}`;
    }
    tools.scrollIntoView({ block: "nearest" });
  }

  // Sends the request again from this page (same origin, so the browser adds its cookies),
  // with the toolbar's action mark; the new record arrives on the stream like any other.
  async function replay(id) {
    replayResult.replaceChildren(element("span", "db-muted", "Replaying…"));
    try {
      const sent = await sentRequest(id);
      const headers = new Headers();
      for (const h of sent.replay_headers) {
        try {
          headers.append(h.name, h.value);
        } catch {
          // A header the browser does not let scripts set.
        }
      }
      headers.set("X-Debug-Toolbar-Action", "1");
      const response = await fetch(sent.path_and_query, {
        method: sent.method,
        headers,
        credentials: "same-origin",
        redirect: "manual",
        body: sent.body !== null && sent.method !== "GET" && sent.method !== "HEAD" ? sent.body : undefined,
      });
      const newId = response.headers.get("X-Debug-Toolbar-Id");
      const status = response.type === "opaqueredirect" ? "a redirect" : `HTTP ${response.status}`;
      replayResult.replaceChildren(element("span", null, `Replayed: ${status}. `));
      if (newId) {
        replayResult.append(button("Open the replay", "open", newId), " ", button("Compare with the original", "compare-pair", `${id},${newId}`));
      }
    } catch (error) {
      replayResult.replaceChildren(element("span", "db-error", `Replay failed: ${error.message}`));
    }
  }

  // ---- Compare ----

  function summaryLine(label, r) {
    return element("p", null, `${label}: ${r.method} ${r.path} → ${r.status}, ${ms(r.duration_ms)} (${new Date(r.started_at_unix_ms).toLocaleTimeString()})`);
  }

  function table(headings, rows, className) {
    const t = element("table", `db-table ${className || ""}`);
    const head = t.createTHead().insertRow();
    for (const h of headings) {
      const th = element("th", null, h);
      th.scope = "col";
      head.append(th);
    }
    const body = t.createTBody();
    for (const cells of rows) {
      const row = body.insertRow();
      for (const c of cells) row.append(c instanceof Node ? c : element("td", null, c));
    }
    return t;
  }

  function changeCell(value) {
    if (value === null || value === undefined) return element("td", "db-number", "–");
    const cell = element("td", `db-number ${value > 0 ? "db-worse" : value < 0 ? "db-better" : ""}`, `${value > 0 ? "+" : ""}${value.toFixed(1)}`);
    return cell;
  }

  function entries(title, changes, what) {
    const section = element("section", "db-compare-part");
    section.dataset.part = what;
    section.append(element("h3", null, title));
    if (!changes) {
      section.append(element("p", "db-muted", "Not recorded for both requests."));
      return section;
    }
    const rows = [];
    for (const [kind, list] of [["added", changes.added], ["removed", changes.removed], ["changed", changes.changed]]) {
      for (const e of list) {
        const key = element("td");
        key.append(element("code", what === "queries" ? "db-sql" : null, e.key));
        rows.push([element("td", `db-change-${kind}`, kind), key, String(e.a_count), String(e.b_count), ms(e.a_ms), ms(e.b_ms)]);
      }
    }
    section.append(rows.length ? table(["", what === "queries" ? "Statement" : "Span", "Count A", "Count B", "Time A", "Time B"], rows) : element("p", "db-muted", "No difference."));
    return section;
  }

  function headerChanges(headers) {
    const section = element("section", "db-compare-part");
    section.dataset.part = "headers";
    section.append(element("h3", null, "Headers"));
    if (!headers) {
      section.append(element("p", "db-muted", "Not recorded for both requests."));
      return section;
    }
    const rows = [];
    for (const [side, list] of [["request", headers.request], ["response", headers.response]]) {
      for (const h of list) rows.push([side, h.name, h.a ?? "—", h.b ?? "—"]);
    }
    section.append(rows.length ? table(["", "Header", "A", "B"], rows) : element("p", "db-muted", "No difference."));
    return section;
  }

  async function compare(a, b) {
    const section = document.getElementById("db-compare");
    const body = document.getElementById("db-compare-body");
    section.hidden = false;
    body.replaceChildren(element("p", "db-muted", "Comparing…"));
    let c;
    try {
      c = await getJson(`api/compare/${encodeURIComponent(a)}/${encodeURIComponent(b)}`);
    } catch (error) {
      body.replaceChildren(element("p", "db-error", `Could not compare: ${error.message}`));
      return;
    }
    setQuery("compare", `${a},${b}`);
    const status = element("p", c.status.changed ? "db-worse" : null, c.status.changed ? `Status changed: ${c.status.a} → ${c.status.b}` : `Same status: ${c.status.a}`);
    const timings = element("section", "db-compare-part");
    timings.dataset.part = "timings";
    timings.append(
      element("h3", null, "Timings (ms)"),
      table(["", "A", "B", "Change"], c.timings.map((t) => [t.name, t.a === null ? "–" : t.a.toFixed(1), t.b === null ? "–" : t.b.toFixed(1), changeCell(t.change)])),
    );
    const problems = element("section", "db-compare-part");
    problems.dataset.part = "problems";
    problems.append(element("h3", null, "Problems"));
    const fixed = c.problems.fixed.map((p) => element("li", "db-better", `fixed: ${p.message}`));
    const introduced = c.problems.introduced.map((p) => element("li", "db-worse", `introduced: ${p.message}`));
    const list = element("ul");
    list.append(...fixed, ...introduced);
    problems.append(fixed.length + introduced.length ? list : element("p", "db-muted", "The same problems, or none."));
    const sides = element("div", "db-sides");
    sides.append(summaryLine("A", c.a), summaryLine("B", c.b));
    body.replaceChildren(sides, status, timings, entries("Queries", c.queries, "queries"), entries("Span tree", c.spans, "spans"), headerChanges(c.headers), problems);
    section.scrollIntoView({ block: "start" });
  }

  function toggleSelected(id, on) {
    const at = selected.indexOf(id);
    if (on && at < 0) selected.push(id);
    if (!on && at >= 0) selected.splice(at, 1);
    while (selected.length > 2) {
      const dropped = selected.shift();
      const box = rowsBody.querySelector(`input.db-pick[data-id="${CSS.escape(dropped)}"]`);
      if (box) box.checked = false;
    }
    compareButton.disabled = selected.length !== 2;
  }

  // ---- Wiring ----

  main.addEventListener("click", (event) => {
    const target = event.target.closest("button[data-action]");
    if (!target) return;
    const id = target.dataset.id;
    switch (target.dataset.action) {
      case "open":
        openRequest(id);
        break;
      case "curl":
        copyCurl(id);
        break;
      case "replay":
        replay(id);
        break;
      case "compare-pair": {
        const [a, b] = id.split(",");
        compare(a, b);
        break;
      }
    }
  });
  rowsBody.addEventListener("change", (event) => {
    const box = event.target.closest("input.db-pick");
    if (box) toggleSelected(box.dataset.id, box.checked);
  });
  compareButton.addEventListener("click", () => {
    if (selected.length !== 2) return;
    // Older first, so that B is the later request ("did my fix work?").
    const [a, b] = [...selected].sort((x, y) => (requests.get(x)?.started_at_unix_ms ?? 0) - (requests.get(y)?.started_at_unix_ms ?? 0));
    compare(a, b);
  });
  document.getElementById("db-filters").addEventListener("input", applyFilters);
  document.getElementById("db-filters").addEventListener("submit", (event) => event.preventDefault());

  const params = new URLSearchParams(location.search);
  loadRequests().then(() => {
    main.dataset.ready = "true";
    const pair = params.get("compare")?.split(",");
    if (pair?.length === 2) compare(pair[0], pair[1]);
  });
  loadAnalysis();
  follow();
  // toolbar.js runs after this script; both have run when the DOM is complete.
  document.addEventListener("DOMContentLoaded", () => {
    if (params.get("request")) window.debugToolbar?.show();
  });

  window.debugDashboard = Object.freeze({ compare, open: openRequest });
})();
