//! The framework-free toolbar: ordered panels, renderer and store.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};
use std::time::UNIX_EPOCH;

use crate::context::{AppInfo, EarlierStats, RequestInfo, ResponseInfo, StatsContext, Timing};
use crate::editor::Editor;
use crate::error::BuildError;
use crate::own_cost::ToolbarCost;
use crate::panel::{ActionFuture, DynPanel, Panel, PanelFactory, ServerTiming, is_valid_id};
use crate::problem::{Problem, ProblemKind};
use crate::record::{PanelRecord, RECORD_FORMAT_VERSION, RecordId, RequestKind, RequestRecord};
use crate::recording::{Recording, RecordingLimits};
use crate::render::Renderer;
use crate::state::{RequestHead, RequestState};
use crate::stats_json::StatsJson;
use crate::store::{GuardedStore, InMemoryStore, Store, StoreHealth, StoreLimits};

/// The cookie with which a browser switches panels on (`+id`) and off (`-id`) for its own
/// requests, over [`ToolbarSettings::disabled_panels`]: e.g. `debug-toolbar-panels=-sql|+otel`.
/// The toolbar's checkboxes set it.
pub const PANELS_COOKIE: &str = "debug-toolbar-panels";

/// The panels switched off for one request, when its browser changed the configured ones.
struct SwitchedOff(BTreeSet<String>);

/// Settings of the framework-free toolbar.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ToolbarSettings {
    /// How much one request may record.
    pub recording_limits: RecordingLimits,
    /// Saves in flight, deadline and back-off of the store.
    pub store_limits: StoreLimits,
    /// Largest serialized record, in bytes; the largest panels' stats are dropped (with a
    /// note) until a record fits, when the record is first read or written as JSON (see
    /// [`RequestRecord::settle`]). By default, 4 MiB.
    pub max_record_bytes: usize,
    /// Ids of panels that are listed but do not run unless switched on. By default, none.
    pub disabled_panels: BTreeSet<String>,
    /// The application and framework, for the Versions panel.
    pub app: AppInfo,
    /// Ids of panels in the order the toolbar lists them; panels not named follow in the order
    /// they run, and unknown ids are ignored. Panels still run in dependency order. By
    /// default, none: the order they run in (dependencies first, then by id).
    pub panel_order: Vec<String>,
    /// Where the `file:line` locations the toolbar shows link to. By default, none: they are
    /// plain text.
    pub editor: Option<Editor>,
}

impl Default for ToolbarSettings {
    fn default() -> Self {
        Self {
            recording_limits: RecordingLimits::default(),
            store_limits: StoreLimits::default(),
            max_record_bytes: 4 * 1024 * 1024,
            disabled_panels: BTreeSet::new(),
            app: AppInfo::default(),
            panel_order: Vec::new(),
            editor: None,
        }
    }
}

/// Builds a [`Toolbar`].
#[derive(Default)]
#[must_use]
pub struct ToolbarBuilder {
    panels: Vec<Box<dyn DynPanel>>,
    registered: bool,
    store: Option<Arc<dyn Store>>,
    settings: ToolbarSettings,
}

impl std::fmt::Debug for ToolbarBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolbarBuilder")
            .field(
                "panels",
                &self.panels.iter().map(|p| p.id()).collect::<Vec<_>>(),
            )
            .field("registered", &self.registered)
            .field("store", &self.store)
            .field("settings", &self.settings)
            .finish()
    }
}

impl ToolbarBuilder {
    /// Adds a panel. Registered panels (see [`crate::register_panel!`]) are added too, unless
    /// [`without_registered_panels`](Self::without_registered_panels) is called; a panel added
    /// here replaces the registered panel with the same id (e.g. one configured with a pool).
    pub fn panel(self, panel: impl Panel) -> Self {
        self.boxed_panel(Box::new(panel))
    }

    /// Adds a panel whose type is already erased.
    #[doc(hidden)]
    pub fn boxed_panel(mut self, panel: Box<dyn DynPanel>) -> Self {
        self.panels.push(panel);
        self
    }

    /// Leaves out the panels registered with [`crate::register_panel!`]. By default, they are
    /// all included.
    pub fn without_registered_panels(mut self) -> Self {
        self.registered = false;
        self
    }

