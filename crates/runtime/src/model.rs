//! The vocabulary of the runtime's read model and catalogue: the records
//! the API and the console read and write (state machines, versions,
//! aliases, activities, tags, schedules, executions, map runs, pages) and
//! the one error type of storage operations.
//!
//! They are defined by the storage contract and named here, so that the
//! server and the console depend on the runtime alone and the store stays
//! behind it.

pub use statecraft_store::commits::Committed;
pub use statecraft_store::stats::{
    Bucket, FailingState, Overview, OverviewQuery, SlowMachine, StatusCounts, FAILED_SAMPLE,
};
pub use statecraft_store::{
    Activity, Alias, Execution, ExecutionFilter, ExecutionState, ExecutionStatus, ExecutionSummary,
    HistoryQuery, MachineType, MapRun, MapRunStatus, MapRunUpdate, Page, PageRequest, Pending,
    PendingTask, QueueDepth, RedriveFilter, Revision, Route, StateMachine, StateMachineStatus,
    StoredSchedule, Tag, Timer, Version, WireEvent,
};

/// What a storage operation failed with; callers branch on `NotFound`,
/// `AlreadyExists` and `InvalidToken`.
pub use statecraft_store::Error as StoreError;

/// Whether a `store` setting names a PostgreSQL database, and the URL with
/// its password hidden (for messages and logs).
pub use statecraft_store::postgres::{is_postgres_url, redact_url};
/// How the embedded store syncs its commits ([`Options::durability`](crate::Options)).
pub use statecraft_store::Durability;
