//! Operators in control: pausing and resuming an execution, restarting a
//! finished one from any top-level state, and pausing instead of failing.
//!
//! The pause lives in the store with the execution ([`PauseRecord`], the
//! `pause` column written by every transition), never only in memory: any
//! node that runs the execution after a crash or a takeover sees it, and
//! what arrived while paused (task results, timer firings) is held in it
//! until resume. The engine stays pure: a restart is
//! `Execution::restart_from`, a resume replays the held events through
//! `Execution::handle`, and the pause and resume events are appended with
//! `Execution::record`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use statecraft_engine::{Event, Status, Step};
use statecraft_store::{ExecutionState, ExecutionStatus};
use statecraft_types::{EventType, Failure, HistoryEvent};

use std::sync::Arc;

use crate::error::{Error, Result};

/// Why an execution is paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PauseReason {
    /// `Statecraft.PauseExecution`.
    Operator,
    /// An error no Retry or Catch handled, under the machine's
    /// `on_failure = "pause"` setting or `statecraft:onFailure=pause` tag.
    Failure,
}

impl PauseReason {
    pub fn as_str(self) -> &'static str {
        match self {
            PauseReason::Operator => "operator",
            PauseReason::Failure => "failure",
        }
    }
}

/// An operator's hold on an execution, as the store keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PauseRecord {
    /// Who paused it (the caller's identity, "operator" when unknown, or
    /// "statecraft" for a pause on failure).
    pub by: String,
    pub at_ms: i64,
    pub reason: PauseReason,
    /// For a pause on failure: the top-level state that failed (the one a
    /// resume runs again), with the error and cause.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// What arrived while paused, applied in this order on resume.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held: Vec<Event>,
}

impl PauseRecord {
    /// The record of a stored execution (`None`: not paused, or a record
    /// this build cannot read, which then counts as not paused).
    pub fn of(state: &ExecutionState) -> Option<PauseRecord> {
        state
            .pause
            .as_deref()
            .and_then(|text| serde_json::from_str(text).ok())
    }

    /// The details of the `ExecutionPaused` event that records it.
    pub(crate) fn details(&self) -> Map<String, Value> {
        let mut d = Map::new();
        d.insert("pausedBy".into(), Value::String(self.by.clone()));
        d.insert("reason".into(), Value::String(self.reason.as_str().into()));
        for (k, v) in [
            ("state", &self.state),
            ("error", &self.error),
            ("cause", &self.cause),
        ] {
            if let Some(v) = v {
                d.insert(k.into(), Value::String(v.clone()));
            }
        }
        d
    }

    /// What DescribeExecution shows of it (`pause` beside `paused: true`).
    pub fn describe(&self) -> Value {
        let mut d = self.details();
        d.insert(
            "pausedAt".into(),
            serde_json::Number::from_f64(self.at_ms as f64 / 1000.0)
                .map(Value::Number)
                .unwrap_or(Value::Null),
        );
        d.insert("heldEvents".into(), Value::from(self.held.len()));
        Value::Object(d)
    }
}

/// Writes `pause` into a transition's state. A paused execution is
/// RUNNING for every reader (AWS clients included), even one paused on a
/// failure whose engine state has already failed.
pub(crate) fn set_pause(state: &mut ExecutionState, pause: Option<&PauseRecord>) {
    let Some(pause) = pause else {
        state.pause = None;
        return;
    };
    state.pause = serde_json::to_string(pause).ok();
    state.status = ExecutionStatus::Running;
    state.output = None;
    state.error = None;
    state.cause = None;
    state.stop_date_ms = None;
    state.redrive_status = Some(crate::redrive::NOT_REDRIVABLE.to_string());
    state.redrive_status_reason = Some("Execution is RUNNING and cannot be redriven".to_string());
}

/// Who acts when the request names nobody.
pub const DEFAULT_ACTOR: &str = "operator";
/// Who pauses an execution on failure.
pub const SYSTEM_ACTOR: &str = "statecraft";
/// The tag that turns on pause on failure for one state machine.
pub const ON_FAILURE_TAG: &str = "statecraft:onFailure";

/// The largest input a restart accepts by default, as StartExecution's
/// (AWS's 256 KiB; [`crate::Limits::payload_bytes`] in a runtime).
pub const MAX_INPUT_BYTES: usize = statecraft_engine::MAX_PAYLOAD_BYTES;

