//! How `statecraft run` answers Task states: from the `--mock` file when it
//! has responses for the state, otherwise, with `--config`, by really
//! running the task with the integrations the server would use (HTTP tasks,
//! functions, commands), built by `statecraft_integrations::registry` from
//! the same `[integrations]` section. Without either, the task fails with a
//! cause that says how to answer it.

use std::path::Path;
use std::time::Duration;

use statecraft_engine::driver::Response;
use statecraft_engine::TaskRequest;
use statecraft_runtime::{Integrations, TaskContext, TaskOutcome};
use statecraft_types::{errors::TASK_FAILED, Failure};

use statecraft_integrations::mock_config::{MockedResponse, TestCaseMocks};
use statecraft_language::ast::{StateKind, StateMachine};

use super::mocks::Mocks;
use super::Unusable;

/// The task answerer of one run.
pub struct Tasks {
    mocks: Mocks,
    /// A Step Functions Local test case: after `--mock`, before `--config`.
    test_case: Option<TestCaseMocks>,
    real: Option<Real>,
}

/// The states a test case names that are not Task states of `definition`:
/// their responses can never be used.
pub fn unused_test_case_states(mocks: &TestCaseMocks, definition: &StateMachine) -> Vec<String> {
    let mut tasks = Vec::new();
    task_states(definition, &mut tasks);
    mocks
        .states()
        .into_iter()
        .filter(|s| !tasks.iter().any(|t| t == s))
        .map(|s| {
            format!("{s:?} is not a Task state of the definition, so its responses are never used")
        })
        .collect()
}

fn task_states(machine: &StateMachine, out: &mut Vec<String>) {
    for state in &machine.states {
        match &state.kind {
            StateKind::Task(_) => out.push(state.name.clone()),
            StateKind::Parallel(p) => p.branches.iter().for_each(|b| task_states(b, out)),
            StateKind::Map(m) => task_states(&m.processor, out),
            _ => {}
        }
    }
}

/// The integrations of a `--config` file and the runtime their calls run on.
pub struct Real {
    origin: String,
    runtime: tokio::runtime::Runtime,
    integrations: Integrations,
    execution_arn: String,
}

/// What a `--config` file gives a run.
pub struct Config {
    pub real: Real,
    pub region: String,
    pub account_id: String,
}

impl Config {
    /// Reads the file as `statecraft server --config` does (the same keys,
    /// the same checks) and builds its integrations. Nested executions,
    /// activities and task tokens need a server: they are not built.
    pub fn load(path: &Path) -> Result<Config, Unusable> {
        let args = statecraft_server::ServerArgs {
            config: Some(path.to_path_buf()),
            ..statecraft_server::ServerArgs::default()
        };
        let cfg = statecraft_server::Config::resolve(&args).map_err(|e| Unusable(e.to_string()))?;
        let integrations = statecraft_integrations::registry(&cfg.integrations, None)
            .map_err(|e| Unusable(format!("{}: {e}", path.display())))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Unusable(format!("cannot start the task runtime: {e}")))?;
        Ok(Config {
            real: Real {
                origin: path.display().to_string(),
                runtime,
                integrations,
                execution_arn: String::new(),
            },
            region: cfg.region,
            account_id: cfg.account_id,
        })
    }
}

impl Tasks {
    pub fn new(mocks: Mocks, real: Option<Real>, execution_arn: &str) -> Tasks {
        let real = real.map(|mut r| {
            r.execution_arn = execution_arn.to_owned();
            r
        });
        Tasks {
            mocks,
            test_case: None,
            real,
        }
    }

    pub fn with_test_case(mut self, test_case: TestCaseMocks) -> Tasks {
        self.test_case = Some(test_case);
        self
    }

    pub fn answer(&mut self, req: &TaskRequest) -> Response {
        if let Some(mocked) = self.mocks.answer(req) {
            return mocked;
        }
        if let Some(mocked) = self
            .test_case
            .as_mut()
            .and_then(|t| t.answer(&req.state_name))
        {
            return match mocked {
                MockedResponse::Return(v) => Response::Succeeded(v),
                MockedResponse::Throw(f) => Response::Failed(f),
            };
        }
        match &self.real {
            Some(real) => real.invoke(req),
            None => Response::Failed(Failure::new(
                TASK_FAILED,
                format!(
                    "No mock response for the Task state '{}' (resource {}); give one with --mock, or run its integration with --config",
                    req.state_name, req.resource
                ),
            )),
        }
    }
}

impl Real {
    fn invoke(&self, req: &TaskRequest) -> Response {
        if self.integrations.find(&req.resource).is_none() {
            return Response::Failed(Failure::new(
                TASK_FAILED,
                format!(
                    "No mock response for the Task state '{}', and its resource {} is not one that {} can run in-process (HTTP tasks, functions and commands can; activities, nested executions and other services need a mock)",
                    req.state_name, req.resource, self.origin
                ),
            ));
        }
        let context = TaskContext {
            execution_arn: self.execution_arn.clone(),
        };
        let call = self.integrations.invoke(context, req.clone());
        let outcome = self.runtime.block_on(async {
            match req.timeout_seconds {
                // Past the state's TimeoutSeconds the call is dropped
                // (cancelled) and left unanswered: the engine's own timer
                // then fails the state with States.Timeout, as on a server.
                Some(secs) => tokio::time::timeout(Duration::from_secs(secs), call)
                    .await
                    .ok(),
                None => Some(call.await),
            }
        });
        match outcome {
            None => Response::NoResponse,
            Some(TaskOutcome::Succeeded(output)) => Response::Succeeded(output),
            Some(TaskOutcome::Failed(failure)) => Response::Failed(failure),
            Some(TaskOutcome::Deferred | TaskOutcome::Submitted(_)) => {
                Response::Failed(Failure::new(
                    TASK_FAILED,
                    format!(
                        "The Task state '{}' waits for a task token, which nothing can send to `statecraft run`; mock it with --mock, or run the workflow on `statecraft server`",
                        req.state_name
                    ),
                ))
            }
        }
    }
}
