//! A panel's stats as JSON text, serialized when first read.

use std::any::Any;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

/// A panel's stats as JSON text.
///
/// Stats a panel has just generated are kept as the panel made them and serialized the first
/// time anything reads their text (the panel is opened, the record is read from its store or
/// written to a store that keeps JSON); a request nobody looks at is never serialized. The
/// text is then kept, and the typed value dropped. Stats read back from a store are JSON text
/// from the start.
#[derive(Clone)]
pub struct StatsJson(Repr);

#[derive(Clone)]
enum Repr {
    Text(Box<RawValue>),
    Typed(Arc<Typed>),
}

/// Stats not serialized yet, and their text once they are.
struct Typed {
    value: Mutex<Option<Arc<dyn ToJson>>>,
    json: OnceLock<Result<Box<RawValue>, String>>,
}

/// A value that serializes to JSON text.
trait ToJson: Send + Sync {
    fn to_json(&self) -> Result<Box<RawValue>, serde_json::Error>;
}

impl<T: Serialize + Send + Sync> ToJson for T {
    fn to_json(&self) -> Result<Box<RawValue>, serde_json::Error> {
        serde_json::value::to_raw_value(self)
    }
}

impl Typed {
    fn json(&self) -> &Result<Box<RawValue>, String> {
        self.json.get_or_init(|| {
            let value = self
                .value
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .take();
            match value {
                Some(value) => value.to_json().map_err(|e| e.to_string()),
                None => Err("the stats were already taken".to_owned()),
            }
        })
    }
}

impl StatsJson {
    /// `null`: a panel whose stats are missing (see [`crate::PanelRecord::note`]).
    pub fn null() -> Self {
        Self(Repr::Text(Box::<RawValue>::default()))
    }

    /// `stats` serialized now.
    pub fn from_stats<T: Serialize + ?Sized>(stats: &T) -> Result<Self, serde_json::Error> {
        serde_json::value::to_raw_value(stats).map(|raw| Self(Repr::Text(raw)))
    }

    /// `stats`, serialized when first read; the panels' stats go into a record this way.
    /// Returns them also as [`Any`], for the panels that read them while the request is
    /// recorded.
    pub(crate) fn deferred<T: Serialize + Send + Sync + 'static>(
        stats: T,
    ) -> (Self, Arc<dyn Any + Send + Sync>) {
        let stats = Arc::new(stats);
        let typed = Typed {
            value: Mutex::new(Some(stats.clone())),
            json: OnceLock::new(),
        };
        (Self(Repr::Typed(Arc::new(typed))), stats)
    }

    /// Whether the stats are missing: `null`, or not yet serialized stats that are known to be
    /// there (this does not serialize them).
    pub fn is_null(&self) -> bool {
        match &self.0 {
            Repr::Text(raw) => raw.get() == "null",
            Repr::Typed(_) => false,
        }
    }

    /// Why the stats could not be serialized, when they could not (serializing them now if
    /// they were not yet).
    pub fn error(&self) -> Option<&str> {
        match &self.0 {
            Repr::Text(_) => None,
            Repr::Typed(typed) => typed.json().as_ref().err().map(String::as_str),
        }
    }

    /// The JSON text; `null` when the stats could not be serialized (see
    /// [`error`](Self::error)).
    pub fn get(&self) -> &str {
        match &self.0 {
            Repr::Text(raw) => raw.get(),
            Repr::Typed(typed) => typed.json().as_ref().map_or("null", |raw| raw.get()),
        }
    }

    /// Length of the JSON text in bytes.
    pub fn len(&self) -> usize {
        self.get().len()
    }

    /// Whether the JSON text is empty (never, for valid stats).
    pub fn is_empty(&self) -> bool {
        self.get().is_empty()
    }

    /// The stats read back into type `T`.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.get())
    }
}

impl Serialize for StatsJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Repr::Text(raw) => raw.serialize(serializer),
            Repr::Typed(typed) => match typed.json() {
                Ok(raw) => raw.serialize(serializer),
                Err(_) => serializer.serialize_unit(),
            },
        }
    }
}

impl<'de> Deserialize<'de> for StatsJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Box::<RawValue>::deserialize(deserializer).map(|raw| Self(Repr::Text(raw)))
    }
}

impl PartialEq for StatsJson {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl fmt::Debug for StatsJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.get())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn deferred_stats_are_serialized_once_when_read() {
        let (json, typed) = StatsJson::deferred(vec![1, 2, 3]);
        assert!(!json.is_null());
        assert_eq!(typed.downcast_ref::<Vec<i32>>(), Some(&vec![1, 2, 3]));
        let copy = json.clone();
        assert_eq!(json.get(), "[1,2,3]");
        assert_eq!(copy.get(), "[1,2,3]", "clones share the text");
        assert_eq!(json.parse::<Vec<i32>>().ok(), Some(vec![1, 2, 3]));
        assert_eq!(
            serde_json::to_string(&copy).ok().as_deref(),
            Some("[1,2,3]")
        );
        assert_eq!(json.error(), None);
    }

    #[test]
    fn stats_that_do_not_serialize_read_as_null_with_the_reason() {
        let unserializable: BTreeMap<(u8, u8), u8> = BTreeMap::from([((1, 2), 3)]);
        let (json, _) = StatsJson::deferred(unserializable);
        assert_eq!(json.get(), "null");
        assert!(
            json.error()
                .is_some_and(|e| e.contains("key must be a string"))
        );
        assert_eq!(serde_json::to_string(&json).ok().as_deref(), Some("null"));
    }

    #[test]
    fn text_round_trips() {
        let json = StatsJson::from_stats(&serde_json::json!({"a": 1})).expect("serializes");
        let back: StatsJson =
            serde_json::from_str(&serde_json::to_string(&json).expect("json")).expect("reads back");
        assert_eq!(back, json);
        assert!(StatsJson::null().is_null());
    }
}
