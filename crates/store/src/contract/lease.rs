//! Leases: which node runs which execution. Executions carry a lease and
//! a fencing token; a node claims (and by claiming again, renews) the
//! executions it runs, and what other nodes record for them (task answers,
//! inbox events) reaches the holder through the reads here. A commit that
//! proves its lease is [`crate::ExecutionStore::commit_fenced`].

use crate::error::Result;
use crate::pending::Pending;

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
/// ([`crate::ExecutionStore::create_leased_execution`]).
pub const FIRST_LEASE_TOKEN: u64 = 1;

/// Claims of execution leases, and what other nodes left for a lease's
/// holder.
pub trait LeaseStore: Send + Sync {
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

    /// [`LeaseStore::claim_leases`], ARNs only.
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

    /// Up to `limit` recorded task answers ([`crate::TaskStore::answer_task`])
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
    fn post_event(&self, execution_arn: &str, event: String) -> Pending<bool>;

    /// Up to `limit` inbox events ([`LeaseStore::post_event`]) of
    /// executions whose lease `owner` holds, oldest first: (inbox id,
    /// execution ARN, event).
    fn owned_inbox(&self, owner: &str, limit: u32) -> Result<Vec<(i64, String, String)>>;

    /// The inbox events of one execution, oldest first: (inbox id, event).
    fn inbox(&self, execution_arn: &str) -> Result<Vec<(i64, String)>>;

    /// Forgets inbox events once their owner applied them (ids that are
    /// gone already are no error).
    fn delete_inbox(&self, ids: Vec<i64>) -> Pending<()>;
}
