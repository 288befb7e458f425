//! Durable-execution throughput of the runtime over the SQLite store.
//!
//! Runs N executions of the 10-state chain (`tests/data/bench-workloads/
//! chain10.json`) through `Runtime::start_execution` with C in flight, on a
//! fresh store in a temporary directory, and prints executions/s, durable
//! state transitions/s, start latency and the group-commit batch sizes;
//! then runs StartSyncExecution of the same chain on an EXPRESS machine and
//! prints its latency percentiles.
//!
//! `cargo bench -p statecraft-runtime --bench durable`; tune with the
//! environment: `BENCH_EXECUTIONS` (20000), `BENCH_CONCURRENCY` (256),
//! `BENCH_SYNC` (20000 sync runs), `BENCH_DURABILITY` (`full` | `normal`),
//! `BENCH_WORKLOAD` (path of a workload JSON), `BENCH_DATA_DIR` (keep the
//! database there instead of a temporary directory), `BENCH_STORE` (a
//! `postgres://…` URL of an empty database: the PostgreSQL store instead of
//! SQLite).

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use statecraft_runtime::{ExecutionStatus, Options, Runtime, StartExecution};
use statecraft_store::{Durability, MachineType, Revision};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Workload {
    definition: Value,
    cases: Vec<(Value, Value)>,
    transitions: usize,
}

fn load_workload() -> Result<Workload, String> {
    let path = std::env::var("BENCH_WORKLOAD")
        .map(PathBuf::from)
        .unwrap_or_else(|_| statecraft_testdata::bench_workload("chain10"));
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let w: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let cases = w["cases"]
        .as_array()
        .ok_or("workload has no cases")?
        .iter()
        .map(|c| (c["input"].clone(), c["expected_output"].clone()))
        .collect::<Vec<_>>();
    if cases.is_empty() {
        return Err("workload has no cases".into());
    }
    Ok(Workload {
        definition: w["definition"].clone(),
        cases,
        transitions: w["state_transitions"].as_u64().unwrap_or(10) as usize,
    })
}

