//! Step Functions Local's mock configuration on the real server (issue 16):
//! `SFN_MOCK_CONFIG=MockConfigFile.json statecraft server` (or
//! `--mock-config`), and an execution started with
//! `stateMachineArn#TestCase` has its Task states answered from that test
//! case by invocation number (retries and Map iterations counted), while an
//! execution started without a test case runs its real integrations.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_sfn::types::{ExecutionStatus, HistoryEventType};
use aws_sdk_sfn::Client;
use serde_json::Value;

const MACHINE: &str = r#"{
  "StartAt": "Charge",
  "States": {
    "Charge": {
      "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
      "Parameters": {"FunctionName": "charge", "Payload.$": "$"},
      "Retry": [{"ErrorEquals": ["Lambda.TimeoutException", "Lambda.ResourceNotReadyException"], "MaxAttempts": 5, "IntervalSeconds": 1, "BackoffRate": 1}],
      "ResultSelector": {"id.$": "$.Payload.id"},
      "ResultPath": "$.charge",
      "Next": "Ship"
    },
    "Ship": {
      "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 1,
      "ItemProcessor": {"StartAt": "Label", "States": {"Label": {
        "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
        "Parameters": {"QueueUrl": "q", "MessageBody.$": "$"}, "End": true}}},
      "ResultPath": "$.labels", "End": true
    }
  }
}"#;

const MOCK_CONFIG: &str = r#"{
  "StateMachines": {
    "checkout": {"TestCases": {
      "RetryPath": {"Charge": "ChargeFlaky", "Label": "LabelEach"},
      "HappyPath": {"Charge": "ChargeOk", "Label": "LabelEach"}
    }}
  },
  "MockedResponses": {
    "ChargeOk": {"0": {"Return": {"StatusCode": 200, "Payload": {"id": "ch_1"}}}},
    "ChargeFlaky": {
      "0": {"Throw": {"Error": "Lambda.ResourceNotReadyException", "Cause": "not ready"}},
      "1-2": {"Throw": {"Error": "Lambda.TimeoutException", "Cause": "timed out"}},
      "3": {"Return": {"StatusCode": 200, "Payload": {"id": "ch_4"}}}
    },
    "LabelEach": {
      "0": {"Return": {"MessageId": "m-0"}},
      "1": {"Return": {"MessageId": "m-1"}}
    }
  }
}"#;

struct Binary {
    child: Child,
    client: Client,
    _dir: tempfile::TempDir,
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start() -> Binary {
    let dir = tempfile::tempdir().expect("tempdir");
    let mocks = dir.path().join("MockConfigFile.json");
    std::fs::write(&mocks, MOCK_CONFIG).expect("write the mock configuration");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let child = Command::new(common::statecraft_binary())
        .args(["server", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .env("SFN_MOCK_CONFIG", &mocks)
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
    Binary {
        child,
        client,
        _dir: dir,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_cases_answer_tasks_by_invocation_on_the_server() {
    let b = start().await;
    let c = &b.client;
    let machine = common::create(c, "checkout", MACHINE).await;

    let started = c
        .start_execution()
        .state_machine_arn(format!("{machine}#RetryPath"))
        .input(r#"{"items": ["a", "b", "c"]}"#)
        .send()
        .await
        .expect("start with a test case");
    let d = common::wait_done(c, &started.execution_arn).await;
    assert_eq!(d.status, ExecutionStatus::Succeeded, "{:?}", d.cause);
    let output: Value = serde_json::from_str(d.output.as_deref().unwrap_or("null")).expect("json");
    assert_eq!(output["charge"]["id"], "ch_4");
    // Past the last invocation number the last response repeats.
    assert_eq!(output["labels"][0]["MessageId"], "m-0");
    assert_eq!(output["labels"][1]["MessageId"], "m-1");
    assert_eq!(output["labels"][2]["MessageId"], "m-1");
    let history = c
        .get_execution_history()
        .execution_arn(&started.execution_arn)
        .send()
        .await
        .expect("history");
    let failed: Vec<String> = history
        .events
        .iter()
        .filter(|e| e.r#type == HistoryEventType::TaskFailed)
        .filter_map(|e| e.task_failed_event_details.as_ref()?.error.clone())
        .collect();
    assert_eq!(
        failed,
        [
            "Lambda.ResourceNotReadyException",
            "Lambda.TimeoutException",
            "Lambda.TimeoutException"
        ]
    );

    // Each execution counts its own invocations.
    let happy = c
        .start_execution()
        .state_machine_arn(format!("{machine}#HappyPath"))
        .name("happy")
        .input(r#"{"items": []}"#)
        .send()
        .await
        .expect("start another test case");
    let d = common::wait_done(c, &happy.execution_arn).await;
    assert_eq!(d.status, ExecutionStatus::Succeeded, "{:?}", d.cause);
    assert!(happy.execution_arn.ends_with(":execution:checkout:happy"));

    // Without a test case the real integrations run: no function is
    // configured, so the Lambda task fails.
    let real = c
        .start_execution()
        .state_machine_arn(&machine)
        .input(r#"{"items": []}"#)
        .send()
        .await
        .expect("start without a test case");
    let d = common::wait_done(c, &real.execution_arn).await;
    assert_eq!(d.status, ExecutionStatus::Failed);

    // An unknown test case is refused before anything starts.
    let err = c
        .start_execution()
        .state_machine_arn(format!("{machine}#SadPath"))
        .send()
        .await
        .expect_err("unknown test case");
    let text = format!("{:?}", err.into_service_error());
    assert!(text.contains("SadPath"), "{text}");
    assert!(text.contains("HappyPath, RetryPath"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_case_without_a_mock_configuration_is_refused() {
    let srv = common::TestServer::start().await;
    let c = common::client(&format!("http://{}", srv.addr));
    let machine = common::create(&c, "m", common::PASS).await;
    let err = c
        .start_execution()
        .state_machine_arn(format!("{machine}#HappyPath"))
        .send()
        .await
        .expect_err("no mock configuration");
    let text = format!("{:?}", err.into_service_error());
    assert!(text.contains("--mock-config"), "{text}");
}
