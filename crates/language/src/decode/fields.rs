//! Which fields each state type has in each query language, for the
//! unknown- and misplaced-field checks.

use super::*;

/// Fields every state may have.
pub(super) const COMMON_FIELDS: &[&str] = &["Type", "Comment", "QueryLanguage"];

/// Fields that exist only in JSONPath states, with what replaces each in JSONata.
pub(super) const JSONPATH_ONLY: &[(&str, &str)] = &[
    (
        "InputPath",
        "\"Arguments\" or \"Output\" with $states.input",
    ),
    ("OutputPath", "\"Output\""),
    ("Parameters", "\"Arguments\" (or \"ItemSelector\" in a Map)"),
    ("ResultSelector", "\"Output\" with $states.result"),
    ("ResultPath", "\"Output\" (or \"Assign\")"),
    ("Result", "\"Output\""),
    ("ItemsPath", "\"Items\""),
    (
        "MaxConcurrencyPath",
        "\"MaxConcurrency\" with an expression",
    ),
    (
        "ToleratedFailurePercentagePath",
        "\"ToleratedFailurePercentage\" with an expression",
    ),
    (
        "ToleratedFailureCountPath",
        "\"ToleratedFailureCount\" with an expression",
    ),
    (
        "TimeoutSecondsPath",
        "\"TimeoutSeconds\" with an expression",
    ),
    (
        "HeartbeatSecondsPath",
        "\"HeartbeatSeconds\" with an expression",
    ),
    ("SecondsPath", "\"Seconds\" with an expression"),
    ("TimestampPath", "\"Timestamp\" with an expression"),
    ("ErrorPath", "\"Error\" with an expression"),
    ("CausePath", "\"Cause\" with an expression"),
];

/// Fields that exist only in JSONata states.
pub(super) const JSONATA_ONLY: &[&str] = &["Arguments", "Output", "Items"];

/// The fields a state type may carry in a given query language (besides
/// [`COMMON_FIELDS`]).
pub(super) fn allowed_fields(type_name: &str, ql: QueryLanguage) -> &'static [&'static str] {
    use QueryLanguage::{JsonPath, Jsonata};
    match (type_name, ql) {
        ("Pass", JsonPath) => &[
            "InputPath",
            "OutputPath",
            "Next",
            "End",
            "Assign",
            "ResultPath",
            "Parameters",
            "Result",
        ],
        ("Pass", Jsonata) => &["Output", "Assign", "Next", "End"],
        ("Task", JsonPath) => &[
            "InputPath",
            "OutputPath",
            "Next",
            "End",
            "Assign",
            "ResultPath",
            "Parameters",
            "ResultSelector",
            "Retry",
            "Catch",
            "Resource",
            "TimeoutSeconds",
            "TimeoutSecondsPath",
            "HeartbeatSeconds",
            "HeartbeatSecondsPath",
            "Credentials",
        ],
        ("Task", Jsonata) => &[
            "Output",
            "Assign",
            "Next",
            "End",
            "Arguments",
            "Retry",
            "Catch",
            "Resource",
            "TimeoutSeconds",
            "HeartbeatSeconds",
            "Credentials",
        ],
        ("Choice", JsonPath) => &["InputPath", "OutputPath", "Assign", "Choices", "Default"],
        ("Choice", Jsonata) => &["Output", "Assign", "Choices", "Default"],
        ("Wait", JsonPath) => &[
            "InputPath",
            "OutputPath",
            "Next",
            "End",
            "Assign",
            "Seconds",
            "SecondsPath",
            "Timestamp",
            "TimestampPath",
        ],
        ("Wait", Jsonata) => &["Output", "Assign", "Next", "End", "Seconds", "Timestamp"],
        ("Succeed", JsonPath) => &["InputPath", "OutputPath"],
        ("Succeed", Jsonata) => &["Output"],
        ("Fail", JsonPath) => &["Error", "ErrorPath", "Cause", "CausePath"],
        ("Fail", Jsonata) => &["Error", "Cause"],
        ("Parallel", JsonPath) => &[
            "InputPath",
            "OutputPath",
            "Next",
            "End",
            "Assign",
            "ResultPath",
            "Parameters",
            "ResultSelector",
            "Retry",
            "Catch",
            "Branches",
        ],
        ("Parallel", Jsonata) => &[
            "Output",
            "Assign",
            "Next",
            "End",
            "Arguments",
            "Retry",
            "Catch",
            "Branches",
        ],
        ("Map", JsonPath) => &[
            "InputPath",
            "OutputPath",
            "Next",
            "End",
            "Assign",
            "ResultPath",
            "Parameters",
            "ResultSelector",
            "Retry",
            "Catch",
            "ItemProcessor",
            "Iterator",
            "ItemsPath",
            "ItemSelector",
            "MaxConcurrency",
            "MaxConcurrencyPath",
            "ToleratedFailurePercentage",
            "ToleratedFailurePercentagePath",
            "ToleratedFailureCount",
            "ToleratedFailureCountPath",
            "ItemReader",
            "ItemBatcher",
            "ResultWriter",
            "Label",
        ],
        ("Map", Jsonata) => &[
            "Output",
            "Assign",
            "Next",
            "End",
            "Retry",
            "Catch",
            "ItemProcessor",
            "Iterator",
            "Items",
            "ItemSelector",
            "MaxConcurrency",
            "ToleratedFailurePercentage",
            "ToleratedFailureCount",
            "ItemReader",
            "ItemBatcher",
            "ResultWriter",
            "Label",
        ],
        _ => &[],
    }
}

/// Every field name any state may have, for "did you mean" hints.
pub(super) const ALL_STATE_FIELDS: &[&str] = &[
    "Type",
    "Comment",
    "QueryLanguage",
    "InputPath",
    "OutputPath",
    "Next",
    "End",
    "Assign",
    "ResultPath",
    "Parameters",
    "Result",
    "ResultSelector",
    "Retry",
    "Catch",
    "Resource",
    "TimeoutSeconds",
    "TimeoutSecondsPath",
    "HeartbeatSeconds",
    "HeartbeatSecondsPath",
    "Credentials",
    "Choices",
    "Default",
    "Seconds",
    "SecondsPath",
    "Timestamp",
    "TimestampPath",
    "Error",
    "ErrorPath",
    "Cause",
    "CausePath",
    "Branches",
    "ItemProcessor",
    "Iterator",
    "ItemsPath",
    "ItemSelector",
    "MaxConcurrency",
    "MaxConcurrencyPath",
    "ToleratedFailurePercentage",
    "ToleratedFailurePercentagePath",
    "ToleratedFailureCount",
    "ToleratedFailureCountPath",
    "ItemReader",
    "ItemBatcher",
    "ResultWriter",
    "Label",
    "Arguments",
    "Output",
    "Items",
];

/// A known name that differs from `key` only in letter case.
pub(super) fn case_hint(key: &str, known: &[&str]) -> String {
    known
        .iter()
        .find(|k| k.eq_ignore_ascii_case(key) && **k != key)
        .map(|k| format!(" (did you mean \"{k}\"?)"))
        .unwrap_or_default()
}
