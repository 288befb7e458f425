//! `statecraft server --store postgres://…` as a process, on a throw-away
//! PostgreSQL cluster (`statecraft_testsupport::pg`): a machine is
//! created, an execution (with a Wait, so a durable timer) runs to
//! SUCCEEDED, its history is read, and a second server started with another
//! (empty) data directory and `store = "postgres://…"` in its config file
//! still describes it. A server killed (`kill -9`) while executions wait on
//! timers is replaced by another on the same database, which completes each
//! of them once with a gap-free history. A store URL that cannot be reached
//! stops the server at start with a message naming the store. Two nodes run
//! a one-time schedule (kept in the database's schedules table) once, and
//! a `max_concurrent = 2` flow limit holds across two nodes.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use statecraft_testsupport::api::{call, exchange};
use statecraft_testsupport::pg;
use statecraft_testsupport::server::{free_port, scratch_dir as scratch, Server};

/// `statecraft server` (the real binary) over the data directory `dir`,
/// waited for until `/healthz` answers.
struct Node;

impl Node {
    fn start(store: &str, dir: &Path) -> Server {
        Node::start_with(&["--store", store], dir)
    }

    /// With `args` besides the address and the data directory.
    fn start_with(args: &[&str], dir: &Path) -> Server {
        Server::start_in(Path::new(env!("CARGO_BIN_EXE_statecraft")), dir, args, &[])
    }
}

#[test]
fn a_server_on_postgres_runs_an_execution_and_another_node_reads_it() {
    let url = pg::fresh_database("e2e");
    let dir = scratch("pg-e2e");
    let server = Node::start(&url, &dir);
    let port = server.port;

    let definition = json!({
        "StartAt": "P",
        "States": {
            "P": {"Type": "Pass", "Result": {"x": 1}, "ResultPath": "$.r", "Next": "W"},
            "W": {"Type": "Wait", "Seconds": 1, "Next": "Done"},
            "Done": {"Type": "Succeed"}
        }
    });
    let created = call(
        port,
        "CreateStateMachine",
        &json!({
            "name": "pg-e2e",
            "definition": definition.to_string(),
            "roleArn": "arn:aws:iam::123456789012:role/r"
        }),
    );
    let machine = created["stateMachineArn"].as_str().expect("a machine ARN");
    let started = call(
        port,
        "StartExecution",
        &json!({"stateMachineArn": machine, "name": "one", "input": "{\"a\":1}"}),
    );
    let execution = started["executionArn"]
        .as_str()
        .expect("an execution ARN")
        .to_string();

    let deadline = Instant::now() + Duration::from_secs(30);
    let described = loop {
        let d = call(
            port,
            "DescribeExecution",
            &json!({"executionArn": execution}),
        );
        if d["status"] != "RUNNING" {
            break d;
        }
        assert!(Instant::now() < deadline, "still running: {d}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(described["status"], "SUCCEEDED", "{described}");
    let output: Value = serde_json::from_str(described["output"].as_str().unwrap()).unwrap();
    assert_eq!(output, json!({"a": 1, "r": {"x": 1}}));

    let history = call(
        port,
        "GetExecutionHistory",
        &json!({"executionArn": execution}),
    );
    let events = history["events"].as_array().expect("events");
    let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "WaitStateEntered",
            "WaitStateExited",
            "SucceedStateEntered",
            "SucceedStateExited",
            "ExecutionSucceeded"
        ],
        "{history}"
    );
    let ids: Vec<u64> = events.iter().filter_map(|e| e["id"].as_u64()).collect();
    assert_eq!(ids, (1..=8).collect::<Vec<u64>>());
    server.stop();

    // Another node with an empty data directory, given the store by its
    // config file: everything is in PostgreSQL.
    let other_dir = scratch("pg-e2e-other");
    let config = other_dir.join("statecraft.toml");
    std::fs::write(&config, format!("store = \"{url}\"\n")).expect("config file");
    let config = config.display().to_string();
    let other = Node::start_with(&["--config", &config], &other_dir);
    let d = call(
        other.port,
        "DescribeExecution",
        &json!({"executionArn": execution}),
    );
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    assert!(
        !other_dir.join("statecraft.db").exists(),
        "a PostgreSQL server made a SQLite database"
    );
    other.stop();
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&other_dir);
}

