//! The error every configuration read from environment variables reports.

use std::fmt;

/// A configuration variable (e.g. `DEBUG_TOOLBAR_ALLOWED_IPS` or `OTEL_TRACES_SAMPLER`) holds a
/// value that is not accepted; the message names the variable and what it accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    variable: &'static str,
    value: Shown,
    expected: &'static str,
}

/// What the message says of the rejected value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Shown {
    /// The value itself.
    Value(String),
    /// Only where it went wrong in a list: the value may hold secrets.
    Entry { number: usize, key: Option<String> },
}

impl ConfigError {
    /// `variable` holds `value`, which is not one of `expected` (said in words, e.g.
    /// "true or false"). Write `value` without secrets: it is part of the message.
    pub fn new(variable: &'static str, value: impl Into<String>, expected: &'static str) -> Self {
        Self {
            variable,
            value: Shown::Value(value.into()),
            expected,
        }
    }

    /// Entry `entry` (counted from 1) of the list in `variable`, with key `key` when it has
    /// one, is not one of `expected`. The message does not show the value, which may be a
    /// secret (e.g. an API key in `OTEL_EXPORTER_OTLP_HEADERS`).
    pub fn in_entry(
        variable: &'static str,
        entry: usize,
        key: Option<&str>,
        expected: &'static str,
    ) -> Self {
        Self {
            variable,
            value: Shown::Entry {
                number: entry,
                key: key.map(str::to_owned),
            },
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
        match &self.value {
            Shown::Value(value) => write!(
                f,
                "{}={value:?} is not valid: expected {}",
                self.variable, self.expected
            ),
            Shown::Entry { number, key } => {
                write!(f, "{}: entry {number} ", self.variable)?;
                if let Some(key) = key {
                    write!(f, "(key {key:?}) ")?;
                }
                write!(
                    f,
                    "is not valid (its value is not shown): expected {}",
                    self.expected
                )
            }
        }
    }
}

impl std::error::Error for ConfigError {}
