//! CPU time of the current thread.

use std::ops::Sub;
use std::time::Duration;

/// CPU time of a thread: the precise total, and its split into user and system time.
///
/// The split comes from the kernel's per-thread usage counters, which advance at
/// scheduler-tick resolution (often 1–4 ms); the total is read from the thread's CPU clock
/// and is precise to the microsecond.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTime {
    /// Time spent in user mode (tick resolution).
    pub user: Duration,
    /// Time spent in the kernel on the thread's behalf (tick resolution).
    pub system: Duration,
    /// Both together, from the thread's CPU clock.
    pub total: Duration,
}

impl CpuTime {
    /// CPU time the calling thread has used so far, where the platform reports it per thread.
    pub fn thread_now() -> Option<Self> {
        imp::thread_now()
    }

    /// User plus system time, precisely.
    pub fn total(&self) -> Duration {
        self.total
    }

    /// The calling thread's total CPU time so far (precise), when the platform reports it;
    /// cheaper than [`thread_now`](Self::thread_now), which also splits user and system time.
    pub fn thread_total() -> Option<Duration> {
        imp::thread_total()
    }
}

impl Sub for CpuTime {
    type Output = CpuTime;

    fn sub(self, earlier: CpuTime) -> CpuTime {
        CpuTime {
            user: self.user.saturating_sub(earlier.user),
            system: self.system.saturating_sub(earlier.system),
            total: self.total.saturating_sub(earlier.total),
        }
    }
}

impl std::ops::AddAssign for CpuTime {
    fn add_assign(&mut self, other: CpuTime) {
        self.user += other.user;
        self.system += other.system;
        self.total += other.total;
    }
}

#[cfg(target_os = "linux")]
mod imp {
    use super::CpuTime;
    use std::time::Duration;

    #[expect(
        unsafe_code,
        reason = "getrusage is the one way to read a thread's CPU time"
    )]
    pub(super) fn thread_now() -> Option<CpuTime> {
        let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
        // SAFETY: `usage` points to writable memory of the right type; RUSAGE_THREAD only
        // reads the calling thread's counters. The value is read only when the call succeeds.
        let usage = unsafe {
            if libc::getrusage(libc::RUSAGE_THREAD, usage.as_mut_ptr()) != 0 {
                return None;
            }
            usage.assume_init()
        };
        Some(CpuTime {
            user: timeval(usage.ru_utime),
            system: timeval(usage.ru_stime),
            total: thread_total()?,
        })
    }

    #[expect(
        unsafe_code,
        reason = "clock_gettime is the one way to read a thread's CPU time"
    )]
    pub(super) fn thread_total() -> Option<Duration> {
        let mut clock = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `clock` is a valid, writable timespec; the call only writes to it.
        if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut clock) } != 0 {
            return None;
        }
        let secs = u64::try_from(clock.tv_sec).unwrap_or(0);
        let nanos = u32::try_from(clock.tv_nsec).unwrap_or(0);
        Some(Duration::new(secs, nanos))
    }

    fn timeval(tv: libc::timeval) -> Duration {
        let secs = u64::try_from(tv.tv_sec).unwrap_or(0);
        let micros = u32::try_from(tv.tv_usec).unwrap_or(0);
        Duration::from_secs(secs) + Duration::from_micros(u64::from(micros))
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use super::CpuTime;

    pub(super) fn thread_now() -> Option<CpuTime> {
        None
    }

    pub(super) fn thread_total() -> Option<std::time::Duration> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn thread_cpu_time_grows_with_work() {
        let before = CpuTime::thread_now().expect("linux reports thread cpu time");
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = std::hint::black_box(x.wrapping_add(i * i));
        }
        let used = CpuTime::thread_now().expect("linux reports thread cpu time") - before;
        assert!(
            used.total() > Duration::from_millis(1),
            "{used:?} after {x}"
        );
    }
}
