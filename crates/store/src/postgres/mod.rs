//! The PostgreSQL implementation of [`crate::Store`]: the same contract and
//! guarantees as the SQLite store, in a database that several nodes can
//! share (`statecraft server --store postgres://user@host:port/db`).
//!
//! How it is built:
//! - Driver: `postgres`, sfackler's synchronous client (which wraps
//!   `tokio-postgres`). The store's reads are synchronous, and the runtime
//!   calls them from async tasks, where a client that blocks on its own
//!   tokio runtime must not run; so every connection lives on a thread of
//!   the store's own: reads are handed to a small pool of read threads (one
//!   connection each) and answered over a channel, writes go to the writer.
//! - Writes: one writer thread commits whatever is queued in ONE transaction
//!   (group commit, see `writer`); a transition is a version-checked UPDATE
//!   whose history INSERT rides in the same statement (one round trip),
//!   plus one statement per timer or task change.
//! - Faults: a URL, a connection or credentials that do not work make
//!   [`PostgresStore::open`] fail with an [`OpenError`] that names the store
//!   and the cause. At run time a lost connection fails the batch in flight
//!   (nothing of it committed), the writer reconnects with back-off, and
//!   reads reconnect on their next use; both report the error meanwhile.
//!
//! PostgreSQL features the store relies on (listed so that a distributed
//! PostgreSQL-compatible engine such as CockroachDB or YugabyteDB stays an
//! option; each has a portable form there):
//! - `INSERT … ON CONFLICT … DO NOTHING / DO UPDATE` and `RETURNING`;
//! - data-modifying common table expressions (`WITH u AS (UPDATE …
//!   RETURNING …), h AS (INSERT …) SELECT …`) for the one-statement commit;
//! - `unnest` of two arrays (`BIGINT[]`, `TEXT[]`) and `= ANY($1)`;
//! - `SELECT … FOR UPDATE` (the migration lock on a row of
//!   `schema_version`) and `FOR UPDATE SKIP LOCKED` (claims of executions
//!   and tasks, so nodes never wait on each other's rows);
//! - `BIGSERIAL` ids, `SAVEPOINT`, partial indexes;
//! - `LISTEN`/`pg_notify` for cross-node wake-ups, an optional fast path
//!   only: every wake-up has a slow poll behind it, so an engine (or a
//!   transaction-pooling proxy) without them only adds latency;
//! - not used: session advisory locks, `LOCK TABLE`, PL/pgSQL, triggers,
//!   extensions, JSON operators (JSON is `TEXT`, parsed in Rust).

mod db;
mod error;
mod map_runs;
mod migrate;
mod queries;
mod queue;
mod stats;
mod writer;

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

use statecraft_types::HistoryEvent;

use crate::activity::{Activity, ActivityStore};
use crate::commits::Committed;
use crate::error::{Error, Result};
use crate::page::{Page, PageRequest};
use crate::pending::Pending;
use crate::state_machine::{
    Alias, MachineType, Revision, StateMachine, StateMachineStore, Version,
};
use crate::tag::{Tag, TagStore};
use crate::Store;
use crate::{
    CommitStats, Created, DueTimer, Execution, ExecutionFilter, ExecutionStore, ExecutionSummary,
    Fence, HistoryQuery, HistoryStore, Lease, LeaseStore, NewExecution, NoticeStore, PendingTask,
    RetentionStore, StatsStore, TaskStore, Timer, TimerStore, Transition, WireEvent,
};

pub use db::redact as redact_url;
use db::{Connector, Db};
pub use error::OpenError;
pub use migrate::LATEST as SCHEMA_VERSION;

/// Whether a store location names a PostgreSQL database.
pub fn is_postgres_url(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

/// Options of [`PostgresStore::open`].
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    /// `postgres://user[:password]@host[:port]/database[?options]`.
    pub url: String,
    /// Read connections (one thread each).
    pub readers: usize,
}

impl PostgresOptions {
    pub fn new(url: impl Into<String>) -> Self {
        PostgresOptions {
            url: url.into(),
            readers: 4,
        }
    }
}

type ReadJob = Box<dyn FnOnce(&mut Option<Db>) + Send>;

