//! The page the toolbar's cost is measured on: a small but typical page (three sqlx SQLite
//! queries, a Tera 2 page of about 5 KB with inheritance, one `info!` line) and a 23-byte
//! `text/plain` answer, each served in one of the [`Setup`]s the measurements compare.
//!
//! `scripts/callgrind.sh` runs it through the `page-cost` binary, and the `served` benchmark
//! of this crate through criterion. Requests are sent in-process (actix-web's test
//! utilities) for instruction counts and criterion, or over a socket (`page-cost … serve`)
//! for wrk.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::str::FromStr;

use actix_debug_toolbar::otel::{OtelConfig, OtelPanel, Protocol};
use actix_debug_toolbar::panels::RecordingTera;
use actix_debug_toolbar::{DebugToolbar, ToolbarConfig};
use actix_web::dev::{Service, ServiceResponse};
use actix_web::test::{self, TestRequest};
use actix_web::{HttpResponse, web};
use serde::Serialize;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::{ConnectOptions, Row};
use tracing_subscriber::prelude::*;

use crate::StartError;

/// The client every measured request comes from.
pub const CLIENT: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 40_000);

/// The path of the HTML page.
pub const PAGE: &str = "/page";
/// The path of the HTML page rendered through [`RecordingTera`].
pub const RECORDED_PAGE: &str = "/page/recorded";
/// The path of the `text/plain` answer.
pub const PLAIN: &str = "/plain";
/// The `text/plain` answer: 23 bytes.
const PLAIN_BODY: &str = "hello from the handler\n";

/// Where OTLP export goes in [`Setup::Export`]: port 9 (discard) is closed on loopback, so
/// every export is refused.
pub const DEAD_ENDPOINT: &str = "http://127.0.0.1:9/v1/traces";

/// How the application is set up for a measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    /// The application alone: no middleware, no toolbar layer.
    NoToolbar,
    /// Wrapped in a toolbar switched off.
    Off,
    /// Wrapped in a toolbar that does not serve the client (not in its allowed networks).
    Skipped,
    /// Every request served: the default panels and the OpenTelemetry panel, no export.
    Served,
    /// As `Served`, exporting over OTLP HTTP/protobuf (batch) to [`DEAD_ENDPOINT`].
    Export,
}

impl Setup {
    /// Every setup, in the order the measurements list them.
    pub const ALL: [Setup; 5] = [
        Setup::NoToolbar,
        Setup::Off,
        Setup::Skipped,
        Setup::Served,
        Setup::Export,
    ];

    /// The name on the command line and in tables.
    pub fn name(self) -> &'static str {
        match self {
            Setup::NoToolbar => "no-toolbar",
            Setup::Off => "off",
            Setup::Skipped => "skipped",
            Setup::Served => "served",
            Setup::Export => "export",
        }
    }

    /// Whether the toolbar serves the client in this setup.
    pub fn serves(self) -> bool {
        matches!(self, Setup::Served | Setup::Export)
    }
}

impl FromStr for Setup {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Setup::ALL
            .into_iter()
            .find(|setup| setup.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Setup::ALL.iter().map(|s| s.name()).collect();
                format!("unknown setup {s:?}; one of {}", names.join(", "))
            })
    }
}

/// The page's database and templates.
#[derive(Debug)]
pub struct PageState {
    pool: SqlitePool,
    pages: RecordingTera,
}

#[derive(Debug, Serialize)]
struct Member {
    id: i64,
    name: String,
    email: String,
    joined: String,
}

impl PageState {
    /// An in-memory SQLite database with 32 members and 60 posts, and the page's templates.
    pub async fn new() -> Result<web::Data<PageState>, StartError> {
        let options = "sqlite::memory:"
            .parse::<SqliteConnectOptions>()?
            .log_statements(log::LevelFilter::Debug);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await?;
        sqlx::query(
            "CREATE TABLE members (id INTEGER PRIMARY KEY, name TEXT NOT NULL, \
             email TEXT NOT NULL, joined TEXT NOT NULL)",
        )
        .execute(&pool)
        .await?;
        sqlx::query(
            "CREATE TABLE posts (id INTEGER PRIMARY KEY, member_id INTEGER NOT NULL, \
             title TEXT NOT NULL)",
        )
        .execute(&pool)
        .await?;
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 32) \
             INSERT INTO members (name, email, joined) \
             SELECT 'Member ' || i, 'member' || i || '@example.com', date('2024-01-01', '+' || i || ' days') FROM n",
        )
        .execute(&pool)
        .await?;
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60) \
             INSERT INTO posts (member_id, title) SELECT 1 + i % 32, 'Post number ' || i FROM n",
        )
        .execute(&pool)
        .await?;
        let mut pages = tera::Tera::new();
        pages.add_raw_templates([
            (
                "cost/base.html",
                include_str!("../templates/cost/base.html"),
            ),
            (
                "cost/page.html",
                include_str!("../templates/cost/page.html"),
            ),
        ])?;
        Ok(web::Data::new(PageState {
            pool,
            pages: RecordingTera::new(pages),
        }))
    }

    /// The database pool.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

