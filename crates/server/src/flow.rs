//! Flow control: `[limits.integrations."<resource or prefix>"]` caps how
//! many tasks of matching resources run at once (`max_concurrent`) and how
//! fast they start (`rate_per_second` with `burst`, a token bucket).
//!
//! Tasks over a limit wait in a durable queue in the store
//! ([`statecraft_runtime::queues`]): their `TaskScheduled` is
//! recorded when they are queued, their `TaskStarted` (and with it their
//! `TimeoutSeconds` and `HeartbeatSeconds`) when a claim starts them (the
//! runtime's machines know the limited resources:
//! [`statecraft_runtime::Runtime::set_started_later`]). The queue is fair
//! across executions: the next free slot goes to the next execution in
//! round-robin order, one task each, so a small execution is not stuck
//! behind a big Map's thousand queued items; `[machines.<name>] priority`
//! serves a machine's tasks before those of lower priorities. The order
//! and the starts are stored, so after a restart (or a takeover by another
//! node) the queued tasks start in the same order and a started task is not
//! started again.
//!
//! `max_concurrent` holds across every node sharing a PostgreSQL database
//! (each claim counts the started tasks under a lock on the queue's row; a
//! dead node's slots count until its execution leases expire).
//! `rate_per_second` is per node: each node has its own token bucket.
//! A node claims only for executions it runs; it claims when a task of its
//! own is queued or ends, and every [`POLL`] while it has tasks waiting (for
//! slots other nodes free).
//!
//! StartSyncExecution's express runs are not stored: their tasks wait in
//! this node's memory, in the same fair order, counted apart from the
//! durable queue.
//!
//! The wrapper sits in front of the integration registry ([`FlowLimits::wrap`]), so
//! it limits integrations that carry a task to its end (HTTP, commands,
//! Lambda, nested executions, `aws-sdk`); activities (which have their own
//! queue, handed out round-robin by GetActivityTask, by machine priority
//! first) are not limited here,
//! and `.waitForTaskToken` tasks hand their work out and return at once.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use statecraft_runtime::queues::{Enqueued, QueueClaim};
use statecraft_runtime::{Runtime, RuntimeHandle};
use statecraft_tasks::{Integration, Integrations, TaskContext, TaskFuture, TaskRequest};
use tokio::sync::oneshot;

/// How often a node with tasks waiting in a durable queue claims again
/// (slots other nodes freed, leases that expired, rate tokens).
pub const POLL: Duration = Duration::from_millis(250);

/// One `[limits.integrations."<key>"]` table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitFile {
    /// At most this many matching tasks run at once.
    pub max_concurrent: Option<u64>,
    /// At most this many matching tasks start per second, on average.
    pub rate_per_second: Option<f64>,
    /// Starts allowed at once before the rate applies (default: 1).
    pub burst: Option<u64>,
}

/// Checks the tables: a 0 or a negative is an error with a sentence.
pub fn limits_of(tables: BTreeMap<String, LimitFile>) -> Result<Vec<Arc<Limit>>, String> {
    let mut out = Vec::new();
    for (key, t) in tables {
        let at = format!("limits.integrations.\"{key}\"");
        if key.is_empty() {
            return Err(format!(
                "{at}: the key must be a resource ARN or its prefix, not empty"
            ));
        }
        if t.max_concurrent.is_none() && t.rate_per_second.is_none() {
            return Err(format!("{at}: set max_concurrent, rate_per_second or both"));
        }
        if t.max_concurrent == Some(0) {
            return Err(format!("{at}.max_concurrent = 0 would never run a task: use 1 or more, or leave it out for no limit"));
        }
        if let Some(r) = t.rate_per_second {
            if !(r.is_finite() && r > 0.0) {
                return Err(format!(
                    "{at}.rate_per_second = {r} would never start a task: use a positive number"
                ));
            }
        }
        if t.burst == Some(0) {
            return Err(format!(
                "{at}.burst = 0 would never start a task: use 1 or more"
            ));
        }
        if t.burst.is_some() && t.rate_per_second.is_none() {
            return Err(format!("{at}.burst needs rate_per_second"));
        }
        out.push(Arc::new(Limit::new(key, &t)));
    }
    // The longest key that matches decides: a resource's own limit beats
    // its prefix's.
    out.sort_by_key(|l| std::cmp::Reverse(l.key.len()));
    Ok(out)
}

