//! Turns records into HTML: the injected toolbar shell and each panel's body.

mod shell;

use std::collections::HashMap;
use std::fmt;

use serde::Serialize;
use tera::{Context, Tera};

use crate::editor::Editor;
use crate::error::BuildError;
use crate::own_cost::{Spent, ToolbarCost};
use crate::panel::{ActionResponse, DynPanel};
use crate::panic_report::PanicReport;
use crate::record::RequestRecord;
use crate::store::StoreHealth;

const MESSAGE: &str = "message.html";
const REDIRECT: &str = "redirect.html";
const PANIC: &str = "panic.html";
const DASHBOARD: &str = "dashboard.html";
/// The templates' function for a link to the developer's editor:
/// `editor_url(file=…, line=…)` or `editor_url(location="file:line")`, an empty string when no
/// editor is configured.
const EDITOR_URL: &str = "editor_url";

/// What `editor_url` answers for its arguments.
fn editor_url(editor: Option<&Editor>, kwargs: &tera::Kwargs) -> String {
    let Some(editor) = editor else {
        return String::new();
    };
    let text = |key: &str| -> Option<String> {
        match kwargs.get::<tera::Value>(key).ok().flatten()? {
            v if v.is_none() || v.is_undefined() => None,
            v => Some(v.as_str().map_or_else(|| v.to_string(), str::to_owned)),
        }
    };
    let url = match (text("location"), text("file")) {
        (Some(location), _) => editor.url_of_location(&location),
        (None, Some(file)) => {
            let line = text("line").and_then(|line| line.trim().parse().ok());
            editor.url(&file, line)
        }
        (None, None) => None,
    };
    url.unwrap_or_default()
}

/// Renders the toolbar's HTML: the shell directly, everything else with Tera; every value is
/// escaped.
pub struct Renderer {
    tera: Tera,
    templates: HashMap<&'static str, &'static str>,
}

impl fmt::Debug for Renderer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Renderer")
            .field("templates", &self.templates)
            .finish_non_exhaustive()
    }
}

/// A template failed to render.
#[derive(Debug)]
pub struct RenderError(tera::Error);

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "toolbar template failed: {}", self.0)
    }
}

impl std::error::Error for RenderError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// What the shell needs besides the record.
#[derive(Debug, Clone, Copy)]
pub struct ShellContext<'a> {
    /// The toolbar's URL prefix, ending in `/`.
    pub prefix: &'a str,
    /// The response's CSP nonce, put on the injected tags.
    pub nonce: Option<&'a str>,
    /// The request shown.
    pub record: &'a RequestRecord,
    /// Whether the toolbar switches to requests the page's scripts make as they complete.
    pub update_on_fetch: bool,
    /// How the store is doing; a problem is shown on the handle and in the toolbar.
    pub store: Option<&'a StoreHealth>,
}

/// What the dashboard page needs.
#[derive(Debug, Clone, Copy)]
pub struct DashboardContext<'a> {
    /// The toolbar's URL prefix, ending in `/`.
    pub prefix: &'a str,
    /// The request whose panels the page's toolbar opens on; none when nothing is stored.
    pub record: Option<&'a RequestRecord>,
    /// How the store is doing.
    pub store: Option<&'a StoreHealth>,
}

#[derive(Serialize)]
struct RecordView<'a> {
    id: String,
    method: &'a str,
    path: &'a str,
    status: u16,
    duration_ms: f64,
    layer_attached: bool,
    /// What the toolbar itself spent, part by part.
    toolbar: &'a ToolbarCost,
    /// All of it.
    toolbar_total: Spent,
}

impl<'a> RecordView<'a> {
    fn new(record: &'a RequestRecord) -> Self {
        Self {
            id: record.id.to_string(),
            method: &record.method,
            path: &record.path,
            status: record.status,
            duration_ms: record.duration_ms,
            layer_attached: record.layer_attached,
            toolbar: &record.toolbar,
            toolbar_total: record.toolbar.total(),
        }
    }
}

#[derive(Serialize)]
struct PanelView<'a> {
    id: &'a str,
    title: &'a str,
}

