//! One actor per active execution with something to do: a tokio task that
//! owns the execution's engine state and applies its events strictly one
//! at a time.
//!
//! An actor that is idle (every transition committed, no invocation
//! running, no answer held, an empty mailbox) passivates: it leaves the
//! registry under the lock senders take and ends, and the execution waits
//! in the store alone (its timers armed in the timer service, its lease
//! kept). The next message activates it from the store ([`Boot::Load`]).
//!
//! For each event: the engine computes a step; the step becomes one
//! [`Transition`] (history events + new state + timer and task changes)
//! committed to the store; only after the commit succeeds are the step's
//! commands carried out (timers armed, tasks dispatched). If the commit
//! fails, the in-memory state is thrown away and the actor restarts from
//! the store: the execution continues from its last committed transition.
//!
//! Engine calls run outside the async workers' schedule ([`engine_call`]):
//! they never hold up the threads that serve the API, and each does a
//! bounded amount of work (the
//! machine's step budget). A call that spent its budget leaves the rest
//! runnable: the actor commits what it did, lets other tasks run, takes any
//! message waiting for it first (a StopExecution takes effect there), and
//! then continues with [`Event::Continue`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use statecraft_engine::{Command, Event, Machine, Status, Step};
use statecraft_store::{
    ExecutionState, ExecutionStatus, PendingTask, Store, TaskChange, Timer, TimerChange, Transition,
};
use statecraft_types::Failure;
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{mpsc, oneshot};
use tokio::task::AbortHandle;

use crate::error::{Error, Result};
use crate::host::now_ms;
use crate::integration::{TaskContext, TaskOutcome};
use crate::operators::PauseRecord;
use crate::Inner;

/// What an actor's mailbox carries.
pub(crate) enum Msg {
    Event(Event),
    /// An event another node recorded in the store's inbox for this
    /// execution (a worker's TaskStarted or heartbeat); deleted from the
    /// inbox once applied.
    Inbox {
        id: i64,
        event: Event,
    },
    /// A task's answer by its token (SendTaskSuccess/Failure), already
    /// recorded in the store. Held while the task's invocation is still
    /// running, so that its `TaskSubmitted` is recorded first, as on AWS.
    Answer(Event),
    /// A task's invocation returned (`event`: what it returned, if anything
    /// for the engine).
    Invoked {
        task: u64,
        event: Option<Event>,
    },
    /// A held answer waited [`HOLD_LIMIT`]: apply it whatever the
    /// invocation does.
    Release {
        task: u64,
    },
    /// StopExecution; answered with the stop date.
    Stop {
        error: Option<String>,
        cause: Option<String>,
        reply: oneshot::Sender<Result<i64>>,
    },
    /// `Statecraft.PauseExecution`; answered with the pause date.
    Pause {
        by: String,
        reply: oneshot::Sender<Result<i64>>,
    },
    /// `Statecraft.ResumeExecution`; answered with the resume date.
    Resume {
        by: String,
        reply: oneshot::Sender<Result<i64>>,
    },
    /// `Statecraft.FailExecution`: an execution paused on failure fails as
    /// it would have; answered with the stop date.
    Fail {
        by: String,
        reply: oneshot::Sender<Result<i64>>,
    },
}

/// A step turned into what to commit and what to do after.
pub(crate) struct Plan {
    pub(crate) transition: Transition,
    pub(crate) commands: Vec<Command>,
}

/// The longest a token answer waits for its task's invocation to return.
const HOLD_LIMIT: Duration = Duration::from_secs(10);

/// How long an actor whose commit failed waits before reloading, so a
/// failing disk does not become a busy loop.
const RELOAD_BACKOFF: Duration = Duration::from_millis(500);

fn corrupt(e: impl std::fmt::Display) -> Error {
    Error::Store(statecraft_store::Error::Corrupt(e.to_string()))
}

fn store_status(s: Status) -> ExecutionStatus {
    match s {
        Status::Running => ExecutionStatus::Running,
        Status::Succeeded => ExecutionStatus::Succeeded,
        Status::Failed => ExecutionStatus::Failed,
        Status::TimedOut => ExecutionStatus::TimedOut,
        Status::Aborted => ExecutionStatus::Aborted,
    }
}