/// Registers the page's routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(PAGE, web::get().to(page))
        .route(RECORDED_PAGE, web::get().to(recorded_page))
        .route(PLAIN, web::get().to(plain));
}

/// The members page: three queries, one render with Tera, one log line.
async fn page(state: web::Data<PageState>) -> HttpResponse {
    tracing::info!("rendering the members page");
    answer(members_page(&state, Render::Plain).await)
}

/// The same page rendered through the toolbar's [`RecordingTera`], so that the Templates
/// panel also shows the render's context.
async fn recorded_page(state: web::Data<PageState>) -> HttpResponse {
    tracing::info!("rendering the members page");
    answer(members_page(&state, Render::Recorded).await)
}

/// How the page is rendered.
#[derive(Clone, Copy)]
enum Render {
    /// With Tera itself.
    Plain,
    /// Through [`RecordingTera`].
    Recorded,
}

fn answer(page: Result<String, StartError>) -> HttpResponse {
    match page {
        Ok(html) => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(html),
        Err(e) => HttpResponse::InternalServerError().body(e.to_string()),
    }
}

async fn members_page(state: &PageState, render: Render) -> Result<String, StartError> {
    let members: Vec<Member> =
        sqlx::query("SELECT id, name, email, joined FROM members ORDER BY id LIMIT 32")
            .fetch_all(&state.pool)
            .await?
            .into_iter()
            .map(|row| Member {
                id: row.get(0),
                name: row.get(1),
                email: row.get(2),
                joined: row.get(3),
            })
            .collect();
    let (post_count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM posts")
        .fetch_one(&state.pool)
        .await?;
    let posts: Vec<(String,)> =
        sqlx::query_as("SELECT title FROM posts WHERE member_id = ? ORDER BY id DESC LIMIT 3")
            .bind(1_i64)
            .fetch_all(&state.pool)
            .await?;
    let mut context = tera::Context::new();
    context.insert("member_count", &members.len());
    context.insert("post_count", &post_count);
    context.insert("author", &members.first().map_or("", |m| m.name.as_str()));
    context.insert("members", &members);
    let posts: Vec<String> = posts.into_iter().map(|(title,)| title).collect();
    context.insert("posts", &posts);
    Ok(match render {
        Render::Plain => tera::Tera::render(&state.pages, "cost/page.html", &context)?,
        Render::Recorded => state.pages.render("cost/page.html", &context)?,
    })
}

/// A 23-byte `text/plain` answer.
async fn plain() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(PLAIN_BODY)
}

/// The toolbar of `setup` (`None` for [`Setup::NoToolbar`]), and the OpenTelemetry panel in it
/// (to shut its exporter down at the end).
pub fn toolbar(setup: Setup) -> Result<(Option<DebugToolbar>, Option<OtelPanel>), StartError> {
    let otel = match setup {
        Setup::NoToolbar | Setup::Off => None,
        Setup::Skipped | Setup::Served => Some(OtelConfig::builder().service_name("page-cost")),
        Setup::Export => Some(
            OtelConfig::builder()
                .service_name("page-cost")
                .otlp(Protocol::HttpProtobuf, DEAD_ENDPOINT),
        ),
    }
    .map(|config| OtelPanel::new(config.build()));
    let config = match setup {
        Setup::NoToolbar => return Ok((None, None)),
        Setup::Off => ToolbarConfig::builder().enabled(false),
        // TEST-NET-1 only: the loopback client is not allowed.
        Setup::Skipped => ToolbarConfig::builder().enabled(true).vars(|name| {
            (name == "DEBUG_TOOLBAR_ALLOWED_IPS").then(|| "192.0.2.1/32".to_owned())
        })?,
        Setup::Served | Setup::Export => ToolbarConfig::builder().enabled(true),
    };
    let config = match &otel {
        Some(otel) => config.panel(otel.clone()),
        None => config,
    };
    Ok((Some(DebugToolbar::try_new(config.build())?), otel))
}

/// Installs the global subscriber an application would: `INFO` and above formatted (here into
/// nothing, so that output costs no system calls), plus the toolbar's layer and gate when
/// there is a toolbar switched on.
pub fn init_tracing(toolbar: Option<&DebugToolbar>) -> Result<(), StartError> {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    let console = Targets::new().with_default(LevelFilter::INFO);
    let toolbar = toolbar.filter(|t| t.is_enabled());
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(io::sink)
                .with_filter(console.clone()),
        )
        .with(toolbar.map(|t| t.layer()))
        .with(toolbar.map(|t| t.gate(console)))
        .try_init()?;
    Ok(())
}

/// `GET path` from [`CLIENT`], as actix-web's test utilities send it.
pub fn request(path: &str) -> actix_http::Request {
    TestRequest::get().uri(path).peer_addr(CLIENT).to_request()
}

/// Sends one request and reads the whole body; the body's length.
pub async fn fetch<S, B>(app: &S, path: &str) -> usize
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: actix_web::body::MessageBody,
{
    let res = test::call_service(app, request(path)).await;
    test::read_body(res).await.len()
}
