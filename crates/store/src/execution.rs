//! Executions, their history, timers and pending tasks: everything that
//! changes when an execution makes a state transition.
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
use crate::page::{Page, PageRequest};
use crate::pending::Pending;

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

/// A task the engine asked for and that has not completed yet.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingTask {
    pub task_id: u64,
    /// The resource ARN (which integration handles it; activities poll by it).
    pub resource: String,
    /// The engine's `TaskRequest`, serialised (opaque to the store).
    pub request: String,
    /// The task token, for `.waitForTaskToken` and activities.
    pub token: Option<String>,
    /// Which worker or node holds the task and until when (ms since epoch).
    pub lease_owner: Option<String>,
    pub lease_expires_ms: Option<i64>,
}

/// What a transition does to timers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimerChange {
    Arm(Timer),
    Cancel { timer_id: u64 },
}

/// What a transition does to tasks.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskChange {
    Queue(PendingTask),
    /// The task completed, failed or was cancelled: forget it.
    Remove {
        task_id: u64,
    },
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

/// A node's hold on an execution's lease, as a claim returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub execution_arn: String,
    /// The fencing token: it grows each time the lease changes hands, so a
    /// commit that carries an older one comes from a node that lost it.
    pub token: u64,
}

/// What a fenced commit proves: that `owner` still holds the execution's
/// lease with fencing `token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    pub owner: String,
    pub token: u64,
}

/// The fencing token of an execution created with a lease
/// ([`ExecutionStore::create_leased_execution`]).
pub const FIRST_LEASE_TOKEN: u64 = 1;

/// What `create_execution` did.
#[derive(Debug, Clone, PartialEq)]
pub enum Created {
    /// The execution was created; its version is 1.
    New,
    /// An execution with this ARN already existed; nothing was written.
    Existing(Box<Execution>),
}

/// `GetExecutionHistory`'s paging options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryQuery {
    pub page: PageRequest,
    /// Newest first.
    pub reverse: bool,
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

/// Reads and writes of executions and everything that hangs off them.
pub trait ExecutionStore: Send + Sync {
    /// Creates an execution together with its first transition (whose
    /// `expected_version` is ignored). Idempotent by ARN: if the execution
    /// exists, nothing is written and it is returned.
    fn create_execution(&self, execution: NewExecution, first: Transition) -> Pending<Created>;

    /// As [`ExecutionStore::create_execution`], with the new execution's
    /// lease taken by `owner` until `lease_until_ms`, so that no other node
    /// claims it before the creator's next lease renewal. Stores without
    /// leases just create it.
    fn create_leased_execution(
        &self,
        execution: NewExecution,
        first: Transition,
        owner: &str,
        lease_until_ms: i64,
    ) -> Pending<Created> {
        let _ = (owner, lease_until_ms);
        self.create_execution(execution, first)
    }

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

    /// One page of an execution's history. `NotFound` if it does not exist.
    fn history(&self, execution_arn: &str, query: &HistoryQuery) -> Result<Page<HistoryEvent>>;

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

    /// The armed timers of one execution.
    fn timers(&self, execution_arn: &str) -> Result<Vec<Timer>>;

    /// Timers of all executions due at or before `until_ms`, earliest first.
    fn due_timers(&self, until_ms: i64, limit: u32) -> Result<Vec<DueTimer>>;

    /// The pending (unanswered) tasks of one execution, by task id.
    fn pending_tasks(&self, execution_arn: &str) -> Result<Vec<PendingTask>>;

    /// The execution and task an open task token belongs to (`None` once
    /// the task is answered or gone).
    fn task_by_token(&self, token: &str) -> Result<Option<(String, PendingTask)>>;

    /// Closes the open task `token` names by recording `answer` (opaque to
    /// the store), atomically: of any number of concurrent answers to one
    /// token exactly one gets `Some` (the execution and the task); the
    /// others, and answers to a token whose task is answered, timed out,
    /// cancelled or unknown, get `None`. The answer stays with the task
    /// until a transition removes it ([`ExecutionStore::task_answers`]).
    fn answer_task(&self, token: &str, answer: String) -> Pending<Option<(String, PendingTask)>> {
        let _ = (token, answer);
        Pending::ready(Err(crate::Error::Backend(
            "this store cannot answer tasks".into(),
        )))
    }

    /// The answers recorded for tasks of one execution that no transition
    /// has consumed yet (a crash came in between), by task id.
    fn task_answers(&self, execution_arn: &str) -> Result<Vec<(u64, String)>> {
        let _ = execution_arn;
        Ok(Vec::new())
    }

    /// Takes the leases of up to `limit` active executions that nobody holds
    /// (or whose lease expired, or that `owner` holds already) until
    /// `now_ms + lease_ms`. Returns them with their fencing tokens, which
    /// grow whenever a lease changes hands (renewing one's own keeps it).
    /// Rows other claimers are locking are skipped, not waited for. A
    /// single node claims all at startup; several nodes split the work this
    /// way, and a node's periodic claim is also its renewal: an execution it
    /// ran that is missing from the answer was taken over.
    fn claim_leases(
        &self,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
    ) -> Pending<Vec<Lease>>;

    /// [`ExecutionStore::claim_leases`], ARNs only.
    fn claim_executions(
        &self,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
    ) -> Pending<Vec<String>>;

    /// Takes the lease of one execution, whatever its status, if nobody
    /// holds it, it expired, or `owner` holds it already (renewed), until
    /// `now_ms + lease_ms`; with `force`, also from another holder (whose
    /// next fenced commit is then refused). The fencing token, or `None`
    /// while another node holds it (never with `force`). `NotFound` if the
    /// execution does not exist. How a node takes an execution it is asked
    /// to act on before a claim gave it (an on-demand activation; with
    /// `force`, an operator's StopExecution or RedriveExecution that
    /// arrived at this node).
    fn claim_lease(
        &self,
        execution_arn: &str,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        force: bool,
    ) -> Pending<Option<u64>>;