/// RestartExecution's request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Restart {
    pub execution_arn: String,
    /// A top-level state of the definition the restart runs.
    pub from_state: String,
    /// The state's input (JSON text); `None`: what it received last time.
    pub input: Option<String>,
    /// Another revision of the same machine to run: a version ARN, the
    /// state machine's ARN (its current revision) or a revision id. `None`:
    /// the revision the execution ran.
    pub definition: Option<String>,
    /// Who restarts it.
    pub by: String,
}

/// The refusal for an execution that is not running.
pub(crate) fn finished_refusal(arn: &str) -> Error {
    Error::Validation(format!(
        "Execution '{arn}' is not running: only a running execution can be paused or resumed \
         (restart a finished one with Statecraft.RestartExecution)"
    ))
}

/// Whether `step` fails the execution with an error that nothing handled
/// (not a Fail state, which fails on purpose, nor the history quota, which a
/// retry cannot cure): what a pause on failure stops.
pub(crate) fn may_pause_on(execution: &statecraft_engine::Execution, step: &Step) -> bool {
    if execution.status != Status::Failed {
        return false;
    }
    if step
        .events
        .last()
        .is_none_or(|e| e.event_type != EventType::ExecutionFailed)
    {
        return false;
    }
    if step
        .events
        .iter()
        .any(|e| e.event_type == EventType::FailStateEntered)
    {
        return false;
    }
    // The quota's cause names the configured limit; its opening words do not.
    !execution.failure.as_ref().is_some_and(|f| {
        f.error == statecraft_types::errors::RUNTIME
            && f.cause
                .starts_with("The execution reached the maximum number of history events")
    })
}

/// Turns a failing step into a pause at the failed state: the final
/// `ExecutionFailed` is held back (its id given back) and `ExecutionPaused`
/// recorded in its place. The engine state stays failed: resuming redrives
/// it, failing records the held-back event again.
pub(crate) fn pause_on_failure(
    execution: &mut statecraft_engine::Execution,
    machine: &statecraft_engine::Machine,
    step: &mut Step,
    now: i64,
) -> PauseRecord {
    if let Some(last) = step.events.pop() {
        execution.last_event_id = last.id.saturating_sub(1);
    }
    let failure = execution.failure.clone();
    let pause = PauseRecord {
        by: SYSTEM_ACTOR.into(),
        at_ms: now,
        reason: PauseReason::Failure,
        state: execution.redrive_point(machine).map(|(name, _)| name),
        error: failure.as_ref().map(|f| f.error.clone()),
        cause: failure.as_ref().map(|f| f.cause.clone()),
        held: Vec::new(),
    };
    step.events
        .push(execution.record(EventType::ExecutionPaused, Some(pause.details()), now));
    pause
}

/// StopExecution of an execution paused on failure: ABORTED, as a stop of
/// a running execution ends.
pub(crate) fn abort_paused(
    execution: &mut statecraft_engine::Execution,
    error: Option<String>,
    cause: Option<String>,
    now: i64,
) -> HistoryEvent {
    let mut d = Map::new();
    if let Some(e) = &error {
        d.insert("error".into(), Value::String(e.clone()));
    }
    if let Some(c) = &cause {
        d.insert("cause".into(), Value::String(c.clone()));
    }
    execution.status = Status::Aborted;
    execution.failure = (error.is_some() || cause.is_some())
        .then(|| Failure::new(error.unwrap_or_default(), cause.unwrap_or_default()));
    execution.record(EventType::ExecutionAborted, Some(d), now)
}

/// `Statecraft.FailExecution`: the failure a pause on failure held back,
/// recorded now, with who let it fail.
pub(crate) fn fail_paused(
    execution: &mut statecraft_engine::Execution,
    by: &str,
    now: i64,
) -> HistoryEvent {
    let mut d = Map::new();
    if let Some(f) = &execution.failure {
        d.insert("error".into(), Value::String(f.error.clone()));
        d.insert("cause".into(), Value::String(f.cause.clone()));
    }
    d.insert("failedBy".into(), Value::String(by.to_string()));
    execution.status = Status::Failed;
    execution.record(EventType::ExecutionFailed, Some(d), now)
}

