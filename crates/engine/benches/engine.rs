//! The engine alone, in-process: runs the chain10, map100 and parallel4
//! workloads of `tests/data/bench-workloads` through the driver many
//! times, checks each output against the workload's expectation, and prints
//! state transitions per second (per core: the loop is single-threaded).
//!
//! `cargo bench -p statecraft-engine` (set `BENCH_SECONDS` to change the
//! time spent per workload, default 2; `BENCH_WORKLOADS` to pick some).

use std::time::{Duration, Instant};

use serde_json::Value;
use statecraft_engine::driver::{self, VirtualClock};
use statecraft_engine::host::DeterministicHost;
use statecraft_engine::Machine;

struct Workload {
    name: String,
    machine: Machine,
    cases: Vec<(Value, Option<Value>)>,
    transitions: u64,
}

/// The workload `name`; a benchmark asked for a workload it cannot read or
/// run fails, saying which and why (it never drops it from the results).
fn load(name: &str) -> Workload {
    let path = statecraft_testdata::bench_workload(name);
    let fail = |why: String| -> ! { panic!("workload {name} ({}): {why}", path.display()) };
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| fail(e.to_string()));
    let w: Value = serde_json::from_str(&text).unwrap_or_else(|e| fail(format!("not JSON: {e}")));
    let sm = statecraft_language::parse_value(&w["definition"])
        .unwrap_or_else(|d| fail(format!("the definition does not parse: {d:?}")));
    let machine =
        Machine::new(sm).unwrap_or_else(|e| fail(format!("the definition is not runnable: {e:?}")));
    let cases = w["cases"]
        .as_array()
        .unwrap_or_else(|| fail("no `cases` array".into()))
        .iter()
        .map(|c| (c["input"].clone(), c.get("expected_output").cloned()))
        .collect();
    Workload {
        name: name.to_owned(),
        machine,
        cases,
        transitions: w["state_transitions"].as_u64().unwrap_or(1),
    }
}

fn run_once(
    w: &Workload,
    input: &Value,
    host: &DeterministicHost,
    history: bool,
) -> driver::Outcome {
    let mut clock = VirtualClock {
        now_ms: 1_700_000_000_000,
    };
    let options = driver::Options {
        context: driver::context_for(&w.name, clock.now_ms),
        clock: &mut clock,
        host,
        observer: None,
        max_events: None,
        input_text: None,
    };
    driver::run_with_history(
        &w.machine,
        input.clone(),
        options,
        &mut driver::echo,
        history,
    )
}

fn main() {
    let seconds: f64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0);
    let names =
        std::env::var("BENCH_WORKLOADS").unwrap_or_else(|_| "chain10,map100,parallel4".to_owned());
    for name in names.split(',') {
        let w = load(name);
        let host = DeterministicHost::new(1);
        for (input, expected) in &w.cases {
            let o = run_once(&w, input, &host, true);
            if let Some(e) = expected {
                if o.output.as_ref() != Some(e) {
                    eprintln!(
                        "{name}: wrong output {:?} (status {:?}, {:?} {:?})",
                        o.output, o.status, o.error, o.cause
                    );
                }
            }
        }
        // STANDARD executions record their history; EXPRESS ones do not.
        let modes = std::env::var("BENCH_MODES").unwrap_or_else(|_| "standard,express".into());
        for (mode, history) in [("standard", true), ("express", false)] {
            if !modes.split(',').any(|m| m == mode) {
                continue;
            }
            let budget = Duration::from_secs_f64(seconds);
            let start = Instant::now();
            let mut runs = 0u64;
            while start.elapsed() < budget {
                for (input, _) in &w.cases {
                    std::hint::black_box(run_once(&w, input, &host, history));
                    runs += 1;
                }
            }
            let elapsed = start.elapsed().as_secs_f64();
            let transitions = runs * w.transitions;
            println!(
                "{name:<10} {mode:<9} {runs:>9} executions {:>10.0} executions/s {:>10.0} transitions/s per core",
                runs as f64 / elapsed,
                transitions as f64 / elapsed
            );
        }
    }
}
