//! The map run operations: `DescribeMapRun`, `ListMapRuns` (by parent
//! execution) and `UpdateMapRun` (MaxConcurrency and the tolerated
//! failures of a running map run, through the runtime, which wakes the
//! run's driver to apply them). The children of a map run are listed by
//! `ListExecutions(mapRunArn=…)` in `executions.rs`.

use serde_json::{json, Value};
use statecraft_runtime::model::{MapRun, MapRunStatus, MapRunUpdate};

use crate::arn::{wrong_kind, Arn, Resource};
use crate::ops::executions::{execution_arn, execution_missing};
use crate::ops::page_request;
use crate::protocol::{timestamp, ApiError, Request, ARN, LONG_ARN, PAGE_TOKEN};
use crate::service::{store_err, Service};

/// Checks that `arn` is a map run ARN.
fn map_run_arn(arn: &str) -> Result<(), ApiError> {
    match Arn::parse(arn)?.resource {
        Resource::MapRun { .. } => Ok(()),
        _ => Err(wrong_kind(arn, "a map run ARN")),
    }
}

fn map_run_missing(arn: &str) -> ApiError {
    ApiError::not_found(format!("Map Run Does Not Exist: '{arn}'"), arn)
}

/// The `DescribeMapRun` answer for a stored map run.
pub(crate) fn describe(run: &MapRun) -> Value {
    let mut out = json!({
        "mapRunArn": run.arn,
        "executionArn": run.execution_arn,
        "status": run.status.as_str(),
        "startDate": timestamp(run.start_date_ms),
        "maxConcurrency": run.max_concurrency,
        "toleratedFailurePercentage": run.tolerated_failure_percentage,
        "toleratedFailureCount": run.tolerated_failure_count,
        "itemCounts": run.item_counts,
        "executionCounts": run.execution_counts,
        "redriveCount": run.redrive_count,
    });
    if let Some(s) = run.stop_date_ms {
        out["stopDate"] = timestamp(s);
    }
    if let Some(r) = run.redrive_date_ms {
        out["redriveDate"] = timestamp(r);
    }
    out
}

impl Service {
    fn stored_map_run(&self, arn: &str) -> Result<MapRun, ApiError> {
        map_run_arn(arn)?;
        self.read
            .get_map_run(arn)
            .map_err(store_err)?
            .ok_or_else(|| map_run_missing(arn))
    }

    pub async fn describe_map_run(&self, req: Request) -> Result<Value, ApiError> {
        let arn = req.str("mapRunArn", LONG_ARN)?;
        Ok(describe(&self.stored_map_run(arn)?))
    }

    pub async fn list_map_runs(&self, req: Request) -> Result<Value, ApiError> {
        let arn = req.str("executionArn", ARN)?;
        let page = page_request(&req, PAGE_TOKEN)?;
        execution_arn(arn)?;
        if self.read.get_execution(arn).map_err(store_err)?.is_none() {
            return Err(execution_missing(arn));
        }
        let listed = self.read.list_map_runs(arn, &page).map_err(store_err)?;
        let runs: Vec<Value> = listed
            .items
            .iter()
            .map(|r| {
                let mut item = json!({
                    "executionArn": r.execution_arn,
                    "mapRunArn": r.arn,
                    "stateMachineArn": r.child_machine_arn,
                    "startDate": timestamp(r.start_date_ms),
                });
                if let Some(s) = r.stop_date_ms {
                    item["stopDate"] = timestamp(s);
                }
                item
            })
            .collect();
        let mut out = json!({ "mapRuns": runs });
        if let Some(t) = listed.next_token {
            out["nextToken"] = Value::from(t);
        }
        Ok(out)
    }

