//! Schedules end to end: boto3's `scheduler` client (unchanged, dummy keys,
//! us-east-1) against the real `statecraft` binary creates schedules, sees
//! an `at()` schedule start exactly one execution, then the server is
//! stopped and started again on the same data directory and nothing runs
//! twice (`tests/schedules_boto3.py` holds the checks).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn start_server(dir: &Path, port: u16) -> Child {
    Command::new(common::statecraft_binary())
        .args(["server", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn statecraft server")
}

fn wait_up(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the server did not come up");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn run_script(port: u16, phase: &str) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/schedules_boto3.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(format!("http://127.0.0.1:{port}"))
        .arg(phase)
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "schedules_boto3.py {phase} failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.trim_end().ends_with(" 0 failed"), "{stdout}");
}

/// `aws scheduler` (the AWS CLI, unchanged) lists and reads the schedule
/// the boto3 script made.
fn aws_cli_reads_the_schedule(port: u16) {
    let endpoint = format!("http://127.0.0.1:{port}");
    let run = |args: &[&str]| -> serde_json::Value {
        let out = Command::new("aws")
            .args(["scheduler", "--endpoint-url", &endpoint, "--output", "json"])
            .args(args)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .output()
            .expect("the AWS CLI is needed: pip install awscli (scripts/test installs it)");
        assert!(
            out.status.success(),
            "aws scheduler {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("JSON from the AWS CLI")
    };
    let list = run(&["list-schedules"]);
    let names: Vec<&str> = list["Schedules"]
        .as_array()
        .expect("Schedules")
        .iter()
        .filter_map(|s| s["Name"].as_str())
        .collect();
    assert!(names.contains(&"once"), "{list}");
    let got = run(&["get-schedule", "--name", "once"]);
    assert_eq!(got["State"], "ENABLED", "{got}");
    assert!(
        got["ScheduleExpression"]
            .as_str()
            .is_some_and(|e| e.starts_with("at(")),
        "{got}"
    );
}

#[test]
fn boto3_scheduler_against_the_binary_runs_each_due_time_once_across_a_restart() {
    common::require_boto3();
    let dir = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let child = start_server(dir.path(), port);
    wait_up(port);
    run_script(port, "create");
    aws_cli_reads_the_schedule(port);
    stop(child);
    let child = start_server(dir.path(), port);
    wait_up(port);
    run_script(port, "after-restart");
    stop(child);
}

/// With credentials configured, the scheduler routes take the same SigV4
/// check as the Step Functions API (signed for the `scheduler` service, as
/// boto3's client signs): a known key passes, a wrong secret and an unsigned
/// request are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduler_routes_need_a_signature_when_credentials_are_configured() {
    common::require_boto3();
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = common::config(dir.path(), Default::default());
    let file: statecraft_server::auth::AuthFile = toml::from_str(
        "[[credentials]]\naccess_key_id = \"AKIDSCHED\"\nsecret_access_key = \"sched-secret\"\nrole = \"admin\"\n",
    )
    .expect("auth table");
    let auth = statecraft_server::auth::Auth::from_file(file, "us-east-1")
        .expect("auth")
        .expect("credentials configured");
    let server = statecraft_server::Server::start(&cfg)
        .await
        .expect("server starts")
        .with_auth(Some(auth));
    let (addr, stop, task) = common::serve(server).await;
    let script = format!(
        r#"
import boto3, botocore.exceptions, urllib.request, urllib.error
def client(secret):
    return boto3.client("scheduler", endpoint_url="http://{addr}", region_name="us-east-1",
                        aws_access_key_id="AKIDSCHED", aws_secret_access_key=secret)
groups = client("sched-secret").list_schedule_groups()["ScheduleGroups"]
assert [g["Name"] for g in groups] == ["default"], groups
try:
    client("wrong").list_schedules()
    raise SystemExit("a wrong secret was accepted")
except botocore.exceptions.ClientError as e:
    assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 403, e.response
try:
    urllib.request.urlopen("http://{addr}/schedules")
    raise SystemExit("an unsigned request was accepted")
except urllib.error.HTTPError as e:
    assert e.code in (400, 403), e.code
# A console session (cookie and CSRF token), as the console's Schedules page calls.
import http.cookiejar, json
jar = http.cookiejar.CookieJar()
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
req = urllib.request.Request("http://{addr}/console/api/session", method="POST",
    data=json.dumps({{"accessKeyId": "AKIDSCHED", "secretAccessKey": "sched-secret"}}).encode(),
    headers={{"Content-Type": "application/json"}})
opener.open(req)
csrf = [c.value for c in jar if c.name == "statecraft_csrf"][0]
req = urllib.request.Request("http://{addr}/schedules", headers={{"X-Csrf-Token": csrf}})
assert json.loads(opener.open(req).read())["Schedules"] == []
print("4 passed, 0 failed")
"#
    );
    let out = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .args(["-c", &script])
            .output()
            .expect("run python3")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.trim_end().ends_with("0 failed"), "{stdout}");
    let _ = stop.send(());
    let _ = task.await;
}
