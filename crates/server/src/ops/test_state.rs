//! TestState: runs one state alone on a given input and reports its output,
//! error, next state and (at DEBUG/TRACE) inspection data.
//!
//! The request is parsed once, as a machine of its own: the state is the
//! start state, and every state it can transition to is a `Succeed`
//! stand-in, so the engine runs exactly that state and the stand-in that is
//! entered names the next state. Task results come from `mock` (this server
//! does not call AWS services). Retry and Catch are taken out of the state
//! that runs, because TestState reports what *would* happen (RETRIABLE,
//! CAUGHT_ERROR) instead of doing it; the engine decides it
//! (`statecraft_engine::stages::StateStages::{retry, catch}`), and the
//! inspection data are the engine's own data-flow stages run one by one
//! (`input_path`, `arguments`, `result_selector`, `result_path`). The run
//! and the stages happen on the blocking pool, under the engine's JSONata
//! time budget.

use serde_json::{json, Map, Value};
use statecraft_engine::driver::{self, Response, VirtualClock};
use statecraft_engine::retry::StateType;
use statecraft_engine::stages::StateStages;
use statecraft_engine::{ExecutionContext, Machine, Status, TaskRequest};
use statecraft_language::ast::{State, StateKind};
use statecraft_runtime::model::MachineType;
use statecraft_types::Failure;

use crate::definition;
use crate::protocol::{nested_str, ApiError, Request, ARN, CAUSE, DATA, DEFINITION, ERROR, NAME};
use crate::service::Service;

/// The most history events the wrapped state may produce (a Map over a big
/// array, a Wait loop cannot exist: the state runs once).
const MAX_EVENTS: u64 = 100_000;

/// The resource of a mocked Map or Parallel (see [`mocked_container`]).
const MOCK_RESOURCE: &str =
    "arn:aws:lambda:us-east-1:123456789012:function:statecraft-test-state-mock";

/// What the caller asked for.
struct Test {
    /// The state's name (in the wrapper machine).
    name: String,
    /// The state definition with Retry and Catch removed (what runs).
    state: Map<String, Value>,
    /// The state definition as it decides (Retry and Catch kept).
    full: Map<String, Value>,
    /// A mocked Map or Parallel replaced by a Task stand-in.
    stand_in: bool,
    query_language: Option<Value>,
    input: Value,
    mock: Option<Response>,
    retry_count: u64,
    /// `stateConfiguration.mapIterationFailureCount`.
    map_failures: Option<u64>,
    /// The original state type (before a mocked container became a Task).
    kind: String,
    /// Map settings shown in inspection data.
    map_settings: Map<String, Value>,
    level: &'static str,
}

fn invalid(message: impl std::fmt::Display) -> ApiError {
    ApiError::InvalidDefinition(format!(
        "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: {message}'"
    ))
}

/// Finds state `name` in a machine, descending into Parallel branches and
/// Map processors; returns it with the query language in force there.
fn find_state(
    machine: &Map<String, Value>,
    name: &str,
    inherited: Option<&Value>,
) -> Option<(Map<String, Value>, Option<Value>)> {
    let ql = machine.get("QueryLanguage").or(inherited);
    let states = machine.get("States")?.as_object()?;
    if let Some(Value::Object(s)) = states.get(name) {
        return Some((s.clone(), ql.cloned()));
    }
    for s in states.values() {
        let inner_ql = s.get("QueryLanguage").or(ql);
        let mut subs: Vec<&Map<String, Value>> = Vec::new();
        if let Some(Value::Array(bs)) = s.get("Branches") {
            subs.extend(bs.iter().filter_map(Value::as_object));
        }
        for key in ["ItemProcessor", "Iterator"] {
            if let Some(Value::Object(p)) = s.get(key) {
                subs.push(p);
            }
        }
        for sub in subs {
            if let Some(found) = find_state(sub, name, inner_ql) {
                return Some(found);
            }
        }
    }
    None
}

/// Whether `name` is a state name anywhere inside `v` (nested machines).
fn names_state(v: &Value, name: &str) -> bool {
    match v {
        Value::Object(m) => {
            m.get("States")
                .and_then(Value::as_object)
                .is_some_and(|s| s.contains_key(name))
                || m.values().any(|c| names_state(c, name))
        }
        Value::Array(a) => a.iter().any(|c| names_state(c, name)),
        _ => false,
    }
}