struct Waiter {
    grant: oneshot::Sender<Permit>,
}

struct State {
    running: u64,
    /// Waiting tasks per execution, and the executions in turn order per
    /// priority (highest served first).
    queues: HashMap<String, VecDeque<Waiter>>,
    turn: BTreeMap<std::cmp::Reverse<i64>, VecDeque<String>>,
    queued: usize,
    tokens: f64,
    refilled: Instant,
    ticking: bool,
}

/// This node's side of a limit's durable queue.
#[derive(Default)]
struct Durable {
    /// Tasks of this node waiting for a claim to start them.
    waiters: HashMap<(String, u64), oneshot::Sender<()>>,
    /// A claim is under way; `again`: claim once more when it ends.
    pumping: bool,
    again: bool,
    /// A later claim is planned.
    polling: bool,
    /// The store's last figures (all nodes): queued, running.
    stored: (u64, u64),
}

/// One limit and its fair queue.
pub struct Limit {
    pub key: String,
    max_concurrent: Option<u64>,
    rate: Option<(f64, f64)>,
    state: Mutex<State>,
    durable: Mutex<Durable>,
}

/// A running task's slot; given back when dropped.
pub struct Permit {
    limit: Option<Arc<Limit>>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(l) = self.limit.take() {
            let mut s = l.lock();
            s.running = s.running.saturating_sub(1);
            Limit::dispatch(&l, &mut s);
        }
    }
}

impl Limit {
    fn new(key: String, t: &LimitFile) -> Limit {
        let rate = t.rate_per_second.map(|r| (r, t.burst.unwrap_or(1) as f64));
        Limit {
            key,
            max_concurrent: t.max_concurrent,
            rate,
            state: Mutex::new(State {
                running: 0,
                queues: HashMap::new(),
                turn: BTreeMap::new(),
                queued: 0,
                tokens: rate.map_or(0.0, |(_, b)| b),
                refilled: Instant::now(),
                ticking: false,
            }),
            durable: Mutex::new(Durable::default()),
        }
    }

    fn lock_durable(&self) -> std::sync::MutexGuard<'_, Durable> {
        self.durable.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes up to `want` of this node's rate tokens (all of `want` without
    /// a rate).
    fn take_tokens(&self, want: usize) -> u32 {
        let want = u32::try_from(want).unwrap_or(u32::MAX);
        let Some((rate, burst)) = self.rate else {
            return want;
        };
        let mut s = self.lock();
        let now = Instant::now();
        s.tokens = (s.tokens + now.duration_since(s.refilled).as_secs_f64() * rate).min(burst);
        s.refilled = now;
        let n = (s.tokens.floor().max(0.0) as u32).min(want);
        s.tokens -= f64::from(n);
        n
    }

    fn return_tokens(&self, n: u32) {
        if n > 0 && self.rate.is_some() {
            self.lock().tokens += f64::from(n);
        }
    }

