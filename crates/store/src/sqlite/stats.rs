//! The console's read queries on SQLite: the overview's aggregates (see
//! [`crate::stats`]), each a range scan on a covering index
//! (`executions_by_start`, or `executions_by_machine_start` for one machine,
//! migration 2) or on the small partial index of active executions; and the
//! pending tasks of an activity (on `tasks_by_resource`).

use std::collections::HashMap;

use rusqlite::types::Value as Sql;
use rusqlite::{params_from_iter, Connection, OptionalExtension};

use crate::error::Result;
use crate::stats::{
    Bucket, FailingState, Overview, OverviewQuery, SlowMachine, StatusCounts, FAILED_SAMPLE,
    MAX_BUCKETS,
};
use crate::PendingTask;

fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// The `WHERE` clause shared by the windowed queries, and its arguments.
fn window(q: &OverviewQuery) -> (String, Vec<Sql>) {
    let mut sql = String::from("start_date_ms >= ?1 AND start_date_ms < ?2");
    let mut args = vec![Sql::Integer(q.since_ms), Sql::Integer(q.until_ms)];
    if let Some(m) = &q.state_machine_arn {
        args.push(Sql::Text(m.clone()));
        sql.push_str(&format!(" AND state_machine_arn = ?{}", args.len()));
    }
    (sql, args)
}

