//! `statecraft-bench`: drives any AWS Step Functions-compatible endpoint
//! through its API (AWS JSON 1.0) with many concurrent executions and prints
//! one JSON line per run: executions/s, state transitions/s, latency
//! percentiles, failures and wrong outputs (every output is checked against
//! the workload's expected output).
//!
//! Closed loop: `--concurrency` workers each start an execution and wait for
//! it to end, then start the next. Standard executions are followed with
//! `DescribeExecution` polls (1 ms apart, rising to 20 ms); `--sync` creates
//! an EXPRESS machine and uses `StartSyncExecution`, one call per execution.
//!
//! Workloads are the files of `tests/data/bench-workloads` (or any file with
//! the same shape: `definition`, `cases` with `input`/`expected_output`,
//! `state_transitions`).
//!
//! ```sh
//! statecraft-bench --endpoint http://127.0.0.1:8083 --workload chain10 --executions 2000 --concurrency 64
//! statecraft-bench --endpoint http://127.0.0.1:8083 --workload chain10 --sync --concurrency 1
//! ```

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::{json, Value};

#[derive(Parser, Debug, Clone)]
#[command(
    name = "statecraft-bench",
    about = "Load generator for Step Functions-compatible endpoints"
)]
struct Args {
    /// The endpoint, e.g. http://127.0.0.1:8083
    #[arg(long, default_value = "http://127.0.0.1:8083")]
    endpoint: String,
    /// A workload name from tests/data/bench-workloads, or a path to a workload file.
    #[arg(long, default_value = "chain10")]
    workload: String,
    /// Executions to run (after the warm-up).
    #[arg(long, default_value_t = 1000)]
    executions: usize,
    /// Executions in flight at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// EXPRESS machine and StartSyncExecution instead of StartExecution + polling.
    #[arg(long)]
    sync: bool,
    /// Executions run first and not measured.
    #[arg(long, default_value_t = 50)]
    warmup: usize,
    /// A label to put in the output line.
    #[arg(long)]
    label: Option<String>,
}

/// One workload file.
struct Workload {
    name: String,
    definition: Value,
    cases: Vec<(Value, Value)>,
    transitions: f64,
}

#[derive(Debug)]
enum Error {
    Setup(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Setup(m) => f.write_str(m),
        }
    }
}

fn load_workload(arg: &str) -> Result<Workload, Error> {
    let path = if arg.ends_with(".json") {
        PathBuf::from(arg)
    } else {
        statecraft_testdata::root().join(format!("bench-workloads/{arg}.json"))
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Error::Setup(format!("cannot read {}: {e}", path.display())))?;
    let doc: Value = serde_json::from_str(&text)
        .map_err(|e| Error::Setup(format!("{} is not JSON: {e}", path.display())))?;
    let cases = doc["cases"]
        .as_array()
        .ok_or_else(|| Error::Setup(format!("{}: no `cases` array", path.display())))?
        .iter()
        .map(|c| (c["input"].clone(), c["expected_output"].clone()))
        .collect::<Vec<_>>();
    if cases.is_empty() {
        return Err(Error::Setup(format!(
            "{}: `cases` is empty",
            path.display()
        )));
    }
    Ok(Workload {
        name: doc["name"].as_str().unwrap_or(arg).to_owned(),
        definition: doc["definition"].clone(),
        cases,
        transitions: doc["state_transitions"].as_f64().unwrap_or(0.0),
    })
}

/// A minimal AWS JSON 1.0 client: no signing is needed for local endpoints,
/// but a dummy Authorization header is sent for servers that require one.
#[derive(Clone)]
struct Client {
    http: reqwest::Client,
    endpoint: String,
}

impl Client {
    async fn call(&self, op: &str, body: &Value) -> Result<Value, String> {
        let resp = self
            .http
            .post(&self.endpoint)
            .header("Content-Type", "application/x-amz-json-1.0")
            .header("X-Amz-Target", format!("AWSStepFunctions.{op}"))
            .header(
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/states/aws4_request, SignedHeaders=host, Signature=0",
            )
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| format!("{op}: {e}"))?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| format!("{op}: {e}"))?;
        let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if status.is_success() {
            Ok(v)
        } else {
            Err(format!("{op}: HTTP {status}: {v}"))
        }
    }
}

/// Execution names are unique per process run.
static NAMES: AtomicUsize = AtomicUsize::new(0);

#[derive(Default)]
struct Tally {
    failures: AtomicUsize,
    wrong_outputs: AtomicUsize,
    api_errors: AtomicUsize,
}