    /// Claims free slots for this node's waiting tasks and wakes them; one
    /// claim at a time per limit (a request meanwhile makes it claim once
    /// more). With tasks left waiting, claims again after [`POLL`].
    fn pump(
        self: Arc<Self>,
        runtime: Runtime,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        Box::pin(async move {
            {
                let mut d = self.lock_durable();
                if d.pumping {
                    d.again = true;
                    return;
                }
                d.pumping = true;
            }
            loop {
                let waiting = {
                    let mut d = self.lock_durable();
                    d.again = false;
                    d.waiters.len()
                };
                let mut started = 0;
                if waiting > 0 {
                    let max_starts = self.take_tokens(waiting);
                    if max_starts > 0 {
                        let claim = QueueClaim {
                            queue: self.key.clone(),
                            owner: runtime.node_id().to_string(),
                            now_ms: crate::schedules::now_ms(),
                            max_concurrent: self.max_concurrent,
                            max_starts,
                        };
                        let claimed = match runtime.queues().claim(claim).await {
                            Ok(c) => c,
                            Err(e) => {
                                tracing::warn!(limit = %self.key, error = %e, "claiming flow-limit slots failed; retried shortly");
                                Vec::new()
                            }
                        };
                        self.return_tokens(
                            max_starts.saturating_sub(u32::try_from(claimed.len()).unwrap_or(0)),
                        );
                        started = claimed.len();
                        let mut d = self.lock_durable();
                        for t in claimed {
                            // A task with no waiter here has not been
                            // dispatched again since a restart: it finds its
                            // start when it is.
                            if let Some(tx) = d.waiters.remove(&(t.execution_arn, t.task_id)) {
                                let _ = tx.send(());
                            }
                        }
                    }
                }
                self.refresh(&runtime);
                let mut d = self.lock_durable();
                if d.again || (started > 0 && !d.waiters.is_empty()) {
                    continue;
                }
                d.pumping = false;
                if !d.waiters.is_empty() && !d.polling {
                    d.polling = true;
                    let wait = match self.rate {
                        Some((rate, _)) => {
                            POLL.min(Duration::from_secs_f64((1.0 / rate).clamp(0.001, 60.0)))
                        }
                        None => POLL,
                    };
                    let (l, rt) = (self.clone(), runtime.clone());
                    tokio::spawn(async move {
                        tokio::time::sleep(wait).await;
                        l.lock_durable().polling = false;
                        l.pump(rt).await;
                    });
                }
                return;
            }
        })
    }

    /// Reads the queue's figures (all nodes) from the store for `/metrics`.
    fn refresh(&self, runtime: &Runtime) {
        let now = crate::schedules::now_ms();
        if let Ok(depths) = runtime.queues().depths(now) {
            let found = depths
                .into_iter()
                .find(|d| d.queue == self.key)
                .map_or((0, 0), |d| (d.queued, d.running));
            self.lock_durable().stored = found;
        }
        let s = self.lock();
        self.report(&s);
    }

