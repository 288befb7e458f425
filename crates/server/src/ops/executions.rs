//! Execution operations: StartExecution (idempotent by name), StartSyncExecution,
//! StopExecution, DescribeExecution, ListExecutions and RedriveExecution
//! (GetExecutionHistory is in `history.rs`). Reads go to the runtime's read
//! model; anything that changes an execution goes through the runtime, which
//! owns execution state.

use serde_json::{json, Value};
use statecraft_runtime::model::{
    Execution, ExecutionFilter, ExecutionStatus, MachineType, RedriveFilter,
};

use std::time::{Duration, Instant};

use statecraft_runtime::StartExecution;

use super::machines::machine_missing;
use super::page_request;
use crate::arn::{wrong_kind, Arn, Resource};
use crate::names;
use crate::protocol::{
    timestamp, ApiError, Len, Request, ARN, CAUSE, CLIENT_TOKEN, ERROR, EXECUTIONS_PAGE_TOKEN,
    LONG_ARN, NAME, TRACE_HEADER,
};
use crate::service::{runtime_err, store_err, Service};

pub(crate) fn execution_missing(arn: &str) -> ApiError {
    ApiError::ExecutionDoesNotExist(format!("Execution Does Not Exist: '{arn}'"))
}

/// Checks that `arn` is an execution ARN.
pub(crate) fn execution_arn(arn: &str) -> Result<(), ApiError> {
    match Arn::parse(arn)?.resource {
        Resource::Execution { .. } | Resource::ExpressExecution { .. } => Ok(()),
        _ => Err(wrong_kind(arn, "an execution ARN")),
    }
}

/// The `DescribeExecution` answer for a stored execution.
pub(crate) fn describe(e: &Execution) -> Value {
    let s = &e.state;
    let mut out = json!({
        "executionArn": e.arn,
        "stateMachineArn": e.state_machine_arn,
        "name": e.name,
        "status": s.status.as_str(),
        "startDate": timestamp(e.start_date_ms),
        "input": e.input,
        "inputDetails": {"included": true},
        "redriveCount": s.redrive_count,
    });
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            out[k] = v;
        }
    };
    put("stopDate", s.stop_date_ms.map(timestamp));
    put("output", s.output.clone().map(Value::from));
    if s.output.is_some() {
        out["outputDetails"] = json!({"included": true});
    }
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            out[k] = v;
        }
    };
    put("error", s.error.clone().map(Value::from));
    put("cause", s.cause.clone().map(Value::from));
    put("traceHeader", e.trace_header.clone().map(Value::from));
    put("mapRunArn", e.map_run_arn.clone().map(Value::from));
    put(
        "stateMachineVersionArn",
        e.version_arn.clone().map(Value::from),
    );
    put("stateMachineAliasArn", e.alias_arn.clone().map(Value::from));
    put("redriveDate", s.redrive_date_ms.map(timestamp));
    put("redriveStatus", s.redrive_status.clone().map(Value::from));
    put(
        "redriveStatusReason",
        s.redrive_status_reason.clone().map(Value::from),
    );
    // Statecraft's: an operator holds it (still RUNNING for AWS clients).
    if let Some(p) = statecraft_runtime::operators::PauseRecord::of(s) {
        out["paused"] = Value::Bool(true);
        out["pauseDetails"] = p.describe();
    }
    out
}

/// How long a RedriveExecution client token is remembered (AWS: 15 min).
const REDRIVE_TOKEN_TTL: Duration = Duration::from_secs(15 * 60);

/// What StartExecution and StartSyncExecution share: the target, name,
/// input and trace header, checked as AWS checks them.
/// A `stateMachineArn` of Step Functions Local's form
/// `arn:…:stateMachine:<name>#<TestCase>`: the ARN and the test case.
fn split_test_case(target: &str) -> (&str, Option<&str>) {
    match target.split_once('#') {
        Some((arn, case)) => (arn, Some(case)),
        None => (target, None),
    }
}

