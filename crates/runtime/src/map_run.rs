//! Distributed Map runs: the driver that carries out a parent's map-run
//! task ([`statecraft_engine::map_run`]) as a run of child executions.
//!
//! How a map run goes:
//! - The parent's actor dispatches the task of
//!   [`statecraft_engine::map_run::MAP_RUN_RESOURCE`] here instead of to an
//!   integration. The driver records the map run in the store
//!   ([`statecraft_store::MapRunStore::create_map_run`], idempotent by ARN)
//!   with the children's revision: the Map's `ItemProcessor` as a machine
//!   `…:stateMachine:<machine>/<label or state name>`.
//! - Items stream in ([`MapRunIo`], the integrations crate's readers; or,
//!   without one, the ItemReader read whole through its Task integration,
//!   or the parent's inline items), each through the ItemSelector and the
//!   ItemBatcher, and each item or batch becomes one child execution named
//!   with a UUID, as AWS names them (`child_name_of`). At most
//!   MaxConcurrency children run at once; the next item is read only when
//!   a place is free, so neither the items nor the children are ever all
//!   in memory.
//! - STANDARD children are ordinary executions (their own ARN, history,
//!   lease; `ListExecutions(mapRunArn=…)` lists them). On a store several
//!   nodes share they are created without a lease, so whichever worker
//!   node claims one first runs it. EXPRESS children run in memory with no
//!   history.
//! - Failed items count against `ToleratedFailureCount`/`Percentage` at
//!   each failure (see `Driver::check_tolerance`); past it the children
//!   still running are stopped and the map run fails with
//!   `States.ExceedToleratedFailureThreshold`. At the end the driver
//!   answers the parent's task: the children's outputs in item order, or
//!   the `ResultWriterDetails` of the results written.
//! - Progress (counts and the reader's cursor, saved only where every item
//!   before it has a child) is saved as it goes. The task is durable, so a
//!   restarted node dispatches it again and the driver resumes: it counts
//!   the children that exist, waits for those still running and reads on
//!   from the cursor. An EXPRESS run saves its children's ends with the
//!   cursor (see `Driver::save`), so it resumes the same way. A parent's
//!   redrive re-runs the children that did not succeed and the items never
//!   started; a parent stopped records `MapRunAborted` and the run is
//!   aborted with its children.
//! - [`crate::Runtime::update_map_run`] (UpdateMapRun) changes concurrency
//!   and tolerance; the driver re-reads them at once.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use statecraft_engine::map_run::{
    child_definition, exceeds_tolerance, failed_item_output, items_from_answer, tolerance_exceeded,
    Batches, MapRunSpec, ReaderRequest, WriterRequest,
};
use statecraft_engine::{ExecutionContext, Machine, TaskRequest};
use statecraft_store::{
    Created, ExecutionFilter, ExecutionStatus, MapRun, MapRunChildResult, MapRunCounts,
    MapRunProgress, MapRunStatus, MapRunUpdate, NewExecution, PageRequest, Revision,
};
use statecraft_types::errors::{ITEM_READER_FAILED, RESULT_WRITER_FAILED};
use statecraft_types::Failure;
use tokio::sync::Notify;
use tokio::task::JoinSet;

use crate::host::now_ms;
use crate::integration::{TaskContext, TaskFuture, TaskOutcome};
use crate::{actor, observe, Inner, Runtime};

/// Children created together at most (their commits share group commits).
const START_BATCH: u64 = 64;

/// A boxed future of the map-run I/O traits.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Items read one at a time.
pub trait ItemStream: Send {
    /// The next item, `None` at the end.
    fn next(&mut self) -> BoxFuture<'_, Result<Option<Value>, Failure>>;
    /// Where the stream stands (JSON): [`MapRunIo::open_items`] resumes
    /// there.
    fn cursor(&self) -> Value;
}

/// How a child ended, as a result writer records it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChildResult {
    pub execution_arn: String,
    pub state_machine_arn: String,
    pub name: String,
    pub status: ExecutionStatus,
    /// The child's input as JSON text.
    pub input: String,
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub start_ms: Option<i64>,
    pub stop_ms: Option<i64>,
    pub redrive_count: u32,
}

/// Where a map run's results go.
pub trait ResultSink: Send {
    fn add(&mut self, result: ChildResult) -> BoxFuture<'_, Result<(), Failure>>;
    /// Writes the manifest: the `ResultWriterDetails` (`{Bucket, Key}`).
    fn finish(self: Box<Self>) -> BoxFuture<'static, Result<Value, Failure>>;
}

/// Streaming readers and result writers for map runs (implemented by the
/// integrations crate over its buckets).
pub trait MapRunIo: Send + Sync {
    /// Opens the items of `reader`, from `cursor` (`None`: the start).
    fn open_items<'a>(
        &'a self,
        reader: &'a ReaderRequest,
        cursor: Option<Value>,
    ) -> BoxFuture<'a, Result<Box<dyn ItemStream>, Failure>>;
    /// Starts writing the results of map run `map_run_arn`.
    fn open_results<'a>(
        &'a self,
        writer: &'a WriterRequest,
        map_run_arn: &'a str,
    ) -> BoxFuture<'a, Result<Box<dyn ResultSink>, Failure>>;
}

/// Items already in memory (the parent's inline items, or an ItemReader read
/// whole): the cursor is the index of the next one.
struct VecItems {
    items: std::vec::IntoIter<Value>,
    next: u64,
}

impl ItemStream for VecItems {
    fn next(&mut self) -> BoxFuture<'_, Result<Option<Value>, Failure>> {
        let item = self.items.next();
        if item.is_some() {
            self.next += 1;
        }
        Box::pin(async move { Ok(item) })
    }

    fn cursor(&self) -> Value {
        json!({ "index": self.next })
    }
}

fn vec_items(items: Vec<Value>, cursor: Option<&Value>) -> Box<dyn ItemStream> {
    let skip = cursor
        .and_then(|c| c.get("index"))
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let mut items = items.into_iter();
    for _ in 0..skip {
        items.next();
    }
    Box::new(VecItems { items, next: skip })
}

/// Whether `state_machine_arn` is a map run's children's machine
/// (`…:stateMachine:<machine>/<label>`: `/` is not allowed in a name).
pub fn is_child_machine(state_machine_arn: &str) -> bool {
    state_machine_arn
        .rsplit_once(":stateMachine:")
        .is_some_and(|(_, name)| name.contains('/'))
}

/// The wake-ups of running drivers, by map run ARN ([`Runtime::update_map_run`]).
#[derive(Default)]
pub(crate) struct Drivers {
    wake: Mutex<HashMap<String, Arc<Notify>>>,
}

impl Drivers {
    fn register(&self, arn: &str) -> Arc<Notify> {
        let mut m = self.wake.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(m.entry(arn.to_string()).or_default())
    }

    fn forget(&self, arn: &str) {
        self.wake
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(arn);
    }

    fn wake(&self, arn: &str) {
        if let Some(n) = self.wake.lock().unwrap_or_else(|p| p.into_inner()).get(arn) {
            n.notify_one();
        }
    }
}

