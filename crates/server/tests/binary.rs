//! The real `statecraft` binary driven by the official Rust SDK: start
//! `statecraft server` as a process, run a workflow with a wait through it,
//! and stop it with SIGTERM.
//!
//! The binary belongs to the CLI package, so it is looked up beside this
//! test's own executable (`target/<profile>/statecraft`); when it has not
//! been built (`cargo build --bins`), the test says so and passes. CI builds
//! it first.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_sfn::types::{ExecutionStatus, StateMachineType, SyncExecutionStatus};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_binary_serves_the_sdk() {
    let bin = common::statecraft_binary();
    let dir = tempfile::tempdir().expect("tempdir");
    let port = common::free_port();
    let mut child = Command::new(&bin)
        .args(["server", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn statecraft server");
    let client = common::client(&format!("http://127.0.0.1:{port}"));

    // Wait until it answers.
    let deadline = Instant::now() + Duration::from_secs(20);
    while client.list_state_machines().send().await.is_err() {
        assert!(Instant::now() < deadline, "the server did not come up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let arn = common::create(
        &client,
        "bin",
        r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":1,"Next":"P"},"P":{"Type":"Pass","Result":"done","End":true}}}"#,
    )
    .await;
    let exec = client
        .start_execution()
        .state_machine_arn(&arn)
        .input("{}")
        .send()
        .await
        .expect("start")
        .execution_arn;
    let done = common::wait_done(&client, &exec).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(done.output.as_deref(), Some("\"done\""));

    let express = client
        .create_state_machine()
        .name("bin-express")
        .r#type(StateMachineType::Express)
        .definition(common::PASS)
        .role_arn(common::ROLE)
        .send()
        .await
        .expect("create express")
        .state_machine_arn;
    let sync = client
        .start_sync_execution()
        .state_machine_arn(&express)
        .send()
        .await
        .expect("sync");
    assert_eq!(sync.status, SyncExecutionStatus::Succeeded);

    let pid = child.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Ok(Some(s)) = child.try_wait() {
            break Some(s);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(
        status.is_some_and(|s| s.success()),
        "no clean exit on SIGTERM: {status:?}"
    );
}
