//! Flow control through the real binary: `[limits.integrations]` with
//! `max_concurrent = 2` on a command holds under a Map of 50 items (the
//! command records how many copies of itself run), `/metrics` shows the
//! queue while it waits, and a small execution started behind a 1,000-task
//! Map completes while the Map is still running (round-robin fairness).

mod common;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_sfn::types::ExecutionStatus;

const LIMIT: &str = "arn:statecraft:command:";

fn metrics(port: u16) -> String {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    out
}

/// The value of `statecraft_flow_queue_depth` for the limit, if shown.
fn queue_depth(text: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(&format!("statecraft_flow_queue_depth{{limit=\"{LIMIT}\"}}")))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// A Map whose items each run `resource` with the execution's name as
/// the one argument.
fn map_of(resource: &str) -> String {
    format!(
        r#"{{"StartAt":"Each","States":{{"Each":{{"Type":"Map","ItemsPath":"$.items","ItemProcessor":{{"StartAt":"Run","States":{{"Run":{{"Type":"Task","Resource":"{resource}","Parameters":{{"Args.$":"States.Array($$.Execution.Name)"}},"End":true}}}}}},"ResultPath":null,"End":true}}}}}}"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_commands_under_a_map_of_50_and_fair_turns_behind_1000() {
    let bin = common::statecraft_binary();
    let dir = tempfile::tempdir().expect("tempdir");
    let runs = dir.path().join("runs");
    std::fs::create_dir(&runs).expect("runs dir");
    // Records how many copies run at once: a file per running copy.
    let script = dir.path().join("conc.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\nf=\"$1/run.$$\"\n: > \"$f\"\nls \"$1\" | grep -c '^run\\.' >> \"$1/../counts.log\"\nsleep 0.05\nrm -f \"$f\"\n",
    )
    .expect("script");
    // Writes the execution's name to starts.log as it starts, then works.
    let starts = dir.path().join("starts.log");
    let quick_script = dir.path().join("quick.sh");
    std::fs::write(
        &quick_script,
        "#!/bin/sh\necho \"$2\" >> \"$1\"\nsleep 0.02\n",
    )
    .expect("quick script");
    let port = common::free_port();
    let config = dir.path().join("statecraft.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[integrations.commands]
enabled = true

[integrations.commands.programs.conc]
program = "/bin/sh"
args = ["{script}", "{runs}"]

[integrations.commands.programs.quick]
program = "/bin/sh"
args = ["{quick}", "{starts}"]

[limits.integrations."{LIMIT}"]
max_concurrent = 2
"#,
            script = script.display(),
            quick = quick_script.display(),
            starts = starts.display(),
            runs = runs.display()
        ),
    )
    .expect("config");
    let mut child = Command::new(&bin)
        .args(["server", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("--config")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn statecraft server");
    let client = common::client(&format!("http://127.0.0.1:{port}"));
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.list_state_machines().send().await.is_err() {
        assert!(Instant::now() < deadline, "the server did not come up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // 50 items, each a command that records the concurrency.
    let conc = common::create(&client, "conc", &map_of("arn:statecraft:command:conc")).await;
    let items: Vec<u32> = (0..50).collect();
    let exec = client
        .start_execution()
        .state_machine_arn(&conc)
        .input(serde_json::json!({ "items": items }).to_string())
        .send()
        .await
        .expect("start")
        .execution_arn;
    let mut max_depth = 0.0f64;
    let until = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(d) = queue_depth(&metrics(port)) {
            max_depth = max_depth.max(d);
        }
        let status = client
            .describe_execution()
            .execution_arn(&exec)
            .send()
            .await
            .expect("describe")
            .status;
        if status != ExecutionStatus::Running {
            assert_eq!(status, ExecutionStatus::Succeeded);
            break;
        }
        assert!(Instant::now() < until, "the Map of 50 did not finish");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let counts: Vec<u32> = std::fs::read_to_string(dir.path().join("counts.log"))
        .expect("counts.log")
        .lines()
        .map(|l| l.trim().parse().expect("a count"))
        .collect();
    assert_eq!(counts.len(), 50, "every item ran once");
    let most = counts.iter().copied().max().unwrap_or(0);
    assert!(most <= 2, "at most 2 ran at once, saw {most}: {counts:?}");
    assert!(
        max_depth >= 1.0,
        "/metrics showed the queue (max depth {max_depth})"
    );

    // Fairness: a 1,000-task Map, then a one-task execution behind it.
    let quick = "arn:statecraft:command:quick";
    let big = common::create(&client, "big", &map_of(quick)).await;
    let small = common::create(&client, "small", &map_of(quick)).await;
    let items: Vec<u32> = (0..1000).collect();
    let big_exec = client
        .start_execution()
        .state_machine_arn(&big)
        .input(serde_json::json!({ "items": items }).to_string())
        .send()
        .await
        .expect("start big")
        .execution_arn;
    // Until the big Map's tasks are queued behind the limit.
    let until = Instant::now() + Duration::from_secs(60);
    while queue_depth(&metrics(port)).unwrap_or(0.0) < 20.0 {
        let d = client
            .describe_execution()
            .execution_arn(&big_exec)
            .send()
            .await
            .expect("describe big");
        assert_eq!(
            d.status,
            ExecutionStatus::Running,
            "the big Map ended before its tasks queued: {:?} {:?}",
            d.error,
            d.cause
        );
        assert!(Instant::now() < until, "the big Map's tasks never queued");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The queue can fill before the first command has written its line:
    // no file yet is no start yet.
    let started_before = match std::fs::read_to_string(&starts) {
        Ok(text) => text.lines().count(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => panic!("starts.log: {e}"),
    };
    let small_exec = client
        .start_execution()
        .state_machine_arn(&small)
        .input(r#"{"items":[1]}"#)
        .send()
        .await
        .expect("start small")
        .execution_arn;
    let done = common::wait_done(&client, &small_exec).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    let big_now = client
        .describe_execution()
        .execution_arn(&big_exec)
        .send()
        .await
        .expect("describe big");
    assert_eq!(
        big_now.status,
        ExecutionStatus::Running,
        "the small execution finished while the 1,000-task Map still ran"
    );
    // Its task got the next free slot: at most the few slots granted while
    // it was being started went to the big Map first, not its whole queue
    // (20 or more tasks, which first-come-first-served would run first).
    let order: Vec<String> = std::fs::read_to_string(&starts)
        .expect("starts.log")
        .lines()
        .map(str::to_owned)
        .collect();
    let small_name = small_exec.rsplit(':').next().unwrap_or("").to_owned();
    let at = order
        .iter()
        .position(|n| *n == small_name)
        .expect("the small execution's task ran");
    assert!(
        at >= started_before && at - started_before <= 3,
        "the small execution's task started {} tasks after it was queued",
        at.saturating_sub(started_before)
    );
    let big_done = common::wait_done(&client, &big_exec).await;
    assert_eq!(big_done.status, ExecutionStatus::Succeeded);

    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(15);
    while child.try_wait().ok().flatten().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Starts `statecraft server` over `data` with `config` on a free port.
fn spawn_server(
    bin: &std::path::Path,
    data: &std::path::Path,
    config: &std::path::Path,
) -> (std::process::Child, u16) {
    let port = common::free_port();
    let child = Command::new(bin)
        .args(["server", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(data)
        .arg("--config")
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn statecraft server");
    (child, port)
}

async fn up(port: u16) -> aws_sdk_sfn::Client {
    let client = common::client(&format!("http://127.0.0.1:{port}"));
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.list_state_machines().send().await.is_err() {
        assert!(Instant::now() < deadline, "the server did not come up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    client
}

/// The types of an execution's history events, oldest first.
async fn history(client: &aws_sdk_sfn::Client, arn: &str) -> Vec<String> {
    client
        .get_execution_history()
        .execution_arn(arn)
        .max_results(1000)
        .send()
        .await
        .expect("history")
        .events
        .iter()
        .map(|e| e.r#type.as_str().to_owned())
        .collect()
}

fn count(events: &[String], t: &str) -> usize {
    events.iter().filter(|e| *e == t).count()
}

fn lines(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Tasks held back by `max_concurrent = 1` wait in the store: their
/// TaskScheduled is recorded, not their TaskStarted, and their
/// `TimeoutSeconds` (2 s) does not run while they wait (here more than
/// that, across a `kill -9` of the server). After the restart they start in
/// the fair order they were queued in (round-robin across executions, not
/// the order recovery finds them in), each started once, and all succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_tasks_survive_a_crash_in_fair_order_and_time_out_from_their_start() {
    let bin = common::statecraft_binary();
    let dir = tempfile::tempdir().expect("tempdir");
    let starts = dir.path().join("starts.log");
    let release = dir.path().join("release");
    // Records its argument as it starts, then holds its slot until the
    // test lets every command go.
    let hold = dir.path().join("hold.sh");
    std::fs::write(
        &hold,
        "#!/bin/sh\necho \"$3\" >> \"$1\"\nwhile [ ! -e \"$2\" ]; do sleep 0.05; done\n",
    )
    .expect("script");
    let config = dir.path().join("statecraft.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[integrations.commands]
enabled = true

[integrations.commands.programs.hold]
program = "/bin/sh"
args = ["{hold}", "{starts}", "{release}"]

[limits.integrations."{LIMIT}"]
max_concurrent = 1
"#,
            hold = hold.display(),
            starts = starts.display(),
            release = release.display(),
        ),
    )
    .expect("config");
    let data = dir.path().join("data");
    let (mut child, port) = spawn_server(&bin, &data, &config);
    let client = up(port).await;
    let one = common::create(
        &client,
        "holder",
        r#"{"StartAt":"Run","States":{"Run":{"Type":"Task","Resource":"arn:statecraft:command:hold","Parameters":{"Args.$":"States.Array($$.Execution.Name)"},"End":true}}}"#,
    )
    .await;
    let queued = common::create(
        &client,
        "queued",
        r#"{"StartAt":"Each","States":{"Each":{"Type":"Map","ItemsPath":"$.items","ItemProcessor":{"StartAt":"Run","States":{"Run":{"Type":"Task","Resource":"arn:statecraft:command:hold","TimeoutSeconds":2,"Parameters":{"Args.$":"States.Array(States.Format('{}-{}', $$.Execution.Name, $))"},"End":true}}},"ResultPath":null,"End":true}}}"#,
    )
    .await;
    let start = |machine: &str, name: &str, input: &str| {
        let (client, machine, name, input) = (
            client.clone(),
            machine.to_owned(),
            name.to_owned(),
            input.to_owned(),
        );
        async move {
            client
                .start_execution()
                .state_machine_arn(machine)
                .name(name)
                .input(input)
                .send()
                .await
                .expect("start")
                .execution_arn
        }
    };
    let holder = start(&one, "a-holder", "{}").await;
    let until = Instant::now() + Duration::from_secs(30);
    while !lines(&starts).contains(&"a-holder".to_owned()) {
        assert!(Instant::now() < until, "the holder never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Queued behind the holder: the big execution's two tasks, then the
    // small one's. Recovery finds them in another order (by execution).
    let big = start(&queued, "z-big", r#"{"items":[1,2]}"#).await;
    let until = Instant::now() + Duration::from_secs(30);
    while count(&history(&client, &big).await, "TaskScheduled") < 2 {
        assert!(
            Instant::now() < until,
            "the big execution's tasks never queued"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let small = start(&queued, "b-small", r#"{"items":[1]}"#).await;
    let until = Instant::now() + Duration::from_secs(30);
    while count(&history(&client, &small).await, "TaskScheduled") < 1 {
        assert!(
            Instant::now() < until,
            "the small execution's task never queued"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Longer than TimeoutSeconds: a timeout counted from TaskScheduled
    // would have fired by now.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    for arn in [&big, &small] {
        let h = history(&client, arn).await;
        assert_eq!(count(&h, "TaskStarted"), 0, "{arn} waits: {h:?}");
        assert_eq!(count(&h, "TaskTimedOut"), 0, "{arn}: {h:?}");
    }
    assert_eq!(lines(&starts), ["a-holder"], "only the holder runs");

    // The node dies with the holder running and three tasks queued.
    child.kill().expect("kill -9");
    let _ = child.wait();
    let (mut child, port) = spawn_server(&bin, &data, &config);
    let client = up(port).await;
    // The holder's task runs again (it was in flight); the queued ones
    // still wait behind it.
    let until = Instant::now() + Duration::from_secs(30);
    while lines(&starts).len() < 2 {
        assert!(
            Instant::now() < until,
            "the holder was not dispatched again"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(lines(&starts), ["a-holder", "a-holder"]);
    std::fs::write(&release, "").expect("release");
    for arn in [&holder, &big, &small] {
        let done = common::wait_done(&client, arn).await;
        assert_eq!(
            done.status,
            ExecutionStatus::Succeeded,
            "{arn}: {:?} {:?}",
            done.error,
            done.cause
        );
    }
    assert_eq!(
        lines(&starts),
        ["a-holder", "a-holder", "z-big-1", "b-small-1", "z-big-2"],
        "after the restart the queue kept its fair order"
    );
    for (arn, tasks) in [(&holder, 1), (&big, 2), (&small, 1)] {
        let h = history(&client, arn).await;
        assert_eq!(count(&h, "TaskScheduled"), tasks, "{arn}: {h:?}");
        assert_eq!(count(&h, "TaskStarted"), tasks, "each started once: {h:?}");
        assert_eq!(count(&h, "TaskSucceeded"), tasks, "{arn}: {h:?}");
    }

    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(15);
    while child.try_wait().ok().flatten().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `[machines.<name>] priority` orders activity tasks too: of two waiting
/// tasks, GetActivityTask hands out the higher priority's first although
/// it was scheduled second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_machines_priority_orders_its_activity_tasks() {
    let bin = common::statecraft_binary();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("statecraft.toml");
    std::fs::write(&config, "[machines.urgent]\npriority = 10\n").expect("config");
    let (mut child, port) = spawn_server(&bin, &dir.path().join("data"), &config);
    let client = up(port).await;
    let activity = client
        .create_activity()
        .name("prioritised")
        .send()
        .await
        .expect("activity")
        .activity_arn;
    let definition = format!(
        r#"{{"StartAt":"Work","States":{{"Work":{{"Type":"Task","Resource":"{activity}","Parameters":{{"who.$":"$$.StateMachine.Name"}},"End":true}}}}}}"#
    );
    let mut started = Vec::new();
    for name in ["normal", "urgent"] {
        let machine = common::create(&client, name, &definition).await;
        let arn = client
            .start_execution()
            .state_machine_arn(machine)
            .send()
            .await
            .expect("start")
            .execution_arn;
        let until = Instant::now() + Duration::from_secs(30);
        while count(&history(&client, &arn).await, "ActivityScheduled") < 1 {
            assert!(Instant::now() < until, "{name}'s task never scheduled");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        started.push(arn);
    }
    // The priority is written right after the step that scheduled the task
    // commits (before the activity's workers are woken); let it land.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut order = Vec::new();
    for _ in 0..2 {
        let task = client
            .get_activity_task()
            .activity_arn(&activity)
            .send()
            .await
            .expect("get activity task");
        let input: serde_json::Value =
            serde_json::from_str(task.input().unwrap_or("null")).expect("input");
        order.push(input["who"].as_str().unwrap_or("?").to_owned());
        client
            .send_task_success()
            .task_token(task.task_token().expect("a task"))
            .output("{}")
            .send()
            .await
            .expect("success");
    }
    assert_eq!(order, ["urgent", "normal"]);
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(15);
    while child.try_wait().ok().flatten().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
