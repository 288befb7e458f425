//! The deterministic Statecraft interpreter.
//!
//! An [`Execution`] is a value: given a [`Machine`] and an [`Event`] (started,
//! task succeeded, timer fired, stop requested …) it advances as far as it can
//! without waiting and returns a [`Step`]: the history events it produced and
//! the [`Command`]s the caller must carry out (invoke a task, arm a timer …).
//! Nothing here reads a clock, sleeps, does I/O or draws randomness: the
//! current time and a [`Host`] come in with every call, so a test can run a
//! workflow with waits and jittered retries instantly and deterministically.
//!
//! Architecture invariant: this crate does no I/O and is not async.
//!
//! Code map: [`machine`] prepares a definition; `exec` holds the frames of a
//! running execution and the run loop; `state::*` is one file per state type;
//! `dataflow` is the JSONPath input/output pipeline; [`history`] builds AWS's
//! event details; `context` builds `$$`; `retry` does Retry/Catch matching;
//! [`driver`] runs an execution to the end in-process (CLI, tests, benches);
//! [`host`] has a deterministic [`Host`] for tests.

mod context;
mod dataflow;
pub mod driver;
mod exec;
pub mod history;
pub mod host;
mod jsonata;
pub mod machine;
pub mod map_run;
pub mod retry;
pub mod stages;
mod state;
pub mod time;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use statecraft_types::{Failure, HistoryEvent};

pub use jsonata::{JsonataLimits, DEFAULT_JSONATA_DEPTH, DEFAULT_JSONATA_TIME};
pub use machine::Machine;
pub use statecraft_language::Host;

/// Why a definition cannot be prepared for execution.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    #[error("the definition cannot be executed: {0}")]
    Definition(String),
}

/// Why [`Execution::redrive`] refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedriveError {
    /// Only FAILED, TIMED_OUT and ABORTED executions can be redriven.
    #[error("execution is not redrivable: its status is {0:?}")]
    NotRedrivable(Status),
    /// The failed state could not be found (the execution state is from an older engine).
    #[error("execution has no failed state to restart from")]
    NothingToRedrive,
}

/// Why [`Execution::restart_from`] refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestartError {
    /// Only finished executions can be restarted.
    #[error("execution is still running: only a finished execution can be restarted")]
    NotFinished,
    /// No state of this name exists in the definition.
    #[error("the state machine has no state named '{0}'")]
    UnknownState(String),
    /// The state is inside a Parallel branch or a Map's item processor.
    #[error("state '{0}' is inside a Parallel or Map state: only top-level states can be restarted from")]
    NestedState(String),
}

/// The identity of an execution, as the Context object (`$$.Execution`,
/// `$$.StateMachine`) and the history show it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ExecutionContext {
    pub execution_arn: String,
    pub execution_name: String,
    pub state_machine_arn: String,
    pub state_machine_name: String,
    pub role_arn: String,
    /// Milliseconds since the Unix epoch.
    pub start_time_ms: i64,
    /// `RedriveCount` in `$$.Execution`.
    pub redrive_count: u32,
}

/// The status of an execution, as `DescribeExecution` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
}

/// Identifies one outstanding task invocation within an execution.
pub use statecraft_types::TaskId;
/// Identifies one armed timer within an execution.
pub type TimerId = u64;

/// What happened, from the outside.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Event {
    /// A worker picked up the task (activities: `GetActivityTask`).
    TaskStarted {
        task: TaskId,
        worker_name: Option<String>,
    },
    /// A `.waitForTaskToken` integration accepted the request (`TaskSubmitted`
    /// in the history); the task goes on waiting for its token.
    TaskSubmitted {
        task: TaskId,
        output: Value,
    },
    TaskSucceeded {
        task: TaskId,
        output: Value,
    },
    TaskFailed {
        task: TaskId,
        failure: Failure,
    },
    /// `SendTaskHeartbeat`.
    TaskHeartbeat {
        task: TaskId,
    },
    TimerFired {
        timer: TimerId,
    },
    /// `StopExecution`.
    Stop {
        error: Option<String>,
        cause: Option<String>,
    },
    /// Go on with the work an earlier call left runnable when its step
    /// budget ([`Limits::steps_per_turn`]) ran out ([`Step::yielded`]).
    Continue,
}

