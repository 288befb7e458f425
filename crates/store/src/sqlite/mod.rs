//! The SQLite implementation of [`crate::Store`], in one database file,
//! `<data-dir>/statecraft.db`, in WAL mode.
//!
//! Writes go to the single group-commit writer thread (`writer`); reads go
//! to a small pool of read connections, which WAL lets run concurrently
//! with the writer and see only committed data.
//!
//! Durability: [`Durability::Full`] (the default) runs WAL with
//! `synchronous=FULL`: the WAL is fsynced at every commit, so a committed
//! transition survives a power loss, not just a `kill -9`. Group commit is
//! what makes this affordable: one fsync covers a whole batch of
//! transitions, so the cost per transition shrinks as load grows.
//! [`Durability::Normal`] (`synchronous=NORMAL`) skips that fsync; commits
//! still survive a crash of the process (the WAL is in the OS page cache),
//! and the database is never corrupted, but the last transitions before a
//! power loss or OS crash may be lost. Choose it for throughput on a disk
//! with slow fsync when only process crashes matter.

mod counts;
mod map_runs;
mod migrate;
mod notify;
mod queries;
mod queue;
mod retention;
#[cfg(test)]
mod startup;
mod stats;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

use rusqlite::{Connection, OpenFlags};
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

pub use migrate::LATEST as SCHEMA_VERSION;

/// The file name of the database inside the data directory.
pub const DB_FILE: &str = "statecraft.db";

/// How hard a commit tries to be durable; see the module doc.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=FULL`: survives power loss.
    #[default]
    Full,
    /// `synchronous=NORMAL`: survives a process crash only.
    Normal,
}

/// Options of [`SqliteStore::open`].
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// The directory that holds `statecraft.db`; created if missing.
    pub data_dir: PathBuf,
    pub durability: Durability,
    /// Read connections in the pool.
    pub readers: usize,
    /// The most pages the database may grow to (`PRAGMA max_page_count`);
    /// `None`: SQLite's own limit. Past it writes fail as on a full disk,
    /// which is how the tests reach that path without filling one.
    pub max_page_count: Option<u64>,
}

impl SqliteOptions {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        SqliteOptions {
            data_dir: data_dir.into(),
            durability: Durability::Full,
            readers: 4,
            max_page_count: None,
        }
    }
}

/// The SQLite store. Share it as `Arc<SqliteStore>` (or `Arc<dyn Store>`).
pub struct SqliteStore {
    path: PathBuf,
    writer: RwLock<Option<Sender<Box<dyn writer::Job>>>>,
    writer_thread: Mutex<Option<JoinHandle<()>>>,
    stats: Arc<writer::Stats>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    /// Notices of committed transitions (see [`crate::commits`]).
    commits: tokio::sync::broadcast::Sender<Committed>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn configure(conn: &Connection, durability: Durability) -> Result<()> {
    // Readers never wait for the writer in WAL; the busy timeout only covers
    // checkpoints and a second process opening the same file.
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let sync = match durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    };
    conn.execute_batch(&format!(
        "PRAGMA synchronous = {sync};
         PRAGMA foreign_keys = OFF;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -16000;"
    ))?;
    Ok(())
}

/// What to do about a damaged database, said once for every way it shows.
const DAMAGED_ADVICE: &str = "Statecraft will not start on it: restore statecraft.db from a backup, or move it (with any statecraft.db-wal and statecraft.db-shm beside it) out of the data directory to start with an empty store";

fn damaged(path: &Path, detail: &str) -> Error {
    Error::Corrupt(format!(
        "the database {} is damaged ({detail}). {DAMAGED_ADVICE}.",
        path.display()
    ))
}

/// `e` as [`damaged`] when SQLite says the file is damaged or no database.
fn damaged_or(path: &Path, e: rusqlite::Error) -> Error {
    match crate::error::sqlite_kind(&e) {
        "corrupt" => damaged(path, &e.to_string()),
        _ => Error::from(e),
    }
}

fn empty_file(path: &Path) -> Error {
    Error::Corrupt(format!(
        "the database {} is an empty file (0 bytes). Statecraft creates its database whole, so this is not one it wrote: the file was truncated or replaced. {DAMAGED_ADVICE}.",
        path.display()
    ))
}

