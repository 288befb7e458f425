//! The Statecraft execution runtime: runs the pure engine durably.
//!
//! How the pieces fit:
//! - [`Runtime`] is the cheap-to-clone handle the server calls:
//!   [`Runtime::start_execution`], [`Runtime::stop_execution`],
//!   [`Runtime::redrive_execution`], [`Runtime::describe_execution`],
//!   [`Runtime::history`], [`Runtime::list_executions`] and
//!   [`Runtime::start_sync_execution`]. Control-plane records (state
//!   machines, versions, aliases, tags) are plain store calls through
//!   [`Runtime::store`].
//! - Each active execution with work in flight has an actor (`actor`): a
//!   tokio task with a mailbox that applies its events one at a time —
//!   engine step, then ONE store commit of the whole step (events, state,
//!   timers, tasks), then the step's commands. Different executions run in
//!   parallel. An idle actor passivates ([`Options::passivate_after`]): an
//!   execution waiting on a timer, a task or an answer holds no task and no
//!   engine state, and the next message for it activates it from the store.
//! - The timer service (`timer`) keeps armed timers in a heap and turns due
//!   ones into `TimerFired` events; [`integration::Integrations`] carries out
//!   tasks.
//! - Recovery: [`Runtime::open`] claims every active execution in the store
//!   and resumes them in the background: timers re-armed (due ones fire at
//!   once), pending tasks re-dispatched; each continues from its last
//!   committed transition. An execution needed before its turn is activated
//!   on demand.
//! - Leases: every execution is leased to the node that runs it (taken at
//!   creation, renewed every third of [`Options::lease`]); a node takes over
//!   active executions whose lease ran out. Every commit is also checked
//!   against the version it was computed from, so even a node that lost its
//!   lease without noticing can never double-apply a transition.
//! - Express executions started with StartSyncExecution (`express`) run
//!   entirely in memory: nothing is written, as AWS keeps nothing for them.
//! - Limits (`limits`): an execution fails at AWS's history quota; each
//!   engine call runs on the blocking pool and at most
//!   [`Limits::steps_per_turn`] transitions, then the execution waits its
//!   turn behind other work; StartExecution may be bounded by open
//!   executions and by a start rate.
//!
//! Architecture invariant: the runtime changes an execution only through a
//! transition committed to the store, and acts on a step's commands (timers,
//! tasks) only after its commit succeeded. A crash at any point therefore
//! resumes from the last committed transition, and no state runs twice.

pub mod activity;
mod actor;
pub mod arn;
pub mod catalog;
pub mod error;
mod express;
pub mod handle;
pub mod host;
pub mod integration;
pub mod limits;
mod machines;
pub mod map_run;
pub mod model;
mod observe;
pub mod operators;
pub mod queues;
pub mod read;
pub mod redrive;
pub mod retention;
mod timer;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use statecraft_engine::{Event, ExecutionContext};
use statecraft_store::{
    Created, Durability, ExecutionFilter, ExecutionSummary, HistoryQuery, NewExecution, Page,
    PageRequest, PostgresOptions, PostgresStore, Revision, SqliteOptions, SqliteStore,
    StateMachine, Store,
};
use statecraft_types::HistoryEvent;
use tokio::sync::{mpsc, oneshot, Notify};

pub use error::{Error, Result};
pub use express::{SyncExecution, SyncStatus};
pub use handle::RuntimeHandle;
pub use integration::{
    Integration, Integrations, TaskAnswer, TaskContext, TaskFuture, TaskOutcome,
};
pub use limits::{Clock, Limits, StartRate, SystemClock, DEFAULT_NAME_REUSE_DAYS};
pub use statecraft_store::{Execution as ExecutionRecord, ExecutionStatus};

use crate::actor::Msg;
use crate::arn::Target;
use crate::host::{now_ms, SystemHost};
use crate::machines::Machines;
use crate::timer::Timers;

/// How to open a runtime.
#[derive(Clone)]
pub struct Options {
    /// Where `statecraft.db` lives.
    pub data_dir: PathBuf,
    /// A PostgreSQL database (`postgres://user@host:port/db`) to use
    /// instead of the embedded SQLite store under `data_dir`.
    pub store_url: Option<String>,
    pub durability: Durability,
    /// This node's name in execution leases.
    pub node_id: String,
    pub integrations: Integrations,
    /// Where Distributed Map runs read their items and write their results
    /// (the integrations crate's buckets); without it a map run reads its
    /// ItemReader whole through the reader's Task integration and cannot
    /// write results.
    pub map_run_io: Option<Arc<dyn map_run::MapRunIo>>,
    /// How long this node's lease on an execution lasts; renewed every
    /// third of it. Another node may take over an execution whose lease ran
    /// out (this node stopped renewing).
    pub lease: Duration,
    /// The history quota, the step budget and the start quotas.
    pub limits: Limits,
    /// Whether this node runs executions (the `worker` role). A node that
    /// does not (an `api`-only node) commits the executions it starts
    /// without a lease, claims none, and hands back at once any execution
    /// it had to take over to apply an API call, for worker nodes to claim.
    pub runs_executions: bool,
    /// Resource ARNs or prefixes whose tasks may wait in a flow-limit queue
    /// before they run ([`statecraft_engine::Machine::started_later`]): the
    /// integration that lets them start delivers their `TaskStarted` with
    /// [`Runtime::send_event`].
    pub started_later: Vec<String>,
    /// Filled with the runtime as it is constructed: give clones to what
    /// is built before it and calls it (see [`handle`]).
    pub handle: RuntimeHandle,
    /// How long an execution's actor stays in memory with nothing to do
    /// (nothing in flight, every transition committed) before it ends and
    /// the execution waits in the store alone: its timers in the timer
    /// service (ARN, due time, timer id), its lease kept. The next message
    /// for it (a timer, a task's answer, a stop, an operator) activates it
    /// again from the store. Zero (the default): at once.
    pub passivate_after: Duration,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("data_dir", &self.data_dir)
            .field("store_url", &self.store_url.as_ref().map(|_| "…"))
            .field("node_id", &self.node_id)
            .field("integrations", &self.integrations)
            .field("map_run_io", &self.map_run_io.is_some())
            .field("lease", &self.lease)
            .field("runs_executions", &self.runs_executions)
            .field("started_later", &self.started_later)
            .field("passivate_after", &self.passivate_after)
            .finish_non_exhaustive()
    }
}

impl Options {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Options {
            data_dir: data_dir.into(),
            store_url: None,
            durability: Durability::default(),
            node_id: "local".into(),
            integrations: Integrations::new(),
            map_run_io: None,
            lease: DEFAULT_LEASE,
            limits: Limits::default(),
            runs_executions: true,
            started_later: Vec::new(),
            handle: RuntimeHandle::new(),
            passivate_after: Duration::ZERO,
        }
    }
}

/// StartExecution's request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StartExecution {
    /// A state machine, version or alias ARN.
    pub target_arn: String,
    /// The execution name; a UUID when absent.
    pub name: Option<String>,
    /// The input JSON text; `{}` when absent.
    pub input: Option<String>,
    pub trace_header: Option<String>,
}

/// StartExecution's response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    pub execution_arn: String,
    pub start_date_ms: i64,
}

/// The default [`Options::lease`]: a node that dies loses its executions
/// within this time (renewals come every third of it).
pub const DEFAULT_LEASE: Duration = Duration::from_secs(10);

