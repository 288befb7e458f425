//! Distributed Maps handed to the host as map runs (`Machine::map_runs`):
//! the parent's events, the map-run command and its spec, the host's
//! answers, Catch, redrive of a failed map run, and item selection.

use serde_json::{json, Value};
use statecraft_engine::host::DeterministicHost;
use statecraft_engine::map_run::{MapRunSpec, MAP_RUN_RESOURCE};
use statecraft_engine::{Command, Event, Execution, ExecutionContext, Machine, Status, Step};
use statecraft_types::{EventType, Failure};

const MACHINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:parent";

fn machine(def: &Value) -> Machine {
    let sm = statecraft_language::parse_value(def).expect("definition parses");
    let mut m = Machine::new(sm).expect("definition prepares");
    m.map_runs = true;
    m
}

fn context() -> ExecutionContext {
    ExecutionContext {
        execution_arn: "arn:aws:states:us-east-1:123456789012:execution:parent:e1".into(),
        execution_name: "e1".into(),
        state_machine_arn: MACHINE.into(),
        state_machine_name: "parent".into(),
        role_arn: "arn:aws:iam::123456789012:role/r".into(),
        start_time_ms: 1_000,
        redrive_count: 0,
    }
}

fn types(step: &Step) -> Vec<EventType> {
    step.events.iter().map(|e| e.event_type).collect()
}

/// The one map-run task of a step: its id and spec.
fn map_run_task(step: &Step) -> (u64, MapRunSpec) {
    let tasks: Vec<_> = step
        .commands
        .iter()
        .filter_map(|c| match c {
            Command::InvokeTask(t) if t.resource == MAP_RUN_RESOURCE => Some(t),
            _ => None,
        })
        .collect();
    assert_eq!(tasks.len(), 1, "one map-run task in {:?}", step.commands);
    let spec = MapRunSpec::from_parameters(&tasks[0].parameters).expect("a map-run spec");
    (tasks[0].task, spec)
}