/// The PostgreSQL store. Share it as `Arc<PostgresStore>` (or `Arc<dyn Store>`).
pub struct PostgresStore {
    target: String,
    connector: Connector,
    writer: RwLock<Option<Sender<Box<dyn writer::Job>>>>,
    writer_thread: Mutex<Option<JoinHandle<()>>>,
    stats: Arc<writer::Stats>,
    reads: Mutex<Option<Sender<ReadJob>>>,
    /// Notices of committed transitions (see [`crate::commits`]).
    commits: tokio::sync::broadcast::Sender<Committed>,
    /// Wake-ups other nodes sent (LISTEN/NOTIFY, see [`crate::commits::Wakeup`]).
    wakeups: tokio::sync::broadcast::Sender<crate::commits::Wakeup>,
    /// Held while the store lives; the LISTEN thread ends when it is gone.
    _listening: Arc<()>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

/// The LISTEN thread: one connection of its own, reconnecting with back-off
/// while the database is away, publishing what it hears on `tx`. Ends when
/// nobody can subscribe any more (the store was dropped). Lost
/// notifications (while reconnecting) are covered by the slow polls.
fn listen(
    connector: &Connector,
    tx: &tokio::sync::broadcast::Sender<crate::commits::Wakeup>,
    commits: &tokio::sync::broadcast::Sender<Committed>,
    instance: &str,
    alive: &std::sync::Weak<()>,
) {
    use postgres::fallible_iterator::FallibleIterator;
    let mut backoff = std::time::Duration::from_millis(100);
    loop {
        if alive.strong_count() == 0 {
            return;
        }
        let mut db = match connector.connect() {
            Ok(db) => db,
            Err(_) => {
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(std::time::Duration::from_secs(5));
                continue;
            }
        };
        if db
            .simple(&format!("LISTEN {}", crate::commits::WAKEUP_CHANNEL))
            .is_err()
        {
            std::thread::sleep(backoff);
            continue;
        }
        backoff = std::time::Duration::from_millis(100);
        let mut notifications = db.client.notifications();
        // A bounded wait, so a dropped store ends this thread.
        let mut it = notifications.timeout_iter(std::time::Duration::from_secs(1));
        loop {
            match it.next() {
                Ok(Some(n)) => match crate::commits::Wakeup::parse(n.payload()) {
                    // Another node's commits become this node's notices: a
                    // hint to read, which is all the console takes from them.
                    Some(crate::commits::Wakeup::Commits { from, arns }) if from != instance => {
                        for arn in arns {
                            let _ = commits.send(Committed {
                                execution_arn: arn,
                                last_event_id: 0,
                                status: crate::execution::ExecutionStatus::Running,
                            });
                        }
                    }
                    // This node's own commits: announced locally already.
                    Some(crate::commits::Wakeup::Commits { .. }) => {}
                    Some(w) => {
                        let _ = tx.send(w);
                    }
                    None => {}
                },
                Ok(None) => {
                    if alive.strong_count() == 0 {
                        return;
                    }
                }
                // The connection broke: reconnect.
                Err(_) => break,
            }
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl PostgresStore {
    /// Connects, applies pending migrations (safely when several nodes
    /// start at once) and starts the writer and read threads.
    pub fn open(options: &PostgresOptions) -> Result<PostgresStore, OpenError> {
        let connector = Connector::parse(&options.url)?;
        let mut db = connector.connect_for_open()?;
        migrate::migrate(&mut db, &connector.target, now_ms())?;

        let (tx, rx) = mpsc::channel();
        // This store's name in its commit notifications, so that its own
        // LISTEN thread skips them.
        let instance = {
            use std::hash::{BuildHasher, Hasher};
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u32(std::process::id());
            h.write_i64(now_ms());
            format!("{:016x}", h.finish())
        };
        let writer_instance = instance.clone();
        let stats = Arc::new(writer::Stats::default());
        let thread_stats = Arc::clone(&stats);
        let writer_connector = connector.clone();
        let handle = std::thread::Builder::new()
            .name("statecraft-pg-writer".into())
            .spawn(move || writer::run(writer_connector, db, rx, &thread_stats, &writer_instance))
            .map_err(|e| OpenError::Thread {
                what: "writer",
                cause: e.to_string(),
            })?;

        let wakeups = tokio::sync::broadcast::channel(crate::commits::CAPACITY).0;
        let listen_connector = connector.clone();
        let listen_tx = wakeups.clone();
        let commits = tokio::sync::broadcast::channel(crate::commits::CAPACITY).0;
        let listen_commits = commits.clone();
        let listen_instance = instance.clone();
        let listening = Arc::new(());
        let alive = Arc::downgrade(&listening);
        std::thread::Builder::new()
            .name("statecraft-pg-listen".into())
            .spawn(move || {
                listen(
                    &listen_connector,
                    &listen_tx,
                    &listen_commits,
                    &listen_instance,
                    &alive,
                )
            })
            .map_err(|e| OpenError::Thread {
                what: "listen",
                cause: e.to_string(),
            })?;

        let (read_tx, read_rx) = mpsc::channel::<ReadJob>();
        let read_rx = Arc::new(Mutex::new(read_rx));
        for i in 0..options.readers.max(1) {
            let rx = Arc::clone(&read_rx);
            std::thread::Builder::new()
                .name(format!("statecraft-pg-read-{i}"))
                .spawn(move || read_loop(&rx))
                .map_err(|e| OpenError::Thread {
                    what: "read",
                    cause: e.to_string(),
                })?;
        }

        Ok(PostgresStore {
            target: connector.target.clone(),
            connector,
            writer: RwLock::new(Some(tx)),
            writer_thread: Mutex::new(Some(handle)),
            stats,
            reads: Mutex::new(Some(read_tx)),
            commits,
            wakeups,
            _listening: listening,
        })
    }

    /// `host:port/database`, for messages.
    pub fn target(&self) -> &str {
        &self.target
    }

    fn write<T: Send + 'static>(
        &self,
        op: impl Fn(&mut Db) -> Result<T> + Send + 'static,
    ) -> Pending<T> {
        let (completer, pending) = Pending::new();
        self.queue(writer::job(completer, op, None));
        pending
    }

    /// As [`PostgresStore::write`], publishing `committed` once the write
    /// commits (if `announce` holds for its result).
    fn write_announced<T: Send + 'static>(
        &self,
        op: impl Fn(&mut Db) -> Result<T> + Send + 'static,
        committed: Committed,
        announce: fn(&T) -> bool,
    ) -> Pending<T> {
        let (completer, pending) = Pending::new();
        let notice = writer::Notice {
            committed,
            announce,
            channel: self.commits.clone(),
        };
        self.queue(writer::job(completer, op, Some(notice)));
        pending
    }

    fn queue(&self, job: Box<dyn writer::Job>) {
        let guard = match self.writer.read() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        match guard.as_ref() {
            Some(tx) => {
                if let Err(mpsc::SendError(job)) = tx.send(job) {
                    job.finish(Err(Error::Closed));
                }
            }
            None => job.finish(Err(Error::Closed)),
        }
    }

    /// Runs a read on a read thread's connection and waits for it.
    fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Db) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = mpsc::sync_channel(1);
        let connector = self.connector.clone();
        let job: ReadJob = Box::new(move |slot: &mut Option<Db>| {
            let _ = tx.send(run_read(&connector, slot, f));
        });
        {
            let guard = match self.reads.lock() {
                Ok(g) => g,
                Err(poisoned) => poisoned.into_inner(),
            };
            let sender = guard.as_ref().ok_or(Error::Closed)?;
            sender.send(job).map_err(|_| Error::Closed)?;
        }
        rx.recv().unwrap_or(Err(Error::Closed))
    }
}

