//! Several `statecraft server` nodes (the real binary) on one throw-away
//! PostgreSQL database (`statecraft_testsupport::pg`), and the ways they
//! share the work:
//! - failover: three nodes, a few hundred executions in flight (Wait
//!   states, an inline Map, an activity served by a worker that polls one
//!   node and answers another, a retry), `kill -9` of one node at a random
//!   moment, then of another: every execution completes exactly once with
//!   the right output and a gap-free history;
//! - partition: a node paused with SIGSTOP until its leases expired does
//!   not commit on top of the node that took its executions over (fencing)
//!   and logs that it lost ownership;
//! - cross-node calls: a GetActivityTask long poll on node B gets the task
//!   node A dispatched, SendTaskSuccess on node C completes it, and
//!   StopExecution on node B stops an execution node A runs;
//! - the inbox: a worker's TaskStarted and heartbeat on node B are applied
//!   by node A, which keeps the execution, so a command it has in flight in
//!   another branch runs once.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use statecraft_testsupport::api::{
    call, create_activity, create_machine, get, history, start_execution as start, try_call,
    wait_finished as finished,
};
use statecraft_testsupport::pg;
use statecraft_testsupport::server::{scratch_dir as scratch, Server};

/// `statecraft server --store URL` (the real binary) with its own data
/// directory, waited for until `/healthz` answers.
struct Node;

impl Node {
    fn start(url: &str, tag: &str) -> Server {
        Node::start_with(url, tag, &[])
    }

    /// [`Node::start`] with more flags.
    fn start_with(url: &str, tag: &str, extra: &[&str]) -> Server {
        let mut args = vec!["--store", url];
        args.extend_from_slice(extra);
        Server::start(Path::new(env!("CARGO_BIN_EXE_statecraft")), tag, &args)
    }
}

/// A random moment: the clock's nanoseconds are random enough to vary when
/// a node is killed from run to run.
fn random_below(n: u64) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    u64::from(nanos) % n
}

/// Event ids 1..=n without a gap, and how often each (state, event type)
/// of a state being entered occurs.
fn check_gap_free(arn: &str, events: &[Value]) -> HashMap<String, usize> {
    let ids: Vec<u64> = events.iter().filter_map(|e| e["id"].as_u64()).collect();
    let expected: Vec<u64> = (1..=events.len() as u64).collect();
    assert_eq!(ids, expected, "{arn}: event ids not contiguous");
    let mut entered = HashMap::new();
    for e in events {
        let kind = e["type"].as_str().unwrap_or_default();
        if kind.ends_with("StateEntered") {
            let details = e
                .as_object()
                .and_then(|o| o.iter().find(|(k, _)| k.ends_with("EventDetails")))
                .map(|(_, v)| v.clone())
                .unwrap_or(Value::Null);
            let name = details["name"].as_str().unwrap_or("?").to_string();
            *entered.entry(name).or_insert(0) += 1;
        }
        *entered.entry(kind.to_string()).or_insert(0) += 1;
    }
    entered
}

/// An activity worker: polls `poll_port`, fails each execution's first
/// attempt (`Flaky`, retried by the machine) and answers the second with
/// `{"n": n, "done": true}`, sending answers to the first live port of
/// `answer_ports`. Runs until `stop`.
fn worker(
    activity: String,
    poll_port: u16,
    answer_ports: Vec<u16>,
    stop: Arc<AtomicBool>,
    attempts: Arc<Mutex<HashMap<u64, u32>>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        while !stop.load(Ordering::Acquire) {
            let Some((200, task)) = try_call(
                poll_port,
                "GetActivityTask",
                &json!({"activityArn": activity, "workerName": "w"}),
            ) else {
                std::thread::sleep(Duration::from_millis(100));
                continue;
            };
            let Some(token) = task["taskToken"].as_str() else {
                continue;
            };
            let input: Value =
                serde_json::from_str(task["input"].as_str().unwrap_or("{}")).unwrap_or_default();
            let n = input["n"].as_u64().expect("the task input has n");
            let attempt = {
                let mut a = attempts.lock().unwrap();
                let e = a.entry(n).or_insert(0);
                *e += 1;
                *e
            };
            let (operation, body) = if attempt == 1 {
                (
                    "SendTaskFailure",
                    json!({"taskToken": token, "error": "Flaky", "cause": "first try"}),
                )
            } else {
                (
                    "SendTaskSuccess",
                    json!({"taskToken": token, "output": json!({"n": n, "done": true}).to_string()}),
                )
            };
            // The answer goes to a node other than the one polled, whichever
            // is alive.
            let answered = answer_ports
                .iter()
                .any(|p| try_call(*p, operation, &body).is_some_and(|(s, _)| s == 200));
            assert!(answered, "no node took the answer to task {n}");
        }
    })
}

