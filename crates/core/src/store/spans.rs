//! Spans other processes sent for a trace (a downstream service, the browser, another request
//! of this application), kept by trace id until a record of that trace is read.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::str::FromStr;
use std::sync::{Mutex, MutexGuard};

/// A trace id as received spans are kept under: 32 lower-case hex digits, not all zero.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TraceKey(String);

impl TraceKey {
    /// The 32 hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TraceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A string that is not a valid trace id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidTraceKey;

impl fmt::Display for InvalidTraceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a trace id is 32 hex digits, not all zero")
    }
}

impl std::error::Error for InvalidTraceKey {}

impl FromStr for TraceKey {
    type Err = InvalidTraceKey;

    /// Accepts upper- and lower-case hex digits; the key is lower case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let valid = s.len() == 32
            && s.bytes().all(|b| b.is_ascii_hexdigit())
            && s.bytes().any(|b| b != b'0');
        if valid {
            Ok(Self(s.to_ascii_lowercase()))
        } else {
            Err(InvalidTraceKey)
        }
    }
}

/// The received spans of one trace, each as the receiver serialized it, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceSpans {
    /// The spans, as JSON text.
    pub spans: Vec<String>,
    /// Spans of this trace that were not kept: past [`SpanLimits::max_spans_per_trace`] or
    /// [`SpanLimits::max_bytes_per_trace`].
    pub dropped: u64,
}

/// What [`Store::save_spans`](super::Store::save_spans) did with a batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpansSaved {
    /// Spans kept.
    pub kept: usize,
    /// Spans not kept because the trace was full.
    pub dropped: usize,
}

/// How many received spans a store keeps. Whole traces are evicted, oldest first, past
/// `max_traces`; within a trace, spans past either per-trace bound are dropped and counted.
/// At most `max_traces × max_bytes_per_trace` bytes are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpanLimits {
    /// Most traces kept. By default, 50.
    pub max_traces: usize,
    /// Most spans kept per trace. By default, 2,000.
    pub max_spans_per_trace: usize,
    /// Most bytes of serialized spans kept per trace. By default, 1 MiB.
    pub max_bytes_per_trace: usize,
}

impl Default for SpanLimits {
    fn default() -> Self {
        Self {
            max_traces: 50,
            max_spans_per_trace: 2_000,
            max_bytes_per_trace: 1 << 20,
        }
    }
}

impl SpanLimits {
    /// How many of `spans` fit a trace that already holds `count` spans of `bytes` bytes: the
    /// kept ones in order, and how many were dropped.
    pub fn admit(&self, count: usize, bytes: usize, spans: Vec<String>) -> (Vec<String>, usize) {
        let (mut count, mut bytes) = (count, bytes);
        let mut kept = Vec::with_capacity(spans.len());
        let mut dropped = 0;
        for span in spans {
            if count < self.max_spans_per_trace
                && bytes.saturating_add(span.len()) <= self.max_bytes_per_trace
            {
                count += 1;
                bytes += span.len();
                kept.push(span);
            } else {
                dropped += 1;
            }
        }
        (kept, dropped)
    }
}

/// Received spans in memory, bounded by [`SpanLimits`]: what [`InMemoryStore`] keeps, and what
/// every store keeps unless it shares them ([`Store::save_spans`]).
///
/// [`InMemoryStore`]: super::InMemoryStore
/// [`Store::save_spans`]: super::Store::save_spans
#[derive(Debug, Default)]
pub struct SpanBuffer {
    limits: SpanLimits,
    inner: Mutex<Traces>,
}

#[derive(Debug, Default)]
struct Traces {
    by_id: HashMap<TraceKey, Kept>,
    /// Trace ids, oldest first.
    order: VecDeque<TraceKey>,
}

#[derive(Debug, Default)]
struct Kept {
    spans: Vec<String>,
    bytes: usize,
    dropped: u64,
}

impl SpanBuffer {
    /// A buffer within `limits`.
    pub fn new(limits: SpanLimits) -> Self {
        Self {
            limits,
            inner: Mutex::default(),
        }
    }

    /// The limits it keeps to.
    pub fn limits(&self) -> &SpanLimits {
        &self.limits
    }

    fn traces(&self) -> MutexGuard<'_, Traces> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds `spans` to trace `trace`, evicting the oldest traces past the limit.
    pub fn save(&self, trace: &TraceKey, spans: Vec<String>) -> SpansSaved {
        let mut traces = self.traces();
        if !traces.by_id.contains_key(trace) {
            while traces.order.len() >= self.limits.max_traces.max(1) {
                if let Some(oldest) = traces.order.pop_front() {
                    traces.by_id.remove(&oldest);
                }
            }
            traces.order.push_back(trace.clone());
        }
        let kept = traces.by_id.entry(trace.clone()).or_default();
        let (admitted, dropped) = self.limits.admit(kept.spans.len(), kept.bytes, spans);
        let saved = SpansSaved {
            kept: admitted.len(),
            dropped,
        };
        kept.bytes += admitted.iter().map(String::len).sum::<usize>();
        kept.spans.extend(admitted);
        kept.dropped += dropped as u64;
        saved
    }

    /// The spans kept for `trace`.
    pub fn get(&self, trace: &TraceKey) -> TraceSpans {
        self.traces()
            .by_id
            .get(trace)
            .map(|kept| TraceSpans {
                spans: kept.spans.clone(),
                dropped: kept.dropped,
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    fn key(n: u8) -> TraceKey {
        format!("{n:032x}").parse().unwrap()
    }

    #[test]
    fn trace_keys_are_32_hex_digits_not_all_zero_kept_lower_case() {
        let upper = "4BF92F3577B34DA6A3CE929D0E0E4736";
        assert_eq!(
            upper.parse::<TraceKey>().unwrap().as_str(),
            upper.to_ascii_lowercase()
        );
        for bad in [
            "",
            "0".repeat(32).as_str(),
            "xyz",
            &"a".repeat(31),
            &"g".repeat(32),
        ] {
            assert_eq!(bad.parse::<TraceKey>(), Err(InvalidTraceKey), "{bad:?}");
        }
    }

    #[test]
    fn a_full_trace_drops_and_counts_what_does_not_fit_by_count_or_bytes() {
        let buffer = SpanBuffer::new(SpanLimits {
            max_traces: 10,
            max_spans_per_trace: 3,
            max_bytes_per_trace: 10,
        });
        let saved = buffer.save(&key(1), vec!["aaaa".into(), "bbbb".into(), "ccc".into()]);
        assert_eq!(
            saved,
            SpansSaved {
                kept: 2,
                dropped: 1
            }
        );
        let saved = buffer.save(&key(1), vec!["dd".into(), "e".into()]);
        assert_eq!(
            saved,
            SpansSaved {
                kept: 1,
                dropped: 1
            },
            "three spans at most"
        );
        assert_eq!(
            buffer.get(&key(1)),
            TraceSpans {
                spans: vec!["aaaa".into(), "bbbb".into(), "dd".into()],
                dropped: 2,
            }
        );
    }

    #[test]
    fn the_oldest_traces_are_evicted_past_the_limit() {
        let buffer = SpanBuffer::new(SpanLimits {
            max_traces: 2,
            ..SpanLimits::default()
        });
        for n in 1..=3 {
            buffer.save(&key(n), vec![format!("span {n}")]);
        }
        buffer.save(&key(2), vec!["again".into()]);
        assert_eq!(buffer.get(&key(1)), TraceSpans::default());
        assert_eq!(buffer.get(&key(2)).spans, ["span 2", "again"]);
        assert_eq!(buffer.get(&key(3)).spans, ["span 3"]);
    }
}