/// The map-run task of `parent_arn`, carried out.
pub(crate) fn drive(inner: Arc<Inner>, parent_arn: String, request: TaskRequest) -> TaskFuture {
    Box::pin(async move {
        let spec = match MapRunSpec::from_parameters(&request.parameters) {
            Ok(s) => s,
            Err(e) => {
                return TaskOutcome::Failed(Failure::runtime(format!(
                    "The map run request is not readable: {e}"
                )))
            }
        };
        let arn = spec.map_run_arn.clone();
        let wake = inner.map_run_drivers.register(&arn);
        let outcome = match Driver::prepare(&inner, &parent_arn, spec, wake).await {
            Ok(driver) => driver.run().await,
            Err(failure) => TaskOutcome::Failed(failure),
        };
        inner.map_run_drivers.forget(&arn);
        outcome
    })
}

/// The parent stopped waiting (stopped, timed out, failed elsewhere): its
/// map run is aborted with the children still running.
pub(crate) fn abort(inner: &Arc<Inner>, request: &TaskRequest) {
    let Ok(spec) = MapRunSpec::from_parameters(&request.parameters) else {
        return;
    };
    let inner = Arc::clone(inner);
    tokio::spawn(async move { abort_run(&inner, &spec.map_run_arn).await });
}

/// Stops the children still running and records the map run `ABORTED`
/// (if it is still running).
async fn abort_run(inner: &Arc<Inner>, map_run_arn: &str) {
    let rt = Runtime {
        inner: Arc::clone(inner),
    };
    stop_running_children(&rt, map_run_arn).await;
    if let Ok(Some(run)) = inner.store.get_map_run(map_run_arn) {
        if run.status == MapRunStatus::Running {
            let progress = MapRunProgress {
                status: MapRunStatus::Aborted,
                item_counts: run.item_counts,
                execution_counts: run.execution_counts,
                cursor: run.cursor,
                result_writer_details: run.result_writer_details,
                error: None,
                cause: None,
                stop_date_ms: Some(now_ms()),
            };
            let _ = inner
                .store
                .save_map_run_progress(map_run_arn, progress)
                .await;
        }
    }
}

/// Stops the map run's children that are still running.
async fn stop_running_children(rt: &Runtime, map_run_arn: &str) {
    let filter = ExecutionFilter {
        map_run_arn: Some(map_run_arn.to_string()),
        status: Some(ExecutionStatus::Running),
        ..ExecutionFilter::default()
    };
    loop {
        let Ok(page) = rt
            .inner
            .store
            .list_executions(&filter, &PageRequest::first(1000))
        else {
            return;
        };
        if page.items.is_empty() {
            return;
        }
        let mut stopped = 0;
        for child in page.items {
            if rt.stop_execution(&child.arn, None, None).await.is_ok() {
                stopped += 1;
            }
        }
        if stopped == 0 {
            return;
        }
    }
}

/// How one child ended.
struct ChildEnd {
    index: u64,
    items: u64,
    status: ExecutionStatus,
    /// EXPRESS children only (STANDARD ones are read back from the store).
    result: Option<ChildResult>,
}

/// Where the children come from: items, selected and batched.
struct Feed {
    stream: Box<dyn ItemStream>,
    batches: Option<Batches>,
    /// Items read so far (the next item's `$$.Map.Item.Index`).
    items_read: u64,
    /// The stream's cursor where the open batch began (what is saved while
    /// a batch is half filled), and its items.
    batch_start: Value,
    batch_items: u64,
    done: bool,
}

struct Driver {
    inner: Arc<Inner>,
    rt: Runtime,
    spec: MapRunSpec,
    wake: Arc<Notify>,
    parent_arn: String,
    parent_machine: Arc<Machine>,
    role_arn: String,
    run_id: String,
    child_machine_arn: String,
    child_machine_name: String,
    child_revision: Revision,
    child_machine: Arc<Machine>,
    express: bool,
    /// Several nodes share the store (PostgreSQL): STANDARD children are
    /// created without a lease, for whichever node claims them first.
    shared: bool,
    max_concurrency: u32,
    tolerated_count: Option<f64>,
    tolerated_percentage: Option<f64>,
    /// The most items the run can have, when known before the reader is
    /// done (a percentage tolerance is judged against it meanwhile).
    items_bound: Option<u64>,
    /// The stored tolerance last applied: a stored value that differs from
    /// it was set by UpdateMapRun (the store keeps 0 for "not set").
    seen_tolerance: (u64, f64),
    executions: MapRunCounts,
    items: MapRunCounts,
    /// The next child's number.
    next_child: u64,
    /// Children that exist already at or past `next_child` (a crash came
    /// between their start and the cursor's save): not started again.
    existing: HashSet<u64>,
    running: JoinSet<ChildEnd>,
    /// Children running: number → (ARN, items).
    in_flight: BTreeMap<u64, (String, u64)>,
    /// Where each running EXPRESS child's items begin (items before it,
    /// the reader's cursor): the oldest is where a resumed run reads again.
    express_starts: BTreeMap<u64, (u64, Value)>,
    /// EXPRESS children's ends not saved yet (they have no store record):
    /// saved with the next cursor, in one transaction.
    unsaved: Vec<MapRunChildResult>,
    failure: Option<Failure>,
    /// The parent is no longer running (seen in the store).
    parent_ended: bool,
    last_save: std::time::Instant,
    last_refresh: std::time::Instant,
}

fn status_failed(s: ExecutionStatus) -> bool {
    matches!(
        s,
        ExecutionStatus::Failed | ExecutionStatus::TimedOut | ExecutionStatus::Aborted
    )
}

/// Child `n`'s name: a UUID, as AWS names a map run's children, made of
/// the map run's id (a UUID) with its last group replaced by `n` in hex,
/// so that a child's name says which item it holds and a restarted driver
/// finds the same name for the same child.
fn child_name_of(run_id: &str, n: u64) -> String {
    let head = match run_id.rsplit_once('-') {
        Some((head, _)) if head.len() == 23 => head.to_string(),
        // Not a UUID (a map run recorded elsewhere): a head derived from it.
        _ => {
            let h = run_id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
            });
            let h = format!("{h:016x}");
            format!("{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[..4])
        }
    };
    format!("{head}-{n:012x}")
}

/// The item number in a child's name (`child_name_of`); also reads the
/// `<map run id>-<n>` names of children started by earlier versions.
fn child_index(name: &str) -> Option<u64> {
    let last = name.rsplit('-').next()?;
    if last.len() == 12 && name.len() == 36 {
        return u64::from_str_radix(last, 16).ok();
    }
    last.parse().ok()
}

fn result_of(record: &statecraft_store::Execution) -> ChildResult {
    ChildResult {
        execution_arn: record.arn.clone(),
        state_machine_arn: record.state_machine_arn.clone(),
        name: record.name.clone(),
        status: record.state.status,
        input: record.input.clone(),
        output: record.state.output.clone(),
        error: record.state.error.clone(),
        cause: record.state.cause.clone(),
        start_ms: Some(record.start_date_ms),
        stop_ms: record.state.stop_date_ms,
        redrive_count: record.state.redrive_count,
    }
}

