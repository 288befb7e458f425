//! Execution operations: StartExecution (idempotent by name), StartSyncExecution,
//! StopExecution, DescribeExecution, ListExecutions, GetExecutionHistory and
//! RedriveExecution. Reads go to the store; anything that changes an
//! execution goes through the runtime, which owns execution state.

use serde_json::{json, Map, Value};
use statecraft_store::{
    Execution, ExecutionFilter, ExecutionStatus, HistoryQuery, MachineType, RedriveFilter,
};

use super::machines::machine_missing;
use super::page_request;
use crate::arn::{wrong_kind, Arn, Resource};
use crate::protocol::{
    timestamp, ApiError, Request, ARN, EXECUTIONS_PAGE_TOKEN, LONG_ARN, PAGE_TOKEN,
};
use crate::service::{store_err, Service};

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
    out
}

/// Removes execution data (inputs, outputs, task parameters) from a history
/// event's details, for `includeExecutionData: false`.
fn strip_data(event: &mut Value) {
    if let Value::Object(m) = event {
        for (k, v) in m.iter_mut() {
            if k.ends_with("EventDetails") {
                if let Value::Object(d) = v {
                    strip_details(d);
                }
            }
        }
    }
}

fn strip_details(d: &mut Map<String, Value>) {
    for key in ["input", "output", "parameters"] {
        d.remove(key);
    }
}

impl Service {
    pub(crate) fn execution(&self, arn: &str) -> Result<Execution, ApiError> {
        execution_arn(arn)?;
        self.store
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
        let page = page_request(&req, EXECUTIONS_PAGE_TOKEN)?;
        let mut filter = ExecutionFilter {
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
            .store
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

    pub async fn get_execution_history(&self, req: Request) -> Result<Value, ApiError> {
        let arn = req.str("executionArn", ARN)?;
        let reverse = req.opt_bool("reverseOrder")?.unwrap_or(false);
        let include_data = req.opt_bool("includeExecutionData")?.unwrap_or(true);
        let page = page_request(&req, PAGE_TOKEN)?;
        execution_arn(arn)?;
        let listed = self
            .store
            .history(arn, &HistoryQuery { page, reverse })
            .map_err(|e| match e {
                statecraft_store::Error::NotFound { .. } => execution_missing(arn),
                e => store_err(e),
            })?;
        let events: Vec<Value> = listed
            .items
            .iter()
            .map(|e| {
                let mut w = e.to_wire();
                if !include_data {
                    strip_data(&mut w);
                }
                w
            })
            .collect();
        let mut out = json!({ "events": events });
        if let Some(t) = listed.next_token {
            out["nextToken"] = Value::from(t);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripping_removes_data_but_keeps_names() {
        let mut e = json!({
            "id": 2,
            "type": "PassStateEntered",
            "stateEnteredEventDetails": {"name": "P", "input": "{}", "inputDetails": {"truncated": false}}
        });
        strip_data(&mut e);
        assert_eq!(
            e["stateEnteredEventDetails"],
            json!({"name": "P", "inputDetails": {"truncated": false}})
        );
    }
}