/// `PRAGMA quick_check`: every page's structure, without the index
/// cross-checks of `integrity_check` (linear in the file's size).
fn quick_check(conn: &Connection, path: &Path) -> Result<()> {
    let mut stmt = conn
        .prepare("PRAGMA quick_check(5)")
        .map_err(|e| damaged_or(path, e))?;
    let rows: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .and_then(|rows| rows.collect())
        .map_err(|e| damaged_or(path, e))?;
    if rows.len() == 1 && rows[0] == "ok" {
        return Ok(());
    }
    Err(damaged(path, &rows.join("; ")))
}

/// Creates a new database whole: built under a temporary name (WAL mode,
/// schema) and renamed into place, so that `statecraft.db` is either absent
/// or a complete database, never the empty file a crash during creation
/// would leave (which [`SqliteStore::open`] refuses).
fn create(path: &Path, options: &SqliteOptions) -> Result<()> {
    let fresh = path.with_extension("db.new");
    for leftover in ["", "-wal", "-shm", "-journal"] {
        let p = PathBuf::from(format!("{}{leftover}", fresh.display()));
        if p.exists() {
            std::fs::remove_file(&p)
                .map_err(|e| Error::Backend(format!("cannot remove {}: {e}", p.display())))?;
        }
    }
    {
        let mut conn = Connection::open(&fresh)?;
        let _: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        configure(&conn, options.durability)?;
        migrate::migrate(&mut conn, now_ms())?;
        // Closing the last connection checkpoints the WAL into the file and
        // removes it, so the file alone is the whole database.
        conn.close().map_err(|(_, e)| Error::from(e))?;
    }
    std::fs::rename(&fresh, path).map_err(|e| {
        Error::Backend(format!(
            "cannot move {} to {}: {e}",
            fresh.display(),
            path.display()
        ))
    })?;
    // The rename itself must survive a power loss.
    if let Some(dir) = path.parent() {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

impl SqliteStore {
    /// Opens (creating if needed) `<data_dir>/statecraft.db`, applies
    /// pending migrations and starts the writer thread.
    pub fn open(options: &SqliteOptions) -> Result<SqliteStore> {
        std::fs::create_dir_all(&options.data_dir).map_err(|e| {
            Error::Backend(format!(
                "cannot create data directory {}: {e}",
                options.data_dir.display()
            ))
        })?;
        let path = options.data_dir.join(DB_FILE);
        match std::fs::metadata(&path) {
            Ok(m) if m.len() == 0 => return Err(empty_file(&path)),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(&path, options)?,
            Err(e) => {
                return Err(Error::Backend(format!(
                    "cannot read {}: {e}",
                    path.display()
                )))
            }
        }
        let mut conn = Connection::open(&path)?;
        // The first statements read the header and the schema: a file that
        // is not a database, or a damaged one, fails here or in the check.
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(|e| damaged_or(&path, e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::Backend(format!(
                "the database could not be put in WAL mode (got {mode})"
            )));
        }
        configure(&conn, options.durability)?;
        quick_check(&conn, &path)?;
        if let Some(pages) = options.max_page_count {
            // The pragma answers with the limit in force; nothing to check.
            let _: i64 = conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |r| {
                r.get(0)
            })?;
        }
        migrate::migrate(&mut conn, now_ms()).map_err(|e| match e {
            Error::Backend(m) if m.contains("malformed") || m.contains("not a database") => {
                damaged(&path, &m)
            }
            e => e,
        })?;

        let mut readers = Vec::with_capacity(options.readers.max(1));
        for _ in 0..options.readers.max(1) {
            let r = Connection::open_with_flags(
                &path,
                OpenFlags::SQLITE_OPEN_READ_ONLY
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX
                    | OpenFlags::SQLITE_OPEN_URI,
            )?;
            configure(&r, options.durability)?;
            readers.push(Mutex::new(r));
        }

        let (tx, rx) = mpsc::channel();
        let stats = Arc::new(writer::Stats::default());
        let thread_stats = Arc::clone(&stats);
        let handle = std::thread::Builder::new()
            .name("statecraft-store-writer".into())
            .spawn(move || writer::run(conn, rx, &thread_stats))
            .map_err(|e| Error::Backend(format!("cannot start the writer thread: {e}")))?;

        Ok(SqliteStore {
            path,
            writer: RwLock::new(Some(tx)),
            writer_thread: Mutex::new(Some(handle)),
            stats,
            readers,
            next_reader: AtomicUsize::new(0),
            commits: tokio::sync::broadcast::channel(crate::commits::CAPACITY).0,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Queues a write for the writer thread.
    fn write<T: Send + 'static>(
        &self,
        op: impl Fn(&Connection) -> Result<T> + Send + 'static,
    ) -> Pending<T> {
        let (completer, pending) = Pending::new();
        self.queue(writer::job(completer, op));
        pending
    }

    /// As [`SqliteStore::write`], publishing `notice` once the write commits
    /// (if `announce` holds for its result).
    fn write_announced<T: Send + 'static>(
        &self,
        op: impl Fn(&Connection) -> Result<T> + Send + 'static,
        notice: Committed,
        announce: fn(&T) -> bool,
    ) -> Pending<T> {
        let (completer, pending) = Pending::new();
        let job = notify::job(completer, op, notice, announce, self.commits.clone());
        self.queue(job);
        pending
    }

    /// Hands a job to the writer thread, or fails it if the writer is gone.
    fn queue(&self, job: Box<dyn writer::Job>) {
        let guard = match self.writer.read() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        match guard.as_ref() {
            Some(tx) => {
                if let Err(mpsc::SendError(job)) = tx.send(job) {
                    // The writer is gone; report Closed through the job itself.
                    job.finish(Err(Error::Closed));
                }
            }
            None => job.finish(Err(Error::Closed)),
        }
    }

    /// Runs a read on a pooled connection: the first free one, else waits
    /// for one (round robin so waiting readers spread out).
    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let n = self.readers.len();
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        for i in 0..n {
            if let Some(slot) = self.readers.get((start + i) % n) {
                if let Ok(conn) = slot.try_lock() {
                    return f(&conn);
                }
            }
        }
        let slot = self
            .readers
            .get(start % n)
            .ok_or_else(|| Error::Backend("no read connection".into()))?;
        let conn = match slot.lock() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&conn)
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.close();
    }
}

