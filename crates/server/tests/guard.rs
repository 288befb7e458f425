//! Hostile requests through the real server (issue 14): foreign `Host`
//! names (DNS rebinding), cross-origin state-changing requests to the
//! console and the API, bodies over the limit, a wrong `Content-Type`,
//! malformed `encryptionConfiguration`; `/healthz` following the store's
//! health; and the real binary refusing a damaged or empty database with a
//! sentence saying what to do.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One raw HTTP/1.1 request; returns the status and the body.
async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    // Status 0 when nothing listens (yet): every assertion on it fails.
    let mut s = match tokio::net::TcpStream::connect(addr).await {
        Ok(s) => s,
        Err(e) => return (0, format!("connect: {e}")),
    };
    let mut head = format!("{method} {path} HTTP/1.1\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    s.write_all(head.as_bytes()).await.expect("write head");
    // A server may answer (and close) before a large body is all sent.
    let _ = s.write_all(body).await;
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf).await;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// An API call with the SDK's headers and the given `Host`.
async fn api(addr: SocketAddr, host: &str, op: &str, body: &str) -> (u16, Value) {
    let target = format!("AWSStepFunctions.{op}");
    let (status, text) = send(
        addr,
        "POST",
        "/",
        &[
            ("Host", host),
            ("Content-Type", "application/x-amz-json-1.0"),
            ("X-Amz-Target", &target),
        ],
        body.as_bytes(),
    )
    .await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn foreign_hosts_are_refused_and_local_names_answered() {
    let server = common::TestServer::start().await;
    let port = server.addr.port();
    for host in [
        "localhost".to_string(),
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
        format!("app.localhost:{port}"),
        // The SDKs' host prefix for StartSyncExecution and TestState.
        format!("sync-localhost:{port}"),
        format!("sync-127.0.0.1:{port}"),
    ] {
        let (status, body) = api(server.addr, &host, "ListStateMachines", "{}").await;
        assert_eq!(status, 200, "{host}: {body}");
    }
    // A name resolving to loopback through DNS rebinding, and near misses.
    for host in [
        format!("evil.example:{port}"),
        format!("localhost.evil.example:{port}"),
        format!("sync-evil.example:{port}"),
        format!("evillocalhost:{port}"),
    ] {
        let (status, body) = api(server.addr, &host, "ListStateMachines", "{}").await;
        assert_eq!(status, 421, "{host}: {body}");
        assert_eq!(body["__type"], "MisdirectedRequest", "{host}");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(message.contains("does not answer to the host"), "{message}");
        assert!(message.contains("allowed_hosts"), "{message}");
        // Nothing behind the API either: the console and the metrics.
        for path in ["/", "/console/app.js", "/metrics"] {
            let (status, _) = send(server.addr, "GET", path, &[("Host", &host)], b"").await;
            assert_eq!(status, 421, "{host} {path}");
        }
        // A probe by any name still learns whether the server is up.
        let (status, body) = send(server.addr, "GET", "/healthz", &[("Host", &host)], b"").await;
        assert_eq!((status, body.as_str()), (200, "ok\n"));
    }
    // The refused requests are counted.
    let (_, metrics) = send(
        server.addr,
        "GET",
        "/metrics",
        &[("Host", "localhost")],
        b"",
    )
    .await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("statecraft_requests_refused_total{reason=\"host\"}")),
        "{metrics}"
    );
    // The SDK (Host 127.0.0.1:port) is unaffected.
    server
        .client
        .list_state_machines()
        .send()
        .await
        .expect("the SDK is answered");
}

