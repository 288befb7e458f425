//! The run loop: the frames of a running execution, the outstanding tasks and
//! timers, and how events move them on.
//!
//! A *frame* is one thread of control: the top level, one Parallel branch, or
//! one Map iteration. A frame runs state after state until it blocks (on a
//! task, a timer or its child frames) or ends. Runnable frames wait in a FIFO
//! queue, so concurrent branches and iterations interleave in a fixed,
//! reproducible order. A frame that ends reports to its parent; the parent
//! becomes runnable again when it has what it waited for.
//!
//! While a frame is being stepped it is taken out of the frame table, so its
//! handlers own it and can freely spawn children into the table.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use statecraft_language::ast::StateKind;
use statecraft_language::path::failure::state_cause;
use statecraft_language::scope::Variables;
use statecraft_language::Host;
use statecraft_types::errors::{QUERY_EVALUATION_ERROR, RUNTIME, TIMEOUT};
use statecraft_types::{EventType, Failure};

use crate::context::{self, StateInfo};
use crate::dataflow::{DataFlow, Part, Stage};
use crate::history::{self, Cursor, Recorder};
use crate::machine::{GraphId, Node};
use crate::{
    retry, Command, Event, Execution, Machine, RedriveError, Status, Step, TaskId, TimerId,
};

/// `States.DataLimitExceeded` (not among the ASL-reserved names of the
/// types crate, but raised by AWS).
pub(crate) const DATA_LIMIT_EXCEEDED: &str = "States.DataLimitExceeded";

/// Checks an `Assign` against the variable size limits before it is
/// applied: `limit` ([`crate::Limits::variables_bytes`], AWS's 256 KiB by
/// default) for one variable and for one `Assign`, and
/// [`crate::VARIABLES_TOTAL_FACTOR`] times it for everything an execution
/// (or a branch/iteration scope) holds.
pub(crate) fn check_variable_sizes(
    state: &str,
    assigned: &Map<String, Value>,
    current: &Variables,
    limit: usize,
) -> Result<(), Failure> {
    let total_limit = limit.saturating_mul(crate::VARIABLES_TOTAL_FACTOR);
    let mut assign_total = 0usize;
    for (name, value) in assigned {
        let size = history::text_len(value);
        if size > limit {
            return Err(Failure::new(
                DATA_LIMIT_EXCEEDED,
                format!(
                    "The state '{state}' assigned the variable '{name}' a value of {size} bytes, more than the limit of {limit} bytes for one variable."
                ),
            ));
        }
        assign_total += size;
    }
    if assign_total > limit {
        return Err(Failure::new(
            DATA_LIMIT_EXCEEDED,
            format!(
                "The state '{state}' assigned {assign_total} bytes of variables in one Assign, more than the limit of {limit} bytes."
            ),
        ));
    }
    let kept: usize = current
        .iter()
        .filter(|(k, _)| !assigned.contains_key(*k))
        .map(|(_, v)| history::text_len(v))
        .sum();
    if kept + assign_total > total_limit {
        return Err(Failure::new(
            DATA_LIMIT_EXCEEDED,
            format!(
                "The state '{state}' would raise the variables held by this execution to {} bytes, more than the limit of {total_limit} bytes.",
                kept + assign_total
            ),
        ));
    }
    Ok(())
}

/// The engine-private part of [`Execution`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Core {
    frames: Vec<Option<Frame>>,
    free: Vec<usize>,
    next_handle: u64,
    tasks: BTreeMap<TaskId, usize>,
    timers: BTreeMap<TimerId, Timer>,
    /// `$$.Execution.Input`.
    input: Value,
    execution_timer: Option<TimerId>,
    /// Where a redrive restarts: the top-level state that failed, its input
    /// and the variables then in scope.
    redrive: Option<RedrivePoint>,
    /// No history is recorded (EXPRESS executions): event ids still count,
    /// as cause texts name them, but no event is built.
    #[serde(default)]
    pub quiet: bool,
    /// Set by a redrive for the top-level Map/Parallel state it restarts.
    #[serde(default)]
    resume: Option<Resume>,
    /// Frames left runnable when a call's step budget ran out, in the
    /// order they run next (kept with the state, so the work survives a
    /// restart).
    #[serde(default, skip_serializing_if = "VecDeque::is_empty")]
    ready: VecDeque<usize>,
}

impl Core {
    pub(crate) fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct RedrivePoint {
    state: usize,
    input: Value,
    vars: Variables,
    /// For a Map or Parallel state: the iterations or branches that had
    /// succeeded (a redrive runs only the others).
    #[serde(default)]
    partial: Option<Vec<Option<Value>>>,
    /// For a Distributed Map whose map run failed: that map run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    map_run: Option<String>,
}

/// What a redriven Map or Parallel state resumes with.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Resume {
    state: usize,
    results: Vec<Option<Value>>,
    /// The failed map run a redriven Distributed Map redrives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    map_run: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum TimerKind {
    Wait,
    Backoff,
    TaskTimeout,
    Heartbeat,
    Execution,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct Timer {
    pub frame: usize,
    pub kind: TimerKind,
}

/// Where a child frame reports when it ends.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct Parent {
    pub frame: usize,
    /// Branch index (Parallel) or item index (Map).
    pub slot: usize,
    /// Map worker the iteration runs on.
    pub worker: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Frame {
    pub graph: GraphId,
    pub parent: Option<Parent>,
    pub vars: Variables,
    pub cursor: Cursor,
    /// Events of this frame are not recorded (distributed Map iterations run
    /// as child executions with their own histories).
    pub silent: bool,
    pub at: At,
    /// The JSON text of the output the last `*StateExited` recorded: the
    /// next state's input, so `*StateEntered` (or `ExecutionSucceeded`)
    /// reuses it instead of serialising the same value again.
    #[serde(skip)]
    pub text: Option<Value>,
}

/// A visit of an execution state (Task, Parallel, Map) across its retries.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Active {
    pub state: usize,
    /// The raw state input (ResultPath and Catch place into it).
    pub input: Value,
    pub entered_id: u64,
    /// The event the state's entry followed.
    #[serde(default)]
    pub entered_prev: u64,
    pub entered_ms: i64,
    pub retry_count: u32,
    /// Retries used, per retrier.
    pub attempts: Vec<u32>,
    /// Map/Parallel: the results of the iterations or branches that had
    /// succeeded when the state failed (kept for redrive).
    #[serde(default)]
    pub partial: Option<Vec<Option<Value>>>,
    /// Distributed Map: the map run that failed (a redrive redrives it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map_run: Option<String>,
}

