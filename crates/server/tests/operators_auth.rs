//! Statecraft's operators' operations on a server with credentials: signed
//! by botocore's SigV4 signer (`operators_boto3.py`), allowed to the
//! operator role and refused to a reader, and recorded in the history with
//! the caller's access key id.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn signed_operator_actions_record_the_caller() {
    common::require_boto3();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("statecraft.toml");
    let mut text = String::new();
    for (id, role) in [
        ("AKIDADMIN", "admin"),
        ("AKIDOPERATOR", "operator"),
        ("AKIDREADER", "reader"),
    ] {
        text.push_str(&format!(
            "[[auth.credentials]]\naccess_key_id = \"{id}\"\nsecret_access_key = \"{role}-secret\"\nrole = \"{role}\"\n\n"
        ));
    }
    std::fs::write(&config, text).expect("config");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let mut child = Command::new(common::statecraft_binary())
        .args(["server", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("--config")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn statecraft server");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the server did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/operators_boto3.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(format!("http://localhost:{port}"))
        .output()
        .expect("run python3");
    let _ = child.kill();
    let _ = child.wait();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("0 failed"),
        "boto3 checks failed:\n{stdout}\n{stderr}"
    );
}
