//! Conformance against what AWS Step Functions itself recorded.
//!
//! `tests/data/stepfunctions/corpus.jsonl` holds state machines,
//! their inputs and the results (and histories) that AWS produced. This crate
//! loads the cases, runs the executable ones through the engine, normalises
//! our results the way the corpus README prescribes, and compares. The tests
//! in `tests/` print `N passed, M failed` and fail on any failure that is not
//! listed, with its reason, in `known-failures.txt`.
//!
//! Comparison rules (from the corpus README): JSON-object text is compared
//! parsed; values under keys containing `timestamp` are ignored; a UUID under
//! a key ending in `id` is a wildcard; `<…>` placeholders in expected strings
//! match any text; ISO-8601 timestamps in strings read as `date`.

pub mod compare;
pub mod corpus;
pub mod known;
pub mod run;

pub use corpus::Case;
