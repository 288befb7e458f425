//! Retry and Catch rule matching and the back-off delay of a retry, as ASL
//! defines them: `IntervalSeconds × BackoffRate^attempt`, capped by
//! `MaxDelaySeconds`, then with `JitterStrategy: FULL` a uniform draw in
//! `[0, delay)` from the host's randomness.
//!
//! [`matches`] is the one place where `ErrorEquals` is interpreted (the
//! engine's Retry and Catch, and TestState's report of what they would do):
//!
//! | name in `ErrorEquals`      | matches                                                        |
//! |----------------------------|----------------------------------------------------------------|
//! | `States.ALL`               | every error                                                    |
//! | `States.TaskFailed`        | that name, and every error a Task state raises except `States.Timeout` |
//! | `States.HeartbeatTimeout`  | that name, and a Task's lapsed heartbeat (raised as `States.Timeout`) |
//! | `States.Timeout`           | that name: a Task's `TimeoutSeconds` or its lapsed heartbeat   |
//! | any other name             | that name exactly                                              |
//!
//! Nothing matches `States.Runtime`, not `States.ALL` and not even the
//! explicit name: AWS neither retries nor catches it (recorded in the
//! corpus). `States.DataLimitExceeded` raised by a task's result is matched
//! by `States.ALL` as by its own name (AWS's recordings show `States.ALL`
//! catching it, though its docs call it terminal); a state whose own output
//! is too large fails without reaching Retry or Catch at all.

use statecraft_language::ast::{Jitter, Retrier, StateKind};
use statecraft_language::Host;
use statecraft_types::errors::{ALL, HEARTBEAT_TIMEOUT, RUNTIME, TASK_FAILED, TIMEOUT};
use statecraft_types::Failure;

/// The type of the state whose Retry or Catch is being matched: the failure
/// is one that state raised (a Parallel or Map raises its branch's or
/// iteration's error as its own). `States.TaskFailed` is a wildcard only for
/// a Task state's failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateType {
    Task,
    Parallel,
    Map,
}

impl StateType {
    /// The type of a state that can have Retry and Catch; `None` for others.
    pub fn of(kind: &StateKind) -> Option<StateType> {
        match kind {
            StateKind::Task(_) => Some(StateType::Task),
            StateKind::Parallel(_) => Some(StateType::Parallel),
            StateKind::Map(_) => Some(StateType::Map),
            _ => None,
        }
    }

    /// From the `Type` field of a state definition (`"Task"`, `"Parallel"`,
    /// `"Map"`); `None` for others.
    pub fn from_type_name(name: &str) -> Option<StateType> {
        match name {
            "Task" => Some(StateType::Task),
            "Parallel" => Some(StateType::Parallel),
            "Map" => Some(StateType::Map),
            _ => None,
        }
    }
}

/// Whether a rule's `ErrorEquals` matches `failure`, raised by a state of
/// type `raised_by` (see the module documentation for the rules).
pub fn matches(error_equals: &[String], failure: &Failure, raised_by: Option<StateType>) -> bool {
    failure.error != RUNTIME
        && error_equals
            .iter()
            .any(|name| name_matches(name, failure, raised_by))
}

fn name_matches(name: &str, failure: &Failure, raised_by: Option<StateType>) -> bool {
    match name {
        ALL => true,
        TASK_FAILED => {
            failure.error == TASK_FAILED
                || (raised_by == Some(StateType::Task) && failure.error != TIMEOUT)
        }
        HEARTBEAT_TIMEOUT => failure.heartbeat || failure.error == HEARTBEAT_TIMEOUT,
        _ => name == failure.error,
    }
}

/// The retrier that applies to `failure`: the first whose `ErrorEquals`
/// matches. `States.Runtime` is never retried.
pub fn find(
    retriers: &[Retrier],
    failure: &Failure,
    raised_by: Option<StateType>,
) -> Option<usize> {
    retriers
        .iter()
        .position(|r| matches(&r.error_equals, failure, raised_by))
}

/// The back-off before retry number `attempt` (0-based) of `r`, in
/// seconds, before jitter: `IntervalSeconds × BackoffRate^attempt`, capped
/// at `MaxDelaySeconds`.
pub fn backoff_seconds(r: &Retrier, attempt: u32) -> f64 {
    let exp = i32::try_from(attempt).unwrap_or(i32::MAX);
    let secs = r.interval_seconds as f64 * r.backoff_rate.max(1.0).powi(exp);
    match r.max_delay_seconds {
        Some(max) => secs.min(max as f64),
        None => secs,
    }
}

