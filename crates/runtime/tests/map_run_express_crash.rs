//! An EXPRESS map run across a real crash: a child process (this test
//! binary, re-run in child mode) runs a Distributed Map of EXPRESS children
//! and is killed with SIGKILL mid-run; the runtime is then opened over the
//! same data directory and must resume the map run, not start it over: the
//! items whose children had ended (and were saved) do not run again, only
//! those of the last moments before the kill do, and the Map's output holds
//! every item once, in order.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use statecraft_engine::TaskRequest;
use statecraft_runtime::{
    ExecutionStatus, Integration, Integrations, Options, Runtime, TaskContext, TaskFuture,
    TaskOutcome,
};
use statecraft_store::{HistoryQuery, MachineType, MapRunStatus, PageRequest};
use statecraft_testsupport::child::ChildTest;
use statecraft_testsupport::runtime::{create_machine, start};
use statecraft_types::EventType;

const CHILD_ENV: &str = "STATECRAFT_EXPRESS_CRASH_CHILD_DIR";
const MACHINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:express-crash";
const ITEMS: u64 = 300;
const CONCURRENCY: u64 = 5;
const TEST: &str = "an_express_map_run_killed_mid_run_resumes_without_starting_over";

/// A task that takes 50 ms and appends the item it ran to `ran.log` (one
/// line per run, written before it answers), then answers `{"n": v * 2}`.
struct Logged(PathBuf);

impl Integration for Logged {
    fn handles(&self, resource: &str) -> bool {
        resource == "arn:test:logged"
    }

    fn invoke(&self, _: TaskContext, request: TaskRequest) -> TaskFuture {
        let log = self.0.clone();
        Box::pin(async move {
            let v = request.parameters["v"].as_u64().unwrap_or(u64::MAX);
            tokio::time::sleep(Duration::from_millis(50)).await;
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log)
                .unwrap();
            // One write per line: a kill cannot leave half a line.
            f.write_all(format!("{v}\n").as_bytes()).unwrap();
            TaskOutcome::Succeeded(json!({"n": v * 2}))
        })
    }
}

async fn open(dir: &Path) -> Runtime {
    let mut integrations = Integrations::new();
    integrations.register(Arc::new(Logged(dir.join("ran.log"))));
    let mut options = Options::new(dir);
    options.integrations = integrations;
    Runtime::open(options).await.unwrap()
}

fn ran(dir: &Path) -> Vec<u64> {
    std::fs::read_to_string(dir.join("ran.log"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.parse().ok())
        .collect()
}

/// Child mode: create the machine and start the parent, then wait to be
/// killed.
async fn child(dir: &str) {
    let rt = open(Path::new(dir)).await;
    let definition = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "ItemsPath": "$.items", "MaxConcurrency": CONCURRENCY,
        "ItemSelector": {"v.$": "$$.Map.Item.Value"},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
            "StartAt": "Work", "States": {
                "Work": {"Type": "Task", "Resource": "arn:test:logged",
                         "Parameters": {"v.$": "$.v"}, "End": true}}}}}});
    create_machine(&rt, "express-crash", &definition, MachineType::Standard).await;
    let started = start(
        &rt,
        MACHINE,
        "parent",
        &json!({"items": (0..ITEMS).collect::<Vec<u64>>()}),
    )
    .await;
    // On a line of its own (libtest's "test … ..." opens the current one).
    println!();
    println!("STARTED {started}");
    std::future::pending::<()>().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_express_map_run_killed_mid_run_resumes_without_starting_over() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        child(&dir).await;
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let child = ChildTest::spawn(TEST, CHILD_ENV, dir.path(), "STARTED ");
    let parent = child.next(Duration::from_secs(120));
    // Kill it a good way into the run (a third of the items done).
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while (ran(dir.path()).len() as u64) < ITEMS / 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "the child process ran {} items in 120 s",
            ran(dir.path()).len()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.kill();
    let before = ran(dir.path()).len() as u64;
    assert!(before < ITEMS, "killed mid-run ({before} items had run)");

    let rt = open(dir.path()).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let done = loop {
        let e = rt.describe_execution(&parent).unwrap();
        if !e.state.status.is_active() {
            break e;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the resumed map run did not finish"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        done.state.status,
        ExecutionStatus::Succeeded,
        "{:?}",
        done.state.cause
    );
    let output: Value = serde_json::from_str(done.state.output.as_deref().unwrap()).unwrap();
    let expected: Vec<Value> = (0..ITEMS).map(|v| json!({"n": v * 2})).collect();
    assert_eq!(output, Value::Array(expected), "every item once, in order");

    let all = ran(dir.path());
    let mut distinct = all.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct, (0..ITEMS).collect::<Vec<u64>>(), "every item ran");
    // Run again: the children running at the kill and those that ended
    // after the last save (progress is saved every 200 ms, one write with
    // the ends since the previous one): at 5 at a time and 50 ms each,
    // about 5 + 20. Starting over would run all the `before` items again.
    let again = all.len() as u64 - ITEMS;
    assert!(
        again <= 2 * CONCURRENCY + 40,
        "{again} items ran twice after the restart ({before} had run before the kill)"
    );
    // The parent records one map run, which the store shows succeeded.
    let events = rt
        .store()
        .history(
            &parent,
            &HistoryQuery {
                page: PageRequest::first(100),
                reverse: false,
            },
        )
        .unwrap()
        .items;
    let started: Vec<_> = events
        .iter()
        .filter(|e| e.event_type == EventType::MapRunStarted)
        .collect();
    assert_eq!(started.len(), 1);
    let run_arn = started[0].details.as_ref().unwrap()["mapRunArn"]
        .as_str()
        .unwrap()
        .to_string();
    let run = rt.store().get_map_run(&run_arn).unwrap().unwrap();
    assert_eq!(run.status, MapRunStatus::Succeeded);
    assert_eq!(run.execution_counts.succeeded, ITEMS);
    assert_eq!(run.item_counts.total, ITEMS);
    rt.shutdown(Duration::from_secs(5)).await;
}