/// What one execution may do: AWS's history quota and how much work one
/// call into the engine does before it hands control back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most history events one execution may record, its final event
    /// included. The event that would reach it is replaced by
    /// `ExecutionFailed` with `States.Runtime` and AWS's cause ("The
    /// execution reached the maximum number of history events (25000).").
    /// Executions that record no history (EXPRESS) are not limited.
    pub history_events: u64,
    /// The most state transitions one call ([`Execution::start`],
    /// [`Execution::handle`] …) runs before it returns with
    /// [`Step::yielded`] set; the caller then delivers [`Event::Continue`]
    /// when it sees fit. `None`: run until blocked or finished.
    pub steps_per_turn: Option<u32>,
    /// The largest state output (as JSON text) an execution may produce;
    /// a larger one fails the state with `States.DataLimitExceeded`, as on
    /// AWS. Also the size of a Map batch's input at most.
    pub payload_bytes: usize,
    /// The largest value one variable may be assigned, and the most one
    /// `Assign` may assign in all; an execution (or a branch or iteration
    /// scope) may hold [`VARIABLES_TOTAL_FACTOR`] times as much. Beyond
    /// them `States.DataLimitExceeded`, as on AWS.
    pub variables_bytes: usize,
    /// The most items an inline Map state may iterate over; `None` (AWS's
    /// behaviour): no count of its own, the payload and history limits
    /// bound it. Beyond it the state fails with `States.DataLimitExceeded`.
    pub map_inline_items: Option<u64>,
}

/// AWS's quota of history events per standard execution.
pub const MAX_HISTORY_EVENTS: u64 = 25_000;

/// AWS's quota of one payload (execution input, state output, task result):
/// 256 KiB.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

/// AWS's quota of one variable and of one `Assign`: 256 KiB.
pub const MAX_VARIABLE_BYTES: usize = 256 * 1024;

/// How many times [`Limits::variables_bytes`] the variables an execution
/// holds may total: 40, AWS's 10 MiB at its 256 KiB.
pub const VARIABLES_TOTAL_FACTOR: usize = 40;

/// The cause of the `States.Runtime` failure of an execution that reached
/// its history limit, in AWS's words.
pub fn history_limit_cause(limit: u64) -> String {
    format!("The execution reached the maximum number of history events ({limit}).")
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            history_events: MAX_HISTORY_EVENTS,
            steps_per_turn: None,
            payload_bytes: MAX_PAYLOAD_BYTES,
            variables_bytes: MAX_VARIABLE_BYTES,
            map_inline_items: None,
        }
    }
}

/// A task to invoke: everything an integration needs (defined in
/// `statecraft-types`, shared with the task interface).
pub use statecraft_types::TaskRequest;

/// What the caller must do after a step.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub enum Command {
    InvokeTask(TaskRequest),
    /// Cancel an outstanding task (its state was aborted or timed out).
    CancelTask {
        task: TaskId,
    },
    /// Deliver `Event::TimerFired { timer }` at `fire_at_ms`.
    StartTimer {
        timer: TimerId,
        fire_at_ms: i64,
    },
    CancelTimer {
        timer: TimerId,
    },
}

/// How to start an execution ([`Execution::start_with`]).
#[derive(Debug, Clone)]
pub struct StartOptions {
    /// The input exactly as the caller sent it, recorded verbatim in
    /// `ExecutionStarted` (AWS keeps the text).
    pub input_text: Option<String>,
    /// Record history events (`false` for EXPRESS executions).
    pub history: bool,
}

impl Default for StartOptions {
    fn default() -> Self {
        StartOptions {
            input_text: None,
            history: true,
        }
    }
}

/// The result of one call into the engine.
#[derive(Debug, Default, Clone)]
pub struct Step {
    pub events: Vec<HistoryEvent>,
    pub commands: Vec<Command>,
    /// The step budget ran out while work was still runnable: the execution
    /// goes on only when [`Event::Continue`] (or any other event) comes.
    pub yielded: bool,
}

/// The durable state of one execution. Serialisable so the store can persist
/// it with the events of the transition that produced it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Execution {
    pub context: ExecutionContext,
    pub status: Status,
    pub output: Option<Value>,
    pub failure: Option<Failure>,
    /// The id of the last history event emitted.
    pub last_event_id: u64,
    /// The frames, outstanding tasks and timers (engine-private).
    #[serde(default)]
    core: exec::Core,
}

impl Execution {
    /// An execution that has not started, for evaluating a state's fields
    /// outside a run ([`Machine::select_map_item`]).
    pub(crate) fn blank() -> Execution {
        Execution {
            context: ExecutionContext {
                execution_arn: String::new(),
                execution_name: String::new(),
                state_machine_arn: String::new(),
                state_machine_name: String::new(),
                role_arn: String::new(),
                start_time_ms: 0,
                redrive_count: 0,
            },
            status: Status::Running,
            output: None,
            failure: None,
            last_event_id: 0,
            core: exec::Core::default(),
        }
    }

    /// Starts an execution: emits `ExecutionStarted` and runs until the first
    /// wait, task or end.
    pub fn start(
        machine: &Machine,
        context: ExecutionContext,
        input: Value,
        now_ms: i64,
        host: &dyn Host,
    ) -> (Execution, Step) {
        let mut execution = Execution {
            context,
            status: Status::Running,
            output: None,
            failure: None,
            last_event_id: 0,
            core: exec::Core::default(),
        };
        let step = exec::Run::new(machine, &mut execution, now_ms, host).start(input, None, true);
        (execution, step)
    }

