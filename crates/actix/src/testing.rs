//! Assertions on what the toolbar saw, for an application's own tests.
//!
//! Run a request through the application with a [`TestToolbar`] and check its record with
//! typed access — the Rust answer to Django's `assertNumQueries`:
//!
//! ```no_run
//! use actix_web::{App, test};
//! use actix_debug_toolbar::testing::TestToolbar;
//!
//! # async fn users_page() {
//! let toolbar = TestToolbar::new();
//! let app = test::init_service(App::new().wrap(toolbar.middleware())/* .configure(routes) */).await;
//! let recorded = toolbar.call(&app, test::TestRequest::get().uri("/users")).await;
//! recorded
//!     .assert_max_queries(3)
//!     .assert_no_n_plus_one()
//!     .assert_no_error_logs()
//!     .assert_within_budgets();
//! # }
//! ```
//!
//! Each assertion panics with a message listing what went over (the queries, the repeated
//! statements, the error records), like `assert!` does: these are test helpers.

use std::net::SocketAddr;
use std::sync::{Arc, Once};

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use debug_toolbar_core::{InMemoryStore, Panel, RequestRecord};
use tracing_subscriber::prelude::*;

use crate::{DebugToolbar, ToolbarConfig, ToolbarConfigBuilder};

/// A toolbar for tests: switched on, with a store of its own, serving the requests sent through
/// [`TestToolbar::call`].
#[derive(Debug, Clone)]
pub struct TestToolbar {
    toolbar: DebugToolbar,
    store: Arc<InMemoryStore>,
}

impl Default for TestToolbar {
    fn default() -> Self {
        Self::new()
    }
}

impl TestToolbar {
    /// A test toolbar with every registered panel.
    pub fn new() -> Self {
        Self::with_config(ToolbarConfig::builder())
    }

    /// A test toolbar with `config` (e.g. with `.panel(BudgetsPanel::new()…)` for the budgets
    /// the application uses); it is switched on and given a store of its own.
    ///
    /// Also installs, once per test binary, a global `tracing` subscriber with the toolbar's
    /// layer, unless one is already installed (then add [`DebugToolbar::layer`] to it).
    pub fn with_config(config: ToolbarConfigBuilder) -> Self {
        let store = Arc::new(InMemoryStore::new(1000));
        let toolbar = DebugToolbar::new(config.enabled(true).store(store.clone()).build());
        static SUBSCRIBER: Once = Once::new();
        SUBSCRIBER.call_once(|| {
            let _ = tracing_subscriber::registry()
                .with(toolbar.layer())
                .with(toolbar.gate(tracing_subscriber::filter::LevelFilter::OFF))
                .try_init();
        });
        Self { toolbar, store }
    }

    /// The middleware to wrap the application in.
    pub fn middleware(&self) -> DebugToolbar {
        self.toolbar.clone()
    }

    /// Sends `request` (as a client on loopback) through `app` and returns what the toolbar
    /// recorded with the response's status.
    ///
    /// # Panics
    ///
    /// When the toolbar did not serve the request: it is not wrapped around `app`, or its
    /// `show_toolbar` callback refused.
    pub async fn call<S, B>(&self, app: &S, request: TestRequest) -> Recorded
    where
        S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
        B: MessageBody,
    {
        let request = request
            .peer_addr(SocketAddr::from(([127, 0, 0, 1], 40_000)))
            .to_request();
        let response = actix_web::test::call_service(app, request).await;
        let status = response.status();
        let id = response
            .headers()
            .get(crate::TOOLBAR_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let Some(id) = id else {
            panic!(
                "the toolbar did not serve this request: wrap the app in TestToolbar::middleware()"
            );
        };
        let record = debug_toolbar_core::Store::get(&*self.store, id).await;
        match record {
            Ok(Some(record)) => Recorded { status, record },
            _ => panic!("the toolbar served request {id} but did not store it"),
        }
    }
}

/// A request the toolbar recorded, with assertions on it.
#[derive(Debug, Clone)]
pub struct Recorded {
    status: StatusCode,
    record: Arc<RequestRecord>,
}

impl Recorded {
    /// The response status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Everything the toolbar kept of the request.
    pub fn record(&self) -> &RequestRecord {
        &self.record
    }

