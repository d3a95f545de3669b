//! Retrying a refused Zipkin export the way the OTLP exporters retry theirs.
//!
//! The OTLP exporters retry inside `opentelemetry-otlp` (its `RetryPolicy`, which follows the
//! OTLP specification); Zipkin's exporter is the toolbar's own, so it gets the same rules here:
//! no answer, 429, 502, 503 and 504 are retried; 429 and 503 wait at least what `Retry-After`
//! asks; waits grow exponentially from 100 ms to 1.6 s with up to 100 ms of jitter; and
//! everything stays within the export timeout.

use std::time::{Duration, Instant, SystemTime};

use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator};

/// First wait, before jitter.
const INITIAL_DELAY: Duration = Duration::from_millis(100);
/// Longest wait, before jitter, unless the backend asks for more.
const MAX_DELAY: Duration = Duration::from_millis(1600);
/// Most jitter added to a wait.
const MAX_JITTER_MS: u64 = 100;
/// Longest wait a backend may ask for; longer requests are cut to it.
const MAX_THROTTLE: Duration = Duration::from_secs(30);

/// How a failed attempt may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Not at all: the backend refused the batch for good.
    Final,
    /// With back-off.
    Retryable,
    /// After at least this long, as the backend asked.
    Throttled(Duration),
}

/// A failed attempt: why, and whether to try again.
#[derive(Debug)]
pub(crate) struct Attempt {
    verdict: Verdict,
    message: String,
}

impl Attempt {
    /// No answer came (connection refused or reset, timeout): worth another try.
    pub(crate) fn no_answer(message: String) -> Self {
        Self {
            verdict: Verdict::Retryable,
            message,
        }
    }

    /// The backend answered `status` with `retry_after` (seconds or an HTTP date).
    pub(crate) fn refused(status: u16, retry_after: Option<&str>, message: String) -> Self {
        let verdict = match status {
            429 | 503 => retry_after
                .and_then(parse_retry_after)
                .map_or(Verdict::Retryable, Verdict::Throttled),
            502 | 504 => Verdict::Retryable,
            _ => Verdict::Final,
        };
        Self { verdict, message }
    }
}

/// `Retry-After` as a wait: delay-seconds or an HTTP date, at most [`MAX_THROTTLE`].
fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    let wait = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => httpdate::parse_http_date(value)
            .ok()?
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    };
    Some(wait.min(MAX_THROTTLE))
}

/// Up to [`MAX_JITTER_MS`] milliseconds, at random.
fn jitter() -> Duration {
    let random = u64::from_be_bytes(RandomIdGenerator::default().new_span_id().to_bytes());
    Duration::from_millis(random % (MAX_JITTER_MS + 1))
}

/// How often and for how long a batch is tried.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Retry {
    max_retries: usize,
    deadline: Duration,
}

impl Retry {
    /// At most `max_retries` more attempts, all within `deadline` of the first.
    pub(crate) fn new(max_retries: usize, deadline: Duration) -> Self {
        Self {
            max_retries,
            deadline,
        }
    }

    /// Runs `attempt` until it succeeds, fails for good, or the retries or the time run out;
    /// the error is the last attempt's message. Waits block this thread.
    pub(crate) fn run(
        &self,
        mut attempt: impl FnMut() -> Result<(), Attempt>,
    ) -> Result<(), String> {
        let start = Instant::now();
        let mut delay = INITIAL_DELAY;
        let mut cap = MAX_DELAY;
        let mut retries = 0;
        loop {
            let failed = match attempt() {
                Ok(()) => return Ok(()),
                Err(failed) => failed,
            };
            match failed.verdict {
                Verdict::Final => return Err(failed.message),
                _ if retries >= self.max_retries => return Err(failed.message),
                Verdict::Throttled(asked) => {
                    // A later answer may lengthen the back-off, never shorten it.
                    if asked > cap {
                        cap = MAX_THROTTLE;
                    }
                    delay = delay.max(asked);
                }
                Verdict::Retryable => {}
            }
            let wait = (delay + jitter()).min(cap);
            if wait >= self.deadline.saturating_sub(start.elapsed()) {
                return Err(format!(
                    "{} (no time left to try again within {:?})",
                    failed.message, self.deadline
                ));
            }
            std::thread::sleep(wait);
            delay = delay.saturating_mul(2).min(cap);
            retries += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers(statuses: &[(u16, Option<&'static str>)]) -> impl FnMut() -> Result<(), Attempt> {
        let mut statuses = statuses.iter().copied();
        move || match statuses.next() {
            Some((status, retry_after)) => Err(Attempt::refused(
                status,
                retry_after,
                format!("answered {status}"),
            )),
            None => Ok(()),
        }
    }

    #[test]
    fn retryable_answers_are_tried_again_until_accepted() {
        let retry = Retry::new(5, Duration::from_secs(10));
        let started = Instant::now();
        let result = retry.run(answers(&[(502, None), (504, None), (429, None)]));
        assert_eq!(result, Ok(()));
        // 100 + 200 + 400 ms of back-off, each with up to 100 ms of jitter.
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(700), "{took:?}");
        assert!(took < Duration::from_millis(1500), "{took:?}");
    }

    #[test]
    fn retry_after_is_waited_for() {
        let retry = Retry::new(5, Duration::from_secs(10));
        let started = Instant::now();
        assert_eq!(retry.run(answers(&[(503, Some("1"))])), Ok(()));
        assert!(started.elapsed() >= Duration::from_secs(1));
    }

    #[test]
    fn final_answers_retries_and_time_run_out() {
        let retry = Retry::new(5, Duration::from_secs(10));
        assert_eq!(
            retry.run(answers(&[(400, None)])),
            Err("answered 400".to_owned())
        );
        let retry = Retry::new(1, Duration::from_secs(10));
        assert_eq!(
            retry.run(answers(&[(503, None), (503, None)])),
            Err("answered 503".to_owned())
        );
        let retry = Retry::new(5, Duration::from_millis(500));
        let started = Instant::now();
        let error = retry
            .run(answers(&[(503, Some("2")), (503, None)]))
            .unwrap_err();
        assert!(error.contains("no time left"), "{error}");
        assert!(
            started.elapsed() < Duration::from_millis(100),
            "did not wait in vain"
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_dates_within_bounds() {
        assert_eq!(parse_retry_after(" 3 "), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after("86400"), Some(MAX_THROTTLE));
        let soon = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(5));
        let wait = parse_retry_after(&soon).unwrap_or_default();
        assert!(
            wait > Duration::from_secs(3) && wait <= Duration::from_secs(5),
            "{wait:?}"
        );
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(
            Attempt::refused(503, Some("soon"), String::new()).verdict,
            Verdict::Retryable
        );
        assert_eq!(
            Attempt::refused(500, Some("1"), String::new()).verdict,
            Verdict::Final
        );
    }
}