async fn create(rt: &Runtime, name: &str, definition: &Value, t: MachineType) -> String {
    let arn = format!("arn:aws:states:us-east-1:123456789012:stateMachine:{name}");
    rt.store()
        .create_state_machine(
            name.into(),
            t,
            Revision {
                revision_id: format!("rev-{name}"),
                state_machine_arn: arn.clone(),
                definition: definition.to_string(),
                role_arn: "arn:aws:iam::123456789012:role/bench".into(),
                description: None,
                logging_configuration: None,
                tracing_configuration: None,
                created_ms: 0,
            },
            0,
        )
        .await
        .expect("create state machine");
    arn
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn main() {
    let workload = match load_workload() {
        Ok(w) => Arc::new(w),
        Err(e) => {
            eprintln!("durable bench: {e}");
            std::process::exit(2);
        }
    };
    let executions = env_usize("BENCH_EXECUTIONS", 20_000);
    let concurrency = env_usize("BENCH_CONCURRENCY", 256).max(1);
    let sync_runs = env_usize("BENCH_SYNC", 20_000);
    let durability = match std::env::var("BENCH_DURABILITY").as_deref() {
        Ok("normal") => Durability::Normal,
        _ => Durability::Full,
    };

    let tokio_rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    tokio_rt.block_on(async move {
        let dir = tempfile::tempdir().expect("temp dir");
        // BENCH_DATA_DIR keeps the database for inspection.
        let data_dir = std::env::var("BENCH_DATA_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| dir.path().to_path_buf());
        let mut options = Options::new(&data_dir);
        options.durability = durability;
        options.store_url = std::env::var("BENCH_STORE").ok();
        let store_name = if options.store_url.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        };
        let rt = Runtime::open(options).await.expect("open runtime");
        let standard = create(&rt, "chain", &workload.definition, MachineType::Standard).await;
        let express = create(
            &rt,
            "chain-express",
            &workload.definition,
            MachineType::Express,
        )
        .await;

        // ---- durable executions, closed loop with `concurrency` in flight
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let before = rt.store().commit_stats();
        let mut workers = Vec::new();
        for _ in 0..concurrency {
            let rt = rt.clone();
            let next = Arc::clone(&next);
            let standard = standard.clone();
            let workload = Arc::clone(&workload);
            workers.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut arns = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= executions {
                        return (latencies, arns);
                    }
                    let (input, _) = &workload.cases[i % workload.cases.len()];
                    let t = Instant::now();
                    let r = rt
                        .start_execution(StartExecution {
                            target_arn: standard.clone(),
                            name: Some(format!("e{i}")),
                            input: Some(input.to_string()),
                            trace_header: None,
                        })
                        .await
                        .expect("start execution");
                    latencies.push(t.elapsed());
                    arns.push((i, r.execution_arn));
                }
            }));
        }
        let mut latencies = Vec::new();
        let mut arns = Vec::new();
        for w in workers {
            let (l, a) = w.await.expect("worker");
            latencies.extend(l);
            arns.extend(a);
        }
        let mut elapsed = started.elapsed();
        // chain10 finishes inside its start step, which start_execution has
        // committed before returning; so the clock stops here, and the
        // checks below are not timed. If some execution were still running
        // (a workload with waits), the clock would run until it finished.
        let mut wrong = 0usize;
        for (i, arn) in &arns {
            let mut e = rt.describe_execution(arn).expect("describe");
            if e.state.status == ExecutionStatus::Running {
                e = rt.wait_for_completion(arn).await.expect("wait");
                elapsed = elapsed.max(started.elapsed());
            }
            let (_, expected) = &workload.cases[i % workload.cases.len()];
            let output: Option<Value> = e
                .state
                .output
                .as_deref()
                .and_then(|o| serde_json::from_str(o).ok());
            if e.state.status != ExecutionStatus::Succeeded || output.as_ref() != Some(expected) {
                wrong += 1;
            }
        }
        let after = rt.store().commit_stats();
        latencies.sort();
        let secs = elapsed.as_secs_f64();
        let batches = after.batches - before.batches;
        let writes = after.writes - before.writes;
        println!(
            "durable chain ({store_name}, {durability:?} sync, {executions} executions, {concurrency} in flight)"
        );
        println!(
            "  executions/s:                  {:.0}",
            executions as f64 / secs
        );
        println!(
            "  durable state transitions/s:   {:.0}",
            (executions * workload.transitions) as f64 / secs
        );
        println!(
            "  start latency p50/p99:         {:.2} ms / {:.2} ms",
            percentile(&latencies, 0.5).as_secs_f64() * 1e3,
            percentile(&latencies, 0.99).as_secs_f64() * 1e3
        );
        println!(
            "  commits: {batches} transactions for {writes} writes, mean batch {:.1}, max batch {}",
            writes as f64 / batches.max(1) as f64,
            after.max_batch
        );
        println!("  wrong or failed executions:    {wrong}");

        // ---- StartSyncExecution, one caller, sequential
        let mut sync_lat = Vec::with_capacity(sync_runs);
        let sync_started = Instant::now();
        for i in 0..sync_runs {
            let (input, _) = &workload.cases[i % workload.cases.len()];
            let t = Instant::now();
            let r = rt
                .start_sync_execution(StartExecution {
                    target_arn: express.clone(),
                    name: None,
                    input: Some(input.to_string()),
                    trace_header: None,
                })
                .await
                .expect("sync execution");
            sync_lat.push(t.elapsed());
            assert_eq!(r.status, statecraft_runtime::SyncStatus::Succeeded);
        }
        let sync_secs = sync_started.elapsed().as_secs_f64();
        sync_lat.sort();
        println!("sync express chain ({sync_runs} runs, sequential, in-process)");
        println!(
            "  executions/s:                  {:.0}",
            sync_runs as f64 / sync_secs
        );
        println!(
            "  latency p50/p99/max:           {:.1} us / {:.1} us / {:.1} us",
            percentile(&sync_lat, 0.5).as_secs_f64() * 1e6,
            percentile(&sync_lat, 0.99).as_secs_f64() * 1e6,
            sync_lat.last().copied().unwrap_or_default().as_secs_f64() * 1e6
        );
        rt.shutdown(Duration::from_secs(10)).await;
    });
}
