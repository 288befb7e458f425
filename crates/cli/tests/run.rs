//! `statecraft run` driven as a user runs it: the built binary, its progress
//! read from a pipe and from a real pseudo-terminal, `--config` running an
//! HTTP task, a function and a command for real (a local HTTP server, a
//! real program), and mocks that name no Task state (see issue 10).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

fn statecraft() -> Command {
    Command::new(env!("CARGO_BIN_EXE_statecraft"))
}

fn write(dir: &Path, name: &str, value: &Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, value.to_string()).expect("write a test file");
    path
}

/// A Parallel whose first branch (Thumbnail) fails while the second
/// (WebSize) is under way, caught by the Parallel; then a Map over 200
/// items, one at a time, two of which fail (tolerated).
fn workflow(dir: &Path) -> (PathBuf, PathBuf) {
    let definition = json!({
        "StartAt": "Resize",
        "States": {
            "Resize": {"Type": "Parallel", "Next": "Each",
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.resize", "Next": "Each"}],
                "Branches": [
                    {"StartAt": "Thumbnail", "States": {"Thumbnail": {"Type": "Task", "Resource": "arn:x:thumb", "End": true}}},
                    {"StartAt": "WebSize", "States": {"WebSize": {"Type": "Task", "Resource": "arn:x:web", "End": true}}}
                ]},
            "Each": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 1,
                "ToleratedFailurePercentage": 50, "ResultPath": null, "End": true,
                "ItemProcessor": {"StartAt": "Work", "States": {
                    "Work": {"Type": "Task", "Resource": "arn:x:work", "End": true}
                }}}
        }
    });
    // One response per iteration, in order (MaxConcurrency 1).
    let work: Vec<Value> = (0..200)
        .map(|i| {
            if i == 17 || i == 42 {
                json!({"Throw": {"Error": "Bad", "Cause": "item refused"}})
            } else {
                json!({"Return": {"ok": i}})
            }
        })
        .collect();
    let mocks = json!({
        "Thumbnail": [{"Throw": {"Error": "Convert.Failed", "Cause": "bad header"}}],
        "WebSize": [{"Return": {"ok": true}}],
        "Work": work,
    });
    let items: Vec<u32> = (0..200).collect();
    write(dir, "input.json", &json!({ "items": items }));
    (
        write(dir, "resize.asl.json", &definition),
        write(dir, "mocks.json", &mocks),
    )
}

fn run_args(definition: &Path, mocks: &Path, dir: &Path) -> Vec<String> {
    vec![
        "run".into(),
        definition.display().to_string(),
        "--mock".into(),
        mocks.display().to_string(),
        "--skip-waits".into(),
        "--input".into(),
        format!("@{}", dir.join("input.json").display()),
    ]
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// In a pipe: every line names its state with its branch, the caught
/// failure reads as caught, and the Map is one summary (not 800 lines)
/// listing the failed iterations by index.
#[test]
fn progress_in_a_pipe() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (definition, mocks) = workflow(dir.path());
    let out = statecraft()
        .args(run_args(&definition, &mocks, dir.path()))
        .stdin(Stdio::null())
        .output()
        .expect("run the binary");
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    let expected = [
        "→ Resize (Parallel)",
        "→ Resize[branch 0] › Thumbnail (Task)",
        "→ Resize[branch 1] › WebSize (Task)",
        "✗ Resize[branch 0] › Thumbnail: Convert.Failed: bad header",
        "⊘ Resize[branch 1] › WebSize: aborted",
        "→ Each (Map)",
        "◆ Each: 200 iterations: 198 succeeded, 2 failed",
        "    [17] ✗ Each[17] › Work: Bad: item refused",
        "    [42] ✗ Each[42] › Work: Bad: item refused",
        "✓ Each 0ms",
    ];
    // The caught Parallel, between the failure and the Map.
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("↪ Resize: caught Convert.Failed (")),
        "{stderr}"
    );
    assert!(
        lines.last().is_some_and(|l| l.starts_with("SUCCEEDED in ")),
        "{stderr}"
    );
    let without_caught: Vec<&str> = lines[..lines.len() - 1]
        .iter()
        .copied()
        .filter(|l| !l.starts_with("↪ Resize: caught"))
        .collect();
    assert_eq!(without_caught, expected, "{stderr}");
}

