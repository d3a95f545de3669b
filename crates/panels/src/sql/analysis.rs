//! Grouping, N+1 detection and formatting of a request's queries.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::explain::Pools;
use super::lex::{Dialect, Token, tokens};
use super::sqlx_events::Captured;
use super::statements::{Boundary, Statement, Statements};
use super::{
    NPlusOne, QueryGroup, QueryRecord, SqlSettings, SqlStats, Transaction, TransactionOutcome,
};

/// Longest statement that is pretty-printed; longer ones are shown as they are.
const MAX_FORMATTED_LEN: usize = 16 * 1024;

/// The statement with literals and parameters replaced by `?`, lists of them collapsed to one,
/// keywords in upper case and spacing made regular: equal for queries that differ only in
/// values.
pub(super) fn normalize(sql: &str, dialect: Dialect) -> String {
    let mut parts: Vec<String> = Vec::new();
    for token in tokens(sql, dialect) {
        let part = match token {
            Token::Word(w) if is_sql_word(w) => w.to_ascii_uppercase(),
            Token::Word(w) => w.to_owned(),
            Token::QuotedIdent(q) => q.to_owned(),
            Token::Str
            | Token::AmbiguousString
            | Token::Unterminated
            | Token::Number
            | Token::Placeholder => "?".to_owned(),
            Token::Punct(c) => c.to_string(),
            Token::ExecutableComment => continue,
        };
        parts.push(part);
    }
    collapse_value_lists(&mut parts);
    let mut out = String::with_capacity(sql.len());
    for (i, part) in parts.iter().enumerate() {
        if i > 0 && needs_space(&parts[i - 1], part) {
            out.push(' ');
        }
        out.push_str(part);
    }
    out
}

/// Whether normalised tokens `prev` and `next` are written with a space between them:
/// `COUNT(*)`, `t.id`, `a, b` but `IN (?)`.
fn needs_space(prev: &str, next: &str) -> bool {
    if matches!(prev, "(" | ".") || matches!(next, ")" | "," | ";" | ".") {
        return false;
    }
    if next == "(" {
        let is_word = prev
            .chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_');
        return !is_word || is_keyword(prev);
    }
    true
}

/// Keywords and common functions, written in upper case when normalised.
const SQL_WORDS: &[&str] = &[
    "ALL",
    "AND",
    "AS",
    "ASC",
    "AVG",
    "BEGIN",
    "BETWEEN",
    "BY",
    "CASE",
    "COMMIT",
    "COUNT",
    "CREATE",
    "CROSS",
    "DELETE",
    "DESC",
    "DISTINCT",
    "DROP",
    "ELSE",
    "END",
    "EXISTS",
    "FROM",
    "FULL",
    "GROUP",
    "HAVING",
    "IN",
    "INNER",
    "INSERT",
    "INTO",
    "IS",
    "JOIN",
    "LEFT",
    "LIKE",
    "LIMIT",
    "MAX",
    "MIN",
    "NOT",
    "NULL",
    "OFFSET",
    "ON",
    "OR",
    "ORDER",
    "OUTER",
    "RETURNING",
    "RIGHT",
    "ROLLBACK",
    "SELECT",
    "SET",
    "SUM",
    "THEN",
    "UNION",
    "UPDATE",
    "USING",
    "VALUES",
    "WHEN",
    "WHERE",
    "WITH",
];

fn is_sql_word(word: &str) -> bool {
    SQL_WORDS.iter().any(|w| w.eq_ignore_ascii_case(word))
}

/// `( ? , ? , ? )` becomes `( ? )`, so `IN` lists of any length compare equal.
fn collapse_value_lists(parts: &mut Vec<String>) {
    let mut i = 0;
    while i + 2 < parts.len() {
        if parts[i] == "(" && parts[i + 1] == "?" {
            let mut j = i + 2;
            while j + 1 < parts.len() && parts[j] == "," && parts[j + 1] == "?" {
                j += 2;
            }
            if j > i + 2 && parts.get(j).is_some_and(|p| p == ")") {
                parts.drain(i + 2..j);
            }
        }
        i += 1;
    }
}

