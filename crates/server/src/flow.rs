//! Flow control: `[limits.integrations."<resource or prefix>"]` caps how
//! many tasks of matching resources run at once (`max_concurrent`) and how
//! fast they start (`rate_per_second` with `burst`, a token bucket).
//!
//! Tasks over a limit wait in a queue that is fair across executions: the
//! next free slot goes to the next execution in round-robin order, one task
//! each, so a small execution is not stuck behind a big Map's thousand
//! queued items; `[machines.<name>] priority` serves a machine's tasks
//! before those of lower priorities. The queue lives in memory; it is durable in the sense that
//! a waiting task is an open task in its execution's history, which the
//! runtime invokes again after a restart, when it queues again.
//!
//! The wrapper sits in front of the integration registry ([`FlowLimits::wrap`]), so
//! it limits integrations that carry a task to its end (HTTP, commands,
//! Lambda, nested executions, `aws-sdk`); activities and
//! `.waitForTaskToken` tasks hand their work out and return at once.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use statecraft_engine::TaskRequest;
use statecraft_runtime::integration::{Integration, Integrations, TaskContext, TaskFuture};
use tokio::sync::oneshot;

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

/// One limit and its fair queue.
pub struct Limit {
    pub key: String,
    max_concurrent: Option<u64>,
    rate: Option<(f64, f64)>,
    state: Mutex<State>,
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
        }
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

    fn report(&self, s: &State) {
        statecraft_telemetry::metrics::set_flow_limit(
            &self.key,
            i64::try_from(s.queued).unwrap_or(i64::MAX),
            i64::try_from(s.running).unwrap_or(i64::MAX),
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

    /// Tasks waiting and running now.
    pub fn counts(&self) -> (usize, u64) {
        let s = self.lock();
        (s.queued, s.running)
    }
}

/// The limits in force, shared by the server (which sets them) and the
/// integration wrapper (which applies them); none by default.
#[derive(Clone, Default)]
pub struct FlowLimits(
    Arc<std::sync::RwLock<Vec<Arc<Limit>>>>,
    Arc<std::sync::RwLock<HashMap<String, i64>>>,
);

impl FlowLimits {
    /// Puts `limits` in force for the tasks invoked from now on.
    pub fn set(&self, limits: Vec<Arc<Limit>>) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = limits;
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
        let Some(limit) = self.limits.find(&request.resource) else {
            return self.inner.invoke(context, request);
        };
        let inner = self.inner.clone();
        let priority = self.limits.priority_of(&context.execution_arn);
        Box::pin(async move {
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
