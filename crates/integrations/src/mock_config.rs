//! AWS Step Functions Local's mock configuration format, read unchanged, so a
//! team's existing `MockConfigFile.json` works with `statecraft run`,
//! `statecraft test` and `statecraft server --mock-config`:
//!
//! ```json
//! {
//!   "StateMachines": {
//!     "Checkout": {"TestCases": {"HappyPath": {"ChargeCard": "ChargeOk"}}}
//!   },
//!   "MockedResponses": {
//!     "ChargeOk": {
//!       "0": {"Throw": {"Error": "Payment.Declined", "Cause": "card expired"}},
//!       "1-2": {"Return": {"id": "ch_1"}}
//!     }
//!   }
//! }
//! ```
//!
//! A test case maps Task state names (at any depth: inside Parallel
//! branches and Map processors too) to a mocked response by name. A mocked
//! response answers the state's invocations by number, counted from 0 across
//! retries and Map iterations: `"0"` is the first invocation, `"1-2"` the
//! second and third. The numbers must start at 0 and follow each other
//! without gaps or overlaps. Past the last number, the last response
//! repeats (so `"0"` alone answers every iteration of a Map). Each entry
//! is exactly one of `Return` (the task's result) or `Throw` (`Error` and
//! `Cause`). Plain JSON only: comments are not part of the format.
//!
//! A Task state that a test case does not name is not mocked: it runs as it
//! would without the test case (its real integration where one is
//! available), as Step Functions Local calls the real service.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde_json::Value;
use statecraft_types::Failure;

/// What a problem with a mock configuration is, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: {message}")]
pub struct Error {
    pub origin: String,
    pub message: String,
}

/// One answer to a Task state's invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum MockedResponse {
    Return(Value),
    Throw(Failure),
}

/// The answers of one mocked response, by invocation number.
#[derive(Debug, Clone, PartialEq)]
struct Ranges {
    /// `(first, last, response)`, in order, consecutive from 0.
    ranges: Vec<(u64, u64, MockedResponse)>,
}

impl Ranges {
    fn at(&self, invocation: u64) -> Option<&MockedResponse> {
        self.ranges
            .iter()
            .find(|(first, last, _)| (*first..=*last).contains(&invocation))
            .or(self.ranges.last())
            .map(|(_, _, r)| r)
    }
}

/// A whole mock configuration file.
#[derive(Debug, Clone, PartialEq)]
pub struct MockConfig {
    origin: String,
    /// Machine name → test case name → state name → mocked response name.
    machines: BTreeMap<String, BTreeMap<String, BTreeMap<String, String>>>,
    responses: BTreeMap<String, Ranges>,
}