/// The summary columns and serialised state of an engine execution.
pub(crate) fn execution_state(
    execution: &statecraft_engine::Execution,
    redrive_date_ms: Option<i64>,
    stop_date_ms: i64,
) -> Result<ExecutionState> {
    let status = store_status(execution.status);
    // The status at the time of the transition; what it is later (the
    // redrivable period runs out) is `Runtime::redrive_status`.
    let (redrive_status, redrive_status_reason) = match status {
        ExecutionStatus::Running | ExecutionStatus::PendingRedrive => (
            Some(crate::redrive::NOT_REDRIVABLE.to_string()),
            Some("Execution is RUNNING and cannot be redriven".to_string()),
        ),
        ExecutionStatus::Succeeded => (
            Some(crate::redrive::NOT_REDRIVABLE.to_string()),
            Some("Execution is SUCCEEDED and cannot be redriven".to_string()),
        ),
        // A child of a map run is redriven with its map run (AWS's
        // REDRIVABLE_BY_MAP_RUN); its machine is `<machine>/<label>`, a name
        // no state machine of one's own can have.
        _ if crate::map_run::is_child_machine(&execution.context.state_machine_arn) => (
            Some(crate::redrive::REDRIVABLE_BY_MAP_RUN.to_string()),
            None,
        ),
        _ => (Some(crate::redrive::REDRIVABLE.to_string()), None),
    };
    Ok(ExecutionState {
        status,
        output: execution.output.as_ref().map(ToString::to_string),
        error: execution.failure.as_ref().map(|f| f.error.clone()),
        cause: execution.failure.as_ref().map(|f| f.cause.clone()),
        stop_date_ms: execution.is_finished().then_some(stop_date_ms),
        redrive_count: execution.context.redrive_count,
        redrive_date_ms,
        redrive_status,
        redrive_status_reason,
        engine_state: serde_json::to_string(execution).map_err(corrupt)?,
        pause: None,
        revision_id: None,
    })
}

/// Turns an engine step into a transition on top of `expected_version`.
pub(crate) fn plan(
    arn: &str,
    execution: &statecraft_engine::Execution,
    step: Step,
    expected_version: u64,
    redrive_date_ms: Option<i64>,
    now: i64,
) -> Result<Plan> {
    let stop_date = step.events.last().map_or(now, |e| e.timestamp_ms);
    let mut timers = Vec::new();
    let mut tasks = Vec::new();
    for command in &step.commands {
        match command {
            Command::StartTimer { timer, fire_at_ms } => timers.push(TimerChange::Arm(Timer {
                timer_id: *timer,
                fire_at_ms: *fire_at_ms,
            })),
            Command::CancelTimer { timer } => timers.push(TimerChange::Cancel { timer_id: *timer }),
            Command::InvokeTask(request) => tasks.push(TaskChange::Queue(PendingTask {
                task_id: request.task,
                resource: request.resource.clone(),
                request: serde_json::to_string(request).map_err(corrupt)?,
                token: request.task_token.clone(),
                lease_owner: None,
                lease_expires_ms: None,
            })),
            Command::CancelTask { task } => tasks.push(TaskChange::Remove { task_id: *task }),
        }
    }
    Ok(Plan {
        transition: Transition {
            execution_arn: arn.to_string(),
            expected_version,
            state: execution_state(execution, redrive_date_ms, stop_date)?,
            events: step.events,
            timers,
            tasks,
        },
        commands: step.commands,
    })
}

/// The engine state of a stored execution.
pub(crate) fn load_engine_state(
    record: &statecraft_store::Execution,
) -> Result<statecraft_engine::Execution> {
    serde_json::from_str(&record.state.engine_state).map_err(corrupt)
}

/// The commands that bring a recovered execution's timers and tasks back to
/// life: its persisted timers re-armed and its pending tasks re-dispatched.
pub(crate) fn recovered_commands(store: &dyn Store, arn: &str) -> Result<Vec<Command>> {
    let mut commands = Vec::new();
    for t in store.timers(arn)? {
        commands.push(Command::StartTimer {
            timer: t.timer_id,
            fire_at_ms: t.fire_at_ms,
        });
    }
    for task in store.pending_tasks(arn)? {
        commands.push(Command::InvokeTask(
            serde_json::from_str(&task.request).map_err(corrupt)?,
        ));
    }
    Ok(commands)
}

/// How an actor comes to life.
pub(crate) enum Boot {
    /// With the state a start, a redrive or a restart just committed.
    Ready(Box<Actor>),
    /// From the store: an execution activated by a message, at recovery or
    /// at a takeover. Loaded by the actor once its mailbox is registered, so
    /// that what it reads is the latest commit: an actor that ended before
    /// has committed everything, and no other can commit meanwhile.
    Load(Box<Load>),
}

