//! SQL tokens, by the string, identifier and comment rules of each database.
//!
//! Normalising statements, telling their kind and deciding whether EXPLAIN may run one all read
//! the same tokens. Where a statement ends, and whether a word is a keyword or sits inside a
//! string, depends on the database: a backslash escapes a quote in MySQL but is an ordinary
//! character in SQLite and in PostgreSQL's standard strings; PostgreSQL nests block comments
//! and has `E'…'` and `$tag$…$tag$` strings; MySQL has `#` comments and runs `/*! … */`.
//! Where the rules of a database leave a doubt, the lexer reports it (`Unterminated`,
//! `ExecutableComment`, `AmbiguousString`) rather than guess.

/// Whose rules for strings, quoted identifiers and comments apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dialect {
    /// SQLite, also taken for statements of an unknown database: `'…'` strings where `''` is
    /// a quote and a backslash is a character; `"…"`, `` `…` `` and `[…]` identifiers.
    Sqlite,
    /// PostgreSQL with `standard_conforming_strings` on (EXPLAIN sets it): standard strings,
    /// `E'…'` escape strings, `$tag$…$tag$` dollar quoting, `"…"` identifiers, nested block
    /// comments.
    Postgres,
    /// MySQL and MariaDB: `'…'` and `"…"` strings with backslash escapes, `` `…` ``
    /// identifiers, `#` comments, `--` comments only before a space or control character,
    /// `/*! … */` comments the server runs.
    MySql,
}

impl Dialect {
    /// The dialect of a backend as the SQL panel names it (`sqlite`, `postgresql`, `mysql`).
    pub(super) fn of(backend: Option<&str>) -> Self {
        match backend {
            Some("postgresql") => Self::Postgres,
            Some("mysql") => Self::MySql,
            _ => Self::Sqlite,
        }
    }
}

/// A lexical token of an SQL statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Token<'a> {
    /// A keyword or an identifier.
    Word(&'a str),
    /// A quoted identifier, with its quotes: `"name"`, `` `name` ``, `[name]`.
    QuotedIdent(&'a str),
    /// A string literal.
    Str,
    /// A numeric literal.
    Number,
    /// A bind parameter: `?`, `$1`.
    Placeholder,
    /// Any other character.
    Punct(char),
    /// A string, quoted identifier or block comment that does not end.
    Unterminated,
    /// MySQL's `/*! … */` or MariaDB's `/*M! … */`: a comment whose text the server runs.
    ExecutableComment,
    /// A MySQL string with a backslash in it: where it ends depends on the server's
    /// `NO_BACKSLASH_ESCAPES` mode, and `"…"` is an identifier under `ANSI_QUOTES`.
    AmbiguousString,
}

/// A token and the byte offset where it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Lexeme<'a> {
    /// The token.
    pub(super) token: Token<'a>,
    /// Where it starts in the statement, in bytes.
    pub(super) start: usize,
}

/// The tokens of `sql`, without whitespace and comments.
pub(super) fn tokens(sql: &str, dialect: Dialect) -> Vec<Token<'_>> {
    lex(sql, dialect).into_iter().map(|l| l.token).collect()
}

/// The tokens of `sql` with their offsets, without whitespace and comments.
pub(super) fn lex(sql: &str, dialect: Dialect) -> Vec<Lexeme<'_>> {
    let bytes = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let c = bytes[i];
        let next = bytes.get(i + 1).copied();
        let token = match c {
            b if b.is_ascii_whitespace() => {
                i += 1;
                None
            }
            b'-' if next == Some(b'-') && starts_dash_comment(bytes, i, dialect) => {
                i = end_of_line(bytes, i);
                None
            }
            b'#' if dialect == Dialect::MySql => {
                i = end_of_line(bytes, i);
                None
            }
            b'/' if next == Some(b'*') => {
                let executable = dialect == Dialect::MySql
                    && (bytes.get(i + 2) == Some(&b'!')
                        || bytes.get(i + 2..i + 4) == Some(b"M!".as_slice()));
                match end_of_block_comment(bytes, i, dialect == Dialect::Postgres) {
                    Some(end) => {
                        i = end;
                        executable.then_some(Token::ExecutableComment)
                    }
                    None => {
                        i = bytes.len();
                        Some(Token::Unterminated)
                    }
                }
            }
            b'\'' => {
                let (end, token) = string(bytes, i, b'\'', dialect);
                i = end;
                Some(token)
            }
            b'e' | b'E' if dialect == Dialect::Postgres && next == Some(b'\'') => {
                let (end, token) = quoted(bytes, i + 1, b'\'', true);
                i = end;
                Some(token.unwrap_or(Token::Str))
            }
            b'"' if dialect == Dialect::MySql => {
                let (end, token) = string(bytes, i, b'"', dialect);
                i = end;
                Some(token)
            }
            b'"' | b'`' | b'[' if quotes_identifiers(c, dialect) => {
                let close = if c == b'[' { b']' } else { c };
                let (end, token) = quoted(bytes, i, close, false);
                i = end;
                Some(token.unwrap_or(Token::QuotedIdent(sql.get(start..end).unwrap_or(""))))
            }
            b'?' => {
                i += 1;
                Some(Token::Placeholder)
            }
            b'$' if next.is_some_and(|n| n.is_ascii_digit()) => {
                i += 1;
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
                Some(Token::Placeholder)
            }
            b'$' if dialect == Dialect::Postgres => match dollar_tag(bytes, i) {
                Some(tag_end) => {
                    let tag = &bytes[i..tag_end];
                    match find_from(bytes, tag_end, tag) {
                        Some(close) => {
                            i = close + tag.len();
                            Some(Token::Str)
                        }
                        None => {
                            i = bytes.len();
                            Some(Token::Unterminated)
                        }
                    }
                }
                None => {
                    i += 1;
                    Some(Token::Punct('$'))
                }
            },
            b'0'..=b'9' => {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'.') {
                    i += 1;
                }
                Some(Token::Number)
            }
            b if is_word_start(b) => {
                while i < bytes.len() && is_word_byte(bytes[i]) {
                    i += 1;
                }
                Some(Token::Word(sql.get(start..i).unwrap_or("")))
            }
            _ => {
                // Bytes of multi-byte characters are word bytes (above), so this is ASCII.
                i += 1;
                Some(Token::Punct(char::from(c)))
            }
        };
        if let Some(token) = token {
            out.push(Lexeme { token, start });
        }
    }
    out
}

