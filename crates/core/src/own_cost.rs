//! What the toolbar itself spent on a request, apart from the application: recording while
//! the handler ran, the panels' stats, the shell and the injection.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::cpu::CpuTime;
use crate::panel::ServerTiming;

/// Wall and CPU time of one part of the toolbar's work, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Spent {
    /// Wall time.
    pub wall_ms: f64,
    /// CPU time of the thread that did it, when the platform reports it.
    pub cpu_ms: Option<f64>,
}

impl Spent {
    fn add(self, other: Spent) -> Spent {
        Spent {
            wall_ms: self.wall_ms + other.wall_ms,
            cpu_ms: self.cpu_ms.zip(other.cpu_ms).map(|(a, b)| a + b),
        }
    }
}

/// Measures one part of the toolbar's work: wall time, and the thread's CPU time.
#[derive(Debug, Clone, Copy)]
pub struct Stopwatch {
    wall: Instant,
    cpu: Option<Duration>,
}

impl Stopwatch {
    /// Starts measuring.
    pub fn start() -> Self {
        Self {
            wall: Instant::now(),
            cpu: CpuTime::thread_total(),
        }
    }

    /// What was spent since [`start`](Self::start) on this thread.
    pub fn stop(&self) -> Spent {
        let cpu = self
            .cpu
            .zip(CpuTime::thread_total())
            .map(|(before, after)| millis(after.saturating_sub(before)));
        Spent {
            wall_ms: millis(self.wall.elapsed()),
            cpu_ms: cpu,
        }
    }
}

/// What the toolbar itself spent on one request, part by part.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolbarCost {
    /// Recording what the application did (`ToolbarLayer`'s callbacks, while the handler ran,
    /// on whichever thread the application's code ran). Counted as CPU time as well: the
    /// callbacks never wait.
    pub recording_ms: f64,
    /// Running the panels and building the record.
    pub stats: Spent,
    /// Rendering the shell.
    pub render: Spent,
    /// Splicing the shell into the page (and decoding and encoding it again when compressed).
    pub injection: Spent,
}

impl ToolbarCost {
    /// Everything the toolbar spent.
    pub fn total(&self) -> Spent {
        let recording = Spent {
            wall_ms: self.recording_ms,
            cpu_ms: Some(self.recording_ms),
        };
        recording
            .add(self.stats)
            .add(self.render)
            .add(self.injection)
    }

    /// The `Server-Timing` entry of the toolbar's own time.
    pub fn server_timing(&self) -> ServerTiming {
        ServerTiming {
            name: "toolbar",
            duration_ms: self.total().wall_ms,
            description: "Debug toolbar (own time)".into(),
        }
    }
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_total_adds_every_part_and_counts_recording_as_cpu() {
        let cost = ToolbarCost {
            recording_ms: 0.25,
            stats: Spent {
                wall_ms: 0.5,
                cpu_ms: Some(0.5),
            },
            render: Spent {
                wall_ms: 0.125,
                cpu_ms: Some(0.125),
            },
            injection: Spent {
                wall_ms: 0.125,
                cpu_ms: Some(0.0625),
            },
        };
        assert_eq!(
            cost.total(),
            Spent {
                wall_ms: 1.0,
                cpu_ms: Some(0.9375)
            }
        );
        assert_eq!(
            cost.server_timing().to_header_value(),
            "toolbar;dur=1.000;desc=\"Debug toolbar (own time)\""
        );
    }

    #[test]
    fn cpu_is_unknown_when_a_part_does_not_know_it() {
        let cost = ToolbarCost {
            stats: Spent {
                wall_ms: 1.0,
                cpu_ms: None,
            },
            ..ToolbarCost::default()
        };
        assert_eq!(cost.total().cpu_ms, None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_stopwatch_measures_cpu_work() {
        let watch = Stopwatch::start();
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = std::hint::black_box(x.wrapping_add(i * i));
        }
        let spent = watch.stop();
        assert!(spent.wall_ms > 0.0, "{x}");
        assert!(spent.cpu_ms.is_some_and(|cpu| cpu > 0.0));
    }
}