pub(crate) struct Load {
    pub(crate) arn: String,
    /// The execution's machine (a revision never changes).
    pub(crate) machine: Arc<Machine>,
    pub(crate) revision_id: String,
    /// The record the activation read, when it is known to be the latest
    /// (the execution was passivated at its version): no second read.
    pub(crate) record: Option<statecraft_store::Execution>,
    /// The execution was passivated on this node: everything it dispatched
    /// has returned to wait in the store (activity and callback tasks), so
    /// nothing is dispatched again; answers and inbox events recorded
    /// since reach it as messages.
    pub(crate) passive: bool,
}

impl Load {
    /// The actor of a stored execution; `None` when it is not running any
    /// more (it ended meanwhile).
    fn actor(self, inner: &Arc<Inner>) -> Result<Option<Actor>> {
        let record = match self.record {
            Some(r) => r,
            None => match inner.store.get_execution(&self.arn)? {
                Some(r) => r,
                None => return Ok(None),
            },
        };
        if record.state.status != ExecutionStatus::Running {
            return Ok(None);
        }
        let machine = if record.revision_id == self.revision_id {
            self.machine
        } else {
            let revision = inner
                .store
                .get_revision(&record.revision_id)?
                .ok_or_else(|| Error::StateMachineDoesNotExist(record.state_machine_arn.clone()))?;
            inner.machines.get(&revision)?
        };
        let execution = load_engine_state(&record)?;
        // Passivated here: its timers are still armed in the timer service
        // (re-arming them would fire the one that woke it a second time),
        // and its tasks wait in the store.
        let recovered = if self.passive {
            Vec::new()
        } else {
            recovered_commands(inner.store.as_ref(), &self.arn)?
        };
        Ok(Some(Actor::new(
            self.arn,
            machine,
            execution,
            record.version,
            record.state.redrive_date_ms,
            recovered,
            crate::operators::PauseRecord::of(&record.state),
        )))
    }
}

/// Runs an actor from its [`Boot`] to its end.
pub(crate) async fn boot(
    boot: Boot,
    inner: &Arc<Inner>,
    id: u64,
    mut rx: mpsc::UnboundedReceiver<Msg>,
) {
    let load = match boot {
        Boot::Ready(actor) => return actor.run(inner, id, rx).await,
        Boot::Load(load) => *load,
    };
    let arn = load.arn.clone();
    let passive = load.passive;
    match load.actor(inner) {
        Ok(Some(actor)) => {
            if !passive {
                // Answers recorded but not yet consumed (a crash came in
                // between) and inbox events are delivered again; the engine
                // ignores an answer it has seen.
                inner.redeliver(&arn);
            }
            actor.run(inner, id, rx).await;
        }
        Ok(None) => {
            inner.unregister(&arn, id);
            rx.close();
            while let Ok(msg) = rx.try_recv() {
                moot(inner, &arn, msg);
            }
        }
        Err(e) => {
            tracing::warn!(execution = %arn, error = %e, "could not resume the execution");
            inner.unregister(&arn, id);
            rx.close();
            while let Ok(msg) = rx.try_recv() {
                if let Msg::Inbox { id, .. } = msg {
                    inner.lock_inbox().remove(&id);
                }
            }
            // Left RUNNING in the store: a later start retries it.
            inner.lock_recovery_failures().insert(arn, e);
        }
    }
}

/// A message for an execution that has ended: calls that expect an answer
/// get the one they would get from the store; the rest is moot.
fn moot(inner: &Arc<Inner>, arn: &str, msg: Msg) {
    match msg {
        // Dropping the reply sends StopExecution to the stored stop date.
        Msg::Stop { .. } => {}
        Msg::Pause { reply, .. } | Msg::Resume { reply, .. } | Msg::Fail { reply, .. } => {
            let _ = reply.send(Err(crate::operators::finished_refusal(arn)));
        }
        Msg::Inbox { id, .. } => inner.inbox_applied(id),
        _ => {}
    }
}

/// Runs `call` (an engine step and what is derived from it) where it cannot
/// hold up the threads that serve requests: on a multi-threaded runtime the
/// worker hands its other tasks to another thread for the duration
/// (`block_in_place`: no thread hop for the call itself); elsewhere on the
/// blocking pool. A panic in it propagates as if it had run in place.
pub(crate) async fn engine_call<R, F>(call: F) -> R
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    use tokio::runtime::{Handle, RuntimeFlavor};
    if Handle::try_current().is_ok_and(|h| h.runtime_flavor() == RuntimeFlavor::MultiThread) {
        return tokio::task::block_in_place(call);
    }
    match tokio::task::spawn_blocking(call).await {
        Ok(r) => r,
        Err(e) => match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            // The blocking pool is shut down only with the tokio runtime.
            Err(_) => std::panic::resume_unwind(Box::new("the engine call was cancelled")),
        },
    }
}