pub(crate) fn overview(conn: &Connection, q: &OverviewQuery) -> Result<Overview> {
    let buckets = q.buckets.clamp(1, MAX_BUCKETS);
    let span = q.until_ms.saturating_sub(q.since_ms).max(1);
    // Round the width up so that `buckets` of them cover the window.
    let width = (span + i64::from(buckets) - 1) / i64::from(buckets);
    let top = i64::from(q.top.clamp(1, 100));

    let mut timeline: Vec<Bucket> = (0..i64::from(buckets))
        .map(|i| Bucket {
            start_ms: q.since_ms + i * width,
            counts: StatusCounts::default(),
        })
        .collect();
    let mut window_counts = StatusCounts::default();
    {
        // One query per bucket rather than one GROUP BY over the window:
        // each is a range scan of the covering index whose grouping by
        // status stays tiny, where a single GROUP BY (bucket, status)
        // would sort every row of the window.
        let (cond, args) = window(q);
        let sql = format!("SELECT status, COUNT(*) FROM executions WHERE {cond} GROUP BY status");
        let mut stmt = conn.prepare_cached(&sql)?;
        for bucket in &mut timeline {
            let mut args = args.clone();
            if let Some(since) = args.get_mut(0) {
                *since = Sql::Integer(bucket.start_ms);
            }
            if let Some(until) = args.get_mut(1) {
                *until = Sql::Integer(bucket.start_ms.saturating_add(width).min(q.until_ms));
            }
            let rows = stmt
                .query_map(params_from_iter(args), |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            for (status, n) in rows {
                window_counts.add(&status, to_u64(n));
                bucket.counts.add(&status, to_u64(n));
            }
        }
    }

    let active_now: i64 = match &q.state_machine_arn {
        Some(m) => conn
            .prepare_cached(
                "SELECT COUNT(*) FROM executions WHERE state_machine_arn = ?1 \
                 AND status IN ('RUNNING', 'PENDING_REDRIVE')",
            )?
            .query_row([m], |r| r.get(0))?,
        None => conn
            .prepare_cached(
                // The planner prefers scanning a covering index of every
                // execution; the partial index holds only the active ones.
                "SELECT COUNT(*) FROM executions INDEXED BY executions_active \
                 WHERE status IN ('RUNNING', 'PENDING_REDRIVE')",
            )?
            .query_row([], |r| r.get(0))?,
    };

    let slowest_machines = {
        let (cond, mut args) = window(q);
        args.push(Sql::Integer(top));
        let sql = format!(
            "SELECT state_machine_arn, COUNT(*), AVG(stop_date_ms - start_date_ms), \
             MAX(stop_date_ms - start_date_ms) FROM executions \
             WHERE {cond} AND stop_date_ms IS NOT NULL \
             GROUP BY state_machine_arn ORDER BY 3 DESC LIMIT ?{}",
            args.len()
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt
            .query_map(params_from_iter(args), |r| {
                Ok(SlowMachine {
                    state_machine_arn: r.get(0)?,
                    executions: to_u64(r.get(1)?),
                    average_ms: r.get::<_, Option<f64>>(2)?.unwrap_or(0.0),
                    max_ms: r.get::<_, Option<i64>>(3)?.unwrap_or(0),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows
    };

    let failing_states = failing_states(conn, q, top)?;

    Ok(Overview {
        window: window_counts,
        active_now: to_u64(active_now),
        timeline,
        failing_states,
        slowest_machines,
    })
}

/// Ranks the states that the newest failed (or timed out) executions of the
/// window last entered: where they were when they failed.
fn failing_states(conn: &Connection, q: &OverviewQuery, top: i64) -> Result<Vec<FailingState>> {
    let (cond, mut args) = window(q);
    args.push(Sql::Integer(i64::from(FAILED_SAMPLE)));
    let sql = format!(
        "SELECT id, state_machine_arn, error FROM executions \
         WHERE {cond} AND status IN ('FAILED', 'TIMED_OUT') \
         ORDER BY start_date_ms DESC LIMIT ?{}",
        args.len()
    );
    let failed = conn
        .prepare_cached(&sql)?
        .query_map(params_from_iter(args), |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;

    // Newest event first, stopping at the first state entered: a short
    // backwards walk on the history's primary key.
    let mut last_state = conn.prepare_cached(
        "SELECT json_extract(event, '$.stateEnteredEventDetails.name') FROM history \
         WHERE execution_id = ?1 AND json_extract(event, '$.type') LIKE '%StateEntered' \
         ORDER BY event_id DESC LIMIT 1",
    )?;
    let mut counts: HashMap<(String, String, Option<String>), u64> = HashMap::new();
    for (id, machine, error) in failed {
        let state: Option<Option<String>> = last_state.query_row([id], |r| r.get(0)).optional()?;
        if let Some(Some(state)) = state {
            *counts.entry((machine, state, error)).or_default() += 1;
        }
    }
    let mut ranked: Vec<FailingState> = counts
        .into_iter()
        .map(
            |((state_machine_arn, state_name, error), count)| FailingState {
                state_machine_arn,
                state_name,
                error,
                count,
            },
        )
        .collect();
    // Ties broken by name so that the answer is stable.
    ranked.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.state_machine_arn.cmp(&b.state_machine_arn))
            .then_with(|| a.state_name.cmp(&b.state_name))
    });
    ranked.truncate(usize::try_from(top).unwrap_or(10));
    Ok(ranked)
}

/// The pending tasks of `resource` (an activity ARN), oldest first, with
/// their executions' ARNs.
pub(crate) fn resource_tasks(
    conn: &Connection,
    resource: &str,
    limit: u32,
) -> Result<Vec<(String, PendingTask)>> {
    let rows = conn
        .prepare_cached(
            "SELECT e.arn, t.task_id, t.resource, t.request, t.token, t.lease_owner, \
             t.lease_expires_ms FROM tasks t JOIN executions e ON e.id = t.execution_id \
             WHERE t.resource = ?1 ORDER BY t.execution_id, t.task_id LIMIT ?2",
        )?
        .query_map(rusqlite::params![resource, i64::from(limit)], |r| {
            Ok((
                r.get::<_, String>(0)?,
                PendingTask {
                    task_id: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                    resource: r.get(2)?,
                    request: r.get(3)?,
                    token: r.get(4)?,
                    lease_owner: r.get(5)?,
                    lease_expires_ms: r.get(6)?,
                },
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}
