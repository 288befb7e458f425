//! Object-arrival triggers through the real binary on a local-folder
//! bucket: a new object under the prefix starts one execution with
//! EventBridge's "Object Created" event as input; an object outside the
//! prefix starts nothing; a restart starts nothing again; a changed object
//! (new ETag) is a new version and starts once more.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_sfn::Client;

fn start(config: &std::path::Path, data: &std::path::Path, port: u16) -> Child {
    Command::new(common::statecraft_binary())
        .args(["server", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(data)
        .arg("--config")
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn statecraft server")
}

async fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(15);
    while child.try_wait().ok().flatten().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server did not stop on SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait_up(client: &Client) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.list_state_machines().send().await.is_err() {
        assert!(Instant::now() < deadline, "the server did not come up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn executions(client: &Client, machine: &str) -> Vec<String> {
    client
        .list_executions()
        .state_machine_arn(machine)
        .send()
        .await
        .expect("list")
        .executions
        .into_iter()
        .map(|e| e.execution_arn)
        .collect()
}

async fn wait_count(client: &Client, machine: &str, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let e = executions(client, machine).await;
        if e.len() >= n {
            return e;
        }
        assert!(
            Instant::now() < deadline,
            "expected {n} executions, saw {}",
            e.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_new_object_version_starts_one_execution_across_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let media = dir.path().join("media");
    std::fs::create_dir_all(media.join("in")).expect("in/");
    std::fs::create_dir_all(media.join("out")).expect("out/");
    let machine = "arn:aws:states:us-east-1:123456789012:stateMachine:on-object";
    let config = dir.path().join("statecraft.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[integrations.buckets.media]
url = "file://{media}"

[triggers.objects.images]
bucket = "media"
prefix = "in/"
state_machine = "{machine}"
poll_seconds = 0.2
"#,
            media = media.display()
        ),
    )
    .expect("config");
    let data = dir.path().join("data");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let client = common::client(&format!("http://127.0.0.1:{port}"));
    let child = start(&config, &data, port);
    wait_up(&client).await;
    assert_eq!(
        common::create(&client, "on-object", common::PASS).await,
        machine
    );

    std::fs::write(media.join("in/a.txt"), b"hello").expect("write a");
    std::fs::write(media.join("out/b.txt"), b"not watched").expect("write b");
    let runs = wait_count(&client, machine, 1).await;
    let d = client
        .describe_execution()
        .execution_arn(&runs[0])
        .send()
        .await
        .expect("describe");
    let input: serde_json::Value = serde_json::from_str(d.input().unwrap_or("")).expect("json");
    assert_eq!(input["source"], "aws.s3");
    assert_eq!(input["detail-type"], "Object Created");
    assert_eq!(input["detail"]["bucket"]["name"], "media");
    assert_eq!(input["detail"]["object"]["key"], "in/a.txt");
    assert_eq!(input["detail"]["object"]["size"], 5);
    assert!(
        input["detail"]["object"]["etag"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "{input}"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        executions(&client, machine).await.len(),
        1,
        "out/ is not watched, a.txt ran once"
    );
    stop(child).await;

    // A restart lists a.txt again and starts nothing.
    let child = start(&config, &data, port);
    wait_up(&client).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        executions(&client, machine).await.len(),
        1,
        "nothing ran twice after a restart"
    );

    // A new version of a.txt, and a new object.
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(media.join("in/a.txt"), b"hello, again").expect("rewrite a");
    std::fs::write(media.join("in/c.txt"), b"c").expect("write c");
    wait_count(&client, machine, 3).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(executions(&client, machine).await.len(), 3);
    stop(child).await;
}