impl MockConfig {
    /// Reads and checks a file.
    pub fn load(path: &Path) -> Result<MockConfig, Error> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| Error {
            origin: origin.clone(),
            message: format!("cannot read the mock configuration: {e}"),
        })?;
        MockConfig::parse(&text, &origin)
    }

    /// Parses and checks the text of a mock configuration; `origin` names it
    /// in errors. Every problem is reported with its JSON path.
    pub fn parse(text: &str, origin: &str) -> Result<MockConfig, Error> {
        let err = |message: String| Error {
            origin: origin.to_owned(),
            message,
        };
        let doc: Value = serde_json::from_str(text).map_err(|e| {
            err(format!(
                "not JSON (line {}, column {}): {e}",
                e.line(),
                e.column()
            ))
        })?;
        let Value::Object(top) = doc else {
            return Err(err(
                "a mock configuration is an object with \"StateMachines\" and \"MockedResponses\""
                    .into(),
            ));
        };
        for key in top.keys() {
            if key != "StateMachines" && key != "MockedResponses" {
                return Err(err(format!(
                    "/{key}: unknown field (a mock configuration has \"StateMachines\" and \"MockedResponses\")"
                )));
            }
        }
        let mut responses = BTreeMap::new();
        match top.get("MockedResponses") {
            None => {}
            Some(Value::Object(all)) => {
                for (name, entries) in all {
                    let ranges =
                        parse_ranges(entries, &format!("/MockedResponses/{name}")).map_err(err)?;
                    responses.insert(name.clone(), ranges);
                }
            }
            Some(_) => return Err(err("/MockedResponses must be an object".into())),
        }
        let mut machines = BTreeMap::new();
        match top.get("StateMachines") {
            None => {}
            Some(Value::Object(all)) => {
                for (machine, m) in all {
                    let at = format!("/StateMachines/{machine}");
                    let Some(cases) = m.as_object() else {
                        return Err(err(format!("{at} must be an object with \"TestCases\"")));
                    };
                    if let Some(k) = cases.keys().find(|k| *k != "TestCases") {
                        return Err(err(format!(
                            "{at}/{k}: unknown field (expected \"TestCases\")"
                        )));
                    }
                    let Some(Value::Object(cases)) = cases.get("TestCases") else {
                        return Err(err(format!(
                            "{at}/TestCases must be an object of test cases"
                        )));
                    };
                    let mut parsed = BTreeMap::new();
                    for (case, states) in cases {
                        let at = format!("{at}/TestCases/{case}");
                        let Some(states) = states.as_object() else {
                            return Err(err(format!(
                                "{at} must map state names to mocked response names"
                            )));
                        };
                        let mut by_state = BTreeMap::new();
                        for (state, response) in states {
                            let Some(response) = response.as_str() else {
                                return Err(err(format!(
                                    "{at}/{state} must be the name of a mocked response"
                                )));
                            };
                            if !responses.contains_key(response) {
                                return Err(err(format!(
                                    "{at}/{state}: no mocked response named {response:?} in /MockedResponses"
                                )));
                            }
                            by_state.insert(state.clone(), response.to_owned());
                        }
                        parsed.insert(case.clone(), by_state);
                    }
                    machines.insert(machine.clone(), parsed);
                }
            }
            Some(_) => return Err(err("/StateMachines must be an object".into())),
        }
        Ok(MockConfig {
            origin: origin.to_owned(),
            machines,
            responses,
        })
    }

    /// Where the configuration was read from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The state machine names the configuration has test cases for.
    pub fn machine_names(&self) -> Vec<&str> {
        self.machines.keys().map(String::as_str).collect()
    }

    /// The mocks of one test case of one state machine, ready to answer
    /// invocations; an unknown machine or case is an error that lists the
    /// known ones.
    pub fn test_case(&self, machine: &str, case: &str) -> Result<TestCaseMocks, Error> {
        let err = |message: String| Error {
            origin: self.origin.clone(),
            message,
        };
        let Some(cases) = self.machines.get(machine) else {
            return Err(err(format!(
                "no test cases for the state machine {machine:?} (it has test cases for: {})",
                list(self.machines.keys())
            )));
        };
        let Some(states) = cases.get(case) else {
            return Err(err(format!(
                "the state machine {machine:?} has no test case {case:?} (its test cases: {})",
                list(cases.keys())
            )));
        };
        let by_state = states
            .iter()
            .filter_map(|(state, response)| {
                self.responses
                    .get(response)
                    .map(|r| (state.clone(), r.clone()))
            })
            .collect();
        Ok(TestCaseMocks {
            by_state,
            invocations: HashMap::new(),
        })
    }
}

fn list<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let v: Vec<&str> = names.map(String::as_str).collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

fn parse_ranges(entries: &Value, at: &str) -> Result<Ranges, String> {
    let Some(entries) = entries.as_object() else {
        return Err(format!(
            "{at} must map invocation numbers (\"0\", \"1-2\") to responses"
        ));
    };
    if entries.is_empty() {
        return Err(format!("{at} has no responses"));
    }
    let mut ranges = Vec::new();
    for (key, entry) in entries {
        let at = format!("{at}/{key}");
        let (first, last) = parse_range(key).ok_or_else(|| {
            format!("{at}: {key:?} is not an invocation number (\"0\") or range (\"1-2\")")
        })?;
        ranges.push((first, last, parse_response(entry, &at)?));
    }
    ranges.sort_by_key(|(first, _, _)| *first);
    let mut next = 0;
    for (first, last, _) in &ranges {
        if *first != next {
            return Err(format!(
                "{at}: invocation numbers must start at 0 and follow each other: expected {next}, found {first}"
            ));
        }
        next = last + 1;
    }
    Ok(Ranges { ranges })
}

fn parse_range(key: &str) -> Option<(u64, u64)> {
    let key = key.trim();
    match key.split_once('-') {
        None => key.parse().ok().map(|n| (n, n)),
        Some((a, b)) => {
            let (a, b): (u64, u64) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
            (a <= b).then_some((a, b))
        }
    }
}

