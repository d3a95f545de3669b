//! Whether a statement only reads: the check EXPLAIN makes, from the statement's text, every
//! time before it runs anything.
//!
//! The check is one half of the defence; the other is how EXPLAIN runs (a read-only
//! transaction or connection, a time limit, a connection closed afterwards). It accepts one
//! `SELECT`, `WITH … SELECT`, `VALUES` or `TABLE` statement and refuses, each with its own
//! reason, anything that writes, locks, stores a result, calls a function with effects beyond
//! reading, or holds a second statement.

use std::fmt;

use super::lex::{Dialect, Lexeme, Token, lex};

/// Words that start a read, the only statements EXPLAIN runs.
const READS: &[&str] = &["SELECT", "WITH", "VALUES", "TABLE"];

/// Words of statements that change data, schema or settings. Inside one read they can only be
/// a data-modifying `WITH` (PostgreSQL) or text a lexer got wrong: either way, not explained.
const WRITES: &[&str] = &[
    "INSERT", "UPDATE", "DELETE", "MERGE", "UPSERT", "CREATE", "DROP", "ALTER", "TRUNCATE",
    "GRANT", "REVOKE", "CALL", "COPY", "VACUUM", "ATTACH", "DETACH", "PRAGMA", "EXEC", "EXECUTE",
    "DO", "LOAD", "HANDLER",
];

/// Functions with effects beyond reading: sequences, locks, sleeps, settings, other sessions,
/// files, large objects, other databases, SQL run from text.
const SIDE_EFFECT_FUNCTIONS: &[&str] = &[
    // PostgreSQL
    "nextval",
    "setval",
    "set_config",
    "pg_terminate_backend",
    "pg_cancel_backend",
    "pg_reload_conf",
    "pg_rotate_logfile",
    "pg_switch_wal",
    "pg_promote",
    "pg_notify",
    "pg_create_restore_point",
    "pg_read_file",
    "pg_read_binary_file",
    "pg_ls_dir",
    "pg_file_write",
    "pg_log_backend_memory_contexts",
    "query_to_xml",
    "query_to_xmlschema",
    "query_to_xml_and_xmlschema",
    "cursor_to_xml",
    "cursor_to_xmlschema",
    // MySQL and MariaDB
    "sleep",
    "benchmark",
    "get_lock",
    "release_lock",
    "release_all_locks",
    "load_file",
    "master_pos_wait",
    "source_pos_wait",
    "wait_for_executed_gtid_set",
    // SQLite (and its shell's functions)
    "load_extension",
    "readfile",
    "writefile",
    "edit",
];

/// Prefixes of families of such functions.
const SIDE_EFFECT_PREFIXES: &[&str] = &[
    "pg_advisory_",
    "pg_try_advisory_",
    "pg_sleep",
    "pg_stat_reset",
    "pg_replication_",
    "pg_logical_",
    "pg_create_",
    "pg_drop_",
    "pg_backup_",
    "pg_start_backup",
    "pg_stop_backup",
    "pg_wal_replay_",
    "pg_import_",
    "pg_copy_",
    "lo_",
    "dblink",
];

