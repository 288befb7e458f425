//! Counts for metrics, read on a pooled connection (never the writer).

use rusqlite::{params, Connection};

use crate::error::Result;

/// Tasks of `resource` waiting for a worker: queued and not leased, or
/// whose lease ran out (a worker that will not answer). `tasks_by_resource`
/// makes this an index range count.
pub(crate) fn queued_tasks(conn: &Connection, resource: &str, now_ms: i64) -> Result<u64> {
    let n: i64 = conn
        .prepare_cached(
            "SELECT COUNT(*) FROM tasks WHERE resource = ?1 \
             AND (lease_owner IS NULL OR lease_expires_ms < ?2)",
        )?
        .query_row(params![resource, now_ms], |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}
