//! Durable storage for Statecraft: everything the server keeps, behind one
//! interface.
//!
//! How the pieces fit:
//! - One trait per concern — [`StateMachineStore`] (state machines,
//!   revisions, versions, aliases), [`ExecutionStore`] (executions, history,
//!   timers, pending tasks), [`TagStore`], [`ActivityStore`], [`MapRunStore`]
//!   (Distributed Map runs), [`TaskQueueStore`] (durable flow-limit queues),
//!   [`ScheduleStore`] (schedules and their groups) — and [`Store`],
//!   which is all of them. The runtime and the server hold an
//!   `Arc<dyn Store>` and never see SQL.
//! - Reads return their result directly and are served from a small pool of
//!   read connections. Writes return a [`Pending`] that resolves once the
//!   write is committed: an implementation may (and the SQLite one does)
//!   batch concurrent writes into one database transaction (group commit).
//! - [`sqlite::SqliteStore`] is the embedded implementation;
//!   [`postgres::PostgresStore`] implements the same traits for a database
//!   several nodes share, and both pass the same [`suite`] of tests.
//! - The schema lives in numbered migrations under `migrations/`, applied
//!   at open and recorded in a `schema_version` table.
//!
//! Architecture invariant: every state transition commits its history
//! events, the new execution state, its timers and its queued tasks in one
//! transaction or not at all (see [`execution::Transition`]). Nothing the
//! runtime needs to recover lives only in memory.

pub mod activity;
pub mod commits;
pub mod error;
pub mod execution;
pub mod map_run;
pub mod page;
pub mod payloads;
pub mod pending;
pub mod postgres;
pub mod queue;
pub mod schedule;
pub mod sqlite;
pub mod state_machine;
pub mod stats;
pub mod suite;
pub mod tag;

pub use self::postgres::{OpenError as PostgresOpenError, PostgresOptions, PostgresStore};
pub use activity::{Activity, ActivityStore};
pub use commits::{Committed, Wakeup};
pub use error::{Error, Result};
pub use execution::{
    CommitStats, Created, DueTimer, Execution, ExecutionFilter, ExecutionState, ExecutionStatus,
    ExecutionStore, ExecutionSummary, Fence, HistoryQuery, Lease, NewExecution, PendingTask,
    RedriveFilter, TaskChange, Timer, TimerChange, Transition, FIRST_LEASE_TOKEN,
};
pub use map_run::{
    MapRun, MapRunCounts, MapRunProgress, MapRunStatus, MapRunStore, MapRunUpdate, NewMapRun,
};
pub use page::{Page, PageRequest};
pub use pending::Pending;
pub use queue::{Enqueued, QueueClaim, QueueDepth, QueuedTask, TaskQueueStore};
pub use schedule::{ScheduleStore, StoredSchedule};
pub use sqlite::{Durability, SqliteOptions, SqliteStore};
pub use state_machine::{
    Alias, MachineType, Revision, Route, StateMachine, StateMachineStatus, StateMachineStore,
    Version,
};
pub use stats::{Bucket, FailingState, Overview, OverviewQuery, SlowMachine, StatusCounts};
pub use tag::{Tag, TagStore};

/// Everything the server keeps. Implemented by every storage engine.
pub trait Store:
    StateMachineStore
    + ExecutionStore
    + TagStore
    + ActivityStore
    + MapRunStore
    + TaskQueueStore
    + ScheduleStore
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
