//! StartSyncExecution: an EXPRESS execution run to its end in memory.
//!
//! Nothing touches the store except reading the machine (served by the read
//! pool, and the prepared machine is cached by revision), because AWS keeps
//! no history or record of a synchronous express execution. Waits really
//! wait; tasks go through the same integrations as durable executions.
//! Engine calls run on the blocking pool with the same step budget and
//! history limit as durable executions (the history is kept in memory here,
//! so it is bounded the same way).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use statecraft_engine::{Command, Event, ExecutionContext, Status, Step};
use statecraft_store::MachineType;
use statecraft_types::HistoryEvent;
use tokio::task::{AbortHandle, JoinSet};

use crate::error::{Error, Result};
use crate::host::now_ms;
use crate::integration::{TaskContext, TaskOutcome};
use crate::{arn, Inner, StartExecution};

/// How a synchronous execution ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncStatus {
    Succeeded,
    Failed,
    TimedOut,
}

impl SyncStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SyncStatus::Succeeded => "SUCCEEDED",
            SyncStatus::Failed => "FAILED",
            SyncStatus::TimedOut => "TIMED_OUT",
        }
    }
}

/// StartSyncExecution's response, plus the history for callers that want it.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncExecution {
    pub execution_arn: String,
    pub state_machine_arn: String,
    pub name: String,
    pub start_date_ms: i64,
    pub stop_date_ms: i64,
    pub status: SyncStatus,
    pub input: String,
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub trace_header: Option<String>,
    /// `billingDetails.billedDurationInMilliseconds`: run time rounded up to
    /// 100 ms, as AWS bills express executions.
    pub billed_duration_ms: u64,
    /// `billingDetails.billedMemoryUsedInMB`: AWS bills in 64 MB steps.
    pub billed_memory_mb: u64,
    pub events: Vec<HistoryEvent>,
}

pub(crate) async fn run(inner: &Arc<Inner>, request: StartExecution) -> Result<SyncExecution> {
    let resolved = inner.resolve(&request.target_arn)?;
    if resolved.machine.machine_type != MachineType::Express {
        return Err(Error::StateMachineTypeNotSupported(
            "This operation is not supported by this type of state machine".into(),
        ));
    }
    let input_text = request.input.clone().unwrap_or_else(|| "{}".into());
    let input: Value = serde_json::from_str(&input_text)
        .map_err(|e| Error::InvalidExecutionInput(e.to_string()))?;
    let name = request
        .name
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let base = arn::execution_arn(&resolved.machine.arn, "express", &name)
        .ok_or_else(|| Error::InvalidArn(resolved.machine.arn.clone()))?;
    let execution_arn = format!("{base}:{}", uuid::Uuid::new_v4());
    let machine = inner.machines.get_inline(&resolved.revision)?;
    let start = now_ms();
    let started = std::time::Instant::now();
    let context = ExecutionContext {
        execution_arn: execution_arn.clone(),
        execution_name: name.clone(),
        state_machine_arn: resolved.machine.arn.clone(),
        state_machine_name: resolved.machine.name.clone(),
        role_arn: resolved.revision.role_arn.clone(),
        start_time_ms: start,
        redrive_count: 0,
    };
    let (execution, events) = run_machine(inner, &machine, context, input, true).await;

    let stop = now_ms();
    let elapsed = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let (status, error, cause) = match (execution.status, &execution.failure) {
        (Status::Succeeded, _) => (SyncStatus::Succeeded, None, None),
        (Status::TimedOut, f) => (
            SyncStatus::TimedOut,
            f.as_ref().map(|f| f.error.clone()),
            f.as_ref().map(|f| f.cause.clone()),
        ),
        (Status::Running, _) => (
            SyncStatus::Failed,
            Some(statecraft_types::errors::RUNTIME.to_string()),
            Some("The execution waits for a task token, which synchronous express executions do not support".to_string()),
        ),
        (_, f) => (
            SyncStatus::Failed,
            f.as_ref().map(|f| f.error.clone()),
            f.as_ref().map(|f| f.cause.clone()),
        ),
    };
    Ok(SyncExecution {
        execution_arn,
        state_machine_arn: resolved.machine.arn,
        name,
        start_date_ms: start,
        stop_date_ms: stop,
        status,
        input: input_text,
        output: execution.output.as_ref().map(ToString::to_string),
        error,
        cause,
        trace_header: request.trace_header,
        billed_duration_ms: elapsed.div_ceil(100).max(1) * 100,
        billed_memory_mb: 64,
        events,
    })
}