/// What a frame is doing.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum At {
    /// Runnable: enter `state` with `input`.
    Enter { state: usize, input: Value },
    /// Runnable: a Map iteration about to record `MapIterationStarted`.
    Iteration {
        name: String,
        index: usize,
        start: usize,
        input: Value,
    },
    /// Runnable: (re)run the work of an entered Task/Parallel/Map state.
    Attempt(Active),
    /// Runnable: the work finished; finish the state (or handle the error).
    Settle {
        active: Active,
        outcome: Result<Value, Failure>,
    },
    /// Blocked on a task.
    Task(Box<crate::state::task::Pending>),
    /// Blocked in a Wait state.
    Wait(Box<crate::state::wait::Pending>),
    /// Runnable: a Wait state's timer fired.
    WaitDone(Box<crate::state::wait::Pending>),
    /// Blocked on a retry back-off.
    Backoff { active: Active, timer: TimerId },
    /// Blocked on branches.
    Parallel(Box<crate::state::parallel::Pending>),
    /// Blocked on iterations.
    Map(Box<crate::state::map::Pending>),
    /// Blocked on a Map's ItemReader.
    MapReader(Box<crate::state::reader::Pending>),
    /// Blocked on a Distributed Map's run of child executions.
    MapRun(Box<crate::state::map_run::Pending>),
    /// Runnable: the host reported the map run's end.
    MapRunDone {
        pending: Box<crate::state::map_run::Pending>,
        outcome: Result<Value, Failure>,
    },
    /// Runnable: a Map's ItemReader was answered.
    ReaderDone {
        pending: Box<crate::state::reader::Pending>,
        outcome: Result<Value, Failure>,
    },
    /// Placeholder while the frame is being stepped.
    Idle,
}

/// Where a state was entered: its index, its `*StateEntered` event and the
/// event that entry followed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entered {
    pub state: usize,
    pub id: u64,
    pub prev: u64,
}

/// What a state handler tells the frame loop.
pub(crate) enum Flow {
    /// `frame.at` was updated and is runnable: keep going.
    Continue,
    /// `frame.at` is a blocked state: park the frame.
    Block,
    /// The frame ended with its output.
    End(Value),
    /// The frame failed in `state`; `input` is that state's input when it
    /// is still at hand (for redrive).
    Fail {
        failure: Failure,
        state: usize,
        input: Option<Value>,
    },
}

/// One call into the engine: the machine, the clock reading, the host, and
/// what the call produced so far.
pub(crate) struct Run<'a> {
    pub m: &'a Machine,
    pub host: &'a dyn Host,
    pub now: i64,
    pub x: &'a mut Execution,
    pub step: Step,
    ready: VecDeque<usize>,
    /// The frame being stepped (taken out of the table meanwhile).
    current: usize,
    /// The partial results of the Map/Parallel state that just failed its
    /// frame (for the redrive point, when the frame is the top level).
    failed_partial: Option<Vec<Option<Value>>>,
    /// The failed map run of the Distributed Map that just failed its frame.
    failed_map_run: Option<String>,
    /// State transitions run by this call (against the step budget).
    steps: u32,
    /// An event was refused because the history limit is reached: the
    /// execution fails at the next opportunity.
    exhausted: bool,
}

impl<'a> Run<'a> {
    pub fn new(m: &'a Machine, x: &'a mut Execution, now: i64, host: &'a dyn Host) -> Run<'a> {
        // Work an earlier call left runnable runs first, in its order.
        let ready = std::mem::take(&mut x.core.ready);
        Run {
            m,
            host,
            now,
            x,
            step: Step::default(),
            ready,
            current: 0,
            failed_partial: None,
            failed_map_run: None,
            steps: 0,
            exhausted: false,
        }
    }

    /// Ends the call: runnable work left by a spent budget is kept with
    /// the execution and the step says so.
    fn end_turn(mut self) -> Step {
        if self.x.is_finished() {
            self.ready.clear();
        }
        self.step.yielded = !self.ready.is_empty();
        self.x.core.ready = std::mem::take(&mut self.ready);
        self.step
    }

    /// Whether this call has run all the transitions it may.
    fn budget_spent(&self) -> bool {
        self.m
            .limits
            .steps_per_turn
            .is_some_and(|budget| self.steps >= budget)
    }

    // ----- bookkeeping -------------------------------------------------

    /// Records an event on a frame's cursor (nothing for silent frames).
    pub fn emit(
        &mut self,
        silent: bool,
        cursor: &mut Cursor,
        event_type: EventType,
        details: Option<Map<String, Value>>,
        advance: bool,
    ) -> u64 {
        if silent {
            return 0;
        }
        if !self.x.core.quiet
            && self.x.last_event_id.saturating_add(1) >= self.m.limits.history_events
            && !closes_execution(event_type)
        {
            // The quota's last event is reserved for ExecutionFailed: this
            // one is dropped, and the execution fails once the handler
            // that emitted it returns.
            self.exhausted = true;
            cursor.last = self.x.last_event_id;
            return self.x.last_event_id;
        }
        if self.x.core.quiet {
            let id = self.x.last_event_id + 1;
            self.x.last_event_id = id;
            cursor.last = id;
            if advance {
                cursor.source = id;
            }
            return id;
        }
        Recorder {
            last_id: &mut self.x.last_event_id,
            events: &mut self.step.events,
            now_ms: self.now,
        }
        .emit(cursor, event_type, details, advance)
    }

    /// Whether events of a frame are being recorded (not silent, not an
    /// EXPRESS run): lets callers skip building details nobody keeps.
    pub fn recording(&self, silent: bool) -> bool {
        !silent && !self.x.core.quiet
    }

    pub fn alloc(&mut self, frame: Frame) -> usize {
        let core = &mut self.x.core;
        if let Some(id) = core.free.pop() {
            if let Some(slot) = core.frames.get_mut(id) {
                *slot = Some(frame);
                return id;
            }
        }
        core.frames.push(Some(frame));
        core.frames.len() - 1
    }

    fn take(&mut self, id: usize) -> Option<Frame> {
        self.x.core.frames.get_mut(id).and_then(Option::take)
    }

    fn put(&mut self, id: usize, frame: Frame) {
        if let Some(slot) = self.x.core.frames.get_mut(id) {
            *slot = Some(frame);
        }
    }

    fn release(&mut self, id: usize) {
        if let Some(slot) = self.x.core.frames.get_mut(id) {
            *slot = None;
            self.x.core.free.push(id);
        }
    }

    pub fn schedule(&mut self, id: usize) {
        self.ready.push_back(id);
    }

    fn handle_id(&mut self) -> u64 {
        self.x.core.next_handle += 1;
        self.x.core.next_handle
    }

    /// Arms a timer for `frame` at `fire_at_ms`.
    pub fn arm(&mut self, frame: usize, kind: TimerKind, fire_at_ms: i64) -> TimerId {
        let timer = self.handle_id();
        self.x.core.timers.insert(timer, Timer { frame, kind });
        self.step
            .commands
            .push(Command::StartTimer { timer, fire_at_ms });
        timer
    }

    pub fn disarm(&mut self, timer: Option<TimerId>) {
        if let Some(timer) = timer {
            if self.x.core.timers.remove(&timer).is_some() {
                self.step.commands.push(Command::CancelTimer { timer });
            }
        }
    }

    /// Registers a new task for `frame`.
    pub fn new_task(&mut self, frame: usize) -> TaskId {
        let task = self.handle_id();
        self.x.core.tasks.insert(task, frame);
        task
    }

    pub fn forget_task(&mut self, task: TaskId) {
        self.x.core.tasks.remove(&task);
    }

    pub fn node(&self, graph: GraphId, state: usize) -> Option<&'a Node> {
        self.m.node(graph, state)
    }

