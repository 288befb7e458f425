//! The console's data endpoints, read straight from the store: the overview
//! (aggregates the store computes on its indexes) and two server-sent event
//! streams, one of an execution's new history events and one of the
//! overview, so the pages update without polling the whole API.
//!
//! Routes (merged into the server's router by [`crate::data_router`]):
//! - `GET /console/api/overview[?stateMachineArn=…&window=SECONDS&buckets=N]`:
//!   [`OverviewBody`] as JSON;
//! - `GET /console/api/overview/stream[?…same…]`: SSE, an `overview` event
//!   whenever the numbers change;
//! - `GET /console/api/executions/{arn}/events[?after=ID]`: SSE, one
//!   `history` event per history event (its SSE id is the event id, so a
//!   reconnecting `EventSource` resumes after the last one it saw through
//!   `Last-Event-ID`), then an `end` event once the execution has stopped;
//! - `GET /console/api/activity-tasks?activityArn=…`: an activity's pending
//!   tasks ([`ActivityTasksBody`]): waiting for a worker, or started by one,
//!   each with the deadline that applies to it (heartbeat or timeout);
//! - `GET /console/api/executions/{arn}/tasks`: an execution's tasks waiting
//!   for an answer, with their task tokens ([`WaitingTaskBody`]), so the
//!   console can answer them with SendTaskSuccess or SendTaskFailure;
//! - `GET /console/api/executions?stateMachineArn=…[&maxResults=N]`: the
//!   executions the store keeps for a machine, newest first
//!   ([`StoredExecutionBody`]): the console's list for EXPRESS machines, for
//!   which ListExecutions is refused as on AWS.
//!
//! The streams wake on the store's commit notices
//! ([`statecraft_runtime::model::commits`]): a transition committed on this node is
//! read and sent at once. The notices are hints, the store is the truth: a
//! stream always reads what it sends from the store, and also reads on a
//! slow tick, so commits made by other nodes of a cluster (which publish
//! nothing here) or notices lost to a lagging subscriber still arrive.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::stream::{self, Stream, StreamExt};
use serde::{Deserialize, Serialize};
use statecraft_runtime::model::{Committed, Overview, OverviewQuery, StoreError};
use statecraft_runtime::read::ReadModel;
use tokio::sync::broadcast::{self, error::RecvError};

/// How often a history stream reads without a notice (commits of other
/// nodes; stores without notices).
pub const HISTORY_TICK: Duration = Duration::from_secs(1);
/// How often the overview stream recomputes the numbers without a notice.
pub const OVERVIEW_TICK: Duration = Duration::from_secs(5);
/// The overview is recomputed at most this often, however many commits.
pub const OVERVIEW_MIN_INTERVAL: Duration = Duration::from_millis(750);
/// How many history events one read of a stream takes at most.
const HISTORY_BATCH: u32 = 500;
/// The default overview window: the last 24 hours.
const DEFAULT_WINDOW_SECONDS: i64 = 24 * 3600;
/// The longest window the overview accepts: 90 days.
const MAX_WINDOW_SECONDS: i64 = 90 * 24 * 3600;

/// Why a data endpoint failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("execution does not exist: {0}")]
    NotFound(String),
    #[error("the store failed: {0}")]
    Store(StoreError),
    #[error("the query was interrupted")]
    Interrupted,
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { id, .. } => Error::NotFound(id),
            e => Error::Store(e),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, kind) = match &self {
            Error::NotFound(_) => (StatusCode::NOT_FOUND, "ExecutionDoesNotExist"),
            Error::Store(_) | Error::Interrupted => {
                (StatusCode::INTERNAL_SERVER_ERROR, "InternalError")
            }
        };
        let body = serde_json::json!({ "__type": kind, "message": self.to_string() });
        (status, Json(body)).into_response()
    }
}

type Shared = ReadModel;

/// Ends the open streams when the server shuts down: the overview stream
/// never ends by itself, and a graceful shutdown waits for every open
/// response, so without this a console left open would hold the server up.
/// Cheap to clone; every clone closes the same streams.
#[derive(Debug, Clone)]
pub struct Streams {
    closed: Arc<tokio::sync::watch::Sender<bool>>,
}

impl Default for Streams {
    fn default() -> Self {
        Streams {
            closed: Arc::new(tokio::sync::watch::channel(false).0),
        }
    }
}

impl Streams {
    pub fn new() -> Self {
        Self::default()
    }

    /// Ends every open stream and refuses new ones (they end at once).
    pub fn close(&self) {
        self.closed.send_replace(true);
    }

