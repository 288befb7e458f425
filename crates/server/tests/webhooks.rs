//! Webhook triggers end to end over HTTP: a right signature starts an
//! execution with the body as input, a wrong or missing one starts
//! nothing, a body that is not JSON is refused, and a replayed
//! `Idempotency-Key` answers the first delivery's execution.

mod common;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use statecraft_server::triggers::{TriggersFile, Webhooks};
use statecraft_server::Server;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SECRET: &str = "It's a Secret to Everybody";

fn sign(body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(SECRET.as_bytes()).expect("key");
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

/// POSTs `body` to `path` with `headers`; the status and the JSON answer.
async fn post(
    addr: std::net::SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, serde_json::Value) {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    s.write_all(body).await.expect("write body");
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.expect("read");
    let text = String::from_utf8_lossy(&out);
    let status: u16 = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status line");
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
    (
        status,
        serde_json::from_str(body).unwrap_or_else(|_| panic!("a JSON answer: {text}")),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_check_signatures_and_dedupe_retries() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = common::config(dir.path(), Default::default());
    let machine = "arn:aws:states:us-east-1:123456789012:stateMachine:hooked";
    let file: TriggersFile = toml::from_str(&format!(
        "[webhooks.github]\nstate_machine = \"{machine}\"\nsecret = \"{SECRET}\"\n"
    ))
    .expect("triggers table");
    let server = Server::start(&cfg)
        .await
        .expect("server starts")
        .with_webhooks(Webhooks::from_file(file).expect("valid webhooks"));
    let (addr, stop, task) = common::serve(server).await;
    let client = common::client(&format!("http://{addr}"));
    let arn = common::create(&client, "hooked", common::PASS).await;
    assert_eq!(arn, machine);
    let count = || {
        let client = client.clone();
        async move {
            client
                .list_executions()
                .state_machine_arn(machine)
                .send()
                .await
                .expect("list")
                .executions
                .len()
        }
    };

    // A right signature: an execution with the body as input.
    let body = br#"{"action":"opened","number":7}"#;
    let sig = sign(body);
    let (status, out) = post(
        addr,
        "/triggers/github",
        &[("X-Hub-Signature-256", &sig)],
        body,
    )
    .await;
    assert_eq!(status, 200, "{out}");
    let exec = out["executionArn"]
        .as_str()
        .expect("executionArn")
        .to_owned();
    let desc = client
        .describe_execution()
        .execution_arn(&exec)
        .send()
        .await
        .expect("describe");
    let input: serde_json::Value = serde_json::from_str(desc.input().unwrap_or("")).expect("json");
    assert_eq!(input, serde_json::json!({"action": "opened", "number": 7}));
    assert_eq!(count().await, 1);

    // Wrong, malformed or missing signatures start nothing.
    let other = sign(b"{}");
    for headers in [
        vec![("X-Hub-Signature-256", other.as_str())],
        vec![("X-Hub-Signature-256", "sha256=00")],
        vec![("X-Hub-Signature-256", &sig[7..])],
        vec![],
    ] {
        let (status, out) = post(addr, "/triggers/github", &headers, body).await;
        assert_eq!(status, 401, "{headers:?}: {out}");
        assert!(
            out["message"]
                .as_str()
                .unwrap_or("")
                .contains("X-Hub-Signature-256"),
            "{out}"
        );
    }
    assert_eq!(count().await, 1);

    // A signed body that is not JSON.
    let text = b"action=opened";
    let (status, out) = post(
        addr,
        "/triggers/github",
        &[("X-Hub-Signature-256", &sign(text))],
        text,
    )
    .await;
    assert_eq!(status, 400, "{out}");
    assert!(
        out["message"]
            .as_str()
            .unwrap_or("")
            .contains("must be JSON"),
        "{out}"
    );

    // A retried delivery with the same Idempotency-Key: the same execution.
    let key = [
        ("X-Hub-Signature-256", sig.as_str()),
        ("Idempotency-Key", "delivery-42"),
    ];
    let (s1, first) = post(addr, "/triggers/github", &key, body).await;
    assert_eq!(s1, 200, "{first}");
    let done = common::wait_done(&client, first["executionArn"].as_str().expect("arn")).await;
    assert_eq!(done.status, aws_sdk_sfn::types::ExecutionStatus::Succeeded);
    let (s2, second) = post(addr, "/triggers/github", &key, body).await;
    assert_eq!(s2, 200, "{second}");
    assert_eq!(first["executionArn"], second["executionArn"]);
    assert_eq!(count().await, 2);

    // A name nobody configured.
    let (status, out) = post(
        addr,
        "/triggers/nope",
        &[("X-Hub-Signature-256", &sig)],
        body,
    )
    .await;
    assert_eq!(status, 404, "{out}");

    let _ = stop.send(());
    let _ = task.await;
}
