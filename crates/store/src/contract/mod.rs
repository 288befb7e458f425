//! The storage contract: what every store offers, split by concern, with
//! the rows each concern reads and writes and the one [`Error`] type. The
//! implementations (`crate::sqlite`, `crate::postgres`) live apart from it
//! and both pass one shared suite (`statecraft-testsupport`'s
//! `store_suite`, a test-only crate).
//!
//! One trait per concern:
//! - [`StateMachineStore`]: state machines, revisions, versions, aliases;
//! - [`ExecutionStore`]: executions and the [`Transition`] that advances
//!   one; [`HistoryStore`], [`TimerStore`], [`TaskStore`] and
//!   [`LeaseStore`] for their history, timers, pending tasks and leases;
//! - [`ActivityStore`], [`TagStore`], [`ScheduleStore`];
//! - [`crate::MapRunStore`] (Distributed Map runs) and [`TaskQueueStore`]
//!   (durable flow-limit queues);
//! - [`StatsStore`] (the console's overview, the writer's counters),
//!   [`RetentionStore`] (deleting finished executions) and
//!   [`NoticeStore`] (commit notices and cross-node wake-ups);
//!
//! and [`Store`], which is all of them: the runtime holds an
//! `Arc<dyn Store>`, and a caller that needs one concern can take that
//! trait alone.

pub mod activity;
pub mod commits;
pub mod error;
pub mod execution;
pub mod history;
pub mod lease;
pub mod page;
pub mod pending;
pub mod queue;
pub mod retention;
pub mod schedule;
pub mod state_machine;
pub mod stats;
pub mod tag;
pub mod task;
pub mod timer;

pub use activity::{Activity, ActivityStore};
pub use commits::{Committed, NoticeStore, Wakeup};
pub use error::{Error, Result};
pub use execution::{
    Created, Execution, ExecutionFilter, ExecutionState, ExecutionStatus, ExecutionStore,
    ExecutionSummary, NewExecution, RedriveFilter, Transition,
};
pub use history::{HistoryQuery, HistoryStore, WireEvent};
pub use lease::{Fence, Lease, LeaseStore, FIRST_LEASE_TOKEN};
pub use page::{Page, PageRequest};
pub use pending::Pending;
pub use queue::{Enqueued, QueueClaim, QueueDepth, QueuedTask, TaskQueueStore};
pub use retention::RetentionStore;
pub use schedule::{ScheduleStore, StoredSchedule};
pub use state_machine::{
    Alias, MachineType, Revision, Route, StateMachine, StateMachineStatus, StateMachineStore,
    Version,
};
pub use stats::{
    Bucket, CommitStats, FailingState, Overview, OverviewQuery, SlowMachine, StatsStore,
    StatusCounts,
};
pub use tag::{Tag, TagStore};
pub use task::{PendingTask, TaskChange, TaskStore};
pub use timer::{DueTimer, Timer, TimerChange, TimerStore};

use crate::map_run::MapRunStore;

/// Everything the server keeps: every concern's trait. Implemented by
/// every storage engine.
pub trait Store:
    StateMachineStore
    + ExecutionStore
    + HistoryStore
    + TimerStore
    + TaskStore
    + LeaseStore
    + TagStore
    + ActivityStore
    + MapRunStore
    + TaskQueueStore
    + ScheduleStore
    + StatsStore
    + RetentionStore
    + NoticeStore
{
    /// Stops accepting writes, commits what is queued and waits for the
    /// writer to finish. Reads keep working. Idempotent.
    fn close(&self);

    /// A cheap read that fails when the store cannot serve reads (damaged
    /// pages, an unreadable file): what `/healthz` answers with.
    fn health(&self) -> Result<()> {
        Ok(())
    }
}