/// On a terminal: the Map's iterations are a bar, and the failures inside
/// them are printed with their iteration index.
#[test]
fn progress_on_a_terminal() {
    use portable_pty::{native_pty_system, CommandBuilder, PtySize};

    let dir = tempfile::tempdir().expect("tempdir");
    let (definition, mocks) = workflow(dir.path());
    let pty = native_pty_system()
        .openpty(PtySize {
            rows: 40,
            cols: 160,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("a pseudo-terminal");
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_statecraft"));
    cmd.args(run_args(&definition, &mocks, dir.path()));
    cmd.cwd(dir.path());
    let mut child = pty.slave.spawn_command(cmd).expect("spawn on the pty");
    // Only the child holds the terminal now: its exit ends the reads.
    drop(pty.slave);
    let mut reader = pty.master.try_clone_reader().expect("pty reader");
    let reading = std::thread::spawn(move || {
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        // A pty reports EIO once the child is gone: that is the end.
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            all.extend_from_slice(&buf[..n]);
        }
        all
    });
    let status = child.wait().expect("wait for the run");
    drop(pty.master);
    let raw = text(&reading.join().expect("reader thread"));
    assert!(status.success(), "{raw}");
    assert!(raw.contains("\x1b[K  Each ["), "no progress bar: {raw:?}");
    assert!(
        raw.contains("200/200"),
        "the bar never reached the end: {raw:?}"
    );
    // What the screen keeps: each line after the bar's last redraw.
    let lines: Vec<String> = raw
        .split('\n')
        .map(|l| {
            let l = l.trim_end_matches('\r');
            l.rsplit("\r\x1b[K").next().unwrap_or(l).to_owned()
        })
        .filter(|l| !l.is_empty())
        .collect();
    for expected in [
        "→ Resize[branch 0] › Thumbnail (Task)",
        "✗ Resize[branch 0] › Thumbnail: Convert.Failed: bad header",
        "✗ Each[17] › Work: Bad: item refused",
        "✗ Each[42] › Work: Bad: item refused",
        "◆ Each: 200 iterations: 198 succeeded, 2 failed",
    ] {
        assert!(
            lines.iter().any(|l| l == expected),
            "{expected:?} not in {lines:#?}"
        );
    }
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("↪ Resize: caught Convert.Failed")),
        "{lines:#?}"
    );
    assert!(
        !lines.iter().any(|l| l.contains("› Work (Task)")),
        "per-iteration lines on a terminal: {lines:#?}"
    );
}

/// A minimal HTTP/1.1 server on a free port: answers every request with
/// `{"path": <path>, "body": <request body>}` and records the paths.
fn http_server() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let path = request_line
                .split_whitespace()
                .nth(1)
                .unwrap_or("")
                .to_owned();
            let mut length = 0usize;
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = header.split_once(':') {
                    if k.eq_ignore_ascii_case("content-length") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
            }
            let mut body = vec![0u8; length];
            let _ = reader.read_exact(&mut body);
            let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            if let Ok(mut log) = log.lock() {
                log.push(path.clone());
            }
            let answer = json!({ "path": path, "body": body }).to_string();
            let mut stream = reader.into_inner();
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    (port, seen)
}

/// `--config`: an HTTP task, a function and a command really run; the
/// state with a mock is answered by the mock, not by its integration.
#[test]
fn config_runs_integrations_and_mocks_win() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (port, seen) = http_server();
    let definition = json!({
        "StartAt": "Call",
        "States": {
            "Call": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke",
                "Parameters": {"ApiEndpoint": format!("http://127.0.0.1:{port}/hello"), "Method": "POST",
                    "RequestBody": {"who": "http"}},
                "ResultSelector": {"path.$": "$.ResponseBody.path", "who.$": "$.ResponseBody.body.who"},
                "ResultPath": "$.http", "Next": "Fn"},
            "Fn": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "double", "Payload": {"n": 21}},
                "ResultSelector": {"path.$": "$.Payload.path", "n.$": "$.Payload.body.n"},
                "ResultPath": "$.function", "Next": "Cmd"},
            "Cmd": {"Type": "Task", "Resource": "arn:statecraft:command:echo",
                "Parameters": {"Args": ["{\"echoed\": 7}"]},
                "ResultSelector": {"exit.$": "$.ExitCode", "stdout.$": "$.Stdout"},
                "ResultPath": "$.command", "Next": "Mocked"},
            "Mocked": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke",
                "Parameters": {"ApiEndpoint": format!("http://127.0.0.1:{port}/never"), "Method": "GET"},
                "ResultPath": "$.mocked", "End": true}
        }
    });
    let definition = write(dir.path(), "flow.asl.json", &definition);
    let mocks = write(
        dir.path(),
        "mocks.json",
        &json!({"Mocked": [{"Return": {"from": "mock"}}]}),
    );
    let config = dir.path().join("statecraft.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[integrations.http]
allowed_hosts = ["127.0.0.1"]

[integrations.functions.double]
url = "http://127.0.0.1:{port}/functions/double"

[integrations.commands]
enabled = true

[integrations.commands.programs.echo]
program = "/bin/echo"
"#
        ),
    )
    .expect("config");
    let out: Output = statecraft()
        .arg("run")
        .arg(&definition)
        .arg("--config")
        .arg(&config)
        .arg("--mock")
        .arg(&mocks)
        .arg("--json")
        .stdin(Stdio::null())
        .output()
        .expect("run the binary");
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let result: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(result["status"], json!("SUCCEEDED"), "{result}");
    assert_eq!(
        result["output"],
        json!({
            "http": {"path": "/hello", "who": "http"},
            "function": {"path": "/functions/double", "n": 21},
            "command": {"exit": 0, "stdout": {"echoed": 7}},
            "mocked": {"from": "mock"}
        }),
        "{stderr}"
    );
    let seen = seen.lock().map(|s| s.clone()).unwrap_or_default();
    assert_eq!(seen, ["/hello", "/functions/double"]);
}