/// The runtime. Clone it freely: clones share everything.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("node_id", &self.inner.node_id)
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) integrations: Integrations,
    /// See [`Options::map_run_io`].
    pub(crate) map_run_io: Option<Arc<dyn map_run::MapRunIo>>,
    pub(crate) timers: Timers,
    pub(crate) machines: Machines,
    pub(crate) host: SystemHost,
    node_id: String,
    lease_ms: i64,
    /// See [`Options::runs_executions`].
    runs_executions: AtomicBool,
    /// The mailbox of every execution that has an actor now.
    actors: Mutex<HashMap<String, Mailbox>>,
    /// Executions whose actor passivated here ([`Options::passivate_after`]),
    /// with the version it had committed: their activation dispatches
    /// nothing again. Changed only under the `actors` lock (taken first).
    passive: Mutex<HashMap<String, u64>>,
    /// See [`Options::passivate_after`].
    pub(crate) passivate_after: Duration,
    /// The fencing token of every execution lease this node holds: its
    /// commits carry it, and the store refuses them once another node took
    /// the lease over.
    fences: Mutex<HashMap<String, u64>>,
    next_actor_id: std::sync::atomic::AtomicU64,
    live_actors: AtomicUsize,
    /// Who waits for which execution to end ([`Runtime::wait_for_completion`]).
    waiters: Mutex<HashMap<String, Vec<oneshot::Sender<()>>>>,
    recovery_failures: Mutex<HashMap<String, Error>>,
    /// Inbox events handed to an actor and not yet deleted from the store:
    /// a poll in between must not deliver them twice.
    inbox_in_flight: Mutex<std::collections::HashSet<i64>>,
    actors_done: Notify,
    shutting_down: AtomicBool,
    limits: Limits,
    /// The start-rate token bucket.
    start_bucket: limits::Bucket,
    /// StartExecutions between their open-executions check and their
    /// commit, counted against the limit with the committed ones.
    starts_in_flight: AtomicUsize,
    /// Makes each open-executions check and its reservation one step.
    start_gate: tokio::sync::Mutex<()>,
    /// Names of the state machines whose executions pause instead of
    /// failing (the server's `[machines.<name>] on_failure = "pause"`).
    pause_on_failure: Mutex<std::collections::HashSet<String>>,
    /// The map-run drivers running here ([`Runtime::update_map_run`] wakes them).
    map_run_drivers: map_run::Drivers,
    /// The time name reuse is judged by ([`Runtime::set_clock`]).
    clock: Mutex<Arc<dyn Clock>>,
}

impl Runtime {
    /// Opens the store (the SQLite store under `options.data_dir`, or the
    /// PostgreSQL database of `options.store_url`), starts the services and
    /// recovers every active execution. Must be called inside a tokio
    /// runtime.
    pub async fn open(mut options: Options) -> Result<Runtime> {
        if options.store_url.is_some() && options.node_id == Options::new("").node_id {
            // Nodes sharing a database must not share a lease owner name:
            // each process gets its own, so that a restarted node takes its
            // predecessor's executions over (new fencing tokens) rather than
            // renewing leases it never held.
            options.node_id = unique_node_id();
        }
        let store: Arc<dyn Store> = match &options.store_url {
            Some(url) => {
                let postgres = PostgresOptions::new(url.as_str());
                let store = tokio::task::spawn_blocking(move || PostgresStore::open(&postgres))
                    .await
                    .map_err(|e| statecraft_store::Error::Backend(e.to_string()))?
                    .map_err(statecraft_store::Error::from)?;
                Arc::new(store)
            }
            None => {
                let mut sqlite = SqliteOptions::new(&options.data_dir);
                sqlite.durability = options.durability;
                let store = tokio::task::spawn_blocking(move || SqliteStore::open(&sqlite))
                    .await
                    .map_err(|e| statecraft_store::Error::Backend(e.to_string()))??;
                Arc::new(store)
            }
        };
        Runtime::with_store_parts(store, options).await
    }

    /// Starts the runtime over any store, and recovers its active executions.
    pub async fn with_store(
        store: Arc<dyn Store>,
        node_id: String,
        integrations: Integrations,
    ) -> Result<Runtime> {
        Runtime::with_store_leased(store, node_id, integrations, DEFAULT_LEASE).await
    }

    /// [`Runtime::with_store`] with a lease duration.
    pub async fn with_store_leased(
        store: Arc<dyn Store>,
        node_id: String,
        integrations: Integrations,
        lease: Duration,
    ) -> Result<Runtime> {
        Runtime::with_store_limited(store, node_id, integrations, lease, Limits::default()).await
    }

    /// [`Runtime::with_store_leased`] with [`Limits`].
    pub async fn with_store_limited(
        store: Arc<dyn Store>,
        node_id: String,
        integrations: Integrations,
        lease: Duration,
        limits: Limits,
    ) -> Result<Runtime> {
        let mut options = Options::new(PathBuf::new());
        options.node_id = node_id;
        options.integrations = integrations;
        options.lease = lease;
        options.limits = limits;
        Runtime::with_store_parts(store, options).await
    }

    /// [`Runtime::with_store_limited`] with [`Options::started_later`].
    pub async fn with_store_started_later(
        store: Arc<dyn Store>,
        node_id: String,
        integrations: Integrations,
        limits: Limits,
        started_later: Vec<String>,
    ) -> Result<Runtime> {
        let mut options = Options::new(PathBuf::new());
        options.node_id = node_id;
        options.integrations = integrations;
        options.limits = limits;
        options.started_later = started_later;
        Runtime::with_store_parts(store, options).await
    }