    /// Starts an execution with [`StartOptions`]: the input text as sent,
    /// and whether to record history at all (EXPRESS executions have none;
    /// not building it makes them several times faster).
    pub fn start_with(
        machine: &Machine,
        context: ExecutionContext,
        input: Value,
        options: StartOptions,
        now_ms: i64,
        host: &dyn Host,
    ) -> (Execution, Step) {
        let mut execution = Execution {
            context,
            status: Status::Running,
            output: None,
            failure: None,
            last_event_id: 0,
            core: exec::Core::default(),
        };
        let step = exec::Run::new(machine, &mut execution, now_ms, host).start(
            input,
            options.input_text,
            options.history,
        );
        (execution, step)
    }

    /// Like [`Execution::start`], with the input text exactly as the caller
    /// sent it: `ExecutionStarted` records it verbatim, as AWS does.
    pub fn start_with_text(
        machine: &Machine,
        context: ExecutionContext,
        input: Value,
        input_text: String,
        now_ms: i64,
        host: &dyn Host,
    ) -> (Execution, Step) {
        let mut execution = Execution {
            context,
            status: Status::Running,
            output: None,
            failure: None,
            last_event_id: 0,
            core: exec::Core::default(),
        };
        let step = exec::Run::new(machine, &mut execution, now_ms, host).start(
            input,
            Some(input_text),
            true,
        );
        (execution, step)
    }

    /// Applies one event; returns what it produced. Events for unknown or
    /// already finished tasks and timers are ignored (an empty step).
    pub fn handle(
        &mut self,
        machine: &Machine,
        event: Event,
        now_ms: i64,
        host: &dyn Host,
    ) -> Step {
        if self.is_finished() {
            return Step::default();
        }
        exec::Run::new(machine, self, now_ms, host).handle(event)
    }

    /// Restarts a FAILED, TIMED_OUT or ABORTED execution from where it
    /// stopped, as `RedriveExecution` does: `ExecutionRedriven` is recorded,
    /// `RedriveCount` goes up, and the states that did not succeed run again
    /// (inside a Map or Parallel, only the iterations and branches that did
    /// not succeed).
    pub fn redrive(
        &mut self,
        machine: &Machine,
        now_ms: i64,
        host: &dyn Host,
    ) -> Result<Step, RedriveError> {
        match self.status {
            Status::Failed | Status::TimedOut | Status::Aborted => {}
            s => return Err(RedriveError::NotRedrivable(s)),
        }
        exec::Run::new(machine, self, now_ms, host).redrive()
    }

    pub fn is_finished(&self) -> bool {
        self.status != Status::Running
    }

    /// Restarts a finished execution (any final status) at the top-level
    /// state `state` with `input`: the operator's RestartExecution.
    /// `ExecutionRedriven` is recorded with `RedriveCount` and `details`
    /// (who restarted from where), and the state runs as if the execution
    /// had just moved to it.
    pub fn restart_from(
        &mut self,
        machine: &Machine,
        state: &str,
        input: Value,
        details: serde_json::Map<String, Value>,
        now_ms: i64,
        host: &dyn Host,
    ) -> Result<Step, RestartError> {
        if !self.is_finished() {
            return Err(RestartError::NotFinished);
        }
        let index = machine.top_level_state(state)?;
        Ok(exec::Run::new(machine, self, now_ms, host).restart_from(index, input, details))
    }

    /// Appends an event that comes from outside the interpreter (an
    /// operator's pause or resume) to the history, after the last one.
    pub fn record(
        &mut self,
        event_type: statecraft_types::EventType,
        details: Option<serde_json::Map<String, Value>>,
        now_ms: i64,
    ) -> HistoryEvent {
        let id = self.last_event_id + 1;
        let event = HistoryEvent {
            id,
            previous_event_id: self.last_event_id,
            timestamp_ms: now_ms,
            event_type,
            details,
        };
        self.last_event_id = id;
        event
    }

    /// The top-level state a redrive would restart (the one that failed,
    /// or the Map or Parallel state holding it) and the input it received;
    /// `None` if there is none.
    pub fn redrive_point(&self, machine: &Machine) -> Option<(String, Value)> {
        let (index, input) = exec::redrive_point(&self.core)?;
        let name = machine.state_name(0, index)?;
        Some((name.to_string(), input.clone()))
    }

    /// Whether a call left runnable work behind ([`Step::yielded`]): true
    /// until [`Event::Continue`] (or another event) has run it. Persisted
    /// with the execution, so a restarted runtime knows to go on.
    pub fn has_pending_turn(&self) -> bool {
        !self.is_finished() && self.core.has_ready()
    }
}
