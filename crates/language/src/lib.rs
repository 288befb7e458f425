//! Amazon States Language: parse a state machine definition (JSON or YAML)
//! into typed structures that remember where each value came from, validate it
//! with diagnostics a user can act on, and evaluate its pieces at run time
//! (paths, payload templates, intrinsic functions, Choice rules).
//!
//! Reading a definition goes text → [`source`] (value + positions) →
//! [`decode`] (schema checks, typed AST) → [`mod@validate`] (semantic checks).
//! Every stage reports all the problems it finds, not only the first.
//!
//! Architecture invariant: this crate is pure. It does no I/O, spawns nothing
//! and is not async; clock and randomness come in through [`Host`].

pub mod ast;
pub mod choice;
pub mod decode;
pub mod diagnostic;
pub mod intrinsic;
pub mod path;
pub mod scope;
pub mod source;
pub mod template;
pub mod validate;

pub use diagnostic::{Diagnostic, Severity};
pub use scope::{Host, Scope};
pub use statecraft_types::Failure;

/// Parses a definition (JSON or YAML text) and checks it. `Err` holds every
/// diagnostic (warnings too) when at least one is an error; each has its
/// line and column in `text`.
pub fn parse(text: &str) -> Result<ast::StateMachine, Vec<Diagnostic>> {
    let (machine, diagnostics) = check_text(text);
    finish(machine, diagnostics)
}

/// Every diagnostic (errors and warnings) for a definition text, with line
/// and column. Empty when the definition is valid.
pub fn validate(text: &str) -> Vec<Diagnostic> {
    check_text(text).1
}

/// Like [`parse`], for a definition that is already a JSON value (the
/// diagnostics then have pointers but no line or column).
pub fn parse_value(value: &serde_json::Value) -> Result<ast::StateMachine, Vec<Diagnostic>> {
    let (machine, diagnostics) = check_value(value);
    finish(machine, diagnostics)
}

fn finish(
    machine: Option<ast::StateMachine>,
    diagnostics: Vec<Diagnostic>,
) -> Result<ast::StateMachine, Vec<Diagnostic>> {
    let failed = diagnostics.iter().any(|d| d.severity == Severity::Error);
    match machine {
        Some(m) if !failed => Ok(m),
        _ => Err(diagnostics),
    }
}

fn check_value(value: &serde_json::Value) -> (Option<ast::StateMachine>, Vec<Diagnostic>) {
    let (machine, mut diagnostics) = decode::decode(value);
    if let Some(m) = &machine {
        diagnostics.extend(validate::validate(m));
    }
    (machine, diagnostics)
}

fn check_text(text: &str) -> (Option<ast::StateMachine>, Vec<Diagnostic>) {
    match source::read(text) {
        Err(diagnostics) => (None, diagnostics),
        Ok(src) => {
            let (machine, more) = check_value(&src.value);
            let mut diagnostics = src.diagnostics;
            for d in &mut diagnostics {
                rename_duplicate_state(d);
            }
            diagnostics.extend(more);
            src.map.locate(&mut diagnostics);
            (machine, diagnostics)
        }
    }
}

/// A key repeated in a `States` object is a state defined twice: report it
/// with AWS's code for that rather than as a plain duplicate key.
fn rename_duplicate_state(d: &mut Diagnostic) {
    if d.code != source::DUPLICATE_KEY {
        return;
    }
    let Some((parent, name)) = d.pointer.rsplit_once('/') else {
        return;
    };
    let Some(holder) = parent.strip_suffix("/States") else {
        return;
    };
    let is_scope = holder.is_empty()
        || holder.ends_with("/ItemProcessor")
        || holder.ends_with("/Iterator")
        || holder
            .rsplit_once('/')
            .is_some_and(|(p, i)| p.ends_with("/Branches") && i.parse::<usize>().is_ok());
    if is_scope {
        let name = name.replace("~1", "/").replace("~0", "~");
        d.code = validate::DUPLICATE_STATE_NAME.to_string();
        d.message = format!(
            "Duplicate State name: {name}. The state is defined twice in this \"States\" object; rename or remove one (the last one is used)."
        );
    }
}
