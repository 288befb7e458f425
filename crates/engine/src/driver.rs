//! An in-process, deterministic runner: starts an execution, answers its
//! tasks through a [`Handler`], fires its timers in time order on a
//! [`Clock`], and returns the [`Outcome`] with the full history.
//!
//! The engine never sleeps: the clock does. [`VirtualClock`] jumps straight
//! to the next timer (tests, benchmarks, `--skip-waits`); the CLI supplies a
//! clock that really waits.

use std::collections::{BTreeMap, VecDeque};

use serde_json::Value;
use statecraft_types::{Failure, HistoryEvent};

use crate::{
    Command, Event, Execution, ExecutionContext, Host, Machine, Status, Step, TaskId, TaskRequest,
    TimerId,
};

/// Time as the driver sees it.
pub trait Clock {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&mut self) -> i64;
    /// Returns once `now_ms() >= at_ms` (a virtual clock just jumps).
    fn sleep_until(&mut self, at_ms: i64);
}

/// A clock that never waits: `sleep_until` moves time forward instantly.
#[derive(Debug, Clone, Copy)]
pub struct VirtualClock {
    pub now_ms: i64,
}

impl Clock for VirtualClock {
    fn now_ms(&mut self) -> i64 {
        self.now_ms
    }
    fn sleep_until(&mut self, at_ms: i64) {
        self.now_ms = self.now_ms.max(at_ms);
    }
}

/// How the handler answers a task.
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    Succeeded(Value),
    Failed(Failure),
    /// No answer: the task stays outstanding (a token that never comes);
    /// its timeout, if any, decides.
    NoResponse,
}

/// Answers task requests (a mock, a real integration, an activity worker).
pub trait Handler {
    fn handle(&mut self, request: &TaskRequest) -> Response;
}

impl<F: FnMut(&TaskRequest) -> Response> Handler for F {
    fn handle(&mut self, request: &TaskRequest) -> Response {
        self(request)
    }
}

/// How to run.
pub struct Options<'a> {
    pub context: ExecutionContext,
    pub clock: &'a mut dyn Clock,
    pub host: &'a dyn Host,
    /// Called with every history event as it is produced.
    pub observer: Option<&'a mut dyn FnMut(&HistoryEvent)>,
    /// Give up (abort the execution) after this many events: a guard
    /// against definitions that loop forever.
    pub max_events: Option<u64>,
    /// The input exactly as the caller sent it, recorded verbatim in
    /// `ExecutionStarted` (AWS keeps the text); `None` records `input`.
    pub input_text: Option<String>,
}

/// How an execution ended.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: Status,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub history: Vec<HistoryEvent>,
    pub execution: Execution,
}

/// A default identity for runs that have none: a machine and execution
/// named after `name`, in us-east-1 of account 123456789012.
pub fn context_for(name: &str, start_time_ms: i64) -> ExecutionContext {
    ExecutionContext {
        execution_arn: format!("arn:aws:states:us-east-1:123456789012:execution:{name}:{name}-run"),
        execution_name: format!("{name}-run"),
        state_machine_arn: format!("arn:aws:states:us-east-1:123456789012:stateMachine:{name}"),
        state_machine_name: name.to_owned(),
        role_arn: "arn:aws:iam::123456789012:role/statecraft".into(),
        start_time_ms,
        redrive_count: 0,
    }
}

struct Loop<'a, 'o, 'h> {
    machine: &'a Machine,
    options: Options<'o>,
    handler: &'h mut dyn Handler,
    history: Vec<HistoryEvent>,
    /// (fire time, timer) in arming order within the same instant.
    timers: BTreeMap<(i64, TimerId), ()>,
    timer_at: BTreeMap<TimerId, i64>,
    answers: VecDeque<Event>,
    outstanding: BTreeMap<TaskId, ()>,
}