    pub async fn update_map_run(&self, req: Request) -> Result<Value, ApiError> {
        let arn = req.str("mapRunArn", LONG_ARN)?;
        let max_concurrency = req.opt_int("maxConcurrency", 0, i64::from(i32::MAX))?;
        let count = req.opt_int("toleratedFailureCount", 0, i64::MAX)?;
        let percentage = req.opt_float("toleratedFailurePercentage")?;
        if let Some(p) = percentage {
            if !(0.0..=100.0).contains(&p) {
                return Err(ApiError::validation(format!(
                    "1 validation error detected: Value '{p}' at 'toleratedFailurePercentage' failed to satisfy constraint: Member must have value between 0 and 100"
                )));
            }
        }
        if max_concurrency.is_none() && count.is_none() && percentage.is_none() {
            return Err(ApiError::validation(
                "At least one of maxConcurrency, toleratedFailurePercentage or toleratedFailureCount must be given",
            ));
        }
        let run = self.stored_map_run(arn)?;
        if run.status != MapRunStatus::Running {
            return Err(ApiError::validation(format!(
                "Map Run '{arn}' is {}: only a RUNNING map run can be updated",
                run.status.as_str()
            )));
        }
        let update = MapRunUpdate {
            max_concurrency: max_concurrency.and_then(|n| u32::try_from(n).ok()),
            tolerated_failure_count: count.and_then(|n| u64::try_from(n).ok()),
            tolerated_failure_percentage: percentage,
            update_date_ms: self.now_ms(),
        };
        // Through the runtime, which wakes the run's driver at once.
        self.runtime
            .update_map_run(arn, update)
            .await
            .map_err(|e| match e {
                statecraft_runtime::Error::Store(
                    statecraft_runtime::model::StoreError::NotFound { .. },
                ) => map_run_missing(arn),
                e => crate::service::runtime_err(e),
            })?;
        Ok(json!({}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    // The tests seed map runs straight into the runtime's store.
    use statecraft_store::{MapRunProgress, NewMapRun, Revision};

    const MACHINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:thumbs";

    async fn service(dir: &std::path::Path) -> std::sync::Arc<Service> {
        let cfg = crate::Config {
            listen: "127.0.0.1:0".parse().expect("addr"),
            data_dir: dir.to_path_buf(),
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
            integrations: Default::default(),
        };
        crate::Server::start(&cfg).await.expect("server").service()
    }

    async fn call(svc: &Service, op: &str, body: Value) -> Result<Value, ApiError> {
        svc.call(op, body.to_string().as_bytes()).await
    }

    fn err_type(r: Result<Value, ApiError>) -> (String, String) {
        match r {
            Ok(v) => panic!("expected an error, got {v}"),
            Err(e) => (e.type_name().to_owned(), e.to_string()),
        }
    }

    fn run_arn(id: &str) -> String {
        format!("arn:aws:states:us-east-1:123456789012:mapRun:thumbs/Resize:{id}")
    }

    async fn new_run(svc: &Service, parent: &str, id: &str, start: i64) -> MapRun {
        let child = format!("{MACHINE}/Resize");
        svc.runtime
            .store()
            .create_map_run(
                NewMapRun {
                    arn: run_arn(id),
                    execution_arn: parent.to_owned(),
                    state_name: "Resize".into(),
                    label: None,
                    child_machine_arn: child.clone(),
                    execution_type: "EXPRESS".into(),
                    max_concurrency: 40,
                    tolerated_failure_count: 3,
                    tolerated_failure_percentage: 5.5,
                    spec: "{}".into(),
                    start_date_ms: start,
                },
                Revision {
                    revision_id: "rev-resize".into(),
                    state_machine_arn: child,
                    definition:
                        "{\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Pass\",\"End\":true}}}"
                            .into(),
                    role_arn: "arn:aws:iam::123456789012:role/r".into(),
                    description: None,
                    logging_configuration: None,
                    tracing_configuration: None,
                    created_ms: start,
                },
            )
            .await
            .expect("create map run")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn map_runs_are_described_listed_and_updated() {
        let dir = tempfile::tempdir().expect("tempdir");
        let svc = service(dir.path()).await;
        call(
            &svc,
            "CreateStateMachine",
            json!({"name": "thumbs", "roleArn": "arn:aws:iam::123456789012:role/r",
                "definition": "{\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Pass\",\"End\":true}}}"}),
        )
        .await
        .expect("create machine");
        let started = call(
            &svc,
            "StartExecution",
            json!({"stateMachineArn": MACHINE, "name": "parent"}),
        )
        .await
        .expect("start");
        let parent = started["executionArn"]
            .as_str()
            .expect("executionArn")
            .to_owned();
        let first = new_run(&svc, &parent, "run-1", 1_700_000_000_000).await;
        new_run(&svc, &parent, "run-2", 1_700_000_001_000).await;

        let d = call(&svc, "DescribeMapRun", json!({"mapRunArn": first.arn}))
            .await
            .expect("describe");
        let counts = json!({"pending": 0, "running": 0, "succeeded": 0, "failed": 0, "timedOut": 0,
            "aborted": 0, "total": 0, "resultsWritten": 0, "failuresNotRedrivable": 0, "pendingRedrive": 0});
        assert_eq!(
            d,
            json!({"mapRunArn": run_arn("run-1"), "executionArn": parent, "status": "RUNNING",
                "startDate": 1_700_000_000.0, "maxConcurrency": 40, "toleratedFailurePercentage": 5.5,
                "toleratedFailureCount": 3, "itemCounts": counts, "executionCounts": counts, "redriveCount": 0})
        );

        // Listed by parent, newest first, in pages.
        let page = call(
            &svc,
            "ListMapRuns",
            json!({"executionArn": parent, "maxResults": 1}),
        )
        .await
        .expect("list");
        assert_eq!(
            page["mapRuns"],
            json!([{"executionArn": parent, "mapRunArn": run_arn("run-2"),
                "stateMachineArn": format!("{MACHINE}/Resize"), "startDate": 1_700_000_001.0}])
        );
        let token = page["nextToken"].as_str().expect("a next page");
        let rest = call(
            &svc,
            "ListMapRuns",
            json!({"executionArn": parent, "nextToken": token}),
        )
        .await
        .expect("list");
        assert_eq!(rest["mapRuns"][0]["mapRunArn"], run_arn("run-1"));
        assert!(rest.get("nextToken").is_none());

        // UpdateMapRun changes what is given and keeps the rest.
        call(
            &svc,
            "UpdateMapRun",
            json!({"mapRunArn": first.arn, "maxConcurrency": 5}),
        )
        .await
        .expect("update");
        call(
            &svc,
            "UpdateMapRun",
            json!({"mapRunArn": first.arn, "toleratedFailurePercentage": 50, "toleratedFailureCount": 0}),
        )
        .await
        .expect("update");
        let d = call(&svc, "DescribeMapRun", json!({"mapRunArn": first.arn}))
            .await
            .expect("describe");
        assert_eq!(
            (
                &d["maxConcurrency"],
                &d["toleratedFailurePercentage"],
                &d["toleratedFailureCount"]
            ),
            (&json!(5), &json!(50.0), &json!(0))
        );

        // A finished map run shows its end and can no longer be updated.
        let mut counts = first.item_counts;
        counts.succeeded = 2;
        counts.total = 2;
        svc.runtime
            .store()
            .save_map_run_progress(
                &first.arn,
                MapRunProgress {
                    status: MapRunStatus::Succeeded,
                    item_counts: counts,
                    execution_counts: counts,
                    cursor: None,
                    result_writer_details: None,
                    error: None,
                    cause: None,
                    stop_date_ms: Some(1_700_000_002_500),
                },
            )
            .await
            .expect("progress");
        let d = call(&svc, "DescribeMapRun", json!({"mapRunArn": first.arn}))
            .await
            .expect("describe");
        assert_eq!(d["status"], "SUCCEEDED");
        assert_eq!(d["stopDate"], json!(1_700_000_002.5));
        assert_eq!(d["itemCounts"]["succeeded"], 2);

        // Errors, with AWS's names.
        let missing = run_arn("nope");
        let cases: Vec<(&str, Value, &str, String)> = vec![
            ("DescribeMapRun", json!({"mapRunArn": missing}), "ResourceNotFound",
                format!("Map Run Does Not Exist: '{missing}'")),
            ("DescribeMapRun", json!({"mapRunArn": parent}), "InvalidArn",
                format!("Invalid Arn: 'Resource type not valid in this context: {parent}' (expected a map run ARN)")),
            ("DescribeMapRun", json!({}), "ValidationException", String::new()),
            ("ListMapRuns", json!({"executionArn": format!("{MACHINE}x")}), "InvalidArn", String::new()),
            ("ListMapRuns", json!({"executionArn": parent.replace("parent", "ghost")}), "ExecutionDoesNotExist",
                format!("Execution Does Not Exist: '{}'", parent.replace("parent", "ghost"))),
            ("UpdateMapRun", json!({"mapRunArn": first.arn}), "ValidationException",
                "At least one of maxConcurrency, toleratedFailurePercentage or toleratedFailureCount must be given".into()),
            ("UpdateMapRun", json!({"mapRunArn": first.arn, "toleratedFailurePercentage": 101}), "ValidationException",
                "1 validation error detected: Value '101' at 'toleratedFailurePercentage' failed to satisfy constraint: Member must have value between 0 and 100".into()),
            ("UpdateMapRun", json!({"mapRunArn": first.arn, "maxConcurrency": -1}), "ValidationException", String::new()),
            ("UpdateMapRun", json!({"mapRunArn": first.arn, "maxConcurrency": 9}), "ValidationException",
                format!("Map Run '{}' is SUCCEEDED: only a RUNNING map run can be updated", first.arn)),
            ("UpdateMapRun", json!({"mapRunArn": missing, "maxConcurrency": 9}), "ResourceNotFound",
                format!("Map Run Does Not Exist: '{missing}'")),
        ];
        for (op, body, want_type, want_message) in cases {
            let (t, m) = err_type(call(&svc, op, body.clone()).await);
            assert_eq!(t, want_type, "{op} {body}: {m}");
            if !want_message.is_empty() {
                assert_eq!(m, want_message, "{op} {body}");
            }
        }
    }
}
