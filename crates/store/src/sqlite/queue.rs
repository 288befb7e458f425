//! The SQLite store's flow-limit queues ([`crate::queue`]), activity tasks
//! handed out round-robin across executions, and schedules
//! ([`crate::schedule`]). One writer thread: each write is alone in the
//! database, so a claim's count and starts cannot interleave with another.

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::Result;
use crate::pending::Pending;
use crate::queue::{Candidate, Enqueued, QueueClaim, QueueDepth, QueuedTask, TaskQueueStore};
use crate::schedule::{ScheduleStore, StoredSchedule};

use super::SqliteStore;

/// The next number of a queue's counter.
fn next_seq(conn: &Connection, queue: &str) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO queues (name, seq) VALUES (?1, 0) ON CONFLICT (name) DO NOTHING",
    )?
    .execute([queue])?;
    Ok(conn
        .prepare_cached("UPDATE queues SET seq = seq + 1 WHERE name = ?1 RETURNING seq")?
        .query_row([queue], |r| r.get(0))?)
}

fn enqueue(
    conn: &Connection,
    arn: &str,
    task_id: i64,
    queue: &str,
    priority: i64,
    now_ms: i64,
) -> Result<Enqueued> {
    let row: Option<(i64, Option<String>, Option<i64>)> = conn
        .prepare_cached(
            "SELECT t.execution_id, t.queue, t.started_ms FROM tasks t \
             JOIN executions e ON e.id = t.execution_id \
             WHERE e.arn = ?1 AND t.task_id = ?2",
        )?
        .query_row(params![arn, task_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    let Some((execution_id, current, started)) = row else {
        return Ok(Enqueued::Gone);
    };
    if current.is_some() {
        return Ok(if started.is_some() {
            Enqueued::Started
        } else {
            Enqueued::Queued
        });
    }
    let seq = next_seq(conn, queue)?;
    conn.prepare_cached(
        "UPDATE tasks SET queue = ?3, queue_seq = ?4, queue_priority = ?5, queued_ms = ?6, \
         started_ms = NULL WHERE execution_id = ?1 AND task_id = ?2",
    )?
    .execute(params![execution_id, task_id, queue, seq, priority, now_ms])?;
    conn.prepare_cached(
        "INSERT INTO queue_turns (queue, execution_id, turn) VALUES (?1, ?2, ?3) \
         ON CONFLICT (queue, execution_id) DO NOTHING",
    )?
    .execute(params![queue, execution_id, seq])?;
    Ok(Enqueued::Queued)
}

fn claim(conn: &Connection, c: &QueueClaim) -> Result<Vec<QueuedTask>> {
    // Turns of executions with nothing left in the queue (they ended, or
    // were stopped, with tasks still queued) are forgotten.
    conn.prepare_cached(
        "DELETE FROM queue_turns WHERE queue = ?1 AND NOT EXISTS (SELECT 1 FROM tasks t \
         WHERE t.execution_id = queue_turns.execution_id AND t.queue = ?1)",
    )?
    .execute([&c.queue])?;
    let running: i64 = conn
        .prepare_cached(
            "SELECT COUNT(*) FROM tasks t JOIN executions e ON e.id = t.execution_id \
             WHERE t.queue = ?1 AND t.started_ms IS NOT NULL AND e.status = 'RUNNING' \
             AND e.lease_expires_ms >= ?2",
        )?
        .query_row(params![c.queue, c.now_ms], |r| r.get(0))?;
    let free = match c.max_concurrent {
        Some(max) => max.saturating_sub(u64::try_from(running).unwrap_or(0)),
        None => u64::MAX,
    };
    let n = usize::try_from(free.min(u64::from(c.max_starts))).unwrap_or(usize::MAX);
    if n == 0 {
        return Ok(Vec::new());
    }
    let limit = i64::try_from(n).unwrap_or(i64::MAX);
    let candidates = conn
        .prepare_cached(
            "SELECT execution_id, arn, task_id, priority, turn FROM ( \
               SELECT t.execution_id, e.arn, t.task_id, COALESCE(t.queue_priority, 0) AS priority, \
                      COALESCE(q.turn, 0) AS turn, t.queue_seq, \
                      ROW_NUMBER() OVER (PARTITION BY t.execution_id ORDER BY t.queue_seq) AS rn \
               FROM tasks t JOIN executions e ON e.id = t.execution_id \
               LEFT JOIN queue_turns q ON q.queue = t.queue AND q.execution_id = t.execution_id \
               WHERE t.queue = ?1 AND t.started_ms IS NULL AND e.status = 'RUNNING' \
               AND e.lease_owner = ?2 AND e.lease_expires_ms >= ?3) \
             WHERE rn <= ?4 ORDER BY execution_id, queue_seq",
        )?
        .query_map(params![c.queue, c.owner, c.now_ms, limit], |r| {
            Ok(Candidate {
                execution_id: r.get(0)?,
                execution_arn: r.get(1)?,
                task_id: r.get(2)?,
                priority: r.get(3)?,
                turn: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let mut seqs = Vec::new();
    let mut failed = None;
    let (picked, turns) = crate::queue::pick(candidates, n, || match next_seq(conn, &c.queue) {
        Ok(s) => {
            seqs.push(s);
            s
        }
        Err(e) => {
            failed = Some(e);
            0
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    for p in &picked {
        conn.prepare_cached(
            "UPDATE tasks SET started_ms = ?3 WHERE execution_id = ?1 AND task_id = ?2",
        )?
        .execute(params![p.execution_id, p.task_id, c.now_ms])?;
    }
    for (execution_id, turn) in turns {
        conn.prepare_cached(
            "INSERT INTO queue_turns (queue, execution_id, turn) VALUES (?1, ?2, ?3) \
             ON CONFLICT (queue, execution_id) DO UPDATE SET turn = excluded.turn",
        )?
        .execute(params![c.queue, execution_id, turn])?;
    }
    Ok(picked
        .into_iter()
        .map(|p| QueuedTask {
            execution_arn: p.execution_arn,
            task_id: u64::try_from(p.task_id).unwrap_or(0),
        })
        .collect())
}

fn release(conn: &Connection, arn: &str, task_id: i64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE tasks SET queue = NULL, queue_seq = NULL, queue_priority = NULL, \
         queued_ms = NULL, started_ms = NULL \
         WHERE task_id = ?2 AND execution_id = (SELECT id FROM executions WHERE arn = ?1)",
    )?
    .execute(params![arn, task_id])?;
    // Turns of executions with nothing left in a queue are forgotten.
    conn.prepare_cached(
        "DELETE FROM queue_turns WHERE execution_id = (SELECT id FROM executions WHERE arn = ?1) \
         AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.execution_id = queue_turns.execution_id \
             AND t.queue = queue_turns.queue)",
    )?
    .execute([arn])?;
    Ok(())
}

fn depths(conn: &Connection, now_ms: i64) -> Result<Vec<QueueDepth>> {
    Ok(conn
        .prepare_cached(
            "SELECT t.queue, \
                    SUM(CASE WHEN t.started_ms IS NULL THEN 1 ELSE 0 END), \
                    SUM(CASE WHEN t.started_ms IS NOT NULL AND e.lease_expires_ms >= ?1 \
                        THEN 1 ELSE 0 END), \
                    MIN(CASE WHEN t.started_ms IS NULL THEN t.queued_ms END) \
             FROM tasks t JOIN executions e ON e.id = t.execution_id \
             WHERE t.queue IS NOT NULL AND e.status = 'RUNNING' \
             GROUP BY t.queue ORDER BY t.queue",
        )?
        .query_map([now_ms], |r| {
            Ok(QueueDepth {
                queue: r.get(0)?,
                queued: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                running: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
                oldest_queued_ms: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

/// GetActivityTask's claim, fair across executions: the free task of the
/// highest priority, then of the execution served longest ago (or never),
/// its oldest first. The
/// execution's turn becomes `now_ms`.
pub(crate) fn claim_activity_task(
    conn: &Connection,
    resource: &str,
    owner: &str,
    now_ms: i64,
    lease_ms: i64,
) -> Result<Option<(i64, i64)>> {
    let found: Option<(i64, i64)> = conn
        .prepare_cached(
            "SELECT t.execution_id, t.task_id FROM tasks t \
             LEFT JOIN queue_turns q ON q.queue = t.resource AND q.execution_id = t.execution_id \
             WHERE t.resource = ?1 AND t.answer IS NULL \
             AND (t.lease_owner IS NULL OR t.lease_expires_ms < ?2) \
             ORDER BY COALESCE(t.queue_priority, 0) DESC, COALESCE(q.turn, 0), \
             t.execution_id, t.task_id LIMIT 1",
        )?
        .query_row(params![resource, now_ms], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((execution_id, task_id)) = found else {
        return Ok(None);
    };
    conn.prepare_cached(
        "UPDATE tasks SET lease_owner = ?3, lease_expires_ms = ?4 \
         WHERE execution_id = ?1 AND task_id = ?2",
    )?
    .execute(params![
        execution_id,
        task_id,
        owner,
        now_ms.saturating_add(lease_ms)
    ])?;
    conn.prepare_cached(
        "INSERT INTO queue_turns (queue, execution_id, turn) VALUES (?1, ?2, ?3) \
         ON CONFLICT (queue, execution_id) DO UPDATE SET turn = excluded.turn",
    )?
    .execute(params![resource, execution_id, now_ms])?;
    conn.prepare_cached(
        "DELETE FROM queue_turns WHERE queue = ?1 AND NOT EXISTS (SELECT 1 FROM tasks t \
         WHERE t.execution_id = queue_turns.execution_id AND t.resource = ?1)",
    )?
    .execute([resource])?;
    Ok(Some((execution_id, task_id)))
}

impl TaskQueueStore for SqliteStore {
    fn enqueue_task(
        &self,
        execution_arn: &str,
        task_id: u64,
        queue: &str,
        priority: i64,
        now_ms: i64,
    ) -> Pending<Enqueued> {
        let (arn, queue) = (execution_arn.to_string(), queue.to_string());
        let task_id = i64::try_from(task_id).unwrap_or(i64::MAX);
        self.write(move |c| enqueue(c, &arn, task_id, &queue, priority, now_ms))
    }

    fn claim_queued(&self, claim: QueueClaim) -> Pending<Vec<QueuedTask>> {
        self.write(move |c| self::claim(c, &claim))
    }

    fn release_queued(&self, execution_arn: &str, task_id: u64) -> Pending<()> {
        let arn = execution_arn.to_string();
        let task_id = i64::try_from(task_id).unwrap_or(i64::MAX);
        self.write(move |c| release(c, &arn, task_id))
    }

    fn queue_depths(&self, now_ms: i64) -> Result<Vec<QueueDepth>> {
        self.read(|c| depths(c, now_ms))
    }

    fn set_task_priority(&self, execution_arn: &str, task_id: u64, priority: i64) -> Pending<()> {
        let arn = execution_arn.to_string();
        let task_id = i64::try_from(task_id).unwrap_or(i64::MAX);
        self.write(move |c| {
            c.prepare_cached(
                "UPDATE tasks SET queue_priority = ?3 WHERE task_id = ?2 \
                 AND execution_id = (SELECT id FROM executions WHERE arn = ?1)",
            )?
            .execute(params![arn, task_id, priority])?;
            Ok(())
        })
    }
}

fn schedule_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredSchedule> {
    Ok(StoredSchedule {
        group: r.get(0)?,
        name: r.get(1)?,
        document: r.get(2)?,
    })
}

impl ScheduleStore for SqliteStore {
    fn put_schedule(&self, s: StoredSchedule) -> Pending<()> {
        self.write(move |c| {
            c.prepare_cached(
                "INSERT INTO schedules (group_name, name, document) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (group_name, name) DO UPDATE SET document = excluded.document",
            )?
            .execute(params![s.group, s.name, s.document])?;
            Ok(())
        })
    }

    fn delete_schedule(&self, group: &str, name: &str) -> Pending<bool> {
        let (group, name) = (group.to_string(), name.to_string());
        self.write(move |c| {
            Ok(
                c.prepare_cached("DELETE FROM schedules WHERE group_name = ?1 AND name = ?2")?
                    .execute(params![group, name])?
                    > 0,
            )
        })
    }

    fn get_schedule(&self, group: &str, name: &str) -> Result<Option<StoredSchedule>> {
        self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT group_name, name, document FROM schedules \
                 WHERE group_name = ?1 AND name = ?2",
            )?
            .query_row(params![group, name], schedule_from)
            .optional()?)
        })
    }

    fn list_schedules(&self, group: Option<&str>) -> Result<Vec<StoredSchedule>> {
        self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT group_name, name, document FROM schedules \
                 WHERE ?1 IS NULL OR group_name = ?1 ORDER BY group_name, name",
            )?
            .query_map([group], schedule_from)?
            .collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn create_schedule_group(&self, name: &str, creation_date_ms: i64) -> Pending<bool> {
        let name = name.to_string();
        self.write(move |c| {
            Ok(c.prepare_cached(
                "INSERT INTO schedule_groups (name, creation_date_ms) VALUES (?1, ?2) \
                     ON CONFLICT (name) DO NOTHING",
            )?
            .execute(params![name, creation_date_ms])?
                > 0)
        })
    }

    fn delete_schedule_group(&self, name: &str) -> Pending<bool> {
        let name = name.to_string();
        self.write(move |c| {
            c.prepare_cached("DELETE FROM schedules WHERE group_name = ?1")?
                .execute([&name])?;
            Ok(
                c.prepare_cached("DELETE FROM schedule_groups WHERE name = ?1")?
                    .execute([&name])?
                    > 0,
            )
        })
    }

    fn list_schedule_groups(&self) -> Result<Vec<(String, i64)>> {
        self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT name, creation_date_ms FROM schedule_groups ORDER BY name",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }
}