fn parse_response(entry: &Value, at: &str) -> Result<MockedResponse, String> {
    let Some(obj) = entry.as_object() else {
        return Err(format!(
            "{at} must be {{\"Return\": …}} or {{\"Throw\": {{\"Error\": …, \"Cause\": …}}}}"
        ));
    };
    if let Some(k) = obj.keys().find(|k| *k != "Return" && *k != "Throw") {
        return Err(format!(
            "{at}/{k}: unknown field (expected \"Return\" or \"Throw\")"
        ));
    }
    match (obj.get("Return"), obj.get("Throw")) {
        (Some(v), None) => Ok(MockedResponse::Return(v.clone())),
        (None, Some(Value::Object(t))) => {
            let error = match t.get("Error") {
                Some(Value::String(e)) => e.clone(),
                _ => return Err(format!("{at}/Throw/Error must be a string")),
            };
            let cause = match t.get("Cause") {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(c)) => c.clone(),
                Some(_) => return Err(format!("{at}/Throw/Cause must be a string")),
            };
            Ok(MockedResponse::Throw(Failure::new(error, cause)))
        }
        (None, Some(_)) => Err(format!(
            "{at}/Throw must be an object with \"Error\" and \"Cause\""
        )),
        (Some(_), Some(_)) => Err(format!("{at} has both \"Return\" and \"Throw\"")),
        (None, None) => Err(format!("{at} needs \"Return\" or \"Throw\"")),
    }
}

/// The mocks of one test case during one execution: each mocked state's
/// invocations are counted from 0.
#[derive(Debug, Clone, PartialEq)]
pub struct TestCaseMocks {
    by_state: HashMap<String, Ranges>,
    invocations: HashMap<String, u64>,
}

impl TestCaseMocks {
    /// The states this test case mocks.
    pub fn states(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.by_state.keys().map(String::as_str).collect();
        v.sort_unstable();
        v
    }

    /// The answer to the next invocation of `state`, or `None` when the
    /// test case does not mock it.
    pub fn answer(&mut self, state: &str) -> Option<MockedResponse> {
        let ranges = self.by_state.get(state)?;
        let n = self.invocations.entry(state.to_owned()).or_insert(0);
        let response = ranges.at(*n).cloned();
        *n += 1;
        response
    }

    /// The answer to invocation number `invocation` of `state` (counted from
    /// 0), without counting: for callers that keep the count themselves
    /// (durably, across restarts).
    pub fn answer_at(&self, state: &str, invocation: u64) -> Option<MockedResponse> {
        self.by_state.get(state)?.at(invocation).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const AWS_EXAMPLE: &str = r#"{
      "StateMachines": {"LambdaSQSIntegration": {"TestCases": {
        "HappyPath": {"LambdaState": "MockedLambdaSuccess", "SQSState": "MockedSQSSuccess"},
        "RetryPath": {"LambdaState": "MockedLambdaRetry", "SQSState": "MockedSQSSuccess"},
        "HybridPath": {"LambdaState": "MockedLambdaSuccess"}}}},
      "MockedResponses": {
        "MockedLambdaSuccess": {"0": {"Return": {"StatusCode": 200, "Payload": {"StatusCode": 200, "body": "Hello from Lambda!"}}}},
        "LambdaMockedResourceNotReady": {"0": {"Throw": {"Error": "Lambda.ResourceNotReadyException", "Cause": "Lambda resource is not ready."}}},
        "MockedSQSSuccess": {"0": {"Return": {"MD5OfMessageBody": "3bcb6e8e-7h85-4375-b0bc-1a59812c6e51", "MessageId": "3bcb6e8e-8b51-4375-b0bc-1a59812c6e51"}}},
        "MockedLambdaRetry": {
          "0": {"Throw": {"Error": "Lambda.ResourceNotReadyException", "Cause": "Lambda resource is not ready."}},
          "1-2": {"Throw": {"Error": "Lambda.TimeoutException", "Cause": "Lambda timed out."}},
          "3": {"Return": {"StatusCode": 200, "Payload": {"StatusCode": 200, "body": "Hello from Lambda!"}}}}
      }}"#;

