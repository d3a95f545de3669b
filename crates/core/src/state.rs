//! What panels keep for one request between its start and its stats, e.g. a trace context.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// Looks up request headers by name, case-insensitively.
pub trait HeaderLookup {
    /// The first value of header `name`, when it is text.
    fn header(&self, name: &str) -> Option<&str>;

    /// How many times header `name` appears. Defaults to one when [`header`](Self::header)
    /// finds it.
    fn header_count(&self, name: &str) -> usize {
        usize::from(self.header(name).is_some())
    }

    /// Every value of header `name` that is text, in order. Defaults to the first.
    fn header_values(&self, name: &str) -> Vec<&str> {
        self.header(name).into_iter().collect()
    }
}

/// The request as it starts, before the application handles it.
#[derive(Clone, Copy)]
pub struct RequestHead<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// Request path.
    pub path: &'a str,
    /// When the toolbar started handling it.
    pub started_at: SystemTime,
    headers: &'a dyn HeaderLookup,
}

impl fmt::Debug for RequestHead<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestHead")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("started_at", &self.started_at)
            .finish_non_exhaustive()
    }
}

impl<'a> RequestHead<'a> {
    /// A request head reading headers through `headers`.
    pub fn new(
        method: &'a str,
        path: &'a str,
        started_at: SystemTime,
        headers: &'a dyn HeaderLookup,
    ) -> Self {
        Self {
            method,
            path,
            started_at,
            headers,
        }
    }

    /// The first value of header `name`, when it is text. Values are not masked here.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.header(name)
    }

    /// How many times header `name` appears (e.g. a repeated `traceparent` is invalid).
    pub fn header_count(&self, name: &str) -> usize {
        self.headers.header_count(name)
    }

    /// Every value of header `name` that is text, in order (e.g. `tracestate` may come in
    /// several headers that together make one list).
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers.header_values(name)
    }

    /// The value of cookie `name`, from any `Cookie` header.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .header_values("cookie")
            .into_iter()
            .flat_map(|cookies| cookies.split(';'))
            .find_map(|pair| {
                let (key, value) = pair.trim().split_once('=')?;
                (key == name).then_some(value)
            })
    }
}

/// Typed values kept for one request.
///
/// Two kinds, each keyed by its type:
/// - what panels keep: set in [`crate::Panel::on_request`], read back with
///   [`crate::StatsContext::state`], and readable by the application's handlers through the
///   web framework integration (`actix_debug_toolbar::request_state`);
/// - what the application's handlers hand over to panels while they serve the request
///   ([`hand_over`](Self::hand_over), `actix_debug_toolbar::hand_over`), read by panels with
///   [`crate::StatsContext::handed`].
#[derive(Default)]
pub struct RequestState {
    values: HashMap<TypeId, Box<dyn Any + Send + Sync>>,
    handed: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

impl fmt::Debug for RequestState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestState")
            .field("values", &self.values.len())
            .field("handed", &self.handed_map().len())
            .finish()
    }
}

impl RequestState {
    /// Keeps `value`, replacing an earlier value of the same type.
    pub fn insert<T: Send + Sync + 'static>(&mut self, value: T) {
        self.values.insert(TypeId::of::<T>(), Box::new(value));
    }

    /// The value of type `T`, if one was kept.
    pub fn get<T: 'static>(&self) -> Option<&T> {
        self.values
            .get(&TypeId::of::<T>())
            .and_then(|v| v.downcast_ref::<T>())
    }

    /// Whether nothing was kept or handed over.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty() && self.handed_map().is_empty()
    }

    /// Hands `value` over to the panels of this request, replacing an earlier value of the
    /// same type. Panels read it with [`crate::StatsContext::handed`] once the response is
    /// ready.
    pub fn hand_over<T: Send + Sync + 'static>(&self, value: T) {
        self.handed_map().insert(TypeId::of::<T>(), Arc::new(value));
    }

    /// The value of type `T` a handler handed over, if any.
    pub fn handed<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        let value = self.handed_map().get(&TypeId::of::<T>())?.clone();
        value.downcast::<T>().ok()
    }

    fn handed_map(&self) -> std::sync::MutexGuard<'_, HashMap<TypeId, Arc<dyn Any + Send + Sync>>> {
        // A handler that panicked while inserting left the map whole: insertion is one call.
        self.handed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