/// What a child leaves in the Map's output.
fn output_of(result: &ChildResult) -> Value {
    if result.status == ExecutionStatus::Succeeded {
        return result
            .output
            .as_deref()
            .and_then(|o| serde_json::from_str(o).ok())
            .unwrap_or(Value::Null);
    }
    failed_item_output(&Failure::new(
        result.error.clone().unwrap_or_default(),
        result.cause.clone().unwrap_or_default(),
    ))
}

/// An EXPRESS child's end as saved ([`MapRunChildResult::result`]).
fn result_json(r: &ChildResult) -> String {
    json!({
        "executionArn": r.execution_arn,
        "stateMachineArn": r.state_machine_arn,
        "name": r.name,
        "status": r.status.as_str(),
        "input": r.input,
        "output": r.output,
        "error": r.error,
        "cause": r.cause,
        "startMs": r.start_ms,
        "stopMs": r.stop_ms,
        "redriveCount": r.redrive_count,
    })
    .to_string()
}

/// A saved EXPRESS child's end, read back.
fn result_of_json(text: &str) -> Result<ChildResult, Failure> {
    let unreadable = |what: &str| {
        Failure::runtime(format!(
            "A saved result of the map run is not readable: {what}"
        ))
    };
    let v: Value = serde_json::from_str(text).map_err(|e| unreadable(&e.to_string()))?;
    let text_of = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    Ok(ChildResult {
        execution_arn: text_of("executionArn").unwrap_or_default(),
        state_machine_arn: text_of("stateMachineArn").unwrap_or_default(),
        name: text_of("name").unwrap_or_default(),
        status: text_of("status")
            .as_deref()
            .and_then(ExecutionStatus::parse)
            .ok_or_else(|| unreadable("no status"))?,
        input: text_of("input").unwrap_or_default(),
        output: text_of("output"),
        error: text_of("error"),
        cause: text_of("cause"),
        start_ms: v.get("startMs").and_then(Value::as_i64),
        stop_ms: v.get("stopMs").and_then(Value::as_i64),
        redrive_count: v
            .get("redriveCount")
            .and_then(Value::as_u64)
            .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX)),
    })
}

impl Driver {
    async fn prepare(
        inner: &Arc<Inner>,
        parent_arn: &str,
        spec: MapRunSpec,
        wake: Arc<Notify>,
    ) -> Result<Driver, Failure> {
        let internal = |what: &str, e: &dyn std::fmt::Display| {
            Failure::runtime(format!(
                "The map run {} could not start: {what}: {e}",
                spec.map_run_arn
            ))
        };
        let parent = inner
            .store
            .get_execution(parent_arn)
            .map_err(|e| internal("reading the parent", &e))?
            .ok_or_else(|| internal("the parent", &"does not exist"))?;
        let revision = inner
            .store
            .get_revision(&parent.revision_id)
            .map_err(|e| internal("reading the parent's definition", &e))?
            .ok_or_else(|| internal("the parent's definition", &"is missing"))?;
        let parent_machine = inner
            .machines
            .get(&revision)
            .map_err(|e| internal("preparing the parent's definition", &e))?;
        let definition = child_definition(&revision.definition, &spec)
            .map_err(|e| internal("the item processor", &e))?;
        let (prefix, run_id) = spec
            .map_run_arn
            .rsplit_once(':')
            .ok_or_else(|| internal("the map run ARN", &spec.map_run_arn))?;
        let child_machine_arn = prefix.replacen(":mapRun:", ":stateMachine:", 1);
        let child_machine_name = child_machine_arn
            .rsplit(":stateMachine:")
            .next()
            .unwrap_or_default()
            .to_string();
        let child_revision = Revision {
            revision_id: format!("{}#processor", spec.map_run_arn),
            state_machine_arn: child_machine_arn.clone(),
            definition,
            role_arn: revision.role_arn.clone(),
            description: None,
            logging_configuration: None,
            tracing_configuration: None,
            created_ms: now_ms(),
        };
        let express = spec.execution_type == "EXPRESS";
        let child_machine = if express {
            inner.machines.get_inline(&child_revision)
        } else {
            inner.machines.get(&child_revision)
        }
        .map_err(|e| internal("preparing the item processor", &e))?;
        let new = statecraft_store::NewMapRun {
            arn: spec.map_run_arn.clone(),
            execution_arn: parent_arn.to_string(),
            state_name: spec.state_name.clone(),
            label: spec.label.clone(),
            child_machine_arn: child_machine_arn.clone(),
            execution_type: spec.execution_type.clone(),
            max_concurrency: spec.max_concurrency,
            tolerated_failure_count: spec.tolerated_failure_count.map_or(0, |c| c as u64),
            tolerated_failure_percentage: spec.tolerated_failure_percentage.unwrap_or(0.0),
            spec: serde_json::to_string(&spec).unwrap_or_default(),
            start_date_ms: now_ms(),
        };
        let mut run = inner
            .store
            .create_map_run(new, child_revision.clone())
            .await
            .map_err(|e| internal("recording the map run", &e))?;
        if spec.redrive && run.status != MapRunStatus::Running {
            run = inner
                .store
                .redrive_map_run(&spec.map_run_arn, now_ms())
                .await
                .map_err(|e| internal("redriving the map run", &e))?;
        }
        let now = std::time::Instant::now();
        let mut driver = Driver {
            rt: Runtime {
                inner: Arc::clone(inner),
            },
            inner: Arc::clone(inner),
            wake,
            parent_arn: parent_arn.to_string(),
            parent_machine,
            role_arn: revision.role_arn.clone(),
            run_id: run_id.to_string(),
            child_machine_arn,
            child_machine_name,
            child_revision,
            child_machine,
            express,
            shared: inner.store.subscribe_wakeups().is_some(),
            max_concurrency: run.max_concurrency,
            tolerated_count: spec.tolerated_failure_count,
            tolerated_percentage: spec.tolerated_failure_percentage,
            items_bound: None,
            seen_tolerance: (
                spec.tolerated_failure_count.map_or(0, |c| c as u64),
                spec.tolerated_failure_percentage.unwrap_or(0.0),
            ),
            executions: MapRunCounts::default(),
            items: MapRunCounts::default(),
            next_child: 0,
            existing: HashSet::new(),
            running: JoinSet::new(),
            in_flight: BTreeMap::new(),
            express_starts: BTreeMap::new(),
            unsaved: Vec::new(),
            failure: None,
            parent_ended: false,
            last_save: now,
            last_refresh: now,
            spec,
        };
        driver.apply_settings(&run);
        Ok(driver)
    }

    /// UpdateMapRun's settings, as stored (a tolerance of 0 set by an
    /// update counts; the definition's absence stays absence otherwise).
    fn apply_settings(&mut self, run: &MapRun) {
        self.max_concurrency = run.max_concurrency.max(1);
        // Only a tolerance UpdateMapRun changed takes effect as set: a
        // count alone must not make the stored 0 % a limit too.
        if run.tolerated_failure_count != self.seen_tolerance.0 {
            self.seen_tolerance.0 = run.tolerated_failure_count;
            self.tolerated_count = Some(run.tolerated_failure_count as f64);
        }
        if run.tolerated_failure_percentage != self.seen_tolerance.1 {
            self.seen_tolerance.1 = run.tolerated_failure_percentage;
            self.tolerated_percentage = Some(run.tolerated_failure_percentage);
        }
    }

