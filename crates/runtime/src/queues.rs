//! The durable flow-limit queues, as the server's flow wrapper uses them:
//! a task over a `[limits.integrations]` limit waits marked in the store
//! (its arrival order, priority and its execution's turn), a claim starts
//! the next ones across every node under a lock on the queue's row, and a
//! task that ran leaves its queue. The store's `TaskQueueStore` does the
//! work; this is its door, so the server needs no store of its own.

use std::sync::Arc;

use statecraft_store::{Pending, Result, Store};

pub use statecraft_store::{Enqueued, QueueClaim, QueueDepth, QueuedTask};

/// The flow-limit queues of one store (handed out by
/// [`Runtime::queues`](crate::Runtime::queues)). Cheap to clone.
#[derive(Clone)]
pub struct Queues {
    store: Arc<dyn Store>,
}

impl std::fmt::Debug for Queues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Queues")
    }
}

impl Queues {
    /// Marks task `task_id` of `execution_arn` as waiting in `queue`.
    pub fn enqueue(
        &self,
        execution_arn: &str,
        task_id: u64,
        queue: &str,
        priority: i64,
        now_ms: i64,
    ) -> Pending<Enqueued> {
        self.store
            .enqueue_task(execution_arn, task_id, queue, priority, now_ms)
    }

    /// Starts the next waiting tasks `claim` allows (all nodes counted).
    pub fn claim(&self, claim: QueueClaim) -> Pending<Vec<QueuedTask>> {
        self.store.claim_queued(claim)
    }

    /// Takes a task out of its queue once it has run.
    pub fn release(&self, execution_arn: &str, task_id: u64) -> Pending<()> {
        self.store.release_queued(execution_arn, task_id)
    }

    /// Every queue with tasks waiting or started.
    pub fn depths(&self, now_ms: i64) -> Result<Vec<QueueDepth>> {
        self.store.queue_depths(now_ms)
    }

    /// Sets a pending activity task's priority (its state machine's), so
    /// GetActivityTask hands out higher priorities first.
    pub fn set_task_priority(
        &self,
        execution_arn: &str,
        task_id: u64,
        priority: i64,
    ) -> Pending<()> {
        self.store
            .set_task_priority(execution_arn, task_id, priority)
    }
}

impl crate::Runtime {
    /// The durable flow-limit queues (see [`Queues`]).
    pub fn queues(&self) -> Queues {
        Queues {
            store: Arc::clone(&self.inner.store),
        }
    }
}