fn start_request(req: &Request, data: Len) -> Result<StartExecution, ApiError> {
    let (target, _) = split_test_case(req.str("stateMachineArn", ARN)?);
    let name = req.opt_str("name", NAME)?;
    let input = req.opt_str("input", data)?;
    let trace_header = req.opt_str("traceHeader", TRACE_HEADER)?;
    match Arn::parse(target)?.resource {
        Resource::StateMachine { .. } | Resource::Version { .. } | Resource::Alias { .. } => {}
        _ => return Err(wrong_kind(target, "a state machine, version or alias ARN")),
    }
    if let Some(n) = name {
        names::check(n)?;
    }
    if let Some(i) = input {
        if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(i) {
            return Err(ApiError::InvalidExecutionInput(format!(
                "Invalid State Machine Execution Input: '{e}'"
            )));
        }
    }
    if let Some(t) = trace_header {
        if !t.is_ascii() {
            return Err(ApiError::validation(
                "1 validation error detected: Value at 'traceHeader' failed to satisfy constraint: Member must satisfy regular expression pattern: \\p{ASCII}*",
            ));
        }
    }
    Ok(StartExecution {
        target_arn: target.to_string(),
        name: name.map(str::to_string),
        input: input.map(str::to_string),
        trace_header: trace_header.map(str::to_string),
    })
}

impl Service {
    pub async fn start_execution(&self, req: Request) -> Result<Value, ApiError> {
        let mut start = start_request(&req, self.data_len())?;
        let mocked = self.begin_test_case(&req, &mut start)?;
        let started = match self.runtime.start_execution(start).await {
            Ok(s) => s,
            Err(e) => {
                if let (Some(m), Some((machine, name))) = (&self.mocks, &mocked) {
                    m.forget(machine, name);
                }
                return Err(runtime_err(e));
            }
        };
        Ok(json!({
            "executionArn": started.execution_arn,
            "startDate": timestamp(started.start_date_ms),
        }))
    }

    /// For `stateMachineArn#TestCase`: checks the test case and records it
    /// for the execution about to start (named here when the request names
    /// it not), so its first task is already answered from it.
    fn begin_test_case(
        &self,
        req: &Request,
        start: &mut StartExecution,
    ) -> Result<Option<(String, String)>, ApiError> {
        let (target, Some(case)) = split_test_case(req.str("stateMachineArn", ARN)?) else {
            return Ok(None);
        };
        let Some(mocks) = &self.mocks else {
            return Err(ApiError::validation(format!(
                "The state machine ARN {target}#{case} names the test case {case:?}, but the server has no mock configuration: start it with --mock-config FILE (or SFN_MOCK_CONFIG)"
            )));
        };
        let machine = match Arn::parse(target)?.resource {
            Resource::StateMachine { name }
            | Resource::Version { name, .. }
            | Resource::Alias { name, .. } => name,
            _ => return Err(wrong_kind(target, "a state machine, version or alias ARN")),
        };
        let name = start
            .name
            .get_or_insert_with(|| uuid::Uuid::new_v4().to_string())
            .clone();
        mocks
            .begin(&machine, &name, case)
            .map_err(|e| ApiError::validation(e.message))?;
        Ok(Some((machine, name)))
    }