    fn child_name(&self, n: u64) -> String {
        child_name_of(&self.run_id, n)
    }

    fn child_arn(&self, name: &str) -> String {
        format!(
            "{}:{name}",
            self.child_machine_arn
                .replacen(":stateMachine:", ":execution:", 1)
        )
    }

    async fn run(mut self) -> TaskOutcome {
        let stored = self.inner.store.get_map_run(&self.spec.map_run_arn);
        let cursor = match stored {
            Ok(Some(run)) => run
                .cursor
                .and_then(|c| serde_json::from_str::<Value>(&c).ok()),
            _ => None,
        };
        let resumed = if self.express {
            self.resume_express(cursor.as_ref()).await
        } else {
            self.resume(cursor.as_ref()).await
        };
        if let Err(f) = resumed {
            return self.end(Err(f)).await;
        }
        let mut feed = match self.open_feed(cursor.as_ref()).await {
            Ok(feed) => feed,
            Err(f) => return self.end(Err(f)).await,
        };
        loop {
            self.refresh().await;
            if self.parent_ended {
                // The parent was stopped (or ended) without this driver
                // being cancelled: stopped on another node, which takes
                // the lease where StopExecution arrives and never ran this
                // map run. Its map run is aborted here, with its children.
                self.running.abort_all();
                abort_run(&self.inner, &self.spec.map_run_arn).await;
                return std::future::pending().await;
            }
            if !self.inner.lock_fences().contains_key(&self.parent_arn) {
                // Another node took the parent over (this one stalled past
                // its lease): it runs the map run now; this driver decides
                // nothing and writes nothing.
                self.running.abort_all();
                return std::future::pending().await;
            }
            if self
                .inner
                .shutting_down
                .load(std::sync::atomic::Ordering::Acquire)
            {
                return self.end(Ok(())).await;
            }
            // Fill the window: read the inputs that fit (a few dozen at a
            // time) and create their children together, so that their
            // commits share the store's group commits.
            loop {
                // Children that ended meanwhile leave first (EXPRESS ones end
                // fast: their results must not pile up while the window fills).
                while let Some(joined) = self.running.try_join_next() {
                    if let Ok(end) = joined {
                        self.child_ended(end, feed.done);
                    }
                }
                let room = u64::from(self.max_concurrency)
                    .saturating_sub(self.in_flight.len() as u64)
                    .min(START_BATCH);
                let mut batch = Vec::new();
                while self.failure.is_none() && !feed.done && (batch.len() as u64) < room {
                    // Where the next child's items begin: the open batch
                    // (if any) holds its first items.
                    let start = (feed.items_read - feed.batch_items, feed.batch_start.clone());
                    match self.next_child_input(&mut feed).await {
                        Ok(Some((input, items))) => {
                            let n = self.next_child;
                            self.next_child += 1;
                            self.items.total += items;
                            self.executions.total += 1;
                            if self.existing.remove(&n) {
                                // Started before a restart: counted by resume.
                                continue;
                            }
                            if self.express {
                                self.express_starts.insert(n, start);
                            }
                            batch.push((n, input, items));
                        }
                        Ok(None) => {
                            feed.done = true;
                            // The total is known now: a percentage is
                            // judged against it at once.
                            self.check_tolerance(true);
                        }
                        Err(f) => self.failure = Some(f),
                    }
                }
                if batch.is_empty() {
                    break;
                }
                // Started even after a failure: the cursor counts them as
                // started, and a redrive must find them.
                self.start_children(batch).await;
                self.save_if_due(&feed, false).await;
                // Let the children just started run before filling on.
                tokio::task::yield_now().await;
            }
            if self.in_flight.is_empty() && (feed.done || self.failure.is_some()) {
                break;
            }
            if self.failure.is_some() {
                break;
            }
            tokio::select! {
                joined = self.running.join_next(), if !self.running.is_empty() => {
                    if let Some(Ok(end)) = joined {
                        self.child_ended(end, feed.done);
                    }
                }
                () = self.wake.notified() => {}
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
            self.save_if_due(&feed, false).await;
        }
        // A ToleratedFailurePercentage is judged against the whole count,
        // known only now that the reader is done.
        if feed.done {
            self.check_tolerance(true);
        }
        self.save_if_due(&feed, true).await;
        match self.failure.take() {
            Some(f) => self.end(Err(f)).await,
            None => self.end(Ok(())).await,
        }
    }

    /// Re-reads UpdateMapRun's settings and the parent's status.
    async fn refresh(&mut self) {
        if self.last_refresh.elapsed() < Duration::from_millis(200) {
            return;
        }
        self.last_refresh = std::time::Instant::now();
        if let Ok(Some(run)) = self.inner.store.get_map_run(&self.spec.map_run_arn) {
            self.apply_settings(&run);
        }
        if let Ok(Some(parent)) = self.inner.store.get_execution(&self.parent_arn) {
            self.parent_ended = !parent.state.status.is_active();
        }
    }

    /// An EXPRESS run after a restart or for a redrive: counts the saved
    /// ends of its children, marks those at or past the cursor as done (the
    /// reader replays their items, they are not run again) and, for a
    /// redrive, runs again from their saved input the children that failed.
    async fn resume_express(&mut self, cursor: Option<&Value>) -> Result<(), Failure> {
        self.next_child = cursor
            .and_then(|c| c.get("child"))
            .and_then(Value::as_u64)
            .unwrap_or(0);
        self.items.total = cursor
            .and_then(|c| c.get("items"))
            .and_then(Value::as_u64)
            .unwrap_or(0);
        self.executions.total = self.next_child;
        let run_redrives = match self.inner.store.get_map_run(&self.spec.map_run_arn) {
            Ok(Some(run)) => run.redrive_count,
            _ => 0,
        };
        let mut redrive = Vec::new();
        let mut from = 0;
        loop {
            let page = self
                .inner
                .store
                .map_run_results(&self.spec.map_run_arn, from, 1000)
                .map_err(|e| {
                    Failure::runtime(format!("The map run's results cannot be read: {e}"))
                })?;
            let Some(last) = page.last().map(|r| r.child) else {
                break;
            };
            for saved in page {
                if saved.child >= self.next_child {
                    self.existing.insert(saved.child);
                }
                let status =
                    ExecutionStatus::parse(&saved.status).unwrap_or(ExecutionStatus::Failed);
                if status_failed(status) && self.spec.redrive {
                    let r = result_of_json(&saved.result)?;
                    if r.redrive_count < run_redrives {
                        let input = serde_json::from_str(&r.input).unwrap_or(Value::Null);
                        redrive.push((saved.child, input, saved.items));
                        continue;
                    }
                }
                self.count_end(status, saved.items);
            }
            from = last + 1;
        }
        for (n, input, items) in redrive {
            self.start_express_child(n, input, items, run_redrives);
        }
        self.check_tolerance(false);
        Ok(())
    }

    /// After a restart or for a redrive: counts the children that exist,
    /// waits for the running ones, redrives the failed ones (redrive).
    async fn resume(&mut self, cursor: Option<&Value>) -> Result<(), Failure> {
        self.next_child = cursor
            .and_then(|c| c.get("child"))
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let items_before = cursor
            .and_then(|c| c.get("items"))
            .and_then(Value::as_u64)
            .unwrap_or(0);
        self.items.total = items_before;
        self.executions.total = self.next_child;
        let filter = ExecutionFilter {
            map_run_arn: Some(self.spec.map_run_arn.clone()),
            ..ExecutionFilter::default()
        };
        let mut page = PageRequest::first(1000);
        let mut redrive = Vec::new();
        // Each redrive of the map run redrives a failed child once: a child
        // redriven as often as the run has been failed again in this round
        // (a restart came before the parent heard).
        let run_redrives = match self.inner.store.get_map_run(&self.spec.map_run_arn) {
            Ok(Some(run)) => run.redrive_count,
            _ => 0,
        };
        loop {
            let got = self
                .inner
                .store
                .list_executions(&filter, &page)
                .map_err(|e| {
                    Failure::runtime(format!("The map run's children cannot be listed: {e}"))
                })?;
            for child in got.items {
                let Some(n) = child_index(&child.name) else {
                    continue;
                };
                if n >= self.next_child {
                    self.existing.insert(n);
                }
                let items = self.items_of_child(&child.arn);
                match child.status {
                    ExecutionStatus::Running | ExecutionStatus::PendingRedrive => {
                        self.wait_for(n, child.arn, items);
                    }
                    s if status_failed(s)
                        && self.spec.redrive
                        && child.redrive_count < run_redrives =>
                    {
                        redrive.push((n, child.arn, items))
                    }
                    s => self.count_end(s, items),
                }
            }
            match got.next_token {
                Some(t) => page.next_token = Some(t),
                None => break,
            }
        }
        for (n, arn, items) in redrive {
            match redrive_child(&self.inner, &arn).await {
                Ok(()) => self.wait_for(n, arn, items),
                Err(_) => self.count_end(ExecutionStatus::Failed, items),
            }
        }
        self.check_tolerance(false);
        Ok(())
    }

    /// Fails the map run when its failures exceed the tolerance: AWS counts
    /// failed and timed-out items (not aborted ones), a percentage of the
    /// total number of items. Checked at each failure: before the reader
    /// is done the total is not known yet, so a percentage is judged
    /// against what bounds it (inline items and an object read whole are
    /// all known at once; a streamed reader's MaxItems caps it), which
    /// can only understate the share; without a bound it is judged once
    /// the reader is done.
    fn check_tolerance(&mut self, reader_done: bool) {
        if self.failure.is_some() {
            return;
        }
        let failures = self.items.failed + self.items.timed_out;
        let total = if reader_done {
            Some(self.items.total)
        } else {
            self.items_bound.map(|b| b.max(self.items.total))
        };
        if exceeds_tolerance(
            failures,
            total,
            self.tolerated_count,
            self.tolerated_percentage,
        ) {
            self.failure = Some(tolerance_exceeded());
        }
    }

    async fn open_feed(&mut self, cursor: Option<&Value>) -> Result<Feed, Failure> {
        let reader_cursor = cursor.and_then(|c| c.get("reader")).cloned();
        let stream: Box<dyn ItemStream> = match (&self.spec.items, &self.spec.reader) {
            (Some(items), _) => {
                self.items_bound = Some(items.len() as u64);
                vec_items(items.clone(), reader_cursor.as_ref())
            }
            (None, Some(reader)) => match self.inner.map_run_io.as_ref() {
                Some(io) => {
                    self.items_bound = reader.max_items.filter(|n| *n > 0);
                    io.open_items(reader, reader_cursor.clone()).await?
                }
                None => {
                    let items = self.read_whole(reader).await?;
                    self.items_bound = Some(items.len() as u64);
                    vec_items(items, reader_cursor.as_ref())
                }
            },
            (None, None) => {
                self.items_bound = Some(0);
                vec_items(Vec::new(), None)
            }
        };
        let items_read = cursor
            .and_then(|c| c.get("items"))
            .and_then(Value::as_u64)
            .unwrap_or(0);
        Ok(Feed {
            batch_start: stream.cursor(),
            stream,
            batches: self.spec.batcher.clone().map(Batches::new),
            items_read,
            batch_items: 0,
            done: false,
        })
    }

    /// Without streaming readers: the ItemReader read whole through its own
    /// Task integration (`s3:getObject`, `s3:listObjectsV2`).
    async fn read_whole(&self, reader: &ReaderRequest) -> Result<Vec<Value>, Failure> {
        let request = TaskRequest {
            task: 0,
            state_name: self.spec.state_name.clone(),
            resource: reader.resource.clone(),
            parameters: reader.arguments.clone(),
            task_token: None,
            timeout_seconds: None,
            heartbeat_seconds: None,
        };
        let outcome = self
            .inner
            .integrations
            .invoke(
                TaskContext {
                    execution_arn: self.parent_arn.clone(),
                },
                request,
            )
            .await;
        match outcome {
            TaskOutcome::Succeeded(answer) => items_from_answer(answer, reader),
            TaskOutcome::Failed(f) => Err(Failure::new(
                ITEM_READER_FAILED,
                if f.cause.is_empty() { f.error } else { f.cause },
            )),
            _ => Err(Failure::new(
                ITEM_READER_FAILED,
                "The ItemReader's resource did not answer with items.",
            )),
        }
    }

    /// The next child's input: one selected item, or a batch of them, with
    /// the number of items in it. Keeps `batch_start` at the stream's
    /// cursor where the open (half-filled) batch began, so that a saved
    /// cursor never skips an item that has no child yet.
    async fn next_child_input(&self, feed: &mut Feed) -> Result<Option<(Value, u64)>, Failure> {
        loop {
            let before = feed.stream.cursor();
            let Some(item) = feed.stream.next().await? else {
                let last = feed.batches.as_mut().and_then(Batches::finish);
                let n = std::mem::take(&mut feed.batch_items);
                feed.batch_start = feed.stream.cursor();
                return Ok(last.map(|batch| (batch, n)));
            };
            let index = feed.items_read;
            feed.items_read += 1;
            let selected = self.parent_machine.select_map_item(
                &self.spec,
                index,
                item,
                now_ms(),
                &self.inner.host,
            )?;
            let Some(batches) = feed.batches.as_mut() else {
                feed.batch_start = feed.stream.cursor();
                return Ok(Some((selected, 1)));
            };
            if feed.batch_items == 0 {
                feed.batch_start = before.clone();
            }
            match batches.push(selected) {
                Some(batch) => {
                    // This item opened the next batch.
                    let n = feed.batch_items;
                    feed.batch_items = 1;
                    feed.batch_start = before;
                    return Ok(Some((batch, n)));
                }
                None => feed.batch_items += 1,
            }
        }
    }

    /// Starts child `n` with `input`.
    /// Starts children: EXPRESS ones as in-memory tasks, STANDARD ones
    /// created together and then awaited.
    async fn start_children(&mut self, batch: Vec<(u64, Value, u64)>) {
        if self.express {
            for (n, input, items) in batch {
                self.start_express_child(n, input, items, 0);
            }
            return;
        }
        let mut creating = JoinSet::new();
        for (n, input, items) in batch {
            let (context, new) = self.child_records(n, &input);
            let arn = new.arn.clone();
            let create = create_standard_child(
                Arc::clone(&self.inner),
                Arc::clone(&self.child_machine),
                context,
                input,
                new,
                self.shared,
            );
            creating.spawn(async move { (n, arn, items, create.await) });
        }
        while let Some(joined) = creating.join_next().await {
            let failure = match joined {
                Ok((n, arn, items, Ok(()))) => {
                    self.wait_for(n, arn, items);
                    continue;
                }
                Ok((_, _, _, Err(f))) => f,
                Err(e) => Failure::runtime(format!("A child could not start: {e}")),
            };
            if self.failure.is_none() {
                self.failure = Some(failure);
            }
        }
    }

    /// Child `n`'s context and execution record.
    fn child_records(&self, n: u64, input: &Value) -> (ExecutionContext, NewExecution) {
        let name = self.child_name(n);
        let arn = self.child_arn(&name);
        let now = now_ms();
        let context = ExecutionContext {
            execution_arn: arn.clone(),
            execution_name: name.clone(),
            state_machine_arn: self.child_machine_arn.clone(),
            state_machine_name: self.child_machine_name.clone(),
            role_arn: self.role_arn.clone(),
            start_time_ms: now,
            redrive_count: 0,
        };
        let new = NewExecution {
            arn,
            state_machine_arn: self.child_machine_arn.clone(),
            version_arn: None,
            alias_arn: None,
            revision_id: self.child_revision.revision_id.clone(),
            name,
            input: input.to_string(),
            trace_header: None,
            start_date_ms: now,
            map_run_arn: Some(self.spec.map_run_arn.clone()),
            parent_arn: Some(self.parent_arn.clone()),
        };
        (context, new)
    }

    /// Starts EXPRESS child `n` in memory.
    fn start_express_child(&mut self, n: u64, input: Value, items: u64, redrive_count: u32) {
        let name = self.child_name(n);
        let arn = self.child_arn(&name);
        let now = now_ms();
        let context = ExecutionContext {
            execution_arn: arn.clone(),
            execution_name: name.clone(),
            state_machine_arn: self.child_machine_arn.clone(),
            state_machine_name: self.child_machine_name.clone(),
            role_arn: self.role_arn.clone(),
            start_time_ms: now,
            redrive_count,
        };
        let input_text = input.to_string();
        {
            let inner = Arc::clone(&self.inner);
            let machine = Arc::clone(&self.child_machine);
            let machine_arn = self.child_machine_arn.clone();
            self.in_flight.insert(n, (arn.clone(), items));
            self.running.spawn(async move {
                let (x, _) =
                    crate::express::run_machine(&inner, &machine, context, input, false).await;
                let status = match x.status {
                    statecraft_engine::Status::Succeeded => ExecutionStatus::Succeeded,
                    statecraft_engine::Status::TimedOut => ExecutionStatus::TimedOut,
                    statecraft_engine::Status::Aborted => ExecutionStatus::Aborted,
                    _ => ExecutionStatus::Failed,
                };
                let result = ChildResult {
                    execution_arn: arn,
                    state_machine_arn: machine_arn,
                    name,
                    status,
                    input: input_text,
                    output: x.output.as_ref().map(ToString::to_string),
                    error: x.failure.as_ref().map(|f| f.error.clone()),
                    cause: x.failure.as_ref().map(|f| f.cause.clone()),
                    start_ms: Some(now),
                    stop_ms: Some(now_ms()),
                    redrive_count,
                };
                ChildEnd {
                    index: n,
                    items,
                    status,
                    result: Some(result),
                }
            });
            self.executions.running += 1;
            self.items.running += items;
        }
    }

    /// Waits for STANDARD child `n` to end (wherever it runs: a child on
    /// another node is looked at every second).
    fn wait_for(&mut self, n: u64, arn: String, items: u64) {
        self.in_flight.insert(n, (arn.clone(), items));
        self.executions.running += 1;
        self.items.running += items;
        let rt = self.rt.clone();
        self.running.spawn(async move {
            let status = loop {
                match tokio::time::timeout(Duration::from_secs(1), rt.wait_for_completion(&arn))
                    .await
                {
                    Ok(Ok(record)) => break record.state.status,
                    Ok(Err(crate::Error::Shutdown)) => {
                        std::future::pending::<()>().await;
                    }
                    Ok(Err(_)) => tokio::time::sleep(Duration::from_secs(1)).await,
                    Err(_) => {
                        if let Ok(record) = rt.describe_execution(&arn) {
                            if !record.state.status.is_active() {
                                break record.state.status;
                            }
                        }
                    }
                }
            };
            ChildEnd {
                index: n,
                items,
                status,
                result: None,
            }
        });
    }

    /// Counts a child's end against the tolerance; returns an EXPRESS
    /// child's result when it goes to the open result writer.
    fn child_ended(&mut self, end: ChildEnd, reader_done: bool) {
        self.in_flight.remove(&end.index);
        self.express_starts.remove(&end.index);
        self.executions.running = self.executions.running.saturating_sub(1);
        self.items.running = self.items.running.saturating_sub(end.items);
        let failed = end.status != ExecutionStatus::Succeeded;
        self.count_end(end.status, end.items);
        if let Some(r) = end.result {
            self.unsaved.push(MapRunChildResult {
                child: end.index,
                status: r.status.as_str().to_string(),
                items: end.items,
                result: result_json(&r),
            });
        }
        if failed {
            self.check_tolerance(reader_done);
        }
    }

    /// Counts a child that ended with `status`, holding `items` items.
    fn count_end(&mut self, status: ExecutionStatus, items: u64) {
        let (e, i) = (&mut self.executions, &mut self.items);
        match status {
            ExecutionStatus::Succeeded => {
                e.succeeded += 1;
                i.succeeded += items;
            }
            ExecutionStatus::TimedOut => {
                e.timed_out += 1;
                i.timed_out += items;
            }
            ExecutionStatus::Aborted => {
                e.aborted += 1;
                i.aborted += items;
            }
            _ => {
                e.failed += 1;
                i.failed += items;
            }
        }
    }

    /// How many items an existing child holds: one, or its batch's
    /// `Items` (read back from its input).
    fn items_of_child(&self, arn: &str) -> u64 {
        if self.spec.batcher.is_none() {
            return 1;
        }
        let input = match self.inner.store.get_execution(arn) {
            Ok(Some(record)) => record.input,
            _ => return 1,
        };
        serde_json::from_str::<Value>(&input)
            .ok()
            .and_then(|v| v.get("Items").and_then(Value::as_array).map(Vec::len))
            .map_or(1, |n| n as u64)
    }

    /// The result writer of the map run's ResultWriter, if it has one.
    async fn open_sink(
        inner: &Inner,
        spec: &MapRunSpec,
    ) -> Result<Option<Box<dyn ResultSink>>, Failure> {
        let Some(w) = spec
            .result_writer
            .as_ref()
            .filter(|w| !w.resource.is_empty())
        else {
            // No ResultWriter, or one with only a WriterConfig (AWS's
            // preview: the outputs come back in the state, transformed).
            return Ok(None);
        };
        match inner.map_run_io.as_ref() {
            Some(io) => io
                .open_results(w, &spec.map_run_arn)
                .await
                .map(Some)
                .map_err(|f| result_writer_failure(&f)),
            None => Err(Failure::new(
                RESULT_WRITER_FAILED,
                "This server has no buckets to write map run results to.",
            )),
        }
    }

    fn counts_now(&self, done: bool) -> (MapRunCounts, MapRunCounts) {
        let mut executions = self.executions;
        let mut items = self.items;
        let finished = |c: &MapRunCounts| c.succeeded + c.failed + c.timed_out + c.aborted;
        if done {
            // Children still running at the end were stopped with it.
            for c in [&mut executions, &mut items] {
                c.pending = 0;
                c.aborted += std::mem::take(&mut c.running);
            }
        } else {
            executions.pending = executions
                .total
                .saturating_sub(finished(&executions) + executions.running);
            items.pending = items.total.saturating_sub(finished(&items) + items.running);
        }
        (executions, items)
    }

    /// Saves the counts and the cursor (only where every item before it has
    /// a child), at most every 200 ms unless `now`.
    fn save_if_due<'a>(
        &'a mut self,
        feed: &Feed,
        now: bool,
    ) -> impl Future<Output = ()> + Send + 'a {
        let due = now || self.last_save.elapsed() >= Duration::from_millis(200);
        let position = due.then(|| (feed.items_read - feed.batch_items, feed.batch_start.clone()));
        async move {
            if let Some(p) = position {
                self.save(p).await;
            }
        }
    }

    /// Saves the counts and the cursor. An EXPRESS run's children leave no
    /// records, so its cursor stays where the oldest child still running
    /// began (a resumed run reads on from there and runs again only the
    /// children that had not ended), and the ends of its children since
    /// the last save are saved with it, in one transaction: a save is one
    /// write per 200 ms whatever the number of children.
    async fn save(&mut self, (items_started, reader): (u64, Value)) {
        self.last_save = std::time::Instant::now();
        let (executions, items) = self.counts_now(false);
        let (child, items_started, reader) = match self.express_starts.first_key_value() {
            Some((n, (before, at))) => (*n, *before, at.clone()),
            None => (self.next_child, items_started, reader),
        };
        let cursor = json!({
            "child": child,
            "items": items_started,
            "reader": reader,
        });
        let progress = MapRunProgress {
            status: MapRunStatus::Running,
            item_counts: items,
            execution_counts: executions,
            cursor: Some(cursor.to_string()),
            result_writer_details: None,
            error: None,
            cause: None,
            stop_date_ms: None,
        };
        if self.express {
            let results = std::mem::take(&mut self.unsaved);
            let saved = self
                .inner
                .store
                .save_map_run_results(&self.spec.map_run_arn, progress, results.clone())
                .await;
            if saved.is_err() {
                // Kept for the next save.
                self.unsaved = results;
            }
            return;
        }
        let _ = self
            .inner
            .store
            .save_map_run_progress(&self.spec.map_run_arn, progress)
            .await;
    }

    /// Saves the EXPRESS children's ends not saved yet, under the cursor
    /// saved last.
    async fn flush_results(&mut self) -> Result<(), Failure> {
        if self.unsaved.is_empty() {
            return Ok(());
        }
        let stored = self
            .inner
            .store
            .get_map_run(&self.spec.map_run_arn)
            .map_err(|e| Failure::runtime(format!("The map run cannot be read: {e}")))?;
        let (executions, items) = self.counts_now(false);
        let progress = MapRunProgress {
            status: MapRunStatus::Running,
            item_counts: items,
            execution_counts: executions,
            cursor: stored.and_then(|r| r.cursor),
            result_writer_details: None,
            error: None,
            cause: None,
            stop_date_ms: None,
        };
        let results = std::mem::take(&mut self.unsaved);
        self.inner
            .store
            .save_map_run_results(&self.spec.map_run_arn, progress, results)
            .await
            .map_err(|e| Failure::runtime(format!("The map run's results cannot be saved: {e}")))
    }

    /// Ends the map run: on failure the children still running are stopped;
    /// on success the output is built or the results written. Recorded,
    /// then answered to the parent.
    async fn end(mut self, outcome: Result<(), Failure>) -> TaskOutcome {
        if self
            .inner
            .shutting_down
            .load(std::sync::atomic::Ordering::Acquire)
        {
            // The node is going away: nothing is decided here; the node
            // that resumes the parent resumes the map run.
            self.running.abort_all();
            let _ = self.flush_results().await;
            return std::future::pending().await;
        }
        let outcome = match outcome {
            Err(f) => {
                self.running.abort_all();
                // Kept for a redrive, which re-runs the children that failed.
                let _ = self.flush_results().await;
                if !self.express {
                    stop_running_children(&self.rt, &self.spec.map_run_arn).await;
                }
                Err(f)
            }
            Ok(()) => self.output().await,
        };
        let (executions, items) = self.counts_now(true);
        let stored = self
            .inner
            .store
            .get_map_run(&self.spec.map_run_arn)
            .ok()
            .flatten();
        let (status, error, cause, details, result) = match outcome {
            Ok((output, details)) => (
                MapRunStatus::Succeeded,
                None,
                None,
                details,
                TaskOutcome::Succeeded(output),
            ),
            Err(f) => (
                MapRunStatus::Failed,
                Some(f.error.clone()),
                Some(f.cause.clone()),
                None,
                TaskOutcome::Failed(f),
            ),
        };
        let progress = MapRunProgress {
            status,
            item_counts: items,
            execution_counts: executions,
            cursor: stored.and_then(|r| r.cursor),
            result_writer_details: details,
            error,
            cause,
            stop_date_ms: Some(now_ms()),
        };
        let _ = self
            .inner
            .store
            .save_map_run_progress(&self.spec.map_run_arn, progress)
            .await;
        result
    }

    /// The state's result: the children's outputs in order, or the results
    /// written and their `ResultWriterDetails`.
    async fn output(&mut self) -> Result<(Value, Option<String>), Failure> {
        let mut writer = Self::open_sink(&self.inner, &self.spec).await?;
        let mut results: Vec<Value> = Vec::new();
        if self.express {
            // Every child's end is saved: read back in item order, a page
            // at a time, so that a resumed run writes each result once.
            self.flush_results().await?;
            let mut from = 0;
            loop {
                let page = self
                    .inner
                    .store
                    .map_run_results(&self.spec.map_run_arn, from, 1000)
                    .map_err(|e| {
                        Failure::runtime(format!("The map run's results cannot be read: {e}"))
                    })?;
                let Some(last) = page.last().map(|r| r.child) else {
                    break;
                };
                for saved in page {
                    let r = result_of_json(&saved.result)?;
                    match writer.as_mut() {
                        Some(w) => {
                            w.add(r).await.map_err(|f| result_writer_failure(&f))?;
                            self.items.results_written += 1;
                        }
                        None => results.push(output_of(&r)),
                    }
                }
                from = last + 1;
            }
        } else {
            let filter = ExecutionFilter {
                map_run_arn: Some(self.spec.map_run_arn.clone()),
                ..ExecutionFilter::default()
            };
            let mut page = PageRequest::first(1000);
            let mut ordered: BTreeMap<u64, Value> = BTreeMap::new();
            loop {
                let got = self
                    .inner
                    .store
                    .list_executions(&filter, &page)
                    .map_err(|e| {
                        Failure::runtime(format!("The map run's children cannot be listed: {e}"))
                    })?;
                for child in got.items {
                    let Some(n) = child_index(&child.name) else {
                        continue;
                    };
                    let record =
                        self.inner.store.get_execution(&child.arn).map_err(|e| {
                            Failure::runtime(format!("A child cannot be read: {e}"))
                        })?;
                    let Some(record) = record else { continue };
                    let r = result_of(&record);
                    match writer.as_mut() {
                        Some(w) => {
                            w.add(r).await.map_err(|f| result_writer_failure(&f))?;
                            self.items.results_written += 1;
                        }
                        None => {
                            ordered.insert(n, output_of(&r));
                        }
                    }
                }
                match got.next_token {
                    Some(t) => page.next_token = Some(t),
                    None => break,
                }
            }
            results = ordered.into_values().collect();
        }
        match writer {
            Some(w) => {
                let details = w.finish().await.map_err(|f| result_writer_failure(&f))?;
                let text = details.to_string();
                // AWS's output of an exporting Distributed Map.
                let output = json!({
                    "MapRunArn": self.spec.map_run_arn,
                    "ResultWriterDetails": details,
                });
                Ok((output, Some(text)))
            }
            None => Ok((self.transformed(results), None)),
        }
    }
}

