//! Behaviour of the engine through its public API: tasks and their
//! timeouts, retries and catchers, concurrency of Parallel and Map, stop,
//! execution timeout, redrive, persistence mid-run, and robustness against
//! events that make no sense.

use serde_json::{json, Value};
use statecraft_engine::driver::{self, Response, VirtualClock};
use statecraft_engine::host::DeterministicHost;
use statecraft_engine::{
    Command, Event, Execution, Machine, RedriveError, Status, Step, TaskRequest,
};
use statecraft_types::{EventType, Failure};

const T0: i64 = 1_700_000_000_000;

fn machine(def: Value) -> Machine {
    let sm = statecraft_language::parse_value(&def).expect("definition parses");
    Machine::new(sm).expect("definition prepares")
}

fn run(def: Value, input: Value, handler: &mut dyn driver::Handler) -> driver::Outcome {
    let m = machine(def);
    let mut clock = VirtualClock { now_ms: T0 };
    let host = DeterministicHost::new(3);
    let options = driver::Options {
        context: driver::context_for("t", T0),
        clock: &mut clock,
        host: &host,
        observer: None,
        max_events: Some(10_000),
        input_text: None,
    };
    driver::run(&m, input, options, handler)
}

fn types(o: &driver::Outcome) -> Vec<EventType> {
    o.history.iter().map(|e| e.event_type).collect()
}