/// Without `--config` and without a mock, a task fails with a cause that
/// says how to answer it; a config that is not valid is refused (exit 2).
#[test]
fn without_config_or_mock_the_cause_says_what_to_do() {
    let dir = tempfile::tempdir().expect("tempdir");
    let definition = write(
        dir.path(),
        "one.asl.json",
        &json!({"StartAt": "Call", "States": {"Call": {"Type": "Task",
            "Resource": "arn:statecraft:command:echo", "End": true}}}),
    );
    let out = statecraft()
        .arg("run")
        .arg(&definition)
        .arg("--json")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let result: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(result["error"], json!("States.TaskFailed"));
    let cause = result["cause"].as_str().unwrap_or_default();
    assert!(
        cause.contains("--mock") && cause.contains("--config"),
        "{cause}"
    );

    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[integrations.htp]\n").expect("config");
    let out = statecraft()
        .arg("run")
        .arg(&definition)
        .arg("--config")
        .arg(&config)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("bad.toml") && stderr.contains("htp"),
        "{stderr}"
    );
}

/// A mock keyed by a name that is no Task state: a warning, and under
/// `--json` an error (exit 2, nothing on stdout).
#[test]
fn a_mock_for_no_task_state_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let definition = write(
        dir.path(),
        "pay.asl.json",
        &json!({"StartAt": "Charge", "States": {
            "Charge": {"Type": "Task", "Resource": "arn:x:charge", "Next": "Done"},
            "Done": {"Type": "Pass", "End": true}}}),
    );
    let mocks = write(
        dir.path(),
        "mocks.json",
        &json!({
            "Charge": [{"Return": {"ok": true}}],
            "Chrage": [{"Return": {"ok": false}}],
            "Done": [{"Return": {}}]
        }),
    );
    let out = statecraft()
        .arg("run")
        .arg(&definition)
        .arg("--mock")
        .arg(&mocks)
        .output()
        .expect("run");
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("statecraft run: warning: "))
        .collect();
    assert_eq!(warnings.len(), 2, "{stderr}");
    assert!(
        warnings[0].ends_with(
            "\"Chrage\" is not a state of the definition, so its responses are never used (its Task states: Charge)"
        ),
        "{stderr}"
    );
    assert!(
        warnings[1].ends_with("\"Done\" is a Pass state: only Task states are answered from mocks"),
        "{stderr}"
    );

    let out = statecraft()
        .arg("run")
        .arg(&definition)
        .arg("--mock")
        .arg(&mocks)
        .arg("--json")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("\"Chrage\" is not a state of the definition")
            && stderr.contains("with --json a mock that can never be used is an error"),
        "{stderr}"
    );
}

/// Under `--config`, a state's TimeoutSeconds cuts a real call short: the
/// program is stopped and the state fails with States.Timeout.
#[test]
fn config_honours_timeout_seconds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let definition = write(
        dir.path(),
        "nap.asl.json",
        &json!({"StartAt": "Nap", "States": {"Nap": {"Type": "Task",
            "Resource": "arn:statecraft:command:sleep", "Parameters": {"Args": ["30"]},
            "TimeoutSeconds": 1, "End": true}}}),
    );
    let config = dir.path().join("statecraft.toml");
    std::fs::write(
        &config,
        "[integrations.commands]\nenabled = true\n[integrations.commands.programs.sleep]\nprogram = \"/bin/sleep\"\n",
    )
    .expect("config");
    let out = statecraft()
        .arg("run")
        .arg(&definition)
        .arg("--config")
        .arg(&config)
        .arg("--json")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let result: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    // Had the call been awaited to its end, the task would have succeeded
    // (an answer is handled before a timer).
    assert_eq!(result["error"], json!("States.Timeout"), "{result}");
}
