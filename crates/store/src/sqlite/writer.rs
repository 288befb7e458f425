//! The group-commit writer: one thread owns the only write connection and
//! commits whatever writes are queued when it looks, in ONE transaction.
//!
//! While a batch commits (and fsyncs), new writes queue up; the next batch
//! takes them all. Under load the batch grows until one fsync covers many
//! transitions, so throughput is bound by disk bandwidth, not fsync latency;
//! with a single writer an idle system still commits each write at once.
//!
//! A write that fails (a name that exists, a version conflict) must not fail
//! the others in its batch. Savepoints around every write would isolate it,
//! but they cost a statement journal copy of every page each write touches.
//! So a batch first runs optimistically with no savepoints; only if some
//! write fails is the transaction rolled back and the batch run again with
//! one savepoint per write (writes are re-runnable: they own their inputs).
//! Every write learns its outcome only after COMMIT: "Ok" is never reported
//! for data that is not yet durable.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError};

use rusqlite::Connection;

use crate::error::{Error, Result};
use crate::pending::Completer;
use crate::CommitStats;

/// One queued write.
pub(crate) trait Job: Send {
    /// Runs the write inside the open transaction, keeping its result;
    /// returns whether it succeeded. May be called again after a rollback.
    fn run(&mut self, conn: &Connection) -> bool;
    /// Reports the outcome: the kept result if the batch committed, else
    /// the commit's error.
    fn finish(self: Box<Self>, commit: Result<()>);
}

struct Write<T, F> {
    op: F,
    result: Option<Result<T>>,
    completer: Completer<T>,
}

impl<T: Send, F: Fn(&Connection) -> Result<T> + Send> Job for Write<T, F> {
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
        self.completer.complete(outcome);
    }
}

/// Wraps a typed write operation as a [`Job`].
pub(crate) fn job<T: Send + 'static>(
    completer: Completer<T>,
    op: impl Fn(&Connection) -> Result<T> + Send + 'static,
) -> Box<dyn Job> {
    Box::new(Write {
        op,
        result: None,
        completer,
    })
}

/// Most writes one transaction takes; bounds the latency of a batch.
const MAX_BATCH: usize = 4096;

#[derive(Default)]
pub(crate) struct Stats {
    batches: AtomicU64,
    writes: AtomicU64,
    max_batch: AtomicU64,
}

impl Stats {
    pub(crate) fn snapshot(&self) -> CommitStats {
        CommitStats {
            batches: self.batches.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
            max_batch: self.max_batch.load(Ordering::Relaxed),
        }
    }
}

/// The writer thread's loop; returns when every sender is gone and the
/// queue is drained.
pub(crate) fn run(conn: Connection, rx: Receiver<Box<dyn Job>>, stats: &Stats) {
    // Every write's statements stay prepared: rusqlite's default cache of
    // 16 is fewer than the writes' distinct statements, and a statement
    // evicted is parsed and planned again on its next use.
    conn.set_prepared_statement_cache_capacity(128);
    let mut batch: Vec<Box<dyn Job>> = Vec::new();
    while let Ok(first) = rx.recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        let n = batch.len() as u64;
        let started = std::time::Instant::now();
        let outcome = commit_batch(&conn, &mut batch);
        statecraft_telemetry::metrics::observe_commit(batch.len(), started.elapsed());
        // Counted before the writers are told, so that whoever waited for a
        // write sees it in the counters.
        stats.batches.fetch_add(1, Ordering::Relaxed);
        stats.writes.fetch_add(n, Ordering::Relaxed);
        stats.max_batch.fetch_max(n, Ordering::Relaxed);
        for job in batch.drain(..) {
            job.finish(outcome.clone());
        }
    }
}