#[tokio::test]
async fn cross_origin_state_changing_requests_are_refused() {
    let server = common::TestServer::start().await;
    let port = server.addr.port();
    let host = format!("localhost:{port}");
    let own = format!("http://localhost:{port}");
    let definition = common::PASS.as_bytes();
    let addr = server.addr;
    // The console's layout route takes text/plain: what a foreign page can
    // POST without a preflight.
    let layout = |extra: Vec<(&'static str, String)>| {
        let host = host.clone();
        async move {
            let mut headers: Vec<(&str, &str)> = vec![
                ("Host", host.as_str()),
                ("Content-Type", "text/plain;charset=UTF-8"),
            ];
            for (k, v) in &extra {
                headers.push((k, v.as_str()));
            }
            send(addr, "POST", "/console/api/layout", &headers, definition).await
        }
    };
    let refused: Vec<Vec<(&str, String)>> = vec![
        vec![("Origin", "http://evil.example".into())],
        vec![("Origin", format!("http://localhost:{}", port + 1))],
        vec![("Origin", "null".into())],
        vec![("Sec-Fetch-Site", "cross-site".into())],
        vec![
            ("Origin", own.clone()),
            ("Sec-Fetch-Site", "same-site".into()),
        ],
    ];
    for headers in refused {
        let what = format!("{headers:?}");
        let (status, body) = layout(headers).await;
        assert_eq!(status, 403, "{what}: {body}");
        assert!(body.contains("CrossOriginRequestRefused"), "{body}");
    }
    let allowed: Vec<Vec<(&str, String)>> = vec![
        vec![],
        vec![("Origin", own.clone())],
        vec![
            ("Origin", own.clone()),
            ("Sec-Fetch-Site", "same-origin".into()),
        ],
    ];
    for headers in allowed {
        let what = format!("{headers:?}");
        let (status, body) = layout(headers).await;
        assert_eq!(status, 200, "{what}: {body}");
    }
    // The API too: a page of another origin cannot start anything.
    let (status, body) = send(
        server.addr,
        "POST",
        "/",
        &[
            ("Host", &host),
            ("Origin", "http://evil.example"),
            ("Content-Type", "application/x-amz-json-1.0"),
            ("X-Amz-Target", "AWSStepFunctions.ListStateMachines"),
        ],
        b"{}",
    )
    .await;
    assert_eq!(status, 403, "{body}");
    // Reading is not state-changing: GETs from anywhere are answered.
    let (status, _) = send(
        server.addr,
        "GET",
        "/",
        &[("Host", &host), ("Origin", "http://evil.example")],
        b"",
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn oversized_bodies_and_wrong_content_types_get_aws_error_shapes() {
    let server = common::TestServer::start().await;
    let big = vec![b' '; 8 * 1024 * 1024 + 1];
    let (status, text) = send(
        server.addr,
        "POST",
        "/",
        &[
            ("Host", "localhost"),
            ("Content-Type", "application/x-amz-json-1.0"),
            ("X-Amz-Target", "AWSStepFunctions.ListStateMachines"),
        ],
        &big,
    )
    .await;
    assert_eq!(status, 413, "{text}");
    let body: Value = serde_json::from_str(&text).expect("a JSON error body");
    assert_eq!(body["__type"], "RequestEntityTooLargeException");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("8388608")),
        "{body}"
    );

    for content_type in [
        Some("application/json"),
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let mut headers = vec![
            ("Host", "localhost"),
            ("X-Amz-Target", "AWSStepFunctions.ListStateMachines"),
        ];
        if let Some(t) = content_type {
            headers.push(("Content-Type", t));
        }
        let (status, text) = send(server.addr, "POST", "/", &headers, b"{}").await;
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        assert_eq!(status, 400, "{content_type:?}: {text}");
        assert_eq!(
            body["__type"], "UnknownOperationException",
            "{content_type:?}"
        );
        assert!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.contains("application/x-amz-json-1.0")),
            "{body}"
        );
    }
    // Parameters of the media type are fine.
    let (status, text) = send(
        server.addr,
        "POST",
        "/",
        &[
            ("Host", "localhost"),
            ("Content-Type", "application/x-amz-json-1.0; charset=utf-8"),
            ("X-Amz-Target", "AWSStepFunctions.ListStateMachines"),
        ],
        b"{}",
    )
    .await;
    assert_eq!(status, 200, "{text}");
}

