//! What the SQL panel works out once per distinct statement text — normal form, kind, table,
//! pretty-printed text, transaction boundary, whether EXPLAIN can run it — kept in a bounded
//! cache shared by every worker of the toolbar, since a page runs the same statements on every
//! request.
//!
//! The cache keeps at most [`MAX_STATEMENTS`] statements and [`MAX_BYTES`] of their text
//! (statement, normal form and pretty-printed form counted), dropping the least recently used
//! first; statements longer than [`MAX_CACHED_LEN`] are worked out on every request instead.

use std::sync::{Arc, Mutex};

use hashlink::LruCache;

use super::analysis::{collection, kind, normalize, pretty};
use super::explain::{self, Pools};
use super::lex::{Dialect, Token, tokens};
use super::{Backend, Explainability, TransactionOutcome};

/// Most statements kept.
pub(super) const MAX_STATEMENTS: usize = 512;
/// Most bytes of statement text kept, over all statements.
pub(super) const MAX_BYTES: usize = 2 * 1024 * 1024;
/// Longest statement kept.
pub(super) const MAX_CACHED_LEN: usize = 8 * 1024;

/// How a statement starts or ends a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Boundary {
    /// `BEGIN`, `START TRANSACTION`.
    Begin,
    /// `COMMIT`, `END`, `ROLLBACK` (not `ROLLBACK TO`).
    End(TransactionOutcome),
}

/// What is worked out once per distinct statement.
#[derive(Debug)]
pub(super) struct Statement {
    /// The backend it was worked out for.
    backend: Option<Backend>,
    pub(super) normalized: String,
    /// It takes bind parameters.
    pub(super) parameters: bool,
    pub(super) kind: String,
    /// The table it works on.
    pub(super) collection: Option<String>,
    pub(super) formatted: String,
    pub(super) boundary: Option<Boundary>,
    pub(super) explain: Explainability,
}

impl Statement {
    fn of(sql: &str, backend: Option<Backend>, pools: &Pools) -> Self {
        let name = backend.map(Backend::as_str);
        let dialect = Dialect::of(name);
        let tokens = tokens(sql, dialect);
        Self {
            backend,
            collection: collection(&tokens),
            normalized: normalize(sql, dialect),
            parameters: tokens.contains(&Token::Placeholder),
            formatted: pretty(sql),
            boundary: boundary(&tokens),
            explain: explain::explainability(sql, name, pools),
            kind: kind(sql, dialect),
        }
    }

    /// Bytes of text kept for `sql` and this statement.
    fn bytes(&self, sql: &str) -> usize {
        sql.len() + self.normalized.len() + self.formatted.len() + self.kind.len()
    }
}

/// Whether the statement whose tokens these are begins or ends a transaction.
fn boundary(tokens: &[Token<'_>]) -> Option<Boundary> {
    let mut words = tokens.iter().filter_map(|t| match t {
        Token::Word(w) => Some(*w),
        _ => None,
    });
    let first = words.next()?;
    let second = words.next().unwrap_or("");
    let is = |word: &str, keyword: &str| word.eq_ignore_ascii_case(keyword);
    if is(first, "BEGIN") || (is(first, "START") && is(second, "TRANSACTION")) {
        Some(Boundary::Begin)
    } else if is(first, "COMMIT") || is(first, "END") {
        Some(Boundary::End(TransactionOutcome::Commit))
    } else if is(first, "ROLLBACK") && !is(second, "TO") {
        Some(Boundary::End(TransactionOutcome::Rollback))
    } else {
        None
    }
}

/// The bounded cache of statements, shared by the clones of one SQL panel.
#[derive(Clone)]
pub(super) struct Statements(Arc<Mutex<Cache>>);

struct Cache {
    entries: LruCache<String, Arc<Statement>>,
    bytes: usize,
}

impl Default for Statements {
    fn default() -> Self {
        Self(Arc::new(Mutex::new(Cache {
            entries: LruCache::new_unbounded(),
            bytes: 0,
        })))
    }
}

impl std::fmt::Debug for Statements {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (len, bytes) = self.usage();
        f.debug_struct("Statements")
            .field("len", &len)
            .field("bytes", &bytes)
            .finish()
    }
}

