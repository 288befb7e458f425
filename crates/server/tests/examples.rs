//! The examples of `examples/` run for real against the server: each
//! folder's Python services are started, the server gets the folder's
//! `statecraft.toml` as its `[integrations]` config, and the workflow is
//! created and started with the SDK. The MLOps approval is answered with
//! SendTaskSuccess and the token the workflow handed out.
//!
//! The services listen on the fixed ports their READMEs give (8810, 8820),
//! so each example has one test.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use aws_sdk_sfn::types::ExecutionStatus;
use aws_sdk_sfn::Client;
use common::create;
use serde_json::{json, Value};
use statecraft_integrations::IntegrationsConfig;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

fn parse(s: Option<&str>) -> Value {
    s.and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or(Value::Null)
}

/// A Python service of an example, killed when dropped.
struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `script` and waits until it accepts connections on `port`.
async fn service(script: &Path, port: u16, env: &[(&str, &str)]) -> Service {
    let mut cmd = Command::new("python3");
    cmd.arg(script).stdout(Stdio::null()).stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().expect("python3 runs the example's service");
    let svc = Service(child);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} did not start",
            script.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    svc
}

/// The `[integrations]` of an example's `statecraft.toml`, with paths
/// relative to the repository root made absolute (tests run elsewhere).
fn integrations(folder: &str) -> IntegrationsConfig {
    #[derive(serde::Deserialize)]
    struct File {
        #[serde(default)]
        integrations: IntegrationsConfig,
    }
    let root = examples().join("..");
    let text = std::fs::read_to_string(examples().join(folder).join("statecraft.toml"))
        .expect("statecraft.toml");
    let text = text.replace("\"examples/", &format!("\"{}/examples/", root.display()));
    toml::from_str::<File>(&text)
        .expect("a valid [integrations] section")
        .integrations
}

/// A server with `integrations`; stops when the sender is dropped.
async fn server(
    integrations: IntegrationsConfig,
) -> (
    Client,
    std::net::SocketAddr,
    tempfile::TempDir,
    tokio::sync::oneshot::Sender<()>,
) {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = statecraft_server::Config {
        listen: "127.0.0.1:0".parse().expect("addr"),
        data_dir: dir.path().to_path_buf(),
        region: "us-east-1".into(),
        account_id: "123456789012".into(),
        integrations,
    };
    let server = statecraft_server::Server::start(&cfg).await.expect("start");
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        let _ = server.serve(listener, shutdown).await;
    });
    (common::client(&format!("http://{addr}")), addr, dir, stop)
}