fn invocations(step: &Step) -> Vec<TaskRequest> {
    step.commands
        .iter()
        .filter_map(|c| match c {
            Command::InvokeTask(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn service_and_lambda_tasks_record_their_events() {
    use EventType::*;
    let def = json!({"StartAt": "S", "States": {
        "S": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "Parameters": {"v.$": "$.v"}, "TimeoutSeconds": 30, "Next": "L"},
        "L": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f", "End": true}
    }});
    let o = run(def, json!({"v": 1}), &mut driver::echo);
    assert_eq!(o.status, Status::Succeeded);
    assert_eq!(o.output, Some(json!({"v": 1})));
    assert_eq!(
        types(&o),
        [
            ExecutionStarted,
            TaskStateEntered,
            TaskScheduled,
            TaskStarted,
            TaskSucceeded,
            TaskStateExited,
            TaskStateEntered,
            LambdaFunctionScheduled,
            LambdaFunctionStarted,
            LambdaFunctionSucceeded,
            TaskStateExited,
            ExecutionSucceeded
        ]
    );
    let scheduled = o.history[2].details.clone().unwrap_or_default();
    assert_eq!(scheduled["resourceType"], "sqs");
    assert_eq!(scheduled["resource"], "sendMessage");
    assert_eq!(scheduled["region"], "us-east-1");
    assert_eq!(scheduled["parameters"], "{\"v\":1}");
    assert_eq!(scheduled["timeoutInSeconds"], 30);
    let prev: Vec<u64> = o.history.iter().map(|e| e.previous_event_id).collect();
    assert_eq!(prev, [0, 0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
}

#[test]
fn task_timeout_and_heartbeat_timeout() {
    let def = json!({"StartAt": "S", "States": {
        "S": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken", "TimeoutSeconds": 5, "End": true}
    }});
    let mut none = |_: &TaskRequest| Response::NoResponse;
    let o = run(def, json!({}), &mut none);
    assert_eq!(o.status, Status::Failed);
    assert_eq!(o.error.as_deref(), Some("States.Timeout"));
    assert!(types(&o).contains(&EventType::TaskTimedOut));
    let timed_out = o
        .history
        .iter()
        .find(|e| e.event_type == EventType::TaskTimedOut)
        .map(|e| e.timestamp_ms);
    assert_eq!(timed_out, Some(T0 + 5_000));

    let def = json!({"StartAt": "S", "States": {
        "S": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken", "TimeoutSeconds": 50, "HeartbeatSeconds": 2, "End": true}
    }});
    let o = run(def, json!({}), &mut none);
    // AWS names a lapsed heartbeat States.Timeout too (recorded in the corpus).
    assert_eq!(o.error.as_deref(), Some("States.Timeout"));
    assert!(o.execution.failure.is_some_and(|f| f.heartbeat));
    let timed_out = o
        .history
        .iter()
        .find(|e| e.event_type == EventType::TaskTimedOut)
        .and_then(|e| e.details.clone())
        .unwrap_or_default();
    assert_eq!(timed_out["error"], "States.Timeout");
}

#[test]
fn heartbeats_keep_a_task_alive() {
    let m = machine(json!({"StartAt": "S", "States": {
        "S": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken", "HeartbeatSeconds": 2, "End": true}
    }}));
    let host = DeterministicHost::new(1);
    let (mut x, step) = Execution::start(&m, driver::context_for("h", T0), json!({}), T0, &host);
    let task = invocations(&step)[0].task;
    let step = x.handle(&m, Event::TaskHeartbeat { task }, T0 + 1_500, &host);
    assert!(step
        .commands
        .iter()
        .any(|c| matches!(c, Command::StartTimer { fire_at_ms, .. } if *fire_at_ms == T0 + 3_500)));
    let step = x.handle(
        &m,
        Event::TaskSucceeded {
            task,
            output: json!(7),
        },
        T0 + 2_000,
        &host,
    );
    assert!(step
        .commands
        .iter()
        .any(|c| matches!(c, Command::CancelTimer { .. })));
    assert_eq!(x.status, Status::Succeeded);
    assert_eq!(x.output, Some(json!(7)));
}

#[test]
fn wait_for_task_token_exposes_the_token() {
    let m = machine(json!({"StartAt": "S", "States": {
        "S": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish.waitForTaskToken",
              "Parameters": {"Message": {"TaskToken.$": "$$.Task.Token"}}, "End": true}
    }}));
    let host = DeterministicHost::new(1);
    let (_, step) = Execution::start(&m, driver::context_for("w", T0), json!({}), T0, &host);
    let req = &invocations(&step)[0];
    let token = req.task_token.clone().expect("a token");
    assert_eq!(req.parameters["Message"]["TaskToken"], json!(token));
}

#[test]
fn retries_back_off_then_succeed() {
    let def = json!({"StartAt": "S", "States": {
        "S": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
              "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 1, "BackoffRate": 2, "MaxAttempts": 3}],
              "End": true}
    }});
    let mut calls = 0;
    let mut flaky = |_: &TaskRequest| {
        calls += 1;
        if calls < 3 {
            Response::Failed(Failure::new("Boom", "try again"))
        } else {
            Response::Succeeded(json!("ok"))
        }
    };
    let o = run(def, json!({}), &mut flaky);
    assert_eq!(o.status, Status::Succeeded);
    let scheduled: Vec<i64> = o
        .history
        .iter()
        .filter(|e| e.event_type == EventType::TaskScheduled)
        .map(|e| e.timestamp_ms - T0)
        .collect();
    assert_eq!(scheduled, [0, 1_000, 3_000]);
}

#[test]
fn exhausted_retries_fall_through_to_catch() {
    let def = json!({"StartAt": "S", "States": {
        "S": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
              "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 0}],
              "Catch": [{"ErrorEquals": ["Boom"], "ResultPath": "$.err", "Next": "C"}],
              "End": true},
        "C": {"Type": "Pass", "End": true}
    }});
    let mut fail = |_: &TaskRequest| Response::Failed(Failure::new("Boom", "bad"));
    let o = run(def, json!({"a": 1}), &mut fail);
    assert_eq!(
        o.output,
        Some(json!({"a": 1, "err": {"Error": "Boom", "Cause": "bad"}}))
    );
    assert_eq!(
        types(&o)
            .iter()
            .filter(|t| **t == EventType::TaskScheduled)
            .count(),
        1
    );
}

#[test]
fn runtime_errors_are_neither_retried_nor_caught_by_all() {
    let def = json!({"StartAt": "S", "States": {
        "S": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
              "Parameters": {"x.$": "$.missing"},
              "Retry": [{"ErrorEquals": ["States.ALL"]}],
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "C"}],
              "End": true},
        "C": {"Type": "Pass", "End": true}
    }});
    let o = run(def, json!({}), &mut driver::echo);
    assert_eq!(o.status, Status::Failed);
    assert_eq!(o.error.as_deref(), Some("States.Runtime"));
    assert!(!types(&o).contains(&EventType::TaskScheduled));
}

