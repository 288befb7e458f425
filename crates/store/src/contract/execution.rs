//! Executions: their rows, the [`Transition`] that advances one, and
//! [`ExecutionStore`], which creates, commits, reads and lists them. What
//! hangs off an execution has a trait of its own beside this one:
//! [`crate::HistoryStore`], [`crate::TimerStore`], [`crate::TaskStore`],
//! [`crate::LeaseStore`].
//!
//! Architecture invariant: a [`Transition`] is the unit of durability. Its
//! history events, the new serialised engine state, the summary columns the
//! API shows (status, output, error…), the timers it arms or cancels and the
//! tasks it queues or completes are written in ONE database transaction, or
//! not at all. The version check (`expected_version`) makes a transition
//! apply only on top of the state it was computed from, so two writers (a
//! stale actor, another node) can never both advance an execution.

use statecraft_types::HistoryEvent;

use crate::error::Result;
use crate::lease::Fence;
use crate::page::{Page, PageRequest};
use crate::pending::Pending;
use crate::task::TaskChange;
use crate::timer::TimerChange;

/// The status of an execution as `DescribeExecution` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExecutionStatus {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
    PendingRedrive,
}

impl ExecutionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionStatus::Running => "RUNNING",
            ExecutionStatus::Succeeded => "SUCCEEDED",
            ExecutionStatus::Failed => "FAILED",
            ExecutionStatus::TimedOut => "TIMED_OUT",
            ExecutionStatus::Aborted => "ABORTED",
            ExecutionStatus::PendingRedrive => "PENDING_REDRIVE",
        }
    }

    pub fn parse(s: &str) -> Option<ExecutionStatus> {
        Some(match s {
            "RUNNING" => ExecutionStatus::Running,
            "SUCCEEDED" => ExecutionStatus::Succeeded,
            "FAILED" => ExecutionStatus::Failed,
            "TIMED_OUT" => ExecutionStatus::TimedOut,
            "ABORTED" => ExecutionStatus::Aborted,
            "PENDING_REDRIVE" => ExecutionStatus::PendingRedrive,
            _ => return None,
        })
    }

    /// Whether the execution still has work to do (timers and tasks live
    /// only while it is active).
    pub fn is_active(self) -> bool {
        matches!(
            self,
            ExecutionStatus::Running | ExecutionStatus::PendingRedrive
        )
    }
}

/// `ListExecutions`' `redriveFilter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedriveFilter {
    Redriven,
    NotRedriven,
}

/// Who started an execution and what it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct NewExecution {
    pub arn: String,
    /// The unqualified state machine ARN.
    pub state_machine_arn: String,
    /// Set when started through a version (or an alias that routed to one).
    pub version_arn: Option<String>,
    /// Set when started through an alias.
    pub alias_arn: Option<String>,
    /// The revision whose definition the execution runs.
    pub revision_id: String,
    pub name: String,
    /// The input JSON text as given.
    pub input: String,
    pub trace_header: Option<String>,
    pub start_date_ms: i64,
    /// For child executions of a distributed Map run.
    pub map_run_arn: Option<String>,
    /// For executions started by another execution (nested workflows).
    pub parent_arn: Option<String>,
}

/// The mutable part of an execution: what the API shows plus the engine's
/// serialised state. Every transition writes all of it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionState {
    pub status: ExecutionStatus,
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub stop_date_ms: Option<i64>,
    pub redrive_count: u32,
    pub redrive_date_ms: Option<i64>,
    /// `REDRIVABLE`, `NOT_REDRIVABLE`, `REDRIVABLE_BY_MAP_RUN` (None while running).
    pub redrive_status: Option<String>,
    pub redrive_status_reason: Option<String>,
    /// The engine's `Execution` value, serialised (opaque to the store).
    pub engine_state: String,
    /// Set while an operator holds the execution (`Statecraft.PauseExecution`
    /// or a pause on failure): the runtime's pause record, JSON opaque to
    /// the store (who, when, the results held until resume). `None`: not
    /// paused. ListExecutions filters on it.
    pub pause: Option<String>,
    /// Set by a transition that moves the execution onto another revision
    /// of its machine (a restart on a newer definition); `None` keeps the
    /// current one. Reads return `None` (the revision is
    /// [`Execution::revision_id`]).
    pub revision_id: Option<String>,
}

