//! Why a toolbar could not be built.

use std::fmt;

/// The toolbar's panels or templates do not fit together.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildError {
    /// Two panels share an id.
    DuplicatePanel(String),
    /// A panel id is not `[a-z0-9_-]+`, or names one of the toolbar's own routes.
    InvalidPanelId(String),
    /// Panels depend on each other in a cycle; the ids involved.
    DependencyCycle(Vec<String>),
    /// A template does not parse: its name and the parser's message.
    Template(String, String),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::DuplicatePanel(id) => {
                write!(f, "two panels have the id {id:?}; panel ids must be unique")
            }
            BuildError::InvalidPanelId(id) => write!(
                f,
                "panel id {id:?} is not usable: use lowercase letters, digits, '-' and '_', \
                 and not one of static, panels, api"
            ),
            BuildError::DependencyCycle(ids) => write!(
                f,
                "panels depend on each other in a cycle: {}",
                ids.join(" -> ")
            ),
            BuildError::Template(name, message) => {
                write!(f, "template {name:?} does not parse: {message}")
            }
        }
    }
}

impl std::error::Error for BuildError {}