#[test]
fn three_nodes_lose_two_to_kill_9_and_every_execution_completes_once() {
    let url = pg::fresh_database("nodes_failover");
    let a = Node::start(&url, "node-a");
    let b = Node::start(&url, "node-b");
    let c = Node::start(&url, "node-c");
    let activity = create_activity(a.port, "flaky-work");
    let definition = json!({
        "StartAt": "P",
        "States": {
            "P": {"Type": "Pass", "Parameters": {"n.$": "$.n", "items.$": "$.items"}, "Next": "W"},
            "W": {"Type": "Wait", "Seconds": 2, "Next": "M"},
            "M": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "V",
                    "States": {"V": {"Type": "Pass", "Parameters": {"v.$": "$"}, "End": true}}
                },
                "ResultPath": "$.mapped",
                "Next": "A"
            },
            "A": {
                "Type": "Task",
                "Resource": activity,
                "Parameters": {"n.$": "$.n"},
                "ResultPath": "$.work",
                "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1, "MaxAttempts": 3}],
                "Next": "W2"
            },
            "W2": {"Type": "Wait", "Seconds": 1, "Next": "Done"},
            "Done": {"Type": "Succeed"}
        }
    });
    let machine = create_machine(a.port, "failover", &definition);

    // The worker polls node C (which stays up) and answers on B, else C.
    let stop = Arc::new(AtomicBool::new(false));
    let attempts = Arc::new(Mutex::new(HashMap::new()));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            worker(
                activity.clone(),
                c.port,
                vec![b.port, c.port],
                Arc::clone(&stop),
                Arc::clone(&attempts),
            )
        })
        .collect();

    const EXECUTIONS: u64 = 300;
    let nodes = [a.port, b.port, c.port];
    let arns: Vec<String> = (0..EXECUTIONS)
        .map(|n| {
            let port = nodes[n as usize % nodes.len()];
            start(
                port,
                &machine,
                &format!("e{n}"),
                &json!({"n": n, "items": [n, n + 1, n + 2]}),
            )
        })
        .collect();

    // Kill one node at a random moment, then another: node C is left with
    // everything the dead nodes held (after their leases ran out).
    std::thread::sleep(Duration::from_millis(500 + random_below(2000)));
    a.kill();
    std::thread::sleep(Duration::from_millis(1000 + random_below(3000)));
    b.kill();

    let live = [c.port];
    for (n, arn) in arns.iter().enumerate() {
        let d = finished(&live, arn, Duration::from_secs(120));
        assert_eq!(d["status"], "SUCCEEDED", "{arn}: {d}");
        let n = n as u64;
        let output: Value = serde_json::from_str(d["output"].as_str().unwrap()).unwrap();
        assert_eq!(
            output,
            json!({
                "n": n,
                "items": [n, n + 1, n + 2],
                "mapped": [{"v": n}, {"v": n + 1}, {"v": n + 2}],
                "work": {"n": n, "done": true}
            }),
            "{arn}"
        );
        let events = history(c.port, arn);
        let counts = check_gap_free(arn, &events);
        for state in ["P", "W", "M", "A", "W2", "Done"] {
            assert_eq!(
                counts.get(state),
                Some(&1),
                "{arn}: {state} entered: {counts:?}"
            );
        }
        assert_eq!(
            counts.get("V"),
            Some(&3),
            "{arn}: one V per item: {counts:?}"
        );
        assert_eq!(counts.get("ActivityFailed"), Some(&1), "{arn}: {counts:?}");
        assert_eq!(
            counts.get("ActivitySucceeded"),
            Some(&1),
            "{arn}: {counts:?}"
        );
        assert_eq!(
            counts.get("ExecutionSucceeded"),
            Some(&1),
            "{arn}: {counts:?}"
        );
    }
    stop.store(true, Ordering::Release);
    // Two attempts per execution, no more: no task was handed out twice.
    let attempts = attempts.lock().unwrap().clone();
    assert_eq!(attempts.len() as u64, EXECUTIONS);
    assert!(attempts.values().all(|a| *a == 2), "{attempts:?}");
    let (_, metrics) = get(c.port, "/metrics").expect("metrics");
    let takeovers = metric(&metrics, "statecraft_lease_takeovers_total");
    assert!(takeovers > 0.0, "node C took nothing over: {metrics}");
    drop(workers);
}