#[test]
fn parallel_branches_run_concurrently_and_a_failure_cancels_the_rest() {
    let m = machine(
        json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}},
            {"StartAt": "B", "States": {"B": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}}
        ]}}}),
    );
    let host = DeterministicHost::new(1);
    let (mut x, step) = Execution::start(&m, driver::context_for("p", T0), json!({}), T0, &host);
    let reqs = invocations(&step);
    assert_eq!(reqs.len(), 2, "both branches invoke at once");
    let step = x.handle(
        &m,
        Event::TaskFailed {
            task: reqs[1].task,
            failure: Failure::new("E", "c"),
        },
        T0 + 1,
        &host,
    );
    assert!(step
        .commands
        .contains(&Command::CancelTask { task: reqs[0].task }));
    assert_eq!(x.status, Status::Failed);
    // A late answer for the cancelled task is ignored.
    let late = x.handle(
        &m,
        Event::TaskSucceeded {
            task: reqs[0].task,
            output: json!(1),
        },
        T0 + 2,
        &host,
    );
    assert!(late.events.is_empty() && late.commands.is_empty());
}

#[test]
fn map_respects_max_concurrency() {
    let m = machine(
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": 2, "End": true,
        "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}}}}}),
    );
    let host = DeterministicHost::new(1);
    let (mut x, step) = Execution::start(
        &m,
        driver::context_for("m", T0),
        json!([1, 2, 3, 4, 5]),
        T0,
        &host,
    );
    let mut outstanding = invocations(&step);
    assert_eq!(outstanding.len(), 2);
    let mut now = T0;
    while let Some(req) = outstanding.pop() {
        now += 1;
        let output = req.parameters.clone();
        let step = x.handle(
            &m,
            Event::TaskSucceeded {
                task: req.task,
                output,
            },
            now,
            &host,
        );
        let more = invocations(&step);
        assert!(outstanding.len() + more.len() <= 2);
        outstanding.extend(more);
    }
    assert_eq!(x.output, Some(json!([1, 2, 3, 4, 5])));
}

#[test]
fn stop_aborts_and_cancels_what_is_outstanding() {
    let m = machine(
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": true}}}),
    );
    let host = DeterministicHost::new(1);
    let (mut x, _) = Execution::start(&m, driver::context_for("s", T0), json!({}), T0, &host);
    let step = x.handle(
        &m,
        Event::Stop {
            error: None,
            cause: Some("enough".into()),
        },
        T0 + 5,
        &host,
    );
    assert_eq!(x.status, Status::Aborted);
    assert!(step
        .commands
        .iter()
        .any(|c| matches!(c, Command::CancelTimer { .. })));
    assert_eq!(
        step.events.last().map(|e| e.event_type),
        Some(EventType::ExecutionAborted)
    );
    assert!(x
        .handle(&m, Event::TimerFired { timer: 1 }, T0 + 9, &host)
        .events
        .is_empty());
}

#[test]
fn machine_timeout_times_the_execution_out() {
    let def = json!({"TimeoutSeconds": 3, "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": true}}});
    let o = run(def, json!({}), &mut driver::echo);
    assert_eq!(o.status, Status::TimedOut);
    assert_eq!(
        o.history.last().map(|e| (e.event_type, e.timestamp_ms)),
        Some((EventType::ExecutionTimedOut, T0 + 3_000))
    );
}

#[test]
fn redrive_restarts_from_the_failed_state() {
    let m = machine(json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Result": {"n": 1}, "Next": "B"},
        "B": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}
    }}));
    let host = DeterministicHost::new(1);
    let (mut x, step) = Execution::start(&m, driver::context_for("r", T0), json!({}), T0, &host);
    let task = invocations(&step)[0].task;
    x.handle(
        &m,
        Event::TaskFailed {
            task,
            failure: Failure::new("E", "c"),
        },
        T0 + 1,
        &host,
    );
    assert_eq!(x.status, Status::Failed);
    let step = x.redrive(&m, T0 + 10, &host).expect("redrivable");
    assert_eq!(x.context.redrive_count, 1);
    assert_eq!(step.events[0].event_type, EventType::ExecutionRedriven);
    assert_eq!(step.events[1].event_type, EventType::TaskStateEntered);
    let req = invocations(&step).remove(0);
    assert_eq!(req.parameters, json!({"n": 1}));
    x.handle(
        &m,
        Event::TaskSucceeded {
            task: req.task,
            output: json!("done"),
        },
        T0 + 11,
        &host,
    );
    assert_eq!(x.status, Status::Succeeded);
    assert_eq!(
        x.redrive(&m, T0 + 12, &host).err(),
        Some(RedriveError::NotRedrivable(Status::Succeeded))
    );
}