    pub fn region(&self) -> &str {
        self.x
            .context
            .execution_arn
            .split(':')
            .nth(3)
            .unwrap_or_default()
    }

    /// `$$` for a state, or `null` when the state never reads it.
    pub fn context_for(
        &self,
        node: &Node,
        entered_ms: i64,
        retry_count: Option<u32>,
        token: Option<&str>,
        item: Option<(usize, &Value)>,
    ) -> Value {
        if !node.uses_context {
            return Value::Null;
        }
        context::build(
            &self.x.context,
            &self.x.core.input,
            &StateInfo {
                name: &node.state.name,
                entered_ms,
                retry_count,
                token,
            },
            item,
        )
    }

    /// A data-flow stage of `node` on its raw `input`, in the frame's scope.
    #[inline]
    pub fn stage<'s>(
        &self,
        f: &'s Frame,
        node: &'s Node,
        input: &Value,
        context: Value,
    ) -> Stage<'s>
    where
        'a: 's,
    {
        Stage::new(
            node,
            input,
            context,
            &f.vars,
            self.host,
            self.now,
            self.m.jsonata_limits,
        )
    }

    /// A state failed while it was being entered (its fields could not be
    /// evaluated): the failure names the state, and a JSONata evaluation
    /// error is recorded as `EvaluationFailed` first, as AWS does.
    #[cold]
    pub fn state_failed(
        &mut self,
        f: &mut Frame,
        node: &Node,
        at: Entered,
        failure: Failure,
        input: Value,
    ) -> Flow {
        let failure = Self::in_state(node, at.id, failure);
        // AWS points EvaluationFailed at the event before the state was
        // entered, except in a Wait state (recorded in the corpus).
        let prev = if matches!(node.state.kind, StateKind::Wait(_)) {
            at.id
        } else {
            at.prev
        };
        self.evaluation_failed(f, node, &failure, prev);
        Flow::Fail {
            failure,
            state: at.state,
            input: Some(input),
        }
    }

    /// Records `EvaluationFailed` (with `previousEventId` `prev`) for a
    /// JSONata evaluation error; nothing for any other failure.
    #[cold]
    pub(crate) fn evaluation_failed(
        &mut self,
        f: &mut Frame,
        node: &Node,
        failure: &Failure,
        prev: u64,
    ) {
        if failure.error != QUERY_EVALUATION_ERROR {
            return;
        }
        let mut d = history::error_cause(&failure.error, &failure.cause);
        if let Some(location) = crate::jsonata::location(&failure.cause) {
            d.insert("location".into(), Value::String(location.to_owned()));
        }
        d.insert("state".into(), Value::String(node.state.name.clone()));
        let mut zero = Cursor {
            source: prev,
            last: prev,
        };
        let id = self.emit(
            f.silent,
            &mut zero,
            EventType::EvaluationFailed,
            Some(d),
            true,
        );
        if id != 0 {
            f.cursor.source = id;
            f.cursor.last = id;
        }
    }

    /// Prefixes an engine-raised failure with the state it happened in, as
    /// AWS words it.
    pub fn in_state(node: &Node, entered_id: u64, f: Failure) -> Failure {
        Failure {
            cause: state_cause(&node.state.name, entered_id, &f.cause),
            ..f
        }
    }

    /// Leaves a state: records `*StateExited`, applies the assignments and
    /// moves to `next` (or ends the frame).
    pub fn exit(
        &mut self,
        f: &mut Frame,
        node: &Node,
        next: Option<usize>,
        output: Value,
        assigned: Option<Map<String, Value>>,
    ) -> Flow {
        if let Some(assigned) = &assigned {
            if let Err(failure) = check_variable_sizes(
                &node.state.name,
                assigned,
                &f.vars,
                self.m.limits.variables_bytes,
            ) {
                return Flow::Fail {
                    failure,
                    state: node.index,
                    input: None,
                };
            }
        }
        if let Some(ty) = node.exited.filter(|_| !f.silent) {
            let quiet = self.x.core.quiet;
            let text = if quiet {
                Value::Null
            } else {
                history::text(&output)
            };
            let limit = self.m.limits.payload_bytes;
            let size = match &text {
                Value::String(s) => s.len(),
                _ if history::text_len_bound(&output) <= limit => 0,
                _ => history::text_len(&output),
            };
            if size > limit {
                return Flow::Fail {
                    failure: Failure::new(
                        DATA_LIMIT_EXCEEDED,
                        format!(
                            "The state/task '{}' returned a result with a size exceeding the maximum number of bytes service limit.",
                            node.state.name
                        ),
                    ),
                    state: node.index,
                    input: None,
                };
            }
            if quiet {
                self.emit(f.silent, &mut f.cursor, ty, None, true);
            } else {
                let details =
                    history::state_exited_text(&node.state.name, text.clone(), assigned.as_ref());
                self.emit(f.silent, &mut f.cursor, ty, Some(details), true);
                f.text = Some(text);
            }
        }
        if let Some(vars) = assigned {
            for (k, v) in vars {
                f.vars.insert(k, v);
            }
        }
        match next {
            Some(state) => {
                f.at = At::Enter {
                    state,
                    input: output,
                };
                Flow::Continue
            }
            None => Flow::End(output),
        }
    }

    // ----- entry points ----------------------------------------------

    pub fn start(mut self, input: Value, input_text: Option<String>, history: bool) -> Step {
        self.x.core.quiet = !history;
        let mut cursor = Cursor::default();
        let (details, text) = if history {
            let mut details = history::execution_started(&input, &self.x.context.role_arn);
            if let Some(text) = input_text {
                details.insert("input".into(), Value::String(text));
            }
            // The first state's input is the execution's input, text and all.
            let text = details.get("input").cloned();
            (Some(details), text)
        } else {
            (None, None)
        };
        self.emit(
            false,
            &mut cursor,
            EventType::ExecutionStarted,
            details,
            false,
        );
        if self.m.uses_context {
            self.x.core.input = input.clone();
        }
        let start = self.m.graphs.first().map(|g| g.start).unwrap_or_default();
        let root = self.alloc(Frame {
            graph: 0,
            parent: None,
            vars: Variables::new(),
            cursor,
            silent: false,
            at: At::Enter {
                state: start,
                input,
            },
            text,
        });
        if let Some(secs) = self.m.definition.timeout_seconds {
            let at = self.now.saturating_add((secs as i64).saturating_mul(1000));
            self.x.core.execution_timer = Some(self.arm(root, TimerKind::Execution, at));
        }
        self.schedule(root);
        self.drain();
        self.end_turn()
    }

    pub fn handle(mut self, event: Event) -> Step {
        match event {
            Event::TaskStarted { task, worker_name } => {
                self.on_task(task, |run, f, id| run.task_started(f, id, worker_name))
            }
            Event::TaskSubmitted { task, output } => {
                self.on_task(task, |run, f, _| run.task_submitted(f, &output))
            }
            Event::TaskSucceeded { task, output } => self.on_task_frame(task, |run, f, id| {
                if !Self::reader_answered(f, Ok(output.clone())) {
                    run.task_succeeded(f, id, output)
                }
            }),
            Event::TaskFailed { task, failure } => self.on_task_frame(task, |run, f, id| {
                if !Self::reader_answered(f, Err(failure.clone())) {
                    run.task_failed(f, id, failure)
                }
            }),
            Event::TaskHeartbeat { task } => {
                self.on_task(task, |run, f, id| run.task_heartbeat(f, id))
            }
            Event::TimerFired { timer } => self.timer_fired(timer),
            Event::Stop { error, cause } => self.stop(error, cause),
            Event::Continue => {}
        }
        self.drain();
        self.end_turn()
    }

    /// Hands the answer of a Map's ItemReader to the frame waiting for it;
    /// `false` when the frame is not waiting for a read.
    fn reader_answered(f: &mut Frame, outcome: Result<Value, Failure>) -> bool {
        if let At::MapRun(_) = f.at {
            if let At::MapRun(pending) = std::mem::replace(&mut f.at, At::Idle) {
                f.at = At::MapRunDone { pending, outcome };
            }
            return true;
        }
        if !matches!(f.at, At::MapReader(_)) {
            return false;
        }
        if let At::MapReader(pending) = std::mem::replace(&mut f.at, At::Idle) {
            f.at = At::ReaderDone { pending, outcome };
        }
        true
    }

    fn on_task(&mut self, task: TaskId, act: impl FnOnce(&mut Self, &mut Frame, usize)) {
        let Some(&id) = self.x.core.tasks.get(&task) else {
            return;
        };
        if let Some(mut f) = self.take(id) {
            act(self, &mut f, id);
            self.put(id, f);
        }
    }

    /// Like `on_task`, but the task ends: the task is forgotten and the
    /// frame is scheduled to settle.
    fn on_task_frame(&mut self, task: TaskId, act: impl FnOnce(&mut Self, &mut Frame, usize)) {
        let Some(id) = self.x.core.tasks.remove(&task) else {
            return;
        };
        if let Some(mut f) = self.take(id) {
            act(self, &mut f, id);
            self.put(id, f);
            self.schedule(id);
        }
    }

    fn timer_fired(&mut self, timer: TimerId) {
        let Some(t) = self.x.core.timers.remove(&timer) else {
            return;
        };
        if t.kind == TimerKind::Execution {
            self.x.core.execution_timer = None;
            self.finish_aborted(
                Status::TimedOut,
                EventType::ExecutionTimedOut,
                Some(TIMEOUT.to_owned()),
                None,
            );
            return;
        }
        let Some(mut f) = self.take(t.frame) else {
            return;
        };
        let runnable = match t.kind {
            TimerKind::Wait | TimerKind::Backoff => match std::mem::replace(&mut f.at, At::Idle) {
                At::Wait(p) if p.timer == timer => {
                    f.at = At::WaitDone(p);
                    true
                }
                At::Backoff { active, timer: t2 } if t2 == timer => {
                    f.at = At::Attempt(active);
                    true
                }
                other => {
                    f.at = other;
                    false
                }
            },
            TimerKind::TaskTimeout | TimerKind::Heartbeat => {
                self.task_timed_out(&mut f, timer, t.kind)
            }
            TimerKind::Execution => false,
        };
        self.put(t.frame, f);
        if runnable {
            self.schedule(t.frame);
        }
    }

    fn stop(&mut self, error: Option<String>, cause: Option<String>) {
        self.finish_aborted(Status::Aborted, EventType::ExecutionAborted, error, cause);
    }

    /// Ends the execution from the outside (stop or execution timeout):
    /// cancels everything outstanding and records the final event. AWS
    /// records these with `previousEventId` 0.
    fn finish_aborted(
        &mut self,
        status: Status,
        ty: EventType,
        error: Option<String>,
        cause: Option<String>,
    ) {
        // Remember where the top level was, for redrive.
        if let Some(Some(root)) = self.x.core.frames.first() {
            let point = match &root.at {
                At::Enter { state, input } => Some((*state, input.clone())),
                At::Attempt(a) | At::Backoff { active: a, .. } | At::Settle { active: a, .. } => {
                    Some((a.state, a.input.clone()))
                }
                At::Task(p) => Some((p.active.state, p.active.input.clone())),
                At::Wait(p) | At::WaitDone(p) => Some((p.state, p.input.clone())),
                At::Parallel(p) => Some((p.active.state, p.active.input.clone())),
                At::Map(p) => Some((p.active.state, p.active.input.clone())),
                At::MapReader(p) | At::ReaderDone { pending: p, .. } => {
                    Some((p.active.state, p.active.input.clone()))
                }
                At::MapRun(p) | At::MapRunDone { pending: p, .. } => {
                    Some((p.active.state, p.active.input.clone()))
                }
                At::Iteration { .. } | At::Idle => None,
            };
            if let Some((state, input)) = point {
                self.x.core.redrive = Some(RedrivePoint {
                    state,
                    input,
                    vars: root.vars.clone(),
                    partial: None,
                    // A stopped map run is redriven with its parent.
                    map_run: match &root.at {
                        At::MapRun(p) => Some(p.map_run_arn.clone()),
                        _ => None,
                    },
                });
            }
        }
        self.abort_frame(0);
        let t = self.x.core.execution_timer.take();
        self.disarm(t);
        let error = error.unwrap_or_default();
        let cause = cause.unwrap_or_default();
        let mut cursor = Cursor::default();
        let details = history::error_cause(&error, &cause);
        self.emit(false, &mut cursor, ty, Some(details), true);
        self.x.status = status;
        if status == Status::TimedOut || !error.is_empty() || !cause.is_empty() {
            self.x.failure = Some(Failure::new(error, cause));
        }
        self.ready.clear();
    }

    /// Cancels a frame and everything below it (tasks, timers, children).
    pub fn abort_frame(&mut self, id: usize) {
        self.abort(id, false);
    }

    /// Like [`Run::abort_frame`], recording `*StateAborted` for the state
    /// each aborted frame was in, as AWS does for the other branches of a
    /// failed Parallel or Map (a stopped execution records none).
    pub fn abort_frame_recorded(&mut self, id: usize) {
        self.abort(id, true);
    }

    fn abort(&mut self, id: usize, record: bool) {
        let Some(mut f) = self.take(id) else { return };
        if !record && matches!(f.at, At::MapRun(_)) {
            // A stopped (or timed-out) parent records its map run's end
            // too, as AWS does: the map run is a resource of its own.
            self.emit(
                f.silent,
                &mut f.cursor,
                EventType::MapRunAborted,
                None,
                true,
            );
        }
        if record {
            let aborted = match &f.at {
                At::Task(_) => Some(EventType::TaskStateAborted),
                At::Wait(_) | At::WaitDone(_) => Some(EventType::WaitStateAborted),
                At::Parallel(_) => Some(EventType::ParallelStateAborted),
                At::Map(_) => Some(EventType::MapStateAborted),
                At::MapRun(_) => {
                    self.emit(
                        f.silent,
                        &mut f.cursor,
                        EventType::MapRunAborted,
                        None,
                        true,
                    );
                    Some(EventType::MapStateAborted)
                }
                _ => None,
            };
            if let Some(ty) = aborted {
                self.emit(f.silent, &mut f.cursor, ty, None, true);
            }
        }
        match f.at {
            At::Task(p) => {
                self.x.core.tasks.remove(&p.task);
                self.step
                    .commands
                    .push(Command::CancelTask { task: p.task });
                self.disarm(p.timeout);
                self.disarm(p.heartbeat);
            }
            At::Wait(p) | At::WaitDone(p) => self.disarm(Some(p.timer)),
            At::MapReader(p) => {
                self.x.core.tasks.remove(&p.task);
                self.step
                    .commands
                    .push(Command::CancelTask { task: p.task });
            }
            At::MapRun(p) => {
                self.x.core.tasks.remove(&p.task);
                self.step
                    .commands
                    .push(Command::CancelTask { task: p.task });
            }
            At::Backoff { timer, .. } => self.disarm(Some(timer)),
            At::Parallel(p) => {
                for c in p.children.into_iter().flatten() {
                    self.abort(c, record);
                }
            }
            At::Map(p) => {
                for c in p.running.into_values() {
                    self.abort(c, record);
                }
            }
            _ => {}
        }
        self.release(id);
    }

    // ----- the loop ----------------------------------------------------

    /// Runs runnable frames until none is left, the execution ends, or the
    /// step budget is spent (the rest stays in `ready` for a later call).
    fn drain(&mut self) {
        loop {
            if self.exhausted && !self.x.is_finished() {
                self.fail_history_limit();
            }
            if self.x.is_finished() {
                self.ready.clear();
                break;
            }
            if self.budget_spent() {
                break;
            }
            let Some(id) = self.ready.pop_front() else {
                break;
            };
            self.step_frame(id);
        }
    }

    /// The history limit is reached: everything outstanding is cancelled
    /// and the execution fails with AWS's error and cause, recorded as the
    /// quota's last event.
    fn fail_history_limit(&mut self) {
        self.exhausted = false;
        for id in 0..self.x.core.frames.len() {
            self.abort_frame(id);
        }
        self.x.core.frames.clear();
        self.x.core.free.clear();
        for timer in std::mem::take(&mut self.x.core.timers).into_keys() {
            self.step.commands.push(Command::CancelTimer { timer });
        }
        for task in std::mem::take(&mut self.x.core.tasks).into_keys() {
            self.step.commands.push(Command::CancelTask { task });
        }
        self.x.core.execution_timer = None;
        let failure = Failure::new(
            RUNTIME,
            crate::history_limit_cause(self.m.limits.history_events),
        );
        let mut cursor = Cursor {
            source: self.x.last_event_id,
            last: self.x.last_event_id,
        };
        let details = history::error_cause(&failure.error, &failure.cause);
        self.emit(
            false,
            &mut cursor,
            EventType::ExecutionFailed,
            Some(details),
            true,
        );
        self.x.status = Status::Failed;
        self.x.failure = Some(failure);
        self.ready.clear();
    }

    fn step_frame(&mut self, id: usize) {
        let Some(mut f) = self.take(id) else { return };
        self.current = id;
        self.steps = self.steps.saturating_add(1);
        loop {
            let flow = match std::mem::replace(&mut f.at, At::Idle) {
                At::Enter { state, input } => self.enter(&mut f, id, state, input),
                At::Iteration {
                    name,
                    index,
                    start,
                    input,
                } => {
                    let details = self
                        .recording(f.silent)
                        .then(|| history::map_iteration(&name, index));
                    self.emit(
                        f.silent,
                        &mut f.cursor,
                        EventType::MapIterationStarted,
                        details,
                        true,
                    );
                    f.at = At::Enter {
                        state: start,
                        input,
                    };
                    Flow::Continue
                }
                At::Attempt(active) => self.attempt(&mut f, id, active),
                At::WaitDone(p) => self.wait_done(&mut f, *p),
                At::ReaderDone { pending, outcome } => {
                    self.reader_finish(&mut f, id, *pending, outcome)
                }
                At::MapRunDone { pending, outcome } => {
                    self.map_run_finish(&mut f, *pending, outcome)
                }
                At::Settle { active, outcome } => self.settle(&mut f, active, outcome),
                other => {
                    f.at = other;
                    Flow::Block
                }
            };
            match flow {
                Flow::Continue => {
                    self.steps = self.steps.saturating_add(1);
                    if self.exhausted || self.budget_spent() {
                        // Runnable still: it goes first in the next turn.
                        self.put(id, f);
                        self.ready.push_front(id);
                        return;
                    }
                    continue;
                }
                Flow::Block => {
                    self.put(id, f);
                    return;
                }
                Flow::End(output) => return self.frame_done(id, f, Ok(output), None),
                Flow::Fail {
                    failure,
                    state,
                    input,
                } => return self.frame_done(id, f, Err(failure), Some((state, input))),
            }
        }
    }

    fn enter(&mut self, f: &mut Frame, id: usize, state: usize, input: Value) -> Flow {
        let Some(node) = self.node(f.graph, state) else {
            return Flow::Fail {
                failure: Failure::runtime(format!("no state with index {state}")),
                state,
                input: Some(input),
            };
        };
        let details = match f.text.take() {
            Some(text) => Some(history::state_entered_text(&node.state.name, text)),
            None if f.silent || self.x.core.quiet => None,
            None => Some(history::state_entered(&node.state.name, &input)),
        };
        let entered_prev = f.cursor.source;
        let entered_id = self.emit(f.silent, &mut f.cursor, node.entered, details, true);
        let at = Entered {
            state,
            id: entered_id,
            prev: entered_prev,
        };
        match &node.state.kind {
            StateKind::Pass(p) => self.pass(f, node, p, at, input),
            StateKind::Choice(c) => self.choice(f, node, c, at, input),
            StateKind::Wait(w) => self.wait(f, id, node, w, at, input),
            StateKind::Succeed => self.succeed(f, node, at, input),
            StateKind::Fail(fl) => self.fail(f, node, fl, at, input),
            StateKind::Task(_) | StateKind::Parallel(_) | StateKind::Map(_) => {
                f.at = At::Attempt(Active {
                    state,
                    input,
                    entered_id,
                    entered_prev,
                    entered_ms: self.now,
                    retry_count: 0,
                    attempts: vec![0; node.state.retriers().len()],
                    partial: None,
                    map_run: None,
                });
                Flow::Continue
            }
        }
    }

    fn attempt(&mut self, f: &mut Frame, id: usize, active: Active) -> Flow {
        let Some(node) = self.node(f.graph, active.state) else {
            return Flow::Fail {
                failure: Failure::runtime("unknown state"),
                state: active.state,
                input: Some(active.input),
            };
        };
        match &node.state.kind {
            StateKind::Task(t) => self.task_attempt(f, id, node, t, active),
            StateKind::Parallel(_) => self.parallel_attempt(f, id, node, active),
            StateKind::Map(m) => self.map_attempt(f, id, node, m, active),
            _ => Flow::Fail {
                failure: Failure::runtime("state cannot be attempted"),
                state: active.state,
                input: Some(active.input),
            },
        }
    }

    /// A Task, Parallel or Map state's work is over: finish the state with
    /// its result, or handle its error with Retry and Catch. Also resumes a
    /// Wait state whose timer fired.
    fn settle(&mut self, f: &mut Frame, active: Active, outcome: Result<Value, Failure>) -> Flow {
        let Some(node) = self.node(f.graph, active.state) else {
            return Flow::Fail {
                failure: Failure::runtime("unknown state"),
                state: active.state,
                input: None,
            };
        };
        match outcome {
            Ok(result) => {
                let mut active = active;
                let ctx = self.context_for(
                    node,
                    active.entered_ms,
                    Some(active.retry_count),
                    None,
                    None,
                );
                let flow = node.flow;
                let done = {
                    // Assign sees the raw result; the output is the result
                    // through ResultSelector/ResultPath/OutputPath or Output.
                    let s = self
                        .stage(f, node, &active.input, ctx)
                        .with("result", &result);
                    flow.assign(&s, Part::State, &result).and_then(|assigned| {
                        let output =
                            flow.output(&s, Part::State, &mut active.input, Some(result))?;
                        Ok((output, assigned))
                    })
                };
                match done {
                    Ok((output, assigned)) => self.exit(f, node, node.next, output, assigned),
                    Err(e) => {
                        let failure = Self::in_state(node, active.entered_id, e);
                        self.evaluation_failed(f, node, &failure, active.entered_prev);
                        self.handle_failure(f, node, active, failure)
                    }
                }
            }
            Err(failure) => self.handle_failure(f, node, active, failure),
        }
    }

    /// Retry, then Catch, then fail the frame.
    pub fn handle_failure(
        &mut self,
        f: &mut Frame,
        node: &Node,
        mut active: Active,
        failure: Failure,
    ) -> Flow {
        let retriers = node.state.retriers();
        let raised_by = retry::StateType::of(&node.state.kind);
        if let Some(i) = retry::find(retriers, &failure, raised_by) {
            if let (Some(r), Some(used)) = (retriers.get(i), active.attempts.get_mut(i)) {
                if u64::from(*used) < r.max_attempts {
                    let delay = retry::delay_ms(r, *used, self.host);
                    *used += 1;
                    active.retry_count += 1;
                    if delay <= 0 {
                        f.at = At::Attempt(active);
                        return Flow::Continue;
                    }
                    // The frame id is needed for the timer; it is the id the
                    // frame will be put back under (see step_frame).
                    let frame_id = self.current_frame_id(f);
                    let timer =
                        self.arm(frame_id, TimerKind::Backoff, self.now.saturating_add(delay));
                    f.at = At::Backoff { active, timer };
                    return Flow::Block;
                }
            }
        }
        let failed_event = match node.state.kind {
            StateKind::Map(_) => Some(EventType::MapStateFailed),
            StateKind::Parallel(_) => Some(EventType::ParallelStateFailed),
            _ => None,
        };
        if failure.error != RUNTIME {
            if let Some(ty) = failed_event {
                self.emit(f.silent, &mut f.cursor, ty, None, true);
            }
        }
        for (i, c) in node.state.catchers().iter().enumerate() {
            if !retry::matches(&c.error_equals, &failure, raised_by) {
                continue;
            }
            let error_output = crate::history::error_output(&failure);
            let ctx = self.context_for(
                node,
                active.entered_ms,
                Some(active.retry_count),
                None,
                None,
            );
            let flow = node.flow;
            let done = {
                let s = self
                    .stage(f, node, &active.input, ctx)
                    .with("errorOutput", &error_output);
                let part = Part::Catcher(i);
                flow.assign(&s, part, &error_output).and_then(|assigned| {
                    let output = flow.output(&s, part, &mut active.input, Some(error_output))?;
                    Ok((output, assigned))
                })
            };
            return match done {
                Ok((output, assigned)) => {
                    let next = node.catch_next.get(i).copied();
                    self.exit(f, node, next, output, assigned)
                }
                Err(e) => {
                    let failure = Self::in_state(node, active.entered_id, e);
                    self.evaluation_failed(f, node, &failure, active.entered_prev);
                    Flow::Fail {
                        failure,
                        state: active.state,
                        input: Some(active.input),
                    }
                }
            };
        }
        self.failed_partial = active.partial;
        self.failed_map_run = active.map_run;
        Flow::Fail {
            failure,
            state: active.state,
            input: Some(active.input),
        }
    }

    /// Takes what a redrive left for the top-level `state` (Map/Parallel).
    /// Takes the failed map run a redrive left for the top-level
    /// Distributed Map `state`.
    pub fn take_resume_map_run(&mut self, f: &Frame, state: usize) -> Option<String> {
        if f.parent.is_some() || f.graph != 0 {
            return None;
        }
        match &mut self.x.core.resume {
            Some(r) if r.state == state => r.map_run.take(),
            _ => None,
        }
    }

    pub fn take_resume(&mut self, f: &Frame, state: usize) -> Option<Vec<Option<Value>>> {
        if f.parent.is_some() || f.graph != 0 {
            return None;
        }
        match self.x.core.resume.take() {
            Some(r) if r.state == state => Some(r.results),
            other => {
                self.x.core.resume = other;
                None
            }
        }
    }

    /// The id of the frame being stepped. Frames are stepped one at a time
    /// and taken out of the table meanwhile; the stepping loop records it.
    fn current_frame_id(&self, _f: &Frame) -> usize {
        self.current
    }

    /// A frame ended: the execution ends (top level) or its parent learns.
    fn frame_done(
        &mut self,
        id: usize,
        f: Frame,
        outcome: Result<Value, Failure>,
        failed_at: Option<(usize, Option<Value>)>,
    ) {
        self.release(id);
        let partial = self.failed_partial.take();
        let map_run = self.failed_map_run.take();
        let Some(parent) = f.parent else {
            return self.finish(f, outcome, failed_at, partial, map_run);
        };
        let mut f = f;
        // A Task whose failure leaves a branch or iteration is recorded as
        // aborted there (recorded in the corpus).
        if let (Err(_), Some((state, _))) = (&outcome, &failed_at) {
            let is_task = self
                .node(f.graph, *state)
                .is_some_and(|n| matches!(n.state.kind, StateKind::Task(_)));
            if is_task {
                self.emit(
                    f.silent,
                    &mut f.cursor,
                    EventType::TaskStateAborted,
                    None,
                    false,
                );
            }
        }
        let Some(mut p) = self.take(parent.frame) else {
            return;
        };
        let runnable = if matches!(p.at, At::Parallel(_)) {
            self.parallel_child_done(&mut p, parent, f.cursor, outcome)
        } else if matches!(p.at, At::Map(_)) {
            self.map_child_done(&mut p, parent, f.cursor, outcome)
        } else {
            false
        };
        self.put(parent.frame, p);
        if runnable {
            self.schedule(parent.frame);
        }
    }

    /// The top-level frame ended: record the execution's end.
    fn finish(
        &mut self,
        mut f: Frame,
        outcome: Result<Value, Failure>,
        failed_at: Option<(usize, Option<Value>)>,
        partial: Option<Vec<Option<Value>>>,
        map_run: Option<String>,
    ) {
        let t = self.x.core.execution_timer.take();
        self.disarm(t);
        match outcome {
            Ok(output) => {
                let details = match f.text.take() {
                    Some(text) => Some(history::output_text(text)),
                    None if self.x.core.quiet => None,
                    None => Some(history::output(&output)),
                };
                self.emit(
                    false,
                    &mut f.cursor,
                    EventType::ExecutionSucceeded,
                    details,
                    true,
                );
                self.x.status = Status::Succeeded;
                self.x.output = Some(output);
            }
            Err(failure) => {
                let details = history::error_cause(&failure.error, &failure.cause);
                self.emit(
                    false,
                    &mut f.cursor,
                    EventType::ExecutionFailed,
                    Some(details),
                    true,
                );
                if let Some((state, input)) = failed_at {
                    self.x.core.redrive = Some(RedrivePoint {
                        state,
                        input: input.unwrap_or(Value::Null),
                        vars: f.vars,
                        partial,
                        map_run,
                    });
                }
                self.x.status = Status::Failed;
                self.x.failure = Some(failure);
            }
        }
    }

    pub fn redrive(mut self) -> Result<Step, RedriveError> {
        let point = self
            .x
            .core
            .redrive
            .take()
            .ok_or(RedriveError::NothingToRedrive)?;
        // Whatever is left of the old run goes.
        for id in 0..self.x.core.frames.len() {
            self.abort_frame(id);
        }
        self.x.core.frames.clear();
        self.x.core.free.clear();
        self.x.core.tasks.clear();
        self.x.core.timers.clear();
        self.x.context.redrive_count += 1;
        self.x.core.resume = match (point.partial, point.map_run) {
            (None, None) => None,
            (partial, map_run) => Some(Resume {
                state: point.state,
                results: partial.unwrap_or_default(),
                map_run,
            }),
        };
        self.x.status = Status::Running;
        self.x.failure = None;
        self.x.output = None;
        let mut cursor = Cursor::default();
        let details = history::one("redriveCount", Value::from(self.x.context.redrive_count));
        let id = self.emit(
            false,
            &mut cursor,
            EventType::ExecutionRedriven,
            Some(details),
            true,
        );
        cursor.source = id;
        let root = self.alloc(Frame {
            graph: 0,
            parent: None,
            vars: point.vars,
            cursor,
            silent: false,
            at: At::Enter {
                state: point.state,
                input: point.input,
            },
            text: None,
        });
        self.schedule(root);
        self.drain();
        Ok(self.end_turn())
    }
}