/// A name for a lone state that no state inside it uses (names are unique
/// in the whole machine).
fn unused_name(state: &Map<String, Value>) -> String {
    let v = Value::Object(state.clone());
    let mut name = "TestState".to_string();
    let mut n = 1;
    while names_state(&v, &name) {
        n += 1;
        name = format!("TestState{n}");
    }
    name
}

/// With a mock, a Map or Parallel state does not run its iterations or
/// branches: the mock is its result. It becomes a Task with the same
/// input and output processing whose (mocked) result is that value.
fn mocked_container(state: &Map<String, Value>) -> Map<String, Value> {
    let mut task = Map::new();
    task.insert("Type".into(), Value::from("Task"));
    task.insert("Resource".into(), Value::from(MOCK_RESOURCE));
    for key in [
        "Comment",
        "QueryLanguage",
        "InputPath",
        "ResultSelector",
        "ResultPath",
        "OutputPath",
        "Output",
        "Assign",
        "Next",
        "End",
    ] {
        if let Some(v) = state.get(key) {
            task.insert(key.into(), v.clone());
        }
    }
    task
}

/// Every state name a state can transition to.
fn targets(state: &Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    let mut add = |v: Option<&Value>| {
        if let Some(Value::String(s)) = v {
            if !out.contains(s) {
                out.push(s.clone());
            }
        }
    };
    add(state.get("Next"));
    add(state.get("Default"));
    for list in ["Choices", "Catch"] {
        if let Some(Value::Array(items)) = state.get(list) {
            for item in items {
                add(item.get("Next"));
            }
        }
    }
    out
}

