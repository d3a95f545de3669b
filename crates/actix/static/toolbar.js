// The debug toolbar's behaviour. Its markup and styles live in a shadow root on
// #debug-toolbar, so that the page and the toolbar cannot style each other.
(() => {
  "use strict";

  const STORAGE_KEY = "debug-toolbar.open";

  const host = document.getElementById("debug-toolbar");
  const root = host && (host.shadowRoot || attachShadowRoot(host));
  if (!root) return;

  const pageRequestId = host.dataset.requestId;
  let requestId = pageRequestId; // the request whose panels are shown
  const prefix = host.dataset.prefix;
  const handle = root.getElementById("dt-handle");
  const toolbar = root.getElementById("dt-toolbar");
  const panel = root.getElementById("dt-panel-content");
  const panelTitle = root.getElementById("dt-panel-title");
  const panelBody = root.getElementById("dt-panel-body");

  let openLink = null; // the panel link whose panel is shown
  let pendingLoad = null; // AbortController of the panel fetch in flight

  // Browsers without declarative shadow DOM leave the <template> in the light DOM.
  function attachShadowRoot(element) {
    const template = element.querySelector(":scope > template[shadowrootmode]");
    if (!template) return null;
    const shadow = element.attachShadow({ mode: "open" });
    shadow.append(template.content);
    template.remove();
    return shadow;
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function storedOpen() {
    try {
      return localStorage.getItem(STORAGE_KEY) !== "false";
    } catch {
      return true; // storage is blocked: start open, remember nothing
    }
  }

  function setToolbarOpen(open) {
    const focusInside = root.activeElement && root.activeElement !== handle;
    if (!open) closePanel();
    toolbar.hidden = !open;
    handle.setAttribute("aria-expanded", String(open));
    if (!open && focusInside) handle.focus();
    try {
      localStorage.setItem(STORAGE_KEY, String(open));
    } catch {
      // Storage is blocked: the state lasts for this page only.
    }
  }

  function findLink(panelId) {
    return [...root.querySelectorAll(".dt-panel-link")].find(
      (link) => link.dataset.panelId === panelId,
    );
  }

  function openPanel(panelId) {
    const link = findLink(panelId);
    if (!link) return Promise.reject(new Error(`debug toolbar: no panel "${panelId}"`));
    setToolbarOpen(true);
    openLink?.setAttribute("aria-expanded", "false");
    openLink = link;
    link.setAttribute("aria-expanded", "true");

    const title = link.querySelector(".dt-panel-title").textContent;
    panelTitle.textContent = title;
    panel.setAttribute("aria-label", title);
    panel.hidden = false;
    panelBody.replaceChildren(element("p", "dt-loading", "Loading…"));
    panelBody.focus();
    return loadPanel(panelId);
  }

  function closePanel() {
    if (!openLink) return;
    pendingLoad?.abort();
    pendingLoad = null;
    const focusInside = panel.contains(root.activeElement);
    panel.hidden = true;
    panelBody.replaceChildren();
    panelBody.removeAttribute("aria-busy");
    openLink.setAttribute("aria-expanded", "false");
    if (focusInside) openLink.focus();
    openLink = null;
  }

  async function loadPanel(panelId) {
    pendingLoad?.abort();
    const load = new AbortController();
    pendingLoad = load;
    panelBody.setAttribute("aria-busy", "true");
    const url = `${prefix}panels/${encodeURIComponent(requestId)}/${encodeURIComponent(panelId)}`;
    try {
      const response = await fetch(url, { signal: load.signal, headers: { Accept: "text/html" } });
      const body = await response.text();
      if (response.status === 200) {
        // Server-rendered by the toolbar's templates, which escape every value.
        panelBody.innerHTML = body;
        const timing = panelBody.querySelector("[data-browser-timing]");
        if (timing) fillBrowserTiming(timing);
        for (const sql of panelBody.querySelectorAll("[data-sql]")) highlightSql(sql);
        const history = panelBody.querySelector("[data-history]");
        if (history) fillHistory(history);
        showCookieToggles(panelBody);
      } else {
        const contentType = response.headers.get("content-type") || "";
        showError(`Could not load this panel (HTTP ${response.status}).`, readableText(body, contentType));
      }
    } catch (error) {
      if (error.name !== "AbortError") showError("Could not reach the server.", error.message);
    } finally {
      if (pendingLoad === load) {
        pendingLoad = null;
        panelBody.removeAttribute("aria-busy");
      }
    }
  }

  // Error responses may be HTML; show their words, never their markup.
  function readableText(body, contentType) {
    const text = contentType.startsWith("text/html")
      ? new DOMParser().parseFromString(body, "text/html").body.textContent
      : body;
    return text.replace(/\s*\n\s*/g, "\n").trim();
  }

  function showError(summary, details) {
    const box = element("div", "dt-error");
    box.setAttribute("role", "alert");
    box.append(element("p", null, summary));
    if (details) box.append(element("pre", null, details));
    panelBody.replaceChildren(box);
  }

  function fillBrowserTiming(container) {
    const navigation = window.performance?.getEntriesByType?.("navigation")[0];
    if (!navigation) {
      container.replaceChildren(element("p", "dt-empty", "Navigation timing is not available in this browser."));
      return;
    }
    container.replaceChildren(browserTimingTable(navigation));
    if (navigation.loadEventEnd === 0) {
      // Opened before the page finished loading; loadEventEnd is set after the load handlers run.
      window.addEventListener("load", () => setTimeout(() => fillBrowserTiming(container)), { once: true });
    }
  }

  function browserTimingTable(navigation) {
    const phases = [
      ["DNS lookup", navigation.domainLookupStart, navigation.domainLookupEnd],
      ["Connect", navigation.connectStart, navigation.connectEnd],
      ["Request → response start (TTFB)", navigation.requestStart, navigation.responseStart],
      ["Response", navigation.responseStart, navigation.responseEnd],
      ["DOM interactive", navigation.domInteractive],
      ["DOMContentLoaded", navigation.domContentLoadedEventStart, navigation.domContentLoadedEventEnd],
      ["Load event", navigation.loadEventStart, navigation.loadEventEnd],
    ];
    const table = element("table");
    const headRow = table.createTHead().insertRow();
    for (const label of ["Phase", "Start (ms)", "Duration (ms)"]) {
      const cell = element("th", null, label);
      cell.scope = "col";
      headRow.append(cell);
    }
    const tbody = table.createTBody();
    for (const [label, start, end] of phases) {
      const row = tbody.insertRow();
      const name = element("th", null, label);
      name.scope = "row";
      // A mark of zero means the browser has not reached that point yet.
      const reached = (end ?? start) > 0;
      row.append(
        name,
        reached ? element("td", null, start.toFixed(1)) : element("td", "dt-empty", "pending"),
        element("td", null, reached && end !== undefined ? (end - start).toFixed(1) : ""),
      );
    }
    return table;
  }

  // SQL keywords, strings and numbers get classes; built from text, never from markup.
  const SQL_TOKEN =
    /('(?:[^']|'')*')|(\b\d+(?:\.\d+)?\b)|\b(SELECT|FROM|WHERE|AND|OR|NOT|IN|IS|NULL|AS|ON|JOIN|LEFT|RIGHT|INNER|OUTER|GROUP|BY|ORDER|HAVING|LIMIT|OFFSET|INSERT|INTO|VALUES|UPDATE|SET|DELETE|CREATE|TABLE|DROP|ALTER|WITH|UNION|ALL|DISTINCT|CASE|WHEN|THEN|ELSE|END|BEGIN|COMMIT|ROLLBACK|EXISTS|COUNT|RETURNING|PRIMARY|KEY|REFERENCES|INTEGER|TEXT|ASC|DESC)\b/gi;

  function highlightSql(node) {
    const text = node.textContent;
    const parts = [];
    let last = 0;
    for (const match of text.matchAll(SQL_TOKEN)) {
      if (match.index > last) parts.push(text.slice(last, match.index));
      const kind = match[1] ? "dt-sql-string" : match[2] ? "dt-sql-number" : "dt-sql-keyword";
      parts.push(element("span", kind, match[0]));
      last = match.index + match[0].length;
    }
    if (last < text.length) parts.push(text.slice(last));
    node.replaceChildren(...parts);
  }

  // A panel's action buttons (data-action="panel/action", data-params, data-target) post to
  // the toolbar and show the answer in the matching [data-action-output] element.
  async function runAction(button) {
    const output = panelBody.querySelector(
      `[data-action-output="${CSS.escape(button.dataset.target || "")}"]`,
    );
    if (!output) return;
    const query = new URLSearchParams(button.dataset.params || "");
    query.set("request", requestId);
    output.replaceChildren(element("p", "dt-loading", "Running…"));
    button.disabled = true;
    try {
      // The toolbar refuses actions without this header: a page of another site cannot send
      // it without a CORS preflight, which the toolbar never answers.
      const response = await fetch(`${prefix}${button.dataset.action}?${query}`, {
        method: "POST",
        headers: { Accept: "text/html", "X-Debug-Toolbar-Action": "1" },
      });
      const body = await response.text();
      if (response.status === 200) {
        // Rendered by the toolbar's templates, which escape every value.
        output.innerHTML = body;
        for (const sql of output.querySelectorAll("[data-sql]")) highlightSql(sql);
      } else {
        const text = readableText(body, response.headers.get("content-type") || "");
        output.replaceChildren(element("p", "dt-error", text || `HTTP ${response.status}`));
      }
    } catch (error) {
      output.replaceChildren(element("p", "dt-error", `Could not reach the server: ${error.message}`));
    } finally {
      button.disabled = false;
    }
  }

  panelBody.addEventListener("click", (event) => {
    const button = event.target.closest?.("button[data-action]");
    if (button && panelBody.contains(button)) runAction(button);
  });

  // Behaviours of panel fragments, chosen by data attributes so that panels ship markup only
  // (no inline scripts: the page's CSP may forbid them).

  // Rows marked data-filter-row inside a [data-filter-scope] stay shown only when they pass
  // every control of the scope: data-filter-min="name" keeps rows whose data-name is at least
  // the control's value; data-filter-contains="name" keeps rows whose data-name contains its
  // text, ignoring case. A [data-filter-count] element says how many are shown.
  function applyFilters(scope) {
    const controls = [...scope.querySelectorAll("[data-filter-min], [data-filter-contains]")];
    const rows = scope.querySelectorAll("[data-filter-row]");
    let shown = 0;
    for (const row of rows) {
      const pass = controls.every((control) => {
        if (control.dataset.filterMin !== undefined) {
          return Number(row.dataset[control.dataset.filterMin] || 0) >= Number(control.value || 0);
        }
        const needle = control.value.trim().toLowerCase();
        const value = (row.dataset[control.dataset.filterContains] || "").toLowerCase();
        return !needle || value.includes(needle);
      });
      row.hidden = !pass;
      if (pass) shown += 1;
    }
    const count = scope.querySelector("[data-filter-count]");
    if (count) count.textContent = shown === rows.length ? "" : `${shown} of ${rows.length} shown`;
  }

  // A table[data-sortable] sorts its rows by a column when the button in its header cell is
  // clicked: <button data-sort="number"> compares numbers, data-sort="text" text. A cell's
  // data-sort-value, when present, is compared instead of its text.
  function sortTable(button) {
    const cell = button.closest("th");
    const table = cell.closest("table");
    const column = [...cell.parentElement.children].indexOf(cell);
    const numeric = button.dataset.sort === "number";
    const current = cell.getAttribute("aria-sort");
    const direction = current
      ? current === "descending" ? "ascending" : "descending"
      : numeric ? "descending" : "ascending";
    for (const other of cell.parentElement.children) other.removeAttribute("aria-sort");
    cell.setAttribute("aria-sort", direction);
    const key = (row) => {
      const target = row.children[column];
      const value = target ? target.dataset.sortValue ?? target.textContent.trim() : "";
      return numeric ? Number(value) || 0 : value;
    };
    const sign = direction === "ascending" ? 1 : -1;
    for (const body of table.tBodies) {
      const rows = [...body.rows].sort((a, b) => {
        const x = key(a);
        const y = key(b);
        return sign * (numeric ? x - y : x.localeCompare(y));
      });
      body.append(...rows);
    }
  }

  // A [data-flamegraph] holds .dt-frame elements (nested <svg>s) placed by data-x and data-w,
  // fractions of the graph's width. Clicking a frame zooms so that it fills the width; the
  // root frame (data-x 0, data-w 1) zooms back out. [data-flame-details] shows the hovered
  // frame's <title>.
  function zoomFlame(frame) {
    const graph = frame.closest("[data-flamegraph]");
    const zoomX = Number(frame.dataset.x) || 0;
    const zoomW = Number(frame.dataset.w) || 1;
    for (const other of graph.querySelectorAll(".dt-frame")) {
      const x = Number(other.dataset.x) || 0;
      const w = Number(other.dataset.w) || 0;
      const left = Math.max(0, (x - zoomX) / zoomW);
      const right = Math.min(1, (x + w - zoomX) / zoomW);
      const visible = right - left > 1e-9;
      other.style.display = visible ? "" : "none";
      if (visible) {
        other.setAttribute("x", `${left * 100}%`);
        other.setAttribute("width", `${(right - left) * 100}%`);
      }
    }
  }

  function showFrameDetails(frame) {
    const details = frame.closest("[data-flamegraph]")?.querySelector("[data-flame-details]");
    const title = frame.querySelector("title");
    if (details && title) details.textContent = title.textContent;
  }

  // A [data-waterfall] holds rows ([data-wf-row] = their index, top to bottom) drawn under the
  // row named by data-wf-up. A row with data-wf-group stands for repeated siblings: its
  // [data-wf-toggle] button expands or collapses them. The [data-wf-filter] box of the same
  // section keeps the spans whose name, service or attribute (`key=value`) contains its text,
  // with the rows they are drawn under; [data-wf-count] says how many match.
  const waterfallText = new WeakMap();

  function rowText(row) {
    let text = waterfallText.get(row);
    if (text === undefined) {
      const parts = [row.querySelector(".dt-wf-label")?.textContent ?? ""];
      for (const service of row.querySelectorAll("[data-wf-service]")) parts.push(service.textContent);
      for (const attribute of row.querySelectorAll("tr[data-wf-attr]")) {
        parts.push(`${attribute.cells[0].textContent}=${attribute.cells[1].textContent}`);
      }
      text = parts.join("\n").toLowerCase();
      waterfallText.set(row, text);
    }
    return text;
  }

  function isCollapsedGroup(row) {
    const toggle = row.querySelector(":scope > [data-wf-toggle]");
    return toggle !== null && toggle.getAttribute("aria-expanded") !== "true";
  }

  function showWaterfall(section) {
    const waterfall = section.querySelector("[data-waterfall]");
    if (!waterfall) return;
    const rows = [...waterfall.querySelectorAll("[data-wf-row]")];
    const up = rows.map((row) => (row.dataset.wfUp === undefined ? -1 : Number(row.dataset.wfUp)));
    const needle = (section.querySelector("[data-wf-filter]")?.value ?? "").trim().toLowerCase();
    const shown = new Array(rows.length).fill(false);
    let matches = 0;
    if (needle) {
      // A match shows the rows it is drawn under, groups expanded or not.
      rows.forEach((row, i) => {
        if (row.dataset.wfGroup !== undefined || !rowText(row).includes(needle)) return;
        matches += 1;
        for (let at = i; at >= 0 && !shown[at]; at = up[at]) shown[at] = true;
      });
    } else {
      // Parents come before their children.
      rows.forEach((row, i) => {
        const parent = up[i];
        shown[i] = parent < 0 || (shown[parent] && !isCollapsedGroup(rows[parent]));
      });
    }
    rows.forEach((row, i) => {
      if (row.hidden === shown[i]) row.hidden = !shown[i];
    });
    const count = section.querySelector("[data-wf-count]");
    if (count) {
      const spans = rows.filter((row) => row.dataset.wfGroup === undefined).length;
      count.textContent = needle ? `${matches} of ${spans} spans match` : "";
    }
  }

  function toggleGroup(button) {
    button.setAttribute("aria-expanded", String(button.getAttribute("aria-expanded") !== "true"));
    showWaterfall(button.closest("section"));
  }

  function expandGroups(button) {
    const section = button.closest("section");
    const open = String(button.dataset.wfExpand === "all");
    for (const toggle of section.querySelectorAll("[data-wf-toggle]")) toggle.setAttribute("aria-expanded", open);
    showWaterfall(section);
  }

  // A button[data-cookie-toggle="name"] sets the cookie `name=1` for the whole site, or clears
  // it when it is set; the server reads it on the next requests (e.g. to sample the CPU).
  // aria-pressed shows whether it is set, and [data-cookie-state="name"] elements show their
  // data-on or data-off text.
  // The value of cookie `name` in this document, or undefined.
  function cookieValue(name) {
    const prefix = `${encodeURIComponent(name)}=`;
    const pair = document.cookie.split(";").map((p) => p.trim()).find((p) => p.startsWith(prefix));
    return pair?.slice(prefix.length);
  }

  function cookieIsSet(name) {
    return cookieValue(name) === "1";
  }

  function showCookieToggles(scope) {
    for (const button of scope.querySelectorAll("button[data-cookie-toggle]")) {
      button.setAttribute("aria-pressed", String(cookieIsSet(button.dataset.cookieToggle)));
    }
    for (const state of scope.querySelectorAll("[data-cookie-state]")) {
      const on = cookieIsSet(state.dataset.cookieState);
      state.textContent = (on ? state.dataset.on : state.dataset.off) ?? (on ? "on" : "off");
    }
  }

  function toggleCookie(button) {
    const name = encodeURIComponent(button.dataset.cookieToggle);
    const clear = cookieIsSet(button.dataset.cookieToggle) ? "; max-age=0" : "";
    document.cookie = `${name}=1; path=/; SameSite=Lax${clear}`;
    showCookieToggles(panelBody);
  }

  panelBody.addEventListener("input", (event) => {
    const search = event.target.closest("[data-wf-filter]");
    if (search) {
      showWaterfall(search.closest("section"));
      return;
    }
    const control = event.target.closest("[data-filter-min], [data-filter-contains]");
    const scope = control?.closest("[data-filter-scope]");
    if (scope) applyFilters(scope);
  });
  panelBody.addEventListener("click", (event) => {
    const sortButton = event.target.closest("table[data-sortable] th button[data-sort]");
    if (sortButton) {
      sortTable(sortButton);
      return;
    }
    const cookieButton = event.target.closest("button[data-cookie-toggle]");
    if (cookieButton) {
      toggleCookie(cookieButton);
      return;
    }
    const groupToggle = event.target.closest("[data-waterfall] [data-wf-toggle]");
    if (groupToggle) {
      toggleGroup(groupToggle);
      return;
    }
    const expand = event.target.closest("button[data-wf-expand]");
    if (expand) {
      expandGroups(expand);
      return;
    }
    const frame = event.target.closest("[data-flamegraph] .dt-frame");
    if (frame) zoomFlame(frame);
  });
  panelBody.addEventListener("mouseover", (event) => {
    const frame = event.target.closest("[data-flamegraph] .dt-frame");
    if (frame) showFrameDetails(frame);
  });

  // ---- History and script requests ----

  const MAX_SCRIPT_REQUESTS = 20;
  const ajaxList = root.getElementById("dt-ajax");
  const updateOnFetch = host.dataset.updateOnFetch === "true";

  // Shows the panels of stored request `id` in this toolbar.
  async function switchTo(id) {
    const response = await fetch(`${prefix}api/requests/${encodeURIComponent(id)}`, {
      headers: { Accept: "application/json" },
    });
    if (response.status !== 200) {
      if (openLink) showError("This request is no longer stored.", `HTTP ${response.status}`);
      return;
    }
    const record = await response.json();
    closePanel();
    requestId = record.id;
    showSummary(record);
    showPanelLinks(record.panels);
    for (const button of ajaxList.querySelectorAll("button[data-switch]")) {
      button.setAttribute("aria-pressed", String(button.dataset.switch === requestId));
    }
  }

  function showSummary(record) {
    root.querySelector(".dt-method").textContent = record.method;
    root.querySelector(".dt-path").textContent = record.path;
    const status = root.querySelector(".dt-status");
    status.textContent = String(record.status);
    status.classList.toggle("dt-status-error", record.status >= 400);
    root.querySelector(".dt-duration").textContent = `${record.duration_ms.toFixed(1)} ms`;
    root.querySelector(".dt-back").hidden = record.id === pageRequestId;
  }

  function showPanelLinks(panels) {
    const items = panels.map((p) => {
      const link = element("button", "dt-panel-link");
      link.type = "button";
      link.dataset.panelId = p.id;
      link.setAttribute("aria-controls", "dt-panel-content");
      link.setAttribute("aria-expanded", "false");
      if (p.stats === null && p.note) link.classList.add("dt-inactive");
      link.append(element("span", "dt-panel-title", p.title));
      if (p.subtitle) link.append(element("span", "dt-panel-subtitle", p.subtitle));
      if (p.badge) link.append(element("span", `dt-badge dt-badge-${p.badge.level}`, p.badge.text));
      const item = element("li");
      item.append(panelSwitch(p), link);
      return item;
    });
    root.querySelector(".dt-panel-list").replaceChildren(...items);
  }

  // The checkbox beside a panel switches it on or off for this browser's next requests, in the
  // cookie the server reads (`+id` on, `-id` off, `|` between), over the configured default.
  const PANELS_COOKIE = "debug-toolbar-panels";

  function panelSwitch(panel) {
    const checkbox = element("input", "dt-panel-switch");
    checkbox.type = "checkbox";
    checkbox.dataset.panelId = panel.id;
    checkbox.checked = !panel.switched_off;
    checkbox.setAttribute("aria-label", `Record ${panel.title} from the next request on`);
    return checkbox;
  }

  function panelSwitches() {
    const switches = new Map();
    for (const item of (cookieValue(PANELS_COOKIE) ?? "").split("|")) {
      if (item.length > 1 && (item[0] === "+" || item[0] === "-")) switches.set(item.slice(1), item[0]);
    }
    return switches;
  }

  function switchPanel(checkbox) {
    const switches = panelSwitches();
    switches.set(checkbox.dataset.panelId, checkbox.checked ? "+" : "-");
    const value = [...switches].map(([id, sign]) => sign + id).join("|");
    document.cookie = `${PANELS_COOKIE}=${value}; path=/; max-age=31536000; SameSite=Lax`;
  }

  // Fills the History panel's list from the store.
  async function fillHistory(container) {
    const response = await fetch(`${prefix}api/requests?limit=50`, {
      headers: { Accept: "application/json" },
    });
    if (response.status !== 200) {
      const answer = await response.json().catch(() => ({}));
      const why = answer.error ? `: ${answer.error}` : "";
      container.replaceChildren(element("p", "dt-error", `The store did not answer (HTTP ${response.status})${why}.`));
      return;
    }
    const { requests } = await response.json();
    const shownStartedAt = requests.find((r) => r.id === requestId)?.started_at_unix_ms ?? Infinity;
    const table = element("table", "dt-history");
    const head = table.createTHead().insertRow();
    for (const label of ["Time", "Method", "Path", "Status", "Duration", "Kind", ""]) {
      const cell = element("th", null, label);
      cell.scope = "col";
      head.append(cell);
    }
    const body = table.createTBody();
    for (const r of requests) {
      const row = body.insertRow();
      row.dataset.historyId = r.id;
      const at = new Date(r.started_at_unix_ms).toLocaleTimeString();
      for (const text of [at, r.method, r.path, String(r.status), `${r.duration_ms.toFixed(1)} ms`, r.kind ?? "page"]) {
        row.append(element("td", null, text));
      }
      const action = element("td");
      if (r.id === requestId) {
        action.append(element("span", "dt-empty", "shown"));
      } else {
        const button = element("button", "dt-switch", "Switch");
        button.type = "button";
        button.dataset.switch = r.id;
        // The dashboard compares the older request (A) with the newer one (B).
        const [a, b] = r.started_at_unix_ms <= shownStartedAt ? [r.id, requestId] : [requestId, r.id];
        const compare = element("a", "dt-compare", "Compare");
        compare.href = `${prefix}?compare=${encodeURIComponent(a)},${encodeURIComponent(b)}`;
        compare.target = "_blank";
        compare.rel = "noopener";
        compare.title = "Compare with the request shown, side by side, in the dashboard";
        action.append(button, " ", compare);
      }
      row.append(action);
    }
    container.replaceChildren(requests.length ? table : element("p", "dt-empty", "No requests stored."));
  }

  // Lists a request the page's scripts made (or switches to it, by setting).
  function noteScriptRequest(id, method, kind, url, status) {
    if (!id || ajaxList.querySelector(`[data-switch="${CSS.escape(id)}"]`)) return;
    const button = element("button", "dt-switch");
    button.type = "button";
    button.dataset.switch = id;
    button.setAttribute("aria-pressed", "false");
    let path = url;
    try {
      path = new URL(url, location.href).pathname;
    } catch {
      // keep the URL as given
    }
    button.title = `${kind} ${url}`;
    button.append(element("span", "dt-method", method), " ", element("span", "dt-path", path));
    if (status) button.append(" ", element("span", "dt-status", String(status)));
    const item = element("li");
    item.append(button);
    const list = ajaxList.querySelector("ul");
    list.prepend(item);
    while (list.children.length > MAX_SCRIPT_REQUESTS) list.lastElementChild.remove();
    ajaxList.hidden = false;
    if (updateOnFetch) switchTo(id);
  }

  // Every response the toolbar records names its record in a Server-Timing entry, which
  // Resource Timing shows for requests made before this script ran as well as after.
  function watchScriptRequests() {
    if (typeof PerformanceObserver !== "function") return;
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        if (entry.initiatorType !== "fetch" && entry.initiatorType !== "xmlhttprequest") continue;
        if (entry.name.includes(prefix)) continue;
        const mark = entry.serverTiming?.find((timing) => timing.name === "debug-toolbar");
        if (!mark) continue;
        // `{record id} {method}`
        const [id, method = "?"] = mark.description.split(" ");
        const kind = entry.initiatorType === "fetch" ? "fetch" : "xhr";
        noteScriptRequest(id, method, kind, entry.name, entry.responseStatus);
      }
    });
    try {
      observer.observe({ type: "resource", buffered: true });
    } catch {
      // Resource Timing is not available: script requests are not listed.
    }
  }

  // Browser spans: the page's document load (Navigation Timing) and its fetch/XHR calls
  // (Resource Timing) become OTLP/JSON spans of the page's trace, sent to the toolbar's
  // receiver. The server names the trace and the document load's span id in a `traceparent`
  // Server-Timing entry of a page that started its trace; the document load is the parent of
  // the server span and of every script request. Same-origin fetch/XHR calls carry a
  // `traceparent` naming their client span, so the server spans they cause join the trace too.
  const RECEIVER = `${prefix}otlp/v1/traces`;
  const originalFetch = window.fetch;

  function documentTrace() {
    const navigation = performance.getEntriesByType?.("navigation")?.[0];
    const entry = navigation?.serverTiming?.find((timing) => timing.name === "traceparent");
    const [, traceId, spanId, flags] = (entry?.description || "").split("-");
    if (!/^[0-9a-f]{32}$/.test(traceId || "") || !/^[0-9a-f]{16}$/.test(spanId || "")) return null;
    return { navigation, traceId, spanId, flags: /^[0-9a-f]{2}$/.test(flags || "") ? flags : "01" };
  }

  function randomSpanId() {
    const bytes = crypto.getRandomValues(new Uint8Array(8));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // A time on the page's clock as OTLP nanoseconds since the epoch (microsecond precision).
  function unixNanos(time) {
    return (BigInt(Math.round((performance.timeOrigin + time) * 1000)) * 1000n).toString();
  }

  function attribute(key, value) {
    return typeof value === "number"
      ? { key, value: { intValue: String(Math.round(value)) } }
      : { key, value: { stringValue: String(value) } };
  }

  function watchBrowserSpans() {
    const trace = documentTrace();
    if (!trace || typeof PerformanceObserver !== "function") return;
    const pending = [];
    let timer = null;
    // The client span ids given to same-origin calls, by URL, oldest first.
    const injected = new Map();

    function send() {
      timer = null;
      if (!pending.length) return;
      const spans = pending.splice(0);
      const body = {
        resourceSpans: [{
          resource: { attributes: [attribute("service.name", "browser")] },
          scopeSpans: [{ scope: { name: "debug-toolbar" }, spans }],
        }],
      };
      originalFetch.call(window, RECEIVER, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Debug-Toolbar-Action": "1" },
        body: JSON.stringify(body),
        keepalive: true,
      }).catch(() => {
        // The browser's spans are a nicety: a failed send is not retried.
      });
    }

    function queue(span) {
      pending.push(span);
      if (!timer) timer = setTimeout(send, 250);
    }

    function injectedSpanId(url) {
      const ids = injected.get(url);
      const id = ids?.shift();
      if (ids && !ids.length) injected.delete(url);
      return id;
    }

    function isOwnCall(url) {
      try {
        const target = new URL(url, location.href);
        return target.origin === location.origin && !target.pathname.startsWith(prefix);
      } catch {
        return false;
      }
    }

    function traceparentFor(url) {
      const spanId = randomSpanId();
      const key = new URL(url, location.href).href;
      injected.set(key, [...(injected.get(key) || []), spanId]);
      return `00-${trace.traceId}-${spanId}-${trace.flags}`;
    }

    window.fetch = function (input, init) {
      const url = input instanceof Request ? input.url : String(input);
      if (!isOwnCall(url)) return originalFetch.call(this, input, init);
      const headers = new Headers(init?.headers || (input instanceof Request ? input.headers : undefined));
      if (!headers.has("traceparent")) headers.set("traceparent", traceparentFor(url));
      return originalFetch.call(this, input instanceof Request ? new Request(input, { headers }) : input, { ...init, headers });
    };
    const open = XMLHttpRequest.prototype.open;
    const sendXhr = XMLHttpRequest.prototype.send;
    XMLHttpRequest.prototype.open = function (method, url, ...rest) {
      this.debugToolbarUrl = String(url);
      return open.call(this, method, url, ...rest);
    };
    XMLHttpRequest.prototype.send = function (body) {
      if (this.debugToolbarUrl && isOwnCall(this.debugToolbarUrl)) {
        try {
          this.setRequestHeader("traceparent", traceparentFor(this.debugToolbarUrl));
        } catch {
          // not opened: the browser reports it
        }
      }
      return sendXhr.call(this, body);
    };

    function sendDocumentLoad() {
      const nav = performance.getEntriesByType("navigation")[0] || trace.navigation;
      const marks = ["domainLookupStart", "connectStart", "requestStart", "responseStart", "responseEnd",
        "domInteractive", "domContentLoadedEventEnd", "loadEventEnd"];
      queue({
        traceId: trace.traceId,
        spanId: trace.spanId,
        name: `documentLoad ${location.pathname}`,
        kind: 3,
        startTimeUnixNano: unixNanos(nav.startTime),
        endTimeUnixNano: unixNanos(Math.max(nav.loadEventEnd, nav.responseEnd)),
        attributes: [attribute("url.full", location.href), attribute("http.request.method", "GET"),
          attribute("user_agent.original", navigator.userAgent)],
        events: marks.filter((mark) => nav[mark] > 0)
          .map((mark) => ({ name: mark, timeUnixNano: unixNanos(nav[mark]) })),
      });
    }

    if (document.readyState === "complete") setTimeout(sendDocumentLoad, 0);
    else window.addEventListener("load", () => setTimeout(sendDocumentLoad, 0), { once: true });

    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        if (entry.initiatorType !== "fetch" && entry.initiatorType !== "xmlhttprequest") continue;
        if (new URL(entry.name, location.href).pathname.startsWith(prefix)) continue;
        const mark = entry.serverTiming?.find((timing) => timing.name === "debug-toolbar");
        const method = mark ? mark.description.split(" ")[1] || "GET" : "HTTP";
        const attributes = [attribute("url.full", entry.name), attribute("http.request.method", method)];
        if (entry.responseStatus) attributes.push(attribute("http.response.status_code", entry.responseStatus));
        queue({
          traceId: trace.traceId,
          spanId: injectedSpanId(entry.name) || randomSpanId(),
          parentSpanId: trace.spanId,
          name: `${method} ${new URL(entry.name, location.href).pathname}`,
          kind: 3,
          startTimeUnixNano: unixNanos(entry.startTime),
          endTimeUnixNano: unixNanos(entry.responseEnd || entry.startTime),
          attributes,
        });
      }
    });
    try {
      observer.observe({ type: "resource", buffered: true });
    } catch {
      // Resource Timing is not available: script requests are not sent.
    }
    window.addEventListener("pagehide", send);
  }

  panelBody.addEventListener("click", (event) => {
    const button = event.target.closest("[data-history] button[data-switch]");
    if (button) switchTo(button.dataset.switch);
  });

  handle.addEventListener("click", () => setToolbarOpen(toolbar.hidden));
  root.getElementById("dt-hide").addEventListener("click", () => setToolbarOpen(false));
  root.querySelector(".dt-close").addEventListener("click", closePanel);
  root.querySelector(".dt-panel-list").addEventListener("click", (event) => {
    const link = event.target.closest(".dt-panel-link");
    if (!link) return;
    if (link === openLink) closePanel();
    else openPanel(link.dataset.panelId);
  });
  root.querySelector(".dt-panel-list").addEventListener("change", (event) => {
    const checkbox = event.target.closest(".dt-panel-switch");
    if (checkbox) switchPanel(checkbox);
  });
  root.getElementById("dt-ajax").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-switch]");
    if (button) switchTo(button.dataset.switch);
  });
  root.querySelector(".dt-back").addEventListener("click", () => switchTo(pageRequestId));
  watchScriptRequests();
  watchBrowserSpans();
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || event.defaultPrevented) return;
    if (openLink) closePanel();
    else if (!toolbar.hidden) setToolbarOpen(false);
  });

  setToolbarOpen(storedOpen());

  window.debugToolbar = Object.freeze({
    open: openPanel,
    close: closePanel,
    show: () => setToolbarOpen(true),
    switchTo,
    get requestId() {
      return requestId;
    },
  });
})();