fn distributed(extra: Value) -> Value {
    let mut map = json!({"Type": "Map", "End": true, "ItemsPath": "$.xs",
        "ItemSelector": {"i.$": "$$.Map.Item.Index", "v.$": "$$.Map.Item.Value", "k.$": "$.k"},
        "MaxConcurrency": 7,
        "ToleratedFailureCount": 2,
        "Label": "Work",
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
            "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}});
    if let (Value::Object(m), Value::Object(e)) = (&mut map, extra) {
        m.extend(e);
    }
    json!({"StartAt": "M", "States": {"M": map}})
}

#[test]
fn a_distributed_map_asks_for_a_map_run_and_waits() {
    let def = distributed(json!({}));
    let m = machine(&def);
    let host = DeterministicHost::new(7);
    let (mut x, step) = Execution::start(
        &m,
        context(),
        json!({"xs": [10, 20, 30], "k": "c"}),
        2_000,
        &host,
    );
    assert_eq!(
        types(&step),
        vec![
            EventType::ExecutionStarted,
            EventType::MapStateEntered,
            EventType::MapStateStarted,
            EventType::MapRunStarted,
        ]
    );
    assert_eq!(x.status, Status::Running);
    let started = &step.events[3];
    let arn = started.details.as_ref().unwrap()["mapRunArn"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        arn.starts_with("arn:aws:states:us-east-1:123456789012:mapRun:parent/Work:"),
        "{arn}"
    );
    let (task, spec) = map_run_task(&step);
    assert_eq!(spec.map_run_arn, arn);
    assert_eq!(spec.state_name, "M");
    assert_eq!(spec.label.as_deref(), Some("Work"));
    assert_eq!(spec.execution_type, "EXPRESS");
    assert_eq!(spec.max_concurrency, 7);
    assert_eq!(spec.tolerated_failure_count, Some(2.0));
    assert_eq!(spec.items, Some(vec![json!(10), json!(20), json!(30)]));
    assert_eq!(spec.processor_pointer, "/States/M/ItemProcessor");
    assert!(!spec.redrive);
    // The host selects each item's input with the parent's machine.
    assert_eq!(
        m.select_map_item(&spec, 1, json!(20), 2_000, &host)
            .unwrap(),
        json!({"i": 1, "v": 20, "k": "c"})
    );
    // No task events: the map run is not a Task.
    assert!(step
        .events
        .iter()
        .all(|e| !format!("{:?}", e.event_type).starts_with("Task")));

    let out = json!([{"i": 0}, {"i": 1}, {"i": 2}]);
    let step = x.handle(
        &m,
        Event::TaskSucceeded {
            task,
            output: out.clone(),
        },
        3_000,
        &host,
    );
    assert_eq!(
        types(&step),
        vec![
            EventType::MapRunSucceeded,
            EventType::MapStateSucceeded,
            EventType::MapStateExited,
            EventType::ExecutionSucceeded,
        ]
    );
    assert_eq!(x.status, Status::Succeeded);
    assert_eq!(x.output, Some(out));
}

#[test]
fn unset_max_concurrency_is_ten_thousand_and_a_reader_is_resolved() {
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
            "Parameters": {"Bucket": "b", "Key.$": "$.key"},
            "ReaderConfig": {"InputType": "JSONL", "MaxItemsPath": "$.n"}},
        "ItemBatcher": {"MaxItemsPerBatch": 3, "BatchInput": {"x.$": "$.key"}},
        "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": "out", "Prefix.$": "$.key"}},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}});
    let m = machine(&def);
    let host = DeterministicHost::new(1);
    let (_, step) = Execution::start(
        &m,
        context(),
        json!({"key": "in.jsonl", "n": 5}),
        2_000,
        &host,
    );
    let (_, spec) = map_run_task(&step);
    assert_eq!(spec.max_concurrency, 10_000);
    assert_eq!(spec.items, None);
    let reader = spec.reader.expect("a reader");
    assert_eq!(reader.resource, "arn:aws:states:::s3:getObject");
    assert_eq!(reader.arguments, json!({"Bucket": "b", "Key": "in.jsonl"}));
    assert_eq!(reader.max_items, Some(5));
    assert_eq!(reader.reader_config["InputType"], "JSONL");
    let batcher = spec.batcher.expect("a batcher");
    assert_eq!(batcher.max_items, Some(3));
    assert_eq!(batcher.batch_input, Some(json!({"x": "in.jsonl"})));
    let writer = spec.result_writer.expect("a writer");
    assert_eq!(
        writer.arguments,
        json!({"Bucket": "out", "Prefix": "in.jsonl"})
    );
    assert!(spec.label.is_none());
    assert!(
        spec.map_run_arn.contains(":mapRun:parent/M:"),
        "state name when no label"
    );
}

