//! A real crash: a child process (this test binary, re-run in child mode)
//! starts executions with waits as fast as it can and is killed with
//! SIGKILL mid-flight; the runtime is then opened over the same data
//! directory and every execution must complete, with a history that has no
//! gap and no duplicate, and every start the child saw acknowledged must
//! exist.

use std::time::Duration;

use serde_json::{json, Value};
use statecraft_runtime::{ExecutionStatus, Options, Runtime, StartExecution};
use statecraft_store::{ExecutionFilter, HistoryQuery, MachineType, PageRequest, Revision};
use statecraft_testsupport::child::ChildTest;
use statecraft_types::EventType;

const CHILD_ENV: &str = "STATECRAFT_CRASH_CHILD_DIR";
const MACHINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:crash";

fn definition() -> Value {
    json!({
        "StartAt": "First",
        "States": {
            "First": {"Type": "Pass", "Result": 1, "ResultPath": "$.first", "Next": "W"},
            "W": {"Type": "Wait", "Seconds": 1, "Next": "Last"},
            "Last": {"Type": "Pass", "Result": 2, "ResultPath": "$.last", "End": true}
        }
    })
}

/// Child mode: create the machine, then start executions until killed,
/// printing each acknowledged ARN.
async fn child(dir: &str) {
    let rt = Runtime::open(Options::new(dir)).await.unwrap();
    rt.store()
        .create_state_machine(
            "crash".into(),
            MachineType::Standard,
            Revision {
                revision_id: "rev-crash".into(),
                state_machine_arn: MACHINE.into(),
                definition: definition().to_string(),
                role_arn: "arn:aws:iam::123456789012:role/r".into(),
                description: None,
                logging_configuration: None,
                tracing_configuration: None,
                created_ms: 0,
            },
            0,
        )
        .await
        .unwrap();
    println!("READY");
    let mut i = 0u64;
    loop {
        let mut batch = Vec::new();
        for _ in 0..16 {
            let rt = rt.clone();
            let n = i;
            i += 1;
            batch.push(tokio::spawn(async move {
                rt.start_execution(StartExecution {
                    target_arn: MACHINE.into(),
                    name: Some(format!("e{n}")),
                    input: Some(json!({"n": n}).to_string()),
                    trace_header: None,
                })
                .await
            }));
        }
        for b in batch {
            if let Ok(Ok(started)) = b.await {
                println!("STARTED {}", started.execution_arn);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_flight_loses_nothing_and_repeats_nothing() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        child(&dir).await;
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let child = ChildTest::spawn(
        "kill_9_mid_flight_loses_nothing_and_repeats_nothing",
        CHILD_ENV,
        dir.path(),
        "STARTED ",
    );
    // Wait until the child is well under way (however slow the machine is
    // to start it), then kill it while it is still starting executions:
    // some have finished, some wait, some are mid-commit.
    let mut acknowledged = Vec::new();
    while acknowledged.len() < 200 {
        acknowledged.push(child.next(Duration::from_secs(60)));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    acknowledged.extend(child.kill());

    let rt = Runtime::open(Options::new(dir.path())).await.unwrap();
    let mut all = Vec::new();
    let mut page = PageRequest::first(1000);
    let filter = ExecutionFilter {
        state_machine_arn: Some(MACHINE.into()),
        ..ExecutionFilter::default()
    };
    loop {
        let p = rt.list_executions(&filter, &page).unwrap();
        all.extend(p.items.into_iter().map(|e| e.arn));
        match p.next_token {
            Some(t) => page.next_token = Some(t),
            None => break,
        }
    }
    eprintln!(
        "killed after {} acknowledged starts; {} executions in the store",
        acknowledged.len(),
        all.len()
    );
    for arn in &acknowledged {
        assert!(all.contains(arn), "acknowledged {arn} was lost");
    }
    for arn in &all {
        let e = tokio::time::timeout(Duration::from_secs(10), rt.wait_for_completion(arn))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(e.state.status, ExecutionStatus::Succeeded, "{arn}");
        let output: Value = serde_json::from_str(e.state.output.as_deref().unwrap()).unwrap();
        assert_eq!(output["first"], 1);
        assert_eq!(output["last"], 2);
        let h = rt
            .history(
                arn,
                &HistoryQuery {
                    page: PageRequest::first(1000),
                    reverse: false,
                },
            )
            .unwrap()
            .items;
        let ids: Vec<u64> = h.iter().map(|e| e.id).collect();
        assert_eq!(ids, (1..=h.len() as u64).collect::<Vec<_>>(), "{arn}");
        let count = |t| h.iter().filter(|e| e.event_type == t).count();
        assert_eq!(count(EventType::PassStateEntered), 2, "{arn}");
        assert_eq!(count(EventType::WaitStateExited), 1, "{arn}");
        assert_eq!(count(EventType::ExecutionSucceeded), 1, "{arn}");
    }
    assert!(rt.recovery_failures().is_empty());
    rt.shutdown(Duration::from_secs(5)).await;
}
