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
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
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
    let started_before = std::fs::read_to_string(&starts)
        .expect("starts.log")
        .lines()
        .count();
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
