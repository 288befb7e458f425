//! The PostgreSQL store's flow-limit queues ([`crate::queue`]), activity
//! tasks handed out round-robin across executions, and schedules
//! ([`crate::schedule`]). A claim locks its queue's row in `queues`
//! (`SELECT … FOR UPDATE`) for the rest of its transaction, so the count
//! of started tasks and the starts it adds cannot interleave with another
//! node's: `max_concurrent` holds across the cluster.

use crate::error::Result;
use crate::pending::Pending;
use crate::queue::{Candidate, Enqueued, QueueClaim, QueueDepth, QueuedTask, TaskQueueStore};
use crate::schedule::{ScheduleStore, StoredSchedule};

use super::db::Db;
use super::PostgresStore;

/// Makes sure the queue's row exists and locks it until the transaction ends.
fn lock_queue(db: &mut Db, queue: &str) -> Result<()> {
    db.execute(
        "INSERT INTO queues (name, seq) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING",
        &[&queue],
    )?;
    db.query_one(
        "SELECT seq FROM queues WHERE name = $1 FOR UPDATE",
        &[&queue],
    )?;
    Ok(())
}

/// The next number of a queue's counter (its row locked already).
fn next_seq(db: &mut Db, queue: &str) -> Result<i64> {
    Ok(db
        .query_one(
            "UPDATE queues SET seq = seq + 1 WHERE name = $1 RETURNING seq",
            &[&queue],
        )?
        .try_get(0)?)
}

fn enqueue(
    db: &mut Db,
    arn: &str,
    task_id: i64,
    queue: &str,
    priority: i64,
    now_ms: i64,
) -> Result<Enqueued> {
    let row = db.query_opt(
        "SELECT t.execution_id, t.queue, t.started_ms FROM tasks t \
         JOIN executions e ON e.id = t.execution_id \
         WHERE e.arn = $1 AND t.task_id = $2",
        &[&arn, &task_id],
    )?;
    let Some(row) = row else {
        return Ok(Enqueued::Gone);
    };
    let execution_id: i64 = row.try_get(0)?;
    let current: Option<String> = row.try_get(1)?;
    let started: Option<i64> = row.try_get(2)?;
    if current.is_some() {
        return Ok(if started.is_some() {
            Enqueued::Started
        } else {
            Enqueued::Queued
        });
    }
    lock_queue(db, queue)?;
    let seq = next_seq(db, queue)?;
    db.execute(
        "UPDATE tasks SET queue = $3, queue_seq = $4, queue_priority = $5, queued_ms = $6, \
         started_ms = NULL WHERE execution_id = $1 AND task_id = $2",
        &[&execution_id, &task_id, &queue, &seq, &priority, &now_ms],
    )?;
    db.execute(
        "INSERT INTO queue_turns (queue, execution_id, turn) VALUES ($1, $2, $3) \
         ON CONFLICT (queue, execution_id) DO NOTHING",
        &[&queue, &execution_id, &seq],
    )?;
    Ok(Enqueued::Queued)
}

fn claim(db: &mut Db, c: &QueueClaim) -> Result<Vec<QueuedTask>> {
    lock_queue(db, &c.queue)?;
    // Turns of executions with nothing left in the queue (they ended, or
    // were stopped, with tasks still queued) are forgotten.
    db.execute(
        "DELETE FROM queue_turns WHERE queue = $1 AND NOT EXISTS (SELECT 1 FROM tasks t \
         WHERE t.execution_id = queue_turns.execution_id AND t.queue = $1)",
        &[&c.queue],
    )?;
    let running: i64 = db
        .query_one(
            "SELECT COUNT(*) FROM tasks t JOIN executions e ON e.id = t.execution_id \
             WHERE t.queue = $1 AND t.started_ms IS NOT NULL AND e.status = 'RUNNING' \
             AND e.lease_expires_ms >= $2",
            &[&c.queue, &c.now_ms],
        )?
        .try_get(0)?;
    let free = match c.max_concurrent {
        Some(max) => max.saturating_sub(u64::try_from(running).unwrap_or(0)),
        None => u64::MAX,
    };
    let n = usize::try_from(free.min(u64::from(c.max_starts))).unwrap_or(usize::MAX);
    if n == 0 {
        return Ok(Vec::new());
    }
    let limit = i64::try_from(n).unwrap_or(i64::MAX);
    let rows = db.query(
        "SELECT execution_id, arn, task_id, priority, turn FROM ( \
           SELECT t.execution_id, e.arn, t.task_id, COALESCE(t.queue_priority, 0) AS priority, \
                  COALESCE(q.turn, 0) AS turn, t.queue_seq, \
                  ROW_NUMBER() OVER (PARTITION BY t.execution_id ORDER BY t.queue_seq) AS rn \
           FROM tasks t JOIN executions e ON e.id = t.execution_id \
           LEFT JOIN queue_turns q ON q.queue = t.queue AND q.execution_id = t.execution_id \
           WHERE t.queue = $1 AND t.started_ms IS NULL AND e.status = 'RUNNING' \
           AND e.lease_owner = $2 AND e.lease_expires_ms >= $3) AS waiting \
         WHERE rn <= $4 ORDER BY execution_id, queue_seq",
        &[&c.queue, &c.owner, &c.now_ms, &limit],
    )?;
    let mut candidates = Vec::with_capacity(rows.len());
    for r in &rows {
        candidates.push(Candidate {
            execution_id: r.try_get(0)?,
            execution_arn: r.try_get(1)?,
            task_id: r.try_get(2)?,
            priority: r.try_get(3)?,
            turn: r.try_get(4)?,
        });
    }
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    // The turns are numbered from the queue's counter, taken after the
    // picks (the pick needs only their order).
    let mut count = 0i64;
    let (picked, turns) = crate::queue::pick(candidates, n, || {
        count += 1;
        count
    });
    let base = db
        .query_one(
            "UPDATE queues SET seq = seq + $2 WHERE name = $1 RETURNING seq",
            &[&c.queue, &count],
        )?
        .try_get::<_, i64>(0)?
        - count;
    for p in &picked {
        db.execute(
            "UPDATE tasks SET started_ms = $3 WHERE execution_id = $1 AND task_id = $2",
            &[&p.execution_id, &p.task_id, &c.now_ms],
        )?;
    }
    for (execution_id, turn) in turns {
        db.execute(
            "INSERT INTO queue_turns (queue, execution_id, turn) VALUES ($1, $2, $3) \
             ON CONFLICT (queue, execution_id) DO UPDATE SET turn = EXCLUDED.turn",
            &[&c.queue, &execution_id, &(base + turn)],
        )?;
    }
    Ok(picked
        .into_iter()
        .map(|p| QueuedTask {
            execution_arn: p.execution_arn,
            task_id: u64::try_from(p.task_id).unwrap_or(0),
        })
        .collect())
}

