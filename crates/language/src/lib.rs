//! Amazon States Language: parse a state machine definition (JSON or YAML)
//! into typed structures that remember where each value came from, validate it
//! with diagnostics a user can act on, and evaluate its pieces at run time
//! (paths, payload templates, intrinsic functions, Choice rules).
//!
//! Architecture invariant: this crate is pure. It does no I/O, spawns nothing
//! and is not async; clock and randomness come in through [`Host`].

pub mod ast;
pub mod choice;
pub mod diagnostic;
pub mod intrinsic;
pub mod path;
pub mod scope;
pub mod source;
pub mod template;

pub use diagnostic::{Diagnostic, Severity};
pub use scope::{Host, Scope};
pub use statecraft_types::Failure;