impl Loop<'_, '_, '_> {
    fn absorb(&mut self, step: Step) {
        for e in step.events {
            if let Some(obs) = self.options.observer.as_mut() {
                obs(&e);
            }
            self.history.push(e);
        }
        for c in step.commands {
            match c {
                Command::InvokeTask(req) => {
                    let task = req.task;
                    match self.handler.handle(&req) {
                        Response::Succeeded(output) => self
                            .answers
                            .push_back(Event::TaskSucceeded { task, output }),
                        Response::Failed(failure) => {
                            self.answers.push_back(Event::TaskFailed { task, failure })
                        }
                        Response::NoResponse => {
                            self.outstanding.insert(task, ());
                        }
                    }
                }
                Command::CancelTask { task } => {
                    self.outstanding.remove(&task);
                    self.answers.retain(|e| {
                        !matches!(e, Event::TaskSucceeded { task: t, .. } | Event::TaskFailed { task: t, .. } if *t == task)
                    });
                }
                Command::StartTimer { timer, fire_at_ms } => {
                    self.timers.insert((fire_at_ms, timer), ());
                    self.timer_at.insert(timer, fire_at_ms);
                }
                Command::CancelTimer { timer } => {
                    if let Some(at) = self.timer_at.remove(&timer) {
                        self.timers.remove(&(at, timer));
                    }
                }
            }
        }
    }
}

/// Runs `machine` on `input` to the end.
pub fn run(
    machine: &Machine,
    input: Value,
    options: Options<'_>,
    handler: &mut dyn Handler,
) -> Outcome {
    run_with_history(machine, input, options, handler, true)
}

/// [`run`], choosing whether history is recorded (`false`: as an EXPRESS
/// execution, `Outcome::history` stays empty).
pub fn run_with_history(
    machine: &Machine,
    input: Value,
    options: Options<'_>,
    handler: &mut dyn Handler,
    history: bool,
) -> Outcome {
    let host = options.host;
    let now = options.clock.now_ms();
    let context = options.context.clone();
    let start = crate::StartOptions {
        input_text: options.input_text.clone(),
        history,
    };
    let (mut execution, step) = Execution::start_with(machine, context, input, start, now, host);
    let mut lp = Loop {
        machine,
        options,
        handler,
        history: Vec::new(),
        timers: BTreeMap::new(),
        timer_at: BTreeMap::new(),
        answers: VecDeque::new(),
        outstanding: BTreeMap::new(),
    };
    lp.absorb(step);
    while !execution.is_finished() {
        if let Some(limit) = lp.options.max_events {
            if execution.last_event_id >= limit {
                let now = lp.options.clock.now_ms();
                let step = execution.handle(
                    lp.machine,
                    Event::Stop {
                        error: Some("Statecraft.EventLimit".into()),
                        cause: Some(format!("the run exceeded {limit} history events")),
                    },
                    now,
                    host,
                );
                lp.absorb(step);
                break;
            }
        }
        let event = if execution.has_pending_turn() {
            // A step budget ran out with work still runnable.
            Event::Continue
        } else if let Some(e) = lp.answers.pop_front() {
            e
        } else if let Some((&(at, timer), _)) = lp.timers.iter().next() {
            lp.timers.remove(&(at, timer));
            lp.timer_at.remove(&timer);
            lp.options.clock.sleep_until(at);
            Event::TimerFired { timer }
        } else {
            // Nothing can move the execution on: tasks without answers and
            // no timers. Stop it rather than hang.
            let error = Some("Statecraft.Stalled".to_owned());
            let cause = Some(format!(
                "{} task(s) never answered and no timer is armed",
                lp.outstanding.len()
            ));
            Event::Stop { error, cause }
        };
        let now = lp.options.clock.now_ms();
        let step = execution.handle(lp.machine, event, now, host);
        lp.absorb(step);
    }
    let failure = execution.failure.clone();
    Outcome {
        status: execution.status,
        output: execution.output.clone(),
        error: failure
            .as_ref()
            .map(|f| f.error.clone())
            .filter(|s| !s.is_empty()),
        cause: failure
            .as_ref()
            .map(|f| f.cause.clone())
            .filter(|s| !s.is_empty()),
        history: lp.history,
        execution,
    }
}

/// A handler that answers every task with its parameters (an echo).
pub fn echo(request: &TaskRequest) -> Response {
    Response::Succeeded(request.parameters.clone())
}
