//! `statecraft executions pause|resume|restart|fail`: an operator's
//! actions on one execution of a running server, sent as the server's
//! `Statecraft.*` operations (AWS JSON 1.0: `POST /` with `X-Amz-Target`).

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use serde_json::{json, Value};

/// The server the commands talk to when `--endpoint` is not given.
const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:8083";

#[derive(Parser)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

/// Options every action takes.
#[derive(Parser)]
struct Target {
    /// The execution's ARN.
    execution_arn: String,
    /// The server's URL.
    #[arg(long, env = "STATECRAFT_ENDPOINT", default_value = DEFAULT_ENDPOINT)]
    endpoint: String,
}

#[derive(Subcommand)]
enum Action {
    /// Hold a running execution: no new transition until it is resumed.
    Pause(Target),
    /// Let a paused execution go on (after a pause on failure: run the failed state again).
    Resume(Target),
    /// Continue a finished execution from a top-level state.
    Restart {
        #[command(flatten)]
        target: Target,
        /// The top-level state to continue from.
        #[arg(long)]
        from_state: String,
        /// The state's input: JSON text, or @FILE to read it from a file.
        /// Without it, the input the state received last time.
        #[arg(long)]
        input: Option<String>,
        /// Run another revision of the machine: a version ARN, the state
        /// machine's ARN (its current definition) or a revision id.
        #[arg(long)]
        definition: Option<String>,
    },
    /// Let an execution paused on failure fail as it would have.
    Fail(Target),
}

pub fn main(args: Args) -> ExitCode {
    let (op, target, body) = match request(args.action) {
        Ok(r) => r,
        Err(message) => {
            eprintln!("statecraft executions: {message}");
            return ExitCode::from(2);
        }
    };
    match call(&target.endpoint, op, &body) {
        Ok(v) => {
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Err(Failure::Refused(kind, message)) => {
            eprintln!("statecraft executions {}: {kind}: {message}", verb(op));
            ExitCode::from(1)
        }
        Err(Failure::Unreachable(message)) => {
            eprintln!("statecraft executions {}: {message}", verb(op));
            ExitCode::from(2)
        }
    }
}

fn verb(op: &str) -> &str {
    match op {
        "PauseExecution" => "pause",
        "ResumeExecution" => "resume",
        "RestartExecution" => "restart",
        _ => "fail",
    }
}

/// The operation, the target and the request body; the input is checked
/// here, so a typo is caught before anything is sent.
fn request(action: Action) -> Result<(&'static str, Target, Value), String> {
    Ok(match action {
        Action::Pause(t) => {
            let body = json!({"executionArn": t.execution_arn});
            ("PauseExecution", t, body)
        }
        Action::Resume(t) => {
            let body = json!({"executionArn": t.execution_arn});
            ("ResumeExecution", t, body)
        }
        Action::Fail(t) => {
            let body = json!({"executionArn": t.execution_arn});
            ("FailExecution", t, body)
        }
        Action::Restart {
            target,
            from_state,
            input,
            definition,
        } => {
            let mut body = json!({"executionArn": target.execution_arn, "fromState": from_state});
            if let Some(input) = input {
                body["input"] = Value::String(input_text(&input)?);
            }
            if let Some(d) = definition {
                body["definition"] = Value::String(d);
            }
            ("RestartExecution", target, body)
        }
    })
}

/// `--input`: JSON text, or `@FILE`; must parse as JSON.
fn input_text(arg: &str) -> Result<String, String> {
    let (text, source) = match arg.strip_prefix('@') {
        Some(path) => (
            std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read --input file {path}: {e}"))?,
            format!("the file {path}"),
        ),
        None => (arg.to_string(), "--input".to_string()),
    };
    serde_json::from_str::<Value>(&text).map_err(|e| format!("{source} is not valid JSON: {e}"))?;
    Ok(text)
}

enum Failure {
    /// The server answered with an error (`__type`, message).
    Refused(String, String),
    /// No answer.
    Unreachable(String),
}

fn call(endpoint: &str, op: &str, body: &Value) -> Result<Value, Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Unreachable(e.to_string()))?;
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| Failure::Unreachable(e.to_string()))?;
        let response = client
            .post(endpoint)
            .header("Content-Type", "application/x-amz-json-1.0")
            .header("X-Amz-Target", format!("Statecraft.{op}"))
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| Failure::Unreachable(format!("cannot reach {endpoint}: {e}")))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| Failure::Unreachable(format!("no answer from {endpoint}: {e}")))?;
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if status.is_success() {
            return Ok(v);
        }
        let kind = v["__type"].as_str().unwrap_or("HTTP error").to_string();
        let message = v["message"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("HTTP {status}"));
        Err(Failure::Refused(kind, message))
    })
}
