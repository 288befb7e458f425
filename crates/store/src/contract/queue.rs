//! Durable flow-limit queues: a task held back by one of the server's
//! `[limits.integrations]` limits waits in the store, marked on its pending
//! task row, until a claim starts it. Both stores keep the same contract:
//!
//! - Order: within a queue, higher priorities first; within a priority,
//!   round-robin across executions (the execution served longest ago, or
//!   never, goes next, one task at a time), each execution's tasks in
//!   arrival order. The turns are stored, so the order after a restart is
//!   the order before it.
//! - Concurrency: a claim counts the queue's started tasks of running
//!   executions whose lease is live and starts at most `max_concurrent`
//!   minus that, in one transaction under a lock on the queue's row, so a
//!   limit holds across every node sharing the database. A node that dies
//!   holds its slots until its leases expire; then they no longer count.
//! - Nothing is lost: the mark lives on the task row, which the execution's
//!   transitions create and remove; a re-dispatched task (after a restart
//!   or a takeover) finds its place kept, or finds it started already.

use crate::error::Result;
use crate::pending::Pending;

/// What [`TaskQueueStore::enqueue_task`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    /// The task waits in the queue (newly, or still from before).
    Queued,
    /// The task was started by an earlier claim (a re-dispatch after a
    /// restart or a takeover): it runs without waiting again.
    Started,
    /// The task is not pending (answered, cancelled, or its execution is
    /// not stored: a StartSyncExecution run).
    Gone,
}

/// One task a claim started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedTask {
    pub execution_arn: String,
    pub task_id: u64,
}

/// A claim of free slots in one queue ([`TaskQueueStore::claim_queued`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueClaim {
    pub queue: String,
    /// Only tasks of executions whose lease this node holds are started
    /// (the node that runs them).
    pub owner: String,
    pub now_ms: i64,
    /// Started tasks at most, across nodes; `None`: no concurrency limit.
    pub max_concurrent: Option<u64>,
    /// Tasks this claim may start at most (the node's rate tokens).
    pub max_starts: u32,
}

/// One queue as operators see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueDepth {
    pub queue: String,
    /// Tasks waiting.
    pub queued: u64,
    /// Tasks started and not finished, of executions with a live lease.
    pub running: u64,
    /// When the longest-waiting task was queued (ms since the epoch).
    pub oldest_queued_ms: Option<i64>,
}

/// The durable queues. The defaults say the store has none.
pub trait TaskQueueStore: Send + Sync {
    /// Puts a pending task in `queue` with `priority` (its state machine's),
    /// unless it is there already (its place, or its start, is kept).
    fn enqueue_task(
        &self,
        execution_arn: &str,
        task_id: u64,
        queue: &str,
        priority: i64,
        now_ms: i64,
    ) -> Pending<Enqueued> {
        let _ = (execution_arn, task_id, queue, priority, now_ms);
        Pending::ready(Err(crate::Error::Backend(
            "this store has no task queues".into(),
        )))
    }

    /// Starts the next tasks of a queue in fair order, as many as the
    /// claim allows, and returns them (see the module doc).
    fn claim_queued(&self, claim: QueueClaim) -> Pending<Vec<QueuedTask>> {
        let _ = claim;
        Pending::ready(Err(crate::Error::Backend(
            "this store has no task queues".into(),
        )))
    }

    /// Takes a task out of its queue once it has run (its slot is free
    /// again). Nothing to do for a task that is gone.
    fn release_queued(&self, execution_arn: &str, task_id: u64) -> Pending<()> {
        let _ = (execution_arn, task_id);
        Pending::ready(Ok(()))
    }

    /// Every queue with tasks waiting or started, by name.
    fn queue_depths(&self, now_ms: i64) -> Result<Vec<QueueDepth>> {
        let _ = now_ms;
        Ok(Vec::new())
    }

    /// Sets a pending activity task's priority (its state machine's):
    /// GetActivityTask hands out higher priorities first, round-robin
    /// across executions within one. Nothing to do for a task that is gone.
    fn set_task_priority(&self, execution_arn: &str, task_id: u64, priority: i64) -> Pending<()> {
        let _ = (execution_arn, task_id, priority);
        Pending::ready(Ok(()))
    }
}

/// A task that may be started: its execution's row id and ARN, the task,
/// the priority and the execution's turn.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub execution_id: i64,
    pub execution_arn: String,
    pub task_id: i64,
    pub priority: i64,
    pub turn: i64,
}

/// Picks up to `n` candidates in fair order: the highest priority, then the
/// execution whose turn is smallest (served longest ago), one task, after
/// which that execution's turn becomes the next number from `next_turn`.
/// `candidates` are each execution's waiting tasks in arrival order.
/// Returns the picks and the executions' new turns.
pub(crate) fn pick(
    candidates: Vec<Candidate>,
    n: usize,
    mut next_turn: impl FnMut() -> i64,
) -> (Vec<Candidate>, Vec<(i64, i64)>) {
    use std::collections::{BTreeMap, VecDeque};
    let mut by_execution: BTreeMap<i64, VecDeque<Candidate>> = BTreeMap::new();
    for c in candidates {
        by_execution.entry(c.execution_id).or_default().push_back(c);
    }
    let mut turns: BTreeMap<i64, i64> = by_execution
        .iter()
        .filter_map(|(id, q)| q.front().map(|c| (*id, c.turn)))
        .collect();
    let mut picked = Vec::new();
    let mut served = BTreeMap::new();
    while picked.len() < n {
        let best = by_execution
            .iter()
            .filter_map(|(id, q)| q.front().map(|c| (*id, c.priority)))
            .min_by_key(|(id, priority)| {
                (
                    std::cmp::Reverse(*priority),
                    turns.get(id).copied().unwrap_or(0),
                    *id,
                )
            });
        let Some((id, _)) = best else { break };
        let Some(c) = by_execution.get_mut(&id).and_then(VecDeque::pop_front) else {
            break;
        };
        let turn = next_turn();
        turns.insert(id, turn);
        served.insert(id, turn);
        picked.push(c);
    }
    (picked, served.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(execution_id: i64, task_id: i64, priority: i64, turn: i64) -> Candidate {
        Candidate {
            execution_id,
            execution_arn: format!("e{execution_id}"),
            task_id,
            priority,
            turn,
        }
    }

    #[test]
    fn picks_round_robin_within_priority() {
        let mut seq = 100;
        let (picked, turns) = pick(
            vec![
                c(1, 1, 0, 2),
                c(1, 2, 0, 2),
                c(1, 3, 0, 2),
                c(2, 1, 0, 8),
                c(2, 2, 0, 8),
                c(3, 1, 5, 50),
            ],
            5,
            || {
                seq += 1;
                seq
            },
        );
        let order: Vec<(i64, i64)> = picked.iter().map(|c| (c.execution_id, c.task_id)).collect();
        assert_eq!(order, [(3, 1), (1, 1), (2, 1), (1, 2), (2, 2)]);
        assert_eq!(turns, [(1, 104), (2, 105), (3, 101)]);
    }
}
