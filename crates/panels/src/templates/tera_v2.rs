//! The recording wrapper for Tera 2.

use std::io::Write;
use std::ops::{Deref, DerefMut};
use std::panic::Location;

use super::render_span::{self, Description};

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
    #[track_caller]
    pub fn render(&self, name: &str, context: &tera::Context) -> tera::TeraResult<String> {
        render_span::recorded(
            "tera 2",
            name,
            Location::caller(),
            || self.describe(name, context),
            || self.tera.render(name, context),
        )
    }

    /// Renders template `name` into `write`, like [`tera::Tera::render_to`], and records it.
    #[track_caller]
    pub fn render_to(
        &self,
        name: &str,
        context: &tera::Context,
        write: impl Write,
    ) -> tera::TeraResult<()> {
        render_span::recorded(
            "tera 2",
            name,
            Location::caller(),
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

#[cfg(test)]
mod tests {

    use super::*;
    use crate::templates::renders_in_request as renders;

    #[test]
    fn render_to_writes_the_page_and_records_the_variables_it_uses() {
        let mut tera = RecordingTera::from(tera::Tera::new());
        tera.add_raw_template("hello.html", "<p>{{ greeting }} {{ name }}</p>")
            .unwrap();
        let mut context = tera::Context::new();
        context.insert("name", "Ada");
        context.insert("greeting", "Hello");
        context.insert("unused", "not in the template");
        let mut out = Vec::new();
        let renders = renders(|| tera.render_to("hello.html", &context, &mut out).unwrap());
        assert_eq!(String::from_utf8(out).unwrap(), "<p>Hello Ada</p>");
        let render = &renders[0];
        assert_eq!(
            (render.name.as_str(), render.engine.as_str()),
            ("hello.html", "tera 2")
        );
        let names: Vec<&str> = render.context.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["greeting", "name"], "sorted, only what is used");
        assert_eq!(
            (render.parents.as_ref(), render.includes.as_ref()),
            (None, None)
        );
    }

    #[test]
    fn a_failed_render_to_is_recorded_with_its_error() {
        let tera = RecordingTera::new(tera::Tera::new());
        let renders = renders(|| {
            tera.render_to("nope.html", &tera::Context::new(), std::io::sink())
                .unwrap_err();
        });
        assert_eq!(renders[0].name, "nope.html");
        assert!(renders[0].context.is_empty());
        assert!(
            renders[0].error.as_deref().unwrap().contains("nope.html"),
            "{:?}",
            renders[0]
        );
    }

    #[test]
    fn the_wrapped_tera_is_given_back() {
        let mut tera = RecordingTera::default();
        tera.add_raw_template("hi.html", "hi {{ name }}").unwrap();
        let inner = tera.into_inner();
        let mut context = tera::Context::new();
        context.insert("name", "Ada");
        assert_eq!(inner.render("hi.html", &context).unwrap(), "hi Ada");
    }
}
