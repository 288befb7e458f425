//! Intrinsic functions (`States.Format`, `States.Array`, …): parsing of the
//! call syntax, with nesting, literals and paths as arguments, and evaluation
//! with AWS's results and AWS's failures on misuse.
//!
//! A call is parsed once, when the definition is loaded: the function is
//! resolved and a literal `States.Format` template split into its pieces,
//! so that evaluation does no string parsing. The functions themselves live
//! in the `functions` submodule.
//!
//! What AWS rejects when a definition is created, and what only at run time,
//! follows AWS: an unknown function or broken syntax is a parse error; a
//! wrong number or type of arguments is accepted and fails when the call is
//! evaluated, with `States.Runtime` and the cause `Invalid arguments in
//! States.X` (AWS does not raise the `States.IntrinsicFailure` the
//! specification names). [`Call::problems`] reports those certain run-time
//! failures early, for the validator to warn about.

mod functions;

use std::borrow::Cow;

use serde_json::Value;

use crate::path::{self, Path, Selection};
use crate::{Failure, Scope};

/// Why an intrinsic function call cannot be parsed (reported by the
/// validator at definition time).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct IntrinsicError {
    pub message: String,
}

/// Calls nest (`States.Array(States.Array(…))`); bounding the depth keeps a
/// hostile definition from overflowing the stack.
const MAX_NESTING: usize = 32;

/// The intrinsic functions of ASL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Format,
    StringToJson,
    JsonToString,
    Array,
    ArrayPartition,
    ArrayContains,
    ArrayRange,
    ArrayGetItem,
    ArrayLength,
    ArrayUnique,
    Base64Encode,
    Base64Decode,
    Hash,
    JsonMerge,
    MathRandom,
    MathAdd,
    StringSplit,
    Uuid,
}

/// What a parameter accepts; used to type-check literal arguments at parse
/// time and every argument at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Any,
    String,
    Number,
    Boolean,
    Array,
    Object,
}

impl Kind {
    fn accepts(self, v: &Value) -> bool {
        match self {
            Kind::Any => true,
            Kind::String => v.is_string(),
            Kind::Number => v.is_number(),
            Kind::Boolean => v.is_boolean(),
            Kind::Array => v.is_array(),
            Kind::Object => v.is_object(),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Any => "a value",
            Kind::String => "a string",
            Kind::Number => "a number",
            Kind::Boolean => "a boolean",
            Kind::Array => "an array",
            Kind::Object => "a JSON object",
        }
    }
}

impl Function {
    pub fn from_name(name: &str) -> Option<Function> {
        Some(match name {
            "Format" => Function::Format,
            "StringToJson" => Function::StringToJson,
            "JsonToString" => Function::JsonToString,
            "Array" => Function::Array,
            "ArrayPartition" => Function::ArrayPartition,
            "ArrayContains" => Function::ArrayContains,
            "ArrayRange" => Function::ArrayRange,
            "ArrayGetItem" => Function::ArrayGetItem,
            "ArrayLength" => Function::ArrayLength,
            "ArrayUnique" => Function::ArrayUnique,
            "Base64Encode" => Function::Base64Encode,
            "Base64Decode" => Function::Base64Decode,
            "Hash" => Function::Hash,
            "JsonMerge" => Function::JsonMerge,
            "MathRandom" => Function::MathRandom,
            "MathAdd" => Function::MathAdd,
            "StringSplit" => Function::StringSplit,
            "UUID" => Function::Uuid,
            _ => return None,
        })
    }