fn has_boto3() -> bool {
    Command::new("python3")
        .args(["-c", "import boto3"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

async fn create_from(c: &Client, name: &str, file: &Path) -> String {
    let def = std::fs::read_to_string(file).expect("definition");
    create(c, name, &def).await
}

/// Waits (up to `secs`) until the execution has ended.
async fn wait_done(
    c: &Client,
    arn: &str,
    secs: u64,
) -> aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let d = c
            .describe_execution()
            .execution_arn(arn)
            .send()
            .await
            .expect("describe");
        if d.status != ExecutionStatus::Running || tokio::time::Instant::now() > deadline {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_pipeline_runs_against_its_services() {
    let folder = examples().join("data-pipeline");
    let _svc = service(&folder.join("services.py"), 8810, &[]).await;
    let (c, _addr, _dir, _stop) = server(integrations("data-pipeline")).await;
    let machine = create_from(&c, "data-pipeline", &folder.join("data-pipeline.asl.json")).await;
    let input = std::fs::read_to_string(folder.join("input.json")).expect("input");
    let execution = c
        .start_execution()
        .state_machine_arn(&machine)
        .input(input)
        .send()
        .await
        .expect("start")
        .execution_arn;
    let d = wait_done(&c, &execution, 60).await;
    assert_eq!(
        d.status,
        ExecutionStatus::Succeeded,
        "{:?} {:?}",
        d.error,
        d.cause
    );
    let out = parse(d.output.as_deref());
    // Three records: the one with a bad amount is quarantined (others may
    // be too, when the flaky dependency fails them), none is lost.
    let loaded = out["loaded"].as_i64().expect("loaded");
    let quarantined = out["quarantined"].as_i64().expect("quarantined");
    assert_eq!(loaded + quarantined, 3, "{out}");
    assert!(quarantined >= 1, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mlops_runs_with_an_approval_by_task_token() {
    let folder = examples().join("mlops");
    let _svc = service(
        &folder.join("services.py"),
        8820,
        &[("MODEL_REGISTRY_KEY", "test-key")],
    )
    .await;
    if std::env::var_os("MODEL_REGISTRY_KEY").is_none() {
        // The connection's key is read from the environment at config time.
        std::env::set_var("MODEL_REGISTRY_KEY", "test-key");
    }
    let (c, addr, _dir, _stop) = server(integrations("mlops")).await;
    create_from(&c, "train-model", &folder.join("train-model.asl.json")).await;
    let machine = create_from(&c, "mlops", &folder.join("mlops.asl.json")).await;
    let execution = c
        .start_execution()
        .state_machine_arn(&machine)
        .input(std::fs::read_to_string(folder.join("input.json")).expect("input"))
        .send()
        .await
        .expect("start")
        .execution_arn;

    // The approval step hands its token to the approval service; the
    // operator (here, the test) finds it in the TaskScheduled event.
    let token = {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let events = c
                .get_execution_history()
                .execution_arn(&execution)
                .max_results(1000)
                .send()
                .await
                .expect("history")
                .events;
            let found = events.iter().find_map(|e| {
                let p = parse(Some(e.task_scheduled_event_details.as_ref()?.parameters()));
                p["Payload"]["token"].as_str().map(str::to_string)
            });
            if let Some(t) = found {
                break t;
            }
            let d = c
                .describe_execution()
                .execution_arn(&execution)
                .send()
                .await
                .expect("describe");
            assert_eq!(
                d.status,
                ExecutionStatus::Running,
                "ended before the approval: {:?} {:?}",
                d.error,
                d.cause
            );
            assert!(tokio::time::Instant::now() < deadline, "no approval step");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    if has_boto3() {
        // The example's own approver: SendTaskSuccess with boto3.
        let script = folder.join("approve.py");
        let status = tokio::task::spawn_blocking(move || {
            Command::new("python3")
                .arg(script)
                .arg(token)
                .env("STATECRAFT_ENDPOINT", format!("http://{addr}"))
                .stdout(Stdio::null())
                .status()
        })
        .await
        .expect("join")
        .expect("python3 runs approve.py");
        assert!(status.success(), "approve.py failed: {status}");
    } else {
        eprintln!("python3 with boto3 not found: approving with the Rust SDK");
        c.send_task_success()
            .task_token(&token)
            .output(json!({"approved": true, "approver": "tester"}).to_string())
            .send()
            .await
            .expect("approve");
    }
    let d = wait_done(&c, &execution, 60).await;
    assert_eq!(
        d.status,
        ExecutionStatus::Succeeded,
        "{:?} {:?}",
        d.error,
        d.cause
    );
    let out = parse(d.output.as_deref());
    assert!(
        out["deployment"]
            .as_str()
            .is_some_and(|s| s.starts_with("dep-")),
        "{out}"
    );

    // The child knows its parent through its input, as on AWS.
    let children = c
        .list_executions()
        .state_machine_arn("arn:aws:states:us-east-1:123456789012:stateMachine:train-model")
        .send()
        .await
        .expect("list")
        .executions;
    assert_eq!(children.len(), 1);
    let child = c
        .describe_execution()
        .execution_arn(&children[0].execution_arn)
        .send()
        .await
        .expect("child");
    assert_eq!(
        parse(child.input.as_deref())["AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"],
        json!(execution)
    );
}

/// Two boto3 workers of the order-fulfilment example each take one order
/// of the pack-order activity: one is packed (heartbeats, SendTaskSuccess),
/// one cannot be filled (SendTaskFailure, caught by the workflow).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_fulfilment_runs_with_boto3_workers() {
    if !has_boto3() {
        eprintln!("python3 with boto3 not found: the boto3 activity workers did not run");
        return;
    }
    let folder = examples().join("order-fulfilment");
    let (c, addr, _dir, _stop) = server(integrations("order-fulfilment")).await;
    // The workers create it too (idempotent); the executions need it first.
    c.create_activity()
        .name("pack-order")
        .send()
        .await
        .expect("create activity");
    let machine = create_from(
        &c,
        "order-fulfilment",
        &folder.join("order-fulfilment.asl.json"),
    )
    .await;
    let mut workers = Vec::new();
    for name in ["worker-1", "worker-2"] {
        let mut cmd = Command::new("python3");
        cmd.arg(folder.join("worker.py"))
            .args(["--name", name, "--once"])
            .env("STATECRAFT_ENDPOINT", format!("http://{addr}"))
            .stdout(Stdio::null());
        workers.push(Service(cmd.spawn().expect("python3 runs worker.py")));
    }
    let mut executions = Vec::new();
    for input in [
        std::fs::read_to_string(folder.join("input.json")).expect("input"),
        json!({"orderId": "o-1002", "items": [{"sku": "unicorn", "qty": 1}]}).to_string(),
    ] {
        executions.push(
            c.start_execution()
                .state_machine_arn(&machine)
                .input(input)
                .send()
                .await
                .expect("start")
                .execution_arn,
        );
    }
    let shipped = wait_done(&c, &executions[0], 60).await;
    assert_eq!(
        shipped.status,
        ExecutionStatus::Succeeded,
        "{:?}",
        shipped.cause
    );
    let out = parse(shipped.output.as_deref());
    assert_eq!(out["status"], json!("SHIPPED"), "{out}");
    assert_eq!(out["parcel"]["parcelId"], json!("p-1001"), "{out}");
    let backordered = wait_done(&c, &executions[1], 60).await;
    assert_eq!(backordered.status, ExecutionStatus::Succeeded);
    let out = parse(backordered.output.as_deref());
    assert_eq!(out["status"], json!("BACKORDERED"), "{out}");
    assert_eq!(out["problem"]["Error"], json!("Order.OutOfStock"), "{out}");
    // Each worker handled one order and exited.
    for mut w in workers {
        let status = tokio::task::spawn_blocking(move || w.0.wait())
            .await
            .expect("join")
            .expect("worker exit");
        assert!(status.success(), "a worker failed: {status}");
    }
}
