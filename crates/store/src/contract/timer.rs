//! Durable timers (Wait states, retry back-off, heartbeats and timeouts):
//! armed and cancelled by a [`crate::Transition`], read back per execution
//! and, across executions, by the runtime's timer service.

use crate::error::Result;

/// A durable timer: deliver `TimerFired { timer_id }` at `fire_at_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timer {
    pub timer_id: u64,
    pub fire_at_ms: i64,
}

/// A timer of some execution, as the timer service loads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueTimer {
    pub execution_arn: String,
    pub timer: Timer,
}

/// What a transition does to timers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimerChange {
    Arm(Timer),
    Cancel { timer_id: u64 },
}

/// Reads of armed timers.
pub trait TimerStore: Send + Sync {
    /// The armed timers of one execution.
    fn timers(&self, execution_arn: &str) -> Result<Vec<Timer>>;

    /// Timers of all executions due at or before `until_ms`, earliest first.
    fn due_timers(&self, until_ms: i64, limit: u32) -> Result<Vec<DueTimer>>;
}