fn release(db: &mut Db, arn: &str, task_id: i64) -> Result<()> {
    db.execute(
        "UPDATE tasks SET queue = NULL, queue_seq = NULL, queue_priority = NULL, \
         queued_ms = NULL, started_ms = NULL \
         WHERE task_id = $2 AND execution_id = (SELECT id FROM executions WHERE arn = $1)",
        &[&arn, &task_id],
    )?;
    db.execute(
        "DELETE FROM queue_turns WHERE execution_id = (SELECT id FROM executions WHERE arn = $1) \
         AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.execution_id = queue_turns.execution_id \
             AND t.queue = queue_turns.queue)",
        &[&arn],
    )?;
    Ok(())
}

fn depths(db: &mut Db, now_ms: i64) -> Result<Vec<QueueDepth>> {
    let rows = db.query(
        "SELECT t.queue, \
                SUM(CASE WHEN t.started_ms IS NULL THEN 1 ELSE 0 END)::BIGINT, \
                SUM(CASE WHEN t.started_ms IS NOT NULL AND e.lease_expires_ms >= $1 \
                    THEN 1 ELSE 0 END)::BIGINT, \
                MIN(CASE WHEN t.started_ms IS NULL THEN t.queued_ms END) \
         FROM tasks t JOIN executions e ON e.id = t.execution_id \
         WHERE t.queue IS NOT NULL AND e.status = 'RUNNING' \
         GROUP BY t.queue ORDER BY t.queue",
        &[&now_ms],
    )?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.push(QueueDepth {
            queue: r.try_get(0)?,
            queued: u64::try_from(r.try_get::<_, i64>(1)?).unwrap_or(0),
            running: u64::try_from(r.try_get::<_, i64>(2)?).unwrap_or(0),
            oldest_queued_ms: r.try_get(3)?,
        });
    }
    Ok(out)
}

/// GetActivityTask's claim, fair across executions: the free task of the
/// highest priority, then of the execution served longest ago (or never),
/// its oldest first; rows other
/// claimers hold are skipped. The execution's turn becomes `now_ms`.
pub(crate) fn claim_activity_task(
    db: &mut Db,
    resource: &str,
    owner: &str,
    now_ms: i64,
    lease_ms: i64,
) -> Result<Option<(i64, i64)>> {
    let found = db.query_opt(
        "SELECT t.execution_id, t.task_id FROM tasks t \
         LEFT JOIN queue_turns q ON q.queue = t.resource AND q.execution_id = t.execution_id \
         WHERE t.resource = $1 AND t.answer IS NULL \
         AND (t.lease_owner IS NULL OR t.lease_expires_ms < $2) \
         ORDER BY COALESCE(t.queue_priority, 0) DESC, COALESCE(q.turn, 0), \
         t.execution_id, t.task_id LIMIT 1 \
         FOR UPDATE OF t SKIP LOCKED",
        &[&resource, &now_ms],
    )?;
    let Some(row) = found else {
        return Ok(None);
    };
    let execution_id: i64 = row.try_get(0)?;
    let task_id: i64 = row.try_get(1)?;
    db.execute(
        "UPDATE tasks SET lease_owner = $3, lease_expires_ms = $4 \
         WHERE execution_id = $1 AND task_id = $2",
        &[
            &execution_id,
            &task_id,
            &owner,
            &now_ms.saturating_add(lease_ms),
        ],
    )?;
    db.execute(
        "INSERT INTO queue_turns (queue, execution_id, turn) VALUES ($1, $2, $3) \
         ON CONFLICT (queue, execution_id) DO UPDATE SET turn = EXCLUDED.turn",
        &[&resource, &execution_id, &now_ms],
    )?;
    db.execute(
        "DELETE FROM queue_turns WHERE queue = $1 AND NOT EXISTS (SELECT 1 FROM tasks t \
         WHERE t.execution_id = queue_turns.execution_id AND t.resource = $1)",
        &[&resource],
    )?;
    Ok(Some((execution_id, task_id)))
}