/// Why EXPLAIN does not run a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Refusal {
    /// There is no statement.
    Empty,
    /// More than one statement.
    Several,
    /// A string, quoted identifier or comment does not end.
    Unterminated,
    /// A MySQL `/*! … */` comment, whose text the server runs.
    ExecutableComment,
    /// A MySQL string with a backslash, whose end depends on the server's mode.
    AmbiguousString,
    /// The statement is not a read; its first word.
    NotARead(String),
    /// A word of a statement that writes.
    Writes(String),
    /// A locking clause.
    Locks(String),
    /// `SELECT … INTO`.
    Into,
    /// A PostgreSQL `U&"…"` identifier, whose escapes can spell any name.
    EscapedName,
    /// A function with effects beyond reading.
    SideEffects(String),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("there is no statement."),
            Self::Several => f.write_str(
                "the text holds more than one statement; only a single statement is explained.",
            ),
            Self::Unterminated => {
                f.write_str("a string, quoted identifier or comment does not end.")
            }
            Self::ExecutableComment => f.write_str(
                "MySQL runs the text of /*! … */ comments, so statements with one are not \
                 explained.",
            ),
            Self::AmbiguousString => f.write_str(
                "a string holds a backslash, and where it ends depends on the server's \
                 NO_BACKSLASH_ESCAPES mode.",
            ),
            Self::NotARead(kind) => write!(
                f,
                "only SELECT, WITH … SELECT, VALUES and TABLE statements are explained; this \
                 is {kind}."
            ),
            Self::Writes(word) => write!(f, "{word} changes data; only reads are explained."),
            Self::Locks(clause) => {
                write!(f, "{clause} takes locks; only plain reads are explained.")
            }
            Self::EscapedName => f.write_str(
                "U&\"…\" identifiers can spell any function's name, so statements with one are \
                 not explained.",
            ),
            Self::Into => {
                f.write_str("SELECT … INTO writes its result to a table, a file or variables.")
            }
            Self::SideEffects(name) => write!(
                f,
                "{name}() does more than read (sequences, locks, sleeps, settings, other \
                 sessions or files)."
            ),
        }
    }
}

/// The one read-only statement of `sql`, without a final `;`, or why there is none.
pub(super) fn read_only_statement(sql: &str, dialect: Dialect) -> Result<&str, Refusal> {
    let lexemes = lex(sql, dialect);
    for lexeme in &lexemes {
        match lexeme.token {
            Token::Unterminated => return Err(Refusal::Unterminated),
            Token::ExecutableComment => return Err(Refusal::ExecutableComment),
            Token::AmbiguousString => return Err(Refusal::AmbiguousString),
            _ => {}
        }
    }
    let end = lexemes.iter().position(|l| l.token == Token::Punct(';'));
    let statement = &lexemes[..end.unwrap_or(lexemes.len())];
    if end.is_some_and(|end| end + 1 < lexemes.len()) {
        return Err(Refusal::Several);
    }
    check(statement)?;
    let text_end = end
        .and_then(|end| lexemes.get(end))
        .map_or(sql.len(), |l| l.start);
    Ok(sql.get(..text_end).unwrap_or(sql).trim_end())
}