    /// Waits in the durable queue for a slot for task `task` of `execution`;
    /// `None` when the task is not stored (a StartSyncExecution run) or the
    /// store cannot queue it now: then it waits in memory instead.
    async fn queue(
        self: &Arc<Self>,
        runtime: &Runtime,
        execution: &str,
        task: u64,
        priority: i64,
    ) -> Option<Slot> {
        let key = (execution.to_string(), task);
        let (tx, rx) = oneshot::channel();
        // Registered before the task is queued, so that a claim in between
        // finds it.
        self.lock_durable().waiters.insert(key.clone(), tx);
        let mut slot = Slot {
            limit: self.clone(),
            runtime: runtime.clone(),
            key,
            started: false,
        };
        let now = crate::schedules::now_ms();
        let queued = runtime
            .queues()
            .enqueue(execution, task, &self.key, priority, now)
            .await;
        match queued {
            Ok(Enqueued::Queued) => {
                tokio::spawn(self.clone().pump(runtime.clone()));
                // A dropped sender: the limit was replaced; run.
                let _ = rx.await;
            }
            // Started before a restart or a takeover: no claim needed.
            Ok(Enqueued::Started) => {
                self.lock_durable().waiters.remove(&slot.key);
            }
            Ok(Enqueued::Gone) => return None,
            Err(e) => {
                tracing::warn!(limit = %self.key, execution, error = %e, "the task could not be queued in the store; it waits in memory");
                return None;
            }
        }
        slot.started = true;
        // The engine records TaskStarted (once: a repeat after a restart is
        // ignored) and starts the task's timeouts now.
        let _ = runtime.send_event(
            execution,
            statecraft_engine::Event::TaskStarted {
                task,
                worker_name: None,
            },
        );
        Some(slot)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether `resource` falls under this limit (the key itself or a
    /// prefix of it).
    pub fn matches(&self, resource: &str) -> bool {
        resource.starts_with(&self.key)
    }

    fn can_start(&self, s: &mut State) -> bool {
        if self.max_concurrent.is_some_and(|m| s.running >= m) {
            return false;
        }
        if let Some((rate, burst)) = self.rate {
            let now = Instant::now();
            s.tokens = (s.tokens + now.duration_since(s.refilled).as_secs_f64() * rate).min(burst);
            s.refilled = now;
            if s.tokens < 1.0 {
                return false;
            }
        }
        true
    }

    fn take_slot(&self, s: &mut State) {
        s.running += 1;
        if self.rate.is_some() {
            s.tokens -= 1.0;
        }
    }

    /// Hands free slots to waiting tasks, one execution at a time in turn.
    fn dispatch(this: &Arc<Limit>, s: &mut State) {
        while s.queued > 0 && this.can_start(s) {
            let Some(mut level) = s.turn.first_entry() else {
                break;
            };
            let Some(execution) = level.get_mut().pop_front() else {
                level.remove();
                continue;
            };
            let priority = *level.key();
            if level.get().is_empty() {
                level.remove();
            }
            let Some(queue) = s.queues.get_mut(&execution) else {
                continue;
            };
            let waiter = queue.pop_front();
            if queue.is_empty() {
                s.queues.remove(&execution);
            } else {
                s.turn.entry(priority).or_default().push_back(execution);
            }
            let Some(w) = waiter else { continue };
            s.queued -= 1;
            this.take_slot(s);
            let permit = Permit {
                limit: Some(this.clone()),
            };
            if let Err(mut p) = w.grant.send(permit) {
                // The task was cancelled while it waited: its slot is free
                // again (without re-entering this lock through Drop).
                p.limit = None;
                s.running -= 1;
            }
        }
        this.report(s);
        // With tasks left waiting only for tokens, come back when one is due.
        if s.queued > 0 && !s.ticking && this.rate.is_some() {
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                s.ticking = true;
                let (rate, _) = this.rate.unwrap_or((1.0, 1.0));
                let wait = Duration::from_secs_f64((1.0 / rate).clamp(0.001, 60.0));
                let l = this.clone();
                handle.spawn(async move {
                    tokio::time::sleep(wait).await;
                    let mut s = l.lock();
                    s.ticking = false;
                    Limit::dispatch(&l, &mut s);
                });
            }
        }
    }

    /// Sets the limit's gauges: the durable queue's figures (all nodes)
    /// plus this node's in-memory ones (express runs).
    fn report(&self, s: &State) {
        let (queued, running) = self.lock_durable().stored;
        statecraft_telemetry::metrics::set_flow_limit(
            &self.key,
            i64::try_from(s.queued as u64 + queued).unwrap_or(i64::MAX),
            i64::try_from(s.running + running).unwrap_or(i64::MAX),
        );
    }

    /// Waits for a slot for a task of `execution`, whose state machine has
    /// `priority` (higher first; round-robin within a priority).
    pub async fn acquire(self: &Arc<Self>, execution: &str, priority: i64) -> Permit {
        let rx = {
            let mut s = self.lock();
            if s.queued == 0 && self.can_start(&mut s) {
                self.take_slot(&mut s);
                self.report(&s);
                return Permit {
                    limit: Some(self.clone()),
                };
            }
            let (tx, rx) = oneshot::channel();
            let queue = s.queues.entry(execution.to_owned()).or_default();
            let first = queue.is_empty();
            queue.push_back(Waiter { grant: tx });
            if first {
                s.turn
                    .entry(std::cmp::Reverse(priority))
                    .or_default()
                    .push_back(execution.to_owned());
            }
            s.queued += 1;
            Limit::dispatch(self, &mut s);
            rx
        };
        match rx.await {
            Ok(p) => p,
            // The limit went away (shutdown): run without it.
            Err(_) => Permit { limit: None },
        }
    }

    /// `max_concurrent`, `rate_per_second` and `burst` as configured.
    pub fn settings(&self) -> (Option<u64>, Option<f64>, Option<f64>) {
        (
            self.max_concurrent,
            self.rate.map(|(r, _)| r),
            self.rate.map(|(_, b)| b),
        )
    }

    /// Tasks waiting and running now.
    pub fn counts(&self) -> (usize, u64) {
        let s = self.lock();
        (s.queued, s.running)
    }
}

/// A started task's slot in a durable queue: when it is dropped (the task
/// ended, or was cancelled) the task leaves the queue and this node claims
/// again. Dropped while still waiting, it just stops waiting.
struct Slot {
    limit: Arc<Limit>,
    runtime: Runtime,
    key: (String, u64),
    started: bool,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.limit.lock_durable().waiters.remove(&self.key);
        if !self.started {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (limit, runtime) = (self.limit.clone(), self.runtime.clone());
        let (execution, task) = self.key.clone();
        handle.spawn(async move {
            // If this fails the slot is freed when the task's row goes
            // (its outcome's transition).
            let _ = runtime.queues().release(&execution, task).await;
            limit.pump(runtime).await;
        });
    }
}

/// The limits in force, shared by the server (which sets them) and the
/// integration wrapper (which applies them); none by default. The third
/// part is the runtime whose store holds the durable queues: the handle
/// the server gives the runtime's options, filled as the runtime is
/// constructed (until then, and for runs that are not stored, tasks wait
/// in memory).
#[derive(Clone, Default)]
pub struct FlowLimits(
    Arc<std::sync::RwLock<Vec<Arc<Limit>>>>,
    Arc<std::sync::RwLock<HashMap<String, i64>>>,
    RuntimeHandle,
);

impl FlowLimits {
    /// Puts `limits` in force for the tasks invoked from now on.
    pub fn set(&self, limits: Vec<Arc<Limit>>) {
        let keys: Vec<String> = limits.iter().map(|l| l.key.clone()).collect();
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = limits;
        if let Some(runtime) = self.2.get() {
            runtime.set_started_later(keys);
        }
    }