/// Runs an execution of `machine` to its end in memory (or until it waits
/// for something no in-memory run can get, a task token): its final state
/// and its history (none when `history` is false). How a synchronous
/// express execution and an EXPRESS map-run child (no history) run.
pub(crate) async fn run_machine(
    inner: &Arc<Inner>,
    machine: &Arc<statecraft_engine::Machine>,
    context: ExecutionContext,
    input: Value,
    history: bool,
) -> (statecraft_engine::Execution, Vec<HistoryEvent>) {
    let start = context.start_time_ms;
    let execution_arn = context.execution_arn.clone();
    let machine = Arc::clone(machine);
    let (mut execution, step) = {
        let machine = Arc::clone(&machine);
        let host = inner.host;
        crate::actor::engine_call(move || {
            let options = statecraft_engine::StartOptions {
                input_text: None,
                history,
            };
            statecraft_engine::Execution::start_with(
                &machine, context, input, options, start, &host,
            )
        })
        .await
    };

    let mut driver = Driver::default();
    let mut events = Vec::new();
    let mut more = step.yielded;
    driver.absorb(inner, &machine, &execution_arn, step, &mut events);
    while !execution.is_finished() {
        let event = if more {
            // The step budget ran out: other work goes first.
            tokio::task::yield_now().await;
            Event::Continue
        } else {
            let Some(event) = driver.next_event().await else {
                // Waiting for something that will never come (a task token
                // in a synchronous run): AWS does not support this for express.
                break;
            };
            event
        };
        let prepared = Arc::clone(&machine);
        let host = inner.host;
        let now = now_ms();
        let (next, step) = crate::actor::engine_call(move || {
            let mut execution = execution;
            let step = execution.handle(&prepared, event, now, &host);
            (execution, step)
        })
        .await;
        execution = next;
        more = step.yielded;
        driver.absorb(inner, &machine, &execution_arn, step, &mut events);
    }
    driver.tasks.abort_all();
    (execution, events)
}

/// Timers and tasks of one in-memory execution.
#[derive(Default)]
struct Driver {
    timers: BinaryHeap<Reverse<(i64, u64)>>,
    cancelled: HashSet<u64>,
    tasks: JoinSet<Option<Event>>,
    running: HashMap<u64, AbortHandle>,
    /// `TaskStarted` of tasks that wait for it ([`Machine::started_later`]):
    /// nothing of an express run is queued durably, so they start at once.
    started: std::collections::VecDeque<Event>,
}

impl Driver {
    fn absorb(
        &mut self,
        inner: &Arc<Inner>,
        machine: &statecraft_engine::Machine,
        arn: &str,
        step: Step,
        events: &mut Vec<HistoryEvent>,
    ) {
        // Nothing is committed for these: count them as they happen.
        statecraft_telemetry::metrics::observe_events(arn, &step.events);
        events.extend(step.events);
        for command in step.commands {
            match command {
                Command::StartTimer { timer, fire_at_ms } => {
                    self.cancelled.remove(&timer);
                    self.timers.push(Reverse((fire_at_ms, timer)));
                }
                Command::CancelTimer { timer } => {
                    self.cancelled.insert(timer);
                }
                Command::CancelTask { task } => {
                    if let Some(h) = self.running.remove(&task) {
                        h.abort();
                    }
                }
                Command::InvokeTask(request) => {
                    let task = request.task;
                    if machine.starts_later(&request.resource)
                        && !crate::activity::is_activity(&request.resource)
                    {
                        self.started.push_back(Event::TaskStarted {
                            task,
                            worker_name: None,
                        });
                    }
                    let future = inner.integrations.invoke(
                        TaskContext {
                            execution_arn: arn.to_string(),
                        },
                        request,
                    );
                    let handle = self.tasks.spawn(async move {
                        match future.await {
                            TaskOutcome::Succeeded(output) => {
                                Some(Event::TaskSucceeded { task, output })
                            }
                            TaskOutcome::Failed(failure) => {
                                Some(Event::TaskFailed { task, failure })
                            }
                            TaskOutcome::Submitted(output) => {
                                Some(Event::TaskSubmitted { task, output })
                            }
                            TaskOutcome::Deferred => None,
                        }
                    });
                    self.running.insert(task, handle);
                }
            }
        }
    }

    /// The next event: a task outcome or the earliest timer, whichever comes
    /// first. `None` when nothing is pending.
    async fn next_event(&mut self) -> Option<Event> {
        if let Some(started) = self.started.pop_front() {
            return Some(started);
        }
        loop {
            while let Some(Reverse((_, t))) = self.timers.peek() {
                if self.cancelled.remove(t) {
                    self.timers.pop();
                } else {
                    break;
                }
            }
            let next_timer = self.timers.peek().map(|Reverse((at, t))| (*at, *t));
            if next_timer.is_none() && self.tasks.is_empty() {
                return None;
            }
            let wait = next_timer
                .map(|(at, _)| Duration::from_millis(u64::try_from(at - now_ms()).unwrap_or(0)));
            tokio::select! {
                joined = self.tasks.join_next(), if !self.tasks.is_empty() => {
                    match joined {
                        Some(Ok(Some(event))) => {
                            if let Event::TaskSucceeded { task, .. } | Event::TaskFailed { task, .. } = &event {
                                self.running.remove(task);
                            }
                            return Some(event);
                        }
                        // Deferred, cancelled or panicked: nothing to deliver.
                        _ => continue,
                    }
                }
                () = sleep(wait), if next_timer.is_some() => {
                    // A long wait is slept in bounded steps; fire only when due.
                    if let Some((at, timer)) = next_timer {
                        if at <= now_ms() {
                            self.timers.pop();
                            return Some(Event::TimerFired { timer });
                        }
                    }
                }
            }
        }
    }
}

async fn sleep(wait: Option<Duration>) {
    match wait {
        Some(d) if !d.is_zero() => tokio::time::sleep(d).await,
        _ => {}
    }
}