/// Runs `f` on the slot's connection, (re)connecting first if needed and
/// dropping a connection that broke.
fn run_read<T>(
    connector: &Connector,
    slot: &mut Option<Db>,
    f: impl FnOnce(&mut Db) -> Result<T>,
) -> Result<T> {
    if slot.as_ref().is_some_and(Db::is_closed) {
        *slot = None;
    }
    if slot.is_none() {
        *slot = Some(connector.connect()?);
    }
    let db = slot
        .as_mut()
        .ok_or_else(|| Error::Backend("PostgreSQL store: no read connection".into()))?;
    let result = f(db);
    if db.is_closed() {
        *slot = None;
    }
    result
}

/// A read thread: takes jobs until the store is dropped.
fn read_loop(rx: &Mutex<Receiver<ReadJob>>) {
    let mut slot: Option<Db> = None;
    loop {
        let job = {
            let guard = match rx.lock() {
                Ok(g) => g,
                Err(poisoned) => poisoned.into_inner(),
            };
            guard.recv()
        };
        match job {
            Ok(job) => job(&mut slot),
            Err(_) => return,
        }
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        self.close();
        // Read threads end once their queue's sender is gone.
        match self.reads.lock() {
            Ok(mut g) => drop(g.take()),
            Err(poisoned) => drop(poisoned.into_inner().take()),
        }
    }
}