    /// Up to `limit` recorded task answers ([`ExecutionStore::answer_task`])
    /// not yet consumed by a transition, of executions whose lease `owner`
    /// holds: (execution ARN, task id, answer). How the owner of an
    /// execution learns of a SendTaskSuccess/Failure another node took.
    fn owned_task_answers(&self, owner: &str, limit: u32) -> Result<Vec<(String, u64, String)>>;

    /// Records `event` (opaque to the store) for a running execution whose
    /// lease another node holds, and wakes that node
    /// ([`crate::Wakeup::Answer`]). The durable inbox: an activity worker's
    /// TaskStarted or a heartbeat that reached a node that does not run the
    /// execution takes effect on the node that does, so the execution is
    /// not moved and nothing it has in flight is dispatched again. `false`
    /// (nothing recorded) when the execution is not running.
    fn post_event(&self, execution_arn: &str, event: String) -> Pending<bool> {
        let _ = (execution_arn, event);
        Pending::ready(Err(crate::Error::Backend("this store has no inbox".into())))
    }

    /// Up to `limit` inbox events ([`ExecutionStore::post_event`]) of
    /// executions whose lease `owner` holds, oldest first: (inbox id,
    /// execution ARN, event).
    fn owned_inbox(&self, owner: &str, limit: u32) -> Result<Vec<(i64, String, String)>> {
        let _ = (owner, limit);
        Ok(Vec::new())
    }

    /// The inbox events of one execution, oldest first: (inbox id, event).
    fn inbox(&self, execution_arn: &str) -> Result<Vec<(i64, String)>> {
        let _ = execution_arn;
        Ok(Vec::new())
    }

    /// Forgets inbox events once their owner applied them (ids that are
    /// gone already are no error).
    fn delete_inbox(&self, ids: Vec<i64>) -> Pending<()> {
        let _ = ids;
        Pending::ready(Ok(()))
    }

    /// Leases the oldest pending task of `resource` that nobody holds (or
    /// whose lease expired) to `owner` until `now_ms + lease_ms`: how an
    /// activity worker's GetActivityTask takes work. `None` if there is none.
    fn claim_task(
        &self,
        resource: &str,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Pending<Option<(String, PendingTask)>> {
        let _ = (resource, owner, now_ms, lease_ms);
        Pending::ready(Err(crate::Error::Backend(
            "this store cannot lease tasks".into(),
        )))
    }

    /// Up to `limit` history events of an execution after event `after_id`,
    /// oldest first: how the console's live stream catches up. `NotFound`
    /// if the execution does not exist.
    fn history_after(
        &self,
        execution_arn: &str,
        after_id: u64,
        limit: u32,
    ) -> Result<Vec<HistoryEvent>> {
        let query = HistoryQuery {
            page: PageRequest {
                max_results: limit,
                // The forward history listing's cursor is the last event id
                // served, so "after N" is the page that follows event N.
                next_token: (after_id > 0)
                    .then(|| crate::page::encode_token("history", &after_id.to_string())),
            },
            reverse: false,
        };
        Ok(self.history(execution_arn, &query)?.items)
    }

    /// Notices of transitions as they commit on this node (see
    /// [`crate::commits`]); `None` for stores that do not publish them.
    fn subscribe_commits(
        &self,
    ) -> Option<tokio::sync::broadcast::Receiver<crate::commits::Committed>> {
        None
    }

    /// Wake-ups from other nodes sharing the database (see
    /// [`crate::commits::Wakeup`]); `None` for a store only one node uses
    /// (SQLite), where every wake-up is local.
    fn subscribe_wakeups(
        &self,
    ) -> Option<tokio::sync::broadcast::Receiver<crate::commits::Wakeup>> {
        None
    }

    /// Up to `limit` pending tasks of `resource` (an activity ARN) across
    /// executions, oldest first, each with its execution's ARN: what the
    /// console's Activities page shows (waiting, or leased to a worker).
    fn resource_tasks(&self, resource: &str, limit: u32) -> Result<Vec<(String, PendingTask)>> {
        let _ = (resource, limit);
        Err(crate::Error::Backend(
            "this store cannot list tasks by resource".into(),
        ))
    }

    /// The console's overview: aggregates over the executions of a time
    /// window (see [`crate::stats`]). Stores without them say so.
    fn overview(&self, query: &crate::stats::OverviewQuery) -> Result<crate::stats::Overview> {
        let _ = query;
        Err(crate::Error::Backend(
            "this store cannot compute overviews".into(),
        ))
    }

    /// Retention: deletes up to `limit` executions that finished (are not
    /// active) before `before_ms`, with their history, timers and tasks.
    /// Returns how many were deleted; fewer than `limit` means none are
    /// left. Stores without retention delete nothing.
    fn delete_finished_before(&self, before_ms: i64, limit: u32) -> Pending<u64> {
        let _ = (before_ms, limit);
        Pending::ready(Ok(0))
    }

    /// Name reuse: deletes the execution `arn`, with its history, timers
    /// and tasks, if it is finished (not active) and stopped before
    /// `stopped_before_ms`, so that a new execution may take its name.
    /// `false` when it does not exist or does not qualify.
    fn delete_finished_execution(&self, arn: &str, stopped_before_ms: i64) -> Pending<bool> {
        let _ = (arn, stopped_before_ms);
        Pending::ready(Err(crate::Error::Backend(
            "this store cannot delete executions to reuse their names".into(),
        )))
    }

    /// Group-commit counters (zero for stores without a batching writer).
    fn commit_stats(&self) -> CommitStats {
        CommitStats::default()
    }
}