/// The task a token answer closes.
fn answered_task(event: &Event) -> Option<u64> {
    match event {
        Event::TaskSucceeded { task, .. } | Event::TaskFailed { task, .. } => Some(*task),
        _ => None,
    }
}

/// What an idle actor's wait came to.
pub(crate) enum Handoff {
    /// A message came: handle it.
    Message(Msg),
    /// The mailbox closed (shutdown, or the lease went to another node).
    Closed,
    /// The actor left the registry: end it.
    Passivated,
}

/// How an actor's loop ends.
enum End {
    /// The execution finished.
    Finished,
    /// The mailbox closed (shutdown).
    Closed,
    /// A commit failed: restart from the store.
    Reload,
    /// Idle with everything committed: the actor ended and freed its
    /// state; the next message activates the execution again.
    Passivated,
}

pub(crate) struct Actor {
    arn: String,
    machine: Arc<Machine>,
    /// Always present between engine calls (it travels to the blocking pool
    /// and back during one).
    execution: Option<statecraft_engine::Execution>,
    /// The last step left runnable work ([`Step::yielded`]).
    more: bool,
    /// The store version of the last committed transition.
    version: u64,
    redrive_date_ms: Option<i64>,
    /// Commands committed but not yet carried out (start, redrive, recovery).
    initial: Vec<Command>,
    /// Invocations still in progress, by task.
    running: HashMap<u64, AbortHandle>,
    /// Token answers that came while their task's invocation was running.
    held: HashMap<u64, Event>,
    /// Map runs in progress (their tasks' requests), by task: cancelling
    /// one aborts its children too.
    map_runs: HashMap<u64, statecraft_engine::TaskRequest>,
    /// Set while an operator holds the execution; committed with every
    /// transition (see [`crate::operators`]).
    pause: Option<PauseRecord>,
}

impl Actor {
    pub(crate) fn new(
        arn: String,
        machine: Arc<Machine>,
        execution: statecraft_engine::Execution,
        version: u64,
        redrive_date_ms: Option<i64>,
        initial: Vec<Command>,
        pause: Option<PauseRecord>,
    ) -> Actor {
        let more = execution.has_pending_turn();
        Actor {
            arn,
            machine,
            execution: Some(execution),
            more,
            version,
            redrive_date_ms,
            initial,
            running: HashMap::new(),
            held: HashMap::new(),
            map_runs: HashMap::new(),
            pause,
        }
    }

    pub(crate) fn arn(&self) -> &str {
        &self.arn
    }