impl Renderer {
    pub(crate) fn new(
        panels: &[Box<dyn DynPanel>],
        editor: Option<Editor>,
    ) -> Result<Self, BuildError> {
        let mut tera = Tera::new();
        tera.register_function(
            EDITOR_URL,
            move |kwargs: tera::Kwargs, _: &tera::State<'_>| editor_url(editor.as_ref(), &kwargs),
        );
        tera.add_raw_templates([
            (MESSAGE, include_str!("../templates/message.html")),
            (REDIRECT, include_str!("../templates/redirect.html")),
            (PANIC, include_str!("../templates/panic.html")),
            (DASHBOARD, include_str!("../templates/dashboard.html")),
        ])
        .map_err(|e| BuildError::Template(MESSAGE.to_owned(), e.to_string()))?;
        let mut templates = HashMap::new();
        for panel in panels {
            let template = panel.template();
            for t in std::iter::once(template).chain(panel.action_templates()) {
                if !t.name.ends_with(".html") {
                    return Err(BuildError::Template(
                        t.name.to_owned(),
                        "template names end in .html so that output is escaped".to_owned(),
                    ));
                }
                tera.add_raw_template(t.name, t.source)
                    .map_err(|e| BuildError::Template(t.name.to_owned(), e.to_string()))?;
            }
            templates.insert(panel.id(), template.name);
        }
        Ok(Self { tera, templates })
    }

    /// The markup injected before `</body>`: the toolbar's root element, its shadow root and
    /// the script tag.
    pub fn shell(&self, cx: &ShellContext<'_>) -> String {
        shell::shell(cx)
    }

    /// The dashboard: the stored requests, figures across them and, when a record is given, the
    /// toolbar's shell showing its panels. Scripts and styles come from the toolbar's static
    /// route, so the page runs under a CSP that allows no inline script or style.
    pub fn dashboard(&self, cx: &DashboardContext<'_>) -> Result<String, RenderError> {
        let shell = cx.record.map(|record| {
            self.shell(&ShellContext {
                prefix: cx.prefix,
                nonce: None,
                record,
                update_on_fetch: false,
                store: cx.store,
            })
        });
        let mut context = Context::new();
        context.insert("prefix", cx.prefix);
        context.insert("shell", &shell);
        context.insert("store_problem", &cx.store.and_then(StoreHealth::problem));
        self.tera.render(DASHBOARD, &context).map_err(RenderError)
    }

    /// The body of panel `panel_id` for `record`; `Ok(None)` when the record has no such panel.
    pub fn panel(
        &self,
        record: &RequestRecord,
        panel_id: &str,
        prefix: &str,
    ) -> Result<Option<String>, RenderError> {
        let Some(part) = record.panel(panel_id) else {
            return Ok(None);
        };
        if let Some(note) = &part.note {
            return self.message(&part.title, note).map(Some);
        }
        let Some(template) = self.templates.get(panel_id) else {
            return Ok(None);
        };
        let stats: serde_json::Value = part
            .stats
            .parse()
            .map_err(|e| RenderError(tera::Error::message(e.to_string())))?;
        let mut context = Context::new();
        context.insert("stats", &stats);
        context.insert(
            "panel",
            &PanelView {
                id: &part.id,
                title: &part.title,
            },
        );
        context.insert("record", &RecordView::new(record));
        context.insert("prefix", prefix);
        self.tera
            .render(template, &context)
            .map(Some)
            .map_err(RenderError)
    }

    /// What a panel action answered: its template with `data` and `prefix`.
    pub fn action(&self, response: &ActionResponse, prefix: &str) -> Result<String, RenderError> {
        let mut context = Context::new();
        context.insert("data", &response.data);
        context.insert("prefix", prefix);
        self.tera
            .render(response.template, &context)
            .map_err(RenderError)
    }

    /// A page standing in for a redirect the toolbar intercepted: the status, and a link to
    /// where the application was sending the browser (plain text unless it is a relative or
    /// `http(s)` URL).
    pub fn redirect(
        &self,
        status: u16,
        reason: &str,
        location: &str,
    ) -> Result<String, RenderError> {
        let scheme = location.split_once(':').map(|(scheme, _)| scheme);
        let linkable = match scheme {
            None => true,
            Some(scheme) if scheme.contains('/') => true,
            Some(scheme) => {
                scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")
            }
        };
        let mut context = Context::new();
        context.insert("status", &status);
        context.insert("reason", reason);
        context.insert("location", location);
        context.insert("linkable", &linkable);
        self.tera.render(REDIRECT, &context).map_err(RenderError)
    }

    /// The page answering a request whose handler panicked: the message, where, and the
    /// application's frames.
    pub fn panic(
        &self,
        method: &str,
        path: &str,
        report: &PanicReport,
    ) -> Result<String, RenderError> {
        let mut context = Context::new();
        context.insert("method", method);
        context.insert("path", path);
        context.insert("report", report);
        self.tera.render(PANIC, &context).map_err(RenderError)
    }

    /// A short message fragment, e.g. for a request that is no longer stored: a heading (none
    /// when `title` is empty) and the message.
    pub fn message(&self, title: &str, message: &str) -> Result<String, RenderError> {
        let mut context = Context::new();
        context.insert("title", title);
        context.insert("message", message);
        self.tera.render(MESSAGE, &context).map_err(RenderError)
    }
}