impl Store for PostgresStore {
    fn close(&self) {
        let sender = match self.writer.write() {
            Ok(mut g) => g.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        drop(sender);
        let handle = match self.writer_thread.lock() {
            Ok(mut g) => g.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(h) = handle {
            // The writer drains its queue and exits once the sender is gone.
            let _ = h.join();
        }
    }

    /// One round trip on a read connection (reconnecting if needed).
    fn health(&self) -> Result<()> {
        self.read(|c| {
            c.query_one("SELECT 1", &[])?;
            Ok(())
        })
    }
}

impl StateMachineStore for PostgresStore {
    fn create_state_machine(
        &self,
        name: String,
        machine_type: MachineType,
        revision: Revision,
        creation_date_ms: i64,
    ) -> Pending<StateMachine> {
        self.write(move |c| {
            queries::create_state_machine(
                c,
                name.clone(),
                machine_type,
                revision.clone(),
                creation_date_ms,
            )
        })
    }

    fn update_state_machine(&self, revision: Revision) -> Pending<StateMachine> {
        self.write(move |c| queries::update_state_machine(c, revision.clone()))
    }

    fn delete_state_machine(&self, arn: &str) -> Pending<()> {
        let arn = arn.to_string();
        self.write(move |c| queries::delete_state_machine(c, &arn))
    }

    fn get_state_machine(&self, arn: &str) -> Result<Option<StateMachine>> {
        let arn = arn.to_string();
        self.read(move |c| queries::get_state_machine(c, &arn))
    }

    fn list_state_machines(&self, page: &PageRequest) -> Result<Page<StateMachine>> {
        let page = page.clone();
        self.read(move |c| queries::list_state_machines(c, &page))
    }

    fn get_revision(&self, revision_id: &str) -> Result<Option<Revision>> {
        let id = revision_id.to_string();
        self.read(move |c| queries::get_revision(c, &id))
    }

    fn publish_version(
        &self,
        state_machine_arn: &str,
        description: Option<String>,
        creation_date_ms: i64,
    ) -> Pending<Version> {
        let arn = state_machine_arn.to_string();
        self.write(move |c| {
            queries::publish_version(c, &arn, description.clone(), creation_date_ms)
        })
    }

    fn get_version(&self, arn: &str) -> Result<Option<Version>> {
        let arn = arn.to_string();
        self.read(move |c| queries::get_version(c, &arn))
    }

    fn list_versions(&self, state_machine_arn: &str, page: &PageRequest) -> Result<Page<Version>> {
        let arn = state_machine_arn.to_string();
        let page = page.clone();
        self.read(move |c| queries::list_versions(c, &arn, &page))
    }

    fn delete_version(&self, arn: &str) -> Pending<()> {
        let arn = arn.to_string();
        self.write(move |c| queries::delete_version(c, &arn))
    }

    fn create_alias(&self, alias: Alias) -> Pending<Alias> {
        self.write(move |c| queries::create_alias(c, alias.clone()))
    }

    fn update_alias(&self, alias: Alias) -> Pending<Alias> {
        self.write(move |c| queries::update_alias(c, alias.clone()))
    }

    fn delete_alias(&self, arn: &str) -> Pending<()> {
        let arn = arn.to_string();
        self.write(move |c| queries::delete_alias(c, &arn))
    }

    fn get_alias(&self, arn: &str) -> Result<Option<Alias>> {
        let arn = arn.to_string();
        self.read(move |c| queries::get_alias(c, &arn))
    }

    fn list_aliases(&self, state_machine_arn: &str, page: &PageRequest) -> Result<Page<Alias>> {
        let arn = state_machine_arn.to_string();
        let page = page.clone();
        self.read(move |c| queries::list_aliases(c, &arn, &page))
    }
}

impl TagStore for PostgresStore {
    fn tag_resource(&self, resource_arn: &str, tags: Vec<Tag>) -> Pending<()> {
        let arn = resource_arn.to_string();
        self.write(move |c| queries::tag_resource(c, &arn, &tags))
    }

    fn untag_resource(&self, resource_arn: &str, keys: Vec<String>) -> Pending<()> {
        let arn = resource_arn.to_string();
        self.write(move |c| queries::untag_resource(c, &arn, &keys))
    }

    fn list_tags(&self, resource_arn: &str) -> Result<Vec<Tag>> {
        let arn = resource_arn.to_string();
        self.read(move |c| queries::list_tags(c, &arn))
    }
}

impl ActivityStore for PostgresStore {
    fn create_activity(&self, activity: Activity) -> Pending<Activity> {
        self.write(move |c| queries::create_activity(c, activity.clone()))
    }

    fn delete_activity(&self, arn: &str) -> Pending<()> {
        let arn = arn.to_string();
        self.write(move |c| queries::delete_activity(c, &arn))
    }

    fn get_activity(&self, arn: &str) -> Result<Option<Activity>> {
        let arn = arn.to_string();
        self.read(move |c| queries::get_activity(c, &arn))
    }

    fn list_activities(&self, page: &PageRequest) -> Result<Page<Activity>> {
        let page = page.clone();
        self.read(move |c| queries::list_activities(c, &page))
    }

    fn queued_tasks(&self, arn: &str, now_ms: i64) -> Result<u64> {
        let arn = arn.to_string();
        self.read(move |c| queries::queued_tasks(c, &arn, now_ms))
    }
}

/// Whether a create wrote a new execution (an existing one is not news).
fn is_new(created: &Created) -> bool {
    matches!(created, Created::New)
}

impl ExecutionStore for PostgresStore {
    fn create_execution(&self, execution: NewExecution, first: Transition) -> Pending<Created> {
        let notice = Committed::of(&first);
        let first = queries::Prepared::new(first);
        self.write_announced(
            move |c| queries::create_execution(c, &execution, &first, None),
            notice,
            is_new,
        )
    }

    fn create_leased_execution(
        &self,
        execution: NewExecution,
        first: Transition,
        owner: &str,
        lease_until_ms: i64,
    ) -> Pending<Created> {
        let notice = Committed::of(&first);
        let first = queries::Prepared::new(first);
        let lease = Some((owner.to_string(), lease_until_ms));
        self.write_announced(
            move |c| queries::create_execution(c, &execution, &first, lease.as_ref()),
            notice,
            is_new,
        )
    }

    fn commit(&self, transition: Transition) -> Pending<u64> {
        let notice = Committed::of(&transition);
        let prepared = queries::Prepared::new(transition);
        self.write_announced(move |c| queries::commit(c, &prepared), notice, |_| true)
    }

    fn commit_fenced(&self, transition: Transition, fence: Fence) -> Pending<u64> {
        let notice = Committed::of(&transition);
        let mut prepared = queries::Prepared::new(transition);
        prepared.fence = Some(fence);
        self.write_announced(move |c| queries::commit(c, &prepared), notice, |_| true)
    }

    fn get_execution(&self, arn: &str) -> Result<Option<Execution>> {
        let arn = arn.to_string();
        self.read(move |c| queries::get_execution(c, &arn))
    }

    fn list_executions(
        &self,
        filter: &ExecutionFilter,
        page: &PageRequest,
    ) -> Result<Page<ExecutionSummary>> {
        let filter = filter.clone();
        let page = page.clone();
        self.read(move |c| queries::list_executions(c, &filter, &page))
    }

    fn active_executions(&self, page: &PageRequest) -> Result<Page<String>> {
        let page = page.clone();
        self.read(move |c| queries::active_executions(c, &page))
    }

    fn count_open_executions(&self) -> Result<u64> {
        self.read(queries::count_open_executions)
    }
}

impl HistoryStore for PostgresStore {
    fn history(&self, execution_arn: &str, query: &HistoryQuery) -> Result<Page<HistoryEvent>> {
        let arn = execution_arn.to_string();
        let query = query.clone();
        self.read(move |c| queries::history(c, &arn, &query))
    }

    fn history_wire(&self, execution_arn: &str, query: &HistoryQuery) -> Result<Page<WireEvent>> {
        let arn = execution_arn.to_string();
        let query = query.clone();
        self.read(move |c| queries::history_wire(c, &arn, &query))
    }
}

impl TimerStore for PostgresStore {
    fn timers(&self, execution_arn: &str) -> Result<Vec<Timer>> {
        let arn = execution_arn.to_string();
        self.read(move |c| queries::timers(c, &arn))
    }

    fn due_timers(&self, until_ms: i64, limit: u32) -> Result<Vec<DueTimer>> {
        self.read(move |c| queries::due_timers(c, until_ms, limit))
    }
}

impl TaskStore for PostgresStore {
    fn pending_tasks(&self, execution_arn: &str) -> Result<Vec<PendingTask>> {
        let arn = execution_arn.to_string();
        self.read(move |c| queries::pending_tasks(c, &arn))
    }

    fn task_by_token(&self, token: &str) -> Result<Option<(String, PendingTask)>> {
        let token = token.to_string();
        self.read(move |c| queries::task_by_token(c, &token))
    }

    fn answer_task(&self, token: &str, answer: String) -> Pending<Option<(String, PendingTask)>> {
        let token = token.to_string();
        self.write(move |c| queries::answer_task(c, &token, &answer))
    }

    fn task_answers(&self, execution_arn: &str) -> Result<Vec<(u64, String)>> {
        let arn = execution_arn.to_string();
        self.read(move |c| queries::task_answers(c, &arn))
    }

    fn claim_task(
        &self,
        resource: &str,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Pending<Option<(String, PendingTask)>> {
        let resource = resource.to_string();
        let owner = owner.to_string();
        self.write(move |c| queries::claim_task(c, &resource, &owner, now_ms, lease_ms))
    }

    fn resource_tasks(&self, resource: &str, limit: u32) -> Result<Vec<(String, PendingTask)>> {
        let resource = resource.to_string();
        self.read(move |c| queries::resource_tasks(c, &resource, limit))
    }
}

impl LeaseStore for PostgresStore {
    fn claim_leases(
        &self,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
    ) -> Pending<Vec<Lease>> {
        let owner = owner.to_string();
        self.write(move |c| queries::claim_leases(c, &owner, now_ms, lease_ms, limit))
    }

    fn claim_executions(
        &self,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
    ) -> Pending<Vec<String>> {
        let owner = owner.to_string();
        self.write(move |c| {
            let leases = queries::claim_leases(c, &owner, now_ms, lease_ms, limit)?;
            Ok(leases.into_iter().map(|l| l.execution_arn).collect())
        })
    }

    fn claim_lease(
        &self,
        execution_arn: &str,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        force: bool,
    ) -> Pending<Option<u64>> {
        let arn = execution_arn.to_string();
        let owner = owner.to_string();
        self.write(move |c| queries::claim_lease(c, &arn, &owner, now_ms, lease_ms, force))
    }

    fn owned_task_answers(&self, owner: &str, limit: u32) -> Result<Vec<(String, u64, String)>> {
        let owner = owner.to_string();
        self.read(move |c| queries::owned_task_answers(c, &owner, limit))
    }

    fn post_event(&self, execution_arn: &str, event: String) -> Pending<bool> {
        let arn = execution_arn.to_string();
        let now = now_ms();
        self.write(move |c| queries::post_event(c, &arn, &event, now))
    }

    fn owned_inbox(&self, owner: &str, limit: u32) -> Result<Vec<(i64, String, String)>> {
        let owner = owner.to_string();
        self.read(move |c| queries::owned_inbox(c, &owner, limit))
    }

    fn inbox(&self, execution_arn: &str) -> Result<Vec<(i64, String)>> {
        let arn = execution_arn.to_string();
        self.read(move |c| queries::inbox(c, &arn))
    }

    fn delete_inbox(&self, ids: Vec<i64>) -> Pending<()> {
        self.write(move |c| queries::delete_inbox(c, &ids))
    }
}

impl StatsStore for PostgresStore {
    fn overview(&self, query: &crate::stats::OverviewQuery) -> Result<crate::stats::Overview> {
        let query = query.clone();
        self.read(move |c| stats::overview(c, &query))
    }

    fn commit_stats(&self) -> CommitStats {
        self.stats.snapshot()
    }
}

impl RetentionStore for PostgresStore {
    fn delete_finished_before(&self, before_ms: i64, limit: u32) -> Pending<u64> {
        self.write(move |c| queries::delete_finished_before(c, before_ms, limit))
    }

    fn delete_finished_execution(&self, arn: &str, stopped_before_ms: i64) -> Pending<bool> {
        let arn = arn.to_string();
        self.write(move |c| queries::delete_finished_execution(c, &arn, stopped_before_ms))
    }
}

impl NoticeStore for PostgresStore {
    fn subscribe_commits(&self) -> Option<tokio::sync::broadcast::Receiver<Committed>> {
        Some(self.commits.subscribe())
    }

    fn subscribe_wakeups(
        &self,
    ) -> Option<tokio::sync::broadcast::Receiver<crate::commits::Wakeup>> {
        Some(self.wakeups.subscribe())
    }
}