impl TaskQueueStore for PostgresStore {
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
        self.write(move |db| enqueue(db, &arn, task_id, &queue, priority, now_ms))
    }

    fn claim_queued(&self, claim: QueueClaim) -> Pending<Vec<QueuedTask>> {
        self.write(move |db| self::claim(db, &claim))
    }

    fn release_queued(&self, execution_arn: &str, task_id: u64) -> Pending<()> {
        let arn = execution_arn.to_string();
        let task_id = i64::try_from(task_id).unwrap_or(i64::MAX);
        self.write(move |db| release(db, &arn, task_id))
    }

    fn queue_depths(&self, now_ms: i64) -> Result<Vec<QueueDepth>> {
        self.read(move |db| depths(db, now_ms))
    }

    fn set_task_priority(&self, execution_arn: &str, task_id: u64, priority: i64) -> Pending<()> {
        let arn = execution_arn.to_string();
        let task_id = i64::try_from(task_id).unwrap_or(i64::MAX);
        self.write(move |db| {
            db.execute(
                "UPDATE tasks SET queue_priority = $3 WHERE task_id = $2 \
                 AND execution_id = (SELECT id FROM executions WHERE arn = $1)",
                &[&arn, &task_id, &priority],
            )?;
            Ok(())
        })
    }
}

fn schedules_of(rows: &[postgres::Row]) -> Result<Vec<StoredSchedule>> {
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(StoredSchedule {
            group: r.try_get(0)?,
            name: r.try_get(1)?,
            document: r.try_get(2)?,
        });
    }
    Ok(out)
}

impl ScheduleStore for PostgresStore {
    fn put_schedule(&self, s: StoredSchedule) -> Pending<()> {
        self.write(move |db| {
            db.execute(
                "INSERT INTO schedules (group_name, name, document) VALUES ($1, $2, $3) \
                 ON CONFLICT (group_name, name) DO UPDATE SET document = EXCLUDED.document",
                &[&s.group, &s.name, &s.document],
            )?;
            Ok(())
        })
    }

    fn delete_schedule(&self, group: &str, name: &str) -> Pending<bool> {
        let (group, name) = (group.to_string(), name.to_string());
        self.write(move |db| {
            Ok(db.execute(
                "DELETE FROM schedules WHERE group_name = $1 AND name = $2",
                &[&group, &name],
            )? > 0)
        })
    }

    fn get_schedule(&self, group: &str, name: &str) -> Result<Option<StoredSchedule>> {
        let (group, name) = (group.to_string(), name.to_string());
        self.read(move |db| {
            let rows = db.query(
                "SELECT group_name, name, document FROM schedules \
                 WHERE group_name = $1 AND name = $2",
                &[&group, &name],
            )?;
            Ok(schedules_of(&rows)?.into_iter().next())
        })
    }

    fn list_schedules(&self, group: Option<&str>) -> Result<Vec<StoredSchedule>> {
        let group = group.map(str::to_string);
        self.read(move |db| {
            let rows = db.query(
                "SELECT group_name, name, document FROM schedules \
                 WHERE $1::TEXT IS NULL OR group_name = $1 ORDER BY group_name, name",
                &[&group],
            )?;
            schedules_of(&rows)
        })
    }

    fn create_schedule_group(&self, name: &str, creation_date_ms: i64) -> Pending<bool> {
        let name = name.to_string();
        self.write(move |db| {
            Ok(db.execute(
                "INSERT INTO schedule_groups (name, creation_date_ms) VALUES ($1, $2) \
                 ON CONFLICT (name) DO NOTHING",
                &[&name, &creation_date_ms],
            )? > 0)
        })
    }

    fn delete_schedule_group(&self, name: &str) -> Pending<bool> {
        let name = name.to_string();
        self.write(move |db| {
            db.execute("DELETE FROM schedules WHERE group_name = $1", &[&name])?;
            Ok(db.execute("DELETE FROM schedule_groups WHERE name = $1", &[&name])? > 0)
        })
    }

    fn list_schedule_groups(&self) -> Result<Vec<(String, i64)>> {
        self.read(|db| {
            let rows = db.query(
                "SELECT name, creation_date_ms FROM schedule_groups ORDER BY name",
                &[],
            )?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                out.push((r.try_get(0)?, r.try_get(1)?));
            }
            Ok(out)
        })
    }
}