    /// The full name, e.g. `States.ArrayRange`.
    pub fn name(self) -> &'static str {
        match self {
            Function::Format => "States.Format",
            Function::StringToJson => "States.StringToJson",
            Function::JsonToString => "States.JsonToString",
            Function::Array => "States.Array",
            Function::ArrayPartition => "States.ArrayPartition",
            Function::ArrayContains => "States.ArrayContains",
            Function::ArrayRange => "States.ArrayRange",
            Function::ArrayGetItem => "States.ArrayGetItem",
            Function::ArrayLength => "States.ArrayLength",
            Function::ArrayUnique => "States.ArrayUnique",
            Function::Base64Encode => "States.Base64Encode",
            Function::Base64Decode => "States.Base64Decode",
            Function::Hash => "States.Hash",
            Function::JsonMerge => "States.JsonMerge",
            Function::MathRandom => "States.MathRandom",
            Function::MathAdd => "States.MathAdd",
            Function::StringSplit => "States.StringSplit",
            Function::Uuid => "States.UUID",
        }
    }

    /// The accepted number of arguments (`max` None: unbounded).
    fn arity(self) -> (usize, Option<usize>) {
        match self {
            Function::Format => (1, None),
            Function::Array => (0, None),
            Function::Uuid => (0, Some(0)),
            Function::StringToJson
            | Function::JsonToString
            | Function::ArrayLength
            | Function::ArrayUnique
            | Function::Base64Encode
            | Function::Base64Decode => (1, Some(1)),
            Function::ArrayPartition
            | Function::ArrayContains
            | Function::ArrayGetItem
            | Function::Hash
            | Function::MathAdd
            | Function::StringSplit => (2, Some(2)),
            Function::MathRandom => (2, Some(3)),
            Function::ArrayRange | Function::JsonMerge => (3, Some(3)),
        }
    }

    /// The kind of the argument at `index`.
    pub(crate) fn param(self, index: usize) -> Kind {
        use Kind::*;
        match (self, index) {
            (Function::Format, 0) => String,
            (Function::StringToJson, _) => String,
            (Function::ArrayPartition, 0) => Array,
            (Function::ArrayPartition, _) => Number,
            (Function::ArrayContains, 0) => Array,
            (Function::ArrayRange, _) => Number,
            (Function::ArrayGetItem, 0) => Array,
            (Function::ArrayGetItem, _) => Number,
            (Function::ArrayLength | Function::ArrayUnique, _) => Array,
            (Function::Base64Encode | Function::Base64Decode, _) => String,
            // AWS hashes the JSON text of a non-string value.
            (Function::Hash, 0) => Any,
            (Function::Hash, _) => String,
            (Function::JsonMerge, 2) => Boolean,
            (Function::JsonMerge, _) => Object,
            (Function::MathRandom | Function::MathAdd, _) => Number,
            (Function::StringSplit, _) => String,
            _ => Any,
        }
    }
}

/// One argument of a call.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Literal(Value),
    Path(Path),
    Call(Box<Call>),
}

/// A piece of a `States.Format` template.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Piece {
    Text(String),
    /// `{}`.
    Slot,
    /// An unescaped `{` or `}` that is not part of `{}`: AWS fails a
    /// `States.Format` whose template has one.
    Lone(char),
}

/// A parsed intrinsic function call.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    source: String,
    function: Function,
    args: Vec<Arg>,
    /// A literal `States.Format` template, split once at parse time.
    template: Option<Vec<Piece>>,
}

/// Why an evaluation stopped: a path argument that selects nothing (the
/// caller words it with the field it is evaluating), or a failure.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum EvalError {
    PathMissing(String),
    Failed(Failure),
}

impl From<Failure> for EvalError {
    fn from(f: Failure) -> Self {
        EvalError::Failed(f)
    }
}

impl Call {
    pub fn parse(s: &str) -> Result<Call, IntrinsicError> {
        let mut p = Parser { src: s, pos: 0 };
        let call = p.call(0)?;
        // Trailing whitespace is tolerated, as around a path.
        p.skip_ws();
        if p.pos < s.len() {
            return Err(p.error("unexpected text after the closing parenthesis"));
        }
        Ok(call)
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    pub fn function(&self) -> Function {
        self.function
    }

    pub fn args(&self) -> &[Arg] {
        &self.args
    }

    /// What will certainly fail when this call is evaluated (wrong number of
    /// arguments, a literal argument of the wrong type, a literal
    /// `States.Format` template whose placeholders do not match its values,
    /// a deep `States.JsonMerge`), nested calls included. AWS accepts such
    /// definitions and fails at run time, so these are warnings, not errors.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        problems(self, &mut out);
        out
    }

    /// Every variable the call reads, nested calls included.
    pub fn references_variables(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for a in &self.args {
            let vars = match a {
                Arg::Literal(_) => Vec::new(),
                Arg::Path(p) => p.references_variables(),
                Arg::Call(c) => c.references_variables(),
            };
            for v in vars {
                if !out.contains(&v) {
                    out.push(v);
                }
            }
        }
        out
    }

    /// Evaluates the call. A path argument that selects nothing fails with
    /// `States.Runtime` (see [`Call::evaluate_field`] for AWS's wording
    /// with the field name).
    pub fn evaluate(&self, scope: &Scope<'_>) -> Result<Value, Failure> {
        self.evaluate_field(scope, &self.source)
    }