    /// The handle of the runtime whose store queues the limited tasks:
    /// pass it as the runtime's `Options::handle`.
    pub fn runtime_handle(&self) -> &RuntimeHandle {
        &self.2
    }

    /// Reads every limit's figures from the store into `/metrics` (the
    /// queues of other nodes included).
    pub fn refresh_metrics(&self) {
        if let Some(runtime) = self.2.get() {
            for l in self.get() {
                l.refresh(&runtime);
            }
        }
    }

    /// Sets the state machines' priorities (by name; others have 0).
    pub fn set_priorities(&self, priorities: HashMap<String, i64>) {
        *self.1.write().unwrap_or_else(|p| p.into_inner()) = priorities;
    }

    /// The priority of an execution's state machine.
    fn priority_of(&self, execution_arn: &str) -> i64 {
        // arn:aws:states:region:account:execution:<machine>:<name>
        let machine = execution_arn.split(':').nth(6).unwrap_or("");
        self.1
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(machine)
            .copied()
            .unwrap_or(0)
    }

    /// The limits in force.
    pub fn get(&self) -> Vec<Arc<Limit>> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn find(&self, resource: &str) -> Option<Arc<Limit>> {
        self.0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .find(|l| l.matches(resource))
            .cloned()
    }

    /// `inner` with these limits in front.
    pub fn wrap(&self, inner: Integrations) -> Integrations {
        let mut out = Integrations::new();
        out.register(Arc::new(Limited {
            inner,
            limits: self.clone(),
        }));
        out
    }
}

/// One queue on the console's Activities page.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueBody {
    /// The limit's key: a resource ARN or a prefix of one.
    pub resource: String,
    pub max_concurrent: Option<u64>,
    pub rate_per_second: Option<f64>,
    pub burst: Option<f64>,
    /// Tasks started and not finished (all nodes).
    pub running: u64,
    /// Tasks waiting (all nodes).
    pub queued: u64,
    /// When the longest-waiting task was queued (ms since the epoch).
    pub oldest_queued_ms: Option<i64>,
}