fn is_keyword(word: &str) -> bool {
    matches!(
        word,
        "IN" | "VALUES"
            | "FROM"
            | "JOIN"
            | "ON"
            | "AND"
            | "OR"
            | "WHERE"
            | "AS"
            | "EXISTS"
            | "NOT"
            | "SELECT"
            | "INTO"
            | "USING"
    )
}

/// The table (or other collection) a statement works on: the first name after `FROM`, `INTO`
/// or `UPDATE`, schema-qualified as written, without quotes.
pub(super) fn collection(tokens: &[Token<'_>]) -> Option<String> {
    let at = tokens.iter().position(|t| {
        matches!(t, Token::Word(w) if ["FROM", "INTO", "UPDATE"]
            .iter()
            .any(|k| w.eq_ignore_ascii_case(k)))
    })?;
    let mut name = String::new();
    let mut rest = tokens[at + 1..].iter();
    loop {
        match rest.next()? {
            Token::Word(w) => name.push_str(w),
            Token::QuotedIdent(q) => {
                name.push_str(q.get(1..q.len().saturating_sub(1)).unwrap_or(q))
            }
            _ => return None,
        }
        let mut ahead = rest.clone();
        if ahead.next() != Some(&Token::Punct('.')) {
            break;
        }
        rest = ahead;
        name.push('.');
    }
    (!name.is_empty()).then_some(name)
}

/// The statement's first keyword in upper case, e.g. `SELECT`.
pub(super) fn kind(sql: &str, dialect: Dialect) -> String {
    tokens(sql, dialect)
        .into_iter()
        .find_map(|t| match t {
            Token::Word(w) => Some(w.to_ascii_uppercase()),
            _ => None,
        })
        .unwrap_or_default()
}

pub(super) fn pretty(sql: &str) -> String {
    if sql.len() > MAX_FORMATTED_LEN {
        return sql.to_owned();
    }
    let options = sqlformat::FormatOptions {
        uppercase: Some(true),
        ..sqlformat::FormatOptions::default()
    };
    sqlformat::format(sql, &sqlformat::QueryParams::None, &options)
}

pub(super) fn analyse(
    captured: Captured,
    settings: &SqlSettings,
    pools: &Pools,
    statements: &Statements,
    wall: Duration,
) -> SqlStats {
    // Requests repeat statements (within one request that is what N+1 means, and a page runs
    // the same ones every time): each distinct statement's normal form, kind, formatting and
    // EXPLAIN come from the panel's cache.
    let mut distinct: HashMap<&str, Arc<Statement>> = HashMap::new();
    for q in &captured.queries {
        distinct
            .entry(q.sql.as_str())
            .or_insert_with(|| statements.get(&q.sql, q.backend, pools));
    }
    let statement = |sql: &str| distinct.get(sql);
    let normalized: Vec<String> = captured
        .queries
        .iter()
        .map(|q| statement(&q.sql).map_or_else(String::new, |s| s.normalized.clone()))
        .collect();
    let mut duplicates = groups(captured.queries.iter().map(|q| q.sql.clone()), &captured);
    for group in &mut duplicates {
        group.parameters = statement(&group.sql).is_some_and(|s| s.parameters);
    }
    let mut similar = groups(normalized.iter().cloned(), &captured);
    // A similar group made of one identical group says nothing new.
    similar.retain(|s| !duplicates.iter().any(|d| d.queries == s.queries));
    let count_of = |groups: &[QueryGroup]| -> HashMap<usize, usize> {
        groups
            .iter()
            .flat_map(|g| g.queries.iter().map(move |&index| (index, g.count)))
            .collect()
    };
    let (duplicates_of, similar_of) = (count_of(&duplicates), count_of(&similar));
    let (transactions, transaction_of) =
        transactions(&captured, |sql| statement(sql).and_then(|s| s.boundary));
    let mut queries: Vec<QueryRecord> = captured
        .queries
        .iter()
        .filter_map(|q| {
            let statement = statement(&q.sql)?;
            let read = matches!(statement.kind.as_str(), "SELECT" | "WITH");
            Some(QueryRecord {
                index: q.index,
                event_index: q.event_index,
                collection: statement.collection.clone(),
                normalized: statement.normalized.clone(),
                formatted: statement.formatted.clone(),
                rows_affected: (!read).then_some(q.rows_affected),
                explain: statement.explain.clone(),
                kind: statement.kind.clone(),
                duration_ms: q.duration_ms,
                start_ms: q.start_ms,
                rows_returned: q.rows_returned,
                backend: q.backend,
                span_path: q.span_path.clone(),
                duplicates: duplicates_of.get(&q.index).copied().unwrap_or(1),
                parameters: statement.parameters,
                similar: similar_of.get(&q.index).copied().unwrap_or(1),
                slow: q.reported_slow || q.duration_ms >= settings.slow_ms,
                transaction: transaction_of.get(&q.index).copied(),
                sql: q.sql.clone(),
                error: q.error.clone(),
            })
        })
        .collect();
    queries.sort_by_key(|q| q.index);
    let n_plus_one = n_plus_one(&captured, &normalized, settings.n_plus_one_threshold);
    let wall_ms = wall.as_secs_f64() * 1000.0;
    let slowest = queries
        .iter()
        .max_by(|a, b| a.duration_ms.total_cmp(&b.duration_ms))
        .map(|q| q.index);
    let notice = (captured.total_count == 0 && captured.saw_sqlx).then(|| {
        "sqlx was used in this request but reported no statements. Statement logging is \
         on by default at DEBUG; check that it was not turned off \
         (ConnectOptions::disable_statement_logging) or set below the level the toolbar's \
         layer records (ToolbarConfig::tracing_level)."
            .to_owned()
    });
    SqlStats {
        total_count: captured.total_count,
        total_ms: captured.total_ms,
        not_shown: captured.total_count - queries.len(),
        share_of_request: (wall_ms > 0.0).then(|| (captured.total_ms / wall_ms * 100.0).min(100.0)),
        slowest,
        duplicates,
        similar,
        n_plus_one,
        transactions,
        slow_threshold_ms: settings.slow_ms,
        notice,
        queries,
    }
}

/// Groups queries by `key`; only groups of two or more, largest first.
fn groups(keys: impl Iterator<Item = String>, captured: &Captured) -> Vec<QueryGroup> {
    let mut by_key: HashMap<String, QueryGroup> = HashMap::new();
    for (key, query) in keys.zip(&captured.queries) {
        let group = by_key.entry(key.clone()).or_insert_with(|| QueryGroup {
            sql: key,
            count: 0,
            total_ms: 0.0,
            queries: Vec::new(),
            parameters: false,
        });
        group.count += 1;
        group.total_ms += query.duration_ms;
        group.queries.push(query.index);
    }
    let mut groups: Vec<QueryGroup> = by_key.into_values().filter(|g| g.count > 1).collect();
    groups.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.queries.cmp(&b.queries))
    });
    groups
}