#[test]
fn an_execution_survives_a_round_trip_through_json_mid_run() {
    let m = machine(json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "ResultPath": "$.r", "End": true}
    }}));
    let host = DeterministicHost::new(1);
    let (x, step) = Execution::start(&m, driver::context_for("j", T0), json!({"a": 1}), T0, &host);
    let task = invocations(&step)[0].task;
    let saved = serde_json::to_string(&x).expect("serialises");
    let mut back: Execution = serde_json::from_str(&saved).expect("deserialises");
    back.handle(
        &m,
        Event::TaskSucceeded {
            task,
            output: json!(2),
        },
        T0 + 1,
        &host,
    );
    assert_eq!(back.output, Some(json!({"a": 1, "r": 2})));
    assert_eq!(back.last_event_id, 7);
}

#[test]
fn nonsense_events_are_ignored() {
    let m = machine(json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}
    }}));
    let host = DeterministicHost::new(1);
    let (mut x, _) = Execution::start(&m, driver::context_for("n", T0), json!({}), T0, &host);
    for e in [
        Event::TaskSucceeded {
            task: 999,
            output: json!(1),
        },
        Event::TaskFailed {
            task: 0,
            failure: Failure::new("x", "y"),
        },
        Event::TaskHeartbeat { task: 42 },
        Event::TaskStarted {
            task: 7,
            worker_name: None,
        },
        Event::TaskSubmitted {
            task: 7,
            output: json!(null),
        },
        Event::TimerFired { timer: 12345 },
    ] {
        let step = x.handle(&m, e, T0 + 1, &host);
        assert!(step.events.is_empty() && step.commands.is_empty());
    }
    assert_eq!(x.status, Status::Running);
}

#[test]
fn express_runs_record_no_history_but_count_events() {
    let def = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Parameters": {"x.$": "$.v"}, "Next": "B"},
        "B": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}
    }});
    let m = machine(def);
    let host = DeterministicHost::new(1);
    let mut outcomes = Vec::new();
    for history in [true, false] {
        let mut clock = VirtualClock { now_ms: T0 };
        let options = driver::Options {
            context: driver::context_for("x", T0),
            clock: &mut clock,
            host: &host,
            observer: None,
            max_events: None,
            input_text: None,
        };
        outcomes.push(driver::run_with_history(
            &m,
            json!({"v": 3}),
            options,
            &mut driver::echo,
            history,
        ));
    }
    assert_eq!(outcomes[0].output, outcomes[1].output);
    assert!(outcomes[1].history.is_empty());
    assert_eq!(
        outcomes[0].execution.last_event_id,
        outcomes[1].execution.last_event_id
    );
}

#[test]
fn redrive_of_a_map_reruns_only_the_iterations_that_failed() {
    let m = machine(
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": 1, "End": true,
        "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}}}}}),
    );
    let host = DeterministicHost::new(1);
    let (mut x, step) = Execution::start(
        &m,
        driver::context_for("rm", T0),
        json!([1, 2, 3]),
        T0,
        &host,
    );
    let mut pending = invocations(&step);
    let mut now = T0;
    // Item 0 succeeds, item 1 fails: the Map (and the execution) fails.
    while let Some(req) = pending.pop() {
        now += 1;
        let event = if req.parameters == json!(2) {
            Event::TaskFailed {
                task: req.task,
                failure: Failure::new("E", "c"),
            }
        } else {
            Event::TaskSucceeded {
                task: req.task,
                output: json!(req.parameters.as_i64().map(|n| n * 10)),
            }
        };
        pending.extend(invocations(&x.handle(&m, event, now, &host)));
    }
    assert_eq!(x.status, Status::Failed);
    let step = x.redrive(&m, now + 1, &host).expect("redrivable");
    let mut pending = invocations(&step);
    let mut seen = Vec::new();
    while let Some(req) = pending.pop() {
        now += 1;
        seen.push(req.parameters.clone());
        let output = json!(req.parameters.as_i64().map(|n| n * 10));
        pending.extend(invocations(&x.handle(
            &m,
            Event::TaskSucceeded {
                task: req.task,
                output,
            },
            now,
            &host,
        )));
    }
    assert_eq!(seen, [json!(2), json!(3)], "item 0 is not run again");
    assert_eq!(x.status, Status::Succeeded);
    assert_eq!(x.output, Some(json!([10, 20, 30])));
}