    /// The stats of panel `P`.
    ///
    /// # Panics
    ///
    /// When the panel did not run for this request.
    #[track_caller]
    pub fn stats<P: Panel>(&self) -> P::Stats {
        match self.record.stats::<P>() {
            Some(Ok(stats)) => stats,
            Some(Err(e)) => panic!("the {} panel's stats could not be read: {e}", P::ID),
            None => panic!("the {} panel did not run for this request", P::ID),
        }
    }

    fn what(&self) -> String {
        format!("{} {}", self.record.method, self.record.path)
    }

    /// Asserts that the request ran at most `max` SQL queries; the message lists them.
    #[cfg(feature = "sql")]
    #[track_caller]
    pub fn assert_max_queries(&self, max: usize) -> &Self {
        let sql = self.stats::<crate::panels::SqlPanel>();
        if sql.total_count > max {
            let queries: Vec<String> = sql
                .queries
                .iter()
                .map(|q| format!("  #{} {:.3} ms  {}", q.index, q.duration_ms, q.sql))
                .collect();
            panic!(
                "{} ran {} SQL queries, more than {max}:\n{}",
                self.what(),
                sql.total_count,
                queries.join("\n")
            );
        }
        self
    }

    /// Asserts that the request ran no N+1 query pattern; the message names each one.
    #[cfg(feature = "sql")]
    #[track_caller]
    pub fn assert_no_n_plus_one(&self) -> &Self {
        let sql = self.stats::<crate::panels::SqlPanel>();
        if !sql.n_plus_one.is_empty() {
            let found: Vec<String> = sql
                .n_plus_one
                .iter()
                .map(|n| format!("  {}× from {}: {}", n.count, n.origin, n.sql))
                .collect();
            panic!("{} ran N+1 queries:\n{}", self.what(), found.join("\n"));
        }
        self
    }

    /// Asserts that the request logged nothing at `ERROR`; the message lists the records.
    #[cfg(feature = "logging")]
    #[track_caller]
    pub fn assert_no_error_logs(&self) -> &Self {
        let logs = self.stats::<crate::panels::LoggingPanel>();
        let errors: Vec<String> = logs
            .records
            .iter()
            .filter(|r| r.level == crate::panels::LogLevel::Error)
            .map(|r| format!("  {}: {}", r.target, r.message))
            .collect();
        if !errors.is_empty() {
            panic!("{} logged errors:\n{}", self.what(), errors.join("\n"));
        }
        self
    }

    /// Asserts that the request rendered template `name`; the message lists what it rendered.
    #[cfg(feature = "templates")]
    #[track_caller]
    pub fn assert_rendered(&self, name: &str) -> &Self {
        let templates = self.stats::<crate::panels::TemplatesPanel>();
        if !templates.renders.iter().any(|r| r.name == name) {
            let rendered: Vec<&str> = templates.renders.iter().map(|r| r.name.as_str()).collect();
            panic!(
                "{} did not render {name:?}; it rendered {rendered:?}",
                self.what()
            );
        }
        self
    }

    /// Asserts that the request kept to its route's budgets (the same check that marks the
    /// toolbar's handle in the browser); the message names each broken budget and its
    /// offenders.
    #[cfg(feature = "budgets")]
    #[track_caller]
    pub fn assert_within_budgets(&self) -> &Self {
        let budgets = self.stats::<crate::panels::BudgetsPanel>();
        if !budgets.within() {
            let broken: Vec<String> = budgets
                .broken
                .iter()
                .map(|b| {
                    let offenders: Vec<String> =
                        b.offenders.iter().map(|o| format!("    {o}")).collect();
                    format!("  over {}: {}\n{}", b.limit, b.detail, offenders.join("\n"))
                })
                .collect();
            panic!(
                "{} broke the budget of {}:\n{}",
                self.what(),
                budgets.route.as_deref().unwrap_or("its route"),
                broken.join("\n")
            );
        }
        self
    }
}
