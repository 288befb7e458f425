//! Activity tasks: the integration whose tasks wait for a worker to take
//! them with GetActivityTask and answer them by token. (`.waitForTaskToken`
//! tasks of resources nothing else integrates with are
//! [`statecraft_tasks::WaitForToken`], behind the same interface.)
//!
//! Both answer [`TaskOutcome::Deferred`]: the task stays
//! pending in the store (queued with its token by the step that scheduled
//! it) until SendTaskSuccess/Failure with the token, or the engine's own
//! `TimeoutSeconds`/`HeartbeatSeconds` timers, end it. Nothing about these
//! tasks lives only in memory, so they survive restarts.
//!
//! [`ActivityTasks`] also wakes long polls: a GetActivityTask waiting on an
//! activity is woken the moment a task for it is dispatched (a [`Notify`]
//! per activity ARN), so a worker gets its task without polling delay.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use statecraft_store::Store;
use statecraft_tasks::{Integration, TaskContext, TaskFuture, TaskOutcome, TaskRequest};
use statecraft_types::Failure;
use tokio::sync::Notify;

use crate::RuntimeHandle;

pub use statecraft_tasks::{is_activity, WaitForToken, WAIT_FOR_TASK_TOKEN};

/// The most GetActivityTask polls one activity may have open at once
/// (AWS's quota); more are refused with `ActivityWorkerLimitExceeded`.
pub const MAX_POLLS_PER_ACTIVITY: usize = 1000;

/// How often waiting GetActivityTask polls look for tasks that other nodes
/// (sharing the database) dispatched.
pub const SLOW_POLL: std::time::Duration = std::time::Duration::from_secs(1);

/// Activity tasks: dispatched tasks wait in the store for a worker; this
/// only wakes the workers waiting on that activity. Share one instance
/// between the runtime's registry and the API's GetActivityTask.
#[derive(Default)]
pub struct ActivityTasks {
    waiting: Arc<Mutex<HashMap<String, Arc<Notify>>>>,
    /// The runtime whose store holds the activities and their tasks
    /// (`None`: every activity is taken to exist, and only this node's
    /// dispatches wake polls).
    runtime: Option<RuntimeHandle>,
    /// Set at shutdown: long polls answer at once instead of holding the
    /// server's graceful shutdown for up to a minute.
    closed: std::sync::atomic::AtomicBool,
    /// Open polls per activity, bounded by [`MAX_POLLS_PER_ACTIVITY`].
    polls: Arc<Mutex<HashMap<String, Vec<Poller>>>>,
    /// Numbers the polls, so each removes exactly its own entry.
    next_poll: std::sync::atomic::AtomicU64,
}

/// A worker waiting in GetActivityTask now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Poller {
    id: u64,
    /// The `workerName` it gave, if any.
    pub worker_name: Option<String>,
    /// When it started waiting (ms since the epoch).
    pub since_ms: i64,
}

/// One open poll of an activity; dropping it (the poll ended, or its
/// request was cancelled) frees its place.
pub struct Poll {
    polls: Arc<Mutex<HashMap<String, Vec<Poller>>>>,
    activity_arn: String,
    id: u64,
}

impl Drop for Poll {
    fn drop(&mut self) {
        let mut polls = match self.polls.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(list) = polls.get_mut(&self.activity_arn) {
            list.retain(|p| p.id != self.id);
            if list.is_empty() {
                polls.remove(&self.activity_arn);
            }
        }
    }
}

impl std::fmt::Debug for ActivityTasks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActivityTasks").finish_non_exhaustive()
    }
}

impl ActivityTasks {
    /// Activity tasks of no runtime: every activity is taken to exist.
    pub fn new() -> Self {
        Self::default()
    }