    /// Starts the runtime over `store` with everything else from `options`
    /// (its `data_dir`, `store_url` and `durability` are not used). A node
    /// that does not run executions (an `api`-only node, see
    /// [`Options::runs_executions`]) recovers nothing and claims nothing;
    /// executions it had to take over for an API call are handed back
    /// every third of the lease.
    async fn with_store_parts(store: Arc<dyn Store>, options: Options) -> Result<Runtime> {
        let Options {
            node_id,
            integrations,
            map_run_io,
            lease,
            limits,
            runs_executions,
            started_later,
            handle,
            passivate_after,
            ..
        } = options;
        let (fired_tx, mut fired_rx) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            store,
            integrations,
            map_run_io,
            timers: Timers::spawn(fired_tx),
            machines: Machines::new(limits.engine(), started_later),
            host: SystemHost,
            node_id,
            lease_ms: i64::try_from(lease.as_millis()).unwrap_or(i64::MAX).max(1),
            runs_executions: AtomicBool::new(runs_executions),
            actors: Mutex::new(HashMap::new()),
            passive: Mutex::new(HashMap::new()),
            passivate_after,
            fences: Mutex::new(HashMap::new()),
            next_actor_id: std::sync::atomic::AtomicU64::new(1),
            live_actors: AtomicUsize::new(0),
            waiters: Mutex::new(HashMap::new()),
            recovery_failures: Mutex::new(HashMap::new()),
            inbox_in_flight: Mutex::new(std::collections::HashSet::new()),
            actors_done: Notify::new(),
            shutting_down: AtomicBool::new(false),
            limits,
            start_bucket: limits::Bucket::new(limits.start_rate),
            starts_in_flight: AtomicUsize::new(0),
            start_gate: tokio::sync::Mutex::new(()),
            pause_on_failure: Mutex::new(std::collections::HashSet::new()),
            map_run_drivers: map_run::Drivers::default(),
            clock: Mutex::new(Arc::new(SystemClock)),
        });
        // Fired timers become events of their executions. The loop holds a
        // weak reference so that dropping every Runtime ends it.
        let weak = Arc::downgrade(&inner);
        tokio::spawn(async move {
            while let Some(f) = fired_rx.recv().await {
                let Some(inner) = weak.upgrade() else { return };
                inner.deliver(&f.execution, Event::TimerFired { timer: f.timer });
            }
        });
        // What was built before the runtime (nested executions, flow
        // limits, activities) reaches it from now on, before recovery
        // dispatches anything.
        handle.fill(&inner);
        let rt = Runtime { inner };
        if runs_executions {
            rt.recover().await?;
            rt.spawn_lease_renewal();
            rt.spawn_answer_poll();
        } else {
            rt.spawn_hand_back();
        }
        Ok(rt)
    }

    /// Puts [`Options::started_later`] in force for the executions whose
    /// actors start from now on (how a server sets its flow limits after
    /// opening the runtime).
    pub fn set_started_later(&self, started_later: Vec<String>) {
        self.inner.machines.set_started_later(started_later);
    }

    /// The limits this runtime enforces (the server sizes its requests by
    /// [`Limits::payload_bytes`]).
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// Sets the clock that [`Limits::execution_name_reuse_days`] is judged
    /// by (a test's virtual clock; the system clock otherwise).
    pub fn set_clock(&self, clock: Arc<dyn Clock>) {
        *self
            .inner
            .clock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = clock;
    }

    /// This node's name in execution leases.
    pub fn node_id(&self) -> &str {
        &self.inner.node_id
    }

    /// The catalogue (state machines, activities, tags, schedules) the
    /// API and the console read and change.
    pub fn catalog(&self) -> catalog::Catalog {
        catalog::Catalog::new(self.inner.store.clone())
    }

    /// Starts the retention sweep of finished executions beside this
    /// runtime (it runs until the process ends).
    pub fn spawn_retention(&self, options: retention::Options) -> tokio::task::JoinHandle<()> {
        retention::spawn(self.inner.store.clone(), options)
    }

    /// The read model of executions the API and the console query.
    pub fn read_model(&self) -> read::ReadModel {
        read::ReadModel::new(self.inner.store.clone())
    }

    /// The store itself, for tests that seed or inspect records (the
    /// `store-access` feature, which only dev-dependencies turn on). The
    /// server and the console use [`Runtime::catalog`],
    /// [`Runtime::read_model`] and [`Runtime::queues`].
    #[cfg(feature = "store-access")]
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// The store, as the runtime's own modules reach it from a handle
    /// (activity tasks' claims and polls).
    pub(crate) fn shared_store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// Claims every active execution of the store, then resumes them in the
    /// background so that opening stays fast however many there are. Until
    /// its turn comes, an execution is activated on demand by the first
    /// event or call that needs it (activation is idempotent).
    async fn recover(&self) -> Result<()> {
        let inner = Arc::clone(&self.inner);
        let leases = inner
            .store
            .claim_leases(&inner.node_id, now_ms(), inner.lease_ms, u32::MAX)
            .await?;
        let arns: Vec<String> = {
            let mut fences = inner.lock_fences();
            leases
                .into_iter()
                .map(|l| {
                    fences.insert(l.execution_arn.clone(), l.token);
                    l.execution_arn
                })
                .collect()
        };
        tokio::spawn(async move {
            for arn in arns {
                if inner.shutting_down.load(Ordering::Acquire) {
                    return;
                }
                if let Err(e) = inner.activate(&arn) {
                    // Left RUNNING in the store: a later start retries it.
                    inner.lock_recovery_failures().insert(arn, e);
                }
                // Let new work in between activations.
                tokio::task::yield_now().await;
            }
        });
        Ok(())
    }

    /// Every third of the lease, renews this node's leases and takes over
    /// active executions whose lease ran out (a node that died), resuming
    /// those that have no actor here. Ends when the runtime is dropped or
    /// shut down.
    fn spawn_lease_renewal(&self) {
        let weak = Arc::downgrade(&self.inner);
        let period =
            Duration::from_millis(u64::try_from(self.inner.lease_ms / 3).unwrap_or(1).max(1));
        // Another node's wake-ups (PostgreSQL LISTEN/NOTIFY): an execution
        // started without a lease is claimed at once rather than at the
        // next tick; an answer to a task of an execution this node runs is
        // applied at once rather than at the next answer poll.
        let claim_now = Arc::new(Notify::new());
        if let Some(mut wakeups) = self.inner.store.subscribe_wakeups() {
            let weak = Arc::downgrade(&self.inner);
            let claim_now = Arc::clone(&claim_now);
            tokio::spawn(async move {
                loop {
                    let wakeup = match wakeups.recv().await {
                        Ok(w) => w,
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                    };
                    let Some(inner) = weak.upgrade() else { return };
                    match wakeup {
                        statecraft_store::Wakeup::Start => claim_now.notify_one(),
                        statecraft_store::Wakeup::Answer { execution_arn } => {
                            if inner.lock_fences().contains_key(&execution_arn) {
                                // Inbox first: a worker's TaskStarted goes in
                                // before the answer that followed it.
                                if let Ok(rows) = inner.store.inbox(&execution_arn) {
                                    inner.deliver_inbox(
                                        rows.into_iter()
                                            .map(|(id, e)| (id, execution_arn.clone(), e))
                                            .collect(),
                                    );
                                }
                                inner.deliver_answers_of(&execution_arn);
                            }
                        }
                        statecraft_store::Wakeup::Task { .. }
                        | statecraft_store::Wakeup::Commits { .. } => {}
                    }
                }
            });
        }
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // The first tick is immediate and startup has just claimed.
            tick.tick().await;
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    () = claim_now.notified() => {}
                }
                let Some(inner) = weak.upgrade() else { return };
                if inner.shutting_down.load(Ordering::Acquire) {
                    return;
                }
                let started = std::time::Instant::now();
                let claimed = inner
                    .store
                    .claim_leases(&inner.node_id, now_ms(), inner.lease_ms, u32::MAX)
                    .await;
                // A failed renewal is retried at the next tick; the lease
                // outlasts two missed renewals.
                let Ok(leases) = claimed else { continue };
                statecraft_telemetry::metrics::observe_lease_claim(started.elapsed());
                inner.renewed(leases);
            }
        });
    }

    /// On a node that runs no executions: every third of the lease, ends
    /// the actors of executions it took over to apply an API call and lets
    /// their leases lapse at once (same owner, expiry now: the token stays,
    /// so nothing in flight is refused), for a worker's next claim.
    fn spawn_hand_back(&self) {
        let weak = Arc::downgrade(&self.inner);
        let period =
            Duration::from_millis(u64::try_from(self.inner.lease_ms / 3).unwrap_or(1).max(1));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(period).await;
                let Some(inner) = weak.upgrade() else { return };
                if inner.shutting_down.load(Ordering::Acquire) {
                    return;
                }
                let held: Vec<String> = inner.lock_fences().keys().cloned().collect();
                for arn in held {
                    inner.lock_fences().remove(&arn);
                    {
                        let mut actors = inner.lock_actors();
                        actors.remove(&arn);
                        inner.lock_passive().remove(&arn);
                    }
                    inner.timers.cancel_all(&arn);
                    let now = now_ms();
                    // Renewing one's own lease to expire now releases it.
                    let _ = inner
                        .store
                        .claim_lease(&arn, &inner.node_id, now, -1, false)
                        .await;
                }
            }
        });
    }

    /// Every [`activity::SLOW_POLL`], delivers task answers that other nodes
    /// recorded for executions this node runs (SendTaskSuccess/Failure sent
    /// to another node).
    fn spawn_answer_poll(&self) {
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(activity::SLOW_POLL).await;
                let Some(inner) = weak.upgrade() else { return };
                if inner.shutting_down.load(Ordering::Acquire) {
                    return;
                }
                if let Ok(rows) = inner.store.owned_inbox(&inner.node_id, 1000) {
                    inner.deliver_inbox(rows);
                }
                inner.deliver_recorded_answers();
            }
        });
    }

    /// Active executions that could not be resumed at startup (a definition
    /// this build cannot prepare, unreadable state), with the reason. They
    /// stay RUNNING in the store and are retried at the next start.
    pub fn recovery_failures(&self) -> Vec<(String, Error)> {
        let mut failures: Vec<(String, Error)> = self
            .inner
            .lock_recovery_failures()
            .iter()
            .map(|(arn, e)| (arn.clone(), e.clone()))
            .collect();
        failures.sort_by(|a, b| a.0.cmp(&b.0));
        failures
    }

    /// StartExecution: creates the execution, runs it to its first wait and
    /// commits that before answering. Idempotent by name: the same name and
    /// input as a running execution returns it; otherwise a name in use is
    /// `ExecutionAlreadyExists`.
    pub async fn start_execution(&self, request: StartExecution) -> Result<Started> {
        self.start(request, None).await
    }

    /// StartExecution on behalf of a parent execution (a nested-workflow
    /// task): as [`Runtime::start_execution`], and the child records its
    /// parent.
    pub async fn start_child_execution(
        &self,
        request: StartExecution,
        parent_arn: &str,
    ) -> Result<Started> {
        self.start(request, Some(parent_arn.to_string())).await
    }

    async fn start(&self, request: StartExecution, parent_arn: Option<String>) -> Result<Started> {
        let inner = &self.inner;
        inner.check_running()?;
        inner.start_bucket.take()?;
        let resolved = inner.resolve(&request.target_arn)?;
        let input_text = request.input.clone().unwrap_or_else(|| "{}".into());
        if input_text.len() > inner.limits.payload_bytes {
            return Err(Error::InvalidExecutionInput(format!(
                "The input is {} bytes, more than the limit of {} bytes.",
                input_text.len(),
                inner.limits.payload_bytes
            )));
        }
        let input: Value = serde_json::from_str(&input_text)
            .map_err(|e| Error::InvalidExecutionInput(e.to_string()))?;
        let _slot = self.open_slot().await?;
        let name = request
            .name
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        // An EXPRESS machine started asynchronously gets AWS's express ARN
        // (`…:express:<machine>:<name>:<id>`); its name is not unique.
        let execution_arn =
            if resolved.machine.machine_type == statecraft_store::MachineType::Express {
                arn::execution_arn(&resolved.machine.arn, "express", &name)
                    .map(|base| format!("{base}:{}", uuid::Uuid::new_v4()))
            } else {
                arn::execution_arn(&resolved.machine.arn, "execution", &name)
            }
            .ok_or_else(|| Error::InvalidArn(resolved.machine.arn.clone()))?;
        let machine = inner.machines.get(&resolved.revision)?;
        let now = now_ms();
        let context = ExecutionContext {
            execution_arn: execution_arn.clone(),
            execution_name: name.clone(),
            state_machine_arn: resolved.machine.arn.clone(),
            state_machine_name: resolved.machine.name.clone(),
            role_arn: resolved.revision.role_arn.clone(),
            start_time_ms: now,
            redrive_count: 0,
        };
        let (execution, plan) = {
            let machine = Arc::clone(&machine);
            let host = inner.host;
            let arn = execution_arn.clone();
            actor::engine_call(move || {
                let (execution, step) =
                    statecraft_engine::Execution::start(&machine, context, input, now, &host);
                let plan = actor::plan(&arn, &execution, step, 0, None, now);
                (execution, plan)
            })
            .await
        };
        let plan = plan?;
        let new = NewExecution {
            arn: execution_arn.clone(),
            state_machine_arn: resolved.machine.arn.clone(),
            version_arn: resolved.version_arn.clone(),
            alias_arn: resolved.alias_arn.clone(),
            revision_id: resolved.revision.revision_id.clone(),
            name,
            input: input_text.clone(),
            trace_header: request.trace_header.clone(),
            start_date_ms: now,
            map_run_arn: None,
            parent_arn,
        };
        let lease_until = now.saturating_add(inner.lease_ms);
        let observed = observe::before_commit(inner.store.as_ref(), &plan.transition);
        let runs = inner.runs_executions.load(Ordering::Relaxed);
        let create = |new: NewExecution, transition: statecraft_store::Transition| async move {
            if runs {
                inner
                    .store
                    .create_leased_execution(new, transition, &inner.node_id, lease_until)
                    .await
            } else {
                // Committed without a lease: a worker node claims it and runs
                // it from this first transition (timers and tasks included).
                inner.store.create_execution(new, transition).await
            }
        };
        let mut created = create(new.clone(), plan.transition.clone()).await?;
        // A finished execution's name is free again once it stopped longer
        // ago than the reuse window: the old execution goes, this one starts.
        if let Created::Existing(e) = &created {
            let now = inner.clock().now_ms();
            let free_before = inner.limits.names_free_before(now);
            if e.state
                .stop_date_ms
                .is_some_and(|stopped| stopped < free_before)
                && inner
                    .store
                    .delete_finished_execution(&execution_arn, free_before)
                    .await?
            {
                created = create(new, plan.transition).await?;
            }
        }
        match created {
            Created::New => {
                observed.committed(&execution_arn);
                if !runs {
                    return Ok(Started {
                        execution_arn,
                        start_date_ms: now,
                    });
                }
                inner
                    .lock_fences()
                    .insert(execution_arn.clone(), statecraft_store::FIRST_LEASE_TOKEN);
                if execution.is_finished() {
                    // Done within its first step (a chain of Pass/Choice
                    // states): no timers or tasks, no actor needed.
                    inner.wake_waiters(&execution_arn);
                } else {
                    inner.spawn_actor(actor::Actor::new(
                        execution_arn.clone(),
                        machine,
                        execution,
                        1,
                        None,
                        plan.commands,
                        None,
                    ));
                }
                Ok(Started {
                    execution_arn,
                    start_date_ms: now,
                })
            }
            Created::Existing(e) => {
                if e.state.status == ExecutionStatus::Running && e.input == input_text {
                    Ok(Started {
                        execution_arn,
                        start_date_ms: e.start_date_ms,
                    })
                } else {
                    Err(Error::ExecutionAlreadyExists(execution_arn))
                }
            }
        }
    }

    /// Holds a place under [`Limits::open_executions`] for one start, or
    /// answers `ExecutionLimitExceeded` (AWS's error for the quota of open
    /// executions). The count is the store's open executions plus the
    /// starts admitted but not yet done, checked and reserved under one
    /// lock: concurrent starts cannot overshoot. (A start that commits
    /// between the two reads is counted twice, so a concurrent start may be
    /// refused one place early; never admitted one place late.)
    async fn open_slot(&self) -> Result<Option<InFlight>> {
        let Some(limit) = self.inner.limits.open_executions else {
            return Ok(None);
        };
        let _gate = self.inner.start_gate.lock().await;
        // The starts in flight are read before the store's count: a start
        // commits before it leaves the in-flight count, so one that ends
        // between the two reads is counted twice (safe), never missed. Read
        // the other way round, a start could commit after the count and
        // leave before the in-flight read, and a place would be given twice.
        let in_flight = self.inner.starts_in_flight.load(Ordering::Acquire) as u64;
        let store = Arc::clone(&self.inner.store);
        let open = tokio::task::spawn_blocking(move || store.count_open_executions())
            .await
            .map_err(|e| statecraft_store::Error::Backend(e.to_string()))??;
        if open.saturating_add(in_flight) >= limit {
            return Err(Error::ExecutionLimitExceeded(format!(
                "Maximum open executions ({limit}) reached: running executions must end or be stopped before a new execution can be started"
            )));
        }
        Ok(Some(InFlight::new(Arc::clone(&self.inner))))
    }

    /// StopExecution: aborts a running execution. Returns the stop date. A
    /// finished execution is left as it is and its stop date returned.
    pub async fn stop_execution(
        &self,
        execution_arn: &str,
        error: Option<String>,
        cause: Option<String>,
    ) -> Result<i64> {
        let inner = &self.inner;
        inner.check_running()?;
        inner.take_over(execution_arn).await?;
        let (reply, answer) = oneshot::channel();
        if inner.send(
            execution_arn,
            Msg::Stop {
                error,
                cause,
                reply,
            },
        )? {
            if let Ok(result) = answer.await {
                return result;
            }
        }
        // Not active (finished, or finished while the message was queued).
        let record = self.describe_execution(execution_arn)?;
        match record.state.stop_date_ms {
            Some(stopped) if !record.state.status.is_active() => Ok(stopped),
            // Still running: the actor could not commit the stop (a store
            // failure) and is reloading; the caller may retry.
            _ => Err(Error::Store(statecraft_store::Error::Backend(format!(
                "execution '{execution_arn}' could not be stopped now; retry"
            )))),
        }
    }

    /// RedriveExecution: restarts a FAILED, TIMED_OUT or ABORTED execution
    /// from the state that failed. Returns the redrive date.
    pub async fn redrive_execution(&self, execution_arn: &str) -> Result<i64> {
        let inner = &self.inner;
        inner.check_running()?;
        let record = self.describe_execution(execution_arn)?;
        let now = now_ms();
        // A redriven execution is open again: it counts against the quota.
        let _slot = self.open_slot().await?;
        if let Some(reason) = self.redrive_refusal(&record, now)? {
            return Err(Error::ExecutionNotRedrivable(format!(
                "Execution '{execution_arn}' cannot be redriven: {reason}"
            )));
        }
        let revision = inner
            .store
            .get_revision(&record.revision_id)?
            .ok_or_else(|| Error::StateMachineDoesNotExist(record.state_machine_arn.clone()))?;
        let machine = inner.machines.get(&revision)?;
        let execution = actor::load_engine_state(&record)?;
        let (execution, plan) = {
            let machine = Arc::clone(&machine);
            let host = inner.host;
            let arn = execution_arn.to_string();
            let version = record.version;
            actor::engine_call(move || {
                let mut execution = execution;
                let plan = execution
                    .redrive(&machine, now, &host)
                    .map_err(|e| Error::ExecutionNotRedrivable(e.to_string()))
                    .and_then(|step| actor::plan(&arn, &execution, step, version, Some(now), now));
                (execution, plan)
            })
            .await
        };
        let plan = plan?;
        inner.take_over(execution_arn).await?;
        let version = match inner.commit(plan.transition).await {
            Ok(v) => v,
            // Someone else redrove (or otherwise advanced) it first.
            Err(statecraft_store::Error::Conflict { .. }) => {
                return Err(Error::ExecutionNotRedrivable(format!(
                    "Execution '{execution_arn}' was modified concurrently"
                )))
            }
            Err(e) => return Err(e.into()),
        };
        inner.spawn_actor(actor::Actor::new(
            execution_arn.to_string(),
            machine,
            execution,
            version,
            Some(now),
            plan.commands,
            None,
        ));
        Ok(now)
    }

    /// `redriveStatus` and `redriveStatusReason` as DescribeExecution shows
    /// them now (they change with time: the redrivable period runs out).
    pub fn redrive_status(
        &self,
        record: &ExecutionRecord,
    ) -> Result<(&'static str, Option<String>)> {
        Ok(match self.redrive_refusal(record, now_ms())? {
            None => (redrive::REDRIVABLE, None),
            Some(reason) => (redrive::NOT_REDRIVABLE, Some(reason)),
        })
    }

    fn redrive_refusal(&self, record: &ExecutionRecord, now: i64) -> Result<Option<String>> {
        let store = &self.inner.store;
        let machine = store.get_state_machine(&record.state_machine_arn)?;
        let last = store.history(
            &record.arn,
            &HistoryQuery {
                page: PageRequest::first(1),
                reverse: true,
            },
        )?;
        let history_len = last.items.first().map_or(0, |e| e.id);
        Ok(redrive::refusal(
            record,
            machine.as_ref(),
            history_len,
            self.inner.limits.history_events,
            now,
        ))
    }

    /// Waits until the execution is no longer running and returns it (at
    /// once if it has finished already). Woken by the execution's actor when
    /// it commits its final transition; no polling.
    pub async fn wait_for_completion(&self, execution_arn: &str) -> Result<ExecutionRecord> {
        loop {
            // Register before looking, so an end between the two is not missed.
            let (tx, rx) = oneshot::channel();
            self.inner
                .lock_waiters()
                .entry(execution_arn.to_string())
                .or_default()
                .push(tx);
            let record = self.describe_execution(execution_arn)?;
            if record.state.status != ExecutionStatus::Running {
                return Ok(record);
            }
            self.inner.check_running()?;
            // A dropped sender (shutdown, or the actor restarting after a
            // failed commit) just means: look again.
            let _ = rx.await;
            self.inner.check_running()?;
        }
    }

    /// DescribeExecution.
    pub fn describe_execution(&self, execution_arn: &str) -> Result<ExecutionRecord> {
        self.inner
            .store
            .get_execution(execution_arn)?
            .ok_or_else(|| Error::ExecutionDoesNotExist(execution_arn.to_string()))
    }

    /// The revision (definition and configuration) an execution runs, for
    /// DescribeStateMachineForExecution.
    pub fn revision_of(&self, record: &ExecutionRecord) -> Result<Revision> {
        self.inner
            .store
            .get_revision(&record.revision_id)?
            .ok_or_else(|| Error::StateMachineDoesNotExist(record.state_machine_arn.clone()))
    }

    /// ListExecutions.
    pub fn list_executions(
        &self,
        filter: &ExecutionFilter,
        page: &PageRequest,
    ) -> Result<Page<ExecutionSummary>> {
        Ok(self.inner.store.list_executions(filter, page)?)
    }

    /// GetExecutionHistory.
    pub fn history(&self, execution_arn: &str, query: &HistoryQuery) -> Result<Page<HistoryEvent>> {
        match self.inner.store.history(execution_arn, query) {
            Err(statecraft_store::Error::NotFound { .. }) => {
                Err(Error::ExecutionDoesNotExist(execution_arn.to_string()))
            }
            other => Ok(other?),
        }
    }

    /// StartSyncExecution: runs an EXPRESS machine to its end in memory and
    /// returns the result. Nothing is persisted.
    pub async fn start_sync_execution(&self, request: StartExecution) -> Result<SyncExecution> {
        self.inner.check_running()?;
        express::run(&self.inner, request).await
    }

    /// Delivers an event to an execution (integrations that complete tasks
    /// later, e.g. SendTaskSuccess, use this). Returns false if the
    /// execution is not active.
    pub fn send_event(&self, execution_arn: &str, event: Event) -> Result<bool> {
        self.inner.check_running()?;
        match self.inner.send(execution_arn, Msg::Event(event.clone())) {
            // A worker's TaskStarted or heartbeat that reached another node
            // than the execution's: recorded in the store's inbox and applied
            // by the node that runs it, which is woken. The execution is not
            // moved, so nothing it has in flight is dispatched again.
            Err(Error::Store(statecraft_store::Error::LeaseLost { .. })) => {
                let text = serde_json::to_string(&event)
                    .map_err(|e| statecraft_store::Error::Backend(e.to_string()))?;
                Ok(block_on(self.inner.store.post_event(execution_arn, text))?)
            }
            other => other,
        }
    }

    /// SendTaskSuccess / SendTaskFailure: closes the open task `token` names
    /// with `answer` and delivers it to the task's execution. Which answer
    /// wins is decided by the store in one statement (the answer is recorded
    /// only if the task is still open), so of concurrent answers to one
    /// token exactly one is accepted; the others, and any later one, get
    /// [`Error::TaskNotOpen`]. Returns false if the task's execution is not
    /// running.
    pub async fn answer_task(&self, token: &str, answer: TaskAnswer) -> Result<bool> {
        let inner = &self.inner;
        inner.check_running()?;
        let text = serde_json::to_string(&answer)
            .map_err(|e| statecraft_store::Error::Backend(e.to_string()))?;
        let Some((arn, task)) = inner.store.answer_task(token, text).await? else {
            return Err(Error::TaskNotOpen(
                "Task Timed Out: 'Provided task does not exist anymore'".into(),
            ));
        };
        match inner.send(&arn, Msg::Answer(answer_event(answer, task.task_id))) {
            // Another node runs the execution: the answer is recorded, and
            // its owner delivers it (it is told, or looks every second).
            Err(Error::Store(statecraft_store::Error::LeaseLost { .. })) => Ok(true),
            // The store took the answer while the task was open; the owner
            // may already have applied it and finished the execution.
            Ok(_) => Ok(true),
            Err(e) => Err(e),
        }
    }

    /// SendTaskHeartbeat: tells the open task `token` names that its worker
    /// is alive (restarting its `HeartbeatSeconds` timer). Works on any
    /// node: if another node runs the execution, the heartbeat goes
    /// through the store's inbox to it (as [`Runtime::send_event`] does).
    /// [`Error::TaskNotOpen`] if no open task has the token; returns false
    /// if the task's execution is not running.
    pub async fn heartbeat_task(&self, token: &str) -> Result<bool> {
        let inner = &self.inner;
        inner.check_running()?;
        let Some((arn, task)) = inner.store.task_by_token(token)? else {
            return Err(Error::TaskNotOpen(
                "Task Timed Out: 'Provided task does not exist anymore'".into(),
            ));
        };
        let event = Event::TaskHeartbeat { task: task.task_id };
        match inner.send(&arn, Msg::Event(event.clone())) {
            Err(Error::Store(statecraft_store::Error::LeaseLost { .. })) => {
                let text = serde_json::to_string(&event)
                    .map_err(|e| statecraft_store::Error::Backend(e.to_string()))?;
                Ok(inner.store.post_event(&arn, text).await?)
            }
            other => other,
        }
    }

    /// The number of executions with a live actor (for tests and metrics):
    /// those with something in flight or a message to apply, and those
    /// idle for less than [`Options::passivate_after`].
    pub fn active_executions(&self) -> usize {
        self.inner.live_actors.load(Ordering::Acquire)
    }

    /// The number of running executions this node holds without an actor
    /// (passivated: waiting on timers, tasks or answers in the store).
    pub fn passive_executions(&self) -> usize {
        let _actors = self.inner.lock_actors();
        self.inner.lock_passive().len()
    }

    /// Stops accepting work, lets every actor finish the event it is
    /// applying (its commit completes or not: both are consistent), then
    /// closes the store. Waits at most `grace` for the actors.
    pub async fn shutdown(&self, grace: Duration) {
        let inner = &self.inner;
        inner.shutting_down.store(true, Ordering::Release);
        // Dropping the mailboxes ends each actor after its current message.
        inner.lock_actors().clear();
        inner.lock_waiters().clear();
        let deadline = tokio::time::Instant::now() + grace;
        while inner.live_actors.load(Ordering::Acquire) > 0 {
            let notified = inner.actors_done.notified();
            if inner.live_actors.load(Ordering::Acquire) == 0 {
                break;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                break;
            }
        }
        let store = Arc::clone(&inner.store);
        let _ = tokio::task::spawn_blocking(move || store.close()).await;
    }
}