/// Similar reads run `threshold` times or more from the same span path.
fn n_plus_one(captured: &Captured, normalized: &[String], threshold: usize) -> Vec<NPlusOne> {
    let mut by_place: HashMap<(&str, &[String]), NPlusOne> = HashMap::new();
    for (query, sql) in captured.queries.iter().zip(normalized) {
        if !(sql.starts_with("SELECT") || sql.starts_with("WITH")) {
            continue;
        }
        let entry = by_place
            .entry((sql.as_str(), query.span_path.as_slice()))
            .or_insert_with(|| NPlusOne {
                sql: sql.clone(),
                count: 0,
                span_path: query.span_path.clone(),
                origin: super::origin(&query.span_path),
                total_ms: 0.0,
            });
        entry.count += 1;
        entry.total_ms += query.duration_ms;
    }
    let mut found: Vec<NPlusOne> = by_place
        .into_values()
        .filter(|n| n.count >= threshold)
        .collect();
    found.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.sql.cmp(&b.sql)));
    found
}

/// Transactions from `BEGIN`/`START TRANSACTION` to `COMMIT`/`END`/`ROLLBACK`, and the
/// transaction of each query inside one; `boundary` tells how a statement starts or ends one.
fn transactions(
    captured: &Captured,
    boundary: impl Fn(&str) -> Option<Boundary>,
) -> (Vec<Transaction>, HashMap<usize, usize>) {
    let mut done = Vec::new();
    let mut of = HashMap::new();
    let mut open: Option<Transaction> = None;
    for query in &captured.queries {
        let boundary = boundary(&query.sql);
        if boundary == Some(Boundary::Begin) && open.is_none() {
            open = Some(Transaction {
                id: done.len() + 1,
                queries: Vec::new(),
                outcome: TransactionOutcome::Open,
            });
        }
        if let Some(tx) = open.as_mut() {
            tx.queries.push(query.index);
            of.insert(query.index, tx.id);
            if let Some(Boundary::End(outcome)) = boundary {
                tx.outcome = outcome;
                done.extend(open.take());
            }
        }
    }
    done.extend(open);
    (done, of)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_literals_parameters_and_lists() {
        assert_eq!(
            normalize(
                "select * from users where id = 42 and name = 'O''Brien'",
                Dialect::Sqlite
            ),
            normalize(
                "SELECT *  FROM users WHERE id = $1 AND name = ?",
                Dialect::Sqlite
            )
        );
        assert_eq!(
            normalize("SELECT a FROM t WHERE id IN (1, 2, 3)", Dialect::Sqlite),
            normalize("SELECT a FROM t WHERE id IN (?)", Dialect::Sqlite)
        );
        assert_eq!(
            normalize(
                "SELECT COUNT(*) FROM posts WHERE user_id = ?",
                Dialect::Sqlite
            ),
            "SELECT COUNT(*) FROM posts WHERE user_id = ?"
        );
        assert_ne!(
            normalize("SELECT a FROM t", Dialect::Sqlite),
            normalize("SELECT b FROM t", Dialect::Sqlite)
        );
    }

    #[test]
    fn comments_and_quoted_identifiers_are_handled() {
        let tokens = tokens(
            "SELECT \"we;ird\" -- note\n FROM t /* x */ WHERE s = 'a;b'",
            Dialect::Sqlite,
        );
        assert!(!tokens.contains(&Token::Punct(';')));
        assert!(tokens.contains(&Token::QuotedIdent("\"we;ird\"")));
        assert_eq!(kind("  -- hi\n select 1", Dialect::Sqlite), "SELECT");
    }

    #[test]
    fn a_statement_names_the_table_after_from_into_or_update() {
        let of = |sql: &str| collection(&tokens(sql, Dialect::Postgres));
        assert_eq!(
            of("SELECT id FROM users WHERE x = 1").as_deref(),
            Some("users")
        );
        assert_eq!(
            of("insert into \"posts\" (a) values ($1)").as_deref(),
            Some("posts")
        );
        assert_eq!(of("UPDATE app.t SET a = 1").as_deref(), Some("app.t"));
        assert_eq!(
            of("SELECT 'FROM x' AS s FROM -- FROM y\n orders").as_deref(),
            Some("orders"),
            "strings and comments are not read as keywords"
        );
        assert_eq!(of("BEGIN"), None);
        assert_eq!(of("SELECT * FROM (SELECT 1) s"), None);
    }

    #[test]
    fn unterminated_input_does_not_panic() {
        for sql in ["'", "\"abc", "/* never", "$", "é", "SELECT 'it\\'s'", "--"] {
            for dialect in [Dialect::Sqlite, Dialect::Postgres, Dialect::MySql] {
                let _ = normalize(sql, dialect);
                let _ = kind(sql, dialect);
            }
        }
    }
}