    /// Where records are kept. By default, an [`InMemoryStore`] of 25 records. The toolbar
    /// uses it through a [`GuardedStore`] with [`ToolbarSettings::store_limits`].
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// Recording limits, store limits, record size and disabled panels.
    pub fn settings(mut self, settings: ToolbarSettings) -> Self {
        self.settings = settings;
        self
    }

    /// Orders the panels by dependencies, then by id, and prepares their templates.
    pub fn build(self) -> Result<Toolbar, BuildError> {
        let mut panels = self.panels;
        if self.registered {
            let explicit: HashSet<&'static str> = panels.iter().map(|p| p.id()).collect();
            panels.extend(
                inventory::iter::<PanelFactory>
                    .into_iter()
                    .map(PanelFactory::make)
                    .filter(|p| !explicit.contains(p.id())),
            );
        }
        let panels = order_panels(panels)?;
        let renderer = Renderer::new(&panels, self.settings.editor.clone())?;
        let panel_ids = panels.iter().map(|p| p.id()).collect();
        let store = self
            .store
            .unwrap_or_else(|| Arc::new(InMemoryStore::default()));
        let guarded = Arc::new(
            GuardedStore::new(store, self.settings.store_limits)
                .record_limit(self.settings.max_record_bytes),
        );
        Ok(Toolbar {
            panels,
            panel_ids,
            renderer,
            store: guarded.clone(),
            guarded,
            settings: self.settings,
            failures: LogOnce::new(256),
        })
    }
}

/// Sorts panels so that each runs after its dependencies; ties go by id.
fn order_panels(panels: Vec<Box<dyn DynPanel>>) -> Result<Vec<Box<dyn DynPanel>>, BuildError> {
    let mut by_id: BTreeMap<&'static str, Box<dyn DynPanel>> = BTreeMap::new();
    for panel in panels {
        let id = panel.id();
        if !is_valid_id(id) {
            return Err(BuildError::InvalidPanelId(id.to_owned()));
        }
        if by_id.insert(id, panel).is_some() {
            return Err(BuildError::DuplicatePanel(id.to_owned()));
        }
    }
    // Dependencies on panels that are not present (not compiled in) are ignored.
    let deps: BTreeMap<&'static str, Vec<&'static str>> = by_id
        .iter()
        .map(|(id, p)| {
            let present = p
                .dependencies()
                .iter()
                .copied()
                .filter(|d| by_id.contains_key(d))
                .collect();
            (*id, present)
        })
        .collect();
    let mut ordered = Vec::with_capacity(by_id.len());
    let mut done: HashSet<&'static str> = HashSet::new();
    while done.len() < deps.len() {
        let ready: Vec<&'static str> = deps
            .iter()
            .filter(|(id, ds)| !done.contains(*id) && ds.iter().all(|d| done.contains(d)))
            .map(|(id, _)| *id)
            .collect();
        let Some(&next) = ready.first() else {
            let cycle = deps
                .keys()
                .filter(|id| !done.contains(*id))
                .map(|id| (*id).to_owned())
                .collect();
            return Err(BuildError::DependencyCycle(cycle));
        };
        done.insert(next);
        if let Some(panel) = by_id.remove(next) {
            ordered.push(panel);
        }
    }
    Ok(ordered)
}

/// What [`Toolbar::record`] made of a request.
#[derive(Debug)]
pub struct RecordOutcome {
    /// The record, already handed to the store by the caller's choice.
    pub record: RequestRecord,
    /// The panels' `Server-Timing` entries.
    pub server_timing: Vec<ServerTiming>,
    /// Other headers the panels add to the response.
    pub response_headers: Vec<(&'static str, String)>,
}

/// A panel panicked in one of its hooks; the panel was set aside for that request and the
/// failure logged once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PanelPanicked {
    /// The panel's id.
    pub panel: &'static str,
    /// The hook that panicked, e.g. `generate_stats`.
    pub hook: &'static str,
}

impl std::fmt::Display for PanelPanicked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "panel {:?} panicked in {}", self.panel, self.hook)
    }
}

