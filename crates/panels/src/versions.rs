use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use debug_toolbar_core::{NameValue, Panel, StatsContext, Template, register_panel};
use serde::{Deserialize, Serialize};

/// Versions of the compiler, the framework, the toolbar and the application.
///
/// They do not change while the toolbar runs: the panel works them out once and every
/// request's record shares them.
#[derive(Debug, Default)]
pub struct VersionsPanel {
    last: Mutex<Option<Arc<VersionsStats>>>,
}

/// What the Versions panel records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionsStats {
    /// Component and version, e.g. `rustc` and `rustc 1.95.0 (…)`.
    pub entries: Vec<NameValue>,
    /// Ids of the panels that run.
    pub panels: Vec<String>,
    /// Cargo features of the toolbar that are switched on.
    pub features: Vec<String>,
}

impl VersionsStats {
    /// Whether these are the stats of the toolbar `cx` belongs to.
    fn describe(&self, cx: &StatsContext<'_>) -> bool {
        let app = cx.app();
        let named = app.app.iter().chain(&app.framework);
        self.entries.len() == named.clone().count() + 2
            && named
                .zip(&self.entries)
                .all(|((name, version), e)| &e.name == name && &e.value == version)
            && self.features == app.features
            && self
                .panels
                .iter()
                .map(String::as_str)
                .eq(cx.panel_ids().iter().copied())
    }

    fn of(cx: &StatsContext<'_>) -> Self {
        let app = cx.app();
        let mut entries = Vec::new();
        if let Some((name, version)) = &app.app {
            entries.push(NameValue {
                name: name.clone(),
                value: version.clone(),
            });
        }
        if let Some((name, version)) = &app.framework {
            entries.push(NameValue {
                name: name.clone(),
                value: version.clone(),
            });
        }
        entries.push(NameValue {
            name: "actix-debug-toolbar".to_owned(),
            value: env!("CARGO_PKG_VERSION").to_owned(),
        });
        entries.push(NameValue {
            name: "rustc".to_owned(),
            value: env!("DEBUG_TOOLBAR_RUSTC_VERSION").to_owned(),
        });
        VersionsStats {
            entries,
            panels: cx.panel_ids().iter().map(|id| (*id).to_owned()).collect(),
            features: app.features.clone(),
        }
    }
}

impl Panel for VersionsPanel {
    type Stats = Arc<VersionsStats>;
    const ID: &'static str = "versions";

    fn title(&self) -> Cow<'static, str> {
        "Versions".into()
    }

    fn nav_subtitle(&self, stats: &Arc<VersionsStats>) -> Option<String> {
        stats
            .entries
            .iter()
            .find(|e| e.name != "rustc")
            .map(|e| format!("{} {}", e.name, e.value))
    }

    fn generate_stats(&self, cx: &StatsContext<'_>) -> Arc<VersionsStats> {
        let mut last = self
            .last
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match last.as_ref() {
            Some(stats) if stats.describe(cx) => stats.clone(),
            _ => last.insert(Arc::new(VersionsStats::of(cx))).clone(),
        }
    }

    fn template(&self) -> Template {
        Template::new(
            "panels/versions.html",
            include_str!("../templates/versions.html"),
        )
    }
}

register_panel!(VersionsPanel::default());
