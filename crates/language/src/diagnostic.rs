//! Diagnostics: what the parser and the validator report about a definition.
//! Each names where the problem is (the state, a JSON Pointer and, when the
//! source text is known, line and column) and says what to do about it.
//!
//! The codes are stable; AWS's where AWS has one:
//!
//! | Code | Severity | Cause |
//! |---|---|---|
//! | `INVALID_JSON_DESCRIPTION` | error | JSON syntax error (the text starts with `{`) |
//! | `INVALID_YAML_DESCRIPTION` | error | YAML syntax error, several documents, or an alias bomb |
//! | `DUPLICATE_KEY` | error | a key appears twice in one object |
//! | `SCHEMA_VALIDATION_FAILED` | error | a field is missing, unknown, misplaced, of the wrong type or out of range; a path or template does not compile |
//! | `TOO_DEEPLY_NESTED` | error | branches/processors or Choice rules nested too deep |
//! | `MISSING_TRANSITION_TARGET` | error | `StartAt`/`Next`/`Default` names no state of its scope, or a state is unreachable |
//! | `DUPLICATE_STATE_NAME` | error | a state name is used twice anywhere in the machine |
//! | `INVALID_STATE_NAME` | error | a state name is empty or longer than 80 characters |
//! | `MISSING_END_STATE` | error | no terminal state can be reached in a scope |
//! | `NO_DOLLAR` | warning | a template value looks like a path but its key lacks `.$` |
//! | `PASS_RESULT_IS_STATIC` | warning | a Pass `Result` has `.$` keys, which are not evaluated |
//! | `JSONATA_CONSTANT` | warning | a string in a JSONata field looks like an expression but is not exactly `{% … %}` |
//! | `INLINE_MAP_FIELD` | warning | a distributed-Map field on an inline Map |

use serde::Serialize;

/// Errors make a definition invalid; warnings point at likely mistakes in a
/// definition AWS would still accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// A stable code, e.g. `SCHEMA_VALIDATION_FAILED`, `MISSING_TRANSITION_TARGET`.
    pub code: String,
    /// A sentence a user can act on.
    pub message: String,
    /// JSON Pointer (RFC 6901) into the definition, e.g. `/States/Wait/Seconds`.
    pub pointer: String,
    /// The state the problem is in, if any.
    pub state: Option<String>,
    /// Where in the text to point, when that differs from `pointer`: AWS
    /// reports an unsupported field at the object that holds it, but the
    /// line and column are the field's own.
    pub located_at: Option<String>,
    /// 1-based line and column in the source text, when known.
    pub line: Option<u32>,
    pub column: Option<u32>,
}

impl Diagnostic {
    pub fn error(
        code: impl Into<String>,
        pointer: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code: code.into(),
            message: message.into(),
            pointer: pointer.into(),
            state: None,
            located_at: None,
            line: None,
            column: None,
        }
    }

    /// A problem that does not stop the definition from being accepted.
    pub fn warning(
        code: impl Into<String>,
        pointer: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Self::error(code, pointer, message)
        }
    }

    pub fn in_state(mut self, state: impl Into<String>) -> Self {
        self.state = Some(state.into());
        self
    }

    /// The pointer as AWS prints it: `/` for the whole document.
    pub fn location(&self) -> &str {
        if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        }
    }

    /// The diagnostic as AWS words it inside an `InvalidDefinition` error:
    /// `CODE: message at /pointer`.
    pub fn aws_text(&self) -> String {
        format!("{}: {} at {}", self.code, self.message, self.location())
    }
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let (Some(l), Some(c)) = (self.line, self.column) {
            write!(f, "{l}:{c}: ")?;
        }
        write!(f, "{}", self.message)?;
        if let Some(s) = &self.state {
            write!(f, " (state \"{s}\"")?;
        } else {
            write!(f, " (")?;
        }
        if self.state.is_some() {
            write!(f, ", ")?;
        }
        write!(
            f,
            "at {})",
            if self.pointer.is_empty() {
                "/"
            } else {
                &self.pointer
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_text_uses_slash_for_the_root() {
        let d = Diagnostic::error(
            "SCHEMA_VALIDATION_FAILED",
            "",
            "These fields are required: [States]",
        );
        assert_eq!(
            d.aws_text(),
            "SCHEMA_VALIDATION_FAILED: These fields are required: [States] at /"
        );
        let w = Diagnostic::warning("NO_DOLLAR", "/States/A", "x").in_state("A");
        assert_eq!(w.severity, Severity::Warning);
        assert_eq!(w.to_string(), "x (state \"A\", at /States/A)");
    }
}