impl Statements {
    /// `sql`, run on `backend`, worked out: from the cache, or now (and then kept).
    pub(super) fn get(&self, sql: &str, backend: Option<Backend>, pools: &Pools) -> Arc<Statement> {
        if let Some(found) = self
            .lock()
            .entries
            .get(sql)
            .filter(|s| s.backend == backend)
        {
            return found.clone();
        }
        // Worked out without the lock: another worker may do the same meanwhile, and the
        // later insert wins.
        let statement = Arc::new(Statement::of(sql, backend, pools));
        if sql.len() <= MAX_CACHED_LEN {
            let bytes = statement.bytes(sql);
            let mut cache = self.lock();
            if let Some(old) = cache.entries.insert(sql.to_owned(), statement.clone()) {
                cache.bytes -= old.bytes(sql);
            }
            cache.bytes += bytes;
            while cache.bytes > MAX_BYTES || cache.entries.len() > MAX_STATEMENTS {
                let Some((key, old)) = cache.entries.remove_lru() else {
                    break;
                };
                cache.bytes -= old.bytes(&key);
            }
        }
        statement
    }

    /// Statements kept, and the bytes of their text.
    pub(super) fn usage(&self) -> (usize, usize) {
        let cache = self.lock();
        (cache.entries.len(), cache.bytes)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_is_worked_out_once_and_shared() {
        let statements = Statements::default();
        let pools = Pools::default();
        let sql = "select id from users where id = ?";
        let first = statements.get(sql, Some(Backend::Sqlite), &pools);
        let again = statements.get(sql, Some(Backend::Sqlite), &pools);
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(first.kind, "SELECT");
        assert_eq!(first.collection.as_deref(), Some("users"));
        assert!(first.parameters);
        assert!(first.formatted.contains("SELECT"));
        let other = statements.get(sql, Some(Backend::Postgresql), &pools);
        assert!(
            !Arc::ptr_eq(&first, &other),
            "worked out again for another backend"
        );
        assert_eq!(statements.usage().0, 1);
    }

    #[test]
    fn the_cache_keeps_its_bounds_and_the_most_recent_statements() {
        let statements = Statements::default();
        let pools = Pools::default();
        for i in 0..MAX_STATEMENTS + 10 {
            statements.get(&format!("SELECT {i} FROM t"), None, &pools);
        }
        let (len, bytes) = statements.usage();
        assert_eq!(len, MAX_STATEMENTS);
        assert!(bytes <= MAX_BYTES);
        let newest = format!("SELECT {} FROM t", MAX_STATEMENTS + 9);
        assert!(statements.lock().entries.contains_key(newest.as_str()));
        assert!(!statements.lock().entries.contains_key("SELECT 0 FROM t"));

        let long = format!("SELECT '{}'", "x".repeat(4000));
        for i in 0..MAX_BYTES / 4000 + 10 {
            statements.get(&format!("{long} AS c{i}"), None, &pools);
        }
        assert!(statements.usage().1 <= MAX_BYTES);
        let huge = "x".repeat(MAX_CACHED_LEN + 1);
        let before = statements.usage();
        statements.get(&huge, None, &pools);
        assert_eq!(
            statements.usage(),
            before,
            "a statement over the limit is not kept"
        );
    }

    #[test]
    fn transaction_boundaries_are_read_from_the_first_words() {
        let of = |sql: &str| boundary(&tokens(sql, Dialect::Sqlite));
        assert_eq!(of("begin"), Some(Boundary::Begin));
        assert_eq!(of("START TRANSACTION"), Some(Boundary::Begin));
        assert_eq!(
            of("COMMIT"),
            Some(Boundary::End(TransactionOutcome::Commit))
        );
        assert_eq!(of("end"), Some(Boundary::End(TransactionOutcome::Commit)));
        assert_eq!(
            of("ROLLBACK"),
            Some(Boundary::End(TransactionOutcome::Rollback))
        );
        assert_eq!(of("ROLLBACK TO SAVEPOINT a"), None);
        assert_eq!(of("SELECT 1"), None);
    }
}