    /// Evaluates the call for the field `field` (e.g. `x.$`, `CausePath`),
    /// which names the field in the failure AWS raises when a path argument
    /// selects nothing.
    pub fn evaluate_field(&self, scope: &Scope<'_>, field: &str) -> Result<Value, Failure> {
        self.eval(scope).map_err(|e| match e {
            EvalError::PathMissing(p) => path::field_path_failure(&p, field, scope.input),
            EvalError::Failed(f) => f,
        })
    }

    pub(crate) fn eval(&self, scope: &Scope<'_>) -> Result<Value, EvalError> {
        let (min, max) = self.function.arity();
        let n = self.args.len();
        if n < min || max.is_some_and(|m| n > m) {
            return Err(functions::failure(self.function).into());
        }
        let mut values: Vec<Cow<'_, Value>> = Vec::with_capacity(self.args.len());
        for (i, a) in self.args.iter().enumerate() {
            let v = match a {
                Arg::Literal(v) => Cow::Borrowed(v),
                Arg::Path(p) => match p.resolve(scope) {
                    Selection::Missing => {
                        return Err(EvalError::PathMissing(p.as_str().to_string()))
                    }
                    Selection::Node(v) => v,
                    Selection::Nodes(v) => {
                        Cow::Owned(Value::Array(v.into_iter().map(Cow::into_owned).collect()))
                    }
                },
                Arg::Call(c) => Cow::Owned(c.eval(scope)?),
            };
            let kind = self.function.param(i);
            if !kind.accepts(&v) {
                return Err(functions::failure(self.function).into());
            }
            values.push(v);
        }
        functions::apply(self, &values, scope).map_err(EvalError::Failed)
    }
}

/// A recursive-descent parser over the call text.
struct Parser<'s> {
    src: &'s str,
    pos: usize,
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        self.src.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn error(&self, what: &str) -> IntrinsicError {
        IntrinsicError {
            message: format!(
                "invalid intrinsic function call '{}': {what} at position {}",
                self.src, self.pos
            ),
        }
    }

    fn call(&mut self, depth: usize) -> Result<Call, IntrinsicError> {
        if depth > MAX_NESTING {
            return Err(self.error("calls nest too deeply"));
        }
        self.skip_ws();
        let start = self.pos;
        if !self.rest().starts_with("States.") {
            return Err(self.error("expected 'States.' and a function name"));
        }
        self.pos += "States.".len();
        let name_start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_alphanumeric()) {
            self.pos += 1;
        }
        let name = &self.src[name_start..self.pos];
        let function = Function::from_name(name).ok_or_else(|| IntrinsicError {
            message: format!("unknown intrinsic function 'States.{name}'"),
        })?;
        self.skip_ws();
        if !self.eat(b'(') {
            return Err(self.error("expected '('"));
        }
        let mut args = Vec::new();
        let mut template = None;
        self.skip_ws();
        if !self.eat(b')') {
            loop {
                self.skip_ws();
                let (arg, pieces) = self.arg(depth)?;
                if function == Function::Format && args.is_empty() {
                    template = pieces;
                }
                args.push(arg);
                self.skip_ws();
                if self.eat(b')') {
                    break;
                }
                if !self.eat(b',') {
                    return Err(self.error("expected ',' or ')'"));
                }
            }
        }
        let source = self.src[start..self.pos].to_string();
        Ok(Call {
            source,
            function,
            args,
            template,
        })
    }

    /// One argument; for a string literal, also its `States.Format` pieces.
    fn arg(&mut self, depth: usize) -> Result<(Arg, Option<Vec<Piece>>), IntrinsicError> {
        match self.peek() {
            Some(b'\'') => {
                let pieces = self.string()?;
                let text = pieces.iter().fold(String::new(), |mut acc, p| {
                    match p {
                        Piece::Text(t) => acc.push_str(t),
                        Piece::Slot => acc.push_str("{}"),
                        Piece::Lone(c) => acc.push(*c),
                    }
                    acc
                });
                Ok((Arg::Literal(Value::String(text)), Some(pieces)))
            }
            Some(b'$') => {
                let (path, len) = Path::parse_prefix(self.rest()).map_err(|e| IntrinsicError {
                    message: format!(
                        "invalid intrinsic function call '{}': {}",
                        self.src, e.message
                    ),
                })?;
                self.pos += len;
                Ok((Arg::Path(path), None))
            }
            Some(b'S') => Ok((Arg::Call(Box::new(self.call(depth + 1)?)), None)),
            Some(b) if b == b'-' || b.is_ascii_digit() => {
                let start = self.pos;
                while self.peek().is_some_and(|b| {
                    b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E')
                }) {
                    self.pos += 1;
                }
                let text = &self.src[start..self.pos];
                let n = serde_json::from_str::<serde_json::Number>(text)
                    .map_err(|_| self.error(&format!("'{text}' is not a number")))?;
                Ok((Arg::Literal(Value::Number(n)), None))
            }
            _ => {
                for (word, v) in [
                    ("true", Value::Bool(true)),
                    ("false", Value::Bool(false)),
                    ("null", Value::Null),
                ] {
                    let rest = self.rest();
                    if rest.starts_with(word)
                        && rest
                            .as_bytes()
                            .get(word.len())
                            .is_none_or(|b| !b.is_ascii_alphanumeric())
                    {
                        self.pos += word.len();
                        return Ok((Arg::Literal(v), None));
                    }
                }
                Err(self.error(
                    "expected an argument: a quoted string, a number, true, false, null, a path or a call",
                ))
            }
        }
    }

    /// A single-quoted string. `\'`, `\{`, `\}` and `\\` are escapes; an
    /// unescaped `{}` is a `States.Format` slot. Other backslashes are kept
    /// as written (AWS does not turn `\n` into a newline).
    fn string(&mut self) -> Result<Vec<Piece>, IntrinsicError> {
        let start = self.pos;
        self.pos += 1;
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut chars = self.rest().char_indices().peekable();
        while let Some((i, ch)) = chars.next() {
            match ch {
                '\\' => match chars.peek().map(|&(_, c)| c) {
                    Some(c @ ('\'' | '{' | '}' | '\\')) => {
                        text.push(c);
                        chars.next();
                    }
                    _ => text.push('\\'),
                },
                '{' | '}' => {
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    if ch == '{' && chars.peek().map(|&(_, c)| c) == Some('}') {
                        chars.next();
                        pieces.push(Piece::Slot);
                    } else {
                        pieces.push(Piece::Lone(ch));
                    }
                }
                '\'' => {
                    self.pos += i + 1;
                    if !text.is_empty() {
                        pieces.push(Piece::Text(text));
                    }
                    return Ok(pieces);
                }
                c => text.push(c),
            }
        }
        self.pos = start;
        Err(self.error("unterminated string"))
    }
}

