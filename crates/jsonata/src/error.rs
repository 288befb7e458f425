//! The error type shared by the parser and the evaluator, carrying JSONata's
//! error codes (`S0xxx` syntax, `T` type, `D` dynamic, `U` resource limits).

/// The message of the `U1001` of an evaluation that went deeper than its
/// depth limit (JSONata's own wording).
pub(crate) const DEPTH_LIMIT_MESSAGE: &str = "Stack overflow error: Check for non-terminating recursive function.  Consider rewriting as tail-recursive.";
/// The message of the `U1001` of an evaluation that ran out of time
/// (JSONata's own wording).
pub(crate) const TIME_LIMIT_MESSAGE: &str =
    "Expression evaluation timeout: Check for infinite loop";

/// An error raised while parsing or evaluating an expression.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
#[error("{code}: {message}")]
pub struct Error {
    /// The JSONata error code, e.g. `"T2001"`.
    pub code: String,
    /// Character offset in the expression, where known.
    pub position: Option<usize>,
    /// The offending token, where known.
    pub token: Option<String>,
    /// A human readable description.
    pub message: String,
}

impl Error {
    /// An error with a code and message.
    pub fn new(code: &str, message: impl Into<String>) -> Error {
        Error {
            code: code.to_string(),
            position: None,
            token: None,
            message: message.into(),
        }
    }
    /// An error at a position.
    pub fn at(code: &str, position: usize, message: impl Into<String>) -> Error {
        Error {
            code: code.to_string(),
            position: Some(position),
            token: None,
            message: message.into(),
        }
    }
    /// Attach a token.
    pub fn with_token(mut self, token: impl Into<String>) -> Error {
        self.token = Some(token.into());
        self
    }
    /// Whether evaluation stopped at the time limit of its environment
    /// ([`crate::Environment::with_limits`]).
    pub fn is_time_limit(&self) -> bool {
        self.code == "U1001" && self.message == TIME_LIMIT_MESSAGE
    }
    /// Whether evaluation stopped at the depth limit of its environment
    /// ([`crate::Environment::with_limits`]).
    pub fn is_depth_limit(&self) -> bool {
        self.code == "U1001" && self.message == DEPTH_LIMIT_MESSAGE
    }
    /// Attach a position unless one is already set.
    pub fn or_pos(mut self, position: usize) -> Error {
        if self.position.is_none() {
            self.position = Some(position);
        }
        self
    }
}
