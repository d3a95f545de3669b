//! The injected shell, written straight into a string: it goes into every served page, so it
//! is made without a template engine. Every value from the record is escaped as Tera escapes
//! (`&`, `<`, `>`, `"`, `'`).

use std::fmt::Write;

use super::ShellContext;
use crate::panel::{Badge, BadgeLevel};
use crate::record::PanelRecord;

/// The bytes of markup around the values, to size the string once.
const MARKUP_BYTES: usize = 3 * 1024;

/// The shell for `cx`.
pub(super) fn shell(cx: &ShellContext<'_>) -> String {
    let record = cx.record;
    let mut out = String::with_capacity(MARKUP_BYTES + 256 * record.panels.len());
    let nonce = cx.nonce.filter(|n| !n.is_empty());
    let store_problem = cx.store.and_then(|s| s.problem()).filter(|p| !p.is_empty());
    let id = record.id.to_string();

    out.push_str(r#"<div id="debug-toolbar" data-request-id=""#);
    escape(&mut out, &id);
    out.push_str(r#"" data-prefix=""#);
    escape(&mut out, cx.prefix);
    out.push_str(r#"" data-update-on-fetch=""#);
    out.push_str(if cx.update_on_fetch { "true" } else { "false" });
    out.push_str("\">\n<template shadowrootmode=\"open\">\n<link rel=\"stylesheet\" href=\"");
    escape(&mut out, cx.prefix);
    out.push_str("static/toolbar.css\"");
    nonce_attribute(&mut out, nonce);
    // Hidden until toolbar.css applies (it overrides [hidden] on .dt-root), so the page never
    // shows unstyled toolbar markup.
    out.push_str(
        ">\n\n<div class=\"dt-root\" hidden>\n  <button type=\"button\" id=\"dt-handle\" \
         aria-label=\"Debug toolbar\" aria-expanded=\"false\" aria-controls=\"dt-toolbar\">DT",
    );
    for panel in &record.panels {
        let Some(badge) = &panel.badge else {
            continue;
        };
        out.push_str("<span class=\"dt-badge dt-badge-");
        out.push_str(level(badge));
        out.push_str("\" title=\"");
        escape(&mut out, &panel.title);
        out.push_str(": ");
        escape(&mut out, &badge.text);
        out.push_str("\">");
        escape(&mut out, &badge.text);
        out.push_str("</span>");
    }
    if let Some(problem) = &store_problem {
        out.push_str("<span class=\"dt-badge dt-badge-error\" title=\"");
        escape(&mut out, problem);
        out.push_str("\">store</span>");
    }
    out.push_str(
        "</button>\n\n  <aside id=\"dt-toolbar\" aria-label=\"Debug toolbar\" hidden>\n    \
         <header class=\"dt-toolbar-header\">\n      \
         <button type=\"button\" id=\"dt-hide\">Hide &raquo;</button>\n      \
         <p class=\"dt-summary\">\n        <span class=\"dt-method\">",
    );
    escape(&mut out, &record.method);
    out.push_str("</span>\n        <span class=\"dt-path\">");
    escape(&mut out, &record.path);
    out.push_str("</span>\n        <span class=\"dt-status");
    if record.status >= 400 {
        out.push_str(" dt-status-error");
    }
    let _ = write!(
        out,
        "\">{}</span>\n        <span class=\"dt-duration\">{:?} ms</span>\n      </p>\n      \
         <button type=\"button\" class=\"dt-back dt-switch\" data-switch=\"",
        record.status,
        round_tenths(record.duration_ms),
    );
    escape(&mut out, &id);
    out.push_str("\" hidden>&laquo; Back to this page</button>\n    </header>\n    ");
    if !record.layer_attached {
        out.push_str(
            "\n    <p class=\"dt-warning\">Panels that read tracing data are empty because \
             ToolbarLayer is not installed: call <code>toolbar.init_tracing()?;</code> where \
             you set up tracing, or add <code>.with(toolbar.layer()).with(toolbar.gate(\
             your_filter))</code> to a subscriber of your own.</p>\n    ",
        );
    }
    out.push_str("\n    ");
    if let Some(problem) = &store_problem {
        out.push_str("\n    <p class=\"dt-warning dt-store-problem\">");
        escape(&mut out, problem);
        out.push_str("</p>\n    ");
    }
    out.push_str(
        "\n    <section id=\"dt-ajax\" aria-label=\"Requests made by this page's scripts\" \
         hidden>\n      <h3>Script requests</h3>\n      <ul></ul>\n    </section>\n    \
         <nav aria-label=\"Panels\">\n      \n      <ul class=\"dt-panel-list\">\n        ",
    );
    for panel in &record.panels {
        panel_item(&mut out, panel);
    }
    out.push_str(
        "\n      </ul>\n    </nav>\n  </aside>\n\n  <section id=\"dt-panel-content\" \
         role=\"dialog\" aria-label=\"Debug toolbar panel\" hidden>\n    \
         <header class=\"dt-panel-header\">\n      <h2 id=\"dt-panel-title\"></h2>\n      \
         <button type=\"button\" class=\"dt-close\" aria-label=\"Close panel\">&times;</button>\
         \n    </header>\n    <div id=\"dt-panel-body\" class=\"dt-panel-body\" tabindex=\"-1\">\
         </div>\n  </section>\n</div>\n</template>\n</div>\n<script src=\"",
    );
    escape(&mut out, cx.prefix);
    out.push_str("static/toolbar.js\" defer");
    nonce_attribute(&mut out, nonce);
    out.push_str("></script>\n");
    out
}

/// One entry of the panel list: its switch and its link.
fn panel_item(out: &mut String, panel: &PanelRecord) {
    // A panel without stats stays clickable: its body says why.
    let enabled = !panel.stats.is_null() || panel.note.is_none();
    out.push_str(
        "\n        <li>\n          <input type=\"checkbox\" class=\"dt-panel-switch\" \
         data-panel-id=\"",
    );
    escape(out, &panel.id);
    out.push_str("\" aria-label=\"Record ");
    escape(out, &panel.title);
    out.push_str(" from the next request on\"");
    if !panel.switched_off {
        out.push_str(" checked");
    }
    out.push_str(">\n          <button type=\"button\" class=\"dt-panel-link");
    if !enabled {
        out.push_str(" dt-inactive");
    }
    out.push_str("\" data-panel-id=\"");
    escape(out, &panel.id);
    out.push_str(
        "\" aria-controls=\"dt-panel-content\" aria-expanded=\"false\">\n            \
         <span class=\"dt-panel-title\">",
    );
    escape(out, &panel.title);
    out.push_str("</span>\n            ");
    if let Some(subtitle) = panel.subtitle.as_deref().filter(|s| !s.is_empty()) {
        out.push_str("<span class=\"dt-panel-subtitle\">");
        escape(out, subtitle);
        out.push_str("</span>");
    }
    out.push_str("\n            ");
    if let Some(badge) = &panel.badge {
        out.push_str("<span class=\"dt-badge dt-badge-");
        out.push_str(level(badge));
        out.push_str("\">");
        escape(out, &badge.text);
        out.push_str("</span>");
    }
    out.push_str("\n          </button>\n        </li>\n        ");
}

/// ` nonce="…"` when there is a nonce.
fn nonce_attribute(out: &mut String, nonce: Option<&str>) {
    if let Some(nonce) = nonce {
        out.push_str(" nonce=\"");
        escape(out, nonce);
        out.push('"');
    }
}

/// The badge's level as its CSS class names it.
fn level(badge: &Badge) -> &'static str {
    match badge.level {
        BadgeLevel::Info => "info",
        BadgeLevel::Warning => "warning",
        BadgeLevel::Error => "error",
    }
}

/// `value` rounded to one decimal, as the shell shows durations.
fn round_tenths(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// Appends `text` with `&`, `<`, `>`, `"` and `'` escaped.
pub(crate) fn escape(out: &mut String, text: &str) {
    let mut rest = text;
    while let Some(at) = rest
        .bytes()
        .position(|b| matches!(b, b'&' | b'<' | b'>' | b'"' | b'\''))
    {
        out.push_str(&rest[..at]);
        out.push_str(match rest.as_bytes()[at] {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            _ => "&#39;",
        });
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::record::{RecordId, RequestKind, RequestRecord};
    use crate::stats_json::StatsJson;

    fn record(panels: Vec<PanelRecord>) -> RequestRecord {
        RequestRecord {
            format_version: crate::record::RECORD_FORMAT_VERSION,
            id: RecordId::random().unwrap(),
            started_at_unix_ms: 0,
            method: "GET".to_owned(),
            path: "/a<b>?c='d'&e=\"f\"".to_owned(),
            status: 404,
            duration_ms: 12.345,
            kind: RequestKind::Page,
            layer_attached: false,
            panels,
            toolbar: Default::default(),
        }
    }

    #[test]
    fn escapes_the_five_characters_tera_escapes() {
        let mut out = String::new();
        escape(&mut out, "a&b<c>d\"e'f/é");
        assert_eq!(out, "a&amp;b&lt;c&gt;d&quot;e&#39;f/é");
    }

    #[test]
    fn every_value_of_the_record_comes_out_escaped() {
        let panel = PanelRecord {
            id: "sql".into(),
            title: "<script>alert('t')</script>".into(),
            subtitle: Some("\"><img src=x>".to_owned()),
            stats: StatsJson::null(),
            note: Some("set aside".to_owned()),
            badge: Some(Badge::new(BadgeLevel::Warning, "<b>N+1</b>")),
            switched_off: true,
        };
        let record = record(vec![panel]);
        let html = shell(&ShellContext {
            prefix: "/p\"x/",
            nonce: Some("n'<"),
            record: &record,
            update_on_fetch: false,
            store: None,
        });
        for raw in [
            "<script>alert",
            "<img src",
            "<b>N+1",
            "c='d'",
            "/p\"x/",
            "n'<",
        ] {
            assert!(!html.contains(raw), "{raw} unescaped in {html}");
        }
        assert!(html.contains(r#"href="/p&quot;x/static/toolbar.css" nonce="n&#39;&lt;">"#));
        assert!(html.contains(r#"<span class="dt-duration">12.3 ms</span>"#));
        assert!(html.contains(r#"dt-status dt-status-error">404<"#));
        assert!(html.contains("ToolbarLayer is not installed"));
        assert!(html.contains(r#"class="dt-panel-link dt-inactive""#));
        assert!(
            !html.contains(" checked>"),
            "a switched-off panel is unticked"
        );
        assert!(html.contains(r#"<span class="dt-badge dt-badge-warning" title="&lt;script&gt;"#));
    }

    #[test]
    fn an_empty_nonce_is_left_out_and_integral_durations_keep_their_decimal() {
        let mut record = record(Vec::new());
        record.duration_ms = 3.0;
        record.layer_attached = true;
        let html = shell(&ShellContext {
            prefix: "/__debug_toolbar/",
            nonce: Some(""),
            record: &record,
            update_on_fetch: true,
            store: None,
        });
        assert!(!html.contains("nonce"));
        assert!(html.contains("3.0 ms"));
        assert!(html.contains(r#"data-update-on-fetch="true""#));
        assert!(!html.contains("ToolbarLayer is not installed"));
        assert!(
            html.ends_with("<script src=\"/__debug_toolbar/static/toolbar.js\" defer></script>\n")
        );
    }
}