/// The step of a resume: `ExecutionResumed`, then what was held, in the
/// order it came (or, after a pause on failure, a redrive of the failed
/// state).
pub(crate) fn resume_step(
    execution: &mut statecraft_engine::Execution,
    machine: &statecraft_engine::Machine,
    pause: PauseRecord,
    by: String,
    now: i64,
    host: &dyn statecraft_engine::Host,
) -> Result<Step> {
    let mut d = Map::new();
    d.insert("resumedBy".into(), Value::String(by));
    d.insert("reason".into(), Value::String(pause.reason.as_str().into()));
    d.insert("heldEvents".into(), Value::from(pause.held.len()));
    let mut step = Step {
        events: vec![execution.record(EventType::ExecutionResumed, Some(d), now)],
        ..Step::default()
    };
    match pause.reason {
        PauseReason::Failure => {
            let more = execution
                .redrive(machine, now, host)
                .map_err(|e| Error::ExecutionNotRedrivable(e.to_string()))?;
            step.events.extend(more.events);
            step.commands.extend(more.commands);
            step.yielded = more.yielded;
        }
        PauseReason::Operator => {
            for event in pause.held {
                let more = execution.handle(machine, event, now, host);
                step.events.extend(more.events);
                step.commands.extend(more.commands);
                step.yielded = more.yielded;
            }
        }
    }
    Ok(step)
}

impl crate::Runtime {
    /// The state machines (by name) whose executions pause instead of
    /// failing, from the server's configuration. A machine tagged
    /// `statecraft:onFailure=pause` does so too.
    pub fn set_pause_on_failure(&self, names: impl IntoIterator<Item = String>) {
        let mut set = match self.inner.pause_on_failure.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        set.clear();
        set.extend(names);
    }

    /// Sends an operator's message to the execution's actor and waits for
    /// its answer. A finished execution is refused.
    async fn ask(
        &self,
        execution_arn: &str,
        msg: impl FnOnce(tokio::sync::oneshot::Sender<Result<i64>>) -> crate::actor::Msg,
    ) -> Result<i64> {
        let inner = &self.inner;
        inner.check_running()?;
        // An operator's request takes effect wherever it arrives: this node
        // takes the lease (fencing off the node that ran the execution).
        inner.take_over(execution_arn).await?;
        let (reply, answer) = tokio::sync::oneshot::channel();
        if inner.send(execution_arn, msg(reply))? {
            if let Ok(result) = answer.await {
                return result;
            }
        }
        Err(finished_refusal(execution_arn))
    }

    /// `Statecraft.PauseExecution`: the execution takes no new transition
    /// until resumed; what is in flight finishes and its result is held.
    /// Returns the pause date.
    pub async fn pause_execution(&self, execution_arn: &str, by: &str) -> Result<i64> {
        let by = by.to_string();
        self.ask(execution_arn, |reply| crate::actor::Msg::Pause {
            by,
            reply,
        })
        .await
    }

    /// `Statecraft.ResumeExecution`. Returns the resume date.
    pub async fn resume_execution(&self, execution_arn: &str, by: &str) -> Result<i64> {
        let by = by.to_string();
        self.ask(execution_arn, |reply| crate::actor::Msg::Resume {
            by,
            reply,
        })
        .await
    }

    /// `Statecraft.FailExecution`: an execution paused on failure fails as
    /// it would have. Returns the stop date.
    pub async fn fail_execution(&self, execution_arn: &str, by: &str) -> Result<i64> {
        let by = by.to_string();
        self.ask(execution_arn, |reply| crate::actor::Msg::Fail { by, reply })
            .await
    }