    /// Activity tasks of the runtime `runtime` is filled with: a task of an
    /// activity missing from its store fails, and once the runtime is open
    /// the polls of tasks other nodes queued are woken (see
    /// `watch_store`). Call inside a tokio runtime.
    pub fn of(runtime: RuntimeHandle) -> Self {
        let tasks = ActivityTasks {
            runtime: Some(runtime.clone()),
            ..Self::default()
        };
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let waiting = Arc::downgrade(&tasks.waiting);
            let polls = Arc::downgrade(&tasks.polls);
            handle.spawn(async move {
                // Only the store is kept: holding the runtime would keep
                // it alive.
                let Some(store) = runtime.wait().await.map(|rt| rt.shared_store().clone()) else {
                    return;
                };
                watch_store(store, waiting, polls);
            });
        }
        tasks
    }

    /// The notifier of one activity. A poller takes it, registers interest
    /// (`Notify::notified` + `enable`) and only then looks in the store, so
    /// a task dispatched in between is not missed.
    pub fn notifier(&self, activity_arn: &str) -> Arc<Notify> {
        let mut waiting = match self.waiting.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        waiting
            .entry(activity_arn.to_string())
            .or_insert_with(|| Arc::new(Notify::new()))
            .clone()
    }

    /// Wakes every poller of `activity_arn`; they race to claim the task in
    /// the store, which hands it to exactly one.
    pub fn wake(&self, activity_arn: &str) {
        self.notifier(activity_arn).notify_waiters();
    }

    /// Registers a poll of `activity_arn`; `None` if the activity has
    /// [`MAX_POLLS_PER_ACTIVITY`] open already.
    pub fn begin_poll(&self, activity_arn: &str) -> Option<Poll> {
        self.begin_poll_by(activity_arn, None, crate::host::now_ms())
    }

    /// Registers a poll by a named worker, so operators can see who waits.
    pub fn begin_poll_by(
        &self,
        activity_arn: &str,
        worker_name: Option<&str>,
        now_ms: i64,
    ) -> Option<Poll> {
        let mut polls = match self.polls.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let list = polls.entry(activity_arn.to_string()).or_default();
        if list.len() >= MAX_POLLS_PER_ACTIVITY {
            return None;
        }
        let id = self
            .next_poll
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        list.push(Poller {
            id,
            worker_name: worker_name.map(str::to_string),
            since_ms: now_ms,
        });
        Some(Poll {
            polls: Arc::clone(&self.polls),
            activity_arn: activity_arn.to_string(),
            id,
        })
    }

    /// The workers waiting in GetActivityTask on `activity_arn` now, oldest first.
    pub fn pollers(&self, activity_arn: &str) -> Vec<Poller> {
        let polls = match self.polls.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        polls.get(activity_arn).cloned().unwrap_or_default()
    }

    /// Ends every long poll now and every later one at once (shutdown).
    pub fn close(&self) {
        self.closed
            .store(true, std::sync::atomic::Ordering::Release);
        let waiting = match self.waiting.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        for notify in waiting.values() {
            notify.notify_waiters();
        }
    }

    /// Whether [`ActivityTasks::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.closed.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Forgets an activity's notifier (DeleteActivity). Pollers holding it
    /// time out as usual.
    pub fn forget(&self, activity_arn: &str) {
        let mut waiting = match self.waiting.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        waiting.remove(activity_arn);
    }
}

/// Serves tasks other nodes queued, for [`ActivityTasks::of`]: every
/// [`SLOW_POLL`], the polls of each activity that has a free task in the
/// store are woken to claim it (a node sharing the database with others is
/// not told when they dispatch), and at once when the store announces one
/// (PostgreSQL's NOTIFY).
#[allow(clippy::type_complexity)]
fn watch_store(
    store: Arc<dyn Store>,
    waiting: std::sync::Weak<Mutex<HashMap<String, Arc<Notify>>>>,
    polls: std::sync::Weak<Mutex<HashMap<String, Vec<Poller>>>>,
) {
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        return;
    };
    // The fast path: another node queued a task (PostgreSQL NOTIFY).
    if let Some(mut wakeups) = store.subscribe_wakeups() {
        let waiting = waiting.clone();
        handle.spawn(async move {
            loop {
                let wakeup = match wakeups.recv().await {
                    Ok(w) => w,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                };
                let Some(waiting) = waiting.upgrade() else {
                    return;
                };
                if let statecraft_store::Wakeup::Task { resource } = wakeup {
                    let notify = match waiting.lock() {
                        Ok(g) => g.get(&resource).cloned(),
                        Err(poisoned) => poisoned.into_inner().get(&resource).cloned(),
                    };
                    if let Some(n) = notify {
                        n.notify_waiters();
                    }
                }
            }
        });
    }
    handle.spawn(async move {
        loop {
            tokio::time::sleep(SLOW_POLL).await;
            let (Some(waiting), Some(polls)) = (waiting.upgrade(), polls.upgrade()) else {
                return;
            };
            let polled: Vec<String> = match polls.lock() {
                Ok(g) => g.keys().cloned().collect(),
                Err(poisoned) => poisoned.into_inner().keys().cloned().collect(),
            };
            let now = crate::host::now_ms();
            for arn in polled {
                let free = store.resource_tasks(&arn, 1000).is_ok_and(|tasks| {
                    tasks.iter().any(|(_, t)| {
                        t.lease_owner.is_none() || t.lease_expires_ms.is_some_and(|e| e < now)
                    })
                });
                if !free {
                    continue;
                }
                let notify = match waiting.lock() {
                    Ok(g) => g.get(&arn).cloned(),
                    Err(poisoned) => poisoned.into_inner().get(&arn).cloned(),
                };
                if let Some(n) = notify {
                    n.notify_waiters();
                }
            }
        }
    });
}

impl Integration for ActivityTasks {
    fn handles(&self, resource: &str) -> bool {
        is_activity(resource)
    }

