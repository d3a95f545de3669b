//! Problems a request shows: what a panel's stats say is wrong, in words an agent or a
//! developer can act on.

use serde::{Deserialize, Serialize};

/// What kind of problem a [`Problem`] is; the across-request analysis flags routes by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ProblemKind {
    /// The same statement run again and again from one place: a loop that should be a join.
    NPlusOne,
    /// A query over the slow-query threshold.
    SlowQuery,
    /// A query the database answered with an error.
    QueryError,
    /// Records logged at ERROR.
    ErrorLog,
    /// A performance budget the request went over.
    BrokenBudget,
    /// A `5xx` response.
    ServerError,
    /// Anything else a panel reports.
    Other,
}

impl ProblemKind {
    /// The kind as the JSON API writes it, e.g. `n_plus_one`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NPlusOne => "n_plus_one",
            Self::SlowQuery => "slow_query",
            Self::QueryError => "query_error",
            Self::ErrorLog => "error_log",
            Self::BrokenBudget => "broken_budget",
            Self::ServerError => "server_error",
            Self::Other => "other",
        }
    }
}

/// One problem of one request, reported by a panel's [`problems`](crate::Panel::problems) hook
/// (or by the toolbar itself for a `5xx` status).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    /// What kind of problem it is.
    pub kind: ProblemKind,
    /// The id of the panel that reported it (`response` for a `5xx` status).
    pub panel: String,
    /// One line saying what is wrong, e.g. "N+1: 12 × the same statement".
    pub message: String,
    /// The statement involved, normalised as the SQL panel shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statement: Option<String>,
    /// Where in the application it happened: a span path, or `file:line`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// How many times it happened in the request.
    pub count: usize,
    /// Time it cost, in milliseconds, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<f64>,
}

impl Problem {
    /// A problem of this kind, happening once; the toolbar fills in [`Problem::panel`].
    pub fn new(kind: ProblemKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            panel: String::new(),
            message: message.into(),
            statement: None,
            origin: None,
            count: 1,
            duration_ms: None,
        }
    }

    /// The statement involved.
    #[must_use]
    pub fn with_statement(mut self, statement: impl Into<String>) -> Self {
        self.statement = Some(statement.into());
        self
    }

    /// Where in the application it happened.
    #[must_use]
    pub fn with_origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }

    /// How many times it happened. By default, once.
    #[must_use]
    pub fn with_count(mut self, count: usize) -> Self {
        self.count = count;
        self
    }

    /// The time it cost, in milliseconds.
    #[must_use]
    pub fn with_duration_ms(mut self, duration_ms: f64) -> Self {
        self.duration_ms = Some(duration_ms);
        self
    }
}