#[tokio::test]
async fn encryption_configuration_is_checked_as_aws_does() {
    let server = common::TestServer::start().await;
    let create = |name: &str, enc: Value| {
        json!({"name": name, "definition": common::PASS, "roleArn": common::ROLE,
               "encryptionConfiguration": enc})
        .to_string()
    };
    let cases = [
        (
            json!("AWS_OWNED_KEY"),
            "SerializationException",
            "encryptionConfiguration",
        ),
        (
            json!(17),
            "SerializationException",
            "encryptionConfiguration",
        ),
        (
            json!([1]),
            "SerializationException",
            "encryptionConfiguration",
        ),
        (
            json!({}),
            "ValidationException",
            "'encryptionConfiguration.type'",
        ),
        (
            json!({"type": "NONE"}),
            "ValidationException",
            "'encryptionConfiguration.type'",
        ),
        (
            json!({"type": 1}),
            "SerializationException",
            "'encryptionConfiguration.type'",
        ),
        (
            json!({"type": "CUSTOMER_MANAGED_KMS_KEY", "kmsKeyId": ""}),
            "ValidationException",
            "'encryptionConfiguration.kmsKeyId'",
        ),
        (
            json!({"type": "CUSTOMER_MANAGED_KMS_KEY", "kmsKeyId": "k", "kmsDataKeyReusePeriodSeconds": 5}),
            "ValidationException",
            "'encryptionConfiguration.kmsDataKeyReusePeriodSeconds'",
        ),
    ];
    for (i, (enc, error, names)) in cases.iter().enumerate() {
        for op in ["CreateStateMachine", "CreateActivity"] {
            let body = if op == "CreateStateMachine" {
                create(&format!("m{i}"), enc.clone())
            } else {
                json!({"name": format!("a{i}"), "encryptionConfiguration": enc}).to_string()
            };
            let (status, out) = api(server.addr, "localhost", op, &body).await;
            assert_eq!(status, 400, "{op} {enc}: {out}");
            assert_eq!(out["__type"], *error, "{op} {enc}: {out}");
            assert!(
                out["message"].as_str().is_some_and(|m| m.contains(names)),
                "{op} {enc}: {out}"
            );
        }
    }
    let good = json!({"type": "CUSTOMER_MANAGED_KMS_KEY", "kmsKeyId": "alias/k",
                      "kmsDataKeyReusePeriodSeconds": 300});
    let (status, out) = api(
        server.addr,
        "localhost",
        "CreateStateMachine",
        &create("ok", good.clone()),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    let arn = out["stateMachineArn"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let update = json!({"stateMachineArn": arn, "definition": common::PASS,
                        "encryptionConfiguration": {"type": "BAD"}})
    .to_string();
    let (status, out) = api(server.addr, "localhost", "UpdateStateMachine", &update).await;
    assert_eq!(
        (status, out["__type"].as_str()),
        (400, Some("ValidationException")),
        "{out}"
    );
    let (status, out) = api(
        server.addr,
        "localhost",
        "CreateActivity",
        &json!({"name": "ok", "encryptionConfiguration": good}).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{out}");
}

/// Garbage over the database file's pages after the first, and over its WAL
/// (whose checksums then fail, so SQLite reads the damaged file).
fn damage(db: &Path) {
    use std::io::{Seek, SeekFrom, Write};
    let len = std::fs::metadata(db).expect("the database exists").len();
    assert!(len > 8 * 4096, "the database spans pages ({len} bytes)");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(db)
        .expect("opens for writing");
    f.seek(SeekFrom::Start(4096)).expect("seek");
    let garbage: Vec<u8> = (0..len - 4096).map(|i| (i * 131 % 251) as u8).collect();
    f.write_all(&garbage).expect("garbage written");
    f.sync_all().expect("synced");
    let wal = db.with_extension("db-wal");
    if let Ok(len) = std::fs::metadata(&wal).map(|m| m.len()) {
        std::fs::write(&wal, vec![0x77; len as usize]).expect("WAL garbled");
    }
}

#[tokio::test]
async fn healthz_reports_a_store_that_cannot_serve_reads() {
    let server = common::TestServer::start().await;
    for i in 0..30 {
        common::create(&server.client, &format!("health-{i}"), common::PASS).await;
    }
    let (status, body) = send(
        server.addr,
        "GET",
        "/healthz",
        &[("Host", "localhost")],
        b"",
    )
    .await;
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    damage(&server.dir.path().join("statecraft.db"));
    let (status, body) = send(
        server.addr,
        "GET",
        "/healthz",
        &[("Host", "localhost")],
        b"",
    )
    .await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body.starts_with("unhealthy: the store cannot serve reads"),
        "{body}"
    );
}

/// Runs `statecraft server` until it exits or `timeout` passes; returns
/// its exit status (None: still running, then killed) and its stderr.
fn run_server(args: &[&str], data_dir: &Path, timeout: Duration) -> (Option<i32>, String) {
    let mut child = Command::new(common::statecraft_binary())
        .arg("server")
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn statecraft server");
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut err);
    }
    (status, err)
}

