//! Every workflow under `examples/` is a valid definition, runs to success
//! with its folder's `mocks.json` (as `statecraft run --mock … --skip-waits`
//! does, through the engine's driver, so no binary is needed), both with no
//! input and with its `input.json`; and every Task resource it uses is one
//! that its folder's `statecraft.toml` enables on a real server.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{json, Value};
use statecraft_engine::driver::{self, Options, Response, VirtualClock};
use statecraft_engine::host::DeterministicHost;
use statecraft_engine::{Machine, Status, TaskRequest};
use statecraft_integrations::nested::{ApiError, BoxFuture, Ended, StartRequest, Started};
use statecraft_integrations::Executions;
use statecraft_language::ast::{StateKind, StateMachine};
use statecraft_language::Severity;
use statecraft_types::Failure;

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// The example folders, each with its definitions.
fn examples() -> Vec<(PathBuf, Vec<PathBuf>)> {
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(examples_dir())
        .unwrap_or_else(|e| panic!("examples/: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                name.contains(".asl.")
            })
            .collect();
        files.sort();
        out.push((dir, files));
    }
    out
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Mock answers by state name, consumed in order; the last one repeats (the
/// CLI's `--mock` format).
struct Mocks {
    by_state: HashMap<String, Vec<Response>>,
    used: HashMap<String, usize>,
}

impl Mocks {
    fn load(path: &Path) -> Mocks {
        let doc: HashMap<String, Vec<Value>> =
            serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let by_state = doc
            .into_iter()
            .map(|(state, list)| {
                let responses = list
                    .iter()
                    .map(|r| match (r.get("Return"), r.get("Throw")) {
                        (Some(v), None) => Response::Succeeded(v.clone()),
                        (None, Some(t)) => Response::Failed(Failure::new(
                            t["Error"].as_str().unwrap_or_default(),
                            t["Cause"].as_str().unwrap_or_default(),
                        )),
                        _ => panic!("{}: /{state}: bad response {r}", path.display()),
                    })
                    .collect();
                (state, responses)
            })
            .collect();
        Mocks {
            by_state,
            used: HashMap::new(),
        }
    }

    fn answer(&mut self, req: &TaskRequest) -> Response {
        let Some(list) = self.by_state.get(&req.state_name) else {
            return Response::Failed(Failure::new(
                "States.TaskFailed",
                format!("no mock for {}", req.state_name),
            ));
        };
        let n = self.used.entry(req.state_name.clone()).or_insert(0);
        let r = list
            .get((*n).min(list.len().saturating_sub(1)))
            .cloned()
            .unwrap_or(Response::NoResponse);
        *n += 1;
        r
    }
}

fn run(definition: &Path, mocks: &Path, input: Value) -> driver::Outcome {
    let machine = statecraft_language::parse(&read(definition))
        .unwrap_or_else(|d| panic!("{}: {d:?}", definition.display()));
    let machine = Machine::new(machine).unwrap_or_else(|e| panic!("{}: {e}", definition.display()));
    let now = 1_717_200_000_000;
    let host = DeterministicHost::new(7);
    let mut clock = VirtualClock { now_ms: now };
    let mut mocks = Mocks::load(mocks);
    let mut handler = |r: &TaskRequest| mocks.answer(r);
    let options = Options {
        context: driver::context_for("example", now),
        clock: &mut clock,
        host: &host,
        observer: None,
        max_events: Some(10_000),
        input_text: None,
    };
    driver::run(&machine, input, options, &mut handler)
}

#[test]
fn every_example_is_valid_and_runs_with_its_mocks() {
    let all = examples();
    assert!(all.len() >= 4, "expected the four example folders");
    for (dir, files) in all {
        assert!(!files.is_empty(), "{}: no definition", dir.display());
        let mocks = dir.join("mocks.json");
        assert!(mocks.is_file(), "{}: no mocks.json", dir.display());
        let input_file = dir.join("input.json");
        for file in files {
            let errors: Vec<_> = statecraft_language::validate(&read(&file))
                .into_iter()
                .filter(|d| d.severity == Severity::Error)
                .collect();
            assert!(errors.is_empty(), "{}: {errors:?}", file.display());
            let mut inputs = vec![json!({})];
            if input_file.is_file() {
                inputs.push(serde_json::from_str(&read(&input_file)).unwrap_or(Value::Null));
            }
            for input in inputs {
                let outcome = run(&file, &mocks, input.clone());
                assert_eq!(
                    outcome.status,
                    Status::Succeeded,
                    "{} with {input}: {:?}: {:?}",
                    file.display(),
                    outcome.error,
                    outcome.cause
                );
            }
        }
    }
}

/// Never called: the check below only asks which integration handles what.
struct NoExecutions;

impl Executions for NoExecutions {
    fn start(&self, _: StartRequest) -> BoxFuture<Result<Started, ApiError>> {
        Box::pin(async { Err(ApiError::new("InternalFailure", "not in this test", 500)) })
    }
    fn wait_for_end(&self, _: String) -> BoxFuture<Result<Ended, ApiError>> {
        Box::pin(async { Err(ApiError::new("InternalFailure", "not in this test", 500)) })
    }
}

fn resources(machine: &StateMachine, out: &mut Vec<String>) {
    for state in &machine.states {
        match &state.kind {
            StateKind::Task(t) => out.push(t.resource.clone()),
            StateKind::Parallel(p) => p.branches.iter().for_each(|b| resources(b, out)),
            StateKind::Map(m) => resources(&m.processor, out),
            _ => {}
        }
    }
}

#[test]
fn every_task_resource_is_enabled_by_the_folders_config() {
    // The mlops connection reads its key from the environment.
    std::env::set_var("MODEL_REGISTRY_KEY", "test-key");
    for (dir, files) in examples() {
        let config = common::config(&read(&dir.join("statecraft.toml")));
        let reg = common::registry(&config, Some(Arc::new(NoExecutions)));
        for file in files {
            let machine = statecraft_language::parse(&read(&file))
                .unwrap_or_else(|d| panic!("{}: {d:?}", file.display()));
            let mut found = Vec::new();
            resources(&machine, &mut found);
            for r in found {
                // Activities are served by the runtime itself (no config).
                assert!(
                    reg.find(&r).is_some() || statecraft_runtime::activity::is_activity(&r),
                    "{}: {r} is not enabled by statecraft.toml",
                    file.display()
                );
                if let Some(name) = r.strip_prefix("arn:statecraft:command:") {
                    assert!(
                        config.commands.programs.contains_key(name),
                        "{}: command {name} is not configured",
                        file.display()
                    );
                }
            }
        }
    }
}
