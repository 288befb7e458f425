//! Retention and name reuse: deleting finished executions with
//! everything that hangs off them (history, payloads, timers, tasks).

use crate::pending::Pending;

/// Deletes finished executions.
pub trait RetentionStore: Send + Sync {
    /// Retention: deletes up to `limit` executions that finished (are not
    /// active) before `before_ms`, with their history, timers and tasks.
    /// Returns how many were deleted; fewer than `limit` means none are
    /// left.
    fn delete_finished_before(&self, before_ms: i64, limit: u32) -> Pending<u64>;

    /// Name reuse: deletes the execution `arn`, with its history, timers
    /// and tasks, if it is finished (not active) and stopped before
    /// `stopped_before_ms`, so that a new execution may take its name.
    /// `false` when it does not exist or does not qualify.
    fn delete_finished_execution(&self, arn: &str, stopped_before_ms: i64) -> Pending<bool>;
}
