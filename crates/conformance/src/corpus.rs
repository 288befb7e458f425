//! Loading the recorded corpus: one JSON case a line.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

/// One recorded case. Only the fields the runner uses are typed.
#[derive(Debug, Clone, Deserialize)]
pub struct Case {
    pub id: String,
    pub kind: String,
    #[serde(default)]
    pub definition: Option<Value>,
    #[serde(default)]
    pub definition_text: Option<String>,
    #[serde(default)]
    pub input: Option<Value>,
    #[serde(default)]
    pub input_text: Option<String>,
    #[serde(default)]
    pub state_machine_type: Option<String>,
    #[serde(default)]
    pub expected: Value,
    #[serde(default)]
    pub expected_history: Option<Vec<Value>>,
    #[serde(default)]
    pub features: Vec<String>,
    #[serde(default)]
    pub self_contained: bool,
    #[serde(default)]
    pub requires: Vec<String>,
    #[serde(default)]
    pub test_state_request: Option<Value>,
    #[serde(default)]
    pub test_transformers: Vec<Value>,
}

impl Case {
    /// Whether the case exercises JSONata or variables (issue 3's share of the corpus).
    pub fn is_jsonata_or_variables(&self) -> bool {
        self.features.iter().any(|f| {
            f.starts_with("jsonata") || f == "variables" || f == "arguments" || f == "output_field"
        })
    }

    /// The execution input as AWS received it (`{}` when none was sent).
    pub fn input_value(&self) -> Value {
        match (&self.input_text, &self.input) {
            (Some(text), _) => serde_json::from_str(text).unwrap_or(Value::Null),
            (None, Some(v)) => v.clone(),
            (None, None) => Value::Object(Default::default()),
        }
    }

    /// Whether this case records an execution (as opposed to an API answer).
    pub fn is_execution(&self) -> bool {
        matches!(
            self.kind.as_str(),
            "execution" | "execution_output_only" | "sync_execution"
        )
    }

    /// Whether this case is an execution the engine can run without outside services.
    pub fn is_runnable_execution(&self) -> bool {
        self.is_execution() && self.self_contained
    }
}

/// Where the corpus lives: `tests/data/stepfunctions` in the repository.
pub fn corpus_path() -> PathBuf {
    statecraft_testdata::corpus_path()
}

/// Loads every case; errors name the line.
pub fn load(path: &Path) -> Result<Vec<Case>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the corpus at {}: {e}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| format!("{}:{}: {e}", path.display(), i + 1))
        })
        .collect()
}