/// An execution as `DescribeExecution` needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    pub arn: String,
    pub state_machine_arn: String,
    pub version_arn: Option<String>,
    pub alias_arn: Option<String>,
    pub revision_id: String,
    pub name: String,
    pub input: String,
    pub trace_header: Option<String>,
    pub start_date_ms: i64,
    pub map_run_arn: Option<String>,
    pub parent_arn: Option<String>,
    pub state: ExecutionState,
    /// Incremented by every committed transition; the next transition must
    /// name it as `expected_version`.
    pub version: u64,
}

/// An execution as `ListExecutions` shows it (no input, output or state, so
/// a page stays small).
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionSummary {
    pub arn: String,
    pub state_machine_arn: String,
    pub version_arn: Option<String>,
    pub alias_arn: Option<String>,
    pub name: String,
    pub status: ExecutionStatus,
    pub start_date_ms: i64,
    pub stop_date_ms: Option<i64>,
    pub redrive_count: u32,
    pub redrive_date_ms: Option<i64>,
    pub map_run_arn: Option<String>,
    /// An operator holds it ([`ExecutionState::pause`]).
    pub paused: bool,
}

/// `ListExecutions`' filters. Exactly one of `state_machine_arn`,
/// `version_arn`, `alias_arn` or `map_run_arn` is normally set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExecutionFilter {
    pub state_machine_arn: Option<String>,
    pub version_arn: Option<String>,
    pub alias_arn: Option<String>,
    pub map_run_arn: Option<String>,
    pub status: Option<ExecutionStatus>,
    pub redrive: Option<RedriveFilter>,
    /// Only paused (`Some(true)`) or only unpaused (`Some(false)`) executions.
    pub paused: Option<bool>,
}

/// Everything one state transition writes, atomically.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub execution_arn: String,
    /// The execution's `version` this transition was computed from.
    pub expected_version: u64,
    pub state: ExecutionState,
    /// New history events, ids dense and following the last stored one.
    pub events: Vec<HistoryEvent>,
    pub timers: Vec<TimerChange>,
    pub tasks: Vec<TaskChange>,
}

/// What `create_execution` did.
#[derive(Debug, Clone, PartialEq)]
pub enum Created {
    /// The execution was created; its version is 1.
    New,
    /// An execution with this ARN already existed; nothing was written.
    Existing(Box<Execution>),
}

/// Creates, advances, reads and lists executions. Every write of an
/// execution's state goes through a [`Transition`] (see the module's
/// invariant).
pub trait ExecutionStore: Send + Sync {
    /// Creates an execution together with its first transition (whose
    /// `expected_version` is ignored). Idempotent by ARN: if the execution
    /// exists, nothing is written and it is returned.
    fn create_execution(&self, execution: NewExecution, first: Transition) -> Pending<Created>;

    /// As [`ExecutionStore::create_execution`], with the new execution's
    /// lease taken by `owner` until `lease_until_ms`, so that no other node
    /// claims it before the creator's next lease renewal.
    fn create_leased_execution(
        &self,
        execution: NewExecution,
        first: Transition,
        owner: &str,
        lease_until_ms: i64,
    ) -> Pending<Created>;

    /// Commits one transition. `Conflict` if the execution's version is not
    /// `expected_version`, `NotFound` if it does not exist. When the new
    /// status is not active, its remaining timers and tasks are dropped.
    fn commit(&self, transition: Transition) -> Pending<u64>;

    /// [`ExecutionStore::commit`], only while `fence.owner` holds the
    /// execution's lease with `fence.token`: otherwise nothing is written
    /// and the answer is `LeaseLost` (checked before the version, so a node
    /// that lost the lease learns that rather than "try again"). How a node
    /// commits: a node paused past its lease can never commit on top of the
    /// node that took the execution over.
    fn commit_fenced(&self, transition: Transition, fence: Fence) -> Pending<u64>;

    fn get_execution(&self, arn: &str) -> Result<Option<Execution>>;

    /// Executions newest first.
    fn list_executions(
        &self,
        filter: &ExecutionFilter,
        page: &PageRequest,
    ) -> Result<Page<ExecutionSummary>>;

    /// ARNs of active executions (RUNNING or PENDING_REDRIVE), for recovery,
    /// ordered by ARN.
    fn active_executions(&self, page: &PageRequest) -> Result<Page<String>>;

    /// How many executions are open (RUNNING or PENDING_REDRIVE), for the
    /// open-executions quota.
    fn count_open_executions(&self) -> Result<u64> {
        let mut page = PageRequest::first(1000);
        let mut n = 0u64;
        loop {
            let got = self.active_executions(&page)?;
            n += got.items.len() as u64;
            match got.next_token {
                Some(t) => page.next_token = Some(t),
                None => return Ok(n),
            }
        }
    }
}
