//! The error every configuration read from environment variables reports.

use std::fmt;

/// A configuration variable (e.g. `DEBUG_TOOLBAR_ALLOWED_IPS` or `OTEL_TRACES_SAMPLER`) holds a
/// value that is not accepted; the message names the variable and what it accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    variable: &'static str,
    value: String,
    expected: &'static str,
}

impl ConfigError {
    /// `variable` holds `value`, which is not one of `expected` (said in words, e.g.
    /// "true or false"). Write `value` without secrets: it is part of the message.
    pub fn new(variable: &'static str, value: impl Into<String>, expected: &'static str) -> Self {
        Self {
            variable,
            value: value.into(),
            expected,
        }
    }

    /// The variable's name.
    pub fn variable(&self) -> &'static str {
        self.variable
    }

    /// What the variable accepts.
    pub fn expected(&self) -> &str {
        self.expected
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}={:?} is not valid: expected {}",
            self.variable, self.value, self.expected
        )
    }
}

impl std::error::Error for ConfigError {}