/// The value of an unlabelled metric in the OpenMetrics text.
fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
        .unwrap_or_else(|| panic!("{name} missing from /metrics: {text}"))
}

#[test]
fn a_node_paused_past_its_leases_is_fenced_off_and_says_so() {
    let url = pg::fresh_database("nodes_partition");
    // Leases of 3 s (`--lease-seconds`) instead of the default 10 s.
    let a = Node::start_with(&url, "node-a", &["--lease-seconds", "3"]);
    let b = Node::start_with(&url, "node-b", &["--lease-seconds", "3"]);
    let definition = json!({
        "StartAt": "One",
        "States": {
            "One": {"Type": "Pass", "Result": 1, "ResultPath": "$.one", "Next": "W"},
            "W": {"Type": "Wait", "Seconds": 3, "Next": "Two"},
            "Two": {"Type": "Pass", "Result": 2, "ResultPath": "$.two", "Next": "W2"},
            "W2": {"Type": "Wait", "Seconds": 1, "Next": "Done"},
            "Done": {"Type": "Succeed"}
        }
    });
    let machine = create_machine(a.port, "partition", &definition);
    let arns: Vec<String> = (0..40)
        .map(|n| start(a.port, &machine, &format!("p{n}"), &json!({"n": n})))
        .collect();
    // Node A stalls with its executions waiting on timers; node B takes
    // them over once A's leases ran out (3 s) and runs them to the end.
    a.signal("-STOP");
    for arn in &arns {
        let d = finished(&[b.port], arn, Duration::from_secs(60));
        assert_eq!(d["status"], "SUCCEEDED", "{arn}: {d}");
    }
    // Node A wakes with timers long due and leases it no longer holds.
    a.signal("-CONT");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !a.log().contains("lost ownership") {
        assert!(
            Instant::now() < deadline,
            "node A did not say it lost ownership: {}",
            a.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Whatever A tried after waking was refused: each history is B's, gap
    // free, every state entered once.
    std::thread::sleep(Duration::from_secs(2));
    for arn in &arns {
        let d = call(b.port, "DescribeExecution", &json!({"executionArn": arn}));
        assert_eq!(d["status"], "SUCCEEDED", "{arn}: {d}");
        let output: Value = serde_json::from_str(d["output"].as_str().unwrap()).unwrap();
        assert_eq!(output["one"], 1);
        assert_eq!(output["two"], 2);
        let counts = check_gap_free(arn, &history(b.port, arn));
        for state in ["One", "W", "Two", "W2", "Done"] {
            assert_eq!(counts.get(state), Some(&1), "{arn}: {state}: {counts:?}");
        }
        assert_eq!(counts.get("ExecutionSucceeded"), Some(&1), "{arn}");
    }
    let (_, metrics) = get(a.port, "/metrics").expect("node A answers again");
    assert!(
        metric(&metrics, "statecraft_leases_lost_total") > 0.0,
        "{metrics}"
    );
}

#[test]
fn api_calls_take_effect_on_whichever_node_they_reach() {
    let url = pg::fresh_database("nodes_cross");
    let a = Node::start(&url, "node-a");
    let b = Node::start(&url, "node-b");
    let c = Node::start(&url, "node-c");
    let activity = create_activity(a.port, "cross-work");
    let definition = json!({
        "StartAt": "A",
        "States": {"A": {"Type": "Task", "Resource": activity, "End": true}}
    });
    let machine = create_machine(a.port, "cross", &definition);

    // A long poll on B is waiting before A dispatches the task.
    let poll = {
        let activity = activity.clone();
        let port = b.port;
        std::thread::spawn(move || {
            call(
                port,
                "GetActivityTask",
                &json!({"activityArn": activity, "workerName": "on-b"}),
            )
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    let arn = start(a.port, &machine, "cross-1", &json!({"x": 1}));
    let task = poll.join().expect("the poll thread");
    let token = task["taskToken"]
        .as_str()
        .unwrap_or_else(|| panic!("the poll on B got no task: {task}"));
    assert_eq!(
        serde_json::from_str::<Value>(task["input"].as_str().unwrap()).unwrap(),
        json!({"x": 1})
    );
    // The answer goes to C; A runs the execution and completes it.
    call(
        c.port,
        "SendTaskSuccess",
        &json!({"taskToken": token, "output": "{\"y\":2}"}),
    );
    let d = finished(&[a.port], &arn, Duration::from_secs(30));
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    assert_eq!(d["output"], "{\"y\":2}");

    // StopExecution on B of an execution A runs (a long Wait).
    let waiting = create_machine(
        a.port,
        "cross-wait",
        &json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": true}}}),
    );
    let long = start(a.port, &waiting, "cross-2", &json!({}));
    call(
        b.port,
        "StopExecution",
        &json!({"executionArn": long, "error": "Halt", "cause": "from B"}),
    );
    for port in [a.port, b.port, c.port] {
        let d = call(port, "DescribeExecution", &json!({"executionArn": long}));
        assert_eq!(d["status"], "ABORTED", "on {port}: {d}");
    }
    let counts = check_gap_free(&long, &history(c.port, &long));
    assert_eq!(counts.get("ExecutionAborted"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("W"), Some(&1), "{counts:?}");
}

#[test]
fn an_api_node_starts_what_a_worker_node_runs() {
    let url = pg::fresh_database("nodes_roles");
    let api = Node::start_with(&url, "node-api", &["--roles", "api"]);
    let worker = Node::start_with(&url, "node-worker", &["--roles", "worker"]);
    let machine = create_machine(
        api.port,
        "roles",
        &json!({"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 1, "Next": "Done"},
            "Done": {"Type": "Pass", "Result": "ran", "End": true}}}),
    );
    let arns: Vec<String> = (0..20)
        .map(|n| start(api.port, &machine, &format!("r{n}"), &json!({})))
        .collect();
    for arn in &arns {
        let d = finished(&[api.port], arn, Duration::from_secs(60));
        assert_eq!(d["status"], "SUCCEEDED", "{d}");
        assert_eq!(d["output"], "\"ran\"");
        let counts = check_gap_free(arn, &history(api.port, arn));
        assert_eq!(counts.get("W"), Some(&1), "{counts:?}");
    }
    // The worker ran them all; the API node holds no lease.
    let (_, metrics) = get(worker.port, "/metrics").expect("worker metrics");
    assert!(
        metric(&metrics, "statecraft_lease_takeovers_total") >= 20.0,
        "{metrics}"
    );
    let (_, metrics) = get(api.port, "/metrics").expect("api metrics");
    assert_eq!(metric(&metrics, "statecraft_leases_held"), 0.0);
    // A worker-only node serves no API and no console.
    assert_eq!(
        try_call(worker.port, "ListStateMachines", &json!({})).map(|(s, _)| s),
        Some(404)
    );
    assert_eq!(get(worker.port, "/").map(|(s, _)| s), Some(404));
    assert_eq!(get(worker.port, "/healthz").map(|(s, _)| s), Some(200));

    // An unknown role stops the start with a message naming it.
    let out = Command::new(env!("CARGO_BIN_EXE_statecraft"))
        .args(["server", "--listen", "127.0.0.1:0", "--roles", "api,cook"])
        .args(["--store", &url])
        .output()
        .expect("run statecraft");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("roles") && stderr.contains("cook"),
        "{stderr}"
    );
}

/// A worker's GetActivityTask and heartbeat on node B, for an execution node
/// A runs, go through the store's inbox: A applies them and keeps the
/// execution, so an inline task A has in flight in another branch (a
/// command that appends a line to a file and sleeps) is invoked once, not a
/// second time by a node that took the execution over.
#[test]
fn a_worker_on_another_node_does_not_move_the_execution() {
    let url = pg::fresh_database("nodes_inbox");
    let dir = scratch("inbox-config");
    let count = dir.join("invocations");
    let config = dir.join("statecraft.toml");
    std::fs::write(
        &config,
        format!(
            "[integrations.commands]\nenabled = true\n\n\
             [integrations.commands.programs.slow]\nprogram = \"/bin/sh\"\n\
             args = [\"-c\", \"echo run >> {}; sleep 3\"]\n",
            count.display()
        ),
    )
    .expect("config");
    let config_arg = config.to_str().expect("a UTF-8 path");
    let a = Node::start_with(&url, "inbox-a", &["--config", config_arg]);
    let b = Node::start_with(&url, "inbox-b", &["--config", config_arg]);
    let activity = create_activity(a.port, "inbox-work");
    let definition = json!({
        "StartAt": "Both",
        "States": {"Both": {
            "Type": "Parallel",
            "End": true,
            "Branches": [
                {"StartAt": "Slow", "States": {"Slow": {
                    "Type": "Task", "Resource": "arn:statecraft:command:slow",
                    "Parameters": {"Args": []}, "ResultPath": null, "End": true}}},
                {"StartAt": "Work", "States": {"Work": {
                    "Type": "Task", "Resource": activity.clone(),
                    "HeartbeatSeconds": 60, "End": true}}}
            ]
        }}
    });
    let machine = create_machine(a.port, "inbox", &definition);
    let arn = start(a.port, &machine, "inbox-1", &json!({"x": 1}));
    // The command is running on A; the worker polls B.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !count.exists() {
        assert!(
            Instant::now() < deadline,
            "the command never ran: {}",
            a.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let task = call(
        b.port,
        "GetActivityTask",
        &json!({"activityArn": activity, "workerName": "on-b"}),
    );
    let token = task["taskToken"]
        .as_str()
        .unwrap_or_else(|| panic!("the poll on B got no task: {task}"));
    call(b.port, "SendTaskHeartbeat", &json!({"taskToken": token}));
    call(
        b.port,
        "SendTaskSuccess",
        &json!({"taskToken": token, "output": "{\"y\":2}"}),
    );
    let d = finished(&[a.port, b.port], &arn, Duration::from_secs(60));
    assert_eq!(
        d["status"],
        "SUCCEEDED",
        "{d}\nA: {}\nB: {}",
        a.log(),
        b.log()
    );
    let runs = std::fs::read_to_string(&count).expect("the count file");
    assert_eq!(
        runs.lines().count(),
        1,
        "the command ran more than once\nA: {}\nB: {}",
        a.log(),
        b.log()
    );
    let events = history(b.port, &arn);
    let counts = check_gap_free(&arn, &events);
    assert_eq!(counts.get("ActivityStarted"), Some(&1), "{counts:?}");
    let position = |kind: &str| {
        events
            .iter()
            .position(|e| e["type"] == kind)
            .unwrap_or_else(|| panic!("no {kind}: {events:?}"))
    };
    assert!(position("ActivityStarted") < position("ActivitySucceeded"));
    assert_eq!(
        events[position("ActivityStarted")]["activityStartedEventDetails"]["workerName"],
        "on-b"
    );
    assert!(
        !a.log().contains("lost ownership"),
        "A lost the execution: {}",
        a.log()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