impl Run<'_> {
    /// Restarts a finished execution at top-level state `state` with
    /// `input`, as an operator's RestartExecution asks: whatever is left of
    /// the old run goes, `RedriveCount` goes up and `ExecutionRedriven`
    /// records `details` beside it. Variables assigned before are kept only
    /// when the state is the one a redrive would restart (the engine keeps
    /// the variables of that point alone).
    pub fn restart_from(mut self, state: usize, input: Value, details: Map<String, Value>) -> Step {
        let point = self.x.core.redrive.take();
        for id in 0..self.x.core.frames.len() {
            self.abort_frame(id);
        }
        self.x.core.frames.clear();
        self.x.core.free.clear();
        self.x.core.tasks.clear();
        self.x.core.timers.clear();
        self.x.core.resume = None;
        self.x.context.redrive_count += 1;
        self.x.status = Status::Running;
        self.x.failure = None;
        self.x.output = None;
        let vars = match point {
            Some(p) if p.state == state => p.vars,
            _ => Variables::new(),
        };
        let mut cursor = Cursor::default();
        let mut all = history::one("redriveCount", Value::from(self.x.context.redrive_count));
        all.extend(details);
        let id = self.emit(
            false,
            &mut cursor,
            EventType::ExecutionRedriven,
            Some(all),
            true,
        );
        cursor.source = id;
        let root = self.alloc(Frame {
            graph: 0,
            parent: None,
            vars,
            cursor,
            silent: false,
            at: At::Enter { state, input },
            text: None,
        });
        self.schedule(root);
        self.drain();
        self.end_turn()
    }
}

