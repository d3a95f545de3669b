use std::borrow::Cow;
use std::collections::BTreeSet;

use debug_toolbar_core::{
    Badge, BadgeLevel, LogLevel, NameValue, Panel, Problem, ProblemKind, RecordedEvent, Recording,
    StatsContext, Template, register_panel,
};
use serde::{Deserialize, Serialize};

/// Every `tracing` event and `log` record the request emitted, with level, target, fields,
/// source location, span path and thread.
///
/// Events of the toolbar itself (targets `debug_toolbar` and `debug_toolbar::…`) are left
/// out, and sqlx's query events (target `sqlx::query`) are counted but not listed: the SQL
/// panel shows them.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoggingPanel;

impl LoggingPanel {
    /// Most records listed for one request; the rest are counted.
    pub const MAX_RECORDS: usize = 1000;
}

/// What the Logging panel records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggingStats {
    /// The records listed, in the order they were emitted.
    pub records: Vec<LogRecord>,
    /// Every record the request emitted, listed or not (SQL query events excluded).
    pub total: usize,
    /// Records not listed: past [`LoggingPanel::MAX_RECORDS`], or dropped by the recording
    /// limit before any panel saw them.
    pub not_shown: usize,
    /// Events the recording limits dropped; their level and target are unknown.
    pub dropped_by_recorder: usize,
    /// Of those, the events dropped because the request's recording budget
    /// ([`RecordingLimits::max_bytes`](debug_toolbar_core::RecordingLimits::max_bytes)) was
    /// spent.
    #[serde(default)]
    pub over_budget: usize,
    /// The request's recording budget, e.g. `1 MiB`, when it was spent; empty when it was not.
    #[serde(default)]
    pub budget: String,
    /// Records per level, over every record the panel saw (listed or not).
    pub counts: LevelCounts,
    /// sqlx query events left to the SQL panel.
    pub sql_queries: usize,
    /// The distinct targets of the listed records, sorted.
    pub targets: Vec<String>,
}

/// How many records of each level a request emitted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevelCounts {
    /// `ERROR` records.
    pub error: usize,
    /// `WARN` records.
    pub warn: usize,
    /// `INFO` records.
    pub info: usize,
    /// `DEBUG` records.
    pub debug: usize,
    /// `TRACE` records.
    pub trace: usize,
}

impl LevelCounts {
    fn add(&mut self, level: LogLevel) {
        let count = match level {
            LogLevel::Error => &mut self.error,
            LogLevel::Warn => &mut self.warn,
            LogLevel::Info => &mut self.info,
            LogLevel::Debug => &mut self.debug,
            LogLevel::Trace => &mut self.trace,
        };
        *count += 1;
    }
}

/// One log record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogRecord {
    /// Index of its event in the request's
    /// [`Recording::events`](debug_toolbar_core::Recording::events): where it happened, for
    /// panels that place records in the span structure.
    #[serde(default)]
    pub event_index: usize,
    /// Time since the request started, in milliseconds.
    pub offset_ms: f64,
    /// Level.
    pub level: LogLevel,
    /// Severity from 1 (`TRACE`) to 5 (`ERROR`), for filtering.
    pub severity: u8,
    /// Target: the module path, or a `log` record's target.
    pub target: String,
    /// The message.
    pub message: String,
    /// The other fields, secret-looking ones masked.
    pub fields: Vec<NameValue>,
    /// Source file and line, e.g. `src/users.rs:42`, as shown.
    pub location: Option<String>,
    /// Source file, e.g. `src/users.rs`.
    #[serde(default)]
    pub file: Option<String>,
    /// Line in [`file`](Self::file).
    #[serde(default)]
    pub line: Option<u32>,
    /// Names of the spans it was emitted in, outermost first.
    pub span_path: Vec<String>,
    /// Name of the thread it was emitted on.
    pub thread: Option<String>,
    /// Whether it came from the `log` crate rather than `tracing`.
    pub from_log: bool,
}

/// Target of the toolbar's own events.
const TOOLBAR_TARGET: &str = "debug_toolbar";
/// Metadata target `tracing-log` gives bridged `log` records; the real one is a field.
const LOG_TARGET: &str = "log";

/// Fields `tracing-log` adds to a bridged `log` record.
const LOG_FIELDS: [&str; 4] = ["log.target", "log.module_path", "log.file", "log.line"];

/// What kind of record an event is, for this panel.
enum Kind {
    Listed,
    Sql,
    Toolbar,
}

/// An event's target, file and line, reading through the `log` bridge's fields.
struct Origin<'a> {
    target: Cow<'a, str>,
    file: Option<Cow<'a, str>>,
    line: Option<u32>,
    from_log: bool,
}

fn origin(event: &RecordedEvent) -> Origin<'_> {
    let metadata = event.metadata;
    let log_target = event.field("log.target").and_then(|v| v.as_str());
    match log_target {
        Some(target) if metadata.target() == LOG_TARGET => Origin {
            target: Cow::Borrowed(target),
            file: event
                .field("log.file")
                .and_then(|v| v.as_str())
                .map(Cow::Borrowed),
            line: event
                .field("log.line")
                .and_then(|v| v.as_u64())
                .and_then(|line| u32::try_from(line).ok()),
            from_log: true,
        },
        _ => Origin {
            target: Cow::Borrowed(metadata.target()),
            file: metadata.file().map(Cow::Borrowed),
            line: metadata.line(),
            from_log: false,
        },
    }
}

