//! The recording wrapper for Tera 2.

use std::io::Write;
use std::ops::{Deref, DerefMut};

use super::capture::{self, Description};

/// A [`tera::Tera`] whose renders show in the Templates panel.
///
/// Render through it instead of through `Tera`; everything else (adding templates, filters,
/// functions) reaches the inner `Tera` through `Deref`/`DerefMut`:
///
/// ```
/// use debug_toolbar_panels::RecordingTera;
///
/// let mut pages = RecordingTera::new(tera::Tera::new());
/// pages.add_raw_template("hello.html", "<p>Hello {{ name }}</p>")?;
/// let mut context = tera::Context::new();
/// context.insert("name", "Ada");
/// assert_eq!(pages.render("hello.html", &context)?, "<p>Hello Ada</p>");
/// # Ok::<(), tera::Error>(())
/// ```
///
/// Each render is a `template.render` span (target `debug_toolbar::template`, level `DEBUG`)
/// with the template's name. Inside a request the toolbar records, the span also carries the
/// context variables the template uses (Tera 2 does not list a context's other keys, nor a
/// template's parents and includes), as pretty JSON with secret-looking keys masked and long
/// values cut; outside one, nothing is serialized.
#[derive(Debug, Default)]
pub struct RecordingTera {
    tera: tera::Tera,
}

impl RecordingTera {
    /// Wraps `tera`.
    pub fn new(tera: tera::Tera) -> Self {
        Self { tera }
    }

    /// The wrapped `Tera`.
    pub fn into_inner(self) -> tera::Tera {
        self.tera
    }

    /// Renders template `name` with `context`, like [`tera::Tera::render`], and records it.
    pub fn render(&self, name: &str, context: &tera::Context) -> tera::TeraResult<String> {
        capture::recorded(
            "tera 2",
            name,
            || self.describe(name, context),
            || self.tera.render(name, context),
        )
    }

    /// Renders template `name` into `write`, like [`tera::Tera::render_to`], and records it.
    pub fn render_to(
        &self,
        name: &str,
        context: &tera::Context,
        write: impl Write,
    ) -> tera::TeraResult<()> {
        capture::recorded(
            "tera 2",
            name,
            || self.describe(name, context),
            || self.tera.render_to(name, context, write),
        )
    }

    fn describe(&self, name: &str, context: &tera::Context) -> Description {
        let mut names: Vec<&str> = self
            .tera
            .get_template_variables(name)
            .map(|names| names.into_iter().collect())
            .unwrap_or_default();
        names.sort_unstable();
        let variables = names
            .into_iter()
            .filter_map(|variable| {
                let value = context.get(variable)?;
                let json = serde_json::to_value(value).unwrap_or_else(|e| {
                    serde_json::Value::String(format!("(not serializable: {e})"))
                });
                Some((variable.to_owned(), json))
            })
            .collect();
        Description {
            parents: None,
            includes: None,
            variables,
        }
    }
}

impl From<tera::Tera> for RecordingTera {
    fn from(tera: tera::Tera) -> Self {
        Self::new(tera)
    }
}

impl Deref for RecordingTera {
    type Target = tera::Tera;

    fn deref(&self) -> &tera::Tera {
        &self.tera
    }
}

impl DerefMut for RecordingTera {
    fn deref_mut(&mut self) -> &mut tera::Tera {
        &mut self.tera
    }
}