/// Whether the tokens of one statement only read.
fn check(statement: &[Lexeme<'_>]) -> Result<(), Refusal> {
    let first = statement
        .iter()
        .find(|l| l.token != Token::Punct('('))
        .ok_or(Refusal::Empty)?;
    match first.token {
        Token::Word(w) if READS.iter().any(|r| r.eq_ignore_ascii_case(w)) => {}
        Token::Word(w) => return Err(Refusal::NotARead(w.to_ascii_uppercase())),
        _ => return Err(Refusal::NotARead("not a statement".to_owned())),
    }
    let word = |i: usize| match statement.get(i).map(|l| l.token) {
        Some(Token::Word(w)) => Some(w.to_ascii_uppercase()),
        _ => None,
    };
    for (i, lexeme) in statement.iter().enumerate() {
        let escaped = matches!(lexeme.token, Token::Word(w) if w.eq_ignore_ascii_case("U"))
            && statement.get(i + 1).map(|l| l.token) == Some(Token::Punct('&'))
            && matches!(
                statement.get(i + 2).map(|l| l.token),
                Some(Token::QuotedIdent(_))
            );
        if escaped {
            return Err(Refusal::EscapedName);
        }
        let calls = statement.get(i + 1).map(|l| l.token) == Some(Token::Punct('('));
        if calls {
            let name = match lexeme.token {
                Token::Word(w) => Some(w.to_owned()),
                Token::QuotedIdent(q) => Some(unquote(q)),
                _ => None,
            };
            if let Some(name) = name.filter(|n| has_side_effects(n)) {
                return Err(Refusal::SideEffects(name));
            }
        }
        let Some(upper) = word(i) else { continue };
        match upper.as_str() {
            "FOR" => {
                // FOR UPDATE, FOR NO KEY UPDATE, FOR SHARE, FOR KEY SHARE.
                let clause: Vec<String> = (i + 1..i + 4).map_while(word).collect();
                if let Some(last) = clause
                    .iter()
                    .position(|w| w == "UPDATE" || w == "SHARE")
                    .filter(|&at| clause[..at].iter().all(|w| w == "NO" || w == "KEY"))
                {
                    return Err(Refusal::Locks(format!("FOR {}", clause[..=last].join(" "))));
                }
            }
            "LOCK" if word(i + 1).as_deref() == Some("IN") => {
                return Err(Refusal::Locks("LOCK IN SHARE MODE".to_owned()));
            }
            "LOCK" => return Err(Refusal::Locks("LOCK".to_owned())),
            "INTO" => return Err(Refusal::Into),
            w if WRITES.contains(&w) => return Err(Refusal::Writes(upper)),
            _ => {}
        }
    }
    Ok(())
}

/// Whether a function of this name does more than read.
fn has_side_effects(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SIDE_EFFECT_FUNCTIONS.contains(&name.as_str())
        || SIDE_EFFECT_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// A quoted identifier's name: quotes removed, doubled quotes made single.
fn unquote(quoted: &str) -> String {
    let mut chars = quoted.chars();
    let (Some(open), Some(_)) = (chars.next(), chars.next_back()) else {
        return quoted.to_owned();
    };
    let inner = chars.as_str();
    match open {
        '"' => inner.replace("\"\"", "\""),
        '`' => inner.replace("``", "`"),
        _ => inner.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::Dialect::{MySql, Postgres, Sqlite};
    use super::*;

    const ALL: [Dialect; 3] = [Sqlite, Postgres, MySql];

    #[test]
    fn single_reads_are_accepted_without_their_final_semicolon() {
        let cases: &[(&[Dialect], &str, &str)] = &[
            (&ALL, "SELECT * FROM users", "SELECT * FROM users"),
            (&ALL, "select 1;", "select 1"),
            (&ALL, "SELECT 1 ; -- done\n", "SELECT 1"),
            (
                &ALL,
                "with t as (select 1) select * from t",
                "with t as (select 1) select * from t",
            ),
            (
                &ALL,
                "SELECT 'DELETE FROM users' AS s;",
                "SELECT 'DELETE FROM users' AS s",
            ),
            (
                &ALL,
                "SELECT replace(name, 'a', 'b') FROM t",
                "SELECT replace(name, 'a', 'b') FROM t",
            ),
            (&ALL, "SELECT \"update\" FROM t", "SELECT \"update\" FROM t"),
            (
                &ALL,
                "(SELECT 1) UNION (SELECT 2)",
                "(SELECT 1) UNION (SELECT 2)",
            ),
            (&ALL, "VALUES (1), (2)", "VALUES (1), (2)"),
            (&[Postgres], "TABLE users", "TABLE users"),
            (
                &[Sqlite, Postgres],
                "SELECT '\\' AS backslash",
                "SELECT '\\' AS backslash",
            ),
            (
                &[Postgres],
                "SELECT $$it's; fine$$",
                "SELECT $$it's; fine$$",
            ),
            (
                &ALL,
                "SELECT substring(s FROM 1 FOR 2) FROM t",
                "SELECT substring(s FROM 1 FOR 2) FROM t",
            ),
            (
                &[Postgres],
                "SELECT currval('s'), lastval()",
                "SELECT currval('s'), lastval()",
            ),
            // PostgreSQL nests block comments: the `;` and DELETE are still inside one.
            (
                &[Postgres],
                "SELECT 1 /* /* */ ; DELETE FROM users */",
                "SELECT 1 /* /* */ ; DELETE FROM users */",
            ),
        ];
        for (dialects, sql, statement) in cases {
            for dialect in *dialects {
                assert_eq!(
                    read_only_statement(sql, *dialect),
                    Ok(*statement),
                    "{dialect:?}: {sql}"
                );
            }
        }
    }

    #[test]
    fn every_way_out_of_a_read_is_refused_with_its_reason() {
        use Refusal::*;
        let w = |s: &str| s.to_owned();
        let cases: &[(&[Dialect], &str, Refusal)] = &[
            (&ALL, "", Empty),
            (&ALL, "  -- nothing\n;", Empty),
            (&ALL, "DELETE FROM users", NotARead(w("DELETE"))),
            (&ALL, "EXPLAIN SELECT 1", NotARead(w("EXPLAIN"))),
            (&ALL, "PRAGMA writable_schema = 1", NotARead(w("PRAGMA"))),
            (&ALL, "SELECT 1; DROP TABLE users", Several),
            (&ALL, "SELECT 1;;", Several),
            // The backslash is a character in standard strings: the quote after it ends one.
            (
                &[Sqlite, Postgres],
                "SELECT '\\'; DELETE FROM users; -- '",
                Several,
            ),
            (
                &[MySql],
                "SELECT '\\'; DELETE FROM users; -- '",
                AmbiguousString,
            ),
            (&[MySql], "SELECT '\\'; DELETE FROM users", Unterminated),
            (&[MySql], "SELECT 'a\\'b', sleep(600) -- '", AmbiguousString),
            (
                &[Postgres],
                "SELECT E'\\''; DELETE FROM users; --'",
                Several,
            ),
            (&[Postgres], "SELECT $x$ ; $x$; DELETE FROM users", Several),
            (
                &[Postgres],
                "SELECT $$a$$, pg_sleep(600)",
                SideEffects(w("pg_sleep")),
            ),
            (&ALL, "SELECT 1 /* ; */; DELETE FROM users", Several),
            (
                &[Sqlite, MySql],
                "SELECT 1 /* /* */ ; DELETE FROM users */",
                Several,
            ),
            (&[Sqlite], "SELECT [a'b]; DELETE FROM users; --']", Several),
            (
                &[MySql],
                "SELECT 1 /*! ; DELETE FROM users */",
                ExecutableComment,
            ),
            (
                &[MySql],
                "SELECT 1 # ;\n, sleep(9)",
                SideEffects(w("sleep")),
            ),
            (
                &[MySql],
                "SELECT 1 --1\n, sleep(9)",
                SideEffects(w("sleep")),
            ),
            (&ALL, "SELECT 'never", Unterminated),
            (&ALL, "SELECT 1 /* never", Unterminated),
            (
                &ALL,
                "WITH d AS (DELETE FROM users RETURNING *) SELECT * FROM d",
                Writes(w("DELETE")),
            ),
            (
                &ALL,
                "WITH u AS (UPDATE t SET a = 1 RETURNING *) SELECT 1",
                Writes(w("UPDATE")),
            ),
            (
                &ALL,
                "SELECT * FROM users FOR UPDATE",
                Locks(w("FOR UPDATE")),
            ),
            (
                &ALL,
                "SELECT * FROM users FOR NO KEY UPDATE",
                Locks(w("FOR NO KEY UPDATE")),
            ),
            (&ALL, "select * from users for share", Locks(w("FOR SHARE"))),
            (
                &ALL,
                "SELECT * FROM users FOR KEY SHARE",
                Locks(w("FOR KEY SHARE")),
            ),
            (
                &ALL,
                "SELECT * FROM users LOCK IN SHARE MODE",
                Locks(w("LOCK IN SHARE MODE")),
            ),
            (&ALL, "SELECT 1 INTO x", Into),
            (&ALL, "SELECT * INTO copy FROM users", Into),
            (&ALL, "SELECT * FROM t INTO OUTFILE '/tmp/x'", Into),
            (&ALL, "SELECT nextval('s')", SideEffects(w("nextval"))),
            (&ALL, "SELECT setval('s', 1)", SideEffects(w("setval"))),
            (
                &ALL,
                "SELECT pg_advisory_lock(1)",
                SideEffects(w("pg_advisory_lock")),
            ),
            (
                &ALL,
                "SELECT pg_try_advisory_xact_lock(1)",
                SideEffects(w("pg_try_advisory_xact_lock")),
            ),
            (&ALL, "SELECT pg_sleep(600)", SideEffects(w("pg_sleep"))),
            (
                &ALL,
                "SELECT pg_catalog.pg_sleep_for('1 h')",
                SideEffects(w("pg_sleep_for")),
            ),
            (
                &[Postgres],
                "SELECT \"pg_sleep\"(600)",
                SideEffects(w("pg_sleep")),
            ),
            (&[MySql], "SELECT `SLEEP` (600)", SideEffects(w("SLEEP"))),
            (
                &ALL,
                "SELECT PG_SLEEP /* x */ (600)",
                SideEffects(w("PG_SLEEP")),
            ),
            (&[Postgres], r#"SELECT U&"pg\005fsleep"(600)"#, EscapedName),
            (
                &[Postgres],
                r#"SELECT u&"pg!005fsleep" UESCAPE '!' (600)"#,
                EscapedName,
            ),
            (
                &ALL,
                "SELECT set_config('a.b', 'c', false)",
                SideEffects(w("set_config")),
            ),
            (
                &ALL,
                "SELECT pg_terminate_backend(1)",
                SideEffects(w("pg_terminate_backend")),
            ),
            (
                &ALL,
                "SELECT pg_cancel_backend(1)",
                SideEffects(w("pg_cancel_backend")),
            ),
            (
                &ALL,
                "SELECT lo_import('/etc/passwd')",
                SideEffects(w("lo_import")),
            ),
            (
                &ALL,
                "SELECT * FROM dblink('x', 'y') AS t(a int)",
                SideEffects(w("dblink")),
            ),
            (
                &ALL,
                "SELECT query_to_xml('DELETE FROM t', true, true, '')",
                SideEffects(w("query_to_xml")),
            ),
            (&ALL, "SELECT sleep(600)", SideEffects(w("sleep"))),
            (
                &ALL,
                "SELECT benchmark(1e9, md5('a'))",
                SideEffects(w("benchmark")),
            ),
            (&ALL, "SELECT get_lock('a', 10)", SideEffects(w("get_lock"))),
            (
                &ALL,
                "SELECT load_file('/etc/passwd')",
                SideEffects(w("load_file")),
            ),
            (
                &ALL,
                "SELECT load_extension('x')",
                SideEffects(w("load_extension")),
            ),
        ];
        for (dialects, sql, refusal) in cases {
            for dialect in *dialects {
                let got = read_only_statement(sql, *dialect);
                assert_eq!(got, Err(refusal.clone()), "{dialect:?}: {sql}");
            }
        }
    }

    #[test]
    fn each_refusal_says_why_in_words() {
        let reasons = [
            (Refusal::Several, "more than one statement"),
            (Refusal::Writes("DELETE".to_owned()), "DELETE changes data"),
            (
                Refusal::Locks("FOR UPDATE".to_owned()),
                "FOR UPDATE takes locks",
            ),
            (Refusal::Into, "SELECT … INTO"),
            (
                Refusal::SideEffects("nextval".to_owned()),
                "nextval() does more than read",
            ),
            (Refusal::NotARead("INSERT".to_owned()), "this is INSERT"),
        ];
        for (refusal, words) in reasons {
            let text = refusal.to_string();
            assert!(text.contains(words), "{text}");
        }
    }
}
