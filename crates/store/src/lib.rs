//! Durable storage for Statecraft: everything the server keeps, behind one
//! contract with two implementations.
//!
//! How the pieces fit:
//! - [`contract`] is the interface: one trait per concern (state machines,
//!   executions, history, timers, tasks, leases, activities, tags, map
//!   runs, flow queues, schedules, statistics, retention, notices), their
//!   row types and the one [`Error`], and [`Store`], which is all of them.
//!   The runtime holds an `Arc<dyn Store>` and never sees SQL.
//! - Reads return their result directly and are served from a small pool of
//!   read connections. Writes return a [`Pending`] that resolves once the
//!   write is committed: an implementation may (and both do) batch
//!   concurrent writes into one database transaction (group commit).
//! - [`sqlite::SqliteStore`] is the embedded implementation;
//!   [`postgres::PostgresStore`] implements the same contract for a
//!   database several nodes share. Both pass one shared suite, which lives
//!   in the test-only `statecraft-testsupport` crate (`store_suite`), not
//!   in this library.
//! - The schema lives in numbered migrations under `migrations/`, applied
//!   at open and recorded in a `schema_version` table.
//!
//! Architecture invariant: every state transition commits its history
//! events, the new execution state, its timers and its queued tasks in one
//! transaction or not at all (see [`Transition`]). Nothing the runtime
//! needs to recover lives only in memory.

pub mod contract;
pub mod map_run;
pub mod payloads;
pub mod postgres;
pub mod sqlite;

// The contract's modules keep their paths at the root
// (`statecraft_store::execution::…`), as before the contract had a module
// of its own.
pub use contract::*;
pub use contract::{
    activity, commits, error, execution, history, lease, page, pending, queue, retention, schedule,
    state_machine, stats, tag, task, timer,
};

pub use self::postgres::{OpenError as PostgresOpenError, PostgresOptions, PostgresStore};
pub use map_run::{
    MapRun, MapRunChildResult, MapRunCounts, MapRunProgress, MapRunStatus, MapRunStore,
    MapRunUpdate, NewMapRun,
};
pub use sqlite::{Durability, SqliteOptions, SqliteStore};

/// Every trait of the contract, for code that calls a concrete store
/// (`SqliteStore`, `PostgresStore`) rather than a `dyn Store`: trait
/// methods of a concrete type need their trait in scope.
pub mod prelude {
    pub use crate::contract::{
        ActivityStore, ExecutionStore, HistoryStore, LeaseStore, NoticeStore, RetentionStore,
        ScheduleStore, StateMachineStore, StatsStore, Store, TagStore, TaskQueueStore, TaskStore,
        TimerStore,
    };
    pub use crate::map_run::MapRunStore;
}