/// Runs and commits a batch; each job keeps its own result.
fn commit_batch(conn: &Connection, batch: &mut [Box<dyn Job>]) -> Result<()> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let all_ok = batch.iter_mut().all(|job| job.run(conn));
    if all_ok {
        return end(conn, true);
    }
    if batch.len() == 1 {
        // A lone failed write: nothing else to save, its result says why.
        return end(conn, false);
    }
    // Some write failed: start over, isolating each write in a savepoint.
    rollback(conn)?;
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let mut any_ok = false;
    for job in batch.iter_mut() {
        if let Err(e) = statement(conn, "SAVEPOINT w") {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e);
        }
        let ok = job.run(conn);
        let closed = if ok {
            statement(conn, "RELEASE w")
        } else {
            statement(conn, "ROLLBACK TO w").and_then(|()| statement(conn, "RELEASE w"))
        };
        if let Err(e) = closed {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e);
        }
        any_ok |= ok;
    }
    end(conn, any_ok)
}

/// Commits (or, when nothing succeeded, rolls back) the open transaction.
fn end(conn: &Connection, commit: bool) -> Result<()> {
    if !commit {
        rollback(conn)?;
        return Ok(());
    }
    match conn.execute_batch("COMMIT") {
        Ok(()) => Ok(()),
        Err(e) => {
            // The transaction may still be open; make sure the next batch
            // starts clean. The COMMIT error is the one reported.
            let _ = conn.execute_batch("ROLLBACK");
            Err(e.into())
        }
    }
}

/// Rolls back the open transaction, if there still is one: after some
/// errors (a full disk, an I/O error) SQLite has rolled it back itself, and
/// a ROLLBACK would fail with "no transaction is active", hiding the
/// write's own error behind it.
fn rollback(conn: &Connection) -> Result<()> {
    if !conn.is_autocommit() {
        conn.execute_batch("ROLLBACK")?;
    }
    Ok(())
}

fn statement(conn: &Connection, sql: &str) -> Result<()> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pending::Pending;

    fn insert(conn: &Connection, k: i64) -> Result<()> {
        conn.execute("INSERT INTO t (k) VALUES (?1)", [k])?;
        Ok(())
    }

    fn batch_of(keys: &[i64]) -> (Vec<Box<dyn Job>>, Vec<Pending<()>>) {
        keys.iter()
            .map(|&k| {
                let (c, p) = Pending::new();
                (job(c, move |conn| insert(conn, k)), p)
            })
            .unzip()
    }

    fn table() -> Connection {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch("CREATE TABLE t (k INTEGER PRIMARY KEY)")
            .unwrap();
        c.execute("INSERT INTO t (k) VALUES (100)", []).unwrap();
        c
    }

    fn finish(
        conn: &Connection,
        mut jobs: Vec<Box<dyn Job>>,
        pending: Vec<Pending<()>>,
    ) -> Vec<bool> {
        let outcome = commit_batch(conn, &mut jobs);
        for j in jobs {
            j.finish(outcome.clone());
        }
        pending.into_iter().map(|p| p.wait().is_ok()).collect()
    }

    fn keys(conn: &Connection) -> Vec<i64> {
        let mut s = conn.prepare("SELECT k FROM t ORDER BY k").unwrap();
        let rows = s.query_map([], |r| r.get(0)).unwrap();
        rows.map(|r| r.unwrap()).collect()
    }

    #[test]
    fn a_failing_write_is_isolated_from_its_batch() {
        let conn = table();
        // The third write clashes with an existing row, the fifth with the first.
        let (jobs, pending) = batch_of(&[1, 2, 100, 3, 1]);
        assert_eq!(
            finish(&conn, jobs, pending),
            vec![true, true, false, true, false]
        );
        assert_eq!(keys(&conn), vec![1, 2, 3, 100]);
    }

    #[test]
    fn a_batch_where_everything_fails_writes_nothing() {
        let conn = table();
        let (jobs, pending) = batch_of(&[100, 100]);
        assert_eq!(finish(&conn, jobs, pending), vec![false, false]);
        let (jobs, pending) = batch_of(&[100]);
        assert_eq!(finish(&conn, jobs, pending), vec![false]);
        assert_eq!(keys(&conn), vec![100]);
    }

    #[test]
    fn a_clean_batch_commits_once() {
        let conn = table();
        let (jobs, pending) = batch_of(&[5, 6, 7]);
        assert_eq!(finish(&conn, jobs, pending), vec![true, true, true]);
        assert_eq!(keys(&conn), vec![5, 6, 7, 100]);
    }
}