#[test]
fn a_failed_map_run_is_caught_or_fails_and_a_redrive_redrives_it() {
    let failure = Failure::new(
        "States.ExceedToleratedFailureThreshold",
        "The specified tolerance threshold was exceeded.",
    );
    // Caught: MapRunFailed, then the Catch.
    let def = distributed(json!({"End": null, "Next": "Ok",
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Ok"}]}));
    let mut def = def;
    def["States"]["M"].as_object_mut().unwrap().remove("End");
    def["States"]["Ok"] = json!({"Type": "Pass", "End": true});
    let m = machine(&def);
    let host = DeterministicHost::new(2);
    let (mut x, step) = Execution::start(&m, context(), json!({"xs": [1], "k": 0}), 2_000, &host);
    let (task, _) = map_run_task(&step);
    let step = x.handle(
        &m,
        Event::TaskFailed {
            task,
            failure: failure.clone(),
        },
        3_000,
        &host,
    );
    assert_eq!(types(&step)[0], EventType::MapRunFailed);
    let details = &step.events[0].details.as_ref().unwrap();
    assert_eq!(details["error"], "States.ExceedToleratedFailureThreshold");
    assert_eq!(x.status, Status::Succeeded);

    // Uncaught: the execution fails; its redrive redrives the same map run.
    let def = distributed(json!({}));
    let m = machine(&def);
    let (mut x, step) =
        Execution::start(&m, context(), json!({"xs": [1, 2], "k": 0}), 2_000, &host);
    let (task, first) = map_run_task(&step);
    let step = x.handle(&m, Event::TaskFailed { task, failure }, 3_000, &host);
    assert_eq!(
        types(&step),
        vec![
            EventType::MapRunFailed,
            EventType::MapStateFailed,
            EventType::ExecutionFailed,
        ]
    );
    assert_eq!(x.status, Status::Failed);
    let step = x.redrive(&m, 4_000, &host).expect("redrivable");
    assert_eq!(
        types(&step),
        vec![
            EventType::ExecutionRedriven,
            EventType::MapStateEntered,
            EventType::MapStateStarted,
            EventType::MapRunRedriven,
        ]
    );
    let redriven = &step.events[3].details.as_ref().unwrap();
    assert_eq!(redriven["mapRunArn"], first.map_run_arn.as_str());
    assert_eq!(redriven["redriveCount"], 1);
    let (task, spec) = map_run_task(&step);
    assert!(spec.redrive);
    assert_eq!(spec.map_run_arn, first.map_run_arn);
    let step = x.handle(
        &m,
        Event::TaskSucceeded {
            task,
            output: json!([1, 2]),
        },
        5_000,
        &host,
    );
    assert_eq!(types(&step).last(), Some(&EventType::ExecutionSucceeded));
}

#[test]
fn stopping_the_parent_cancels_the_map_run() {
    let m = machine(&distributed(json!({})));
    let host = DeterministicHost::new(3);
    let (mut x, step) = Execution::start(&m, context(), json!({"xs": [1], "k": 0}), 2_000, &host);
    let (task, _) = map_run_task(&step);
    let step = x.handle(
        &m,
        Event::Stop {
            error: None,
            cause: None,
        },
        3_000,
        &host,
    );
    assert!(step
        .commands
        .iter()
        .any(|c| matches!(c, Command::CancelTask { task: t } if *t == task)));
    assert_eq!(x.status, Status::Aborted);
}

#[test]
fn inline_maps_and_machines_without_map_runs_run_as_before() {
    let def = distributed(json!({}));
    let sm = statecraft_language::parse_value(&def).unwrap();
    let m = Machine::new(sm).unwrap();
    assert!(!m.map_runs);
    let host = DeterministicHost::new(4);
    let (x, step) = Execution::start(&m, context(), json!({"xs": [5], "k": 1}), 2_000, &host);
    assert!(step
        .commands
        .iter()
        .all(|c| !matches!(c, Command::InvokeTask(t) if t.resource == MAP_RUN_RESOURCE)));
    assert_eq!(x.status, Status::Succeeded);
    assert_eq!(x.output, Some(json!([{"i": 0, "v": 5, "k": 1}])));
}

#[test]
fn jsonata_item_selectors_see_the_item_and_the_variables() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {
        "A": {"Type": "Pass", "Assign": {"base": 100}, "Next": "M"},
        "M": {"Type": "Map", "End": true, "Items": "{% $states.input.xs %}",
            "ItemSelector": {"n": "{% $states.context.Map.Item.Value + $base %}",
                             "at": "{% $states.context.Map.Item.Index %}"},
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}});
    let m = machine(&def);
    let host = DeterministicHost::new(5);
    let (_, step) = Execution::start(&m, context(), json!({"xs": [1, 2]}), 2_000, &host);
    let (_, spec) = map_run_task(&step);
    assert!(spec.jsonata);
    assert_eq!(spec.items, Some(vec![json!(1), json!(2)]));
    assert_eq!(
        m.select_map_item(&spec, 1, json!(2), 2_000, &host).unwrap(),
        json!({"n": 102, "at": 1})
    );
}