/// Creates a STANDARD child (its first step committed with the execution)
/// and starts its actor here, leased to this node; or, when `shared` (nodes
/// share the store), without a lease: every node's claim loop is woken by
/// the start and the first to claim it runs it, so a map run's children
/// spread over the worker nodes. A child that exists already (started
/// before a restart) is left as it is.
async fn create_standard_child(
    inner: Arc<Inner>,
    machine: Arc<Machine>,
    context: ExecutionContext,
    input: Value,
    new: NewExecution,
    shared: bool,
) -> Result<(), Failure> {
    let arn = new.arn.clone();
    let now = new.start_date_ms;
    let (execution, plan) = {
        let machine = Arc::clone(&machine);
        let host = inner.host;
        let arn = arn.clone();
        actor::engine_call(move || {
            let (execution, step) =
                statecraft_engine::Execution::start(&machine, context, input, now, &host);
            let plan = actor::plan(&arn, &execution, step, 0, None, now);
            (execution, plan)
        })
        .await
    };
    let plan = plan.map_err(|e| Failure::runtime(format!("A child could not start: {e}")))?;
    let observed = observe::before_commit(inner.store.as_ref(), &plan.transition);
    let runs = !shared
        && inner
            .runs_executions
            .load(std::sync::atomic::Ordering::Relaxed);
    let created = if runs {
        let until = now.saturating_add(inner.lease_ms);
        inner
            .store
            .create_leased_execution(new, plan.transition, &inner.node_id, until)
            .await
    } else {
        inner.store.create_execution(new, plan.transition).await
    }
    .map_err(|e| Failure::runtime(format!("A child could not be recorded: {e}")))?;
    if let Created::New = created {
        observed.committed(&arn);
        if runs {
            inner
                .lock_fences()
                .insert(arn.clone(), statecraft_store::FIRST_LEASE_TOKEN);
            if execution.is_finished() {
                inner.wake_waiters(&arn);
            } else {
                inner.spawn_actor(actor::Actor::new(
                    arn.clone(),
                    machine,
                    execution,
                    1,
                    None,
                    plan.commands,
                    None,
                ));
            }
        }
    }
    Ok(())
}

