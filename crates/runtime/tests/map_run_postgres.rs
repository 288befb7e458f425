//! A map run on PostgreSQL shared by two nodes: node A starts it and dies
//! in the middle (its runtime shut down, its leases left to run out); node
//! B takes over the parent and the children, resumes the map run from the
//! store and finishes it, every item run by exactly one child.

#[path = "../../store/tests/support/pg.rs"]
mod pg;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use statecraft_runtime::{ExecutionStatus, Integrations, Runtime, StartExecution};
use statecraft_store::{
    ExecutionFilter, HistoryQuery, MachineType, MapRunStatus, PageRequest, PostgresOptions,
    PostgresStore, Revision, Store,
};
use statecraft_types::EventType;

const MACHINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:shared";

async fn node(url: &str, name: &str) -> Runtime {
    let options = PostgresOptions::new(url);
    let store = tokio::task::spawn_blocking(move || PostgresStore::open(&options))
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("PostgreSQL store: {e}"));
    let store: Arc<dyn Store> = Arc::new(store);
    Runtime::with_store_leased(
        store,
        name.into(),
        Integrations::new(),
        Duration::from_millis(1500),
    )
    .await
    .unwrap()
}

fn children(rt: &Runtime, map_run: &str) -> Vec<(String, ExecutionStatus)> {
    let filter = ExecutionFilter {
        map_run_arn: Some(map_run.to_string()),
        ..ExecutionFilter::default()
    };
    rt.store()
        .list_executions(&filter, &PageRequest::first(1000))
        .unwrap()
        .items
        .into_iter()
        .map(|e| (e.name, e.status))
        .collect()
}

fn map_run_of(rt: &Runtime, parent: &str) -> Option<String> {
    let events = rt
        .store()
        .history(
            parent,
            &HistoryQuery {
                page: PageRequest::first(100),
                reverse: false,
            },
        )
        .ok()?
        .items;
    let started = events
        .iter()
        .find(|e| e.event_type == EventType::MapRunStarted)?;
    Some(started.details.as_ref()?["mapRunArn"].as_str()?.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_node_finishes_a_map_run_whose_node_died() {
    let url = pg::fresh_database("map_run_nodes");
    let a = node(&url, "node-a").await;
    let b = node(&url, "node-b").await;
    let definition = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "ItemsPath": "$.items", "MaxConcurrency": 4,
        "ItemSelector": {"v.$": "$$.Map.Item.Value"},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Pause", "States": {
                "Pause": {"Type": "Wait", "Seconds": 1, "Next": "Double"},
                "Double": {"Type": "Pass", "Parameters": {"d.$": "States.MathAdd($.v, $.v)"},
                           "End": true}}}}}});
    a.store()
        .create_state_machine(
            "shared".into(),
            MachineType::Standard,
            Revision {
                revision_id: "rev-shared".into(),
                state_machine_arn: MACHINE.into(),
                definition: definition.to_string(),
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
    let parent = a
        .start_execution(StartExecution {
            target_arn: MACHINE.into(),
            name: Some("p".into()),
            input: Some(json!({"items": (0..16).collect::<Vec<u64>>()}).to_string()),
            trace_header: None,
        })
        .await
        .unwrap()
        .execution_arn;
    // Node A dies once its first window of children exists.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let run_arn = loop {
        if let Some(arn) = map_run_of(&a, &parent) {
            if children(&a, &arn).len() >= 4 {
                break arn;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no children on node A"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    a.shutdown(Duration::from_secs(5)).await;
    let before = children(&b, &run_arn).len();
    assert!(before < 16, "node A died mid-run ({before} children)");

    // Node B claims the parent and the children when their leases run out.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    let done = loop {
        let e = b.describe_execution(&parent).unwrap();
        if !e.state.status.is_active() {
            break e;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "node B did not finish the map run: {:?}",
            children(&b, &run_arn)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        done.state.status,
        ExecutionStatus::Succeeded,
        "{:?}",
        done.state.cause
    );
    let output: Value = serde_json::from_str(done.state.output.as_deref().unwrap()).unwrap();
    let expected: Vec<Value> = (0..16u64).map(|n| json!({"d": n * 2})).collect();
    assert_eq!(output, Value::Array(expected));
    let kids = children(&b, &run_arn);
    assert_eq!(kids.len(), 16, "one child per item");
    assert!(kids.iter().all(|k| k.1 == ExecutionStatus::Succeeded));
    let mut names: Vec<&String> = kids.iter().map(|k| &k.0).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 16);
    let run = b.store().get_map_run(&run_arn).unwrap().unwrap();
    assert_eq!(run.status, MapRunStatus::Succeeded);
    assert_eq!(run.execution_counts.succeeded, 16);
    b.shutdown(Duration::from_secs(5)).await;
}
