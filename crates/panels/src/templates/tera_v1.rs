//! The recording wrapper for Tera 1.x.

use std::collections::BTreeSet;
use std::io::Write;
use std::ops::{Deref, DerefMut};
use std::panic::Location;

use tera1::ast::Node;

use super::render_span::{self, Description};

/// A Tera 1.x `Tera` whose renders show in the Templates panel.
///
/// The same as [`RecordingTera`](crate::RecordingTera) for Tera 1: render through it, reach
/// everything else through `Deref`/`DerefMut`. Tera 1 tells more about a render: the panel
/// also shows every key of the context, the templates it extends and those it includes.
#[derive(Debug, Default)]
pub struct RecordingTera1 {
    tera: tera1::Tera,
}

impl RecordingTera1 {
    /// Wraps `tera`.
    pub fn new(tera: tera1::Tera) -> Self {
        Self { tera }
    }

    /// The wrapped `Tera`.
    pub fn into_inner(self) -> tera1::Tera {
        self.tera
    }

    /// Renders template `name` with `context`, like Tera's `render`, and records it.
    #[track_caller]
    pub fn render(&self, name: &str, context: &tera1::Context) -> tera1::Result<String> {
        render_span::recorded(
            "tera 1",
            name,
            Location::caller(),
            || self.describe(name, context),
            || self.tera.render(name, context),
        )
    }

    /// Renders template `name` into `write`, like Tera's `render_to`, and records it.
    #[track_caller]
    pub fn render_to(
        &self,
        name: &str,
        context: &tera1::Context,
        write: impl Write,
    ) -> tera1::Result<()> {
        render_span::recorded(
            "tera 1",
            name,
            Location::caller(),
            || self.describe(name, context),
            || self.tera.render_to(name, context, write),
        )
    }

    fn describe(&self, name: &str, context: &tera1::Context) -> Description {
        let variables = match context.clone().into_json() {
            serde_json::Value::Object(map) => map.into_iter().collect(),
            _ => Vec::new(),
        };
        let Ok(template) = self.tera.get_template(name) else {
            return Description {
                variables,
                ..Description::default()
            };
        };
        let mut includes = BTreeSet::new();
        collect_includes(&template.ast, &mut includes);
        for parent in &template.parents {
            if let Ok(parent) = self.tera.get_template(parent) {
                collect_includes(&parent.ast, &mut includes);
            }
        }
        Description {
            parents: Some(template.parents.clone()),
            includes: Some(includes.into_iter().collect()),
            variables,
        }
    }
}

/// Adds the names of the templates `nodes` include (the first candidate of each include).
fn collect_includes(nodes: &[Node], out: &mut BTreeSet<String>) {
    for node in nodes {
        match node {
            Node::Include(_, names, _) => out.extend(names.first().cloned()),
            Node::Block(_, block, _) => collect_includes(&block.body, out),
            Node::Forloop(_, forloop, _) => {
                collect_includes(&forloop.body, out);
                if let Some(body) = &forloop.empty_body {
                    collect_includes(body, out);
                }
            }
            Node::If(condition, _) => {
                for (_, _, body) in &condition.conditions {
                    collect_includes(body, out);
                }
                if let Some((_, body)) = &condition.otherwise {
                    collect_includes(body, out);
                }
            }
            Node::FilterSection(_, section, _) => collect_includes(&section.body, out),
            Node::MacroDefinition(_, definition, _) => collect_includes(&definition.body, out),
            _ => {}
        }
    }
}

impl From<tera1::Tera> for RecordingTera1 {
    fn from(tera: tera1::Tera) -> Self {
        Self::new(tera)
    }
}

impl Deref for RecordingTera1 {
    type Target = tera1::Tera;

    fn deref(&self) -> &tera1::Tera {
        &self.tera
    }
}

impl DerefMut for RecordingTera1 {
    fn deref_mut(&mut self) -> &mut tera1::Tera {
        &mut self.tera
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::templates::renders_in_request as renders;

    fn tera() -> RecordingTera1 {
        let mut tera = tera1::Tera::default();
        tera.add_raw_templates([
            ("base.html", "<main>{% block body %}{% endblock body %}</main>"),
            (
                "page.html",
                r#"{% extends "base.html" %}{% block body %}
                {% for item in items %}{% include "row.html" %}{% else %}{% include "empty.html" %}{% endfor %}
                {% if admin %}{% include "admin.html" %}{% elif guest %}{% include "guest.html" %}{% else %}{% include "anonymous.html" %}{% endif %}
                {% filter upper %}{% include "shout.html" %}{% endfilter %}
                {% endblock body %}"#,
            ),
            ("row.html", "<li>{{ item }}</li>"),
            ("empty.html", "none"),
            ("admin.html", "admin"),
            ("guest.html", "guest"),
            ("anonymous.html", "anonymous"),
            ("shout.html", "hey"),
        ])
        .unwrap();
        RecordingTera1::from(tera)
    }

    #[test]
    fn includes_in_every_kind_of_block_are_listed() {
        let tera = tera();
        let mut context = tera1::Context::new();
        context.insert("items", &Vec::<u32>::new());
        context.insert("guest", &true);
        let mut out = Vec::new();
        let renders = renders(|| tera.render_to("page.html", &context, &mut out).unwrap());
        let out = String::from_utf8(out).unwrap();
        assert!(
            out.contains("none") && out.contains("guest") && out.contains("HEY"),
            "{out}"
        );
        assert_eq!(renders.len(), 1);
        let render = &renders[0];
        assert_eq!(
            (render.name.as_str(), render.engine.as_str()),
            ("page.html", "tera 1")
        );
        assert_eq!(
            render.parents.as_deref(),
            Some(&["base.html".to_owned()][..])
        );
        assert_eq!(
            render.includes.as_deref().unwrap(),
            [
                "admin.html",
                "anonymous.html",
                "empty.html",
                "guest.html",
                "row.html",
                "shout.html"
            ]
        );
        let names: Vec<&str> = render.context.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["guest", "items"]);
        assert_eq!(render.error, None);
    }

    #[test]
    fn a_missing_template_is_recorded_with_its_context_and_error() {
        let tera = tera();
        let mut context = tera1::Context::new();
        context.insert("title", "Home");
        let mut out = Vec::new();
        let renders = renders(|| {
            tera.render_to("nope.html", &context, &mut out).unwrap_err();
        });
        assert!(out.is_empty());
        let render = &renders[0];
        assert_eq!(render.name, "nope.html");
        assert_eq!(
            (render.parents.as_ref(), render.includes.as_ref()),
            (None, None)
        );
        assert_eq!(render.context[0].name, "title");
        assert_eq!(render.context[0].value, "\"Home\"");
        assert!(
            render.error.as_deref().unwrap().contains("nope.html"),
            "{render:?}"
        );
    }

    #[test]
    fn the_wrapped_tera_is_reached_and_given_back() {
        let mut tera = RecordingTera1::new(tera1::Tera::default());
        tera.add_raw_template("hi.html", "hi {{ name }}").unwrap();
        assert_eq!(tera.get_template_names().collect::<Vec<_>>(), ["hi.html"]);
        let inner = tera.into_inner();
        let mut context = tera1::Context::new();
        context.insert("name", "Ada");
        assert_eq!(inner.render("hi.html", &context).unwrap(), "hi Ada");
    }
}
