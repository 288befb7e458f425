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
//!   tasks ([`ActivityTasksBody`]): waiting for a worker, or started by one.
//!
//! The streams wake on the store's commit notices
//! ([`statecraft_store::commits`]): a transition committed on this node is
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
use statecraft_store::{Committed, Overview, OverviewQuery, Store};
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
    Store(statecraft_store::Error),
    #[error("the query was interrupted")]
    Interrupted,
}

impl From<statecraft_store::Error> for Error {
    fn from(e: statecraft_store::Error) -> Self {
        match e {
            statecraft_store::Error::NotFound { id, .. } => Error::NotFound(id),
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

type Shared = Arc<dyn Store>;

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
pub fn router<S: Clone + Send + Sync + 'static>(
    store: Arc<dyn Store>,
    streams: Streams,
) -> Router<S> {
    router_with_pollers(store, streams, Arc::new(NoPollers))
}

/// [`router`], with the open activity polls shown on the Activities page.
pub fn router_with_pollers<S: Clone + Send + Sync + 'static>(
    store: Arc<dyn Store>,
    streams: Streams,
    pollers: Arc<dyn Pollers>,
) -> Router<S> {
    Router::new()
        .route("/console/api/overview", get(overview))
        .route("/console/api/overview/stream", get(overview_stream))
        .route("/console/api/executions/{arn}/events", get(history_stream))
        .route("/console/api/activity-tasks", get(activity_tasks))
        .with_state(Ctx {
            store,
            streams,
            pollers,
        })
}

/// Runs a blocking store read off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, statecraft_store::Error> + Send + 'static,
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

impl From<statecraft_store::StatusCounts> for Counts {
    fn from(c: statecraft_store::StatusCounts) -> Self {
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
    store: Arc<dyn Store>,
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
            let batch = match blocking(move || s.history_after(&a, after, HISTORY_BATCH)).await {
                Ok(b) => b,
                Err(_) => return None,
            };
            let full = u32::try_from(batch.len()).unwrap_or(u32::MAX) >= HISTORY_BATCH;
            for event in batch {
                c.after = c.after.max(event.id);
                let sse = Event::default()
                    .event("history")
                    .id(event.id.to_string())
                    .json_data(event.to_wire());
                if let Ok(sse) = sse {
                    c.buffered.push_back(sse);
                }
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
    pub lease_expires_ms: Option<i64>,
}

/// Sorts `tasks` into waiting and started ones as of `now_ms`.
pub fn activity_tasks_body(
    tasks: Vec<(String, statecraft_store::PendingTask)>,
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
        listed.push(ActivityTaskBody {
            execution_arn,
            task_id: t.task_id,
            worker: held.as_ref().map(|(o, _)| o.clone()),
            lease_expires_ms: held.map(|(_, u)| u),
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
    let tasks = blocking(move || store.resource_tasks(&arn, MAX_ACTIVITY_TASKS + 1)).await?;
    let limit = usize::try_from(MAX_ACTIVITY_TASKS).unwrap_or(usize::MAX);
    let mut body = activity_tasks_body(tasks, now_ms(), limit);
    body.polling = polling;
    Ok(Json(body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use statecraft_store::PendingTask;

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
