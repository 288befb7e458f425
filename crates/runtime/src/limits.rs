//! What one execution, and the starting of executions, may cost: the
//! engine's per-execution limits (AWS's history quota, the step budget of
//! one engine call) and the start quotas (open executions, start rate) that
//! keep one workflow from exhausting the server.

use std::sync::Mutex;
use std::time::Instant;

use crate::error::{Error, Result};

/// The runtime's limits. The defaults are AWS's history quota, a step
/// budget of [`DEFAULT_STEPS_PER_TURN`] transitions, and no start quotas.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// History events per execution (the final event included); an
    /// execution that reaches it fails with `States.Runtime`, as on AWS.
    pub history_events: u64,
    /// State transitions one engine call runs before the execution lets
    /// other work in and continues in a later turn.
    pub steps_per_turn: u32,
    /// Open (RUNNING) executions at most; StartExecution beyond it is
    /// `ExecutionLimitExceeded`. `None`: no limit.
    pub open_executions: Option<u64>,
    /// StartExecution's rate limit; beyond it `ThrottlingException`.
    /// `None`: no limit.
    pub start_rate: Option<StartRate>,
    /// The largest payload: an execution's input (StartExecution, a
    /// restart), a state's output or task result, SendTaskSuccess's output.
    /// AWS's 256 KiB by default.
    pub payload_bytes: usize,
    /// The largest variable, and the most one `Assign` assigns (the
    /// execution's variables may hold 40 times as much); AWS's 256 KiB.
    pub variables_bytes: usize,
    /// The most items of an inline Map; `None` (AWS): no count of its own.
    pub map_inline_items: Option<u64>,
    /// How many days after it stopped a finished execution keeps its name:
    /// StartExecution with the name is `ExecutionAlreadyExists` until then,
    /// and afterwards replaces the old execution (its history goes with
    /// it). AWS's 90.
    pub execution_name_reuse_days: u32,
}

/// A token bucket: `burst` starts at once, refilled at `per_second`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StartRate {
    pub per_second: f64,
    pub burst: u32,
}

/// The default [`Limits::steps_per_turn`]: small enough that a turn of
/// Pass/Choice states is a matter of milliseconds, large enough that
/// ordinary executions finish within their first turn.
pub const DEFAULT_STEPS_PER_TURN: u32 = 1_000;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            history_events: statecraft_engine::MAX_HISTORY_EVENTS,
            steps_per_turn: DEFAULT_STEPS_PER_TURN,
            open_executions: None,
            start_rate: None,
            payload_bytes: statecraft_engine::MAX_PAYLOAD_BYTES,
            variables_bytes: statecraft_engine::MAX_VARIABLE_BYTES,
            map_inline_items: None,
            execution_name_reuse_days: DEFAULT_NAME_REUSE_DAYS,
        }
    }
}

/// AWS's window before a finished execution's name may be used again.
pub const DEFAULT_NAME_REUSE_DAYS: u32 = 90;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

impl Limits {
    /// What the engine enforces per execution.
    pub(crate) fn engine(&self) -> statecraft_engine::Limits {
        statecraft_engine::Limits {
            history_events: self.history_events.max(2),
            steps_per_turn: Some(self.steps_per_turn.max(1)),
            payload_bytes: self.payload_bytes,
            variables_bytes: self.variables_bytes,
            map_inline_items: self.map_inline_items,
        }
    }

    /// The stop dates before which a finished execution's name is free
    /// again, at `now_ms`.
    pub(crate) fn names_free_before(&self, now_ms: i64) -> i64 {
        now_ms.saturating_sub(i64::from(self.execution_name_reuse_days).saturating_mul(DAY_MS))
    }
}

/// Where the runtime reads the time it judges name reuse by; the system
/// clock unless a test sets another ([`crate::Runtime::set_clock`]).
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;
}

/// The real time.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        crate::host::now_ms()
    }
}

/// The start-rate token bucket.
#[derive(Debug)]
pub(crate) struct Bucket {
    rate: Option<StartRate>,
    state: Mutex<(f64, Instant)>,
}

impl Bucket {
    pub(crate) fn new(rate: Option<StartRate>) -> Bucket {
        let full = rate.map_or(0.0, |r| f64::from(r.burst));
        Bucket {
            rate,
            state: Mutex::new((full, Instant::now())),
        }
    }

    /// Takes one start, or answers `ThrottlingException`.
    pub(crate) fn take(&self) -> Result<()> {
        let Some(rate) = self.rate else {
            return Ok(());
        };
        let mut state = match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let now = Instant::now();
        let (tokens, last) = *state;
        let refilled = (tokens + now.duration_since(last).as_secs_f64() * rate.per_second)
            .min(f64::from(rate.burst));
        if refilled < 1.0 {
            *state = (refilled, now);
            return Err(Error::Throttled("Rate exceeded".into()));
        }
        *state = (refilled - 1.0, now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_lets_a_burst_through_then_throttles() {
        let bucket = Bucket::new(Some(StartRate {
            per_second: 0.001,
            burst: 3,
        }));
        for _ in 0..3 {
            assert_eq!(bucket.take(), Ok(()));
        }
        assert_eq!(bucket.take(), Err(Error::Throttled("Rate exceeded".into())));
        assert_eq!(Bucket::new(None).take(), Ok(()));
    }
}