fn kind(target: &str) -> Kind {
    if target == crate::SQLX_QUERY_TARGET {
        Kind::Sql
    } else if target == TOOLBAR_TARGET
        || target
            .strip_prefix(TOOLBAR_TARGET)
            .is_some_and(|rest| rest.starts_with("::"))
    {
        Kind::Toolbar
    } else {
        Kind::Listed
    }
}

fn record(
    recording: &Recording,
    event_index: usize,
    event: &RecordedEvent,
    origin: Origin<'_>,
) -> LogRecord {
    let level = LogLevel::from(event.metadata.level());
    let message = event
        .field("message")
        .map(|m| m.to_text())
        .unwrap_or_default();
    let fields = event
        .fields
        .iter()
        .filter(|(name, _)| *name != "message" && !(origin.from_log && LOG_FIELDS.contains(name)))
        .map(|(name, value)| NameValue {
            name: (*name).to_owned(),
            value: value.to_text(),
        })
        .collect();
    let location = origin.file.as_ref().map(|file| match origin.line {
        Some(line) => format!("{file}:{line}"),
        None => file.clone().into_owned(),
    });
    LogRecord {
        event_index,
        file: origin.file.map(Cow::into_owned),
        line: origin.line,
        offset_ms: event.offset.as_secs_f64() * 1000.0,
        level,
        severity: level.severity(),
        target: origin.target.into_owned(),
        message,
        fields,
        location,
        span_path: recording
            .span_path(event.span)
            .into_iter()
            .map(str::to_owned)
            .collect(),
        thread: event.thread.as_deref().map(str::to_owned),
        from_log: origin.from_log,
    }
}

impl LoggingPanel {
    /// Turns a recording into the panel's stats.
    fn stats_of(recording: &Recording) -> LoggingStats {
        let mut records = Vec::new();
        let mut counts = LevelCounts::default();
        let mut over_limit = 0;
        let mut sql_queries = 0;
        let mut targets = BTreeSet::new();
        for (event_index, event) in recording.events.iter().enumerate() {
            let origin = origin(event);
            match kind(&origin.target) {
                Kind::Sql => sql_queries += 1,
                Kind::Toolbar => {}
                Kind::Listed => {
                    counts.add(LogLevel::from(event.metadata.level()));
                    if records.len() < Self::MAX_RECORDS {
                        targets.insert(origin.target.clone().into_owned());
                        records.push(record(recording, event_index, event, origin));
                    } else {
                        over_limit += 1;
                    }
                }
            }
        }
        let not_shown = over_limit + recording.dropped_events;
        LoggingStats {
            total: records.len() + not_shown,
            records,
            not_shown,
            dropped_by_recorder: recording.dropped_events,
            over_budget: recording.events_over_budget,
            budget: recording
                .limits
                .spent_budget_text(recording.events_over_budget),
            counts,
            sql_queries,
            targets: targets.into_iter().collect(),
        }
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl Panel for LoggingPanel {
    type Stats = LoggingStats;
    const ID: &'static str = "logging";

    fn title(&self) -> Cow<'static, str> {
        "Logging".into()
    }

    fn nav_subtitle(&self, stats: &LoggingStats) -> Option<String> {
        let mut parts = vec![plural(stats.total, "record", "records")];
        if stats.counts.error > 0 {
            parts.push(plural(stats.counts.error, "error", "errors"));
        }
        if stats.counts.warn > 0 {
            parts.push(plural(stats.counts.warn, "warning", "warnings"));
        }
        Some(parts.join(", "))
    }

    fn generate_stats(&self, cx: &StatsContext<'_>) -> LoggingStats {
        Self::stats_of(cx.recording())
    }

    fn template(&self) -> Template {
        Template::new(
            "panels/logging.html",
            include_str!("../templates/logging.html"),
        )
    }

    /// Each record logged at `ERROR`, with where it was logged.
    fn problems(&self, stats: &LoggingStats) -> Vec<Problem> {
        stats
            .records
            .iter()
            .filter(|r| r.level == LogLevel::Error)
            .map(|r| {
                let problem = Problem::new(
                    ProblemKind::ErrorLog,
                    format!("error logged by {}: {}", r.target, r.message),
                );
                match &r.location {
                    Some(location) => problem.with_origin(location),
                    None => problem,
                }
            })
            .collect()
    }

    fn badge(&self, stats: &LoggingStats) -> Option<Badge> {
        if stats.counts.error > 0 {
            Some(Badge::new(
                BadgeLevel::Error,
                plural(stats.counts.error, "error", "errors"),
            ))
        } else if stats.counts.warn > 0 {
            Some(Badge::new(
                BadgeLevel::Warning,
                plural(stats.counts.warn, "warning", "warnings"),
            ))
        } else {
            None
        }
    }
}

register_panel!(LoggingPanel);
