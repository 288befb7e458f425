//! Object-arrival triggers through the real binary on a local-folder
//! bucket and on an S3-compatible server (moto's, started by the test): a
//! new object under the prefix starts one execution with EventBridge's
//! "Object Created" event as input; an object outside the prefix starts
//! nothing; a restart starts nothing again; a changed object (new ETag) is
//! a new version and starts once more.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_sfn::Client;
use statecraft_testsupport::moto::Moto;

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

/// Writes through boto3's S3 client, signed as S3 requires (moto refuses
/// some unsigned writes): `put(port, bucket, None, b"")` creates the
/// bucket, `put(port, bucket, Some(key), body)` writes an object; fails
/// the test with boto3's error if it cannot.
fn put(port: u16, bucket: &str, key: Option<&str>, body: &[u8]) {
    let script = "import sys, boto3\n\
s3 = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1', \
aws_access_key_id='testing', aws_secret_access_key='testing')\n\
if len(sys.argv) == 3:\n    s3.create_bucket(Bucket=sys.argv[2])\n\
else:\n    s3.put_object(Bucket=sys.argv[2], Key=sys.argv[3], Body=sys.stdin.buffer.read())\n";
    let mut cmd = Command::new("python3");
    cmd.args(["-c", script, &format!("http://127.0.0.1:{port}"), bucket]);
    if let Some(k) = key {
        cmd.arg(k);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("python3 with boto3 is needed ({e}): pip install boto3"));
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(body).expect("body");
    }
    let out = child.wait_with_output().expect("python3");
    assert!(
        out.status.success(),
        "boto3 could not write {bucket}/{key:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The same trigger on an S3-compatible server: each new object (and each
/// new version, by ETag) under the prefix starts one execution, with S3's
/// event shape; nothing twice across a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_arriving_in_an_s3_compatible_bucket_start_one_execution_each() {
    let moto = Moto::start();
    put(moto.port, "media-bucket", None, b"");
    let dir = tempfile::tempdir().expect("tempdir");
    let machine = "arn:aws:states:us-east-1:123456789012:stateMachine:on-s3-object";
    let config = dir.path().join("statecraft.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[integrations.buckets.media]
url = "s3://media-bucket"
endpoint = "http://127.0.0.1:{port}"
region = "us-east-1"
access_key_id = "testing"
secret_access_key = "testing"

[triggers.objects.images]
bucket = "media"
prefix = "in/"
state_machine = "{machine}"
poll_seconds = 0.2
"#,
            port = moto.port
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
        common::create(&client, "on-s3-object", common::PASS).await,
        machine
    );

    put(moto.port, "media-bucket", Some("in/a.txt"), b"hello");
    put(moto.port, "media-bucket", Some("out/b.txt"), b"not watched");
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
    // moto's ETag of "hello" is its MD5, as S3's is.
    assert_eq!(
        input["detail"]["object"]["etag"]
            .as_str()
            .map(|e| e.trim_matches('"')),
        Some("5d41402abc4b2a76b9719d911017c592"),
        "{input}"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        executions(&client, machine).await.len(),
        1,
        "out/ is not watched, a.txt ran once"
    );
    stop(child).await;

    let child = start(&config, &data, port);
    wait_up(&client).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        executions(&client, machine).await.len(),
        1,
        "nothing ran twice after a restart"
    );
    // A new version of a.txt (new content, new ETag), and a new object.
    put(moto.port, "media-bucket", Some("in/a.txt"), b"hello, again");
    put(moto.port, "media-bucket", Some("in/c.txt"), b"c");
    wait_count(&client, machine, 3).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(executions(&client, machine).await.len(), 3);
    stop(child).await;
}