impl Store for SqliteStore {
    /// The first row of every table: each table's root page and first leaf
    /// are read, which fails on a damaged or vanished file, and costs a few
    /// page reads.
    fn health(&self) -> Result<()> {
        self.read(|conn| {
            let tables: Vec<String> = conn
                .prepare_cached("SELECT name FROM sqlite_master WHERE type = 'table'")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            for t in tables {
                let sql = format!("SELECT 1 FROM \"{}\" LIMIT 1", t.replace('"', "\"\""));
                let mut stmt = conn.prepare(&sql)?;
                let mut rows = stmt.query([])?;
                rows.next()?;
            }
            Ok(())
        })
    }

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
}

impl StateMachineStore for SqliteStore {
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
        self.read(|c| queries::get_state_machine(c, arn))
    }

    fn list_state_machines(&self, page: &PageRequest) -> Result<Page<StateMachine>> {
        self.read(|c| queries::list_state_machines(c, page))
    }

    fn get_revision(&self, revision_id: &str) -> Result<Option<Revision>> {
        self.read(|c| queries::get_revision(c, revision_id))
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
        self.read(|c| queries::get_version(c, arn))
    }

    fn list_versions(&self, state_machine_arn: &str, page: &PageRequest) -> Result<Page<Version>> {
        self.read(|c| queries::list_versions(c, state_machine_arn, page))
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
        self.read(|c| queries::get_alias(c, arn))
    }

    fn list_aliases(&self, state_machine_arn: &str, page: &PageRequest) -> Result<Page<Alias>> {
        self.read(|c| queries::list_aliases(c, state_machine_arn, page))
    }
}

impl TagStore for SqliteStore {
    fn tag_resource(&self, resource_arn: &str, tags: Vec<Tag>) -> Pending<()> {
        let arn = resource_arn.to_string();
        self.write(move |c| queries::tag_resource(c, &arn, &tags))
    }

    fn untag_resource(&self, resource_arn: &str, keys: Vec<String>) -> Pending<()> {
        let arn = resource_arn.to_string();
        self.write(move |c| queries::untag_resource(c, &arn, &keys))
    }

    fn list_tags(&self, resource_arn: &str) -> Result<Vec<Tag>> {
        self.read(|c| queries::list_tags(c, resource_arn))
    }
}

impl ActivityStore for SqliteStore {
    fn create_activity(&self, activity: Activity) -> Pending<Activity> {
        self.write(move |c| queries::create_activity(c, activity.clone()))
    }

    fn delete_activity(&self, arn: &str) -> Pending<()> {
        let arn = arn.to_string();
        self.write(move |c| queries::delete_activity(c, &arn))
    }

    fn get_activity(&self, arn: &str) -> Result<Option<Activity>> {
        self.read(|c| queries::get_activity(c, arn))
    }

