// The debug toolbar's behaviour. Its markup and styles live in a shadow root on
// #debug-toolbar, so that the page and the toolbar cannot style each other.
(() => {
  "use strict";

  const STORAGE_KEY = "debug-toolbar.open";

  const host = document.getElementById("debug-toolbar");
  const root = host && (host.shadowRoot || attachShadowRoot(host));
  if (!root) return;

  const requestId = host.dataset.requestId;
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

  handle.addEventListener("click", () => setToolbarOpen(toolbar.hidden));
  root.getElementById("dt-hide").addEventListener("click", () => setToolbarOpen(false));
  root.querySelector(".dt-close").addEventListener("click", closePanel);
  for (const link of root.querySelectorAll(".dt-panel-link")) {
    link.addEventListener("click", () => {
      if (link === openLink) closePanel();
      else openPanel(link.dataset.panelId);
    });
  }
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || event.defaultPrevented) return;
    if (openLink) closePanel();
    else if (!toolbar.hidden) setToolbarOpen(false);
  });

  setToolbarOpen(storedOpen());

  window.debugToolbar = Object.freeze({ open: openPanel, close: closePanel, requestId });
})();
