//! The group-commit writer of the PostgreSQL store: one thread owns the only
//! write connection and commits whatever writes are queued when it looks,
//! in ONE transaction (one WAL flush per batch, not per transition).
//!
//! A write that is refused (a name that exists, a version conflict) writes
//! nothing and leaves the transaction usable, so the batch goes on and
//! commits the others. A write that fails in the database (a duplicate key,
//! a lost connection) aborts a PostgreSQL transaction as a whole; then the
//! batch is rolled back and run again with one SAVEPOINT per write, so only
//! that write fails. Savepoints cost two round trips per write, so they are
//! paid only when some write actually failed. Every write learns its
//! outcome only after COMMIT.
//!
//! When the connection is lost, the batch in flight fails (its transaction
//! is gone: nothing of it is committed) and the writer reconnects, backing
//! off between attempts; writes that arrive while the database is away fail
//! at once with the last connection error rather than hang.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::{Duration, Instant};

use tokio::sync::broadcast;

use crate::commits::Committed;
use crate::error::{Error, Result};
use crate::pending::Completer;
use crate::CommitStats;

use super::db::{Connector, Db};

/// How a write ran inside the batch's transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ran {
    Ok,
    /// Refused before writing anything; the transaction is still usable.
    Refused,
    /// Failed in the database; the transaction is aborted.
    Broken,
}

/// One queued write.
pub(crate) trait Job: Send {
    /// Runs the write inside the open transaction, keeping its result. May
    /// be called again after a rollback.
    fn run(&mut self, db: &mut Db) -> Ran;
    /// Reports the outcome: the kept result if the batch committed, else
    /// the commit's error.
    fn finish(self: Box<Self>, commit: Result<()>);
    /// The execution whose committed transition this write announces, once
    /// it ran successfully.
    fn announced(&self) -> Option<&str> {
        None
    }
}

/// A notice to publish once a write commits (see [`crate::commits`]).
pub(crate) struct Notice<T> {
    pub(crate) committed: Committed,
    /// Whether a successful result wrote anything worth announcing.
    pub(crate) announce: fn(&T) -> bool,
    pub(crate) channel: broadcast::Sender<Committed>,
}

struct Write<T, F> {
    op: F,
    result: Option<Result<T>>,
    completer: Completer<T>,
    notice: Option<Notice<T>>,
}

impl<T: Send, F: Fn(&mut Db) -> Result<T> + Send> Job for Write<T, F> {
    fn run(&mut self, db: &mut Db) -> Ran {
        let r = (self.op)(db);
        let ran = match &r {
            Ok(_) => Ran::Ok,
            Err(
                Error::NotFound { .. }
                | Error::AlreadyExists { .. }
                | Error::Conflict { .. }
                | Error::LeaseLost { .. }
                | Error::InvalidToken,
            ) => Ran::Refused,
            Err(Error::Backend(_) | Error::Corrupt(_) | Error::Closed) => Ran::Broken,
        };
        self.result = Some(r);
        ran
    }

    fn announced(&self) -> Option<&str> {
        match (&self.result, &self.notice) {
            (Some(Ok(v)), Some(n)) if (n.announce)(v) => Some(n.committed.execution_arn.as_str()),
            _ => None,
        }
    }

    fn finish(self: Box<Self>, commit: Result<()>) {
        let outcome = match (commit, self.result) {
            (Err(e), _) => Err(e),
            (Ok(()), Some(r)) => r,
            (Ok(()), None) => Err(Error::Backend("the write did not run".into())),
        };
        if let (Ok(v), Some(n)) = (&outcome, self.notice) {
            if (n.announce)(v) {
                // No subscribers is the normal case: nothing to report.
                let _ = n.channel.send(n.committed);
            }
        }
        self.completer.complete(outcome);
    }
}

/// Wraps a typed write operation as a [`Job`]. Operations must return
/// `NotFound`, `AlreadyExists`, `Conflict` or `InvalidToken` only before
/// they write anything.
pub(crate) fn job<T: Send + 'static>(
    completer: Completer<T>,
    op: impl Fn(&mut Db) -> Result<T> + Send + 'static,
    notice: Option<Notice<T>>,
) -> Box<dyn Job> {
    Box::new(Write {
        op,
        result: None,
        completer,
        notice,
    })
}

/// Most writes one transaction takes; bounds the latency of a batch.
const MAX_BATCH: usize = 2048;
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

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

/// The writer's connection, or why there is none and when to try again.
struct Link {
    connector: Connector,
    db: Option<Db>,
    last_error: Option<Error>,
    retry_at: Instant,
    backoff: Duration,
}