    fn queued_tasks(&self, arn: &str, now_ms: i64) -> Result<u64> {
        self.read(|c| counts::queued_tasks(c, arn, now_ms))
    }

    fn list_activities(&self, page: &PageRequest) -> Result<Page<Activity>> {
        self.read(|c| queries::list_activities(c, page))
    }
}

/// Whether a create wrote a new execution (an existing one is not news).
fn is_new(created: &Created) -> bool {
    matches!(created, Created::New)
}

impl ExecutionStore for SqliteStore {
    fn create_execution(&self, execution: NewExecution, first: Transition) -> Pending<Created> {
        let notice = Committed::of(&first);
        let first = queries::Prepared::new(first);
        self.write_announced(
            move |c| queries::create_execution(c, &execution, &first),
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
            move |c| queries::create_execution_leased(c, &execution, &first, lease.as_ref()),
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
        self.read(|c| queries::get_execution(c, arn))
    }

    fn list_executions(
        &self,
        filter: &ExecutionFilter,
        page: &PageRequest,
    ) -> Result<Page<ExecutionSummary>> {
        self.read(|c| queries::list_executions(c, filter, page))
    }

    fn active_executions(&self, page: &PageRequest) -> Result<Page<String>> {
        self.read(|c| queries::active_executions(c, page))
    }

    fn count_open_executions(&self) -> Result<u64> {
        self.read(queries::count_open_executions)
    }
}

impl HistoryStore for SqliteStore {
    fn history(&self, execution_arn: &str, query: &HistoryQuery) -> Result<Page<HistoryEvent>> {
        self.read(|c| queries::history(c, execution_arn, query))
    }

    fn history_wire(&self, execution_arn: &str, query: &HistoryQuery) -> Result<Page<WireEvent>> {
        self.read(|c| queries::history_wire(c, execution_arn, query))
    }
}

impl TimerStore for SqliteStore {
    fn timers(&self, execution_arn: &str) -> Result<Vec<Timer>> {
        self.read(|c| queries::timers(c, execution_arn))
    }

    fn due_timers(&self, until_ms: i64, limit: u32) -> Result<Vec<DueTimer>> {
        self.read(|c| queries::due_timers(c, until_ms, limit))
    }
}

impl TaskStore for SqliteStore {
    fn pending_tasks(&self, execution_arn: &str) -> Result<Vec<PendingTask>> {
        self.read(|c| queries::pending_tasks(c, execution_arn))
    }

    fn task_by_token(&self, token: &str) -> Result<Option<(String, PendingTask)>> {
        self.read(|c| queries::task_by_token(c, token))
    }

    fn answer_task(&self, token: &str, answer: String) -> Pending<Option<(String, PendingTask)>> {
        let token = token.to_string();
        self.write(move |c| queries::answer_task(c, &token, &answer))
    }

    fn task_answers(&self, execution_arn: &str) -> Result<Vec<(u64, String)>> {
        self.read(|c| queries::task_answers(c, execution_arn))
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
        self.read(|c| stats::resource_tasks(c, resource, limit))
    }
}

impl LeaseStore for SqliteStore {
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
        self.read(|c| queries::owned_task_answers(c, owner, limit))
    }

    fn post_event(&self, execution_arn: &str, event: String) -> Pending<bool> {
        let arn = execution_arn.to_string();
        let now = now_ms();
        self.write(move |c| queries::post_event(c, &arn, &event, now))
    }

    fn owned_inbox(&self, owner: &str, limit: u32) -> Result<Vec<(i64, String, String)>> {
        self.read(|c| queries::owned_inbox(c, owner, limit))
    }

    fn inbox(&self, execution_arn: &str) -> Result<Vec<(i64, String)>> {
        self.read(|c| queries::inbox(c, execution_arn))
    }

    fn delete_inbox(&self, ids: Vec<i64>) -> Pending<()> {
        self.write(move |c| queries::delete_inbox(c, &ids))
    }
}

impl StatsStore for SqliteStore {
    fn overview(&self, query: &crate::stats::OverviewQuery) -> Result<crate::stats::Overview> {
        self.read(|c| stats::overview(c, query))
    }

    fn commit_stats(&self) -> CommitStats {
        self.stats.snapshot()
    }
}

impl RetentionStore for SqliteStore {
    fn delete_finished_before(&self, before_ms: i64, limit: u32) -> Pending<u64> {
        self.write(move |c| retention::delete_finished_before(c, before_ms, limit))
    }

