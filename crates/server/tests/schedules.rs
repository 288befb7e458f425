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
    stop(child);
    let child = start_server(dir.path(), port);
    wait_up(port);
    run_script(port, "after-restart");
    stop(child);
}