/// Collects the certain run-time failures of `call` and its nested calls.
fn problems(call: &Call, out: &mut Vec<String>) {
    let f = call.function;
    let n = call.args.len();
    let (min, max) = f.arity();
    if n < min || max.is_some_and(|m| n > m) {
        let expected = match max {
            Some(m) if m == min => format!("{min}"),
            Some(m) => format!("{min} to {m}"),
            None => format!("at least {min}"),
        };
        out.push(format!(
            "{} takes {expected} argument{}, but {n} {} given in '{}'",
            f.name(),
            if expected == "1" { "" } else { "s" },
            if n == 1 { "was" } else { "were" },
            call.source
        ));
    }
    for (i, a) in call.args.iter().enumerate() {
        match a {
            Arg::Literal(v) => {
                let kind = f.param(i);
                if !kind.accepts(v) {
                    out.push(format!(
                        "argument {} of {} must be {}, but is {} in '{}'",
                        i + 1,
                        f.name(),
                        kind.name(),
                        path::compact(v),
                        call.source
                    ));
                }
            }
            Arg::Call(c) => problems(c, out),
            Arg::Path(_) => {}
        }
    }
    if let Some(pieces) = &call.template {
        if pieces.iter().any(|p| matches!(p, Piece::Lone(_))) {
            out.push(format!(
                "the States.Format template has a '{{' or '}}' that is not part of '{{}}'; escape it as '\\{{' or '\\}}' in '{}'",
                call.source
            ));
        }
        let slots = pieces.iter().filter(|p| matches!(p, Piece::Slot)).count();
        let values = n.saturating_sub(1);
        if slots != values {
            out.push(format!(
                "the States.Format template has {slots} placeholder{} but {values} value{} given in '{}'",
                if slots == 1 { "" } else { "s" },
                if values == 1 { " is" } else { "s are" },
                call.source
            ));
        }
    }
    if f == Function::JsonMerge {
        if let Some(Arg::Literal(Value::Bool(true))) = call.args.get(2) {
            out.push(format!(
                "States.JsonMerge supports only a shallow merge: its third argument must be false in '{}'",
                call.source
            ));
        }
    }
}

#[cfg(test)]
mod tests;
