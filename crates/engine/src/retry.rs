//! Retry and Catch rule matching and the back-off delay of a retry, as ASL
//! defines them: `IntervalSeconds × BackoffRate^attempt`, capped by
//! `MaxDelaySeconds`, then with `JitterStrategy: FULL` a uniform draw in
//! `[0, delay)` from the host's randomness.

use statecraft_language::ast::{Jitter, Retrier};
use statecraft_language::Host;
use statecraft_types::errors::{ALL, RUNTIME};
use statecraft_types::Failure;

/// Whether a rule's `ErrorEquals` matches `failure`. Nothing matches
/// `States.Runtime`, not `States.ALL` and not even the explicit name: AWS
/// neither retries nor catches it (recorded in the corpus).
pub fn matches(error_equals: &[String], failure: &Failure) -> bool {
    failure.error != RUNTIME && error_equals.iter().any(|n| *n == failure.error || n == ALL)
}

/// The retrier that applies to `failure`: the first whose `ErrorEquals`
/// matches. `States.Runtime` is never retried.
pub fn find(retriers: &[Retrier], failure: &Failure) -> Option<usize> {
    if failure.error == RUNTIME {
        return None;
    }
    retriers
        .iter()
        .position(|r| matches(&r.error_equals, failure))
}

/// The delay before retry number `attempt` (0-based) of `r`, in milliseconds.
pub fn delay_ms(r: &Retrier, attempt: u32, host: &dyn Host) -> i64 {
    let base = r.interval_seconds as f64 * r.backoff_rate.max(1.0).powi(attempt as i32);
    let mut secs = base;
    if let Some(max) = r.max_delay_seconds {
        secs = secs.min(max as f64);
    }
    if r.jitter == Jitter::Full {
        secs *= host.random().clamp(0.0, 1.0);
    }
    // A definition can ask for absurd delays; saturate instead of overflowing.
    let ms = (secs * 1000.0).round();
    if ms.is_finite() {
        ms.clamp(0.0, i64::MAX as f64 / 4.0) as i64
    } else {
        i64::MAX / 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Half;
    impl Host for Half {
        fn random(&self) -> f64 {
            0.5
        }
        fn uuid(&self) -> String {
            String::new()
        }
    }

    fn retrier(names: &[&str]) -> Retrier {
        Retrier {
            error_equals: names.iter().map(|s| s.to_string()).collect(),
            interval_seconds: 2,
            max_attempts: 3,
            backoff_rate: 2.0,
            max_delay_seconds: Some(5),
            jitter: Jitter::None,
            pointer: String::new(),
        }
    }

    #[test]
    fn all_does_not_match_runtime() {
        let rs = [retrier(&["States.ALL"])];
        assert_eq!(find(&rs, &Failure::new("X", "")), Some(0));
        assert_eq!(find(&rs, &Failure::runtime("boom")), None);
        assert!(!matches(&rs[0].error_equals, &Failure::runtime("boom")));
        assert!(!matches(
            &["States.Runtime".to_string()],
            &Failure::runtime("")
        ));
    }

    #[test]
    fn backoff_is_capped_and_jittered() {
        let mut r = retrier(&["X"]);
        assert_eq!(delay_ms(&r, 0, &Half), 2000);
        assert_eq!(delay_ms(&r, 1, &Half), 4000);
        assert_eq!(delay_ms(&r, 2, &Half), 5000);
        r.jitter = Jitter::Full;
        assert_eq!(delay_ms(&r, 0, &Half), 1000);
    }
}