    /// Resolves once [`Streams::close`] is called.
    fn closing(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.closed.subscribe();
        async move {
            // An error means every sender is gone: nothing can close it
            // any more, so wait forever.
            if rx.wait_for(|closed| *closed).await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

/// Who is waiting for an activity's tasks right now (the long polls the
/// server holds open), for the Activities page.
pub trait Pollers: Send + Sync {
    fn pollers(&self, activity_arn: &str) -> Vec<PollerBody>;
}

/// No poll is known (a console without an API server behind it).
struct NoPollers;

impl Pollers for NoPollers {
    fn pollers(&self, _activity_arn: &str) -> Vec<PollerBody> {
        Vec::new()
    }
}

/// A worker waiting in GetActivityTask.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PollerBody {
    /// The `workerName` it sent, if any.
    pub name: Option<String>,
    /// When it started waiting (ms since the epoch).
    pub since_ms: i64,
}

#[derive(Clone)]
struct Ctx {
    store: Shared,
    streams: Streams,
    pollers: Arc<dyn Pollers>,
}

/// The data routes over `store`, their streams ended by `streams`.
pub fn router<S: Clone + Send + Sync + 'static>(store: ReadModel, streams: Streams) -> Router<S> {
    router_with_pollers(store, streams, Arc::new(NoPollers))
}

/// [`router`], with the open activity polls shown on the Activities page.
pub fn router_with_pollers<S: Clone + Send + Sync + 'static>(
    store: ReadModel,
    streams: Streams,
    pollers: Arc<dyn Pollers>,
) -> Router<S> {
    Router::new()
        .route("/console/api/overview", get(overview))
        .route("/console/api/overview/stream", get(overview_stream))
        .route("/console/api/executions/{arn}/events", get(history_stream))
        .route("/console/api/executions/{arn}/tasks", get(waiting_tasks))
        .route("/console/api/executions", get(stored_executions))
        .route("/console/api/activity-tasks", get(activity_tasks))
        .with_state(Ctx {
            store,
            streams,
            pollers,
        })
}

/// Runs a blocking store read off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| Error::Interrupted)?
        .map_err(Error::from)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The overview's query string.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OverviewParams {
    state_machine_arn: Option<String>,
    /// The window in seconds, ending now.
    window: Option<i64>,
    buckets: Option<u32>,
}

impl OverviewParams {
    fn query(&self, now_ms: i64) -> OverviewQuery {
        let window = self
            .window
            .unwrap_or(DEFAULT_WINDOW_SECONDS)
            .clamp(60, MAX_WINDOW_SECONDS);
        OverviewQuery {
            state_machine_arn: self.state_machine_arn.clone().filter(|s| !s.is_empty()),
            since_ms: now_ms.saturating_sub(window * 1000),
            until_ms: now_ms.saturating_add(1),
            buckets: self.buckets.unwrap_or(24),
            top: 5,
        }
    }
}

/// The overview as the console reads it (camelCase JSON, dates in ms).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OverviewBody {
    pub since_ms: i64,
    pub until_ms: i64,
    pub bucket_ms: i64,
    pub counts: Counts,
    pub total: u64,
    pub active_now: u64,
    /// Failed, timed out or aborted among the executions that ended, 0..=1.
    pub failure_rate: f64,
    pub timeline: Vec<TimelineBucket>,
    pub failing_states: Vec<FailingStateBody>,
    pub slowest_machines: Vec<SlowMachineBody>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub struct Counts {
    pub running: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub timed_out: u64,
    pub aborted: u64,
    pub pending_redrive: u64,
}

