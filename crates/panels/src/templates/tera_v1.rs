//! The recording wrapper for Tera 1.x.

use std::collections::BTreeSet;
use std::io::Write;
use std::ops::{Deref, DerefMut};

use tera1::ast::Node;

use super::capture::{self, Description};

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
    pub fn render(&self, name: &str, context: &tera1::Context) -> tera1::Result<String> {
        capture::recorded(
            "tera 1",
            name,
            || self.describe(name, context),
            || self.tera.render(name, context),
        )
    }

    /// Renders template `name` into `write`, like Tera's `render_to`, and records it.
    pub fn render_to(
        &self,
        name: &str,
        context: &tera1::Context,
        write: impl Write,
    ) -> tera1::Result<()> {
        capture::recorded(
            "tera 1",
            name,
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
