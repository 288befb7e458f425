//! Retention for SQLite: removes finished executions (and their history,
//! timers, tasks and map runs) that stopped before a cut-off, a few at a time.
//!
//! Runs as one write on the group-commit writer, so it never races the hot
//! path's transitions; `limit` keeps each such write small so a batch that
//! carries it still commits quickly. No index on `stop_date_ms` is needed:
//! ids grow with start time, so scanning by id from the oldest finds old
//! finished executions first and stops after `limit` of them.

use rusqlite::{params, Connection};

use crate::error::Result;

/// Deletes up to `limit` executions that are not active and stopped before
/// `before_ms`, with everything that hangs off them. Returns how many.
pub(crate) fn delete_finished_before(conn: &Connection, before_ms: i64, limit: u32) -> Result<u64> {
    let ids: Vec<i64> = conn
        .prepare_cached(
            "SELECT id FROM executions \
             WHERE status NOT IN ('RUNNING', 'PENDING_REDRIVE') \
             AND stop_date_ms IS NOT NULL AND stop_date_ms < ?1 \
             ORDER BY id LIMIT ?2",
        )?
        .query_map(params![before_ms, i64::from(limit)], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for id in &ids {
        for sql in [
            "DELETE FROM history WHERE execution_id = ?1",
            "DELETE FROM timers WHERE execution_id = ?1",
            "DELETE FROM tasks WHERE execution_id = ?1",
            "DELETE FROM inbox WHERE execution_id = ?1",
            "DELETE FROM payloads WHERE execution_id = ?1",
            "DELETE FROM map_run_results WHERE map_run_arn IN (SELECT arn FROM map_runs \
             WHERE execution_arn = (SELECT arn FROM executions WHERE id = ?1))",
            "DELETE FROM map_runs WHERE execution_arn = (SELECT arn FROM executions WHERE id = ?1)",
            "DELETE FROM executions WHERE id = ?1",
        ] {
            conn.prepare_cached(sql)?.execute(params![id])?;
        }
    }
    Ok(ids.len() as u64)
}

/// Deletes the execution `arn` and everything that hangs off it if it is
/// not active and stopped before `before_ms` (a name reused after AWS's
/// window). Whether it did.
pub(crate) fn delete_finished_execution(
    conn: &Connection,
    arn: &str,
    before_ms: i64,
) -> Result<bool> {
    let id: Option<i64> = conn
        .prepare_cached(
            "SELECT id FROM executions WHERE arn = ?1 \
             AND status NOT IN ('RUNNING', 'PENDING_REDRIVE') \
             AND stop_date_ms IS NOT NULL AND stop_date_ms < ?2",
        )?
        .query_map(params![arn, before_ms], |r| r.get(0))?
        .next()
        .transpose()?;
    let Some(id) = id else {
        return Ok(false);
    };
    for sql in [
        "DELETE FROM history WHERE execution_id = ?1",
        "DELETE FROM timers WHERE execution_id = ?1",
        "DELETE FROM tasks WHERE execution_id = ?1",
        "DELETE FROM inbox WHERE execution_id = ?1",
        "DELETE FROM payloads WHERE execution_id = ?1",
        "DELETE FROM map_run_results WHERE map_run_arn IN \
         (SELECT arn FROM map_runs WHERE execution_arn = ?2)",
        "DELETE FROM map_runs WHERE execution_arn = ?2",
        "DELETE FROM executions WHERE id = ?1",
    ] {
        let mut stmt = conn.prepare_cached(sql)?;
        if sql.contains("?2") {
            stmt.execute(params![id, arn])?;
        } else {
            stmt.execute(params![id])?;
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use statecraft_types::{EventType, HistoryEvent};

    use crate::prelude::*;
    use crate::sqlite::{SqliteOptions, SqliteStore};
    use crate::{
        ExecutionState, ExecutionStatus, ExecutionStore, HistoryQuery, NewExecution, Transition,
    };

    fn state(status: ExecutionStatus, stop: Option<i64>) -> ExecutionState {
        ExecutionState {
            status,
            output: None,
            error: None,
            cause: None,
            stop_date_ms: stop,
            redrive_count: 0,
            redrive_date_ms: None,
            redrive_status: None,
            redrive_status_reason: None,
            engine_state: "{}".into(),
            pause: None,
            revision_id: None,
        }
    }

    /// An execution with two history events, finished at `stop` (or running).
    fn seed(store: &SqliteStore, name: &str, stop: Option<i64>) -> String {
        let arn = format!("arn:aws:states:us-east-1:1:execution:M:{name}");
        let event = |id, t| HistoryEvent {
            id,
            previous_event_id: id - 1,
            timestamp_ms: 0,
            event_type: t,
            details: None,
        };
        let new = NewExecution {
            arn: arn.clone(),
            state_machine_arn: "arn:aws:states:us-east-1:1:stateMachine:M".into(),
            version_arn: None,
            alias_arn: None,
            revision_id: "r".into(),
            name: name.into(),
            input: "{}".into(),
            trace_header: None,
            start_date_ms: 0,
            map_run_arn: None,
            parent_arn: None,
        };
        let first = Transition {
            execution_arn: arn.clone(),
            expected_version: 0,
            state: state(ExecutionStatus::Running, None),
            events: vec![event(1, EventType::ExecutionStarted)],
            timers: vec![],
            tasks: vec![],
        };
        store.create_execution(new, first).wait().unwrap();
        if let Some(stop) = stop {
            let end = Transition {
                execution_arn: arn.clone(),
                expected_version: 1,
                state: state(ExecutionStatus::Succeeded, Some(stop)),
                events: vec![event(2, EventType::ExecutionSucceeded)],
                timers: vec![],
                tasks: vec![],
            };
            store.commit(end).wait().unwrap();
        }
        arn
    }

    #[test]
    fn old_finished_executions_go_in_batches_and_the_rest_stay() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&SqliteOptions::new(dir.path())).unwrap();
        let old: Vec<String> = (0..5)
            .map(|i| seed(&store, &format!("old-{i}"), Some(1_000 + i)))
            .collect();
        let recent = seed(&store, "recent", Some(50_000));
        let running = seed(&store, "running", None);

        let delete = |limit| {
            store
                .write(move |c| super::delete_finished_before(c, 10_000, limit))
                .wait()
                .unwrap()
        };
        assert_eq!(delete(3), 3);
        assert_eq!(delete(3), 2);
        assert_eq!(delete(3), 0);

        for arn in &old {
            assert_eq!(store.get_execution(arn).unwrap(), None, "{arn}");
            // The history goes with it (NotFound, or at least nothing left).
            let h = store.history(arn, &HistoryQuery::default());
            assert!(h.map_or(true, |p| p.items.is_empty()), "{arn}");
        }
        assert!(store.get_execution(&recent).unwrap().is_some());
        assert!(store.get_execution(&running).unwrap().is_some());
        let kept = store.history(&recent, &HistoryQuery::default()).unwrap();
        assert_eq!(kept.items.len(), 2);
    }
}