fn read_test(req: &Request) -> Result<Test, ApiError> {
    let text = req.str("definition", DEFINITION)?;
    req.opt_str("roleArn", ARN)?;
    let input_text = req.opt_str("input", DATA)?;
    let level = req
        .opt_enum("inspectionLevel", &["INFO", "DEBUG", "TRACE"])?
        .unwrap_or("INFO");
    req.opt_bool("revealSecrets")?;
    let state_name = req.opt_str("stateName", NAME)?;
    let doc: Value = serde_json::from_str(text).map_err(|e| {
        ApiError::InvalidDefinition(format!(
            "Invalid State Machine Definition: 'INVALID_JSON_DESCRIPTION: {e}'"
        ))
    })?;
    let Value::Object(doc) = doc else {
        return Err(invalid("Definition must be a valid JSON object at /"));
    };
    // A whole machine (with `stateName`, looked up in branches and item
    // processors too) or a single state.
    let (name, state, query_language) = if doc.contains_key("States") {
        let start = doc.get("StartAt").and_then(Value::as_str).unwrap_or("");
        let name = state_name.unwrap_or(start).to_string();
        let (state, ql) = find_state(&doc, &name, doc.get("QueryLanguage")).ok_or_else(|| {
            ApiError::validation(format!("State '{name}' is not in the definition"))
        })?;
        (name, state, ql)
    } else {
        let name = state_name.map_or_else(|| unused_name(&doc), str::to_string);
        (name, doc, None)
    };
    if !state.get("Type").is_some_and(Value::is_string) {
        return Err(invalid("These fields are required: [Type] at /"));
    }
    let input = match input_text {
        None => json!({}),
        Some(t) => serde_json::from_str(t).map_err(|e| {
            ApiError::InvalidExecutionInput(format!("Invalid State Machine Execution Input: '{e}'"))
        })?,
    };
    let mock = match req.opt_object("mock")? {
        None => None,
        Some(m) => {
            let result = nested_str(m, "result", "mock.result", DATA)?;
            let error = m.get("errorOutput").and_then(Value::as_object);
            match (result, error) {
                (Some(_), Some(_)) => {
                    return Err(ApiError::validation(
                        "A mock can have a result or an errorOutput, not both",
                    ))
                }
                (Some(r), None) => Some(Response::Succeeded(serde_json::from_str(r).map_err(
                    |e| ApiError::validation(format!("Mock result is not valid JSON: {e}")),
                )?)),
                (None, Some(e)) => Some(Response::Failed(Failure::new(
                    nested_str(e, "error", "mock.errorOutput.error", ERROR)?.unwrap_or(""),
                    nested_str(e, "cause", "mock.errorOutput.cause", CAUSE)?.unwrap_or(""),
                ))),
                (None, None) => {
                    return Err(ApiError::validation(
                        "A mock must have a result or an errorOutput",
                    ))
                }
            }
        }
    };
    let config = req.opt_object("stateConfiguration")?;
    let retry_count = config
        .and_then(|c| c.get("retrierRetryCount"))
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let map_failures = config
        .and_then(|c| c.get("mapIterationFailureCount"))
        .and_then(Value::as_u64);
    let kind = state
        .get("Type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let mut map_settings = Map::new();
    if kind == "Map" {
        map_settings.insert(
            "maxConcurrency".into(),
            state
                .get("MaxConcurrency")
                .cloned()
                .unwrap_or(Value::from(0)),
        );
        for (from, to) in [
            ("ToleratedFailureCount", "toleratedFailureCount"),
            ("ToleratedFailurePercentage", "toleratedFailurePercentage"),
        ] {
            if let Some(v) = state.get(from) {
                map_settings.insert(to.into(), v.clone());
            }
        }
    }
    check_mock_rules(
        &state,
        &kind,
        mock.as_ref(),
        map_failures,
        req.opt_bool("revealSecrets")?,
    )?;
    // The state as written must be valid, before a mocked container is
    // replaced by its stand-in.
    check_alone(&name, &state, query_language.as_ref())?;
    let stand_in = mock.is_some() && (kind == "Map" || kind == "Parallel");
    let mut state = if stand_in {
        let mut t = mocked_container(&state);
        for key in ["Retry", "Catch"] {
            if let Some(v) = state.get(key) {
                t.insert(key.into(), v.clone());
            }
        }
        t
    } else {
        state
    };
    let full = state.clone();
    state.remove("Retry");
    state.remove("Catch");
    Ok(Test {
        name,
        state,
        full,
        stand_in,
        query_language,
        input,
        mock,
        retry_count,
        map_failures,
        kind,
        map_settings,
        level,
    })
}

/// The one-state machine: `state` (the test's state with or without its
/// Retry and Catch), plus a Succeed stand-in for every state it can go to.
fn wrapper(t: &Test, state: &Map<String, Value>) -> Value {
    let mut states = Map::new();
    states.insert(t.name.clone(), Value::Object(state.clone()));
    for n in targets(state) {
        if n != t.name {
            states.insert(n, json!({"Type": "Succeed"}));
        }
    }
    let mut m = json!({"StartAt": t.name, "States": states});
    if let Some(q) = &t.query_language {
        m["QueryLanguage"] = q.clone();
    }
    m
}

/// The data at each step of the state, for DEBUG and TRACE inspection:
/// the engine's own stages, one by one. Which stages AWS shows depends on
/// the state type; `succeeded` says whether the result stages exist at all.
/// A stage that cannot be computed is left out, with those after it.
fn stages(t: &Test, st: &StateStages<'_>, succeeded: bool) -> Vec<(String, Value)> {
    let field = |k: &str| t.state.get(k).cloned();
    let mut out = Vec::new();
    if st.is_jsonata() {
        // JSONata: `Arguments` evaluated on the input.
        if t.kind == "Task" && t.state.contains_key("Arguments") {
            if let Ok(v) = st.arguments(&t.input) {
                out.push(("afterArguments".to_string(), v));
            }
        }
        return stringify(out);
    }
    let container = t.kind == "Map" || t.kind == "Parallel";
    let pass_result = if t.kind == "Pass" {
        field("Result")
    } else {
        None
    };
    let mut after_params = None;
    // A mocked container and a Pass with `Result` show no input stages.
    if !container && pass_result.is_none() {
        let Ok(after_input) = st.input_path(&t.input) else {
            return stringify(out);
        };
        out.push(("afterInputPath".to_string(), after_input.clone()));
        if t.kind != "Task" && t.kind != "Pass" {
            return stringify(out);
        }
        let Ok(params) = st.arguments(&after_input) else {
            return stringify(out);
        };
        out.push(("afterParameters".to_string(), params.clone()));
        after_params = Some(params);
    }
    if !succeeded {
        return stringify(out);
    }
    let result = match (&t.mock, pass_result, after_params) {
        (Some(Response::Succeeded(r)), _, _) if container => r.clone(),
        (Some(Response::Succeeded(r)), _, _) if t.kind == "Task" => {
            out.push(("result".to_string(), r.clone()));
            r.clone()
        }
        (_, Some(r), _) => {
            out.push(("result".to_string(), r.clone()));
            r
        }
        (_, None, Some(p)) if t.kind == "Pass" => p,
        _ => return stringify(out),
    };
    let Ok(selected) = st.result_selector(&result) else {
        return stringify(out);
    };
    out.push(("afterResultSelector".to_string(), selected.clone()));
    if let Ok(p) = st.result_path(t.input.clone(), selected) {
        out.push(("afterResultPath".to_string(), p));
    }
    stringify(out)
}

/// Inspection data members are JSON texts (`SensitiveData`).
fn stringify(stages: Vec<(String, Value)>) -> Vec<(String, Value)> {
    stages
        .into_iter()
        .map(|(k, v)| (k, Value::from(v.to_string())))
        .collect()
}

/// Validates `state` as the only state of a machine (Retry and Catch aside:
/// their targets are not part of the test).
fn check_alone(
    name: &str,
    state: &Map<String, Value>,
    query_language: Option<&Value>,
) -> Result<(), ApiError> {
    let mut alone = state.clone();
    alone.remove("Retry");
    alone.remove("Catch");
    let mut states = Map::new();
    for n in targets(&alone) {
        if n != name {
            states.insert(n, json!({"Type": "Succeed"}));
        }
    }
    states.insert(name.to_string(), Value::Object(alone));
    let mut m = json!({"StartAt": name, "States": states});
    if let Some(q) = query_language {
        m["QueryLanguage"] = q.clone();
    }
    definition::check(&m.to_string(), MachineType::Express)
}

/// AWS's rules for what may be mocked, and what a mocked result must be.
fn check_mock_rules(
    state: &Map<String, Value>,
    kind: &str,
    mock: Option<&Response>,
    map_failures: Option<u64>,
    reveal_secrets: Option<bool>,
) -> Result<(), ApiError> {
    let container = kind == "Map" || kind == "Parallel";
    let Some(mock) = mock else {
        if map_failures.is_some() {
            return Err(ApiError::validation(
                "TestState does not support MapIterationFailureCount when a mock is not specified.",
            ));
        }
        if container {
            return Err(ApiError::InvalidDefinition(
                "TestState API does not support Map or Parallel states. Supported state types include: [Task, Wait, Pass, Succeed, Fail, Choice]".into(),
            ));
        }
        return Ok(());
    };
    if kind != "Task" && !container {
        return Err(ApiError::validation(format!(
            "State type '{kind}' is not supported when a mock is specified"
        )));
    }
    if reveal_secrets == Some(true) {
        return Err(ApiError::validation(
            "TestState does not support RevealSecrets when a mock is specified.",
        ));
    }
    let Response::Succeeded(result) = mock else {
        return Ok(());
    };
    if kind == "Parallel" {
        let Some(items) = result.as_array() else {
            return Err(ApiError::validation("Mocked result must be an array."));
        };
        let branches = state
            .get("Branches")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        if items.len() != branches {
            return Err(ApiError::validation(
                "Mocked result must contain the same number of items as number of Parallel branches.",
            ));
        }
    }
    if kind == "Map" {
        if state.contains_key("ResultWriter") {
            if !result.is_object() {
                return Err(ApiError::validation("Mocked result must be a JSON object."));
            }
        } else {
            let Some(items) = result.as_array() else {
                return Err(ApiError::validation("Mocked result must be an array."));
            };
            if map_failures.is_some_and(|f| f > items.len() as u64) {
                return Err(ApiError::validation(
                    "Map iteration failure count must be less than or equal to the number of Map iterations",
                ));
            }
        }
    }
    Ok(())
}

/// Whether `failures` failed iterations exceed the Map's tolerance (only
/// when one is configured: without, TestState reports the mock as it is).
fn exceeds_tolerance(settings: &Map<String, Value>, failures: u64, result: &Value) -> bool {
    if let Some(count) = settings
        .get("toleratedFailureCount")
        .and_then(Value::as_u64)
    {
        return failures > count;
    }
    if let Some(pct) = settings
        .get("toleratedFailurePercentage")
        .and_then(Value::as_f64)
    {
        let items = result.as_array().map_or(0, Vec::len).max(1) as f64;
        return failures as f64 * 100.0 / items > pct;
    }
    false
}

/// Takes Retry and Catch out of state `name` of a parsed machine (the run
/// must not retry or catch: TestState reports what would happen).
fn without_rules(sm: &mut statecraft_language::ast::StateMachine, name: &str) {
    for s in sm.states.iter_mut().filter(|s| s.name == name) {
        match &mut s.kind {
            StateKind::Task(t) => {
                t.retry.clear();
                t.catch.clear();
            }
            StateKind::Parallel(p) => {
                p.retry.clear();
                p.catch.clear();
            }
            StateKind::Map(m) => {
                m.retry.clear();
                m.catch.clear();
            }
            _ => {}
        }
    }
}

/// What the run and the engine's stages found (computed on the blocking pool).
struct Findings {
    outcome: driver::Outcome,
    stages: Vec<(String, Value)>,
    /// When the state failed: its failure and what Retry/Catch make of it.
    decision: Option<(Failure, Decision)>,
}

/// What Retry and Catch would do with a failure.
enum Decision {
    Retry {
        index: usize,
        backoff_seconds: f64,
    },
    Catch {
        index: usize,
        next: String,
        output: Value,
    },
    /// A catcher matched but its output could not be built.
    CatchFailed(Failure),
    Fail,
}

impl Service {
    pub async fn test_state(&self, req: Request) -> Result<Value, ApiError> {
        let t = read_test(&req)?;
        // The state as written was checked alone (`read_test`); a stand-in
        // is checked as it runs (Retry and Catch aside: they decide, they
        // do not run). Then the state is parsed once, with them.
        if t.stand_in {
            definition::check(&wrapper(&t, &t.state).to_string(), MachineType::Express)?;
        }
        let mut parsed =
            statecraft_language::parse(&wrapper(&t, &t.full).to_string()).map_err(|d| {
                invalid(
                    d.first()
                        .map(|d| format!("{} at {}", d.message, d.pointer))
                        .unwrap_or_default(),
                )
            })?;
        let state: State = parsed
            .states
            .iter()
            .find(|s| s.name == t.name)
            .cloned()
            .ok_or_else(|| invalid(format!("no state '{}'", t.name)))?;
        without_rules(&mut parsed, &t.name);
        let machine = Machine::new(parsed).map_err(invalid)?;
        let now = self.now_ms();
        let context = ExecutionContext {
            execution_arn: self
                .scope
                .execution("TestState", &crate::service::new_id(), true),
            execution_name: "TestState".into(),
            state_machine_arn: self.scope.state_machine("TestState"),
            state_machine_name: "TestState".into(),
            role_arn: req.opt_str("roleArn", ARN)?.unwrap_or_default().to_string(),
            start_time_ms: now,
            redrive_count: 0,
        };
        let mut mock = t.mock.clone();
        if let (Some(failures), Some(Response::Succeeded(result))) = (t.map_failures, &mock) {
            if exceeds_tolerance(&t.map_settings, failures, result) {
                mock = Some(Response::Failed(Failure::new(
                    statecraft_types::errors::EXCEED_TOLERATED_FAILURE_THRESHOLD,
                    "The specified tolerated failure threshold was exceeded",
                )));
            }
        }
        let mut handler = move |r: &TaskRequest| -> Response {
            mock.clone().unwrap_or_else(|| {
                Response::Failed(Failure::new(
                    statecraft_types::errors::TASK_FAILED,
                    format!(
                        "TestState without a mock cannot call {}: this server does not reach AWS services",
                        r.resource
                    ),
                ))
            })
        };
        // The state and its stages run on the blocking pool, never on the
        // threads that serve the API: its JSONata may take up to its time
        // budget per evaluation (`Machine::jsonata_limits`).
        let t = std::sync::Arc::new(t);
        let test = t.clone();
        let findings = tokio::task::spawn_blocking(move || -> Result<Findings, String> {
            let t = test;
            let host = statecraft_runtime::host::SystemHost;
            let mut st =
                StateStages::new(&state, context.clone(), &host, now).map_err(|e| e.to_string())?;
            st.jsonata_limits = machine.jsonata_limits;
            let mut clock = VirtualClock { now_ms: now };
            let outcome = driver::run(
                &machine,
                t.input.clone(),
                driver::Options {
                    context,
                    clock: &mut clock,
                    host: &host,
                    observer: None,
                    max_events: Some(MAX_EVENTS),
                    input_text: None,
                },
                &mut handler,
            );
            let succeeded = outcome.status == Status::Succeeded;
            let stages = if t.level == "INFO" {
                Vec::new()
            } else {
                stages(&t, &st, succeeded)
            };
            let decision = (!succeeded).then(|| {
                // The engine's own failure keeps what the names do not say
                // (a lapsed heartbeat is a `States.Timeout` too).
                let failure = outcome.execution.failure.clone().unwrap_or_else(|| {
                    Failure::new(
                        outcome.error.clone().unwrap_or_default(),
                        outcome.cause.clone().unwrap_or_default(),
                    )
                });
                let raised_by = StateType::from_type_name(&t.kind);
                let decision = match st.retry(&failure, raised_by, t.retry_count) {
                    Some(r) => Decision::Retry {
                        index: r.index,
                        backoff_seconds: r.backoff_seconds,
                    },
                    None => match st.catch(&failure, raised_by, t.input.clone()) {
                        Some(Ok(c)) => Decision::Catch {
                            index: c.index,
                            next: c.next,
                            output: c.output,
                        },
                        Some(Err(f)) => Decision::CatchFailed(f),
                        None => Decision::Fail,
                    },
                };
                (failure, decision)
            });
            Ok(Findings {
                outcome,
                stages,
                decision,
            })
        })
        .await
        .map_err(|e| ApiError::internal(format!("TestState's run ended abnormally: {e}")))?
        .map_err(invalid)?;
        let outcome = &findings.outcome;

        // What the state produced and where it would go next.
        let exited = outcome.history.iter().find_map(|e| {
            let d = e.details.as_ref()?;
            (e.event_type.as_str().ends_with("StateExited")
                && d.get("name").and_then(Value::as_str) == Some(t.name.as_str()))
            .then(|| d.get("output").and_then(Value::as_str).map(str::to_string))
            .flatten()
        });
        let next = outcome.history.iter().find_map(|e| {
            let d = e.details.as_ref()?;
            let name = d.get("name").and_then(Value::as_str)?;
            (e.event_type.as_str().ends_with("StateEntered") && name != t.name)
                .then(|| name.to_string())
        });
        let mut out = Map::new();
        let mut inspection = Map::new();
        inspection.insert("input".into(), Value::from(t.input.to_string()));
        for (k, v) in &t.map_settings {
            inspection.insert(k.clone(), v.clone());
        }
        for (k, v) in findings.stages {
            inspection.insert(k, v);
        }
        match findings.decision {
            None => {
                let output = exited.or_else(|| outcome.output.as_ref().map(Value::to_string));
                out.insert("status".into(), Value::from("SUCCEEDED"));
                if let Some(o) = output {
                    out.insert("output".into(), Value::from(o));
                }
                if let Some(n) = next {
                    out.insert("nextState".into(), Value::from(n));
                }
            }
            Some((failure, decision)) => {
                let (failure, status) = match decision {
                    Decision::Retry {
                        index,
                        backoff_seconds,
                    } => {
                        inspection.insert(
                            "errorDetails".into(),
                            json!({"retryIndex": index, "retryBackoffIntervalSeconds": backoff_seconds.max(0.0) as u64}),
                        );
                        (failure, "RETRIABLE")
                    }
                    Decision::Catch {
                        index,
                        next,
                        output,
                    } => {
                        out.insert("output".into(), Value::from(output.to_string()));
                        out.insert("nextState".into(), Value::from(next));
                        inspection.insert("errorDetails".into(), json!({"catchIndex": index}));
                        (failure, "CAUGHT_ERROR")
                    }
                    Decision::CatchFailed(f) => (f, "FAILED"),
                    Decision::Fail => (failure, "FAILED"),
                };
                out.insert("error".into(), Value::from(failure.error));
                out.insert("cause".into(), Value::from(failure.cause));
                out.insert("status".into(), Value::from(status));
            }
        }
        if t.level != "INFO" {
            out.insert("inspectionData".into(), Value::Object(inspection));
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_cover_next_choices_default_and_catch() {
        let s = json!({
            "Type": "Choice",
            "Choices": [{"Next": "A"}, {"Next": "B"}],
            "Default": "C",
            "Catch": [{"Next": "D"}]
        });
        let Value::Object(m) = s else { unreachable!() };
        assert_eq!(targets(&m), ["C", "A", "B", "D"]);
    }
}
