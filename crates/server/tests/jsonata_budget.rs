//! Non-terminating JSONata inside executions (issue 14): two executions
//! whose Pass state evaluates an endless tail-recursive function each fail
//! with `States.QueryEvaluationError` and a cause naming the time limit,
//! while twenty other executions started after them complete and the API
//! keeps answering. Timeouts here only turn a hang into a failure.

mod common;

use aws_sdk_sfn::types::ExecutionStatus;
use common::{client, create, wait_done, TestServer, PASS};

/// `$loop` calls itself in tail position: no stack growth, no end.
const ENDLESS: &str = r#"{"QueryLanguage":"JSONata","StartAt":"Spin","States":{
  "Spin":{"Type":"Pass","Output":"{% ($loop := function($n){ $loop($n + 1) }; $loop(0)) %}","End":true}}}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_jsonata_fails_its_execution_while_others_run() {
    let srv = TestServer::start().await;
    let c = client(&format!("http://{}", srv.addr));
    let endless = create(&c, "endless", ENDLESS).await;
    let pass = create(&c, "pass", PASS).await;

    let mut spinning = Vec::new();
    for i in 0..2 {
        let arn = c
            .start_execution()
            .state_machine_arn(&endless)
            .name(format!("spin-{i}"))
            .send()
            .await
            .expect("start the endless execution")
            .execution_arn;
        spinning.push(arn);
    }
    let mut others = Vec::new();
    for i in 0..20 {
        let arn = c
            .start_execution()
            .state_machine_arn(&pass)
            .name(format!("pass-{i}"))
            .send()
            .await
            .expect("start while the endless ones evaluate")
            .execution_arn;
        others.push(arn);
    }
    // The API answers meanwhile.
    c.list_state_machines()
        .send()
        .await
        .expect("ListStateMachines answers while JSONata spins");
    for arn in &others {
        let d = wait_done(&c, arn).await;
        assert_eq!(d.status, ExecutionStatus::Succeeded, "{arn}");
    }
    for arn in &spinning {
        let d = wait_done(&c, arn).await;
        assert_eq!(d.status, ExecutionStatus::Failed, "{arn}");
        assert_eq!(d.error.as_deref(), Some("States.QueryEvaluationError"));
        let cause = d.cause.unwrap_or_default();
        assert!(cause.contains("time limit"), "{cause}");
    }
}
