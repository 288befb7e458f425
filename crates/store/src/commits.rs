//! Notices of committed transitions, for whoever follows executions live
//! (the console's server-sent event streams): a store that supports them
//! publishes one [`Committed`] per transition after its database
//! transaction commits, on a bounded broadcast channel.
//!
//! A notice is a hint to read, never the data itself: a subscriber that
//! lags loses notices (the channel is bounded so a slow reader never holds
//! the writer back) and catches up by reading the store, which stays the
//! only source of truth. Commits made by other nodes of a cluster are not
//! seen here, so followers also read on a slow tick.

use crate::execution::{ExecutionStatus, Transition};

/// How many notices a subscriber may fall behind before it lags.
pub const CAPACITY: usize = 4096;

/// One committed transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    pub execution_arn: String,
    /// The id of the last history event the transition wrote (0 if none).
    pub last_event_id: u64,
    /// The execution's status after it.
    pub status: ExecutionStatus,
}

impl Committed {
    /// The notice `transition` will give once committed.
    pub fn of(transition: &Transition) -> Committed {
        Committed {
            execution_arn: transition.execution_arn.clone(),
            last_event_id: transition.events.last().map_or(0, |e| e.id),
            status: transition.state.status,
        }
    }
}