/// `GET /console/api/queues`: every limit in force with its queue (the
/// store's figures, all nodes), and queues left in the store by limits no
/// longer configured.
pub(crate) async fn queues_route(
    axum::extract::State(service): axum::extract::State<Arc<crate::service::Service>>,
    flow: Option<axum::Extension<FlowLimits>>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let queues = service.runtime.queues();
    let now = crate::schedules::now_ms();
    let depths = match tokio::task::spawn_blocking(move || queues.depths(now)).await {
        Ok(Ok(d)) => d,
        Ok(Err(e)) => {
            return (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                format!("the store cannot list the queues: {e}"),
            )
                .into_response()
        }
        Err(e) => {
            return (axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response()
        }
    };
    let limits = flow.map(|axum::Extension(f)| f.get()).unwrap_or_default();
    let mut out: Vec<QueueBody> = limits
        .iter()
        .map(|l| {
            let (max_concurrent, rate_per_second, burst) = l.settings();
            let d = depths.iter().find(|d| d.queue == l.key);
            let (mem_queued, mem_running) = l.counts();
            QueueBody {
                resource: l.key.clone(),
                max_concurrent,
                rate_per_second,
                burst,
                running: d.map_or(0, |d| d.running) + mem_running,
                queued: d.map_or(0, |d| d.queued) + mem_queued as u64,
                oldest_queued_ms: d.and_then(|d| d.oldest_queued_ms),
            }
        })
        .collect();
    for d in &depths {
        if !out.iter().any(|q| q.resource == d.queue) {
            out.push(QueueBody {
                resource: d.queue.clone(),
                max_concurrent: None,
                rate_per_second: None,
                burst: None,
                running: d.running,
                queued: d.queued,
                oldest_queued_ms: d.oldest_queued_ms,
            });
        }
    }
    out.sort_by(|a, b| a.resource.cmp(&b.resource));
    axum::Json(serde_json::json!({ "queues": out, "nowMs": now })).into_response()
}

/// The integrations behind the limits.
struct Limited {
    inner: Integrations,
    limits: FlowLimits,
}

impl Integration for Limited {
    fn handles(&self, resource: &str) -> bool {
        self.inner.find(resource).is_some()
    }

    fn invoke(&self, context: TaskContext, request: TaskRequest) -> TaskFuture {
        // Activities have their own queue (GetActivityTask's, fair too);
        // their machine's priority orders it, written before the task's
        // workers are woken.
        if statecraft_tasks::is_activity(&request.resource) {
            let priority = self.limits.priority_of(&context.execution_arn);
            let runtime = self.limits.2.get();
            let Some(runtime) = runtime.filter(|_| priority != 0) else {
                return self.inner.invoke(context, request);
            };
            let inner = self.inner.clone();
            return Box::pin(async move {
                // Without it the task is handed out at priority 0.
                let _ = runtime
                    .queues()
                    .set_task_priority(&context.execution_arn, request.task, priority)
                    .await;
                inner.invoke(context, request).await
            });
        }
        let Some(limit) = self.limits.find(&request.resource) else {
            return self.inner.invoke(context, request);
        };
        let inner = self.inner.clone();
        let priority = self.limits.priority_of(&context.execution_arn);
        let runtime = self.limits.2.get();
        Box::pin(async move {
            if let Some(runtime) = runtime {
                let slot = limit
                    .queue(&runtime, &context.execution_arn, request.task, priority)
                    .await;
                if let Some(slot) = slot {
                    let outcome = inner.invoke(context, request).await;
                    drop(slot);
                    return outcome;
                }
            }
            let _permit = limit.acquire(&context.execution_arn, priority).await;
            inner.invoke(context, request).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(max: Option<u64>, rate: Option<f64>) -> Arc<Limit> {
        Arc::new(Limit::new(
            "arn:statecraft:command:".into(),
            &LimitFile {
                max_concurrent: max,
                rate_per_second: rate,
                burst: None,
            },
        ))
    }

    #[test]
    fn zero_and_nonsense_are_config_errors() {
        let cases = [
            (
                "max_concurrent = 0",
                "max_concurrent = 0 would never run a task",
            ),
            (
                "rate_per_second = 0.0",
                "rate_per_second = 0 would never start",
            ),
            ("rate_per_second = 1.0\nburst = 0", "burst = 0"),
            ("burst = 3", "set max_concurrent, rate_per_second or both"),
            (
                "max_concurrent = 1\nburst = 3",
                "burst needs rate_per_second",
            ),
        ];
        for (body, want) in cases {
            let text = format!("[\"arn:statecraft:command:ffmpeg\"]\n{body}\n");
            let tables: BTreeMap<String, LimitFile> = toml::from_str(&text).expect(body);
            let err = limits_of(tables).err().unwrap_or_default();
            assert!(err.contains(want), "{body}: {err}");
            assert!(
                err.contains("limits.integrations.\"arn:statecraft:command:ffmpeg\""),
                "{err}"
            );
        }
        let tables: BTreeMap<String, LimitFile> = toml::from_str(
            "[\"arn:statecraft:command:\"]\nmax_concurrent = 4\n[\"arn:statecraft:command:ffmpeg\"]\nmax_concurrent = 2\n",
        )
        .expect("tables");
        let limits = limits_of(tables).expect("valid");
        // The longest matching key decides.
        let first = limits
            .iter()
            .find(|l| l.matches("arn:statecraft:command:ffmpeg"))
            .expect("a match");
        assert_eq!(first.key, "arn:statecraft:command:ffmpeg");
    }

    /// A big execution with many queued tasks and a small one that queues
    /// later: slots alternate between them.
    #[tokio::test]
    async fn slots_go_round_robin_across_executions() {
        let l = limit(Some(1), None);
        let held = l.acquire("big", 0).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for i in 0..5 {
            let (l, order) = (l.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let _p = l.acquire("big", 0).await;
                order.lock().unwrap().push(format!("big{i}"));
            }));
            tokio::task::yield_now().await;
        }
        for i in 0..2 {
            let (l, order) = (l.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let _p = l.acquire("small", 0).await;
                order.lock().unwrap().push(format!("small{i}"));
            }));
            tokio::task::yield_now().await;
        }
        while l.counts().0 < 7 {
            tokio::task::yield_now().await;
        }
        drop(held);
        for t in tasks {
            t.await.expect("task");
        }
        let order = order.lock().unwrap().clone();
        assert_eq!(
            order,
            ["big0", "small0", "big1", "small1", "big2", "big3", "big4"]
        );
        assert_eq!(l.counts(), (0, 0));
    }

    /// A higher priority is served first, whatever the arrival order.
    #[tokio::test]
    async fn a_higher_priority_goes_first() {
        let l = limit(Some(1), None);
        let held = l.acquire("first", 0).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (name, priority) in [("low", 0), ("low2", 0), ("urgent", 10), ("lower", -5)] {
            let (lim, order) = (l.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let _p = lim.acquire(name, priority).await;
                order.lock().unwrap().push(name);
            }));
            while l.counts().0 < tasks.len() {
                tokio::task::yield_now().await;
            }
        }
        drop(held);
        for t in tasks {
            t.await.expect("task");
        }
        assert_eq!(*order.lock().unwrap(), ["urgent", "low", "low2", "lower"]);
    }

    #[tokio::test]
    async fn a_cancelled_waiter_gives_its_slot_back() {
        let l = limit(Some(1), None);
        let held = l.acquire("a", 0).await;
        let waiting = {
            let l = l.clone();
            tokio::spawn(async move {
                let _p = l.acquire("b", 0).await;
            })
        };
        while l.counts().0 < 1 {
            tokio::task::yield_now().await;
        }
        waiting.abort();
        let _ = waiting.await;
        drop(held);
        assert_eq!(l.counts(), (0, 0));
        // The slot is free: this does not wait.
        let _p = l.acquire("c", 0).await;
        assert_eq!(l.counts(), (0, 1));
    }

    #[tokio::test]
    async fn the_rate_spaces_starts() {
        let l = limit(None, Some(20.0));
        let start = Instant::now();
        for _ in 0..5 {
            drop(l.acquire("a", 0).await);
        }
        // A burst of 1, then one start per 50 ms: at least 4 × 50 ms.
        assert!(
            start.elapsed() >= Duration::from_millis(190),
            "{:?}",
            start.elapsed()
        );
    }
}
