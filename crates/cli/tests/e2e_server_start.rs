//! `statecraft server` as a process: it starts quickly, answers on the
//! address it was given, stops cleanly on SIGTERM, and refuses a config file
//! with an unknown key, naming the key and its line.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use statecraft_testsupport::api::healthy as healthz;
use statecraft_testsupport::server::{free_port, scratch_dir as scratch};

#[test]
fn starts_fast_and_stops_on_sigterm() {
    let dir = scratch("start");
    let port = free_port();
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_statecraft"))
        .args(["server", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut up = false;
    while started.elapsed() < Duration::from_secs(10) {
        if healthz(port) {
            up = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let took = started.elapsed();
    assert!(up, "the server did not answer /healthz");
    eprintln!("statecraft server answered after {took:?}");
    // "Well under a second" on an idle machine; generous for a busy CI box.
    assert!(took < Duration::from_secs(3), "startup took {took:?}");

    // SIGTERM: the process exits by itself, successfully.
    let pid = child.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Ok(Some(s)) = child.try_wait() {
            break Some(s);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        status.is_some_and(|s| s.success()),
        "no clean exit on SIGTERM: {status:?}"
    );
}

#[test]
fn unknown_config_keys_are_refused_with_their_line() {
    let dir = scratch("config");
    let file = dir.join("statecraft.toml");
    std::fs::write(
        &file,
        "region = \"eu-west-1\"\nlisten_adress = \"127.0.0.1:1\"\n",
    )
    .expect("write config");
    let out = Command::new(env!("CARGO_BIN_EXE_statecraft"))
        .args(["server", "--config"])
        .arg(&file)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .output()
        .expect("run");
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "accepted a bad config: {stderr}");
    assert!(stderr.contains("listen_adress"), "{stderr}");
    assert!(stderr.contains("line 2"), "{stderr}");
}