/// Redrives a failed child of a map run being redriven: RedriveExecution
/// without its API checks (the child's machine is the parent's item
/// processor, which has no state machine record of its own).
async fn redrive_child(inner: &Arc<Inner>, arn: &str) -> crate::Result<()> {
    let record = inner
        .store
        .get_execution(arn)?
        .ok_or_else(|| crate::Error::ExecutionDoesNotExist(arn.to_string()))?;
    let revision = inner
        .store
        .get_revision(&record.revision_id)?
        .ok_or_else(|| crate::Error::StateMachineDoesNotExist(record.state_machine_arn.clone()))?;
    let machine = inner.machines.get(&revision)?;
    let execution = actor::load_engine_state(&record)?;
    let now = now_ms();
    let (execution, plan) = {
        let machine = Arc::clone(&machine);
        let host = inner.host;
        let arn = arn.to_string();
        let version = record.version;
        actor::engine_call(move || {
            let mut execution = execution;
            let plan = execution
                .redrive(&machine, now, &host)
                .map_err(|e| crate::Error::ExecutionNotRedrivable(e.to_string()))
                .and_then(|step| actor::plan(&arn, &execution, step, version, Some(now), now));
            (execution, plan)
        })
        .await
    };
    let plan = plan?;
    inner.take_over(arn).await?;
    let version = inner.commit(plan.transition).await?;
    inner.spawn_actor(actor::Actor::new(
        arn.to_string(),
        machine,
        execution,
        version,
        Some(now),
        plan.commands,
        None,
    ));
    Ok(())
}

