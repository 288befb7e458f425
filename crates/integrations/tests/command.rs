//! Command tasks with real programs: argv without a shell, exit codes,
//! JSON stdout, stdin, timeouts, argument allow-lists, a cleared
//! environment and killing on cancellation.

mod common;

use std::time::Duration;

use common::{config, failed, run, succeeded};
use serde_json::{json, Value};

/// The test config may list a shell (to make a program fail on purpose);
/// the integration itself never runs one.
fn commands(dir: &str) -> statecraft_integrations::IntegrationsConfig {
    config(&format!(
        r#"
        [integrations.commands]
        enabled = true
        [integrations.commands.programs.echo]
        program = "/bin/echo"
        [integrations.commands.programs.fail]
        program = "/bin/sh"
        args = ["-c", "echo 'cannot decode input.mp4' >&2; exit 3"]
        [integrations.commands.programs.transcode]
        program = "/bin/sh"
        args = ["-c", "exit 1", "sh"]
        error = "Transcode.Failed"
        [integrations.commands.programs.cat]
        program = "/bin/cat"
        [integrations.commands.programs.env]
        program = "/usr/bin/env"
        env = {{ MODE = "test" }}
        inherit_path = false
        [integrations.commands.programs.pwd]
        program = "/bin/pwd"
        working_dir = "{dir}"
        [integrations.commands.programs.slow]
        program = "/bin/sleep"
        timeout_seconds = 1
        [integrations.commands.programs.restricted]
        program = "/bin/echo"
        allowed_args = ["-n", "/data/*"]
        [integrations.commands.programs.chatty]
        program = "/bin/sh"
        args = ["-c", "yes | head -c 100000"]
        max_output_bytes = 1000
        [integrations.commands.programs.killed]
        program = "/bin/sh"
        args = ["-c", "kill -9 $$"]
        [integrations.commands.programs.pidfile]
        program = "/bin/sh"
        args = ["-c", "echo $$ > \"$0\"; exec sleep 30"]
        "#
    ))
}

const ARN: &str = "arn:statecraft:command:";