/// The top-level state a redrive would restart and the input it received.
pub(crate) fn redrive_point(core: &Core) -> Option<(usize, &Value)> {
    core.redrive.as_ref().map(|p| (p.state, &p.input))
}

/// Whether an event ends the execution (these may take the history
/// quota's last place).
fn closes_execution(event_type: EventType) -> bool {
    matches!(
        event_type,
        EventType::ExecutionSucceeded
            | EventType::ExecutionFailed
            | EventType::ExecutionAborted
            | EventType::ExecutionTimedOut
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use statecraft_types::EventType;

    use crate::host::DeterministicHost;
    use crate::state::fixtures;
    use crate::{Event, Execution, Limits, Status};

    const T0: i64 = 1_700_000_000_000;

    /// Pass → Choice → Pass … with nothing that waits.
    fn spin() -> serde_json::Value {
        json!({
            "StartAt": "Spin",
            "States": {
                "Spin": {"Type": "Pass", "Next": "Again"},
                "Again": {"Type": "Choice",
                          "Choices": [{"Variable": "$.stop", "IsPresent": true, "Next": "Done"}],
                          "Default": "Spin"},
                "Done": {"Type": "Succeed"}
            }
        })
    }

    fn start(limits: Limits) -> (crate::Machine, Execution, crate::Step) {
        let mut m = fixtures::machine(&spin());
        m.limits = limits;
        let host = DeterministicHost::new(1);
        let (x, step) = Execution::start(
            &m,
            crate::driver::context_for("spin", T0),
            json!({}),
            T0,
            &host,
        );
        (m, x, step)
    }

    #[test]
    fn a_loop_fails_at_the_history_limit_with_aws_error_and_cause() {
        for limit in [25_000u64, 101, 7] {
            let o = {
                let mut m = fixtures::machine(&spin());
                m.limits.history_events = limit;
                let mut clock = crate::driver::VirtualClock { now_ms: T0 };
                let host = DeterministicHost::new(1);
                let options = crate::driver::Options {
                    context: crate::driver::context_for("spin", T0),
                    clock: &mut clock,
                    host: &host,
                    observer: None,
                    max_events: None,
                    input_text: None,
                };
                crate::driver::run(&m, json!({}), options, &mut crate::driver::echo)
            };
            assert_eq!(o.status, Status::Failed, "limit {limit}");
            assert_eq!(o.error.as_deref(), Some("States.Runtime"));
            assert_eq!(
                o.cause,
                Some(format!(
                    "The execution reached the maximum number of history events ({limit})."
                ))
            );
            assert_eq!(o.history.len() as u64, limit, "limit {limit}");
            let last = o.history.last().unwrap();
            assert_eq!(last.id, limit);
            assert_eq!(last.previous_event_id, limit - 1);
            assert_eq!(last.event_type, EventType::ExecutionFailed);
            // Ids are contiguous: nothing was dropped in between.
            for (i, e) in o.history.iter().enumerate() {
                assert_eq!(e.id, i as u64 + 1);
            }
        }
    }

    #[test]
    fn a_spent_budget_yields_and_continue_goes_on_where_it_stopped() {
        let limits = Limits {
            history_events: 1_000,
            steps_per_turn: Some(50),
            ..Limits::default()
        };
        let (m, mut x, step) = start(limits);
        assert!(step.yielded);
        assert!(x.has_pending_turn());
        assert!(!x.is_finished());
        // A turn is bounded: 50 transitions, two events each at most.
        assert!(step.events.len() <= 101, "{}", step.events.len());
        let mut events = step.events;
        // The execution's state survives a round trip (a restart) between turns.
        let text = serde_json::to_string(&x).unwrap();
        x = serde_json::from_str(&text).unwrap();
        assert!(x.has_pending_turn());
        let host = DeterministicHost::new(1);
        let mut turns = 1;
        while !x.is_finished() {
            let step = x.handle(&m, Event::Continue, T0, &host);
            assert!(step.events.len() <= 101);
            events.extend(step.events);
            turns += 1;
            assert!(turns < 100, "never ends");
        }
        assert!(!x.has_pending_turn());
        assert_eq!(events.len(), 1_000);
        for (i, e) in events.iter().enumerate() {
            assert_eq!(e.id, i as u64 + 1);
        }
        assert_eq!(x.failure.as_ref().unwrap().error, "States.Runtime");
    }

    #[test]
    fn stop_between_turns_aborts_and_leaves_nothing_runnable() {
        let limits = Limits {
            history_events: 1_000_000,
            steps_per_turn: Some(100),
            ..Limits::default()
        };
        let (m, mut x, step) = start(limits);
        assert!(step.yielded);
        let host = DeterministicHost::new(1);
        let step = x.handle(
            &m,
            Event::Stop {
                error: Some("E".into()),
                cause: None,
            },
            T0,
            &host,
        );
        assert_eq!(x.status, Status::Aborted);
        assert!(!step.yielded);
        assert!(!x.has_pending_turn());
        assert_eq!(
            step.events.last().map(|e| e.event_type),
            Some(EventType::ExecutionAborted)
        );
    }

    /// A state that fails while it is entered keeps its input for a redrive
    /// whatever its type and query language (a JSONPath Pass, Choice or
    /// Succeed used to leave `null`). Not yet when ResultPath or OutputPath
    /// fail: the input has become the output by then, and keeping a copy
    /// for that rare case would cost every state a clone.
    #[test]
    fn a_failed_state_leaves_its_input_as_the_redrive_point() {
        let input = json!({"a": 1});
        let cases = [
            json!({"Type": "Pass", "InputPath": "$.missing", "End": true}),
            json!({"Type": "Pass", "Parameters": {"x.$": "$.missing"}, "End": true}),
            json!({"Type": "Succeed", "InputPath": "$.missing"}),
            json!({"Type": "Choice", "Choices": [
                {"Variable": "$.a", "StringEquals": "x", "Next": "S"}]}),
            json!({"Type": "Wait", "SecondsPath": "$.missing", "End": true}),
            json!({"Type": "Fail", "Error": "E"}),
            json!({"Type": "Pass", "QueryLanguage": "JSONata",
                   "Output": "{% $states.input.a & $error('boom') %}", "End": true}),
        ];
        for state in cases {
            let mut states = serde_json::Map::new();
            if state["Type"] == "Choice" {
                states.insert("S".into(), json!({"Type": "Succeed"}));
            }
            states.insert("T".into(), state);
            let def = json!({"StartAt": "T", "States": states});
            let o = fixtures::run(&def, input.clone());
            assert_eq!(o.status, Status::Failed, "{def}");
            let m = fixtures::machine(&def);
            assert_eq!(
                o.execution.redrive_point(&m),
                Some(("T".to_string(), input.clone())),
                "{def}"
            );
        }
    }

    #[test]
    fn restart_from_runs_a_top_level_state_with_the_given_input_and_refuses_others() {
        let def = json!({
            "StartAt": "A",
            "States": {
                "A": {"Type": "Pass", "Result": 1, "ResultPath": "$.a", "Next": "Par"},
                "Par": {"Type": "Parallel", "Next": "B", "Branches": [
                    {"StartAt": "Inner", "States": {"Inner": {"Type": "Pass", "End": true}}}
                ]},
                "B": {"Type": "Pass", "End": true}
            }
        });
        let m = fixtures::machine(&def);
        let host = DeterministicHost::new(1);
        let ctx = crate::driver::context_for("restart", T0);
        let (mut x, step) = Execution::start(&m, ctx, json!({"in": 0}), T0, &host);
        assert_eq!(x.status, Status::Succeeded);
        let last = step.events.last().map(|e| e.id).unwrap_or(0);

        // (state, expected refusal)
        let refusals = [
            ("Inner", crate::RestartError::NestedState("Inner".into())),
            ("Zed", crate::RestartError::UnknownState("Zed".into())),
        ];
        for (state, expected) in refusals {
            let r = x.restart_from(&m, state, json!({}), serde_json::Map::new(), T0, &host);
            assert_eq!(r.err(), Some(expected));
        }

        let mut details = serde_json::Map::new();
        details.insert("fromState".into(), json!("B"));
        let step = x
            .restart_from(&m, "B", json!({"edited": true}), details, T0 + 5, &host)
            .expect("restarts");
        assert_eq!(x.status, Status::Succeeded);
        assert_eq!(x.output, Some(json!({"edited": true})));
        assert_eq!(x.context.redrive_count, 1);
        let first = &step.events[0];
        assert_eq!(first.event_type, EventType::ExecutionRedriven);
        assert_eq!(first.id, last + 1, "the history goes on where it stopped");
        let d = first.details.as_ref().expect("details");
        assert_eq!(
            (d["redriveCount"].clone(), d["fromState"].clone()),
            (json!(1), json!("B"))
        );
        assert_eq!(step.events[1].event_type, EventType::PassStateEntered);

        // An outside event takes the next id; a running execution is refused.
        let mut running = x.clone();
        running.status = Status::Running;
        let r = running.restart_from(&m, "A", json!({}), serde_json::Map::new(), T0, &host);
        assert_eq!(r.err(), Some(crate::RestartError::NotFinished));
        let next = x.last_event_id + 1;
        let e = x.record(EventType::ExecutionPaused, None, T0 + 9);
        assert_eq!(
            (e.id, e.previous_event_id, x.last_event_id),
            (next, next - 1, next)
        );
    }
}
