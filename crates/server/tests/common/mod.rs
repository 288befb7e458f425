//! Test support: a server on a random loopback port over a fresh data
//! directory, an `aws-sdk-sfn` client pointed at it, and a raw HTTP helper
//! for requests the SDK refuses to send (malformed bodies, missing members).

#![allow(dead_code)]

use std::time::Duration;

use aws_sdk_sfn::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_sfn::config::{
    BehaviorVersion, ConfigBag, Credentials, Intercept, Region, RuntimeComponents,
};
use aws_sdk_sfn::error::BoxError;
use aws_sdk_sfn::Client;
use statecraft_server::{Config, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;

pub const ROLE: &str = "arn:aws:iam::123456789012:role/statecraft-test";

/// Removes the `sync-` host prefix the SDK adds to StartSyncExecution and
/// TestState (see docs/sdk-setup.md): `sync-127.0.0.1` does not resolve.
#[derive(Debug)]
pub struct NoHostPrefix;

impl Intercept for NoHostPrefix {
    fn name(&self) -> &'static str {
        "NoHostPrefix"
    }

    fn modify_before_transmit(
        &self,
        ctx: &mut BeforeTransmitInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let uri = ctx.request().uri().to_string();
        if let Some(rest) = uri.strip_prefix("http://sync-") {
            ctx.request_mut().set_uri(format!("http://{rest}"))?;
        }
        Ok(())
    }
}

/// A test server's configuration: a free loopback port, `data_dir`, the
/// default region and account, and `integrations`.
pub fn config(
    data_dir: &std::path::Path,
    integrations: statecraft_integrations::IntegrationsConfig,
) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().expect("addr"),
        data_dir: data_dir.to_path_buf(),
        region: "us-east-1".into(),
        account_id: "123456789012".into(),
        integrations,
    }
}

/// Serves `server` on a free loopback port until the sender is used (or
/// dropped): its address, the stop sender and the serving task (which
/// fails the test's join if serving fails).
pub async fn serve(
    server: Server,
) -> (
    std::net::SocketAddr,
    oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        server.serve(listener, shutdown).await.expect("serve");
    });
    (addr, stop, task)
}

/// A running server; stops (cleanly) when dropped.
pub struct TestServer {
    pub addr: std::net::SocketAddr,
    pub client: Client,
    pub dir: tempfile::TempDir,
    pub service: std::sync::Arc<statecraft_server::Service>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = config(dir.path(), Default::default());
        let server = Server::start(&cfg).await.expect("server starts");
        let service = server.service();
        let (addr, stop, task) = serve(server).await;
        TestServer {
            addr,
            client: client(&format!("http://{addr}")),
            dir,
            service,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stops the server and waits until it has shut down.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }

    /// POSTs `body` with `X-Amz-Target: <target>`; returns status and JSON.
    pub async fn raw(&self, target: Option<&str>, body: &str) -> (u16, serde_json::Value) {
        raw_post(self.addr, target, body).await
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

pub fn client(endpoint: &str) -> Client {
    let http = aws_smithy_http_client::Builder::new().build_http();
    let conf = aws_sdk_sfn::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .endpoint_url(endpoint)
        .http_client(http)
        .interceptor(NoHostPrefix)
        .build();
    Client::from_conf(conf)
}

/// A minimal HTTP/1.1 POST, for bodies the SDK would never send.
pub async fn raw_post(
    addr: std::net::SocketAddr,
    target: Option<&str>,
    body: &str,
) -> (u16, serde_json::Value) {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let target = target
        .map(|t| format!("X-Amz-Target: {t}\r\n"))
        .unwrap_or_default();
    let req = format!(
        "POST / HTTP/1.1\r\nHost: sync-localhost\r\nContent-Type: application/x-amz-json-1.0\r\n{target}Authorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/states/aws4_request, SignedHeaders=host, Signature=00\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.expect("read");
    let text = String::from_utf8_lossy(&buf);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
    (
        status,
        serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
    )
}

/// Polls DescribeExecution until the execution is no longer RUNNING.
pub async fn wait_done(
    client: &Client,
    arn: &str,
) -> aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let d = client
            .describe_execution()
            .execution_arn(arn)
            .send()
            .await
            .expect("describe");
        if d.status != aws_sdk_sfn::types::ExecutionStatus::Running
            || tokio::time::Instant::now() > deadline
        {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

pub async fn create(client: &Client, name: &str, definition: &str) -> String {
    client
        .create_state_machine()
        .name(name)
        .definition(definition)
        .role_arn(ROLE)
        .send()
        .await
        .expect("create")
        .state_machine_arn
}

pub const PASS: &str =
    r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Result":{"ok":true},"End":true}}}"#;

/// The built `statecraft` binary (failing, saying how to build it, when it
/// is not there) and a free loopback port: the workspace's test support.
pub use statecraft_testsupport::server::{free_port, statecraft_binary};

/// Fails the test unless `python3` can import boto3 (scripts/test installs it).
pub fn require_boto3() {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import boto3"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "python3 with boto3 is needed: `python3 -m pip install boto3` (scripts/test installs it)"
    );
}

/// A `statecraft server` process over a fresh data directory, killed when
/// dropped.
pub struct Binary {
    pub child: std::process::Child,
    pub port: u16,
    pub client: Client,
    _dir: tempfile::TempDir,
}

impl Binary {
    /// Starts it with `config` as its config file, and waits until it
    /// answers.
    pub async fn start(config: Option<&str>) -> Binary {
        let bin = statecraft_binary();
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let mut cmd = std::process::Command::new(&bin);
        cmd.args(["server", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(dir.path().join("data"));
        if let Some(text) = config {
            let path = dir.path().join("statecraft.toml");
            std::fs::write(&path, text).expect("write config");
            cmd.arg("--config").arg(path);
        }
        let child = cmd
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn statecraft server");
        let client = client(&format!("http://127.0.0.1:{port}"));
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while client.list_state_machines().send().await.is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "the server did not come up"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Binary {
            child,
            port,
            client,
            _dir: dir,
        }
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
