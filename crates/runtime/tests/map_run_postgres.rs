//! Map runs on PostgreSQL shared by two nodes: node A starts one and dies
//! in the middle (its runtime shut down, its leases left to run out); node
//! B takes over the parent and the children, resumes the map run from the
//! store and finishes it, every item run by exactly one child. And the
//! children of a map run started on one node run on both, each once. And a
//! parent stopped through the other node aborts its map run and children.

use statecraft_testsupport::pg;
use statecraft_testsupport::runtime::{create_machine, start};

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use statecraft_engine::TaskRequest;
use statecraft_runtime::{
    ExecutionStatus, Integration, Integrations, Runtime, TaskContext, TaskFuture, TaskOutcome,
};
use statecraft_store::{
    ExecutionFilter, HistoryQuery, MachineType, MapRunStatus, PageRequest, PostgresOptions,
    PostgresStore, Store,
};
use statecraft_types::EventType;

const MACHINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:shared";

async fn node(url: &str, name: &str) -> Runtime {
    node_with(url, name, Integrations::new()).await
}

async fn node_with(url: &str, name: &str, integrations: Integrations) -> Runtime {
    let options = PostgresOptions::new(url);
    let store = tokio::task::spawn_blocking(move || PostgresStore::open(&options))
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("PostgreSQL store: {e}"));
    let store: Arc<dyn Store> = Arc::new(store);
    Runtime::with_store_leased(
        store,
        name.into(),
        integrations,
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
    create_machine(&a, "shared", &definition, MachineType::Standard).await;
    let parent = start(
        &a,
        MACHINE,
        "p",
        &json!({"items": (0..16).collect::<Vec<u64>>()}),
    )
    .await;
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

/// Which node ran which item: a task that answers `{"v", "node"}` with the
/// name of the node it runs on, after a little work.
struct Where {
    node: String,
    log: Arc<Mutex<Vec<(String, u64)>>>,
}

impl Integration for Where {
    fn handles(&self, resource: &str) -> bool {
        resource == "arn:test:where"
    }

    fn invoke(&self, _: TaskContext, request: TaskRequest) -> TaskFuture {
        let node = self.node.clone();
        let log = Arc::clone(&self.log);
        Box::pin(async move {
            let v = request.parameters["v"].as_u64().unwrap_or(u64::MAX);
            tokio::time::sleep(Duration::from_millis(150)).await;
            log.lock().unwrap().push((node.clone(), v));
            TaskOutcome::Succeeded(json!({"v": v, "node": node}))
        })
    }
}

async fn node_recording(url: &str, name: &str, log: &Arc<Mutex<Vec<(String, u64)>>>) -> Runtime {
    let mut integrations = Integrations::new();
    integrations.register(Arc::new(Where {
        node: name.into(),
        log: Arc::clone(log),
    }));
    node_with(url, name, integrations).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_children_of_a_map_run_spread_over_the_nodes() {
    let url = pg::fresh_database("map_run_spread");
    let log = Arc::new(Mutex::new(Vec::new()));
    let a = node_recording(&url, "node-a", &log).await;
    let b = node_recording(&url, "node-b", &log).await;
    let definition = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "ItemsPath": "$.items", "MaxConcurrency": 8,
        "ItemSelector": {"v.$": "$$.Map.Item.Value"},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Where", "States": {
                "Where": {"Type": "Task", "Resource": "arn:test:where",
                          "Parameters": {"v.$": "$.v"}, "End": true}}}}}});
    let machine = create_machine(&a, "spread", &definition, MachineType::Standard).await;
    let parent = start(
        &a,
        &machine,
        "p",
        &json!({"items": (0..40).collect::<Vec<u64>>()}),
    )
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let done = loop {
        let e = a.describe_execution(&parent).unwrap();
        if !e.state.status.is_active() {
            break e;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the map run did not finish: {} items run",
            log.lock().unwrap().len()
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
    let values: Vec<u64> = output
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["v"].as_u64().unwrap())
        .collect();
    assert_eq!(
        values,
        (0..40).collect::<Vec<u64>>(),
        "outputs in item order"
    );
    let ran = log.lock().unwrap().clone();
    let mut items: Vec<u64> = ran.iter().map(|(_, v)| *v).collect();
    items.sort_unstable();
    assert_eq!(
        items,
        (0..40).collect::<Vec<u64>>(),
        "each item run exactly once"
    );
    let on = |node: &str| ran.iter().filter(|(n, _)| n == node).count();
    assert!(
        on("node-a") > 0 && on("node-b") > 0,
        "children ran on both nodes (node-a {}, node-b {})",
        on("node-a"),
        on("node-b")
    );
    // Each child's output names the node that ran it, as its history does.
    for o in output.as_array().unwrap() {
        assert!(o["node"] == "node-a" || o["node"] == "node-b", "{o}");
    }
    let run_arn = map_run_of(&a, &parent).expect("MapRunStarted");
    let kids = children(&a, &run_arn);
    assert_eq!(kids.len(), 40, "one child per item");
    assert!(kids.iter().all(|k| k.1 == ExecutionStatus::Succeeded));
    let run = a.store().get_map_run(&run_arn).unwrap().unwrap();
    assert_eq!(run.execution_counts.succeeded, 40);
    a.shutdown(Duration::from_secs(5)).await;
    b.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parent_stopped_on_the_other_node_aborts_its_map_run() {
    let url = pg::fresh_database("map_run_stop");
    let a = node(&url, "node-a").await;
    let b = node(&url, "node-b").await;
    let definition = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "ItemsPath": "$.items", "MaxConcurrency": 3,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Pause", "States": {
                "Pause": {"Type": "Wait", "Seconds": 60, "End": true}}}}}});
    let machine = create_machine(&a, "stopped", &definition, MachineType::Standard).await;
    let parent = start(
        &a,
        &machine,
        "p",
        &json!({"items": (0..10).collect::<Vec<u64>>()}),
    )
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let run_arn = loop {
        if let Some(arn) = map_run_of(&a, &parent) {
            if children(&a, &arn).len() >= 3 {
                break arn;
            }
        }
        assert!(tokio::time::Instant::now() < deadline, "no children");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // Node B takes the parent's lease to stop it; node A runs the map run.
    b.stop_execution(&parent, None, None).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let run = b.store().get_map_run(&run_arn).unwrap().unwrap();
        let kids = children(&b, &run_arn);
        if run.status == MapRunStatus::Aborted
            && kids.iter().all(|k| k.1 == ExecutionStatus::Aborted)
        {
            assert_eq!(kids.len(), 3, "no child starts after the stop");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "map run {:?}, children {kids:?}",
            run.status
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let types: Vec<EventType> = b
        .store()
        .history(
            &parent,
            &HistoryQuery {
                page: PageRequest::first(100),
                reverse: false,
            },
        )
        .unwrap()
        .items
        .iter()
        .map(|e| e.event_type)
        .collect();
    assert_eq!(
        &types[types.len() - 2..],
        &[EventType::MapRunAborted, EventType::ExecutionAborted],
        "{types:?}"
    );
    a.shutdown(Duration::from_secs(5)).await;
    b.shutdown(Duration::from_secs(5)).await;
}