/// The delay before retry number `attempt` (0-based) of `r`, in
/// milliseconds: [`backoff_seconds`] with the retrier's jitter.
pub fn delay_ms(r: &Retrier, attempt: u32, host: &dyn Host) -> i64 {
    let mut secs = backoff_seconds(r, attempt);
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
        let task = Some(StateType::Task);
        let rs = [retrier(&["States.ALL"])];
        assert_eq!(find(&rs, &Failure::new("X", ""), task), Some(0));
        assert_eq!(find(&rs, &Failure::runtime("boom"), task), None);
        assert!(!matches(
            &rs[0].error_equals,
            &Failure::runtime("boom"),
            task
        ));
        assert!(!matches(
            &["States.Runtime".to_string()],
            &Failure::runtime(""),
            task
        ));
    }

    /// Every predefined name against every kind of failure, raised by each
    /// type of state that has Retry and Catch.
    #[test]
    fn error_equals_table() {
        use StateType::{Map as M, Parallel as P, Task as T};
        let custom = Failure::new("Custom.Error", "");
        let lambda = Failure::new("Lambda.ResourceNotFoundException", "");
        let timeout = Failure::new("States.Timeout", "");
        let heartbeat = Failure::heartbeat_timeout("");
        let task_failed = Failure::new("States.TaskFailed", "");
        let permissions = Failure::new("States.Permissions", "");
        let data_limit = Failure::new("States.DataLimitExceeded", "");
        let query = Failure::new("States.QueryEvaluationError", "");
        let result_path = Failure::new("States.ResultPathMatchFailure", "");
        let branch = Failure::new("States.BranchFailed", "");
        let runtime = Failure::runtime("");
        #[rustfmt::skip]
        let table: &[(&Failure, StateType, &str, bool)] = &[
            // States.ALL: everything but States.Runtime.
            (&custom, T, "States.ALL", true),
            (&custom, P, "States.ALL", true),
            (&custom, M, "States.ALL", true),
            (&timeout, T, "States.ALL", true),
            (&heartbeat, T, "States.ALL", true),
            (&data_limit, T, "States.ALL", true),
            (&branch, P, "States.ALL", true),
            (&runtime, T, "States.ALL", false),
            (&runtime, P, "States.ALL", false),
            // States.TaskFailed: a Task's errors but States.Timeout.
            (&custom, T, "States.TaskFailed", true),
            (&lambda, T, "States.TaskFailed", true),
            (&task_failed, T, "States.TaskFailed", true),
            (&permissions, T, "States.TaskFailed", true),
            (&data_limit, T, "States.TaskFailed", true),
            (&query, T, "States.TaskFailed", true),
            (&result_path, T, "States.TaskFailed", true),
            (&timeout, T, "States.TaskFailed", false),
            (&heartbeat, T, "States.TaskFailed", false),
            (&runtime, T, "States.TaskFailed", false),
            // … and only its own name for a Parallel's or Map's failure.
            (&custom, P, "States.TaskFailed", false),
            (&custom, M, "States.TaskFailed", false),
            (&branch, P, "States.TaskFailed", false),
            (&task_failed, P, "States.TaskFailed", true),
            (&task_failed, M, "States.TaskFailed", true),
            // States.Timeout: its name, which a lapsed heartbeat carries too.
            (&timeout, T, "States.Timeout", true),
            (&heartbeat, T, "States.Timeout", true),
            (&heartbeat, P, "States.Timeout", true),
            (&custom, T, "States.Timeout", false),
            // States.HeartbeatTimeout: a lapsed heartbeat only.
            (&heartbeat, T, "States.HeartbeatTimeout", true),
            (&heartbeat, P, "States.HeartbeatTimeout", true),
            (&timeout, T, "States.HeartbeatTimeout", false),
            (&custom, T, "States.HeartbeatTimeout", false),
            // Every other name: exactly itself.
            (&custom, T, "Custom.Error", true),
            (&custom, P, "Custom.Error", true),
            (&custom, M, "Custom.Error", true),
            (&custom, T, "Custom", false),
            (&lambda, T, "Lambda.ResourceNotFoundException", true),
            (&permissions, T, "States.Permissions", true),
            (&data_limit, T, "States.DataLimitExceeded", true),
            (&query, T, "States.QueryEvaluationError", true),
            (&result_path, T, "States.ResultPathMatchFailure", true),
            (&branch, P, "States.BranchFailed", true),
            (&custom, T, "States.BranchFailed", false),
            (&runtime, T, "States.Runtime", false),
        ];
        for (failure, raised_by, name, expected) in table {
            let names = [name.to_string()];
            assert_eq!(
                matches(&names, failure, Some(*raised_by)),
                *expected,
                "{} (heartbeat: {}) raised by a {raised_by:?} state against [{name}]",
                failure.error,
                failure.heartbeat
            );
        }
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