impl Driver {
    /// The outputs as a ResultWriter's `WriterConfig.Transformation` without
    /// a Resource shapes them: FLATTEN splices array outputs into the list;
    /// COMPACT (and, here, NONE) keeps them as they are.
    fn transformed(&self, results: Vec<Value>) -> Value {
        let flatten = self
            .spec
            .result_writer
            .as_ref()
            .and_then(|w| w.writer_config.get("Transformation"))
            .and_then(Value::as_str)
            == Some("FLATTEN");
        if !flatten {
            return Value::Array(results);
        }
        let mut out = Vec::with_capacity(results.len());
        for r in results {
            match r {
                Value::Array(items) => out.extend(items),
                other => out.push(other),
            }
        }
        Value::Array(out)
    }
}

fn result_writer_failure(f: &Failure) -> Failure {
    if f.error == RESULT_WRITER_FAILED {
        return f.clone();
    }
    Failure::new(
        RESULT_WRITER_FAILED,
        if f.cause.is_empty() {
            f.error.clone()
        } else {
            f.cause.clone()
        },
    )
}

impl Runtime {
    /// UpdateMapRun: changes a running map run's MaxConcurrency and
    /// tolerance; its driver (on this node) applies them at once, a driver
    /// on another node within a second. `MapRunNotRunning`-like refusals
    /// are the caller's: this records whatever it is given.
    pub async fn update_map_run(
        &self,
        map_run_arn: &str,
        update: MapRunUpdate,
    ) -> crate::Result<MapRun> {
        let run = self.inner.store.update_map_run(map_run_arn, update).await?;
        self.inner.map_run_drivers.wake(map_run_arn);
        Ok(run)
    }
}
