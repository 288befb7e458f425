//! Distributed Map runs on the durable runtime with a real SQLite store:
//! child executions listed by map run, the window of MaxConcurrency, the
//! output in item order, the tolerated-failure threshold, EXPRESS children,
//! a restart in the middle of a map run, stopping the parent, redriving a
//! failed map run and UpdateMapRun.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use statecraft_engine::TaskRequest;
use statecraft_runtime::{
    ExecutionStatus, Integration, Integrations, Options, Runtime, TaskContext, TaskFuture,
    TaskOutcome,
};
use statecraft_store::{
    ExecutionFilter, HistoryQuery, MachineType, MapRunStatus, MapRunUpdate, PageRequest,
};
use statecraft_testsupport::runtime;
use statecraft_types::{EventType, Failure, HistoryEvent};

/// A task that counts how many of its invocations run at once (the most
/// seen is what MaxConcurrency must bound), sleeps a little and answers
/// `{"n": n * 2}`; `n` divisible by `fail_every` fails.
struct Work {
    now: AtomicUsize,
    most: AtomicUsize,
    calls: AtomicUsize,
    fail_every: u64,
    sleep_ms: u64,
}

impl Work {
    fn new(fail_every: u64, sleep_ms: u64) -> Arc<Work> {
        Arc::new(Work {
            now: AtomicUsize::new(0),
            most: AtomicUsize::new(0),
            calls: AtomicUsize::new(0),
            fail_every,
            sleep_ms,
        })
    }
}

struct WorkIntegration(Arc<Work>);

impl Integration for WorkIntegration {
    fn handles(&self, resource: &str) -> bool {
        resource == "arn:test:work"
    }

    fn invoke(&self, _: TaskContext, request: TaskRequest) -> TaskFuture {
        let w = Arc::clone(&self.0);
        Box::pin(async move {
            let running = w.now.fetch_add(1, Ordering::SeqCst) + 1;
            w.most.fetch_max(running, Ordering::SeqCst);
            w.calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(w.sleep_ms)).await;
            w.now.fetch_sub(1, Ordering::SeqCst);
            let n = request.parameters["n"].as_u64().unwrap_or(0);
            if w.fail_every > 0 && n.is_multiple_of(w.fail_every) {
                return TaskOutcome::Failed(Failure::new("Work.Bad", format!("item {n}")));
            }
            TaskOutcome::Succeeded(json!({"n": n * 2}))
        })
    }
}

async fn open(dir: &std::path::Path, work: &Arc<Work>) -> Runtime {
    let mut integrations = Integrations::new();
    integrations.register(Arc::new(WorkIntegration(Arc::clone(work))));
    let mut options = Options::new(dir);
    options.integrations = integrations;
    Runtime::open(options).await.unwrap()
}

async fn create(rt: &Runtime, name: &str, definition: &Value) -> String {
    runtime::create_machine(rt, name, definition, MachineType::Standard).await
}

async fn start(rt: &Runtime, machine: &str, name: &str, input: Value) -> String {
    runtime::start(rt, machine, name, &input).await
}

async fn finished(
    rt: &Runtime,
    arn: &str,
    within: Duration,
) -> statecraft_runtime::ExecutionRecord {
    runtime::finished(rt, arn, within).await
}

fn history(rt: &Runtime, arn: &str) -> Vec<HistoryEvent> {
    rt.store()
        .history(
            arn,
            &HistoryQuery {
                page: PageRequest::first(1000),
                reverse: false,
            },
        )
        .unwrap()
        .items
}

