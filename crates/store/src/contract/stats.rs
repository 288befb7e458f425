//! Aggregates over executions for the console's overview: counts by status
//! over a time window, what is running now, the failure rate, the states
//! that fail most and the slowest state machines.
//!
//! They are computed by the store, on its indexes, so that the overview of a
//! server with 100,000 executions costs a few index scans, never a listing
//! of everything shipped to the browser.

/// What an overview covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverviewQuery {
    /// Only executions of this (unqualified) state machine; all when `None`.
    pub state_machine_arn: Option<String>,
    /// Executions started at or after this time (ms since the epoch).
    pub since_ms: i64,
    /// The end of the window (normally now).
    pub until_ms: i64,
    /// How many equal buckets the window is split into (1..=500).
    pub buckets: u32,
    /// How many entries the "top" lists hold at most.
    pub top: u32,
}

/// Executions by status, in one bucket of time or in a whole window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusCounts {
    pub running: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub timed_out: u64,
    pub aborted: u64,
    pub pending_redrive: u64,
}

impl StatusCounts {
    /// Adds `n` executions of `status` (as the API spells it); unknown
    /// statuses are ignored rather than failing a whole overview.
    pub fn add(&mut self, status: &str, n: u64) {
        let slot = match status {
            "RUNNING" => &mut self.running,
            "SUCCEEDED" => &mut self.succeeded,
            "FAILED" => &mut self.failed,
            "TIMED_OUT" => &mut self.timed_out,
            "ABORTED" => &mut self.aborted,
            "PENDING_REDRIVE" => &mut self.pending_redrive,
            _ => return,
        };
        *slot += n;
    }

    pub fn total(&self) -> u64 {
        self.running
            + self.succeeded
            + self.failed
            + self.timed_out
            + self.aborted
            + self.pending_redrive
    }

    /// Executions that ended badly (failed, timed out or aborted).
    pub fn unsuccessful(&self) -> u64 {
        self.failed + self.timed_out + self.aborted
    }

    /// Unsuccessful executions among those that ended, in 0..=1; 0 when
    /// none ended.
    pub fn failure_rate(&self) -> f64 {
        let ended = self.succeeded + self.unsuccessful();
        if ended == 0 {
            0.0
        } else {
            self.unsuccessful() as f64 / ended as f64
        }
    }
}

/// One bucket of the timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    /// The bucket's start (ms since the epoch).
    pub start_ms: i64,
    pub counts: StatusCounts,
}

/// A state that failed executions last entered, with how often.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailingState {
    pub state_machine_arn: String,
    pub state_name: String,
    /// The execution's error (`States.TaskFailed`, a custom name…), if any.
    pub error: Option<String>,
    pub count: u64,
}

/// A state machine by the duration of its executions that ended.
#[derive(Debug, Clone, PartialEq)]
pub struct SlowMachine {
    pub state_machine_arn: String,
    pub executions: u64,
    pub average_ms: f64,
    pub max_ms: i64,
}

/// The answer to an [`OverviewQuery`].
#[derive(Debug, Clone, PartialEq)]
pub struct Overview {
    /// Executions started in the window, by status.
    pub window: StatusCounts,
    /// Executions active now (RUNNING or PENDING_REDRIVE), whenever started.
    pub active_now: u64,
    pub timeline: Vec<Bucket>,
    /// Most frequent first; from at most [`FAILED_SAMPLE`] of the newest
    /// unsuccessful executions of the window.
    pub failing_states: Vec<FailingState>,
    /// Slowest average first.
    pub slowest_machines: Vec<SlowMachine>,
}

/// How many of the newest unsuccessful executions the failing-states ranking
/// reads the history of: each costs one short indexed read, so the overview
/// stays fast however many executions failed.
pub const FAILED_SAMPLE: u32 = 500;

/// The longest timeline the store computes.
pub const MAX_BUCKETS: u32 = 500;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_rate_counts_only_executions_that_ended() {
        let mut c = StatusCounts::default();
        assert_eq!(c.failure_rate(), 0.0);
        for (status, n) in [
            ("RUNNING", 5),
            ("SUCCEEDED", 6),
            ("FAILED", 1),
            ("TIMED_OUT", 1),
            ("ABORTED", 1),
            ("PENDING_REDRIVE", 2),
            ("NOT_A_STATUS", 9),
        ] {
            c.add(status, n);
        }
        assert_eq!(c.total(), 16);
        assert_eq!(c.unsuccessful(), 3);
        assert!((c.failure_rate() - 1.0 / 3.0).abs() < 1e-12);
    }
}

/// Counters of the group-commit writer, for benchmarks and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// Database transactions committed.
    pub batches: u64,
    /// Writes (transitions and other operations) committed in them.
    pub writes: u64,
    /// The largest batch so far.
    pub max_batch: u64,
}

/// Aggregates the store computes: the console's overview and the writer's
/// counters.
pub trait StatsStore: Send + Sync {
    /// The console's overview: aggregates over the executions of a time
    /// window (see the module).
    fn overview(&self, query: &OverviewQuery) -> crate::error::Result<Overview>;

    /// Group-commit counters (zero for stores without a batching writer).
    fn commit_stats(&self) -> CommitStats {
        CommitStats::default()
    }
}