#[test]
fn random_event_storms_never_panic() {
    use statecraft_engine::Host;
    let defs = [
        json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "TimeoutSeconds": 3, "HeartbeatSeconds": 1, "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 2}], "End": true}}},
            {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 2, "Next": "T"}, "T": {"Type": "Task", "Resource": "arn:aws:states:us-east-1:1:activity:a", "HeartbeatSeconds": 1, "End": true}}}
        ]}}}),
        json!({"TimeoutSeconds": 50, "StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": 2, "ToleratedFailureCount": 1, "End": true,
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "F"}],
            "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken", "End": true}}}},
            "F": {"Type": "Fail", "Error": "X"}}}),
    ];
    let rng = DeterministicHost::new(99);
    for def in defs {
        let m = machine(def);
        for round in 0..20u64 {
            let host = DeterministicHost::new(round);
            let input = json!([1, 2, 3, 4]);
            let (mut x, _) = Execution::start(&m, driver::context_for("f", T0), input, T0, &host);
            let mut now = T0;
            for _ in 0..200 {
                now += (rng.random() * 3000.0) as i64;
                let id = (rng.random() * 12.0) as u64;
                let event = match (rng.random() * 7.0) as u32 {
                    0 => Event::TaskSucceeded {
                        task: id,
                        output: json!(id),
                    },
                    1 => Event::TaskFailed {
                        task: id,
                        failure: Failure::new("E", ""),
                    },
                    2 => Event::TaskHeartbeat { task: id },
                    3 => Event::TaskStarted {
                        task: id,
                        worker_name: Some("w".into()),
                    },
                    4 => Event::TaskSubmitted {
                        task: id,
                        output: json!({}),
                    },
                    5 => Event::TimerFired { timer: id },
                    _ if rng.random() < 0.1 => Event::Stop {
                        error: None,
                        cause: None,
                    },
                    _ => Event::TimerFired { timer: id },
                };
                let step = x.handle(&m, event, now, &host);
                for e in &step.events {
                    assert_eq!(e.id, e.id.min(x.last_event_id));
                }
                if x.is_finished() {
                    let _ = x.redrive(&m, now, &host);
                }
            }
        }
    }
}

#[test]
fn item_reader_reads_items_through_a_task() {
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                       "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW", "MaxItems": 2},
                       "Parameters": {"Bucket.$": "$.b", "Key": "k.csv"}},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}});
    let mut reads = Vec::new();
    let mut s3 = |r: &TaskRequest| {
        reads.push((r.resource.clone(), r.parameters.clone()));
        Response::Succeeded(json!({"Body": "a,b\n1,2\n3,4\n5,6\n"}))
    };
    let o = run(def.clone(), json!({"b": "bucket"}), &mut s3);
    assert_eq!(
        o.output,
        Some(json!([{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]))
    );
    assert_eq!(
        reads,
        [(
            "arn:aws:states:::s3:getObject".to_owned(),
            json!({"Bucket": "bucket", "Key": "k.csv"})
        )]
    );
    // No task events for the read: it belongs to the map run.
    assert!(!types(&o).contains(&EventType::TaskScheduled));
    let mut broken = |_: &TaskRequest| Response::Failed(Failure::new("S3.NoSuchKey", "gone"));
    let o = run(def, json!({"b": "bucket"}), &mut broken);
    assert_eq!(o.error.as_deref(), Some("States.ItemReaderFailed"));
}

#[test]
fn variables_over_the_size_limits_fail_the_state() {
    let big = "x".repeat(300 * 1024);
    let def = json!({
        "StartAt": "Keep",
        "States": {
            "Keep": {"Type": "Pass", "Assign": {"blob.$": "$.blob"}, "Next": "Done"},
            "Done": {"Type": "Succeed"}
        }
    });
    let o = run(def.clone(), json!({"blob": big}), &mut driver::echo);
    assert_eq!(o.status, Status::Failed);
    assert_eq!(o.error.as_deref(), Some("States.DataLimitExceeded"));
    assert!(
        o.cause.as_deref().unwrap_or("").contains("'blob'"),
        "{:?}",
        o.cause
    );

    // Within the limit, the same state succeeds.
    let o = run(def, json!({"blob": "small"}), &mut driver::echo);
    assert_eq!(o.status, Status::Succeeded);
}
