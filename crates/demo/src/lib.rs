//! The demo application's routes, database and custom panel, shared by `main` and the tests.

pub mod cost;
mod outgoing;
mod page_weight;

use std::time::Duration;

use actix_debug_toolbar::panels::RecordingTera;
use actix_debug_toolbar::panels::{Budget, BudgetsPanel, SqlPanel};
use actix_debug_toolbar::{ToolbarConfig, ToolbarConfigBuilder};
use actix_web::http::header;
use actix_web::{HttpResponse, web};
use bytes::Bytes;
use serde::Serialize;
use sqlx::ConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

pub use page_weight::{PageWeightPanel, PageWeightStats};

/// Shared application state: the database and the page templates.
#[derive(Clone, Debug)]
pub struct State {
    pool: SqlitePool,
    /// Rendered through the toolbar's wrapper, so that the Templates panel shows each render.
    pages: std::sync::Arc<RecordingTera>,
}

/// Why the demo could not start.
pub type StartError = Box<dyn std::error::Error + Send + Sync>;

impl State {
    /// Opens an in-memory SQLite database, creates and seeds its tables, and loads the pages.
    pub async fn new() -> Result<web::Data<State>, StartError> {
        let options = "sqlite::memory:"
            .parse::<SqliteConnectOptions>()?
            .log_statements(log::LevelFilter::Debug)
            .log_slow_statements(log::LevelFilter::Warn, Duration::from_millis(250));
        // An in-memory database lives as long as its one connection: keep it forever.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await?;
        seed(&pool).await?;
        let mut pages = tera::Tera::new();
        pages.add_raw_templates([
            ("base.html", include_str!("../templates/base.html")),
            ("index.html", include_str!("../templates/index.html")),
            ("users.html", include_str!("../templates/users.html")),
        ])?;
        Ok(web::Data::new(State {
            pool,
            pages: std::sync::Arc::new(RecordingTera::new(pages)),
        }))
    }

    /// The database pool.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Renders page `name`; the render is recorded at the handler's line.
    #[track_caller]
    fn render(&self, name: &str, context: &tera::Context) -> HttpResponse {
        match self.pages.render(name, context) {
            Ok(html) => HttpResponse::Ok()
                .content_type("text/html; charset=utf-8")
                .body(html),
            Err(e) => {
                tracing::error!(template = name, "render failed: {e}");
                HttpResponse::InternalServerError().body("template error")
            }
        }
    }
}

async fn seed(pool: &SqlitePool) -> Result<(), sqlx::Error> {
    sqlx::query(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL)",
    )
    .execute(pool)
    .await?;
    sqlx::query(
        "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id), title TEXT NOT NULL)",
    )
    .execute(pool)
    .await?;
    sqlx::query(
        "INSERT INTO users (name, email) VALUES
            ('Ada Lovelace', 'ada@example.com'), ('Alan Turing', 'alan@example.com'),
            ('Grace Hopper', 'grace@example.com'), ('Edsger Dijkstra', 'edsger@example.com'),
            ('Barbara Liskov', 'barbara@example.com'), ('Donald Knuth', 'don@example.com')",
    )
    .execute(pool)
    .await?;
    sqlx::query(
        "INSERT INTO posts (user_id, title) VALUES
            (1, 'Notes on the Analytical Engine'), (2, 'On Computable Numbers'),
            (2, 'Computing Machinery and Intelligence'), (3, 'The first compiler'),
            (4, 'Go To Statement Considered Harmful'), (5, 'Data abstraction'),
            (6, 'Literate programming'), (6, 'The Art of Computer Programming')",
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// The demo's toolbar configuration: its name and version, the SQL panel with the demo's pool
/// for EXPLAIN, and its budgets. `main` adds the `DEBUG_TOOLBAR_*` variables.
pub fn toolbar_config(state: &State) -> ToolbarConfigBuilder {
    ToolbarConfig::builder()
        .app(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))
        .panel(SqlPanel::new().with_sqlite(state.pool().clone()))
        .panel(budgets())
}

/// The demo's performance budgets: `/users` breaks its own on purpose (its N+1).
pub fn budgets() -> BudgetsPanel {
    BudgetsPanel::new()
        .route("/users", Budget::new().max_queries(3).no_n_plus_one())
        .fallback(
            Budget::new()
                .max_duration(Duration::from_millis(500))
                .no_error_logs(),
        )
}

/// Registers the demo's routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(index))
        .route("/users", web::get().to(users))
        .route("/users/{id}", web::get().to(user))
        .route("/api/users", web::get().to(api_users))
        .route("/download", web::get().to(download))
        .route("/stream", web::get().to(stream))
        .route("/precompressed", web::get().to(precompressed))
        .route("/panic", web::get().to(panic))
        .route("/outgoing", web::get().to(outgoing::outgoing))
        .route("/interop/trace-context", web::post().to(outgoing::interop));
}

#[derive(Debug, Serialize)]
struct User {
    id: i64,
    name: String,
    email: String,
}

#[tracing::instrument(skip(pool))]
async fn load_users(pool: &SqlitePool) -> Result<Vec<User>, sqlx::Error> {
    let rows: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT id, name, email FROM users ORDER BY id")
            .fetch_all(pool)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, email)| User { id, name, email })
        .collect())
}

