//! A write that publishes a [`Committed`] notice once its batch commits:
//! the writer's ordinary job, plus the broadcast after the fact, so a
//! notice never announces data a reader could not see yet.

use rusqlite::Connection;
use tokio::sync::broadcast;

use crate::commits::Committed;
use crate::error::{Error, Result};
use crate::pending::Completer;

use super::writer::Job;

struct NotifyingWrite<T, F> {
    op: F,
    result: Option<Result<T>>,
    completer: Completer<T>,
    notice: Committed,
    /// Whether a successful result wrote anything worth announcing (an
    /// idempotent create that found its execution did not).
    announce: fn(&T) -> bool,
    commits: broadcast::Sender<Committed>,
}

impl<T: Send, F: Fn(&Connection) -> Result<T> + Send> Job for NotifyingWrite<T, F> {
    fn run(&mut self, conn: &Connection) -> bool {
        let r = (self.op)(conn);
        let ok = r.is_ok();
        self.result = Some(r);
        ok
    }

    fn finish(self: Box<Self>, commit: Result<()>) {
        let outcome = match (commit, self.result) {
            (Err(e), _) => Err(e),
            (Ok(()), Some(r)) => r,
            (Ok(()), None) => Err(Error::Backend("the write did not run".into())),
        };
        if let Ok(v) = &outcome {
            if (self.announce)(v) {
                // No subscribers is the normal case: nothing to report.
                let _ = self.commits.send(self.notice);
            }
        }
        self.completer.complete(outcome);
    }
}

/// Wraps a typed write as a [`Job`] that publishes `notice` on `commits`
/// when it commits and `announce` holds for its result.
pub(crate) fn job<T: Send + 'static>(
    completer: Completer<T>,
    op: impl Fn(&Connection) -> Result<T> + Send + 'static,
    notice: Committed,
    announce: fn(&T) -> bool,
    commits: broadcast::Sender<Committed>,
) -> Box<dyn Job> {
    Box::new(NotifyingWrite {
        op,
        result: None,
        completer,
        notice,
        announce,
        commits,
    })
}

#[cfg(test)]
mod tests {
    use statecraft_types::{EventType, HistoryEvent};

    use crate::prelude::*;
    use crate::sqlite::{SqliteOptions, SqliteStore};
    use crate::Committed;
    use crate::{
        Created, ExecutionState, ExecutionStatus, ExecutionStore, NewExecution, Transition,
    };

    const ARN: &str = "arn:aws:states:us-east-1:123456789012:execution:sm:notified";

    fn transition(version: u64, status: ExecutionStatus, id: u64, t: EventType) -> Transition {
        Transition {
            execution_arn: ARN.into(),
            expected_version: version,
            state: ExecutionState {
                status,
                output: None,
                error: None,
                cause: None,
                stop_date_ms: None,
                redrive_count: 0,
                redrive_date_ms: None,
                redrive_status: None,
                redrive_status_reason: None,
                engine_state: "{}".into(),
                pause: None,
                revision_id: None,
            },
            events: vec![HistoryEvent {
                id,
                previous_event_id: id - 1,
                timestamp_ms: 1_000,
                event_type: t,
                details: None,
            }],
            timers: vec![],
            tasks: vec![],
        }
    }

    fn create(store: &SqliteStore) -> Created {
        let execution = NewExecution {
            arn: ARN.into(),
            state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:sm".into(),
            version_arn: None,
            alias_arn: None,
            revision_id: "r".into(),
            name: "notified".into(),
            input: "{}".into(),
            trace_header: None,
            start_date_ms: 1_000,
            map_run_arn: None,
            parent_arn: None,
        };
        let first = transition(0, ExecutionStatus::Running, 1, EventType::ExecutionStarted);
        store.create_execution(execution, first).wait().unwrap()
    }

    fn finish(version: u64) -> Transition {
        transition(
            version,
            ExecutionStatus::Succeeded,
            2,
            EventType::ExecutionSucceeded,
        )
    }

    #[test]
    fn commits_are_announced_after_they_commit_and_conflicts_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&SqliteOptions::new(dir.path())).unwrap();
        let mut rx = store.subscribe_commits().unwrap();

        assert_eq!(create(&store), Created::New);
        let created = rx.try_recv().unwrap();
        assert_eq!(created.execution_arn, ARN);
        assert_eq!(created.last_event_id, 1);
        assert_eq!(created.status, ExecutionStatus::Running);
        // Creating it again finds it: no news.
        assert!(matches!(create(&store), Created::Existing(_)));
        assert!(rx.try_recv().is_err());

        // A stale transition is refused and not announced.
        assert!(store.commit(finish(7)).wait().is_err());
        assert!(rx.try_recv().is_err());

        store.commit(finish(1)).wait().unwrap();
        assert_eq!(
            rx.try_recv().unwrap(),
            Committed {
                execution_arn: ARN.into(),
                last_event_id: 2,
                status: ExecutionStatus::Succeeded,
            }
        );
    }
}