#[test]
fn a_server_killed_mid_execution_is_replaced_and_the_execution_completes_once() {
    let url = pg::fresh_database("e2e_kill");
    let dir = scratch("pg-kill");
    let mut server = Node::start(&url, &dir);
    let port = server.port;
    let definition = json!({
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Next": "W"},
            "W": {"Type": "Wait", "Seconds": 2, "Next": "B"},
            "B": {"Type": "Pass", "Result": "done", "End": true}
        }
    });
    let created = call(
        port,
        "CreateStateMachine",
        &json!({
            "name": "pg-kill",
            "definition": definition.to_string(),
            "roleArn": "arn:aws:iam::123456789012:role/r"
        }),
    );
    let machine = created["stateMachineArn"].as_str().unwrap().to_string();
    let executions: Vec<String> = (0..5)
        .map(|i| {
            call(
                port,
                "StartExecution",
                &json!({"stateMachineArn": machine, "name": format!("k{i}")}),
            )["executionArn"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    // kill -9 while every execution waits on its durable timer.
    server.child.kill().expect("kill -9");
    let _ = server.child.wait();
    drop(server);

    let other = Node::start(&url, &dir);
    for arn in &executions {
        let deadline = Instant::now() + Duration::from_secs(30);
        let d = loop {
            let d = call(
                other.port,
                "DescribeExecution",
                &json!({"executionArn": arn}),
            );
            if d["status"] != "RUNNING" {
                break d;
            }
            assert!(Instant::now() < deadline, "still running: {d}");
            std::thread::sleep(Duration::from_millis(50));
        };
        assert_eq!(d["status"], "SUCCEEDED", "{d}");
        assert_eq!(d["output"], "\"done\"");
        let history = call(
            other.port,
            "GetExecutionHistory",
            &json!({"executionArn": arn}),
        );
        let events = history["events"].as_array().unwrap();
        let ids: Vec<u64> = events.iter().filter_map(|e| e["id"].as_u64()).collect();
        assert_eq!(ids, (1..=ids.len() as u64).collect::<Vec<_>>(), "{history}");
        let entered = |t: &str| events.iter().filter(|e| e["type"] == t).count();
        assert_eq!(entered("WaitStateEntered"), 1, "{history}");
        assert_eq!(entered("ExecutionSucceeded"), 1, "{history}");
    }
    other.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unreachable_store_stops_the_server_with_a_message_naming_it() {
    let dir = scratch("pg-refused");
    let port = free_port();
    let out = Command::new(env!("CARGO_BIN_EXE_statecraft"))
        .args(["server", "--listen", &format!("127.0.0.1:{}", free_port())])
        .arg("--data-dir")
        .arg(&dir)
        .args([
            "--store",
            &format!("postgres://someone:hunter2@127.0.0.1:{port}/nowhere"),
        ])
        .stdin(Stdio::null())
        .output()
        .expect("run statecraft");
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "started without its store: {stderr}");
    assert!(
        stderr.contains("PostgreSQL store: cannot connect to 127.0.0.1:"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "password shown: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// `YYYY-MM-DDTHH:MM:SS` (UTC) of `secs` since the epoch: an `at()` time.
fn utc(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rest = secs % 86_400;
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60
    )
}

/// A REST call of EventBridge Scheduler's API (unsigned: no credentials
/// are configured); returns status and body.
fn scheduler(port: u16, method: &str, path: &str, body: &Value) -> (u16, String) {
    let body = body.to_string();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    exchange(port, &request, Duration::from_secs(30))
        .unwrap_or_else(|| panic!("{method} {path}: no HTTP answer"))
}

/// The scheduler on PostgreSQL, end to end: a schedule created through one
/// node is stored in the database's schedules table, read back through the
/// other, and its `at()` time starts exactly one execution although both
/// nodes run the scheduler.
#[test]
fn two_nodes_on_postgres_run_a_one_time_schedule_once() {
    let url = pg::fresh_database("schedules");
    let (dir_a, dir_b) = (scratch("pg-sched-a"), scratch("pg-sched-b"));
    let a = Node::start(&url, &dir_a);
    let b = Node::start(&url, &dir_b);
    let created = call(
        a.port,
        "CreateStateMachine",
        &json!({
            "name": "scheduled",
            "definition": r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#,
            "roleArn": "arn:aws:iam::123456789012:role/r"
        }),
    );
    let machine = created["stateMachineArn"].as_str().expect("a machine ARN");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (status, text) = scheduler(
        b.port,
        "POST",
        "/schedules/once",
        &json!({
            "ScheduleExpression": format!("at({})", utc(now + 3)),
            "ScheduleExpressionTimezone": "UTC",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": {"Arn": machine, "RoleArn": "arn:aws:iam::123456789012:role/r",
                       "Input": "{\"from\":\"schedule\"}"}
        }),
    );
    assert_eq!(status, 200, "CreateSchedule: {text}");
    let (status, text) = scheduler(a.port, "GET", "/schedules/once", &json!({}));
    assert_eq!(status, 200, "GetSchedule on the other node: {text}");
    assert!(text.contains(machine), "{text}");
    let list = |port: u16| {
        call(port, "ListExecutions", &json!({"stateMachineArn": machine}))["executions"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while list(a.port).is_empty() {
        assert!(
            Instant::now() < deadline,
            "the schedule started nothing: {}\n{}",
            a.log(),
            b.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Both nodes have looked at the due time several times by now.
    std::thread::sleep(Duration::from_secs(3));
    let runs = list(b.port);
    assert_eq!(runs.len(), 1, "one execution for one due time: {runs:?}");
    let arn = runs[0]["executionArn"].as_str().expect("an ARN");
    let described = call(b.port, "DescribeExecution", &json!({"executionArn": arn}));
    assert_eq!(described["input"], "{\"from\":\"schedule\"}");
    a.stop();
    b.stop();
}

/// `max_concurrent` holds across the cluster: two nodes on one database,
/// each running its own executions of a command under
/// `max_concurrent = 2`, never run more than two copies at once between
/// them (each node alone would allow two), and every task runs once.
#[test]
fn a_concurrency_limit_holds_across_two_nodes() {
    let url = pg::fresh_database("flow_nodes");
    let dir = scratch("pg-flow");
    let runs = dir.join("runs");
    std::fs::create_dir_all(&runs).expect("runs dir");
    // Records how many copies run at once (a file per running copy).
    let script = dir.join("conc.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\nf=\"$1/run.$$\"\n: > \"$f\"\nls \"$1\" | grep -c '^run\\.' >> \"$1/../counts.log\"\nsleep 0.2\nrm -f \"$f\"\n",
    )
    .expect("script");
    let config = dir.join("statecraft.toml");
    std::fs::write(
        &config,
        format!(
            "store = \"{url}\"\n\n[integrations.commands]\nenabled = true\n\n\
             [integrations.commands.programs.conc]\nprogram = \"/bin/sh\"\nargs = [\"{}\", \"{}\"]\n\n\
             [limits.integrations.\"arn:statecraft:command:conc\"]\nmax_concurrent = 2\n",
            script.display(),
            runs.display()
        ),
    )
    .expect("config");
    let (dir_a, dir_b) = (dir.join("a"), dir.join("b"));
    std::fs::create_dir_all(&dir_a).expect("a");
    std::fs::create_dir_all(&dir_b).expect("b");
    let config = config.to_str().expect("utf-8 path").to_owned();
    let a = Node::start_with(&["--config", &config], &dir_a);
    let b = Node::start_with(&["--config", &config], &dir_b);
    let created = call(
        a.port,
        "CreateStateMachine",
        &json!({
            "name": "conc",
            "definition": r#"{"StartAt":"Run","States":{"Run":{"Type":"Task","Resource":"arn:statecraft:command:conc","End":true}}}"#,
            "roleArn": "arn:aws:iam::123456789012:role/r"
        }),
    );
    let machine = created["stateMachineArn"].as_str().expect("a machine ARN");
    // Each node starts (and so runs) its own executions.
    let mut executions = Vec::new();
    for i in 0..8 {
        for node in [&a, &b] {
            let started = call(
                node.port,
                "StartExecution",
                &json!({"stateMachineArn": machine, "name": format!("n{}-{i}", node.port)}),
            );
            executions.push(started["executionArn"].as_str().expect("ARN").to_owned());
        }
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    for arn in &executions {
        loop {
            let d = call(a.port, "DescribeExecution", &json!({"executionArn": arn}));
            if d["status"] != "RUNNING" {
                assert_eq!(d["status"], "SUCCEEDED", "{arn}: {d}");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{arn} did not finish: {}\n{}",
                a.log(),
                b.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let counts: Vec<u32> = std::fs::read_to_string(dir.join("counts.log"))
        .expect("counts.log")
        .lines()
        .map(|l| l.trim().parse().expect("a count"))
        .collect();
    assert_eq!(counts.len(), executions.len(), "each task ran once");
    let most = counts.iter().copied().max().unwrap_or(0);
    assert!(
        most <= 2,
        "at most 2 ran at once across the nodes, saw {most}: {counts:?}"
    );
    a.stop();
    b.stop();
}