    #[test]
    fn aws_documented_example_answers_by_invocation() {
        let cfg = MockConfig::parse(AWS_EXAMPLE, "MockConfigFile.json").expect("parses");
        let mut retry = cfg
            .test_case("LambdaSQSIntegration", "RetryPath")
            .expect("case");
        let errors: Vec<String> = (0..5)
            .map(|_| match retry.answer("LambdaState") {
                Some(MockedResponse::Throw(f)) => f.error,
                Some(MockedResponse::Return(_)) => "return".into(),
                None => "none".into(),
            })
            .collect();
        assert_eq!(
            errors,
            [
                "Lambda.ResourceNotReadyException",
                "Lambda.TimeoutException",
                "Lambda.TimeoutException",
                "return",
                "return"
            ]
        );
        let mut hybrid = cfg
            .test_case("LambdaSQSIntegration", "HybridPath")
            .expect("case");
        assert_eq!(hybrid.answer("SQSState"), None, "not mocked in HybridPath");
        assert_eq!(hybrid.states(), ["LambdaState"]);
        assert_eq!(
            retry.answer_at("LambdaState", 1),
            Some(MockedResponse::Throw(Failure::new(
                "Lambda.TimeoutException",
                "Lambda timed out."
            )))
        );
        assert!(matches!(
            cfg.test_case("LambdaSQSIntegration", "HappyPath")
                .expect("case")
                .answer("SQSState"),
            Some(MockedResponse::Return(v)) if v["MessageId"] == json!("3bcb6e8e-8b51-4375-b0bc-1a59812c6e51")
        ));
    }

    #[test]
    fn problems_are_reported_with_their_path() {
        let cases = [
            ("[]", "an object with"),
            ("{\"Extra\": 1}", "/Extra: unknown field"),
            ("{\"MockedResponses\": {\"R\": {\"1\": {\"Return\": 1}}}}", "/MockedResponses/R: invocation numbers must start at 0"),
            ("{\"MockedResponses\": {\"R\": {\"0\": {\"Return\": 1}, \"2\": {\"Return\": 1}}}}", "expected 1, found 2"),
            ("{\"MockedResponses\": {\"R\": {\"0-1\": {\"Return\": 1}, \"1\": {\"Return\": 1}}}}", "expected 2, found 1"),
            ("{\"MockedResponses\": {\"R\": {\"x\": {\"Return\": 1}}}}", "/MockedResponses/R/x: \"x\" is not an invocation number"),
            ("{\"MockedResponses\": {\"R\": {\"2-1\": {\"Return\": 1}}}}", "is not an invocation number"),
            ("{\"MockedResponses\": {\"R\": {\"0\": {\"Return\": 1, \"Throw\": {}}}}}", "has both"),
            ("{\"MockedResponses\": {\"R\": {\"0\": {\"Throw\": {\"Cause\": \"c\"}}}}}", "/MockedResponses/R/0/Throw/Error must be a string"),
            ("{\"MockedResponses\": {\"R\": {}}}", "/MockedResponses/R has no responses"),
            ("{\"StateMachines\": {\"M\": {\"TestCases\": {\"T\": {\"S\": \"Nope\"}}}}}", "/StateMachines/M/TestCases/T/S: no mocked response named \"Nope\""),
            ("{\"StateMachines\": {\"M\": {\"Cases\": {}}}}", "/StateMachines/M/Cases: unknown field"),
            ("{ // a comment\n}", "not JSON (line 1"),
        ];
        for (text, want) in cases {
            let e = MockConfig::parse(text, "mocks.json").expect_err(text);
            assert!(e.to_string().starts_with("mocks.json: "), "{e}");
            assert!(e.message.contains(want), "{text}: {e}");
        }
    }

    #[test]
    fn execution_arns_name_their_machine_and_execution() {
        assert_eq!(
            machine_and_name("arn:aws:states:us-east-1:1:execution:checkout:run-1"),
            Some(("checkout".into(), "run-1".into()))
        );
        assert_eq!(
            machine_and_name("arn:aws:states:us-east-1:1:express:checkout:run-1:abc"),
            Some(("checkout".into(), "run-1".into()))
        );
        assert_eq!(
            machine_and_name("arn:aws:states:us-east-1:1:stateMachine:x"),
            None
        );
    }