fn tmp_dir() -> String {
    let dir = std::env::temp_dir().join(format!("statecraft-cmd-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    dir.to_string_lossy().into_owned()
}

#[tokio::test]
async fn runs_a_program_with_argv_and_no_shell() {
    let reg = common::registry(&commands(&tmp_dir()), None);
    let out = succeeded(
        run(
            &reg,
            &format!("{ARN}echo"),
            json!({"Args": ["$(id)", ";", "rm", "-rf", "*", 3]}),
        )
        .await,
    );
    assert_eq!(
        out,
        json!({"ExitCode": 0, "Stdout": "$(id) ; rm -rf * 3\n", "Stderr": ""})
    );
}

#[tokio::test]
async fn json_stdout_is_parsed() {
    let reg = common::registry(&commands(&tmp_dir()), None);
    let out = succeeded(
        run(
            &reg,
            &format!("{ARN}echo"),
            json!({"Args": ["{\"width\": 640, \"ok\": true}"]}),
        )
        .await,
    );
    assert_eq!(out["Stdout"], json!({"width": 640, "ok": true}));
}

#[tokio::test]
async fn non_zero_exit_fails_with_stderr_in_the_cause() {
    let reg = common::registry(&commands(&tmp_dir()), None);
    let f = failed(run(&reg, &format!("{ARN}fail"), json!({})).await);
    assert_eq!(f.error, "Command.Failed");
    let cause: Value = serde_json::from_str(&f.cause).unwrap_or(Value::Null);
    assert_eq!(
        cause,
        json!({"ExitCode": 3, "Stderr": "cannot decode input.mp4\n"})
    );
    let f = failed(run(&reg, &format!("{ARN}transcode"), json!({})).await);
    assert_eq!(f.error, "Transcode.Failed");
}

#[tokio::test]
async fn output_is_capped_and_signals_are_failures() {
    let reg = common::registry(&commands(&tmp_dir()), None);
    let out = succeeded(run(&reg, &format!("{ARN}chatty"), json!({})).await);
    assert_eq!(out["Stdout"].as_str().map(str::len), Some(1000));
    assert_eq!(out["StdoutTruncated"], true);
    let f = failed(run(&reg, &format!("{ARN}killed"), json!({})).await);
    assert_eq!(f.error, "Command.Failed");
    let cause: Value = serde_json::from_str(&f.cause).unwrap_or(Value::Null);
    assert_eq!(cause, json!({"ExitCode": null, "Stderr": "", "Signal": 9}));
}

#[tokio::test]
async fn stdin_environment_and_working_directory() {
    let dir = tmp_dir();
    let reg = common::registry(&commands(&dir), None);
    let out = succeeded(run(&reg, &format!("{ARN}cat"), json!({"Stdin": "frame data"})).await);
    assert_eq!(out["Stdout"], "frame data");
    let out = succeeded(run(&reg, &format!("{ARN}cat"), json!({"Stdin": {"a": 1}})).await);
    assert_eq!(out["Stdout"], json!({"a": 1}));
    // Only the configured variables: nothing of the server's environment.
    let out = succeeded(run(&reg, &format!("{ARN}env"), json!({})).await);
    assert_eq!(out["Stdout"], "MODE=test\n");
    let out = succeeded(run(&reg, &format!("{ARN}pwd"), json!({})).await);
    let pwd = out["Stdout"].as_str().unwrap_or_default().trim().to_owned();
    assert_eq!(
        std::fs::canonicalize(&pwd).ok(),
        std::fs::canonicalize(&dir).ok()
    );
}

#[tokio::test]
async fn timeouts_allow_lists_and_unknown_commands() {
    let reg = common::registry(&commands(&tmp_dir()), None);
    let f = failed(run(&reg, &format!("{ARN}slow"), json!({"Args": ["10"]})).await);
    assert_eq!(f.error, "Command.Timeout");
    let out = succeeded(
        run(
            &reg,
            &format!("{ARN}restricted"),
            json!({"Args": ["-n", "/data/in.png"]}),
        )
        .await,
    );
    assert_eq!(out["Stdout"], "/data/in.png");
    let f = failed(
        run(
            &reg,
            &format!("{ARN}restricted"),
            json!({"Args": ["/etc/passwd"]}),
        )
        .await,
    );
    assert_eq!(f.error, "Command.ArgumentNotAllowed");
    // See issue 14: the prefix matched the text, so `..` walked out of it.
    for escape in [
        "/data/../etc/passwd",
        "/data/x/../../etc/passwd",
        "/data/./../etc",
    ] {
        let f = failed(run(&reg, &format!("{ARN}restricted"), json!({"Args": [escape]})).await);
        assert_eq!(f.error, "Command.ArgumentNotAllowed", "{escape}");
        assert!(f.cause.contains(escape), "{}", f.cause);
    }
    let f = failed(run(&reg, &format!("{ARN}rm"), json!({})).await);
    assert_eq!(f.error, "Command.NotFound");
    let f = failed(run(&reg, &format!("{ARN}echo"), json!({"Args": "a b"})).await);
    assert_eq!(f.error, "Statecraft.InvalidParameters");
}

#[tokio::test]
async fn disabled_commands_are_not_handled() {
    let mut cfg = commands(&tmp_dir());
    cfg.commands.enabled = false;
    let reg = common::registry(&cfg, None);
    assert!(reg.find(&format!("{ARN}echo")).is_none());
}

#[tokio::test]
async fn cancelling_the_task_kills_the_program() {
    let dir = tmp_dir();
    let pidfile = format!("{dir}/pid-{}", std::process::id());
    let _ = std::fs::remove_file(&pidfile);
    let reg = common::registry(&commands(&dir), None);
    let resource = format!("{ARN}pidfile");
    let task = run(&reg, &resource, json!({"Args": [pidfile.clone()]}));
    // Dropping the future is how the runtime cancels a task.
    let cancelled = tokio::time::timeout(Duration::from_millis(700), task).await;
    assert!(
        cancelled.is_err(),
        "the program should still have been running"
    );
    let pid = std::fs::read_to_string(&pidfile).unwrap_or_default();
    let pid = pid.trim();
    assert!(!pid.is_empty(), "the program wrote no pid");
    // Give the kill a moment; then the process is gone (or a reaped-soon zombie).
    let mut alive = true;
    for _ in 0..50 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        if stat.is_empty() || stat.contains(") Z ") {
            alive = false;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!alive, "process {pid} survived the cancellation");
}