    pub(crate) async fn run(
        mut self,
        inner: &Arc<Inner>,
        id: u64,
        mut rx: mpsc::UnboundedReceiver<Msg>,
    ) {
        let initial = std::mem::take(&mut self.initial);
        self.carry_out(inner, initial);
        let end = loop {
            if self.finished() && self.pause.is_none() {
                break End::Finished;
            }
            let msg = if self.more && self.pause.is_none() {
                // Other executions and requests go first; then whatever is
                // queued for this one (a stop), else the rest of the work.
                tokio::task::yield_now().await;
                match rx.try_recv() {
                    Ok(msg) => msg,
                    Err(TryRecvError::Empty) => Msg::Event(Event::Continue),
                    Err(TryRecvError::Disconnected) => break End::Closed,
                }
            } else if self.idle() {
                match self.idle_wait(inner, id, &mut rx).await {
                    Handoff::Message(msg) => msg,
                    Handoff::Passivated => break End::Passivated,
                    Handoff::Closed => break End::Closed,
                }
            } else {
                let Some(msg) = rx.recv().await else {
                    break End::Closed;
                };
                msg
            };
            let outcome = match msg {
                Msg::Event(event) => self.apply_or_hold(inner, event).await,
                Msg::Inbox { id, event } => {
                    let r = self.apply_or_hold(inner, event).await;
                    if r.is_ok() {
                        inner.inbox_applied(id);
                    }
                    r
                }
                Msg::Answer(event) => match answered_task(&event) {
                    Some(task) if self.running.contains_key(&task) => {
                        self.held.insert(task, event);
                        // An invocation that never returns must not keep
                        // the answer forever.
                        let weak = Arc::downgrade(inner);
                        let arn = self.arn.clone();
                        tokio::spawn(async move {
                            tokio::time::sleep(HOLD_LIMIT).await;
                            if let Some(inner) = weak.upgrade() {
                                // Moot if the actor is gone: it held nothing
                                // when it passivated, and a reload delivers
                                // the stored answer again.
                                inner.send_if_live(&arn, Msg::Release { task });
                            }
                        });
                        Ok(())
                    }
                    _ => self.apply_or_hold(inner, event).await,
                },
                Msg::Release { task } => match self.held.remove(&task) {
                    Some(answer) => self.apply_or_hold(inner, answer).await,
                    None => Ok(()),
                },
                Msg::Invoked { task, event } => {
                    let r = match event {
                        Some(event) => self.apply_or_hold(inner, event).await,
                        None => Ok(()),
                    };
                    // The invocation is over: an answer that came meanwhile
                    // goes in now, after what the invocation returned.
                    self.running.remove(&task);
                    self.map_runs.remove(&task);
                    match self.held.remove(&task) {
                        Some(answer) if r.is_ok() => self.apply_or_hold(inner, answer).await,
                        _ => r,
                    }
                }
                Msg::Stop {
                    error,
                    cause,
                    reply,
                } => {
                    let r = self.stop(inner, error, cause).await;
                    let answer = match &r {
                        Ok(()) => Ok(now_ms()),
                        Err(e) => Err(e.clone()),
                    };
                    let _ = reply.send(answer);
                    r
                }
                Msg::Pause { by, reply } => {
                    let (answer, r) = self.pause(inner, by).await;
                    let _ = reply.send(answer);
                    r
                }
                Msg::Resume { by, reply } => {
                    let (answer, r) = self.resume(inner, by).await;
                    let _ = reply.send(answer);
                    r
                }
                Msg::Fail { by, reply } => {
                    let (answer, r) = self.fail(inner, by).await;
                    let _ = reply.send(answer);
                    r
                }
            };
            if outcome.is_err() {
                break End::Reload;
            }
        };
        if matches!(end, End::Finished | End::Reload) {
            // Before the mailbox goes: an actor activated after that arms
            // its own timers, which this must not cancel.
            inner.timers.cancel_all(&self.arn);
        }
        inner.unregister(&self.arn, id);
        for (_, task) in self.running.drain() {
            task.abort();
        }
        rx.close();
        let mut leftover = Vec::new();
        while let Ok(msg) = rx.try_recv() {
            leftover.push(msg);
        }
        // Answers held for a reload are in the store and delivered again.
        self.held.clear();
        match end {
            // Nothing was in flight and the mailbox was empty when it left
            // the registry: its timers stay armed, its lease held.
            End::Passivated => {}
            End::Finished => {
                inner.lock_fences().remove(&self.arn);
                inner.wake_waiters(&self.arn);
                let stopped = now_ms();
                for msg in leftover {
                    match msg {
                        Msg::Stop { reply, .. } => {
                            let _ = reply.send(Ok(stopped));
                        }
                        msg => moot(inner, &self.arn, msg),
                    }
                }
            }
            End::Closed => {
                // Dropped here (another node runs it now): its inbox events
                // are that node's to deliver.
                for msg in leftover {
                    if let Msg::Inbox { id, .. } = msg {
                        inner.lock_inbox().remove(&id);
                    }
                }
            }
            End::Reload => {
                tokio::time::sleep(RELOAD_BACKOFF).await;
                // The reloaded actor re-arms timers and re-dispatches tasks
                // from the store; queued events are handed over to it.
                if inner.activate(&self.arn).is_ok() {
                    for msg in leftover {
                        let _ = inner.send(&self.arn, msg);
                    }
                }
            }
        }
    }

    /// Nothing in flight that only this actor knows of: no invocation
    /// running, no answer held, no map run driven. What the execution waits
    /// for (timers, activity and callback tasks, answers, operators) is in
    /// the store and comes to it as a message.
    fn idle(&self) -> bool {
        self.running.is_empty()
            && self.held.is_empty()
            && self.map_runs.is_empty()
            && self.execution.is_some()
    }

    /// Waits for the next message while idle; after
    /// [`crate::Options::passivate_after`] without one, hands the execution
    /// back to the store ([`Inner::passivate`]).
    async fn idle_wait(
        &self,
        inner: &Arc<Inner>,
        id: u64,
        rx: &mut mpsc::UnboundedReceiver<Msg>,
    ) -> Handoff {
        if !inner.passivate_after.is_zero() {
            match tokio::time::timeout(inner.passivate_after, rx.recv()).await {
                Ok(Some(msg)) => return Handoff::Message(msg),
                Ok(None) => return Handoff::Closed,
                Err(_) => {}
            }
        }
        inner.passivate(&self.arn, id, self.version, rx)
    }

