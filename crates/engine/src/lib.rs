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
//! API STUB: the interpreter is being written; the types below are the
//! contract the runtime and the CLI code against.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use statecraft_language::ast::StateMachine;
use statecraft_types::{Failure, HistoryEvent};

pub use statecraft_language::Host;

/// A state machine prepared for execution (paths and templates compiled,
/// states indexed). Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct Machine {
    pub definition: StateMachine,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    #[error("the definition cannot be executed: {0}")]
    Definition(String),
}

impl Machine {
    pub fn new(definition: StateMachine) -> Result<Machine, Error> {
        Ok(Machine { definition })
    }
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
pub type TaskId = u64;
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
}

/// A task to invoke: everything an integration needs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TaskRequest {
    pub task: TaskId,
    pub state_name: String,
    /// The `Resource` ARN as written in the definition.
    pub resource: String,
    /// The effective parameters (after InputPath/Parameters or Arguments).
    pub parameters: Value,
    /// `$$.Task.Token` for `.waitForTaskToken` resources and activities.
    pub task_token: Option<String>,
    pub timeout_seconds: Option<u64>,
    pub heartbeat_seconds: Option<u64>,
}

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

/// The result of one call into the engine.
#[derive(Debug, Default, Clone)]
pub struct Step {
    pub events: Vec<HistoryEvent>,
    pub commands: Vec<Command>,
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
}

impl Execution {
    /// Starts an execution: emits `ExecutionStarted` and runs until the first
    /// wait, task or end.
    pub fn start(
        machine: &Machine,
        context: ExecutionContext,
        input: Value,
        now_ms: i64,
        host: &dyn Host,
    ) -> (Execution, Step) {
        let _ = (machine, input, now_ms, host);
        (
            Execution {
                context,
                status: Status::Running,
                output: None,
                failure: None,
                last_event_id: 0,
            },
            Step::default(),
        )
    }

    /// Applies one event; returns what it produced.
    pub fn handle(
        &mut self,
        machine: &Machine,
        event: Event,
        now_ms: i64,
        host: &dyn Host,
    ) -> Step {
        let _ = (machine, event, now_ms, host);
        Step::default()
    }

    pub fn is_finished(&self) -> bool {
        self.status != Status::Running
    }
}