/// Panels set aside for one request because a hook panicked, with the note shown instead.
struct SetAside(BTreeMap<&'static str, String>);

/// The note shown in place of a panel whose `hook` panicked.
fn panicked_note(hook: &str) -> String {
    format!(
        "This panel failed: it panicked in {hook}, so it was set aside for this request; the \
         server log says where. The other panels are unaffected."
    )
}

impl std::error::Error for PanelPanicked {}

/// The finished request, as [`Toolbar::record`] takes it.
#[derive(Debug, Clone, Copy)]
pub struct FinishedRequest<'a> {
    /// The record's id.
    pub id: RecordId,
    /// The request.
    pub request: &'a RequestInfo,
    /// The response.
    pub response: &'a ResponseInfo,
    /// Its timing.
    pub timing: &'a Timing,
    /// What `ToolbarLayer` recorded.
    pub recording: &'a Recording,
    /// What the panels kept when the request started ([`Toolbar::start_request`]).
    pub state: &'a RequestState,
    /// Whether `ToolbarLayer` was attached.
    pub layer_attached: bool,
}

/// The toolbar without a web framework: ordered panels, their templates and the store.
pub struct Toolbar {
    panels: Vec<Box<dyn DynPanel>>,
    panel_ids: Vec<&'static str>,
    renderer: Renderer,
    /// `guarded`, as the store callers use.
    store: Arc<dyn Store>,
    guarded: Arc<GuardedStore>,
    settings: ToolbarSettings,
    failures: LogOnce<String>,
}