    fn delete_finished_execution(&self, arn: &str, stopped_before_ms: i64) -> Pending<bool> {
        let arn = arn.to_string();
        self.write(move |c| retention::delete_finished_execution(c, &arn, stopped_before_ms))
    }
}

impl NoticeStore for SqliteStore {
    fn subscribe_commits(&self) -> Option<tokio::sync::broadcast::Receiver<Committed>> {
        Some(self.commits.subscribe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&SqliteOptions::new(dir.path())).unwrap();
        (dir, store)
    }

    /// A running execution at version 1 with no history. (The shared
    /// suite's `seed_execution` is out of reach here: it lives in a crate
    /// that depends on this one, and these tests read the database
    /// directly.)
    fn seed(store: &SqliteStore, arn: &str) {
        let new = NewExecution {
            arn: arn.into(),
            state_machine_arn: "arn:aws:states:us-east-1:1:stateMachine:m".into(),
            version_arn: None,
            alias_arn: None,
            revision_id: "r".into(),
            name: "wire".into(),
            input: "{}".into(),
            trace_header: None,
            start_date_ms: 1,
            map_run_arn: None,
            parent_arn: None,
        };
        let first = Transition {
            execution_arn: arn.into(),
            expected_version: 0,
            state: crate::ExecutionState {
                status: crate::ExecutionStatus::Running,
                output: None,
                error: None,
                cause: None,
                stop_date_ms: None,
                redrive_count: 0,
                redrive_date_ms: None,
                redrive_status: None,
                redrive_status_reason: None,
                engine_state: "{}".into(),
                pause: None,
                revision_id: None,
            },
            events: vec![],
            timers: vec![],
            tasks: vec![],
        };
        assert_eq!(store.create_execution(new, first).wait(), Ok(Created::New));
    }

    #[test]
    fn concurrent_writes_share_transactions() {
        let (_dir, store) = open();
        let pending: Vec<_> = (0..500)
            .map(|i| store.tag_resource(&format!("arn:r:{i}"), vec![]))
            .collect();
        for p in pending {
            p.wait().unwrap();
        }
        let stats = store.commit_stats();
        assert_eq!(stats.writes, 500);
        assert!(stats.batches < 500, "no batching: {stats:?}");
        assert!(stats.max_batch > 1);
    }

    #[test]
    fn one_failing_write_does_not_fail_its_batch() {
        let (_dir, store) = open();
        let a = Activity {
            arn: "arn:aws:states:us-east-1:1:activity:a".into(),
            name: "a".into(),
            creation_date_ms: 1,
            encryption_configuration: None,
        };
        let first = store.create_activity(a.clone());
        let dup = store.create_activity(a.clone());
        let other = store.tag_resource(
            &a.arn,
            vec![Tag {
                key: "k".into(),
                value: "v".into(),
            }],
        );
        assert_eq!(first.wait(), Ok(a.clone()));
        assert!(matches!(dup.wait(), Err(Error::AlreadyExists { .. })));
        assert_eq!(other.wait(), Ok(()));
        assert_eq!(store.list_tags(&a.arn).unwrap().len(), 1);
    }

    #[test]
    fn stored_events_are_in_the_wire_shape() {
        let (_dir, store) = open();
        let arn = "arn:aws:states:us-east-1:1:execution:m:wire";
        seed(&store, arn);
        let mut details = serde_json::Map::new();
        details.insert("name".into(), "A \"quoted\" é".into());
        let event = HistoryEvent {
            id: 2,
            previous_event_id: 1,
            timestamp_ms: 1_700_000_000_123,
            event_type: statecraft_types::EventType::PassStateEntered,
            details: Some(details),
        };
        let t = Transition {
            execution_arn: arn.into(),
            expected_version: 1,
            state: store.get_execution(arn).unwrap().unwrap().state,
            events: vec![event.clone()],
            timers: vec![],
            tasks: vec![],
        };
        store.commit(t).wait().unwrap();
        let stored: String = store
            .read(|c| {
                Ok(
                    c.query_row("SELECT event FROM history WHERE event_id = 2", [], |r| {
                        r.get(0)
                    })?,
                )
            })
            .unwrap();
        let parsed: serde_json::Value = serde_json::from_str(&stored).unwrap();
        assert_eq!(parsed, event.to_wire());
        assert_eq!(HistoryEvent::from_wire(&parsed), Some(event));
    }

    #[test]
    fn writes_after_close_are_refused() {
        let (_dir, store) = open();
        store.close();
        let r = store.tag_resource("arn:x", vec![]).wait();
        assert_eq!(r, Err(Error::Closed));
    }
}
