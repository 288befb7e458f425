//! The failures a state raises when a path cannot be applied, with the
//! cause texts AWS Step Functions uses (recorded in the conformance corpus),
//! so that every layer of the engine words them the same way.
//!
//! AWS prefixes the cause of a run-time failure with the state it happened
//! in; [`state_cause`] builds that prefix. The helpers below build the part
//! after it.

use serde_json::Value;
use statecraft_types::errors::{RESULT_PATH_MATCH_FAILURE, RUNTIME};

use super::{compact, Path, ReferencePath};
use crate::{Failure, Scope};

/// `An error occurred while executing the state 'S' (entered at the event
/// id #N). <detail>`: how AWS words the cause of a `States.Runtime` (and
/// most other engine-raised) failures in the execution history.
pub fn state_cause(state: &str, entered_event_id: u64, detail: &str) -> String {
    format!(
        "An error occurred while executing the state '{state}' (entered at the event id #{entered_event_id}). {detail}"
    )
}

/// `States.Runtime` for a path field (InputPath, OutputPath, ItemsPath,
/// TimeoutSecondsPath, HeartbeatSecondsPath …) that selects nothing:
/// `Invalid path '$.x' : No results for path: $['x']`.
pub fn invalid_path_failure(path: &Path, scope: &Scope<'_>) -> Failure {
    Failure::new(
        RUNTIME,
        format!(
            "Invalid path '{}' : {}",
            path.as_str(),
            path.miss_reason(scope)
        ),
    )
}

/// `States.Runtime` for an InputPath that selects nothing (same wording as
/// [`invalid_path_failure`]).
pub fn input_path_failure(path: &Path, scope: &Scope<'_>) -> Failure {
    invalid_path_failure(path, scope)
}

/// `States.Runtime` for an OutputPath that selects nothing from the state's
/// output (pass the output as the scope's input).
pub fn output_path_failure(path: &Path, scope: &Scope<'_>) -> Failure {
    invalid_path_failure(path, scope)
}

/// `States.Runtime` for a payload-template field (`"x.$"`) or a Fail state's
/// `ErrorPath`/`CausePath` whose path selects nothing: `The JSONPath '$.x'
/// specified for the field 'x.$' could not be found in the input '{…}'`.
/// `input` is the state input, printed as compact JSON (also for `$$` paths).
///
/// AWS raises `States.Runtime` here, not the `States.ParameterPathFailure`
/// the ASL specification names (recorded in the conformance corpus).
pub fn field_path_failure(path: &str, field: &str, input: &Value) -> Failure {
    Failure::new(
        RUNTIME,
        format!(
            "The JSONPath '{path}' specified for the field '{field}' could not be found in the input '{}'",
            compact(input)
        ),
    )
}

/// `States.ResultPathMatchFailure`: the result cannot be placed into the
/// input at ResultPath (the input, or a node on the way, is not an object).
///
/// FIXME: the corpus records no ResultPathMatchFailure; this wording follows
/// AWS's documentation of the error and may differ from AWS in detail.
pub fn result_path_failure(path: &ReferencePath, input: &Value) -> Failure {
    Failure::new(
        RESULT_PATH_MATCH_FAILURE,
        format!(
            "Unable to apply ResultPath \"{}\" to input \"{}\"",
            path.as_str(),
            compact(input)
        ),
    )
}

/// `States.Runtime` for a Map state whose ItemsPath names something that is
/// not an array: `Reference path "$.items" must point to array.` AWS shows a
/// `$$` path relative to the Context object (`$$.Execution.Input` →
/// `$.Execution.Input`).
pub fn items_path_not_array(path: &Path) -> Failure {
    let shown = if path.is_context() {
        path.as_str().get(1..).unwrap_or("$")
    } else {
        path.as_str()
    };
    Failure::new(
        RUNTIME,
        format!("Reference path \"{shown}\" must point to array."),
    )
}
