//! Pending tasks: what the engine asked an integration or an activity
//! worker to do and is waiting on. Queued and removed by a
//! [`crate::Transition`]; answered by token (callbacks, activity workers)
//! and leased to activity workers here.

use crate::error::Result;
use crate::pending::Pending;

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

/// What a transition does to tasks.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskChange {
    Queue(PendingTask),
    /// The task completed, failed or was cancelled: forget it.
    Remove {
        task_id: u64,
    },
}

/// Reads of pending tasks, their answers and activity workers' leases.
pub trait TaskStore: Send + Sync {
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
    /// until a transition removes it ([`TaskStore::task_answers`]).
    fn answer_task(&self, token: &str, answer: String) -> Pending<Option<(String, PendingTask)>>;

    /// The answers recorded for tasks of one execution that no transition
    /// has consumed yet (a crash came in between), by task id.
    fn task_answers(&self, execution_arn: &str) -> Result<Vec<(u64, String)>>;

    /// Leases the oldest pending task of `resource` that nobody holds (or
    /// whose lease expired) to `owner` until `now_ms + lease_ms`: how an
    /// activity worker's GetActivityTask takes work. `None` if there is none.
    fn claim_task(
        &self,
        resource: &str,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Pending<Option<(String, PendingTask)>>;

    /// Up to `limit` pending tasks of `resource` (an activity ARN) across
    /// executions, oldest first, each with its execution's ARN: what the
    /// console's Activities page shows (waiting, or leased to a worker).
    fn resource_tasks(&self, resource: &str, limit: u32) -> Result<Vec<(String, PendingTask)>>;
}
