//! Runs the boto3 smoke test (`tests/smoke/smoke_boto3.py`) against an
//! in-process server. Python with boto3 is optional on a developer machine:
//! without it the test says so and passes; CI installs boto3 and also runs
//! the script against the real binary.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_smoke_script_passes() {
    common::require_boto3();
    let srv = TestServer::start().await;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/smoke/smoke_boto3.py");
    let endpoint = format!("http://{}", srv.addr);
    let out = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg(script)
            .arg(endpoint)
            .output()
            .expect("run python3")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "smoke script failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.lines().last().unwrap_or("").ends_with(" 0 failed"),
        "{stdout}"
    );
    srv.stop().await;
}
