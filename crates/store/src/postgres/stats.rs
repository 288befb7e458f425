//! The console's overview on PostgreSQL (see [`crate::stats`]): counts by
//! status per bucket of time, what is active now, the slowest machines and
//! the states that the newest failed executions last entered. Each query is
//! a range scan of `executions_by_start` (or `executions_by_machine_start`
//! for one machine) or of the partial index of active executions.

use std::collections::HashMap;

use postgres::types::ToSql;

use crate::error::Result;
use crate::stats::{
    Bucket, FailingState, Overview, OverviewQuery, SlowMachine, StatusCounts, FAILED_SAMPLE,
    MAX_BUCKETS,
};

use super::db::Db;
use super::queries::{parse_event, to_u64};

/// The `WHERE` clause shared by the windowed queries (`$1` since, `$2`
/// until, `$3` the machine when there is one).
fn window(q: &OverviewQuery) -> &'static str {
    if q.state_machine_arn.is_some() {
        "start_date_ms >= $1 AND start_date_ms < $2 AND state_machine_arn = $3"
    } else {
        "start_date_ms >= $1 AND start_date_ms < $2"
    }
}

pub(crate) fn overview(db: &mut Db, q: &OverviewQuery) -> Result<Overview> {
    let buckets = q.buckets.clamp(1, MAX_BUCKETS);
    let span = q.until_ms.saturating_sub(q.since_ms).max(1);
    // Round the width up so that `buckets` of them cover the window.
    let width = (span + i64::from(buckets) - 1) / i64::from(buckets);
    let top = i64::from(q.top.clamp(1, 100));
    let machine = q.state_machine_arn.clone().unwrap_or_default();

    let mut timeline: Vec<Bucket> = (0..i64::from(buckets))
        .map(|i| Bucket {
            start_ms: q.since_ms + i * width,
            counts: StatusCounts::default(),
        })
        .collect();
    let mut window_counts = StatusCounts::default();
    // One GROUP BY over the window: the bucket is computed in SQL, so the
    // whole timeline is one index range scan and one round trip.
    let sql = format!(
        "SELECT (start_date_ms - $1) / {width} AS bucket, status, COUNT(*) FROM executions \
         WHERE {} GROUP BY 1, 2",
        window(q)
    );
    let rows = {
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&q.since_ms, &q.until_ms];
        if q.state_machine_arn.is_some() {
            params.push(&machine);
        }
        db.query(&sql, &params)?
    };
    for row in rows {
        let bucket: i64 = row.try_get(0)?;
        let status: String = row.try_get(1)?;
        let n = to_u64(row.try_get(2)?);
        window_counts.add(&status, n);
        if let Some(b) = usize::try_from(bucket)
            .ok()
            .and_then(|i| timeline.get_mut(i))
        {
            b.counts.add(&status, n);
        }
    }

    let active_now: i64 = match &q.state_machine_arn {
        Some(m) => db
            .query_one(
                "SELECT COUNT(*) FROM executions WHERE state_machine_arn = $1 \
                 AND status IN ('RUNNING', 'PENDING_REDRIVE')",
                &[m],
            )?
            .try_get(0)?,
        None => db
            .query_one(
                "SELECT COUNT(*) FROM executions WHERE status IN ('RUNNING', 'PENDING_REDRIVE')",
                &[],
            )?
            .try_get(0)?,
    };

    let slowest_machines = {
        let sql = format!(
            "SELECT state_machine_arn, COUNT(*), AVG(stop_date_ms - start_date_ms)::FLOAT8, \
             MAX(stop_date_ms - start_date_ms) FROM executions \
             WHERE {} AND stop_date_ms IS NOT NULL \
             GROUP BY state_machine_arn ORDER BY 3 DESC, 1 LIMIT {top}",
            window(q)
        );
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&q.since_ms, &q.until_ms];
        if q.state_machine_arn.is_some() {
            params.push(&machine);
        }
        db.query(&sql, &params)?
            .iter()
            .map(|r| {
                Ok(SlowMachine {
                    state_machine_arn: r.try_get(0)?,
                    executions: to_u64(r.try_get(1)?),
                    average_ms: r.try_get::<_, Option<f64>>(2)?.unwrap_or(0.0),
                    max_ms: r.try_get::<_, Option<i64>>(3)?.unwrap_or(0),
                })
            })
            .collect::<Result<Vec<_>>>()?
    };

    let failing_states = failing_states(db, q, &machine, top)?;

    Ok(Overview {
        window: window_counts,
        active_now: to_u64(active_now),
        timeline,
        failing_states,
        slowest_machines,
    })
}

/// How many candidate events are read per failed execution: the text
/// filter can match a state entered event's details too, so a few are read
/// and the first whose type really is a state entered wins.
const LAST_EVENTS: i64 = 4;

/// Ranks the states that the newest failed (or timed out) executions of the
/// window last entered: where they were when they failed.
fn failing_states(
    db: &mut Db,
    q: &OverviewQuery,
    machine: &String,
    top: i64,
) -> Result<Vec<FailingState>> {
    let sql = format!(
        "SELECT id, state_machine_arn, error, arn FROM executions \
         WHERE {} AND status IN ('FAILED', 'TIMED_OUT') \
         ORDER BY start_date_ms DESC LIMIT {FAILED_SAMPLE}",
        window(q)
    );
    let failed = {
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&q.since_ms, &q.until_ms];
        if q.state_machine_arn.is_some() {
            params.push(machine);
        }
        db.query(&sql, &params)?
    };
    let mut counts: HashMap<(String, String, Option<String>), u64> = HashMap::new();
    for row in failed {
        let id: i64 = row.try_get(0)?;
        let machine: String = row.try_get(1)?;
        let error: Option<String> = row.try_get(2)?;
        let arn: String = row.try_get(3)?;
        // A text filter on the wire form (`"type":"…StateEntered","id"`) and
        // the parse here rather than JSON operators in SQL, so the query
        // stays portable; a backwards walk on the history's primary key.
        let events = db.query(
            "SELECT event_id, event FROM history WHERE execution_id = $1 \
             AND event LIKE '%StateEntered\",%' ORDER BY event_id DESC LIMIT $2",
            &[&id, &LAST_EVENTS],
        )?;
        for e in events {
            let event = parse_event(e.try_get(1)?, e.try_get(0)?, &arn)?;
            if !event.event_type.as_str().ends_with("StateEntered") {
                continue;
            }
            let name = event
                .details
                .as_ref()
                .and_then(|d| d.get("name"))
                .and_then(|n| n.as_str());
            if let Some(state) = name {
                *counts
                    .entry((machine.clone(), state.to_string(), error.clone()))
                    .or_default() += 1;
            }
            break;
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