    /// `Statecraft.RestartExecution`: continues a finished execution (any
    /// final status, any age) from a top-level state, with the input that
    /// state received last time or a new one, optionally on another
    /// revision of its machine. An execution paused on failure is let fail
    /// first. Returns the restart date.
    pub async fn restart_execution(&self, r: Restart) -> Result<i64> {
        let inner = &self.inner;
        inner.check_running()?;
        let arn = r.execution_arn.as_str();
        let mut record = self.describe_execution(arn)?;
        if let Some(p) = PauseRecord::of(&record.state) {
            if p.reason == PauseReason::Operator {
                return Err(Error::ExecutionNotRedrivable(format!(
                    "Execution '{arn}' is paused and still running: resume it, or stop it with \
                     StopExecution, before restarting it"
                )));
            }
            self.fail_execution(arn, &r.by).await?;
            record = self.describe_execution(arn)?;
        }
        if record.state.status.is_active() {
            return Err(Error::ExecutionNotRedrivable(format!(
                "Execution '{arn}' is RUNNING: only a FAILED, SUCCEEDED, ABORTED or TIMED_OUT \
                 execution can be restarted; stop it with StopExecution first"
            )));
        }
        let store = &inner.store;
        let machine_record = store
            .get_state_machine(&record.state_machine_arn)?
            .ok_or_else(|| Error::StateMachineDoesNotExist(record.state_machine_arn.clone()))?;
        if machine_record.machine_type == statecraft_store::MachineType::Express {
            return Err(Error::Validation(
                "Executions of an EXPRESS state machine cannot be restarted".into(),
            ));
        }
        let revision = match &r.definition {
            None => store
                .get_revision(&record.revision_id)?
                .ok_or_else(|| Error::StateMachineDoesNotExist(record.state_machine_arn.clone()))?,
            Some(d) => restart_revision(store.as_ref(), &machine_record, d)?,
        };
        let machine = inner.machines.get(&revision)?;
        if let Err(e) = machine.top_level_state(&r.from_state) {
            return Err(Error::Validation(format!(
                "Cannot restart execution '{arn}' from '{}': {e}. The top-level states are: {}",
                r.from_state,
                machine.top_level_states().join(", ")
            )));
        }
        let (input, edited) = match &r.input {
            Some(text) => (parse_input_within(text, inner.limits.payload_bytes)?, true),
            None => match state_input(store.as_ref(), arn, &r.from_state)? {
                Some(v) => (v, false),
                None => {
                    return Err(Error::Validation(format!(
                        "State '{}' never ran in execution '{arn}', so there is no input of it \
                         to reuse: give the input to restart with",
                        r.from_state
                    )))
                }
            },
        };
        let last = store.history(
            arn,
            &statecraft_store::HistoryQuery {
                page: statecraft_store::PageRequest::first(1),
                reverse: true,
            },
        )?;
        let history_len = last.items.first().map_or(0, |e| e.id);
        if history_len >= inner.limits.history_events.saturating_sub(2) {
            return Err(Error::ExecutionNotRedrivable(format!(
                "Execution '{arn}' cannot be restarted: its history has {history_len} events, \
                 at the history limit ({})",
                inner.limits.history_events
            )));
        }
        // A restarted execution is open again: it counts against the quota.
        let _slot = self.open_slot().await?;
        let now = crate::host::now_ms();
        let mut details = Map::new();
        details.insert("restartedBy".into(), Value::String(r.by.clone()));
        details.insert("fromState".into(), Value::String(r.from_state.clone()));
        details.insert("inputEdited".into(), Value::Bool(edited));
        let moved = revision.revision_id != record.revision_id;
        if moved {
            details.insert(
                "revisionId".into(),
                Value::String(revision.revision_id.clone()),
            );
        }
        let execution = crate::actor::load_engine_state(&record)?;
        let (execution, plan) = {
            let machine = Arc::clone(&machine);
            let host = inner.host;
            let arn = arn.to_string();
            let version = record.version;
            let from = r.from_state.clone();
            crate::actor::engine_call(move || {
                let mut execution = execution;
                let plan = execution
                    .restart_from(&machine, &from, input, details, now, &host)
                    .map_err(|e| Error::Validation(e.to_string()))
                    .and_then(|step| {
                        crate::actor::plan(&arn, &execution, step, version, Some(now), now)
                    });
                (execution, plan)
            })
            .await
        };
        let mut plan = plan?;
        if moved {
            plan.transition.state.revision_id = Some(revision.revision_id.clone());
        }
        let observed = crate::observe::before_commit(store.as_ref(), &plan.transition);
        inner.take_over(arn).await?;
        let version = match inner.commit(plan.transition).await {
            Ok(v) => v,
            Err(statecraft_store::Error::Conflict { .. }) => {
                return Err(Error::ExecutionNotRedrivable(format!(
                    "Execution '{arn}' was modified concurrently; look at it again and retry"
                )))
            }
            Err(e) => return Err(e.into()),
        };
        observed.committed(arn);
        statecraft_telemetry::metrics::observe_operator("restart");
        if execution.is_finished() {
            inner.wake_waiters(arn);
        } else {
            inner.spawn_actor(crate::actor::Actor::new(
                arn.to_string(),
                machine,
                execution,
                version,
                Some(now),
                plan.commands,
                None,
            ));
        }
        Ok(now)
    }
}