async fn one_execution(
    client: &Client,
    machine_arn: &str,
    sync: bool,
    input: &Value,
    expected: &Value,
    tally: &Tally,
) -> Duration {
    let started = Instant::now();
    // Always named: some peers cannot generate names themselves.
    let name = format!(
        "x{}-{}",
        NAMES.fetch_add(1, Ordering::Relaxed),
        std::process::id()
    );
    let request = json!({"stateMachineArn": machine_arn, "input": input.to_string(), "name": name});
    let end = if sync {
        client.call("StartSyncExecution", &request).await
    } else {
        match client.call("StartExecution", &request).await {
            Ok(v) => {
                let arn = v["executionArn"].as_str().unwrap_or_default().to_owned();
                let mut pause = Duration::from_millis(1);
                loop {
                    tokio::time::sleep(pause).await;
                    match client
                        .call("DescribeExecution", &json!({"executionArn": arn}))
                        .await
                    {
                        Ok(d) if d["status"] == "RUNNING" => {
                            pause = (pause * 2).min(Duration::from_millis(20))
                        }
                        other => break other,
                    }
                }
            }
            Err(e) => Err(e),
        }
    };
    match end {
        Ok(d) if d["status"] == "SUCCEEDED" => {
            let output: Value = d["output"]
                .as_str()
                .and_then(|s| serde_json::from_str(s).ok())
                .unwrap_or(Value::Null);
            if &output != expected {
                tally.wrong_outputs.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(_) => {
            tally.failures.fetch_add(1, Ordering::Relaxed);
        }
        Err(e) => {
            if tally.api_errors.fetch_add(1, Ordering::Relaxed) < 3 {
                eprintln!("statecraft-bench: {e}");
            }
        }
    }
    started.elapsed()
}

async fn run_batch(
    client: &Client,
    machine_arn: &str,
    workload: &Arc<Workload>,
    args: &Args,
    count: usize,
    tally: &Arc<Tally>,
) -> Vec<Duration> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..args.concurrency.max(1) {
        let (client, arn, workload, next, tally) = (
            client.clone(),
            machine_arn.to_owned(),
            workload.clone(),
            next.clone(),
            tally.clone(),
        );
        let sync = args.sync;
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    break latencies;
                }
                let (input, expected) = &workload.cases[i % workload.cases.len()];
                latencies.push(one_execution(&client, &arn, sync, input, expected, &tally).await);
            }
        }));
    }
    let mut all = Vec::with_capacity(count);
    for w in workers {
        if let Ok(mut l) = w.await {
            all.append(&mut l);
        }
    }
    all
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

async fn bench(args: Args) -> Result<Value, Error> {
    let workload = Arc::new(load_workload(&args.workload)?);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency.max(1))
        .build()
        .map_err(|e| Error::Setup(e.to_string()))?;
    let client = Client {
        http,
        endpoint: args.endpoint.clone(),
    };
    let kind = if args.sync { "EXPRESS" } else { "STANDARD" };
    let name = format!(
        "bench-{}-{}-{}",
        workload.name,
        kind.to_lowercase(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0)
    );
    let created = client
        .call(
            "CreateStateMachine",
            &json!({
                "name": name,
                "definition": workload.definition.to_string(),
                "roleArn": "arn:aws:iam::123456789012:role/statecraft-bench",
                "type": kind,
            }),
        )
        .await
        .map_err(Error::Setup)?;
    let arn = created["stateMachineArn"]
        .as_str()
        .ok_or_else(|| Error::Setup(format!("CreateStateMachine answered {created}")))?
        .to_owned();

    let warm = Arc::new(Tally::default());
    run_batch(&client, &arn, &workload, &args, args.warmup, &warm).await;

    let tally = Arc::new(Tally::default());
    let started = Instant::now();
    let mut latencies = run_batch(&client, &arn, &workload, &args, args.executions, &tally).await;
    let wall = started.elapsed().as_secs_f64();
    latencies.sort();
    let per_s = latencies.len() as f64 / wall.max(1e-9);
    Ok(json!({
        "tool": "statecraft-bench",
        "label": args.label,
        "endpoint": args.endpoint,
        "workload": workload.name,
        "mode": if args.sync { "sync" } else { "poll" },
        "executions": latencies.len(),
        "concurrency": args.concurrency,
        "executions_per_s": (per_s * 10.0).round() / 10.0,
        "state_transitions_per_s": (per_s * workload.transitions).round(),
        "latency_ms": {
            "p50": percentile(&latencies, 0.50),
            "p95": percentile(&latencies, 0.95),
            "p99": percentile(&latencies, 0.99),
            "max": percentile(&latencies, 1.0),
        },
        "wall_s": wall,
        "failures": tally.failures.load(Ordering::Relaxed),
        "wrong_outputs": tally.wrong_outputs.load(Ordering::Relaxed),
        "api_errors": tally.api_errors.load(Ordering::Relaxed),
    }))
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("statecraft-bench: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match runtime.block_on(bench(args)) {
        Ok(line) => {
            println!("{line}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("statecraft-bench: {e}");
            std::process::ExitCode::from(2)
        }
    }
}