    fn finished(&self) -> bool {
        self.execution
            .as_ref()
            .is_none_or(statecraft_engine::Execution::is_finished)
    }

    /// Applies one event: engine step, commit, then commands.
    async fn apply(&mut self, inner: &Arc<Inner>, event: Event) -> Result<()> {
        let completed = match &event {
            Event::TaskSucceeded { task, .. } | Event::TaskFailed { task, .. } => Some(*task),
            _ => None,
        };
        let now = now_ms();
        let Some(mut execution) = self.execution.take() else {
            return Ok(());
        };
        let machine = Arc::clone(&self.machine);
        let host = inner.host;
        let arn = self.arn.clone();
        let (version, redrive_date_ms) = (self.version, self.redrive_date_ms);
        let (execution, outcome) = engine_call(move || {
            let step = execution.handle(&machine, event, now, &host);
            if crate::operators::may_pause_on(&execution, &step) {
                // Planned once the machine's setting has been looked up.
                return (execution, Err(step));
            }
            let yielded = step.yielded;
            let planned =
                plan(&arn, &execution, step, version, redrive_date_ms, now).map(|p| (p, yielded));
            (execution, Ok(planned))
        })
        .await;
        self.execution = Some(execution);
        let planned = match outcome {
            Ok(planned) => planned,
            Err(step) => self.plan_failure(inner, step, now)?,
        };
        let (mut plan, yielded) = planned?;
        if let Some(task) = completed {
            // First, so that a retry the step queues under the same id is
            // not removed with it.
            plan.transition
                .tasks
                .insert(0, TaskChange::Remove { task_id: task });
            self.running.remove(&task);
        }
        let observed = crate::observe::before_commit(inner.store.as_ref(), &plan.transition);
        self.version = inner.commit(plan.transition).await?;
        observed.committed(&self.arn);
        self.more = yielded;
        self.carry_out(inner, plan.commands);
        Ok(())
    }

    /// Plans a step that fails the execution: as it is, or, when the
    /// machine pauses on failure, as a pause at the failed state (the
    /// `ExecutionFailed` event held back, `ExecutionPaused` recorded).
    #[allow(clippy::type_complexity)]
    fn plan_failure(
        &mut self,
        inner: &Arc<Inner>,
        mut step: Step,
        now: i64,
    ) -> Result<Result<(Plan, bool)>> {
        let Some(execution) = self.execution.as_mut() else {
            return Err(corrupt("the execution state is missing"));
        };
        if inner.pauses_on_failure(&execution.context.state_machine_arn)? {
            let pause =
                crate::operators::pause_on_failure(execution, &self.machine, &mut step, now);
            statecraft_telemetry::metrics::observe_operator("pause_on_failure");
            self.pause = Some(pause);
        }
        let mut p = plan(
            &self.arn,
            execution,
            step,
            self.version,
            self.redrive_date_ms,
            now,
        )?;
        crate::operators::set_pause(&mut p.transition.state, self.pause.as_ref());
        Ok(Ok((p, false)))
    }

    /// Applies an event, or holds it while the execution is paused: the
    /// hold is committed (the event kept in the pause record, its timer or
    /// task gone from the store, so a crash neither loses nor repeats it).
    async fn apply_or_hold(&mut self, inner: &Arc<Inner>, event: Event) -> Result<()> {
        let Some(mut pause) = self.pause.clone() else {
            return self.apply(inner, event).await;
        };
        let mut timers = Vec::new();
        let mut tasks = Vec::new();
        match &event {
            // Runnable work waits for the resume, which runs it.
            Event::Continue => return Ok(()),
            Event::TimerFired { timer } => timers.push(TimerChange::Cancel { timer_id: *timer }),
            Event::TaskSucceeded { task, .. } | Event::TaskFailed { task, .. } => {
                tasks.push(TaskChange::Remove { task_id: *task });
                self.running.remove(task);
            }
            _ => {}
        }
        pause.held.push(event);
        let Some(execution) = self.execution.as_ref() else {
            return Ok(());
        };
        let now = now_ms();
        let mut state = execution_state(execution, self.redrive_date_ms, now)?;
        crate::operators::set_pause(&mut state, Some(&pause));
        self.version = inner
            .commit(Transition {
                execution_arn: self.arn.clone(),
                expected_version: self.version,
                state,
                events: Vec::new(),
                timers,
                tasks,
            })
            .await?;
        self.pause = Some(pause);
        Ok(())
    }