/// A data directory with a database the binary made and filled.
async fn made_by_the_binary() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = common::free_port();
    let mut child = Command::new(common::statecraft_binary())
        .args(["server", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn statecraft server");
    let client = common::client(&format!("http://127.0.0.1:{port}"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while client.list_state_machines().send().await.is_err() {
        assert!(Instant::now() < deadline, "the server did not come up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for i in 0..30 {
        common::create(&client, &format!("made-{i}"), common::PASS).await;
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().expect("wait").is_none() {
        assert!(Instant::now() < deadline, "the server did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_refuses_a_damaged_database() {
    let dir = made_by_the_binary().await;
    damage(&dir.path().join("statecraft.db"));
    let listen = format!("127.0.0.1:{}", common::free_port());
    let (status, stderr) = run_server(&["--listen", &listen], dir.path(), Duration::from_secs(20));
    assert!(status.is_some_and(|c| c != 0), "exit {status:?}: {stderr}");
    assert!(stderr.contains("is damaged"), "{stderr}");
    assert!(
        stderr.contains("restore statecraft.db from a backup"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_refuses_an_empty_database_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("statecraft.db"), b"").expect("written");
    let listen = format!("127.0.0.1:{}", common::free_port());
    let (status, stderr) = run_server(&["--listen", &listen], dir.path(), Duration::from_secs(20));
    assert!(status.is_some_and(|c| c != 0), "exit {status:?}: {stderr}");
    assert!(stderr.contains("empty file (0 bytes)"), "{stderr}");
    assert!(
        stderr.contains("restore statecraft.db from a backup"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_answers_configured_host_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("statecraft.toml");
    std::fs::write(&config, "allowed_hosts = [\"*.corp.example\"]\n").expect("config");
    let port = common::free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let mut child = Command::new(common::statecraft_binary())
        .args(["server", "--listen", &addr.to_string()])
        .args(["--allowed-host", "statecraft.internal"])
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn statecraft server");
    let deadline = Instant::now() + Duration::from_secs(20);
    while api(addr, "localhost", "ListStateMachines", "{}").await.0 != 200 {
        assert!(Instant::now() < deadline, "the server did not come up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for (host, status) in [
        ("statecraft.internal", 200),
        ("sync-statecraft.internal", 200),
        ("api.corp.example", 200),
        ("sync-api.corp.example", 200),
        ("other.internal", 421),
        ("corp.example", 421),
    ] {
        let host = format!("{host}:{port}");
        let (got, body) = api(addr, &host, "ListStateMachines", "{}").await;
        assert_eq!(got, status, "{host}: {body}");
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// See issue 14: a Choice graph of 40 states each pointing at all the
/// others (which CreateStateMachine accepts) panicked the console's layout
/// route. It is laid out now, through the real server.
#[tokio::test]
async fn the_console_lays_out_a_dense_choice_graph() {
    let server = common::TestServer::start().await;
    let n = 40;
    let mut states = serde_json::Map::new();
    for i in 0..n {
        let choices: Vec<Value> = (0..n)
            .filter(|&j| j != i)
            .map(|j| json!({"Variable": "$.v", "NumericEquals": j, "Next": format!("C{j}")}))
            .collect();
        states.insert(
            format!("C{i}"),
            json!({"Type": "Choice", "Choices": choices, "Default": "Done"}),
        );
    }
    states.insert("Done".into(), json!({"Type": "Succeed"}));
    let definition = json!({"StartAt": "C0", "States": states}).to_string();
    let create = json!({"name": "dense", "definition": definition, "roleArn": common::ROLE});
    let (status, out) = api(
        server.addr,
        "localhost",
        "CreateStateMachine",
        &create.to_string(),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    let (status, body) = send(
        server.addr,
        "POST",
        "/console/api/layout?format=json",
        &[("Host", "localhost"), ("Content-Type", "text/plain")],
        definition.as_bytes(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let layout: Value = serde_json::from_str(&body).expect("a JSON layout");
    assert_eq!(
        layout["edges"].as_array().map(Vec::len),
        Some(n * (n - 1) + n + 2)
    );
}
