//! A panel of your own: typed stats, a badge, a template, and data handed over from a handler.
//!
//! The `/cart` handler hands the cart it built to the toolbar with
//! `actix_debug_toolbar::hand_over`; `CartPanel` reads it back with `cx.handed::<Cart>()`,
//! reads the Timer panel's typed stats, and puts a badge on the toolbar's handle when the cart
//! is large.
//!
//! Run with `cargo run -p debug-toolbar-examples --example custom_panel` and open
//! <http://127.0.0.1:8080/cart>, then the toolbar's "Cart" panel.

use std::borrow::Cow;

use actix_debug_toolbar::panels::TimerPanel;
use actix_debug_toolbar::{
    Badge, BadgeLevel, DebugToolbar, Panel, StatsContext, Template, ToolbarConfig, register_panel,
};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde::{Deserialize, Serialize};

/// What the handler hands over to the panel.
#[derive(Debug)]
struct Cart {
    items: Vec<&'static str>,
}

/// Shows the cart of the request and how long the page took.
#[derive(Debug)]
struct CartPanel;

/// What the cart panel records: its typed stats, stored with the request as JSON.
#[derive(Debug, Serialize, Deserialize)]
struct CartStats {
    items: Vec<String>,
    total_ms: Option<f64>,
}

impl Panel for CartPanel {
    type Stats = CartStats;
    const ID: &'static str = "cart";

    fn title(&self) -> Cow<'static, str> {
        "Cart".into()
    }
    // Read the Timer panel's stats: it must run first.
    fn dependencies(&self) -> &'static [&'static str] {
        &[TimerPanel::ID]
    }
    fn generate_stats(&self, cx: &StatsContext<'_>) -> CartStats {
        let items = cx.handed::<Cart>().map_or_else(Vec::new, |cart| {
            cart.items.iter().map(|i| (*i).to_owned()).collect()
        });
        let total_ms = cx.stats::<TimerPanel>().map(|t| t.total_ms);
        CartStats { items, total_ms }
    }
    fn nav_subtitle(&self, stats: &CartStats) -> Option<String> {
        Some(format!("{} items", stats.items.len()))
    }
    fn badge(&self, stats: &CartStats) -> Option<Badge> {
        (stats.items.len() > 2).then(|| Badge::new(BadgeLevel::Warning, "big cart"))
    }
    // Tera 2, autoescaped; `stats` is `CartStats` as JSON.
    fn template(&self) -> Template {
        Template::new(
            "panels/cart.html",
            "<ul>{% for item in stats.items %}<li>{{ item }}</li>{% endfor %}</ul>\
             {% if stats.total_ms %}<p>{{ stats.total_ms }} ms</p>{% endif %}",
        )
    }
}

// Every toolbar built from now on shows the panel.
register_panel!(CartPanel);

async fn cart(req: HttpRequest) -> HttpResponse {
    let cart = Cart {
        items: vec!["tea", "milk", "<b>biscuits</b>"],
    };
    let page = format!("<html><body>{} items</body></html>", cart.items.len());
    actix_debug_toolbar::hand_over(&req, cart);
    HttpResponse::Ok().content_type("text/html").body(page)
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let toolbar = DebugToolbar::new(ToolbarConfig::from_env());
    toolbar.init_tracing()?;
    HttpServer::new(move || {
        App::new()
            .wrap(toolbar.clone())
            .route("/cart", web::get().to(cart))
    })
    .bind(("127.0.0.1", 8080))?
    .run()
    .await?;
    Ok(())
}