fn database_error(e: sqlx::Error) -> HttpResponse {
    tracing::error!("database error: {e}");
    HttpResponse::InternalServerError().body("database error")
}

/// The home page; its script calls `/api/users`.
async fn index(state: web::Data<State>) -> HttpResponse {
    log::info!("rendering the home page");
    let count: Result<(i64,), _> = sqlx::query_as("SELECT COUNT(*) FROM users")
        .fetch_one(&state.pool)
        .await;
    let count = match count {
        Ok((count,)) => count,
        Err(e) => return database_error(e),
    };
    let mut context = tera::Context::new();
    context.insert("user_count", &count);
    state.render("index.html", &context)
}

#[derive(Debug, Serialize)]
struct UserRow {
    id: i64,
    name: String,
    posts: i64,
}

/// Every user with their number of posts: one query per user, the N+1 the SQL panel flags.
#[tracing::instrument(skip(state))]
async fn users(state: web::Data<State>) -> HttpResponse {
    let users = match load_users(&state.pool).await {
        Ok(users) => users,
        Err(e) => return database_error(e),
    };
    let mut rows = Vec::with_capacity(users.len());
    for user in users {
        let posts: Result<(i64,), _> =
            sqlx::query_as("SELECT COUNT(*) FROM posts WHERE user_id = ?")
                .bind(user.id)
                .fetch_one(&state.pool)
                .await;
        match posts {
            Ok((posts,)) => rows.push(UserRow {
                id: user.id,
                name: user.name,
                posts,
            }),
            Err(e) => return database_error(e),
        }
    }
    tracing::debug!(users = rows.len(), "loaded users and their post counts");
    let mut context = tera::Context::new();
    context.insert("users", &rows);
    state.render("users.html", &context)
}

/// One user as JSON; 404 when there is none.
async fn user(state: web::Data<State>, id: web::Path<i64>) -> HttpResponse {
    let row: Result<Option<(i64, String, String)>, _> =
        sqlx::query_as("SELECT id, name, email FROM users WHERE id = ?")
            .bind(id.into_inner())
            .fetch_optional(&state.pool)
            .await;
    match row {
        Ok(Some((id, name, email))) => HttpResponse::Ok().json(User { id, name, email }),
        Ok(None) => {
            tracing::warn!("no such user");
            HttpResponse::NotFound().json(serde_json::json!({ "error": "no such user" }))
        }
        Err(e) => database_error(e),
    }
}

/// Every user as JSON.
async fn api_users(state: web::Data<State>) -> HttpResponse {
    match load_users(&state.pool).await {
        Ok(users) => HttpResponse::Ok().json(users),
        Err(e) => database_error(e),
    }
}

/// An HTML file sent as a download: the toolbar must leave it alone.
async fn download() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"report.html\"",
        ))
        .body("<html><body><h1>Report</h1></body></html>")
}

/// An HTML page streamed in chunks of unknown total length: passed through untouched.
async fn stream() -> HttpResponse {
    let chunks = [
        "<html><body>",
        "<h1>Streamed</h1>",
        "<p>chunk</p>",
        "</body></html>",
    ];
    let body = futures_util::stream::iter(
        chunks
            .into_iter()
            .map(|chunk| Ok::<_, std::convert::Infallible>(Bytes::from_static(chunk.as_bytes()))),
    );
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .streaming(body)
}

#[derive(Debug, serde::Deserialize)]
struct EncodingQuery {
    encoding: Option<String>,
}

/// A page compressed ahead of time (`?encoding=gzip|br|zstd`, gzip by default), as a static file
/// server sends `.html.gz` files: the toolbar decodes it, injects itself and compresses it again.
async fn precompressed(query: web::Query<EncodingQuery>) -> HttpResponse {
    use std::io::Write;
    let page = "<!doctype html><html><head><title>Pre-compressed</title></head><body>\
                <h1>Pre-compressed</h1><p>This page left the handler already compressed.</p>\
                </body></html>";
    let encoding = query.encoding.as_deref().unwrap_or("gzip");
    let body = match encoding {
        "gzip" => {
            let mut w = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            w.write_all(page.as_bytes()).and_then(|()| w.finish())
        }
        "br" => {
            let mut w = brotli::CompressorWriter::new(Vec::new(), 4096, 11, 22);
            w.write_all(page.as_bytes()).map(|()| w.into_inner())
        }
        "zstd" => zstd::stream::encode_all(page.as_bytes(), 19),
        _ => {
            return HttpResponse::BadRequest()
                .content_type("text/plain; charset=utf-8")
                .body("encoding is one of gzip, br, zstd");
        }
    };
    match body {
        Ok(body) => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CONTENT_ENCODING, encoding))
            .body(body),
        Err(e) => {
            tracing::error!("compressing failed: {e}");
            HttpResponse::InternalServerError().body("compressing failed")
        }
    }
}

/// A handler that panics: the toolbar answers with a debug page for the clients it serves.
async fn panic() -> HttpResponse {
    tracing::warn!("about to panic on purpose");
    panic!("the demo's /panic route panicked on purpose");
}