impl crate::Inner {
    /// Whether executions of this state machine pause instead of failing:
    /// its name is configured so, or it carries the tag.
    pub(crate) fn pauses_on_failure(&self, machine_arn: &str) -> Result<bool> {
        let name = machine_arn.rsplit(':').next().unwrap_or_default();
        let named = match self.pause_on_failure.lock() {
            Ok(g) => g.contains(name),
            Err(poisoned) => poisoned.into_inner().contains(name),
        };
        if named {
            return Ok(true);
        }
        Ok(self
            .store
            .list_tags(machine_arn)?
            .iter()
            .any(|t| t.key == ON_FAILURE_TAG && t.value.eq_ignore_ascii_case("pause")))
    }
}

/// Parses a restart's input: JSON text of at most [`MAX_INPUT_BYTES`].
pub fn parse_input(text: &str) -> Result<Value> {
    parse_input_within(text, MAX_INPUT_BYTES)
}

/// [`parse_input`] with the runtime's payload limit `max`.
pub fn parse_input_within(text: &str, max: usize) -> Result<Value> {
    if text.len() > max {
        return Err(Error::InvalidExecutionInput(format!(
            "the input is {} bytes; at most {max} bytes are allowed",
            text.len()
        )));
    }
    serde_json::from_str(text)
        .map_err(|e| Error::InvalidExecutionInput(format!("the input is not valid JSON ({e})")))
}

/// The input the top-level state `state` received the last time it was
/// entered, from the execution's history (newest first, so a long history
/// is read only back to that point).
pub fn state_input(
    store: &dyn statecraft_store::Store,
    arn: &str,
    state: &str,
) -> Result<Option<Value>> {
    let mut page = statecraft_store::PageRequest::first(1000);
    loop {
        let got = store.history(
            arn,
            &statecraft_store::HistoryQuery {
                page: page.clone(),
                reverse: true,
            },
        )?;
        for e in &got.items {
            if !e.event_type.as_str().ends_with("StateEntered") {
                continue;
            }
            let Some(d) = &e.details else { continue };
            if d.get("name").and_then(Value::as_str) != Some(state) {
                continue;
            }
            return Ok(match d.get("input") {
                Some(Value::String(text)) => serde_json::from_str(text).ok(),
                Some(other) => Some(other.clone()),
                None => Some(Value::Object(Map::new())),
            });
        }
        match got.next_token {
            Some(t) => page.next_token = Some(t),
            None => return Ok(None),
        }
    }
}

/// The revision a restart's `definition` names: a version of the
/// execution's machine, the machine's ARN (its current revision) or one of
/// its revision ids.
fn restart_revision(
    store: &dyn statecraft_store::Store,
    machine: &statecraft_store::StateMachine,
    definition: &str,
) -> Result<statecraft_store::Revision> {
    if definition == machine.arn {
        return Ok(machine.revision.clone());
    }
    if let Some(crate::arn::Target::Version {
        machine_arn, arn, ..
    }) = crate::arn::target(definition)
    {
        if machine_arn == machine.arn {
            if let Some(v) = store.get_version(&arn)? {
                return Ok(v.revision);
            }
            return Err(Error::Validation(format!(
                "Version '{definition}' does not exist"
            )));
        }
    }
    match store.get_revision(definition)? {
        Some(rev) if rev.state_machine_arn == machine.arn => Ok(rev),
        _ => Err(Error::Validation(format!(
            "definition '{definition}' is not a version ARN of state machine '{}', its ARN, \
             or one of its revision ids",
            machine.arn
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_round_trips_through_its_text_with_held_events() {
        let record = PauseRecord {
            by: "alice".into(),
            at_ms: 1_000,
            reason: PauseReason::Operator,
            state: None,
            error: None,
            cause: None,
            held: vec![Event::TimerFired { timer: 3 }],
        };
        let mut state = ExecutionState {
            status: ExecutionStatus::Failed,
            output: Some("1".into()),
            error: Some("E".into()),
            cause: Some("C".into()),
            stop_date_ms: Some(5),
            redrive_count: 0,
            redrive_date_ms: None,
            redrive_status: None,
            redrive_status_reason: None,
            engine_state: "{}".into(),
            pause: None,
            revision_id: None,
        };
        set_pause(&mut state, Some(&record));
        assert_eq!(state.status, ExecutionStatus::Running);
        assert_eq!((state.error.as_deref(), state.stop_date_ms), (None, None));
        let back = PauseRecord::of(&state).expect("readable");
        assert_eq!(back.by, "alice");
        assert!(matches!(back.held[..], [Event::TimerFired { timer: 3 }]));
        set_pause(&mut state, None);
        assert!(PauseRecord::of(&state).is_none());
    }
}
