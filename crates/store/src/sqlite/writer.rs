//! The group-commit writer: one thread owns the only write connection and
//! commits whatever writes are queued when it looks, in ONE transaction.
//!
//! While a batch commits (and fsyncs), new writes queue up; the next batch
//! takes them all. Under load the batch grows until one fsync covers many
//! transitions, so throughput is bound by disk bandwidth, not fsync latency;
//! with a single writer an idle system still commits each write at once.
//!
//! Each write runs inside its own SAVEPOINT, so a write that fails (a name
//! that exists, a version conflict) is rolled back alone and the others in
//! the batch still commit. Every write learns its outcome only after COMMIT:
//! "Ok" is never reported for data that is not yet durable.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError};

use rusqlite::Connection;

use crate::error::{Error, Result};
use crate::execution::CommitStats;
use crate::pending::Completer;

/// Reports a write's outcome once its batch's COMMIT has succeeded or failed.
pub(crate) type Finish = Box<dyn FnOnce(Result<()>) + Send>;

/// One queued write. Called with the connection inside an open transaction
/// (or `None` when the transaction could not even begin); returns whether
/// the write succeeded, and how to report its outcome.
pub(crate) type Job = Box<dyn FnOnce(Option<&Connection>) -> (bool, Finish) + Send>;

/// Most writes one transaction takes; bounds the latency of a batch.
const MAX_BATCH: usize = 4096;

/// Wraps a typed write operation as a [`Job`].
pub(crate) fn job<T: Send + 'static>(
    completer: Completer<T>,
    op: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
) -> Job {
    Box::new(move |conn| {
        let result = match conn {
            Some(c) => op(c),
            None => Err(Error::Backend("transaction could not begin".into())),
        };
        let ok = result.is_ok();
        let finish: Finish = Box::new(move |commit| {
            completer.complete(commit.and(result));
        });
        (ok, finish)
    })
}

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
pub(crate) fn run(conn: Connection, rx: Receiver<Job>, stats: &Stats) {
    let mut batch: Vec<Job> = Vec::new();
    while let Ok(first) = rx.recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        let n = batch.len() as u64;
        commit_batch(&conn, &mut batch);
        stats.batches.fetch_add(1, Ordering::Relaxed);
        stats.writes.fetch_add(n, Ordering::Relaxed);
        stats.max_batch.fetch_max(n, Ordering::Relaxed);
    }
}

fn commit_batch(conn: &Connection, batch: &mut Vec<Job>) {
    let mut finishers: Vec<Finish> = Vec::with_capacity(batch.len());
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let err = Error::from(e);
        for job in batch.drain(..) {
            let (_, finish) = job(None);
            finish(Err(err.clone()));
        }
        return;
    }
    // A single write needs no savepoint: a failure rolls back the whole
    // (one-write) transaction below.
    let single = batch.len() == 1;
    let mut any_ok = false;
    for job in batch.drain(..) {
        if single {
            let (ok, finish) = job(Some(conn));
            any_ok |= ok;
            finishers.push(finish);
            continue;
        }
        if let Err(e) = savepoint(conn, "SAVEPOINT w") {
            let (_, finish) = job(None);
            finishers.push(Box::new(move |_| finish(Err(e))));
            continue;
        }
        let (ok, finish) = job(Some(conn));
        let closed = if ok {
            savepoint(conn, "RELEASE w")
        } else {
            savepoint(conn, "ROLLBACK TO w").and_then(|()| savepoint(conn, "RELEASE w"))
        };
        any_ok |= ok;
        match closed {
            Ok(()) => finishers.push(finish),
            Err(e) => finishers.push(Box::new(move |_| finish(Err(e)))),
        }
    }
    let outcome = if any_ok {
        conn.execute_batch("COMMIT").map_err(Error::from)
    } else {
        conn.execute_batch("ROLLBACK").map_err(Error::from)
    };
    if outcome.is_err() {
        // COMMIT failed: the transaction may still be open; make sure it is
        // gone so the next batch starts clean. Its error is the one reported.
        let _ = conn.execute_batch("ROLLBACK");
    }
    for finish in finishers {
        finish(outcome.clone());
    }
}

fn savepoint(conn: &Connection, sql: &str) -> Result<()> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}
