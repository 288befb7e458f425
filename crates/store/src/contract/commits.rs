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

/// Work another node committed that this node may have to act on, as the
/// PostgreSQL store hears it (LISTEN/NOTIFY on the `statecraft` channel,
/// sent in the committing transaction, so heard only once it committed).
/// A hint, like [`Committed`]: the slow polls stay the safety net where
/// notifications are lost or absent (a transaction-pooling proxy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wakeup {
    /// A task of this activity was queued.
    Task { resource: String },
    /// An answer to a task of this execution was recorded.
    Answer { execution_arn: String },
    /// An execution was started without a lease (on an `api`-only node).
    Start,
    /// Transitions of these executions committed on the node `from` (the
    /// store instance that sent them, so a node skips its own): what the
    /// console's live pages on other nodes follow.
    Commits { from: String, arns: Vec<String> },
}

impl Wakeup {
    /// The notification payload.
    pub fn payload(&self) -> String {
        match self {
            Wakeup::Task { resource } => format!("task {resource}"),
            Wakeup::Answer { execution_arn } => format!("answer {execution_arn}"),
            Wakeup::Start => "start".into(),
            Wakeup::Commits { from, arns } => format!("commits {from} {}", arns.join(" ")),
        }
    }

    /// Reads a payload; `None` for one this build does not know.
    pub fn parse(payload: &str) -> Option<Wakeup> {
        match payload.split_once(' ') {
            Some(("task", r)) => Some(Wakeup::Task {
                resource: r.to_string(),
            }),
            Some(("answer", a)) => Some(Wakeup::Answer {
                execution_arn: a.to_string(),
            }),
            Some(("commits", rest)) => {
                let mut words = rest.split(' ');
                let from = words.next()?.to_string();
                Some(Wakeup::Commits {
                    from,
                    arns: words
                        .filter(|w| !w.is_empty())
                        .map(str::to_string)
                        .collect(),
                })
            }
            None if payload == "start" => Some(Wakeup::Start),
            _ => None,
        }
    }
}

/// The PostgreSQL channel wake-ups are sent on.
pub const WAKEUP_CHANNEL: &str = "statecraft";

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

/// Subscriptions to commit notices and cross-node wake-ups. Both are hints
/// to read the store again, never the data itself.
pub trait NoticeStore: Send + Sync {
    /// Notices of transitions as they commit on this node (see the
    /// module); `None` for stores that do not publish them.
    fn subscribe_commits(&self) -> Option<tokio::sync::broadcast::Receiver<Committed>> {
        None
    }

    /// Wake-ups from other nodes sharing the database (see [`Wakeup`]);
    /// `None` for a store only one node uses (SQLite), where every wake-up
    /// is local.
    fn subscribe_wakeups(&self) -> Option<tokio::sync::broadcast::Receiver<Wakeup>> {
        None
    }
}
