//! Memory under load (issue 17): what executions waiting on timers cost.
//!
//! Starts N executions (100,000) of a machine whose first state is a Wait
//! of 600 s, on the embedded SQLite store in a temporary directory, C at a
//! time, waits until every one is waiting with no actor (or, with a long
//! `BENCH_PASSIVATE_AFTER_MS`, with its actor: the design before
//! passivation), and prints the process's resident memory (VmRSS from
//! /proc/self/status) before and after and the difference per waiting
//! execution. The executions stay RUNNING in the store; the process exits
//! without waiting for their timers.
//!
//! `cargo bench -p statecraft-runtime --bench waiting_memory`; tune with the
//! environment: `BENCH_EXECUTIONS` (100000), `BENCH_CONCURRENCY` (256),
//! `BENCH_WAIT_SECONDS` (600; 0 is a baseline: the executions end in their
//! start step, so what remains is what the store and the allocator keep of
//! the work), `BENCH_PASSIVATE_AFTER_MS` (0: actors end as soon as they are
//! idle), `BENCH_LEASE_MS` (the lease, 10,000 by default: renewed every
//! third of it, in one statement over every execution this node holds),
//! `BENCH_DATA_DIR` (keep the database there).

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use statecraft_runtime::{Options, Runtime, StartExecution};
use statecraft_store::{MachineType, Revision};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A line of /proc/self/status in KiB (`VmRSS`, `RssAnon`, `RssFile`,
/// `RssShmem`).
fn status_kib(field: &str) -> Result<u64, String> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| format!("cannot read /proc/self/status: {e}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("no {field} line in /proc/self/status"))
}

fn rss_kib() -> Result<u64, String> {
    status_kib("VmRSS")
}

/// Resident memory by kind: anonymous (the heap: what the runtime holds),
/// file (SQLite's mapped pages) and shared (SQLite's WAL index).
fn breakdown() -> Result<String, String> {
    Ok(format!(
        "anonymous {:.1} MiB, file {:.1} MiB, shared {:.1} MiB",
        mib(status_kib("RssAnon")?),
        mib(status_kib("RssFile")?),
        mib(status_kib("RssShmem")?)
    ))
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

async fn run() -> Result<(), String> {
    let n = env_u64("BENCH_EXECUTIONS", 100_000) as usize;
    let concurrency = env_u64("BENCH_CONCURRENCY", 256) as usize;
    let wait = env_u64("BENCH_WAIT_SECONDS", 600);
    let passivate_after = Duration::from_millis(env_u64("BENCH_PASSIVATE_AFTER_MS", 0));
    let temp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dir = std::env::var("BENCH_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| temp.path().to_path_buf());
    let mut options = Options::new(&dir);
    options.passivate_after = passivate_after;
    if let Some(ms) = std::env::var("BENCH_LEASE_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        options.lease = Duration::from_millis(ms);
    }
    let rt = Runtime::open(options).await.map_err(|e| e.to_string())?;
    let machine = "arn:aws:states:us-east-1:123456789012:stateMachine:waiting";
    rt.store()
        .create_state_machine(
            "waiting".into(),
            MachineType::Standard,
            Revision {
                revision_id: "rev-waiting".into(),
                state_machine_arn: machine.into(),
                definition: json!({
                    "StartAt": "Wait",
                    "States": {
                        "Wait": {"Type": "Wait", "Seconds": wait, "Next": "Done"},
                        "Done": {"Type": "Pass", "End": true}
                    }
                })
                .to_string(),
                role_arn: "arn:aws:iam::123456789012:role/r".into(),
                description: None,
                logging_configuration: None,
                tracing_configuration: None,
                created_ms: 0,
            },
            0,
        )
        .await
        .map_err(|e| e.to_string())?;
    // One execution first, so that what every execution shares (the
    // prepared machine, the store's statements) is in the baseline.
    rt.start_execution(StartExecution {
        target_arn: machine.into(),
        name: Some("warm-up".into()),
        input: None,
        trace_header: None,
    })
    .await
    .map_err(|e| e.to_string())?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = rss_kib()?;
    println!(
        "waiting_memory: {n} executions of a {wait} s Wait, {concurrency} starts in flight, passivate after {} ms, data in {}",
        passivate_after.as_millis(),
        dir.display()
    );
    let anon_before = status_kib("RssAnon")?;
    println!("VmRSS before: {:.1} MiB ({})", mib(before), breakdown()?);

    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let rt = rt.clone();
        let next = Arc::clone(&next);
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return Ok::<(), String>(());
                }
                rt.start_execution(StartExecution {
                    target_arn: machine.into(),
                    name: Some(format!("waiting-{i:08}")),
                    input: Some(json!({"i": i}).to_string()),
                    trace_header: None,
                })
                .await
                .map_err(|e| format!("start {i}: {e}"))?;
            }
        }));
    }
    for w in workers {
        w.await.map_err(|e| e.to_string())??;
    }
    let elapsed = started.elapsed();
    println!(
        "started {n} in {:.1} s ({:.0} starts/s)",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64()
    );
    // Every execution waiting: passivated, or (with a long passivation
    // delay) held by its actor.
    let expect_actors = !passivate_after.is_zero() && passivate_after > Duration::from_secs(60);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (active, passive) = (rt.active_executions(), rt.passive_executions());
        let done = if wait == 0 {
            // The baseline: every execution ended in its start step.
            active == 0
        } else if expect_actors {
            active == n + 1
        } else {
            active == 0 && passive == n + 1
        };
        if done {
            println!("waiting: {active} with an actor, {passive} passivated");
            break;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "not all waiting after 120 s: {active} with an actor, {passive} passivated"
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_kib()?;
    let anon_after = status_kib("RssAnon")?;
    let per = (after.saturating_sub(before) as f64 * 1024.0) / n as f64;
    let per_anon = (anon_after.saturating_sub(anon_before) as f64 * 1024.0) / n as f64;
    println!("VmRSS after:  {:.1} MiB ({})", mib(after), breakdown()?);
    println!(
        "per waiting execution: {per:.0} bytes of VmRSS ({:.1} MiB for {n}), {per_anon:.0} bytes of it anonymous",
        mib(after.saturating_sub(before))
    );
    // The executions stay RUNNING in a throwaway store: no need to wait.
    rt.shutdown(Duration::from_secs(5)).await;
    Ok(())
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    if let Err(e) = runtime.block_on(run()) {
        eprintln!("waiting_memory: {e}");
        std::process::exit(1);
    }
}