fn map_run_arn(events: &[HistoryEvent]) -> String {
    let started = events
        .iter()
        .find(|e| e.event_type == EventType::MapRunStarted)
        .expect("MapRunStarted");
    started.details.as_ref().unwrap()["mapRunArn"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Every child of a map run: (ARN, name, status, parent).
fn children(rt: &Runtime, map_run: &str) -> Vec<(String, String, ExecutionStatus)> {
    let filter = ExecutionFilter {
        map_run_arn: Some(map_run.to_string()),
        ..ExecutionFilter::default()
    };
    let mut page = PageRequest::first(1000);
    let mut out = Vec::new();
    loop {
        let got = rt.store().list_executions(&filter, &page).unwrap();
        out.extend(got.items.into_iter().map(|e| (e.arn, e.name, e.status)));
        match got.next_token {
            Some(t) => page.next_token = Some(t),
            None => return out,
        }
    }
}

fn distributed(extra: Value, execution_type: &str, wait_seconds: u64) -> Value {
    let mut processor = json!({
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": execution_type},
        "StartAt": "Work",
        "States": {
            "Work": {"Type": "Task", "Resource": "arn:test:work", "Parameters": {"n.$": "$.v"},
                     "End": true}
        }
    });
    if wait_seconds > 0 {
        processor["StartAt"] = json!("Pause");
        processor["States"]["Pause"] =
            json!({"Type": "Wait", "Seconds": wait_seconds, "Next": "Work"});
    }
    let mut map = json!({"Type": "Map", "End": true, "ItemsPath": "$.items",
        "ItemSelector": {"v.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index"},
        "Label": "Job",
        "ItemProcessor": processor});
    if let (Value::Object(m), Value::Object(e)) = (&mut map, extra) {
        m.extend(e);
    }
    json!({"StartAt": "M", "States": {"M": map}})
}

fn items(n: u64) -> Value {
    json!({ "items": (0..n).collect::<Vec<_>>() })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_items_seven_at_a_time_run_as_five_hundred_children() {
    let dir = tempfile::tempdir().unwrap();
    let work = Work::new(0, 5);
    let rt = open(dir.path(), &work).await;
    let sm = create(
        &rt,
        "fanout",
        &distributed(json!({"MaxConcurrency": 7}), "STANDARD", 0),
    )
    .await;
    let parent = start(&rt, &sm, "p1", items(500)).await;
    let done = finished(&rt, &parent, Duration::from_secs(120)).await;
    assert_eq!(
        done.state.status,
        ExecutionStatus::Succeeded,
        "{:?}",
        done.state.error
    );
    let output: Value = serde_json::from_str(done.state.output.as_deref().unwrap()).unwrap();
    let expected: Vec<Value> = (0..500u64).map(|n| json!({"n": n * 2})).collect();
    assert_eq!(output, Value::Array(expected), "outputs in item order");

    let events = history(&rt, &parent);
    let types: Vec<EventType> = events.iter().map(|e| e.event_type).collect();
    assert_eq!(
        types,
        vec![
            EventType::ExecutionStarted,
            EventType::MapStateEntered,
            EventType::MapStateStarted,
            EventType::MapRunStarted,
            EventType::MapRunSucceeded,
            EventType::MapStateSucceeded,
            EventType::MapStateExited,
            EventType::ExecutionSucceeded,
        ],
        "the parent records the map run, not its iterations"
    );
    let run_arn = map_run_arn(&events);
    assert!(
        run_arn.starts_with("arn:aws:states:us-east-1:123456789012:mapRun:fanout/Job:"),
        "{run_arn}"
    );
    let kids = children(&rt, &run_arn);
    assert_eq!(kids.len(), 500, "one child execution per item");
    assert!(kids.iter().all(|k| k.2 == ExecutionStatus::Succeeded));
    let one = rt.describe_execution(&kids[0].0).unwrap();
    assert_eq!(one.map_run_arn.as_deref(), Some(run_arn.as_str()));
    assert_eq!(one.parent_arn.as_deref(), Some(parent.as_str()));
    assert!(
        one.arn
            .starts_with("arn:aws:states:us-east-1:123456789012:execution:fanout/Job:"),
        "{}",
        one.arn
    );
    assert_eq!(
        one.state_machine_arn,
        "arn:aws:states:us-east-1:123456789012:stateMachine:fanout/Job"
    );
    // AWS names a map run's children with UUIDs: here the map run's id
    // with the item's number in its last group.
    let run_id = run_arn.rsplit(':').next().unwrap();
    let mut names: Vec<&str> = kids.iter().map(|k| k.1.as_str()).collect();
    names.sort_unstable();
    let expected: Vec<String> = (0..500u64)
        .map(|n| format!("{}-{n:012x}", &run_id[..23]))
        .collect();
    assert_eq!(names, expected);
    assert!(uuid::Uuid::parse_str(names[499]).is_ok(), "{}", names[499]);
    // Each child has its own history.
    let child_types: Vec<EventType> = history(&rt, &one.arn)
        .iter()
        .map(|e| e.event_type)
        .collect();
    assert_eq!(child_types.first(), Some(&EventType::ExecutionStarted));
    assert_eq!(child_types.last(), Some(&EventType::ExecutionSucceeded));

    assert_eq!(work.calls.load(Ordering::SeqCst), 500);
    let most = work.most.load(Ordering::SeqCst);
    assert!(
        most <= 7,
        "at most MaxConcurrency children at once, saw {most}"
    );
    assert!(most >= 2, "children ran concurrently, saw {most}");

    let run = rt.store().get_map_run(&run_arn).unwrap().unwrap();
    assert_eq!(run.status, MapRunStatus::Succeeded);
    assert_eq!(run.max_concurrency, 7);
    assert_eq!(run.execution_counts.total, 500);
    assert_eq!(run.execution_counts.succeeded, 500);
    assert_eq!(run.execution_counts.running, 0);
    assert_eq!(run.item_counts.succeeded, 500);
    assert_eq!(run.label.as_deref(), Some("Job"));
    assert!(run.stop_date_ms.is_some());
    let listed = rt
        .store()
        .list_map_runs(&parent, &PageRequest::first(10))
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    rt.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_past_the_tolerated_count_fail_the_map_run_within_it_they_are_output() {
    let dir = tempfile::tempdir().unwrap();
    // Items 0, 10, 20, 30 fail: four failures among 40.
    let work = Work::new(10, 1);
    let rt = open(dir.path(), &work).await;
    let within = create(
        &rt,
        "tolerant",
        &distributed(
            json!({"MaxConcurrency": 5, "ToleratedFailureCount": 4}),
            "STANDARD",
            0,
        ),
    )
    .await;
    let parent = start(&rt, &within, "ok", items(40)).await;
    let done = finished(&rt, &parent, Duration::from_secs(60)).await;
    assert_eq!(
        done.state.status,
        ExecutionStatus::Succeeded,
        "{:?}",
        done.state.cause
    );
    let output: Value = serde_json::from_str(done.state.output.as_deref().unwrap()).unwrap();
    assert_eq!(
        output[0]["Error"], "Work.Bad",
        "a failed item's place: {}",
        output[0]
    );
    assert_eq!(output[0]["Cause"], "item 0");
    assert_eq!(output[1], json!({"n": 2}));
    let run_arn = map_run_arn(&history(&rt, &parent));
    let run = rt.store().get_map_run(&run_arn).unwrap().unwrap();
    assert_eq!(run.status, MapRunStatus::Succeeded);
    assert_eq!(run.execution_counts.failed, 4);
    assert_eq!(run.execution_counts.succeeded, 36);

    let past = create(
        &rt,
        "intolerant",
        &distributed(
            json!({"MaxConcurrency": 5, "ToleratedFailureCount": 3}),
            "STANDARD",
            0,
        ),
    )
    .await;
    let parent = start(&rt, &past, "bad", items(40)).await;
    let done = finished(&rt, &parent, Duration::from_secs(60)).await;
    assert_eq!(done.state.status, ExecutionStatus::Failed);
    assert_eq!(
        done.state.error.as_deref(),
        Some("States.ExceedToleratedFailureThreshold")
    );
    let events = history(&rt, &parent);
    let failed = events
        .iter()
        .find(|e| e.event_type == EventType::MapRunFailed)
        .expect("MapRunFailed");
    assert_eq!(
        failed.details.as_ref().unwrap()["error"],
        "States.ExceedToleratedFailureThreshold"
    );
    let run_arn = map_run_arn(&events);
    let run = rt.store().get_map_run(&run_arn).unwrap().unwrap();
    assert_eq!(run.status, MapRunStatus::Failed);
    assert_eq!(
        run.error.as_deref(),
        Some("States.ExceedToleratedFailureThreshold")
    );
    assert_eq!(
        run.execution_counts.failed, 4,
        "it fails at the fourth failure"
    );
    // No child is left running, and not every item was started.
    let kids = children(&rt, &run_arn);
    assert!(kids.iter().all(|k| k.2 != ExecutionStatus::Running));
    assert!(
        kids.len() < 40,
        "the run stopped early: {} children",
        kids.len()
    );

    // A percentage is judged against all 40 items: 4 failures are 10%.
    for (name, percentage, expected) in [
        ("pct-over", 9.0, ExecutionStatus::Failed),
        ("pct-within", 10.0, ExecutionStatus::Succeeded),
    ] {
        let sm = create(
            &rt,
            name,
            &distributed(
                json!({"MaxConcurrency": 5, "ToleratedFailurePercentage": percentage}),
                "STANDARD",
                0,
            ),
        )
        .await;
        let parent = start(&rt, &sm, "p", items(40)).await;
        let done = finished(&rt, &parent, Duration::from_secs(60)).await;
        assert_eq!(
            done.state.status, expected,
            "{name}: {:?}",
            done.state.cause
        );
        if expected == ExecutionStatus::Failed {
            assert_eq!(
                done.state.error.as_deref(),
                Some("States.ExceedToleratedFailureThreshold")
            );
        }
    }
    rt.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn express_children_leave_no_executions_behind() {
    let dir = tempfile::tempdir().unwrap();
    let work = Work::new(0, 1);
    let rt = open(dir.path(), &work).await;
    // Batches of three through a Pass processor: each child's output is its batch.
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "ItemsPath": "$.items", "MaxConcurrency": 4,
        "ItemBatcher": {"MaxItemsPerBatch": 3},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
            "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}});
    let sm = create(&rt, "cheap", &def).await;
    let parent = start(&rt, &sm, "e", items(10)).await;
    let done = finished(&rt, &parent, Duration::from_secs(60)).await;
    assert_eq!(
        done.state.status,
        ExecutionStatus::Succeeded,
        "{:?}",
        done.state.cause
    );
    let output: Value = serde_json::from_str(done.state.output.as_deref().unwrap()).unwrap();
    assert_eq!(
        output,
        json!([{"Items": [0, 1, 2]}, {"Items": [3, 4, 5]}, {"Items": [6, 7, 8]}, {"Items": [9]}])
    );
    let run_arn = map_run_arn(&history(&rt, &parent));
    assert!(
        children(&rt, &run_arn).is_empty(),
        "EXPRESS children have no records"
    );
    let run = rt.store().get_map_run(&run_arn).unwrap().unwrap();
    assert_eq!(run.status, MapRunStatus::Succeeded);
    assert_eq!(run.execution_counts.succeeded, 4);
    assert_eq!(run.item_counts.succeeded, 10);
    assert_eq!(run.execution_type, "EXPRESS");

    // A ResultWriter with only a WriterConfig shapes the output in place.
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "ItemsPath": "$.items",
        "ResultWriter": {"WriterConfig": {"Transformation": "FLATTEN", "OutputType": "JSON"}},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
            "StartAt": "P", "States": {"P": {"Type": "Pass",
                "Parameters": {"pair.$": "States.Array($, $)"}, "OutputPath": "$.pair",
                "End": true}}}}}});
    let sm = create(&rt, "flat", &def).await;
    let parent = start(&rt, &sm, "f", items(3)).await;
    let done = finished(&rt, &parent, Duration::from_secs(60)).await;
    assert_eq!(
        done.state.status,
        ExecutionStatus::Succeeded,
        "{:?}",
        done.state.cause
    );
    let output: Value = serde_json::from_str(done.state.output.as_deref().unwrap()).unwrap();
    assert_eq!(output, json!([0, 0, 1, 1, 2, 2]));
    rt.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_in_the_middle_of_a_map_run_resumes_it_without_repeating_children() {
    let dir = tempfile::tempdir().unwrap();
    let work = Work::new(0, 1);
    let (parent, run_arn) = {
        let rt = open(dir.path(), &work).await;
        let sm = create(
            &rt,
            "resumable",
            &distributed(json!({"MaxConcurrency": 5}), "STANDARD", 1),
        )
        .await;
        let parent = start(&rt, &sm, "r", items(30)).await;
        // Wait until the first window of children exists.
        let run_arn = loop {
            let events = history(&rt, &parent);
            if events
                .iter()
                .any(|e| e.event_type == EventType::MapRunStarted)
            {
                let arn = map_run_arn(&events);
                if children(&rt, &arn).len() >= 5 {
                    break arn;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        rt.shutdown(Duration::from_secs(5)).await;
        (parent, run_arn)
    };
    let rt = open(dir.path(), &work).await;
    let before = children(&rt, &run_arn);
    assert!(
        before.len() < 30,
        "the restart came mid-run ({} children)",
        before.len()
    );
    let run = rt.store().get_map_run(&run_arn).unwrap().unwrap();
    assert_eq!(run.status, MapRunStatus::Running);
    let done = finished(&rt, &parent, Duration::from_secs(120)).await;
    assert_eq!(
        done.state.status,
        ExecutionStatus::Succeeded,
        "{:?}",
        done.state.cause
    );
    let output: Value = serde_json::from_str(done.state.output.as_deref().unwrap()).unwrap();
    let expected: Vec<Value> = (0..30u64).map(|n| json!({"n": n * 2})).collect();
    assert_eq!(output, Value::Array(expected));
    let kids = children(&rt, &run_arn);
    assert_eq!(kids.len(), 30, "one child per item, none twice");
    let mut names: Vec<&String> = kids.iter().map(|k| &k.1).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 30);
    // The parent records one map run.
    let types: Vec<EventType> = history(&rt, &parent).iter().map(|e| e.event_type).collect();
    assert_eq!(
        types
            .iter()
            .filter(|t| **t == EventType::MapRunStarted)
            .count(),
        1
    );
    let run = rt.store().get_map_run(&run_arn).unwrap().unwrap();
    assert_eq!(run.status, MapRunStatus::Succeeded);
    assert_eq!(run.execution_counts.succeeded, 30);
    rt.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_batched_run_reads_on_after_its_last_whole_batch() {
    let dir = tempfile::tempdir().unwrap();
    let work = Work::new(0, 1);
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "ItemsPath": "$.items", "MaxConcurrency": 2,
        "ItemBatcher": {"MaxItemsPerBatch": 3},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Pause", "States": {
                "Pause": {"Type": "Wait", "Seconds": 1, "Next": "Done"},
                "Done": {"Type": "Pass", "End": true}}}}}});
    let (parent, run_arn) = {
        let rt = open(dir.path(), &work).await;
        let sm = create(&rt, "batched", &def).await;
        let parent = start(&rt, &sm, "b", items(31)).await;
        let run_arn = loop {
            let events = history(&rt, &parent);
            if events
                .iter()
                .any(|e| e.event_type == EventType::MapRunStarted)
            {
                let arn = map_run_arn(&events);
                if children(&rt, &arn).len() >= 2 {
                    break arn;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        rt.shutdown(Duration::from_secs(5)).await;
        (parent, run_arn)
    };
    let rt = open(dir.path(), &work).await;
    assert!(
        children(&rt, &run_arn).len() < 11,
        "the restart came mid-run"
    );
    let done = finished(&rt, &parent, Duration::from_secs(120)).await;
    assert_eq!(
        done.state.status,
        ExecutionStatus::Succeeded,
        "{:?}",
        done.state.cause
    );
    let output: Value = serde_json::from_str(done.state.output.as_deref().unwrap()).unwrap();
    let expected: Vec<Value> = (0..31u64)
        .collect::<Vec<_>>()
        .chunks(3)
        .map(|c| json!({ "Items": c }))
        .collect();
    assert_eq!(output, Value::Array(expected), "every item once, in order");
    assert_eq!(children(&rt, &run_arn).len(), 11);
    let run = rt.store().get_map_run(&run_arn).unwrap().unwrap();
    assert_eq!(run.status, MapRunStatus::Succeeded);
    assert_eq!(run.execution_counts.succeeded, 11);
    assert_eq!(run.item_counts.succeeded, 31, "items counted by batch");
    assert_eq!(run.item_counts.total, 31);
    rt.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_the_parent_aborts_the_map_run_and_its_children() {
    let dir = tempfile::tempdir().unwrap();
    let work = Work::new(0, 1);
    let rt = open(dir.path(), &work).await;
    let sm = create(
        &rt,
        "stoppable",
        &distributed(json!({"MaxConcurrency": 3}), "STANDARD", 30),
    )
    .await;
    let parent = start(&rt, &sm, "s", items(20)).await;
    let run_arn = loop {
        let events = history(&rt, &parent);
        if events
            .iter()
            .any(|e| e.event_type == EventType::MapRunStarted)
        {
            let arn = map_run_arn(&events);
            if children(&rt, &arn).len() >= 3 {
                break arn;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    rt.stop_execution(&parent, None, None).await.unwrap();
    // The parent records the map run's end before its own, as AWS does.
    let types: Vec<EventType> = history(&rt, &parent).iter().map(|e| e.event_type).collect();
    assert_eq!(
        &types[types.len() - 2..],
        &[EventType::MapRunAborted, EventType::ExecutionAborted],
        "{types:?}"
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let run = rt.store().get_map_run(&run_arn).unwrap().unwrap();
        let kids = children(&rt, &run_arn);
        if run.status == MapRunStatus::Aborted
            && kids.iter().all(|k| k.2 == ExecutionStatus::Aborted)
        {
            assert_eq!(kids.len(), 3, "no child starts after the stop");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "map run {:?}, children {:?}",
            run.status,
            kids
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    rt.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redrive_reruns_only_the_children_that_failed() {
    let dir = tempfile::tempdir().unwrap();
    // Item 0 fails once the first time round only: the work fails n % 7 == 0
    // until the switch flips.
    let work = Work::new(7, 1);
    let rt = open(dir.path(), &work).await;
    let sm = create(
        &rt,
        "redrivable",
        &distributed(json!({"MaxConcurrency": 4}), "STANDARD", 0),
    )
    .await;
    let parent = start(&rt, &sm, "d", items(6)).await;
    let done = finished(&rt, &parent, Duration::from_secs(60)).await;
    assert_eq!(done.state.status, ExecutionStatus::Failed);
    assert_eq!(
        done.state.error.as_deref(),
        Some("States.ExceedToleratedFailureThreshold"),
        "no tolerance set: AWS's threshold is zero"
    );
    let run_arn = map_run_arn(&history(&rt, &parent));
    // The first failure failed the run: children still running were
    // stopped, items not reached have no child.
    let first_round = children(&rt, &run_arn);
    let succeeded: Vec<String> = first_round
        .iter()
        .filter(|k| k.2 == ExecutionStatus::Succeeded)
        .map(|k| k.0.clone())
        .collect();
    let not_succeeded: Vec<String> = first_round
        .iter()
        .filter(|k| k.2 != ExecutionStatus::Succeeded)
        .map(|k| k.0.clone())
        .collect();
    let never_started = 6 - first_round.len();
    // A failed child is redriven through its parent, not on its own.
    let failed_child = rt.describe_execution(&not_succeeded[0]).unwrap();
    assert_eq!(
        failed_child.state.redrive_status.as_deref(),
        Some("REDRIVABLE_BY_MAP_RUN")
    );
    assert!(matches!(
        rt.redrive_execution(&not_succeeded[0]).await,
        Err(statecraft_runtime::Error::ExecutionNotRedrivable(_))
    ));
    let calls_before = work.calls.load(Ordering::SeqCst);
    rt.redrive_execution(&parent).await.unwrap();
    let done = finished(&rt, &parent, Duration::from_secs(60)).await;
    // Item 0 fails again (the work is the same); the rest now succeed.
    assert_eq!(done.state.status, ExecutionStatus::Failed);
    assert_eq!(
        done.state.error.as_deref(),
        Some("States.ExceedToleratedFailureThreshold"),
        "no tolerance set: AWS's threshold is zero"
    );
    let events = history(&rt, &parent);
    let redriven = events
        .iter()
        .find(|e| e.event_type == EventType::MapRunRedriven)
        .expect("MapRunRedriven");
    assert_eq!(
        redriven.details.as_ref().unwrap()["mapRunArn"],
        run_arn.as_str()
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| e.event_type == EventType::MapRunStarted)
            .count(),
        1,
        "the same map run, not a new one"
    );
    let run = rt.store().get_map_run(&run_arn).unwrap().unwrap();
    assert_eq!(run.redrive_count, 1);
    assert_eq!(run.status, MapRunStatus::Failed);
    for arn in &succeeded {
        let e = rt.describe_execution(arn).unwrap();
        assert_eq!(
            e.state.redrive_count, 0,
            "{arn} succeeded and was left alone"
        );
    }
    for arn in &not_succeeded {
        let e = rt.describe_execution(arn).unwrap();
        assert_eq!(e.state.redrive_count, 1, "{arn} was redriven");
    }
    assert_eq!(children(&rt, &run_arn).len(), 6);
    let rerun = work.calls.load(Ordering::SeqCst) - calls_before;
    assert!(
        rerun <= not_succeeded.len() + never_started,
        "only the failed and unfinished ran again: {rerun} calls"
    );
    rt.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_map_run_widens_the_window_at_once() {
    let dir = tempfile::tempdir().unwrap();
    // Items 0 and 4 fail: within the count of 5, which an update of the
    // concurrency alone must leave the only limit.
    let work = Work::new(4, 1);
    let rt = open(dir.path(), &work).await;
    let sm = create(
        &rt,
        "updatable",
        &distributed(
            json!({"MaxConcurrency": 1, "ToleratedFailureCount": 5}),
            "STANDARD",
            1,
        ),
    )
    .await;
    let parent = start(&rt, &sm, "u", items(8)).await;
    let run_arn = loop {
        let events = history(&rt, &parent);
        if events
            .iter()
            .any(|e| e.event_type == EventType::MapRunStarted)
        {
            let arn = map_run_arn(&events);
            if !children(&rt, &arn).is_empty() {
                break arn;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let updated = rt
        .update_map_run(
            &run_arn,
            MapRunUpdate {
                max_concurrency: Some(8),
                tolerated_failure_count: None,
                tolerated_failure_percentage: None,
                update_date_ms: 1,
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.max_concurrency, 8);
    // With one at a time the 8 one-second children take 8 s; widened, the
    // other seven start while the first still waits.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let running = children(&rt, &run_arn)
            .iter()
            .filter(|k| k.2 == ExecutionStatus::Running)
            .count();
        if running >= 4 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the window did not widen"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let done = finished(&rt, &parent, Duration::from_secs(60)).await;
    assert_eq!(
        done.state.status,
        ExecutionStatus::Succeeded,
        "{:?}",
        done.state.cause
    );
    let run = rt.store().get_map_run(&run_arn).unwrap().unwrap();
    assert_eq!(run.execution_counts.failed, 2);
    assert_eq!(run.max_concurrency, 8);
    rt.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tolerated_percentage_fails_the_run_as_soon_as_it_is_passed() {
    let dir = tempfile::tempdir().unwrap();
    // Items of value 0 fail: the first 41 of 400. 10 % of the total
    // (known from the start) is passed at the 41st failure: the run fails
    // then, long before the other items are started.
    let work = Work::new(7, 20);
    let rt = open(dir.path(), &work).await;
    let sm = create(
        &rt,
        "percent",
        &distributed(
            json!({"MaxConcurrency": 10, "ToleratedFailurePercentage": 10}),
            "STANDARD",
            0,
        ),
    )
    .await;
    let values: Vec<u64> = (0..400).map(|i| u64::from(i >= 41)).collect();
    let parent = start(&rt, &sm, "pct", json!({ "items": values })).await;
    let done = finished(&rt, &parent, Duration::from_secs(120)).await;
    assert_eq!(done.state.status, ExecutionStatus::Failed);
    assert_eq!(
        done.state.error.as_deref(),
        Some("States.ExceedToleratedFailureThreshold")
    );
    let run_arn = map_run_arn(&history(&rt, &parent));
    let kids = children(&rt, &run_arn);
    assert!(
        kids.len() < 100,
        "the run failed at the threshold, not after reading all 400 items ({} children)",
        kids.len()
    );
    let run = rt.store().get_map_run(&run_arn).unwrap().unwrap();
    assert_eq!(run.status, MapRunStatus::Failed);
    assert!(run.item_counts.failed >= 41, "{:?}", run.item_counts);
    rt.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redrive_of_an_express_run_reruns_only_its_failed_children() {
    let dir = tempfile::tempdir().unwrap();
    // Items of value 0 fail: only the last of 20. EXPRESS children leave
    // no records, so the map run's saved ends are what a redrive reads.
    // One child at a time: the failure (judged at once, tolerance 0) finds
    // no sibling still running to abort, so 19 have succeeded.
    let work = Work::new(1000, 1);
    let rt = open(dir.path(), &work).await;
    let sm = create(
        &rt,
        "express-redrive",
        &distributed(json!({"MaxConcurrency": 1}), "EXPRESS", 0),
    )
    .await;
    let mut values: Vec<u64> = (1..20).collect();
    values.push(0);
    let parent = start(&rt, &sm, "x", json!({ "items": values })).await;
    let done = finished(&rt, &parent, Duration::from_secs(60)).await;
    assert_eq!(
        done.state.error.as_deref(),
        Some("States.ExceedToleratedFailureThreshold")
    );
    let run_arn = map_run_arn(&history(&rt, &parent));
    let run = rt.store().get_map_run(&run_arn).unwrap().unwrap();
    assert_eq!(run.item_counts.succeeded, 19, "{:?}", run.item_counts);
    let calls_before = work.calls.load(Ordering::SeqCst);
    rt.redrive_execution(&parent).await.unwrap();
    let done = finished(&rt, &parent, Duration::from_secs(60)).await;
    assert_eq!(
        done.state.error.as_deref(),
        Some("States.ExceedToleratedFailureThreshold"),
        "the item fails again"
    );
    assert_eq!(
        work.calls.load(Ordering::SeqCst) - calls_before,
        1,
        "only the failed child ran again, not the 19 that succeeded"
    );
    assert!(history(&rt, &parent)
        .iter()
        .any(|e| e.event_type == EventType::MapRunRedriven));
    let run = rt.store().get_map_run(&run_arn).unwrap().unwrap();
    assert_eq!(run.redrive_count, 1);
    assert_eq!(run.item_counts.succeeded, 19);
    assert_eq!(run.item_counts.failed, 1);
    rt.shutdown(Duration::from_secs(5)).await;
}