impl From<statecraft_runtime::model::StatusCounts> for Counts {
    fn from(c: statecraft_runtime::model::StatusCounts) -> Self {
        Counts {
            running: c.running,
            succeeded: c.succeeded,
            failed: c.failed,
            timed_out: c.timed_out,
            aborted: c.aborted,
            pending_redrive: c.pending_redrive,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TimelineBucket {
    pub start_ms: i64,
    pub counts: Counts,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FailingStateBody {
    pub state_machine_arn: String,
    pub state_name: String,
    pub error: Option<String>,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SlowMachineBody {
    pub state_machine_arn: String,
    pub executions: u64,
    pub average_ms: f64,
    pub max_ms: i64,
}

impl OverviewBody {
    fn new(q: &OverviewQuery, o: Overview) -> Self {
        let bucket_ms = match (o.timeline.first(), o.timeline.get(1)) {
            (Some(a), Some(b)) => b.start_ms - a.start_ms,
            _ => q.until_ms - q.since_ms,
        };
        OverviewBody {
            since_ms: q.since_ms,
            until_ms: q.until_ms,
            bucket_ms,
            total: o.window.total(),
            failure_rate: o.window.failure_rate(),
            counts: o.window.into(),
            active_now: o.active_now,
            timeline: o
                .timeline
                .into_iter()
                .map(|b| TimelineBucket {
                    start_ms: b.start_ms,
                    counts: b.counts.into(),
                })
                .collect(),
            failing_states: o
                .failing_states
                .into_iter()
                .map(|f| FailingStateBody {
                    state_machine_arn: f.state_machine_arn,
                    state_name: f.state_name,
                    error: f.error,
                    count: f.count,
                })
                .collect(),
            slowest_machines: o
                .slowest_machines
                .into_iter()
                .map(|s| SlowMachineBody {
                    state_machine_arn: s.state_machine_arn,
                    executions: s.executions,
                    average_ms: s.average_ms,
                    max_ms: s.max_ms,
                })
                .collect(),
        }
    }
}

/// Computes the overview for `params` as of now.
pub async fn compute_overview(
    store: ReadModel,
    params: &OverviewParams,
) -> Result<OverviewBody, Error> {
    let q = params.query(now_ms());
    let asked = q.clone();
    let o = blocking(move || store.overview(&asked)).await?;
    Ok(OverviewBody::new(&q, o))
}

async fn overview(
    State(Ctx { store, .. }): State<Ctx>,
    Query(params): Query<OverviewParams>,
) -> Result<Json<OverviewBody>, Error> {
    compute_overview(store, &params).await.map(Json)
}

/// Waits for a commit notice that `wanted` accepts, or `tick`, whichever
/// comes first. Without notices it just waits `tick`.
async fn wake(
    rx: &mut Option<broadcast::Receiver<Committed>>,
    tick: Duration,
    wanted: impl Fn(&Committed) -> bool,
) {
    let Some(receiver) = rx.as_mut() else {
        tokio::time::sleep(tick).await;
        return;
    };
    let notice = async {
        loop {
            match receiver.recv().await {
                Ok(c) if wanted(&c) => return true,
                Ok(_) => {}
                // Lost notices: read the store now, it has everything.
                Err(RecvError::Lagged(_)) => return true,
                Err(RecvError::Closed) => return false,
            }
        }
    };
    match tokio::time::timeout(tick, notice).await {
        Ok(true) | Err(_) => {}
        Ok(false) => {
            // The store stopped publishing: fall back to the tick alone.
            *rx = None;
            tokio::time::sleep(tick).await;
        }
    }
}

/// The numbers without their window, to tell whether anything changed.
fn fingerprint(o: &OverviewBody) -> String {
    serde_json::json!([
        o.counts,
        o.active_now,
        o.timeline.iter().map(|b| b.counts).collect::<Vec<_>>(),
        o.failing_states,
        o.slowest_machines
    ])
    .to_string()
}

async fn overview_stream(
    State(Ctx { store, streams, .. }): State<Ctx>,
    Query(params): Query<OverviewParams>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = store.subscribe_commits();
    // (store, params, notices, last fingerprint, first round?)
    let seed = (store, params, rx, String::new(), true);
    let events = stream::unfold(seed, |(store, params, rx, last, first)| async move {
        let mut rx = rx;
        let mut last = last;
        if !first {
            next_overview(&mut rx).await;
        }
        loop {
            match compute_overview(store.clone(), &params).await {
                Ok(body) => {
                    let print = fingerprint(&body);
                    if print != last {
                        let event = Event::default()
                            .event("overview")
                            .json_data(&body)
                            .unwrap_or_else(|_| Event::default().comment("unserialisable"));
                        return Some((Ok(event), (store, params, rx, print, false)));
                    }
                    last = print;
                }
                // A failing store ends the stream; the client falls back to
                // polling and retries.
                Err(_) => return None,
            }
            next_overview(&mut rx).await;
        }
    });
    Sse::new(events.take_until(streams.closing())).keep_alive(KeepAlive::default())
}

/// Waits until the overview is worth recomputing: any commit (new
/// executions and status changes are what it counts), at most every
/// [`OVERVIEW_MIN_INTERVAL`], or [`OVERVIEW_TICK`] without one.
async fn next_overview(rx: &mut Option<broadcast::Receiver<Committed>>) {
    tokio::time::sleep(OVERVIEW_MIN_INTERVAL).await;
    // Commits during the pause: recompute now (draining them, since the
    // next computation covers them all).
    if let Some(r) = rx.as_mut() {
        let mut any = false;
        while let Ok(_) | Err(broadcast::error::TryRecvError::Lagged(_)) = r.try_recv() {
            any = true;
        }
        if any {
            return;
        }
    }
    wake(rx, OVERVIEW_TICK, |_| true).await;
}

#[derive(Debug, Default, Deserialize)]
struct HistoryParams {
    after: Option<u64>,
}

/// Where a history stream is: the last event id sent, and whether the
/// execution has been seen stopped with nothing more to send.
struct Cursor {
    store: Shared,
    arn: String,
    after: u64,
    buffered: std::collections::VecDeque<Event>,
    done: bool,
    notices: Option<broadcast::Receiver<Committed>>,
}

async fn history_stream(
    State(Ctx { store, streams, .. }): State<Ctx>,
    Path(arn): Path<String>,
    Query(params): Query<HistoryParams>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Error> {
    // A reconnecting EventSource names the last event it saw; it wins over
    // the `after` of the original URL.
    let resumed = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let after = resumed.or(params.after).unwrap_or(0);
    {
        // Refuse an unknown execution up front, with a status code, rather
        // than as an empty stream.
        let (s, a) = (store.clone(), arn.clone());
        if blocking(move || s.get_execution(&a)).await?.is_none() {
            return Err(Error::NotFound(arn));
        }
    }
    // Subscribed before the first read, so no commit falls in between.
    let notices = store.subscribe_commits();
    let cursor = Cursor {
        notices,
        store,
        arn,
        after,
        buffered: Default::default(),
        done: false,
    };
    let events = stream::unfold(cursor, |mut c| async move {
        loop {
            if let Some(e) = c.buffered.pop_front() {
                return Some((Ok(e), c));
            }
            if c.done {
                return None;
            }
            // Read the status before the events: if it has stopped, the
            // events read after it are complete.
            let (s, a) = (c.store.clone(), c.arn.clone());
            let active = match blocking(move || s.get_execution(&a)).await {
                Ok(Some(e)) => e.state.status.is_active(),
                _ => return None,
            };
            let (s, a, after) = (c.store.clone(), c.arn.clone(), c.after);
            // Each event goes out as the JSON text the store keeps.
            let batch = match blocking(move || s.history_wire_after(&a, after, HISTORY_BATCH)).await
            {
                Ok(b) => b,
                Err(_) => return None,
            };
            let full = u32::try_from(batch.len()).unwrap_or(u32::MAX) >= HISTORY_BATCH;
            for event in batch {
                c.after = c.after.max(event.id);
                let sse = Event::default()
                    .event("history")
                    .id(event.id.to_string())
                    .data(event.json);
                c.buffered.push_back(sse);
            }
            if !active && !full {
                c.buffered
                    .push_back(Event::default().event("end").data(c.after.to_string()));
                c.done = true;
            } else if c.buffered.is_empty() {
                let arn = c.arn.clone();
                wake(&mut c.notices, HISTORY_TICK, |n| n.execution_arn == arn).await;
            }
        }
    });
    Ok(Sse::new(events.take_until(streams.closing())).keep_alive(KeepAlive::default()))
}

/// How many tasks of one activity the console lists at most.
const MAX_ACTIVITY_TASKS: u32 = 200;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ActivityParams {
    activity_arn: String,
}

/// An activity's pending tasks, as the Activities page shows them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivityTasksBody {
    /// Tasks no worker holds (never taken, or whose lease ran out).
    pub waiting: usize,
    /// Tasks a worker took with GetActivityTask and has not answered yet.
    pub started: usize,
    /// The workers holding tasks now, by name.
    pub workers: Vec<WorkerBody>,
    pub tasks: Vec<ActivityTaskBody>,
    /// Whether more tasks exist than listed.
    pub truncated: bool,
    /// The workers waiting in GetActivityTask now.
    pub polling: Vec<PollerBody>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerBody {
    pub name: String,
    pub tasks: usize,
    /// When the latest of its leases runs out (ms since the epoch).
    pub lease_until_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivityTaskBody {
    pub execution_arn: String,
    pub task_id: u64,
    /// The worker holding it, while its lease runs.
    pub worker: Option<String>,
    /// The store's lease: only keeps a second worker off the task, so it is
    /// far in the future. What ends a silent worker is [`Self::deadline`].
    pub lease_expires_ms: Option<i64>,
    /// The state's `TimeoutSeconds` and `HeartbeatSeconds`, when set.
    pub timeout_seconds: Option<u64>,
    pub heartbeat_seconds: Option<u64>,
    /// When the task times out unless answered (or, for the heartbeat, unless
    /// the worker sends a heartbeat): the earlier of the two that apply.
    pub deadline: Option<DeadlineBody>,
}

/// The deadline that applies to a pending task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadlineBody {
    /// ms since the epoch.
    pub at_ms: i64,
    /// `heartbeat` (States.HeartbeatTimeout) or `timeout` (States.Timeout).
    pub kind: DeadlineKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeadlineKind {
    Heartbeat,
    Timeout,
}

/// Sorts `tasks` into waiting and started ones as of `now_ms`.
pub fn activity_tasks_body(
    tasks: Vec<(String, statecraft_runtime::model::PendingTask)>,
    now_ms: i64,
    limit: usize,
) -> ActivityTasksBody {
    let truncated = tasks.len() > limit;
    let mut workers: std::collections::BTreeMap<String, WorkerBody> = Default::default();
    let mut listed = Vec::new();
    let (mut waiting, mut started) = (0, 0);
    for (execution_arn, t) in tasks.into_iter().take(limit) {
        // An expired lease is free for the next GetActivityTask: waiting.
        let held = match (&t.lease_owner, t.lease_expires_ms) {
            (Some(owner), Some(until)) if until > now_ms => Some((owner.clone(), until)),
            _ => None,
        };
        match &held {
            Some((owner, until)) => {
                started += 1;
                let w = workers.entry(owner.clone()).or_insert_with(|| WorkerBody {
                    name: owner.clone(),
                    tasks: 0,
                    lease_until_ms: *until,
                });
                w.tasks += 1;
                w.lease_until_ms = w.lease_until_ms.max(*until);
            }
            None => waiting += 1,
        }
        let (timeout_seconds, heartbeat_seconds) = request_limits(&t.request);
        listed.push(ActivityTaskBody {
            execution_arn,
            task_id: t.task_id,
            worker: held.as_ref().map(|(o, _)| o.clone()),
            lease_expires_ms: held.map(|(_, u)| u),
            timeout_seconds,
            heartbeat_seconds,
            deadline: None,
        });
    }
    ActivityTasksBody {
        waiting,
        started,
        workers: workers.into_values().collect(),
        tasks: listed,
        truncated,
        polling: Vec::new(),
    }
}

async fn activity_tasks(
    State(Ctx { store, pollers, .. }): State<Ctx>,
    Query(params): Query<ActivityParams>,
) -> Result<Json<ActivityTasksBody>, Error> {
    let arn = params.activity_arn;
    let polling = pollers.pollers(&arn);
    let (s, a) = (store.clone(), arn.clone());
    let tasks = blocking(move || s.resource_tasks(&a, MAX_ACTIVITY_TASKS + 1)).await?;
    let limit = usize::try_from(MAX_ACTIVITY_TASKS).unwrap_or(usize::MAX);
    let now = now_ms();
    let mut body = activity_tasks_body(tasks, now, limit);
    body.polling = polling;
    let tasks = std::mem::take(&mut body.tasks);
    body.tasks = blocking(move || Ok(with_deadlines(&store, &arn, tasks, now))).await?;
    Ok(Json(body))
}

/// `TimeoutSeconds` and `HeartbeatSeconds` of a task, from the engine's
/// serialised task request (`None` when absent or unreadable).
fn request_limits(request: &str) -> (Option<u64>, Option<u64>) {
    let v: serde_json::Value = serde_json::from_str(request).unwrap_or_default();
    (
        v.get("timeout_seconds").and_then(serde_json::Value::as_u64),
        v.get("heartbeat_seconds")
            .and_then(serde_json::Value::as_u64),
    )
}

/// How many executions' histories one Activities refresh reads for deadlines.
const MAX_DEADLINE_EXECUTIONS: usize = 50;
/// How many history events are read per execution to find open activities.
const MAX_DEADLINE_EVENTS: usize = 20_000;

/// The parts of a history event that deadlines are computed from.
#[derive(Debug, Clone, PartialEq)]
struct EventRow {
    id: u64,
    previous_event_id: u64,
    timestamp_ms: i64,
    event_type: &'static str,
    details: Option<serde_json::Map<String, serde_json::Value>>,
}

/// One `ActivityScheduled` not yet answered: when it was scheduled and
/// started, and its limits.
#[derive(Debug, Clone, PartialEq)]
struct OpenActivity {
    scheduled_ms: i64,
    started_ms: Option<i64>,
    timeout_seconds: Option<u64>,
    heartbeat_seconds: Option<u64>,
}

/// The activities of `resource` scheduled in `events` (in id order) and not
/// yet succeeded, failed or timed out, in the order they were scheduled
/// (which is the order of their task ids).
fn open_activities(events: &[EventRow], resource: &str) -> Vec<OpenActivity> {
    let mut open: std::collections::BTreeMap<u64, OpenActivity> = Default::default();
    // event id -> the ActivityScheduled event it follows from
    let mut root: std::collections::HashMap<u64, u64> = Default::default();
    for e in events {
        let ty = e.event_type;
        let d = e.details.as_ref();
        if ty == "ActivityScheduled" {
            if d.and_then(|d| d.get("resource"))
                .and_then(serde_json::Value::as_str)
                != Some(resource)
            {
                continue;
            }
            let secs = |k: &str| d.and_then(|d| d.get(k)).and_then(serde_json::Value::as_u64);
            open.insert(
                e.id,
                OpenActivity {
                    scheduled_ms: e.timestamp_ms,
                    started_ms: None,
                    timeout_seconds: secs("timeoutInSeconds"),
                    heartbeat_seconds: secs("heartbeatInSeconds"),
                },
            );
            root.insert(e.id, e.id);
            continue;
        }
        if !ty.starts_with("Activity") {
            continue;
        }
        let Some(&scheduled) = root.get(&e.previous_event_id) else {
            continue;
        };
        root.insert(e.id, scheduled);
        match ty {
            "ActivityStarted" => {
                if let Some(a) = open.get_mut(&scheduled) {
                    a.started_ms = Some(e.timestamp_ms);
                }
            }
            "ActivitySucceeded" | "ActivityFailed" | "ActivityTimedOut" => {
                open.remove(&scheduled);
            }
            _ => {}
        }
    }
    open.into_values().collect()
}

/// The deadline of an open activity, given the execution's armed timers:
/// the timeout counts from scheduling; the heartbeat clock starts when a
/// worker takes the task and restarts with each SendTaskHeartbeat, so its
/// deadline is the armed timer in the window that leaves (the latest
/// heartbeat is not in the history), or the first one if none is armed yet.
fn deadline_of(a: &OpenActivity, timers: &[i64], now_ms: i64) -> Option<DeadlineBody> {
    let timeout = a.timeout_seconds.map(|s| DeadlineBody {
        at_ms: a.scheduled_ms.saturating_add(secs_ms(s)),
        kind: DeadlineKind::Timeout,
    });
    let heartbeat = match (a.started_ms, a.heartbeat_seconds) {
        (Some(started), Some(s)) => {
            let first = started.saturating_add(secs_ms(s));
            let latest = now_ms.max(started).saturating_add(secs_ms(s));
            let armed = timers
                .iter()
                .copied()
                .filter(|t| (first..=latest).contains(t) && Some(*t) != timeout.map(|d| d.at_ms))
                .max();
            Some(DeadlineBody {
                at_ms: armed.unwrap_or(first),
                kind: DeadlineKind::Heartbeat,
            })
        }
        _ => None,
    };
    match (timeout, heartbeat) {
        (Some(t), Some(h)) => Some(if h.at_ms < t.at_ms { h } else { t }),
        (t, h) => t.or(h),
    }
}

fn secs_ms(s: u64) -> i64 {
    i64::try_from(s)
        .unwrap_or(i64::MAX / 1000)
        .saturating_mul(1000)
}

/// Fills in each task's deadline from its execution's history and timers.
/// Tasks are matched to the open `ActivityScheduled` events of their
/// execution in order; when the counts disagree (the history moved on
/// between the two reads) the deadline is left out rather than guessed.
fn with_deadlines(
    store: &ReadModel,
    resource: &str,
    mut tasks: Vec<ActivityTaskBody>,
    now_ms: i64,
) -> Vec<ActivityTaskBody> {
    let mut executions: Vec<String> = Vec::new();
    for t in &tasks {
        if !executions.contains(&t.execution_arn) && executions.len() < MAX_DEADLINE_EXECUTIONS {
            executions.push(t.execution_arn.clone());
        }
    }
    for arn in executions {
        let mut events = Vec::new();
        let mut after = 0;
        while events.len() < MAX_DEADLINE_EVENTS {
            let Ok(batch) = store.history_after(&arn, after, 1000) else {
                break;
            };
            let Some(last) = batch.last() else { break };
            after = last.id;
            events.extend(batch.into_iter().map(|e| EventRow {
                id: e.id,
                previous_event_id: e.previous_event_id,
                timestamp_ms: e.timestamp_ms,
                event_type: e.event_type.as_str(),
                details: e.details,
            }));
        }
        let open = open_activities(&events, resource);
        let timers: Vec<i64> = store
            .timers(&arn)
            .unwrap_or_default()
            .into_iter()
            .map(|t| t.fire_at_ms)
            .collect();
        let mut mine: Vec<&mut ActivityTaskBody> = tasks
            .iter_mut()
            .filter(|t| t.execution_arn == arn)
            .collect();
        mine.sort_by_key(|t| t.task_id);
        if mine.len() != open.len() {
            continue;
        }
        for (t, a) in mine.into_iter().zip(&open) {
            t.timeout_seconds = t.timeout_seconds.or(a.timeout_seconds);
            t.heartbeat_seconds = t.heartbeat_seconds.or(a.heartbeat_seconds);
            t.deadline = deadline_of(a, &timers, now_ms);
        }
    }
    tasks
}

/// A task of an execution waiting for SendTaskSuccess/SendTaskFailure.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WaitingTaskBody {
    pub task_id: u64,
    /// The Task state that waits.
    pub state_name: Option<String>,
    pub resource: String,
    pub task_token: String,
    /// `activity` (a worker takes it with GetActivityTask) or `callback`
    /// (`.waitForTaskToken`: whoever got the token answers).
    pub kind: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WaitingTasksBody {
    pub tasks: Vec<WaitingTaskBody>,
}

/// The tasks of an execution that carry a task token, by task id.
pub fn waiting_tasks_body(
    pending: Vec<statecraft_runtime::model::PendingTask>,
) -> WaitingTasksBody {
    let tasks = pending
        .into_iter()
        .filter_map(|t| {
            let token = t.token?;
            let request: serde_json::Value = serde_json::from_str(&t.request).unwrap_or_default();
            let kind = if t.resource.split(':').nth(5) == Some("activity") {
                "activity"
            } else {
                "callback"
            };
            Some(WaitingTaskBody {
                task_id: t.task_id,
                state_name: request
                    .get("state_name")
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_string),
                resource: t.resource,
                task_token: token,
                kind,
            })
        })
        .collect();
    WaitingTasksBody { tasks }
}

async fn waiting_tasks(
    State(Ctx { store, .. }): State<Ctx>,
    Path(arn): Path<String>,
) -> Result<Json<WaitingTasksBody>, Error> {
    let (s, a) = (store.clone(), arn.clone());
    if blocking(move || s.get_execution(&a)).await?.is_none() {
        return Err(Error::NotFound(arn));
    }
    let pending = blocking(move || store.pending_tasks(&arn)).await?;
    Ok(Json(waiting_tasks_body(pending)))
}

/// How many executions the stored-executions list returns at most.
const MAX_STORED_EXECUTIONS: u32 = 100;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredParams {
    state_machine_arn: String,
    max_results: Option<u32>,
}

/// An execution the store keeps, as the console lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredExecutionBody {
    pub execution_arn: String,
    pub name: String,
    pub status: &'static str,
    pub start_date_ms: i64,
    pub stop_date_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredExecutionsBody {
    pub executions: Vec<StoredExecutionBody>,
    /// Whether the machine has more executions than listed.
    pub more: bool,
}

async fn stored_executions(
    State(Ctx { store, .. }): State<Ctx>,
    Query(params): Query<StoredParams>,
) -> Result<Json<StoredExecutionsBody>, Error> {
    let limit = params
        .max_results
        .unwrap_or(50)
        .clamp(1, MAX_STORED_EXECUTIONS);
    let filter = statecraft_runtime::model::ExecutionFilter {
        state_machine_arn: Some(params.state_machine_arn),
        ..Default::default()
    };
    let page = blocking(move || {
        store.list_executions(
            &filter,
            &statecraft_runtime::model::PageRequest::first(limit),
        )
    })
    .await?;
    Ok(Json(StoredExecutionsBody {
        more: page.next_token.is_some(),
        executions: page
            .items
            .into_iter()
            .map(|e| StoredExecutionBody {
                execution_arn: e.arn,
                name: e.name,
                status: e.status.as_str(),
                start_date_ms: e.start_date_ms,
                stop_date_ms: e.stop_date_ms,
            })
            .collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use statecraft_runtime::model::PendingTask;

    fn task(id: u64, owner: Option<&str>, until: Option<i64>) -> (String, PendingTask) {
        (
            format!("arn:exec:{id}"),
            PendingTask {
                task_id: id,
                resource: "arn:activity".into(),
                request: "{}".into(),
                token: Some(format!("t{id}")),
                lease_owner: owner.map(str::to_string),
                lease_expires_ms: until,
            },
        )
    }

    fn row(id: u64, prev: u64, at: i64, ty: &'static str, details: serde_json::Value) -> EventRow {
        EventRow {
            id,
            previous_event_id: prev,
            timestamp_ms: at,
            event_type: ty,
            details: details.as_object().cloned(),
        }
    }

    /// Two activities scheduled in parallel branches, one answered; one of
    /// another activity: the open one of ours is found, with its start.
    #[test]
    fn open_activities_follow_their_events() {
        let ours = "arn:aws:states:us-east-1:1:activity:ours";
        let scheduled = |r: &str| serde_json::json!({"resource": r, "timeoutInSeconds": 3600, "heartbeatInSeconds": 60});
        let events = [
            row(1, 0, 0, "ExecutionStarted", serde_json::json!({})),
            row(2, 1, 10, "ActivityScheduled", scheduled(ours)),
            row(3, 1, 11, "ActivityScheduled", scheduled(ours)),
            row(4, 1, 12, "ActivityScheduled", scheduled("arn:other")),
            row(
                5,
                2,
                20,
                "ActivityStarted",
                serde_json::json!({"workerName": "w"}),
            ),
            row(6, 3, 21, "ActivityStarted", serde_json::json!({})),
            row(
                7,
                6,
                30,
                "ActivitySucceeded",
                serde_json::json!({"output": "{}"}),
            ),
        ];
        assert_eq!(
            open_activities(&events, ours),
            vec![OpenActivity {
                scheduled_ms: 10,
                started_ms: Some(20),
                timeout_seconds: Some(3600),
                heartbeat_seconds: Some(60),
            }]
        );
    }

    /// The deadline that applies: the heartbeat once a worker holds the task
    /// (the armed timer if a heartbeat moved it), the timeout otherwise or
    /// when it comes first.
    #[test]
    fn deadlines_are_the_heartbeat_or_the_timeout() {
        let open =
            |started: Option<i64>, timeout: Option<u64>, heartbeat: Option<u64>| OpenActivity {
                scheduled_ms: 1_000,
                started_ms: started,
                timeout_seconds: timeout,
                heartbeat_seconds: heartbeat,
            };
        let d = |at_ms, kind| Some(DeadlineBody { at_ms, kind });
        use DeadlineKind::{Heartbeat, Timeout};
        let now = 50_000;
        let cases = [
            // Waiting for a worker: the heartbeat clock has not started.
            (
                open(None, Some(3600), Some(60)),
                vec![],
                d(3_601_000, Timeout),
            ),
            // Taken at 2 s: its first heartbeat deadline.
            (
                open(Some(2_000), Some(3600), Some(60)),
                vec![3_601_000],
                d(62_000, Heartbeat),
            ),
            // A heartbeat at 40 s moved it: the armed timer says where.
            (
                open(Some(2_000), Some(3600), Some(60)),
                vec![3_601_000, 100_000],
                d(100_000, Heartbeat),
            ),
            // The timeout comes first.
            (
                open(Some(2_000), Some(30), Some(60)),
                vec![],
                d(31_000, Timeout),
            ),
            (
                open(Some(2_000), None, Some(60)),
                vec![],
                d(62_000, Heartbeat),
            ),
            (open(Some(2_000), None, None), vec![], None),
        ];
        for (i, (a, timers, want)) in cases.into_iter().enumerate() {
            assert_eq!(deadline_of(&a, &timers, now), want, "case {i}");
        }
    }

    #[test]
    fn waiting_tasks_carry_their_token_and_state() {
        let pending = vec![
            PendingTask {
                task_id: 3,
                resource: "arn:aws:states:::sqs:sendMessage.waitForTaskToken".into(),
                request: serde_json::json!({"state_name": "Approve", "task": 3}).to_string(),
                token: Some("tok-3".into()),
                lease_owner: None,
                lease_expires_ms: None,
            },
            // An ordinary task has no token: nothing to answer.
            PendingTask {
                task_id: 4,
                resource: "arn:aws:states:::lambda:invoke".into(),
                request: "{}".into(),
                token: None,
                lease_owner: None,
                lease_expires_ms: None,
            },
            PendingTask {
                task_id: 5,
                resource: "arn:aws:states:us-east-1:1:activity:work".into(),
                request: "not json".into(),
                token: Some("tok-5".into()),
                lease_owner: None,
                lease_expires_ms: None,
            },
        ];
        let body = waiting_tasks_body(pending);
        assert_eq!(
            body.tasks,
            vec![
                WaitingTaskBody {
                    task_id: 3,
                    state_name: Some("Approve".into()),
                    resource: "arn:aws:states:::sqs:sendMessage.waitForTaskToken".into(),
                    task_token: "tok-3".into(),
                    kind: "callback",
                },
                WaitingTaskBody {
                    task_id: 5,
                    state_name: None,
                    resource: "arn:aws:states:us-east-1:1:activity:work".into(),
                    task_token: "tok-5".into(),
                    kind: "activity",
                },
            ]
        );
    }

    #[test]
    fn tasks_are_waiting_or_started_by_their_lease() {
        let body = activity_tasks_body(
            vec![
                task(1, None, None),
                task(2, Some("w1"), Some(2_000)),
                task(3, Some("w1"), Some(3_000)),
                // Its lease ran out: free again.
                task(4, Some("w2"), Some(500)),
                task(5, Some("w3"), Some(1_500)),
            ],
            1_000,
            4,
        );
        assert_eq!((body.waiting, body.started), (2, 2));
        assert!(body.truncated);
        assert_eq!(body.tasks.len(), 4);
        assert_eq!(
            body.workers,
            vec![WorkerBody {
                name: "w1".into(),
                tasks: 2,
                lease_until_ms: 3_000
            }]
        );
        assert_eq!(body.tasks[3].worker, None);
    }
}