impl Link {
    /// The connection, reconnecting if it is gone and the back-off allows.
    fn get(&mut self) -> Result<&mut Db> {
        if self.db.as_ref().is_some_and(Db::is_closed) {
            self.db = None;
        }
        if self.db.is_none() {
            if Instant::now() < self.retry_at {
                return Err(self.last_error.clone().unwrap_or_else(|| {
                    Error::Backend("PostgreSQL store: the database is unreachable".into())
                }));
            }
            match self.connector.connect() {
                Ok(db) => {
                    self.db = Some(db);
                    self.backoff = FIRST_BACKOFF;
                    self.last_error = None;
                }
                Err(e) => {
                    self.retry_at = Instant::now() + self.backoff;
                    self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                    self.last_error = Some(e.clone());
                    return Err(e);
                }
            }
        }
        self.db
            .as_mut()
            .ok_or_else(|| Error::Backend("PostgreSQL store: no connection".into()))
    }
}

/// The writer thread's loop; returns when every sender is gone and the
/// queue is drained.
pub(crate) fn run(
    connector: Connector,
    db: Db,
    rx: Receiver<Box<dyn Job>>,
    stats: &Stats,
    instance: &str,
) {
    let mut link = Link {
        connector,
        db: Some(db),
        last_error: None,
        retry_at: Instant::now(),
        backoff: FIRST_BACKOFF,
    };
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
        let started = Instant::now();
        let outcome = match link.get() {
            Ok(db) => commit_batch(db, &mut batch, instance),
            Err(e) => Err(e),
        };
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
pub(crate) fn commit_batch(db: &mut Db, batch: &mut [Box<dyn Job>], instance: &str) -> Result<()> {
    db.simple("BEGIN")?;
    let mut any_ok = false;
    let mut broken = false;
    for job in batch.iter_mut() {
        match job.run(db) {
            Ran::Ok => any_ok = true,
            Ran::Refused => {}
            Ran::Broken => {
                broken = true;
                break;
            }
        }
    }
    if !broken {
        return end(db, any_ok, batch, instance);
    }
    db.simple("ROLLBACK")?;
    if batch.len() == 1 {
        // A lone failed write: nothing else to save, its result says why.
        return Ok(());
    }
    // Some write failed in the database: start over, isolating each write
    // in a savepoint.
    db.simple("BEGIN")?;
    any_ok = false;
    for job in batch.iter_mut() {
        if let Err(e) = db.simple("SAVEPOINT w") {
            let _ = db.simple("ROLLBACK");
            return Err(e);
        }
        let ran = job.run(db);
        let closed = match ran {
            Ran::Broken => db
                .simple("ROLLBACK TO SAVEPOINT w")
                .and_then(|()| db.simple("RELEASE SAVEPOINT w")),
            Ran::Ok | Ran::Refused => db.simple("RELEASE SAVEPOINT w"),
        };
        if let Err(e) = closed {
            let _ = db.simple("ROLLBACK");
            return Err(e);
        }
        any_ok |= ran == Ran::Ok;
    }
    end(db, any_ok, batch, instance)
}

fn notify_commits(db: &mut Db, instance: &str, arns: Vec<String>) -> Result<()> {
    let payload = crate::commits::Wakeup::Commits {
        from: instance.to_string(),
        arns,
    }
    .payload();
    db.execute(
        "SELECT pg_notify($1, $2)",
        &[&crate::commits::WAKEUP_CHANNEL, &payload],
    )?;
    Ok(())
}

/// Longest `pg_notify` payload sent (PostgreSQL's limit is 8000 bytes).
const NOTIFY_PAYLOAD: usize = 7000;

/// Commits (or, when nothing succeeded, rolls back) the open transaction,
/// telling the other nodes which executions it advanced (one notification
/// per few dozen transitions, delivered only if it commits).
fn end(db: &mut Db, commit: bool, batch: &[Box<dyn Job>], instance: &str) -> Result<()> {
    if !commit {
        return db.simple("ROLLBACK");
    }
    let mut arns: Vec<String> = Vec::new();
    let mut size = 0;
    let mut sent = Ok(());
    for arn in batch.iter().filter_map(|j| j.announced()) {
        if size + arn.len() + 1 > NOTIFY_PAYLOAD && !arns.is_empty() {
            sent = sent.and_then(|()| notify_commits(db, instance, std::mem::take(&mut arns)));
            size = 0;
        }
        size += arn.len() + 1;
        arns.push(arn.to_string());
    }
    if !arns.is_empty() {
        sent = sent.and_then(|()| notify_commits(db, instance, arns));
    }
    if let Err(e) = sent {
        let _ = db.simple("ROLLBACK");
        return Err(e);
    }
    match db.simple("COMMIT") {
        Ok(()) => Ok(()),
        Err(e) => {
            // The transaction may still be open; make sure the next batch
            // starts clean. The COMMIT error is the one reported.
            let _ = db.simple("ROLLBACK");
            Err(e)
        }
    }
}