    #[test]
    fn unknown_machines_and_cases_list_the_known_ones() {
        let cfg = MockConfig::parse(AWS_EXAMPLE, "m.json").expect("parses");
        let e = cfg.test_case("Other", "HappyPath").expect_err("unknown");
        assert!(e.message.contains("LambdaSQSIntegration"), "{e}");
        let e = cfg
            .test_case("LambdaSQSIntegration", "SadPath")
            .expect_err("unknown");
        assert!(
            e.message.contains("HappyPath, HybridPath, RetryPath"),
            "{e}"
        );
    }
}

/// The task integrations of a server started with a mock configuration
/// (`statecraft server --mock-config FILE` or `SFN_MOCK_CONFIG`): an
/// execution started with `stateMachineArn#TestCase` has its Task states
/// answered from that test case; every other task, and every state the test
/// case does not name, goes to the real integrations (`inner`).
///
/// As in Step Functions Local, which keeps nothing across restarts, the
/// test case of a running execution and its invocation counts live in
/// memory: after a restart the execution's tasks go to the real
/// integrations.
pub struct MockedIntegrations {
    config: MockConfig,
    inner: statecraft_tasks::Integrations,
    runs: std::sync::Mutex<Runs>,
}

/// Test cases by `(state machine name, execution name)`, oldest first.
#[derive(Default)]
struct Runs {
    by_execution: HashMap<(String, String), TestCaseMocks>,
    order: std::collections::VecDeque<(String, String)>,
}

/// The most executions whose test cases are remembered: the oldest are
/// forgotten first (a long-running test server must not grow forever).
const MAX_RUNS: usize = 100_000;

impl MockedIntegrations {
    pub fn new(config: MockConfig, inner: statecraft_tasks::Integrations) -> Self {
        MockedIntegrations {
            config,
            inner,
            runs: std::sync::Mutex::new(Runs::default()),
        }
    }

    /// Records that the execution `execution_name` of the state machine
    /// `machine` runs with `test_case`: an unknown machine or case is an
    /// error that lists the known ones. Called before the execution starts.
    pub fn begin(&self, machine: &str, execution_name: &str, test_case: &str) -> Result<(), Error> {
        let mocks = self.config.test_case(machine, test_case)?;
        let key = (machine.to_owned(), execution_name.to_owned());
        let mut runs = self.runs.lock().unwrap_or_else(|p| p.into_inner());
        if runs.by_execution.insert(key.clone(), mocks).is_none() {
            runs.order.push_back(key);
        }
        while runs.order.len() > MAX_RUNS {
            if let Some(old) = runs.order.pop_front() {
                runs.by_execution.remove(&old);
            }
        }
        Ok(())
    }

    /// Forgets an execution's test case (its start failed).
    pub fn forget(&self, machine: &str, execution_name: &str) {
        let key = (machine.to_owned(), execution_name.to_owned());
        let mut runs = self.runs.lock().unwrap_or_else(|p| p.into_inner());
        if runs.by_execution.remove(&key).is_some() {
            runs.order.retain(|k| *k != key);
        }
    }

    fn answer(&self, execution_arn: &str, state: &str) -> Option<MockedResponse> {
        let key = machine_and_name(execution_arn)?;
        let mut runs = self.runs.lock().unwrap_or_else(|p| p.into_inner());
        runs.by_execution.get_mut(&key)?.answer(state)
    }
}

/// `(state machine name, execution name)` of an execution ARN
/// (`…:execution:<machine>:<name>` or `…:express:<machine>:<name>:<id>`).
fn machine_and_name(execution_arn: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = execution_arn.split(':').collect();
    match parts.get(5) {
        Some(&"execution") | Some(&"express") => {
            Some((parts.get(6)?.to_string(), parts.get(7)?.to_string()))
        }
        _ => None,
    }
}

impl statecraft_tasks::Integration for MockedIntegrations {
    fn handles(&self, _resource: &str) -> bool {
        true
    }

    fn invoke(
        &self,
        context: statecraft_tasks::TaskContext,
        request: statecraft_tasks::TaskRequest,
    ) -> statecraft_tasks::TaskFuture {
        match self.answer(&context.execution_arn, &request.state_name) {
            Some(MockedResponse::Return(v)) => {
                Box::pin(async move { statecraft_tasks::TaskOutcome::Succeeded(v) })
            }
            Some(MockedResponse::Throw(f)) => {
                Box::pin(async move { statecraft_tasks::TaskOutcome::Failed(f) })
            }
            None => self.inner.invoke(context, request),
        }
    }
}