/// Accounts for a running actor; dropped when the actor ends, normally or
/// by a panic (a bug in the engine must not leave a dead mailbox registered,
/// or the execution could never be activated again).
struct ActorGuard {
    inner: Arc<Inner>,
    arn: String,
    id: u64,
}

impl Drop for ActorGuard {
    fn drop(&mut self) {
        self.inner.unregister(&self.arn, self.id);
        if self.inner.live_actors.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.inner.actors_done.notify_waiters();
        }
    }
}

/// The engine event of a task's answer.
fn answer_event(answer: TaskAnswer, task: statecraft_engine::TaskId) -> Event {
    match answer {
        TaskAnswer::Succeeded(output) => Event::TaskSucceeded { task, output },
        TaskAnswer::Failed(failure) => Event::TaskFailed { task, failure },
    }
}

/// One StartExecution counted in [`Inner::starts_in_flight`] until dropped.
struct InFlight {
    inner: Arc<Inner>,
}

impl InFlight {
    fn new(inner: Arc<Inner>) -> InFlight {
        inner.starts_in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight { inner }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.inner.starts_in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// What an activation found.
enum Activation {
    /// The execution has an actor (now).
    Active,
    /// It exists and is not running.
    NotRunning,
    /// No such execution.
    Missing,
}

/// An actor's mailbox; `id` tells a restarted actor from its predecessor.
struct Mailbox {
    id: u64,
    tx: mpsc::UnboundedSender<Msg>,
}

/// What a StartExecution target resolved to.
pub(crate) struct Resolved {
    pub(crate) machine: StateMachine,
    pub(crate) version_arn: Option<String>,
    pub(crate) alias_arn: Option<String>,
    pub(crate) revision: Revision,
}

impl Inner {
    fn clock(&self) -> Arc<dyn Clock> {
        Arc::clone(
            &self
                .clock
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    fn check_running(&self) -> Result<()> {
        if self.shutting_down.load(Ordering::Acquire) {
            Err(Error::Shutdown)
        } else {
            Ok(())
        }
    }

    fn lock_actors(&self) -> std::sync::MutexGuard<'_, HashMap<String, Mailbox>> {
        match self.actors.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Taken only while holding [`Inner::lock_actors`].
    fn lock_passive(&self) -> std::sync::MutexGuard<'_, HashMap<String, u64>> {
        match self.passive.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn lock_fences(&self) -> std::sync::MutexGuard<'_, HashMap<String, u64>> {
        match self.fences.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// What a renewal claim answered: executions newly claimed (taken over
    /// from a node that stopped renewing) are resumed from their last
    /// committed transition; executions this node ran that are missing
    /// from the answer, or came back with another fencing token, were
    /// taken over by another node and are dropped here.
    fn renewed(self: &Arc<Self>, leases: Vec<statecraft_store::Lease>) {
        let mut taken = Vec::new();
        let mut lost = Vec::new();
        {
            let mut fences = self.lock_fences();
            let claimed: std::collections::HashSet<&str> =
                leases.iter().map(|l| l.execution_arn.as_str()).collect();
            fences.retain(|arn, _| {
                let keep = claimed.contains(arn.as_str());
                if !keep {
                    lost.push(arn.clone());
                }
                keep
            });
            for l in &leases {
                match fences.insert(l.execution_arn.clone(), l.token) {
                    Some(held) if held == l.token => {}
                    Some(_) => {
                        lost.push(l.execution_arn.clone());
                        taken.push(l.execution_arn.clone());
                    }
                    None => taken.push(l.execution_arn.clone()),
                }
            }
        }
        for arn in &lost {
            self.drop_execution(arn);
        }
        statecraft_telemetry::metrics::set_leases_held(self.lock_fences().len());
        for arn in taken {
            if self.lock_actors().contains_key(&arn) {
                continue;
            }
            statecraft_telemetry::metrics::count_takeover();
            if let Err(e) = self.activate(&arn) {
                self.lock_recovery_failures().insert(arn, e);
            }
        }
    }

    /// Forgets an execution whose lease another node holds now: its actor
    /// ends at its next message and its timers are disarmed here (they
    /// fire on the new owner). Whatever it was about to commit is refused
    /// by the store, so nothing runs twice.
    fn drop_execution(&self, arn: &str) {
        // A passivated execution is held here as much as one with an actor.
        let held = {
            let mut actors = self.lock_actors();
            let passive = self.lock_passive().remove(arn).is_some();
            actors.remove(arn).is_some() || passive
        };
        self.timers.cancel_all(arn);
        if held {
            tracing::warn!(
                execution = arn,
                node = %self.node_id,
                "lost ownership of the execution: another node took its lease over; dropped it here"
            );
            statecraft_telemetry::metrics::count_lease_lost();
        }
    }

    /// This node's fencing token for `arn`, taking the lease if nobody
    /// holds it (or it expired). `LeaseLost` while another node holds it.
    async fn fence(&self, arn: &str) -> statecraft_store::Result<statecraft_store::Fence> {
        if let Some(token) = self.lock_fences().get(arn) {
            return Ok(statecraft_store::Fence {
                owner: self.node_id.clone(),
                token: *token,
            });
        }
        let claimed = self
            .store
            .claim_lease(arn, &self.node_id, now_ms(), self.lease_ms, false)
            .await?;
        match claimed {
            Some(token) => {
                self.lock_fences().insert(arn.to_string(), token);
                Ok(statecraft_store::Fence {
                    owner: self.node_id.clone(),
                    token,
                })
            }
            None => Err(statecraft_store::Error::LeaseLost {
                arn: arn.to_string(),
                owner: self.node_id.clone(),
                token: 0,
            }),
        }
    }

    /// Takes an execution's lease from whichever node holds it, unless this
    /// node has it already: how a StopExecution or RedriveExecution that
    /// arrived here takes effect at once. The former holder is fenced off
    /// (its next commit is refused and it drops the execution); this node
    /// resumes it from its last committed transition. Nothing to do for an
    /// execution that does not exist (the caller reports that).
    async fn take_over(self: &Arc<Self>, arn: &str) -> Result<()> {
        if self.lock_fences().contains_key(arn) {
            return Ok(());
        }
        match self
            .store
            .claim_lease(arn, &self.node_id, now_ms(), self.lease_ms, true)
            .await
        {
            Ok(Some(token)) => {
                self.lock_fences().insert(arn.to_string(), token);
                Ok(())
            }
            Ok(None) | Err(statecraft_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Delivers the task answers other nodes recorded for executions this
    /// node runs (the engine ignores an answer it has applied already).
    fn deliver_recorded_answers(self: &Arc<Self>) {
        let Ok(answers) = self.store.owned_task_answers(&self.node_id, 1000) else {
            return;
        };
        for (arn, task, text) in answers {
            if let Ok(answer) = serde_json::from_str::<TaskAnswer>(&text) {
                let _ = self.send(&arn, Msg::Answer(answer_event(answer, task)));
            }
        }
    }

    /// Hands inbox events ([`statecraft_store::ExecutionStore::post_event`]:
    /// events other nodes recorded for executions this node runs) to their
    /// actors, which delete each from the store once applied. An event for
    /// an execution that is no longer running is deleted at once.
    fn deliver_inbox(self: &Arc<Self>, rows: Vec<(i64, String, String)>) {
        for (id, arn, text) in rows {
            if !self.lock_inbox().insert(id) {
                continue;
            }
            let sent = match serde_json::from_str::<Event>(&text) {
                Ok(event) => self.send(&arn, Msg::Inbox { id, event }),
                Err(e) => {
                    tracing::warn!(execution = %arn, error = %e, "dropped an unreadable inbox event");
                    Ok(false)
                }
            };
            match sent {
                Ok(true) => {}
                Ok(false) | Err(Error::ExecutionDoesNotExist(_)) => {
                    self.inbox_applied(id);
                }
                // Another node runs it now (it delivers the event), or the
                // store is away: looked at again at the next poll.
                Err(_) => {
                    self.lock_inbox().remove(&id);
                }
            }
        }
    }

    /// Deletes an applied (or moot) inbox event from the store.
    pub(crate) fn inbox_applied(self: &Arc<Self>, id: i64) {
        let pending = self.store.delete_inbox(vec![id]);
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            // If the delete failed the event stays in the store and the
            // next poll delivers it again (a repeated heartbeat re-arms the
            // heartbeat timer; see ARCHITECTURE.md).
            let _ = pending.await;
            if let Some(inner) = weak.upgrade() {
                inner.lock_inbox().remove(&id);
            }
        });
    }

    fn lock_inbox(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<i64>> {
        match self.inbox_in_flight.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Delivers the recorded, unconsumed answers of one execution's tasks.
    fn deliver_answers_of(self: &Arc<Self>, arn: &str) {
        let Ok(answers) = self.store.task_answers(arn) else {
            return;
        };
        for (task, text) in answers {
            if let Ok(answer) = serde_json::from_str::<TaskAnswer>(&text) {
                let _ = self.send(arn, Msg::Answer(answer_event(answer, task)));
            }
        }
    }

    /// Commits a transition under this node's lease on the execution
    /// (fencing): refused with `LeaseLost` once another node took it over,
    /// and then the execution is dropped from this node.
    pub(crate) async fn commit(
        &self,
        transition: statecraft_store::Transition,
    ) -> statecraft_store::Result<u64> {
        let arn = transition.execution_arn.clone();
        let fence = self.fence(&arn).await?;
        let r = self.store.commit_fenced(transition, fence).await;
        if let Err(statecraft_store::Error::LeaseLost { .. }) = &r {
            self.lock_fences().remove(&arn);
            tracing::warn!(
                execution = %arn,
                node = %self.node_id,
                "lost ownership of the execution: the store refused a commit with a stale lease"
            );
            statecraft_telemetry::metrics::count_lease_lost();
        }
        r
    }

    fn lock_recovery_failures(&self) -> std::sync::MutexGuard<'_, HashMap<String, Error>> {
        match self.recovery_failures.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn lock_waiters(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<oneshot::Sender<()>>>> {
        match self.waiters.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Wakes whoever waits for `arn` to end (or to be looked at again).
    pub(crate) fn wake_waiters(&self, arn: &str) {
        let waiting = self.lock_waiters().remove(arn);
        for tx in waiting.into_iter().flatten() {
            let _ = tx.send(());
        }
    }

    /// Finds what a state machine, version or alias ARN runs.
    pub(crate) fn resolve(&self, target_arn: &str) -> Result<Resolved> {
        let target = arn::target(target_arn).ok_or_else(|| Error::InvalidArn(target_arn.into()))?;
        let missing = || Error::StateMachineDoesNotExist(target_arn.to_string());
        let (machine_arn, version_arn, alias_arn) = match target {
            Target::StateMachine { arn } => (arn, None, None),
            Target::Version {
                machine_arn, arn, ..
            } => (machine_arn, Some(arn), None),
            Target::Alias {
                machine_arn, arn, ..
            } => {
                let alias = self.store.get_alias(&arn)?.ok_or_else(missing)?;
                let version = pick_route(&alias.routing, self.host_random()).ok_or_else(missing)?;
                (machine_arn, Some(version), Some(arn))
            }
        };
        let machine = self
            .store
            .get_state_machine(&machine_arn)?
            .ok_or_else(missing)?;
        if machine.status == statecraft_store::StateMachineStatus::Deleting {
            return Err(Error::StateMachineDeleting(machine_arn));
        }
        let revision = match &version_arn {
            Some(v) => self.store.get_version(v)?.ok_or_else(missing)?.revision,
            None => machine.revision.clone(),
        };
        Ok(Resolved {
            machine,
            version_arn,
            alias_arn,
            revision,
        })
    }

    fn host_random(&self) -> f64 {
        statecraft_engine::Host::random(&self.host)
    }

    /// Registers and starts an actor. If one is registered already (a race
    /// between recovery and a late event), the new one is dropped: the
    /// registered one holds the same committed state or a newer one.
    pub(crate) fn spawn_actor(self: &Arc<Self>, actor: actor::Actor) {
        let arn = actor.arn().to_string();
        self.spawn_boot(&arn, None, |_| actor::Boot::Ready(Box::new(actor)));
    }

    /// Registers a mailbox for `arn` and starts the actor `boot` makes (it
    /// is told the version the execution was passivated at here, if it
    /// was). Nothing if one is registered already.
    /// `first` is the mailbox's first message (or goes to the registered
    /// actor's).
    fn spawn_boot(
        self: &Arc<Self>,
        arn: &str,
        first: Option<Msg>,
        boot: impl FnOnce(Option<u64>) -> actor::Boot,
    ) -> bool {
        let (tx, rx) = mpsc::unbounded_channel();
        let id = self.next_actor_id.fetch_add(1, Ordering::Relaxed);
        let boot = {
            let mut actors = self.lock_actors();
            if let Some(mailbox) = actors.get(arn) {
                if let Some(msg) = first {
                    let _ = mailbox.tx.send(msg);
                }
                return false;
            }
            if let Some(msg) = first {
                let _ = tx.send(msg);
            }
            let passive = self.lock_passive().remove(arn);
            actors.insert(arn.to_string(), Mailbox { id, tx });
            boot(passive)
        };
        self.live_actors.fetch_add(1, Ordering::AcqRel);
        let inner = Arc::clone(self);
        let arn = arn.to_string();
        tokio::spawn(async move {
            let guard = ActorGuard {
                inner: Arc::clone(&inner),
                arn,
                id,
            };
            actor::boot(boot, &inner, id, rx).await;
            drop(guard);
        });
        true
    }

    /// Called by an actor that ends: forget its mailbox (only if it is
    /// still the registered one).
    pub(crate) fn unregister(&self, arn: &str, id: u64) {
        let mut actors = self.lock_actors();
        if actors.get(arn).is_some_and(|m| m.id == id) {
            actors.remove(arn);
        }
    }

    /// The hand-off of an idle actor (`version` committed, nothing in
    /// flight): under the lock every sender takes, either a message is
    /// waiting (it is returned and the actor goes on) or the actor leaves
    /// the registry, so the next sender finds no actor and activates the
    /// execution from the store. No message can fall in between.
    pub(crate) fn passivate(
        &self,
        arn: &str,
        id: u64,
        version: u64,
        rx: &mut mpsc::UnboundedReceiver<Msg>,
    ) -> actor::Handoff {
        let mut actors = self.lock_actors();
        match rx.try_recv() {
            Ok(msg) => return actor::Handoff::Message(msg),
            Err(mpsc::error::TryRecvError::Disconnected) => return actor::Handoff::Closed,
            Err(mpsc::error::TryRecvError::Empty) => {}
        }
        if actors.get(arn).is_none_or(|m| m.id != id) || self.shutting_down.load(Ordering::Acquire)
        {
            return actor::Handoff::Closed;
        }
        actors.remove(arn);
        self.lock_passive().insert(arn.to_string(), version);
        actor::Handoff::Passivated
    }

    /// Activates an active execution: registers its actor, which loads it
    /// from the store, re-arms its timers and (unless it was passivated
    /// here) re-dispatches its tasks. Does nothing for an execution that is
    /// not active or already has an actor. Errors (the lease is another
    /// node's, the machine cannot be prepared) come back to the caller.
    pub(crate) fn activate(self: &Arc<Self>, arn: &str) -> Result<bool> {
        Ok(matches!(self.activate_with(arn, None)?, Activation::Active))
    }

    /// [`Inner::activate`], with the first message for the actor.
    fn activate_with(self: &Arc<Self>, arn: &str, first: Option<Msg>) -> Result<Activation> {
        let first = {
            let actors = self.lock_actors();
            match (actors.get(arn), first) {
                (Some(mailbox), Some(msg)) => match mailbox.tx.send(msg) {
                    Ok(()) => return Ok(Activation::Active),
                    Err(mpsc::error::SendError(m)) => Some(m),
                },
                (Some(_), None) => return Ok(Activation::Active),
                (None, first) => first,
            }
        };
        let Some(record) = self.store.get_execution(arn)? else {
            return Ok(Activation::Missing);
        };
        if record.state.status != ExecutionStatus::Running {
            let _actors = self.lock_actors();
            self.lock_passive().remove(arn);
            return Ok(Activation::NotRunning);
        }
        // Only the lease holder runs an execution: a node without it would
        // dispatch its tasks and arm its timers a second time.
        // (Activation is synchronous, like the store reads above; the
        // claim is one short write.)
        block_on(self.fence(arn))?;
        let machine = match self.machines.cached(&record.revision_id) {
            Some(machine) => machine,
            None => {
                let revision = self
                    .store
                    .get_revision(&record.revision_id)?
                    .ok_or_else(|| {
                        Error::StateMachineDoesNotExist(record.state_machine_arn.clone())
                    })?;
                self.machines.get(&revision)?
            }
        };
        self.spawn_boot(arn, first, |passive| {
            actor::Boot::Load(Box::new(actor::Load {
                arn: arn.to_string(),
                machine,
                revision_id: record.revision_id.clone(),
                // Read before the registration: the latest only if nothing
                // committed since the passivation.
                record: (passive == Some(record.version)).then_some(record),
                passive: passive.is_some(),
            }))
        });
        Ok(Activation::Active)
    }

    /// Delivers to an execution's actor again what the store holds for it
    /// unconsumed: inbox events first (a worker's TaskStarted before its
    /// answer), then task answers.
    pub(crate) fn redeliver(self: &Arc<Self>, arn: &str) {
        if let Ok(rows) = self.store.inbox(arn) {
            self.deliver_inbox(
                rows.into_iter()
                    .map(|(id, e)| (id, arn.to_string(), e))
                    .collect(),
            );
        }
        self.deliver_answers_of(arn);
    }

    /// Sends a message to an execution's actor, starting the actor from the
    /// store if the execution is active but has none. Returns false if the
    /// execution is not active.
    pub(crate) fn send(self: &Arc<Self>, arn: &str, msg: Msg) -> Result<bool> {
        let msg = {
            let actors = self.lock_actors();
            match actors.get(arn) {
                Some(mailbox) => match mailbox.tx.send(msg) {
                    Ok(()) => return Ok(true),
                    Err(mpsc::error::SendError(m)) => m,
                },
                None => msg,
            }
        };
        if self.shutting_down.load(Ordering::Acquire) {
            return Err(Error::Shutdown);
        }
        // The message goes into the mailbox as it is registered: the new
        // actor may load, find nothing to do and passivate before a send
        // that came after could find it.
        match self.activate_with(arn, Some(msg))? {
            Activation::Active => Ok(true),
            Activation::NotRunning => Ok(false),
            Activation::Missing => Err(Error::ExecutionDoesNotExist(arn.to_string())),
        }
    }

    /// Sends a message to an execution's actor if it has one now; never
    /// activates it.
    pub(crate) fn send_if_live(&self, arn: &str, msg: Msg) {
        if let Some(mailbox) = self.lock_actors().get(arn) {
            let _ = mailbox.tx.send(msg);
        }
    }

    /// Delivers an event, logging nothing on failure: events from timers and
    /// integrations for executions that are gone are dropped on purpose.
    pub(crate) fn deliver(self: &Arc<Self>, arn: &str, event: Event) {
        let _ = self.send(arn, Msg::Event(event));
    }
}

/// Picks a version from an alias's routing by weight (`r` in [0, 1)).
fn pick_route(routing: &[statecraft_store::Route], r: f64) -> Option<String> {
    let total: u32 = routing.iter().map(|x| x.weight).sum();
    if total == 0 {
        return routing.first().map(|x| x.version_arn.clone());
    }
    let mut point = r * f64::from(total);
    for route in routing {
        let w = f64::from(route.weight);
        if point < w {
            return Some(route.version_arn.clone());
        }
        point -= w;
    }
    routing.last().map(|x| x.version_arn.clone())
}

/// A lease owner name no other process uses: host, process id and a random
/// suffix (a restarted process may get its predecessor's pid).
fn unique_node_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "node".into());
    format!("{host}-{}-{:08x}", std::process::id(), fastrand::u32(..))
}

/// Runs a short future to completion on this thread: how synchronous code
/// (activation, which already blocks on store reads) waits for one store
/// write. Tokio's own blocking waits refuse to run inside its workers.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let std::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use statecraft_store::Route;

    #[test]
    fn routing_follows_weights() {
        let routes = vec![
            Route {
                version_arn: "v1".into(),
                weight: 90,
            },
            Route {
                version_arn: "v2".into(),
                weight: 10,
            },
        ];
        assert_eq!(pick_route(&routes, 0.0).as_deref(), Some("v1"));
        assert_eq!(pick_route(&routes, 0.89).as_deref(), Some("v1"));
        assert_eq!(pick_route(&routes, 0.95).as_deref(), Some("v2"));
        assert_eq!(pick_route(&[], 0.5), None);
    }
}