    fn invoke(&self, _: TaskContext, request: TaskRequest) -> TaskFuture {
        // As on AWS, a task of an activity that does not exist fails the
        // execution (States.Runtime cannot be retried or caught) rather
        // than waiting for a worker that can never come. A store error is
        // not proof of absence: the task then waits as usual.
        if let Some(runtime) = self.runtime.as_ref().and_then(RuntimeHandle::get) {
            if let Ok(None) = runtime.shared_store().get_activity(&request.resource) {
                let failure = Failure::new(
                    statecraft_types::errors::RUNTIME,
                    format!(
                        "An error occurred while executing the state '{}'. The activity {} does not exist.",
                        request.state_name, request.resource
                    ),
                );
                return Box::pin(async move { TaskOutcome::Failed(failure) });
            }
        }
        // The task is in the store already (committed with its step).
        self.wake(&request.resource);
        Box::pin(async { TaskOutcome::Deferred })
    }
}

/// A task a worker took with GetActivityTask: its token and its input
/// (the task's parameters as JSON text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TakenTask {
    pub token: String,
    pub input: String,
}

impl crate::Runtime {
    /// GetActivityTask's claim: takes the next free task of `activity_arn`
    /// for `owner` (held `lease_ms`; the store hands each task to exactly
    /// one worker) and records its `TaskStarted` with `worker` as the
    /// worker's name, on whichever node runs the execution (through the
    /// store's inbox when it is another). A task whose execution ended
    /// meanwhile is skipped. `None` when no task is free.
    pub async fn take_activity_task(
        &self,
        activity_arn: &str,
        owner: &str,
        worker: Option<&str>,
        lease_ms: i64,
    ) -> crate::Result<Option<TakenTask>> {
        loop {
            let claimed = self
                .shared_store()
                .claim_task(activity_arn, owner, crate::host::now_ms(), lease_ms)
                .await?;
            let Some((execution_arn, task)) = claimed else {
                return Ok(None);
            };
            let unreadable = |why: String| {
                crate::Error::Store(statecraft_store::Error::Backend(format!(
                    "the stored task {} of {execution_arn} is unreadable: {why}",
                    task.task_id
                )))
            };
            let request: TaskRequest =
                serde_json::from_str(&task.request).map_err(|e| unreadable(e.to_string()))?;
            let Some(token) = task.token.clone() else {
                return Err(unreadable("an activity task without a token".into()));
            };
            let input = serde_json::to_string(&request.parameters)
                .map_err(|e| unreadable(e.to_string()))?;
            let started = match self.send_event(
                &execution_arn,
                statecraft_engine::Event::TaskStarted {
                    task: task.task_id,
                    worker_name: worker.map(str::to_string),
                },
            ) {
                Err(crate::Error::ExecutionDoesNotExist(_)) => false,
                other => other?,
            };
            if started {
                return Ok(Some(TakenTask { token, input }));
            }
            // The execution ended meanwhile (its tasks go with it): next.
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_dispatch_wakes_the_registered_pollers() {
        let tasks = Arc::new(ActivityTasks::new());
        let arn = "arn:aws:states:us-east-1:1:activity:a";
        let notify = tasks.notifier(arn);
        let notified = notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let outcome = tasks
            .invoke(
                TaskContext {
                    execution_arn: "e".into(),
                },
                TaskRequest {
                    task: 1,
                    state_name: "T".into(),
                    resource: arn.into(),
                    parameters: serde_json::json!({}),
                    task_token: Some("t".into()),
                    timeout_seconds: None,
                    heartbeat_seconds: None,
                },
            )
            .await;
        assert_eq!(outcome, TaskOutcome::Deferred);
        tokio::time::timeout(std::time::Duration::from_secs(1), notified)
            .await
            .expect("woken");
    }

    #[test]
    fn polls_per_activity_are_bounded_and_freed() {
        let tasks = ActivityTasks::new();
        let polls: Vec<Poll> = (0..MAX_POLLS_PER_ACTIVITY)
            .map(|_| tasks.begin_poll("a").expect("under the limit"))
            .collect();
        assert!(tasks.begin_poll("a").is_none());
        assert!(tasks.begin_poll("b").is_some(), "per activity");
        drop(polls);
        assert!(tasks.begin_poll("a").is_some());
    }
}

#[cfg(test)]
mod poller_tests {
    use super::*;

    #[test]
    fn open_polls_are_listed_until_they_end() {
        let tasks = ActivityTasks::new();
        let a = tasks.begin_poll_by("arn:a", Some("w1"), 10).expect("room");
        let b = tasks.begin_poll_by("arn:a", None, 20).expect("room");
        let listed = tasks.pollers("arn:a");
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].worker_name.as_deref(), Some("w1"));
        assert_eq!(listed[1].since_ms, 20);
        drop(a);
        let listed = tasks.pollers("arn:a");
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].worker_name, None);
        drop(b);
        assert!(tasks.pollers("arn:a").is_empty());
    }
}
