use std::borrow::Cow;

use debug_toolbar_core::{NameValue, Panel, StatsContext, Template, register_panel};
use serde::{Deserialize, Serialize};

/// Versions of the compiler, the framework, the toolbar and the application.
#[derive(Debug, Clone, Copy, Default)]
pub struct VersionsPanel;

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

impl Panel for VersionsPanel {
    type Stats = VersionsStats;
    const ID: &'static str = "versions";

    fn title(&self) -> Cow<'static, str> {
        "Versions".into()
    }

    fn nav_subtitle(&self, stats: &VersionsStats) -> Option<String> {
        stats
            .entries
            .iter()
            .find(|e| e.name != "rustc")
            .map(|e| format!("{} {}", e.name, e.value))
    }

    fn generate_stats(&self, cx: &StatsContext<'_>) -> VersionsStats {
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

    fn template(&self) -> Template {
        Template::new(
            "panels/versions.html",
            include_str!("../templates/versions.html"),
        )
    }
}

register_panel!(VersionsPanel);