    pub async fn start_sync_execution(&self, req: Request) -> Result<Value, ApiError> {
        let mut start = start_request(&req, self.data_len())?;
        self.begin_test_case(&req, &mut start)?;
        let included = req.opt_enum("includedData", &["ALL_DATA", "METADATA_ONLY"])?;
        let done = self
            .runtime
            .start_sync_execution(start)
            .await
            .map_err(runtime_err)?;
        let data = included != Some("METADATA_ONLY");
        let mut out = json!({
            "executionArn": done.execution_arn,
            "stateMachineArn": done.state_machine_arn,
            "name": done.name,
            "startDate": timestamp(done.start_date_ms),
            "stopDate": timestamp(done.stop_date_ms),
            "status": done.status.as_str(),
            "inputDetails": {"included": data},
            "billingDetails": {
                "billedMemoryUsedInMB": done.billed_memory_mb,
                "billedDurationInMilliseconds": done.billed_duration_ms,
            },
        });
        if data {
            out["input"] = Value::from(done.input);
        }
        if let Some(o) = done.output {
            out["outputDetails"] = json!({"included": data});
            if data {
                out["output"] = Value::from(o);
            }
        }
        if let Some(e) = done.error {
            out["error"] = Value::from(e);
        }
        if let Some(c) = done.cause {
            out["cause"] = Value::from(c);
        }
        if let Some(t) = done.trace_header {
            out["traceHeader"] = Value::from(t);
        }
        Ok(out)
    }

    pub async fn stop_execution(&self, req: Request) -> Result<Value, ApiError> {
        let arn = req.str("executionArn", ARN)?;
        let error = req.opt_str("error", ERROR)?;
        let cause = req.opt_str("cause", CAUSE)?;
        execution_arn(arn)?;
        let stopped = self
            .runtime
            .stop_execution(arn, error.map(str::to_string), cause.map(str::to_string))
            .await
            .map_err(runtime_err)?;
        Ok(json!({ "stopDate": timestamp(stopped) }))
    }

    pub async fn redrive_execution(&self, req: Request) -> Result<Value, ApiError> {
        let arn = req.str("executionArn", ARN)?;
        let token = req.opt_str("clientToken", CLIENT_TOKEN)?;
        if let Some(t) = token {
            // The model's pattern `[!-~]+`: printable ASCII, no space.
            if !t.bytes().all(|b| (b'!'..=b'~').contains(&b)) {
                return Err(ApiError::validation(format!(
                    "1 validation error detected: Value '{t}' at 'clientToken' failed to satisfy constraint: Member must satisfy regular expression pattern: [!-~]+"
                )));
            }
        }
        execution_arn(arn)?;
        let key = token.map(|t| (arn.to_string(), t.to_string()));
        if let Some(k) = &key {
            let mut tokens = self.lock_tokens();
            tokens.retain(|_, (_, at)| at.elapsed() < REDRIVE_TOKEN_TTL);
            if let Some((date, _)) = tokens.get(k) {
                return Ok(json!({ "redriveDate": timestamp(*date) }));
            }
        }
        // AWS's rules live in the runtime (`statecraft_runtime::redrive`),
        // which refuses with ExecutionNotRedrivable.
        let date = self
            .runtime
            .redrive_execution(arn)
            .await
            .map_err(runtime_err)?;
        if let Some(k) = key {
            self.lock_tokens().insert(k, (date, Instant::now()));
        }
        Ok(json!({ "redriveDate": timestamp(date) }))
    }

