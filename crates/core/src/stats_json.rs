//! A panel's stats as JSON text.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// A panel's stats as JSON text, kept exactly as serialized: building, measuring and storing a
/// record then costs one serialization per panel, and reading the stats back gives the panel's
/// own type.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StatsJson(Box<RawValue>);

impl StatsJson {
    /// `null`: a panel whose stats are missing (see [`crate::PanelRecord::note`]).
    pub fn null() -> Self {
        Self(Box::<RawValue>::default())
    }

    /// `stats` serialized.
    pub fn from_stats<T: Serialize + ?Sized>(stats: &T) -> Result<Self, serde_json::Error> {
        serde_json::value::to_raw_value(stats).map(Self)
    }

    /// Whether the stats are `null`.
    pub fn is_null(&self) -> bool {
        self.0.get() == "null"
    }

    /// The JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }

    /// Length of the JSON text in bytes.
    pub fn len(&self) -> usize {
        self.0.get().len()
    }

    /// Whether the JSON text is empty (never, for valid stats).
    pub fn is_empty(&self) -> bool {
        self.0.get().is_empty()
    }

    /// The stats read back into type `T`.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.0.get())
    }
}

impl PartialEq for StatsJson {
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get()
    }
}

impl fmt::Debug for StatsJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.get())
    }
}