    /// StopExecution, paused or not.
    async fn stop(
        &mut self,
        inner: &Arc<Inner>,
        error: Option<String>,
        cause: Option<String>,
    ) -> Result<()> {
        match self.pause.as_ref().map(|p| p.reason) {
            None => self.apply(inner, Event::Stop { error, cause }).await,
            Some(crate::operators::PauseReason::Operator) => {
                // What was held goes with the run it belonged to.
                self.pause = None;
                self.apply(inner, Event::Stop { error, cause }).await
            }
            Some(crate::operators::PauseReason::Failure) => {
                let Some(mut execution) = self.execution.clone() else {
                    return Ok(());
                };
                let now = now_ms();
                let event = crate::operators::abort_paused(&mut execution, error, cause, now);
                self.commit_closing(inner, execution, vec![event], now)
                    .await
            }
        }
    }

    /// Commits the final transition of an execution paused on failure.
    async fn commit_closing(
        &mut self,
        inner: &Arc<Inner>,
        execution: statecraft_engine::Execution,
        events: Vec<statecraft_types::HistoryEvent>,
        now: i64,
    ) -> Result<()> {
        let state = execution_state(&execution, self.redrive_date_ms, now)?;
        let transition = Transition {
            execution_arn: self.arn.clone(),
            expected_version: self.version,
            state,
            events,
            timers: Vec::new(),
            tasks: Vec::new(),
        };
        let observed = crate::observe::before_commit(inner.store.as_ref(), &transition);
        self.version = inner.commit(transition).await?;
        observed.committed(&self.arn);
        self.execution = Some(execution);
        self.pause = None;
        Ok(())
    }

    /// `Statecraft.PauseExecution`. Returns the answer and the outcome (an
    /// `Err` outcome is a failed commit: reload).
    async fn pause(&mut self, inner: &Arc<Inner>, by: String) -> (Result<i64>, Result<()>) {
        if self.pause.is_some() {
            return (
                Err(Error::Validation(format!(
                    "Execution '{}' is already paused; resume it with Statecraft.ResumeExecution",
                    self.arn
                ))),
                Ok(()),
            );
        }
        let Some(mut execution) = self.execution.clone() else {
            return (Err(crate::operators::finished_refusal(&self.arn)), Ok(()));
        };
        let now = now_ms();
        let pause = PauseRecord {
            by,
            at_ms: now,
            reason: crate::operators::PauseReason::Operator,
            state: None,
            error: None,
            cause: None,
            held: Vec::new(),
        };
        let event = execution.record(
            statecraft_types::EventType::ExecutionPaused,
            Some(pause.details()),
            now,
        );
        let r = async {
            let mut state = execution_state(&execution, self.redrive_date_ms, now)?;
            crate::operators::set_pause(&mut state, Some(&pause));
            inner
                .commit(Transition {
                    execution_arn: self.arn.clone(),
                    expected_version: self.version,
                    state,
                    events: vec![event],
                    timers: Vec::new(),
                    tasks: Vec::new(),
                })
                .await
                .map_err(Error::from)
        }
        .await;
        match r {
            Ok(version) => {
                self.version = version;
                self.execution = Some(execution);
                self.pause = Some(pause);
                statecraft_telemetry::metrics::observe_operator("pause");
                (Ok(now), Ok(()))
            }
            Err(e) => (Err(e.clone()), Err(e)),
        }
    }