fn is_word_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// Whether `c` opens a quoted identifier in `dialect`.
fn quotes_identifiers(c: u8, dialect: Dialect) -> bool {
    match dialect {
        Dialect::Sqlite => matches!(c, b'"' | b'`' | b'['),
        Dialect::Postgres => c == b'"',
        Dialect::MySql => c == b'`',
    }
}

/// Whether the `--` at `at` starts a comment: always, but in MySQL only when a space or a
/// control character (or the end) follows.
fn starts_dash_comment(bytes: &[u8], at: usize, dialect: Dialect) -> bool {
    dialect != Dialect::MySql
        || bytes
            .get(at + 2)
            .is_none_or(|&b| b == b' ' || b.is_ascii_control())
}

/// The index after the line that starts at `from`. A carriage return ends it too: PostgreSQL
/// says so, and where another database reads on, more of the text is seen, never less.
fn end_of_line(bytes: &[u8], from: usize) -> usize {
    bytes
        .get(from..)
        .and_then(|rest| memchr::memchr2(b'\n', b'\r', rest))
        .map_or(bytes.len(), |at| from + at + 1)
}

/// The index after the block comment opened at `start`, nested comments counted when `nests`.
fn end_of_block_comment(bytes: &[u8], start: usize, nests: bool) -> Option<usize> {
    if !nests {
        return find_from(bytes, start + 2, b"*/").map(|end| end + 2);
    }
    let mut depth = 0usize;
    let mut i = start;
    while i + 1 < bytes.len() {
        match (bytes[i], bytes[i + 1]) {
            (b'/', b'*') => {
                depth += 1;
                i += 2;
            }
            (b'*', b'/') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// A string literal opened by `quote` at `start`: MySQL's with backslash escapes (and, when it
/// holds a backslash, ambiguous), the others' standard.
fn string(bytes: &[u8], start: usize, quote: u8, dialect: Dialect) -> (usize, Token<'static>) {
    let backslash_escapes = dialect == Dialect::MySql;
    let (end, unterminated) = quoted(bytes, start, quote, backslash_escapes);
    let token = match unterminated {
        Some(token) => token,
        None if backslash_escapes && bytes[start..end].contains(&b'\\') => Token::AmbiguousString,
        None => Token::Str,
    };
    (end, token)
}

/// The index just past the quoted run opened at `start` and closed by `close`, where a doubled
/// `close` stands for itself and, if `backslash_escapes`, a backslash escapes the next byte;
/// with `Some(Token::Unterminated)` when it does not end.
fn quoted(
    bytes: &[u8],
    start: usize,
    close: u8,
    backslash_escapes: bool,
) -> (usize, Option<Token<'static>>) {
    let mut i = start + 1;
    while i < bytes.len() {
        let b = bytes[i];
        if b == close {
            if bytes.get(i + 1) == Some(&close) && close != b']' {
                i += 2;
                continue;
            }
            return (i + 1, None);
        }
        i += if backslash_escapes && b == b'\\' {
            2
        } else {
            1
        };
    }
    (bytes.len(), Some(Token::Unterminated))
}

/// The index after the `$tag$` opening a dollar-quoted string at `start`, if one does.
fn dollar_tag(bytes: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    if bytes.get(i).is_some_and(|&b| is_word_start(b)) {
        i += 1;
        while bytes
            .get(i)
            .is_some_and(|&b| b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80)
        {
            i += 1;
        }
    }
    (bytes.get(i) == Some(&b'$')).then_some(i + 1)
}

fn find_from(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(bytes.get(from..)?, needle).map(|at| from + at)
}

#[cfg(test)]
mod tests {
    use super::Dialect::{MySql, Postgres, Sqlite};
    use super::Token::*;
    use super::*;

    #[test]
    fn strings_identifiers_and_comments_follow_each_dialect() {
        let cases: &[(Dialect, &str, &[Token<'_>])] = &[
            // A backslash is a character in standard strings, so the quote after it ends one.
            (Sqlite, r"'\';", &[Str, Punct(';')]),
            (Postgres, r"'\';", &[Str, Punct(';')]),
            (Sqlite, "'it''s'", &[Str]),
            // ... and escapes the quote in MySQL, where the run then holds a backslash.
            (MySql, r"'\';", &[Unterminated]),
            (MySql, r"'a\'b'", &[AmbiguousString]),
            (MySql, "'it''s' x", &[Str, Word("x")]),
            (MySql, "\"a;b\"", &[Str]),
            // PostgreSQL escape strings and dollar quoting.
            (Postgres, r"E'\'' ;", &[Str, Punct(';')]),
            (Postgres, r"e'a\\' x", &[Str, Word("x")]),
            (Postgres, "$$a;'b$$ x", &[Str, Word("x")]),
            (Postgres, "$fn$ $$ ; $fn$;", &[Str, Punct(';')]),
            (Postgres, "$1 a$b", &[Placeholder, Word("a$b")]),
            (Postgres, "$$ never", &[Unterminated]),
            (Sqlite, "E'x'", &[Word("E"), Str]),
            // Quoted identifiers.
            (Sqlite, "[a';b]", &[QuotedIdent("[a';b]")]),
            (Sqlite, "\"we\"\"ird\"", &[QuotedIdent("\"we\"\"ird\"")]),
            (Postgres, "\"a;b\"", &[QuotedIdent("\"a;b\"")]),
            (MySql, "`a;b`", &[QuotedIdent("`a;b`")]),
            (Postgres, "[1]", &[Punct('['), Number, Punct(']')]),
            // Comments.
            (Sqlite, "a -- b;\nc", &[Word("a"), Word("c")]),
            (Postgres, "a -- b;\rc", &[Word("a"), Word("c")]),
            (Sqlite, "a /* ; */ b", &[Word("a"), Word("b")]),
            (Postgres, "a /* x /* ; */ ; */ b", &[Word("a"), Word("b")]),
            (
                Sqlite,
                "a /* x /* */ b */",
                &[Word("a"), Word("b"), Punct('*'), Punct('/')],
            ),
            (Sqlite, "a /* never", &[Word("a"), Unterminated]),
            (MySql, "a # b;\nc", &[Word("a"), Word("c")]),
            (Postgres, "a # b", &[Word("a"), Punct('#'), Word("b")]),
            (MySql, "1 --1", &[Number, Punct('-'), Punct('-'), Number]),
            (MySql, "1 -- 1", &[Number]),
            (MySql, "a /*! b */", &[Word("a"), ExecutableComment]),
            (MySql, "a /*M!100000 b */", &[Word("a"), ExecutableComment]),
            (MySql, "a /*+ hint */", &[Word("a")]),
            (Sqlite, "a /*! b */", &[Word("a")]),
        ];
        for (dialect, sql, expected) in cases {
            assert_eq!(tokens(sql, *dialect), *expected, "{dialect:?}: {sql}");
        }
    }

    #[test]
    fn offsets_point_at_each_token() {
        let lexemes = lex("SELECT 'a' ; x", Sqlite);
        let starts: Vec<usize> = lexemes.iter().map(|l| l.start).collect();
        assert_eq!(starts, [0, 7, 11, 13]);
    }

    #[test]
    fn dialects_are_named_as_the_panel_names_backends() {
        assert_eq!(Dialect::of(Some("postgresql")), Postgres);
        assert_eq!(Dialect::of(Some("mysql")), MySql);
        assert_eq!(Dialect::of(Some("sqlite")), Sqlite);
        assert_eq!(Dialect::of(None), Sqlite);
    }

    #[test]
    fn unterminated_and_odd_input_does_not_panic() {
        for sql in [
            "'",
            "\"abc",
            "/* never",
            "$",
            "é",
            "SELECT 'it\\'s'",
            "--",
            "[",
            "E'",
            "$a",
            "$a$",
            "/*",
            "/*!",
            "\\",
            "`",
            "#",
        ] {
            for dialect in [Sqlite, Postgres, MySql] {
                let _ = tokens(sql, dialect);
            }
        }
    }
}