    fn lock_tokens(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<(String, String), (i64, Instant)>>
    {
        match self.redrive_tokens.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    pub(crate) fn execution(&self, arn: &str) -> Result<Execution, ApiError> {
        execution_arn(arn)?;
        self.read
            .get_execution(arn)
            .map_err(store_err)?
            .ok_or_else(|| execution_missing(arn))
    }

    pub async fn describe_execution(&self, req: Request) -> Result<Value, ApiError> {
        let arn = req.str("executionArn", ARN)?;
        let included = req.opt_enum("includedData", &["ALL_DATA", "METADATA_ONLY"])?;
        let e = self.execution(arn)?;
        let mut out = describe(&e);
        if included == Some("METADATA_ONLY") {
            if let Value::Object(m) = &mut out {
                m.remove("input");
                m.remove("output");
                m.insert("inputDetails".into(), json!({"included": false}));
                if m.contains_key("outputDetails") {
                    m.insert("outputDetails".into(), json!({"included": false}));
                }
            }
        }
        Ok(out)
    }

    pub async fn list_executions(&self, req: Request) -> Result<Value, ApiError> {
        let machine = req.opt_str("stateMachineArn", ARN)?;
        let map_run = req.opt_str("mapRunArn", LONG_ARN)?;
        let status = req.opt_enum(
            "statusFilter",
            &[
                "RUNNING",
                "SUCCEEDED",
                "FAILED",
                "TIMED_OUT",
                "ABORTED",
                "PENDING_REDRIVE",
            ],
        )?;
        let redrive = req.opt_enum("redriveFilter", &["REDRIVEN", "NOT_REDRIVEN"])?;
        // Statecraft's: only paused (true) or only unpaused (false) executions.
        let paused = req.opt_bool("pausedFilter")?;
        let page = page_request(&req, EXECUTIONS_PAGE_TOKEN)?;
        let mut filter = ExecutionFilter {
            paused,
            status: status.and_then(ExecutionStatus::parse),
            redrive: redrive.map(|r| {
                if r == "REDRIVEN" {
                    RedriveFilter::Redriven
                } else {
                    RedriveFilter::NotRedriven
                }
            }),
            ..ExecutionFilter::default()
        };
        match (machine, map_run) {
            (Some(arn), None) => {
                let parsed = Arn::parse(arn)?;
                let unqualified = match &parsed.resource {
                    Resource::StateMachine { .. } => {
                        filter.state_machine_arn = Some(arn.to_string());
                        arn.to_string()
                    }
                    Resource::Version { name, .. } => {
                        self.version(arn)?;
                        filter.version_arn = Some(arn.to_string());
                        self.scope.state_machine(name)
                    }
                    Resource::Alias { name, .. } => {
                        self.alias(arn).map_err(|_| machine_missing(arn))?;
                        filter.alias_arn = Some(arn.to_string());
                        self.scope.state_machine(name)
                    }
                    _ => return Err(wrong_kind(arn, "a state machine ARN")),
                };
                let m = self.machine(&unqualified)?;
                if m.machine_type == MachineType::Express {
                    return Err(ApiError::StateMachineTypeNotSupported(
                        "This operation is not supported by this type of state machine: EXPRESS"
                            .into(),
                    ));
                }
            }
            (None, Some(arn)) => {
                match Arn::parse(arn)?.resource {
                    Resource::MapRun { .. } => {}
                    _ => return Err(wrong_kind(arn, "a map run ARN")),
                }
                filter.map_run_arn = Some(arn.to_string());
            }
            _ => {
                return Err(ApiError::validation(
                    "Must provide a StateMachine ARN or MapRun ARN, but not both",
                ))
            }
        }
        let listed = self
            .read
            .list_executions(&filter, &page)
            .map_err(store_err)?;
        let items: Vec<Value> = listed
            .items
            .iter()
            .map(|e| {
                let mut item = json!({
                    "executionArn": e.arn,
                    "stateMachineArn": e.state_machine_arn,
                    "name": e.name,
                    "status": e.status.as_str(),
                    "startDate": timestamp(e.start_date_ms),
                    "redriveCount": e.redrive_count,
                });
                if let Some(s) = e.stop_date_ms {
                    item["stopDate"] = timestamp(s);
                }
                if let Some(v) = &e.version_arn {
                    item["stateMachineVersionArn"] = Value::from(v.clone());
                }
                if let Some(a) = &e.alias_arn {
                    item["stateMachineAliasArn"] = Value::from(a.clone());
                }
                if let Some(r) = e.redrive_date_ms {
                    item["redriveDate"] = timestamp(r);
                }
                if e.paused {
                    item["paused"] = Value::Bool(true);
                }
                if map_run.is_some() {
                    if let Some(m) = &e.map_run_arn {
                        item["mapRunArn"] = Value::from(m.clone());
                    }
                }
                item
            })
            .collect();
        let mut out = json!({ "executions": items });
        if let Some(t) = listed.next_token {
            out["nextToken"] = Value::from(t);
        }
        Ok(out)
    }
}