impl std::fmt::Debug for Toolbar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Toolbar")
            .field("panels", &self.panel_ids)
            .field("store", &self.store)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Toolbar {
    /// A builder with the registered panels and an in-memory store.
    pub fn builder() -> ToolbarBuilder {
        ToolbarBuilder {
            registered: true,
            ..ToolbarBuilder::default()
        }
    }

    /// Panel ids in the order they run.
    pub fn panel_ids(&self) -> &[&'static str] {
        &self.panel_ids
    }

    /// The panel of type `P` this toolbar runs, e.g. for a route that needs its configuration.
    pub fn panel<P: Panel>(&self) -> Option<&P> {
        self.panels
            .iter()
            .find_map(|p| p.as_any().downcast_ref::<P>())
    }

    /// The renderer.
    pub fn renderer(&self) -> &Renderer {
        &self.renderer
    }

    /// The store, guarded: saves in flight are bounded, calls have a deadline, and a failing
    /// store is left alone for a while (see [`GuardedStore`]).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// What the store did so far: saves stored, dropped and failed, and its last failure.
    pub fn store_health(&self) -> StoreHealth {
        self.guarded.health()
    }

    /// The settings.
    pub fn settings(&self) -> &ToolbarSettings {
        &self.settings
    }

    /// Logs `message` at ERROR the first time `key` is seen; returns whether it did.
    pub fn log_failure_once(&self, key: &str, message: &dyn std::fmt::Display) -> bool {
        let first = self.failures.first(key.to_owned());
        if first {
            tracing::error!(target: "debug_toolbar", "{message} (logged once)");
        }
        first
    }

    /// Runs action `action` of panel `panel_id` over a stored record; `None` when the record
    /// or the panel has no such thing.
    pub fn action(
        &self,
        record: &RequestRecord,
        panel_id: &str,
        action: &str,
        params: &[(String, String)],
    ) -> Option<ActionFuture> {
        let panel = self.panels.iter().find(|p| p.id() == panel_id)?;
        let part = record.panel(panel_id)?;
        if part.stats.is_null() {
            return None;
        }
        panel.run_action(action, &part.stats, params)
    }

    /// What is wrong with a stored request: every panel's [`Panel::problems`] over its stats,
    /// each marked with the panel's id, and a `5xx` status. A panel whose stored stats cannot
    /// be read back, or that panics, is skipped and the failure logged once.
    ///
    /// [`Panel::problems`]: crate::Panel::problems
    pub fn problems(&self, record: &RequestRecord) -> Vec<Problem> {
        let mut problems = Vec::new();
        if record.status >= 500 {
            let mut problem = Problem::new(
                ProblemKind::ServerError,
                format!(
                    "{} {} answered {}",
                    record.method, record.path, record.status
                ),
            );
            problem.panel = "response".to_owned();
            problems.push(problem);
        }
        for part in &record.panels {
            if part.stats.is_null() {
                continue;
            }
            let Some(panel) = self.panels.iter().find(|p| p.id() == part.id) else {
                continue;
            };
            let failure = match catch_unwind(AssertUnwindSafe(|| panel.problems(&part.stats))) {
                Ok(Ok(found)) => {
                    problems.extend(found.into_iter().map(|mut problem| {
                        problem.panel = part.id.to_string();
                        problem
                    }));
                    continue;
                }
                Ok(Err(e)) => format!("its stored stats could not be read: {e}"),
                Err(_) => "it panicked".to_owned(),
            };
            self.log_failure_once(
                &format!("problems:{}", part.id),
                &format_args!("panel {} reported no problems: {failure}", part.id),
            );
        }
        problems
    }

    /// Lets every enabled panel look at a request as it starts ([`Panel::on_request`]); a
    /// panel that panics is set aside for this request (a note takes its place) and the panic
    /// is logged once.
    pub fn start_request(&self, head: &RequestHead<'_>) -> RequestState {
        let mut state = RequestState::default();
        let switched = head.cookie(PANELS_COOKIE).map(|s| self.switched_off(s));
        let off = switched.as_ref().unwrap_or(&self.settings.disabled_panels);
        let mut set_aside = BTreeMap::new();
        for panel in &self.panels {
            if off.contains(panel.id()) {
                continue;
            }
            let started = catch_unwind(AssertUnwindSafe(|| panel.on_request(head, &mut state)));
            if started.is_err() {
                self.panicked(panel.id(), "on_request");
                set_aside.insert(panel.id(), panicked_note("on_request"));
            }
        }
        if let Some(switched) = switched {
            state.insert(SwitchedOff(switched));
        }
        if !set_aside.is_empty() {
            state.insert(SetAside(set_aside));
        }
        state
    }

    /// Logs, once per panel and hook, that `hook` of panel `id` panicked.
    fn panicked(&self, panel: &'static str, hook: &'static str) {
        let failure = PanelPanicked { panel, hook };
        self.log_failure_once(&format!("panel:{panel}:{hook}"), &failure);
    }

    /// The configured switched-off panels changed by the `+id|-id` items of a
    /// [`PANELS_COOKIE`]; ids of panels this toolbar does not have are ignored.
    fn switched_off(&self, switches: &str) -> BTreeSet<String> {
        let mut off = self.settings.disabled_panels.clone();
        for item in switches.split('|') {
            let (on, id) = match item.split_at_checked(1) {
                Some(("+", id)) => (true, id),
                Some(("-", id)) => (false, id),
                _ => continue,
            };
            if !self.panel_ids.contains(&id) {
                continue;
            }
            if on {
                off.remove(id);
            } else {
                off.insert(id.to_owned());
            }
        }
        off
    }

    /// The panels switched off for the request whose state this is.
    fn off<'a>(&'a self, state: &'a RequestState) -> &'a BTreeSet<String> {
        state
            .get::<SwitchedOff>()
            .map_or(&self.settings.disabled_panels, |s| &s.0)
    }

    /// Runs every enabled panel over a finished request and builds its record, then calls
    /// each enabled panel's [`Panel::on_record`] with it.
    ///
    /// One failure policy: a panel that panics in any hook, or whose stats cannot be
    /// serialized, is set aside for this request — its stats are left out and a note says why
    /// — and the other panels are recorded as usual. Panics are logged once per panel and hook.
    ///
    /// The panels' stats are serialized when the record is first read or written as JSON,
    /// where [`RequestRecord::settle`] also applies [`ToolbarSettings::max_record_bytes`]; the
    /// toolbar's store does both.
    pub fn record(&self, finished: &FinishedRequest<'_>) -> RecordOutcome {
        let mut earlier: Vec<EarlierStats> = Vec::with_capacity(self.panels.len());
        let mut parts = Vec::with_capacity(self.panels.len());
        let mut server_timing = Vec::new();
        let mut response_headers = Vec::new();
        let off = self.off(finished.state);
        let set_aside = finished.state.get::<SetAside>();
        for (index, panel) in self.panels.iter().enumerate() {
            let title = match catch_unwind(AssertUnwindSafe(|| panel.title())) {
                Ok(title) => title,
                Err(_) => {
                    self.panicked(panel.id(), "title");
                    parts.push(set_aside_record(panel.id(), panicked_note("title")));
                    continue;
                }
            };
            if let Some(note) = set_aside.and_then(|s| s.0.get(panel.id())) {
                parts.push(PanelRecord {
                    title,
                    ..set_aside_record(panel.id(), note.clone())
                });
                continue;
            }
            if off.contains(panel.id()) {
                parts.push(PanelRecord {
                    id: Cow::Borrowed(panel.id()),
                    title,
                    subtitle: None,
                    stats: StatsJson::null(),
                    note: Some(
                        "This panel is switched off. Tick its box in the toolbar to record it \
                         from the next request on."
                            .to_owned(),
                    ),
                    badge: None,
                    switched_off: true,
                });
                continue;
            }
            let cx = StatsContext {
                request: finished.request,
                response: finished.response,
                timing: finished.timing,
                recording: finished.recording,
                app: &self.settings.app,
                panel_ids: &self.panel_ids,
                earlier: &earlier,
                state: finished.state,
            };
            let generated = catch_unwind(AssertUnwindSafe(|| panel.generate(&cx)));
            let generated = match generated {
                Ok(generated) => generated,
                Err(_) => {
                    self.panicked(panel.id(), "generate_stats");
                    parts.push(PanelRecord {
                        title,
                        ..set_aside_record(panel.id(), panicked_note("generate_stats"))
                    });
                    continue;
                }
            };
            parts.push(PanelRecord {
                id: Cow::Borrowed(panel.id()),
                title,
                subtitle: generated.subtitle,
                stats: generated.json,
                note: None,
                badge: generated.badge,
                switched_off: false,
            });
            // Most panels add neither.
            if !generated.server_timing.is_empty() {
                server_timing.extend(generated.server_timing);
            }
            if !generated.response_headers.is_empty() {
                response_headers.extend(generated.response_headers);
            }
            earlier.push(EarlierStats {
                panel: index,
                panel_type: panel.panel_type(),
                stats: generated.typed,
            });
        }
        let mut record = RequestRecord {
            format_version: RECORD_FORMAT_VERSION,
            id: finished.id,
            started_at_unix_ms: finished
                .timing
                .started_at
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            method: finished.request.method.clone(),
            path: finished.request.path.clone(),
            status: finished.response.status,
            duration_ms: finished.timing.wall.as_secs_f64() * 1000.0,
            kind: RequestKind::of(
                finished.request.header("sec-fetch-dest"),
                finished.request.header("sec-fetch-mode"),
                finished.request.header("x-requested-with"),
            ),
            layer_attached: finished.layer_attached,
            panels: parts,
            toolbar: ToolbarCost::default(),
        };
        let order = &self.settings.panel_order;
        if !order.is_empty() {
            let rank = |id: &str| order.iter().position(|o| o == id).unwrap_or(order.len());
            record.panels.sort_by_key(|p| rank(&p.id));
        }
        // The record is complete: a panel failing now cannot be set aside from it any more,
        // so its failure is logged and the others still run.
        for ran in &earlier {
            let Some(panel) = self.panels.get(ran.panel) else {
                continue;
            };
            let done = catch_unwind(AssertUnwindSafe(|| {
                panel.on_record(ran.stats.as_ref(), &record, finished);
            }));
            if done.is_err() {
                self.panicked(panel.id(), "on_record");
            }
        }
        RecordOutcome {
            record,
            server_timing,
            response_headers,
        }
    }
}

/// The record of a panel set aside for one request: no stats, `note` in their place.
fn set_aside_record(id: &'static str, note: String) -> PanelRecord {
    PanelRecord {
        id: Cow::Borrowed(id),
        title: Cow::Borrowed(id),
        subtitle: None,
        stats: StatsJson::null(),
        note: Some(note),
        badge: None,
        switched_off: false,
    }
}

/// Remembers which keys were already seen, up to a bound, so a message is logged once.
#[derive(Debug)]
pub struct LogOnce<K> {
    seen: Mutex<HashSet<K>>,
    capacity: usize,
}

impl<K: std::hash::Hash + Eq> LogOnce<K> {
    /// Remembers at most `capacity` keys; past that, nothing more is logged.
    pub fn new(capacity: usize) -> Self {
        Self {
            seen: Mutex::new(HashSet::new()),
            capacity,
        }
    }

    /// Whether `key` is seen for the first time (and there was room to remember it).
    pub fn first(&self, key: K) -> bool {
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if seen.len() >= self.capacity || seen.contains(&key) {
            return false;
        }
        seen.insert(key)
    }
}