    /// `Statecraft.ResumeExecution`: records `ExecutionResumed` and, in the
    /// same transition, applies what was held (a timer that came due while
    /// paused fires at once), or, after a pause on failure, runs the failed
    /// state again (a redrive).
    async fn resume(&mut self, inner: &Arc<Inner>, by: String) -> (Result<i64>, Result<()>) {
        let Some(pause) = self.pause.clone() else {
            return (
                Err(Error::Validation(format!(
                    "Execution '{}' is not paused: only a paused execution can be resumed",
                    self.arn
                ))),
                Ok(()),
            );
        };
        let Some(execution) = self.execution.clone() else {
            return (Err(crate::operators::finished_refusal(&self.arn)), Ok(()));
        };
        let now = now_ms();
        let machine = Arc::clone(&self.machine);
        let host = inner.host;
        let arn = self.arn.clone();
        let version = self.version;
        let redrive_date_ms = match pause.reason {
            crate::operators::PauseReason::Failure => Some(now),
            crate::operators::PauseReason::Operator => self.redrive_date_ms,
        };
        let (execution, planned) = engine_call(move || {
            let mut execution = execution;
            let step =
                crate::operators::resume_step(&mut execution, &machine, pause, by, now, &host);
            let planned =
                step.and_then(|step| plan(&arn, &execution, step, version, redrive_date_ms, now));
            (execution, planned)
        })
        .await;
        let plan = match planned {
            Ok(p) => p,
            Err(e) => return (Err(e), Ok(())),
        };
        let observed = crate::observe::before_commit(inner.store.as_ref(), &plan.transition);
        match inner.commit(plan.transition).await {
            Ok(version) => {
                observed.committed(&self.arn);
                self.version = version;
                self.more = execution.has_pending_turn();
                self.execution = Some(execution);
                self.pause = None;
                self.redrive_date_ms = redrive_date_ms;
                statecraft_telemetry::metrics::observe_operator("resume");
                self.carry_out(inner, plan.commands);
                (Ok(now), Ok(()))
            }
            Err(e) => {
                let e = Error::from(e);
                (Err(e.clone()), Err(e))
            }
        }
    }

    /// `Statecraft.FailExecution`: an execution paused on failure records
    /// the failure it held back and ends FAILED.
    async fn fail(&mut self, inner: &Arc<Inner>, by: String) -> (Result<i64>, Result<()>) {
        let reason = self.pause.as_ref().map(|p| p.reason);
        if reason != Some(crate::operators::PauseReason::Failure) {
            return (
                Err(Error::Validation(format!(
                    "Execution '{}' is not paused on a failure: stop it with StopExecution instead",
                    self.arn
                ))),
                Ok(()),
            );
        }
        let Some(mut execution) = self.execution.clone() else {
            return (Err(crate::operators::finished_refusal(&self.arn)), Ok(()));
        };
        let now = now_ms();
        let event = crate::operators::fail_paused(&mut execution, &by, now);
        match self
            .commit_closing(inner, execution, vec![event], now)
            .await
        {
            Ok(()) => {
                statecraft_telemetry::metrics::observe_operator("fail");
                (Ok(now), Ok(()))
            }
            Err(e) => (Err(e.clone()), Err(e)),
        }
    }

    /// Carries out committed commands.
    fn carry_out(&mut self, inner: &Arc<Inner>, commands: Vec<Command>) {
        for command in commands {
            match command {
                Command::StartTimer { timer, fire_at_ms } => {
                    inner.timers.arm(&self.arn, timer, fire_at_ms)
                }
                Command::CancelTimer { timer } => inner.timers.cancel(&self.arn, timer),
                Command::CancelTask { task } => {
                    if let Some(handle) = self.running.remove(&task) {
                        handle.abort();
                    }
                    self.held.remove(&task);
                    if let Some(request) = self.map_runs.remove(&task) {
                        crate::map_run::abort(inner, &request);
                    }
                }
                Command::InvokeTask(request) => {
                    let task = request.task;
                    let resource = request.resource.clone();
                    let arn = self.arn.clone();
                    let future = if resource == statecraft_engine::map_run::MAP_RUN_RESOURCE {
                        // A Distributed Map's run of child executions.
                        self.map_runs.insert(task, request.clone());
                        crate::map_run::drive(Arc::clone(inner), arn.clone(), request)
                    } else {
                        inner.integrations.invoke(
                            TaskContext {
                                execution_arn: arn.clone(),
                            },
                            request,
                        )
                    };
                    let future = crate::observe::timed_task(resource, future);
                    let weak = Arc::downgrade(inner);
                    // The integration runs in its own task so that a panic in
                    // it becomes a task failure instead of a hung execution;
                    // cancelling aborts that task.
                    let invocation = tokio::spawn(future);
                    self.running.insert(task, invocation.abort_handle());
                    tokio::spawn(async move {
                        let outcome = match invocation.await {
                            Ok(outcome) => outcome,
                            Err(e) if e.is_panic() => TaskOutcome::Failed(Failure::new(
                                statecraft_types::errors::TASK_FAILED,
                                "The integration for this resource failed unexpectedly.",
                            )),
                            // Cancelled: the engine no longer waits for it.
                            Err(_) => return,
                        };
                        let Some(inner) = weak.upgrade() else { return };
                        let event = match outcome {
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
                        };
                        let _ = inner.send(&arn, Msg::Invoked { task, event });
                    });
                }
            }
        }
    }
}
