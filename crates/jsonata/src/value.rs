//! The internal value model of the evaluator: JSON values plus JSONata's
//! `undefined`, sequences (arrays with singleton/keep-array flags), functions
//! (lambdas, built-ins, partial applications, transforms) and regexes.
//! Compound values are reference counted so passing them around is cheap.

use std::sync::Arc;

use indexmap::IndexMap;

use crate::ast::{LambdaDef, TransformDef};
use crate::error::Error;

/// Object map with insertion order preserved.
pub type Map = IndexMap<Arc<str>, Value>;

/// Flags carried by an array value.
pub mod flags {
    /// The array is a result sequence (collapses to its single item).
    pub const SEQ: u8 = 1;
    /// A singleton sequence must be kept as an array (`[]` in a path).
    pub const KEEP: u8 = 2;
    /// The array came from an array constructor.
    pub const CONS: u8 = 4;
    /// The input array was wrapped as a sequence at the top level.
    pub const OUTER: u8 = 8;
}

/// A JSONata value.
#[derive(Clone, Debug)]
pub enum Value {
    Undefined,
    Null,
    Bool(bool),
    Number(f64),
    String(Arc<str>),
    Array(Arc<Vec<Value>>, u8),
    Object(Arc<Map>),
    Func(Arc<Func>),
}

/// A callable value.
#[derive(Debug)]
pub enum Func {
    /// A user lambda: parameters, body, captured frame and context.
    Lambda {
        def: Arc<LambdaDef>,
        frame: usize,
        input: Value,
    },
    /// A built-in function by name.
    Builtin(&'static str),
    /// A partially applied function; `None` marks a placeholder.
    Partial {
        func: Value,
        args: Vec<Option<Value>>,
    },
    /// A compiled regular expression.
    Regex(Arc<crate::regex::JsRegex>),
    /// A transform expression `| pattern | update, delete |`.
    Transform {
        def: Arc<TransformDef>,
        frame: usize,
    },
    /// Function composition `f ~> g` where both are functions.
    Chain(Value, Value),
    /// The `next` function of a regex match object.
    MatchNext {
        re: Arc<crate::regex::JsRegex>,
        text: Arc<str>,
        from: usize,
    },
}

impl Value {
    pub fn str(s: &str) -> Value {
        Value::String(Arc::from(s))
    }
    pub fn string(s: String) -> Value {
        Value::String(Arc::from(s))
    }
    pub fn array(v: Vec<Value>) -> Value {
        Value::Array(Arc::new(v), 0)
    }
    pub fn seq(v: Vec<Value>) -> Value {
        Value::Array(Arc::new(v), flags::SEQ)
    }
    pub fn object(m: Map) -> Value {
        Value::Object(Arc::new(m))
    }
    pub fn is_undefined(&self) -> bool {
        matches!(self, Value::Undefined)
    }
    pub fn is_array(&self) -> bool {
        matches!(self, Value::Array(..))
    }
    pub fn is_seq(&self) -> bool {
        matches!(self, Value::Array(_, f) if f & flags::SEQ != 0)
    }
    pub fn has_flag(&self, flag: u8) -> bool {
        matches!(self, Value::Array(_, f) if f & flag != 0)
    }
    pub fn is_func(&self) -> bool {
        matches!(self, Value::Func(_))
    }
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
    /// Items of an array, or the value itself as a one-item slice.
    pub fn members(&self) -> &[Value] {
        match self {
            Value::Array(a, _) => a,
            Value::Undefined => &[],
            other => std::slice::from_ref(other),
        }
    }
    /// An array view: arrays as they are, undefined as empty, others wrapped.
    pub fn into_vec(self) -> Vec<Value> {
        match self {
            Value::Array(a, _) => Arc::try_unwrap(a).unwrap_or_else(|a| (*a).clone()),
            Value::Undefined => Vec::new(),
            other => vec![other],
        }
    }
    pub fn with_flags(self, add: u8) -> Value {
        match self {
            Value::Array(a, f) => Value::Array(a, f | add),
            other => other,
        }
    }
    /// JSONata type name as returned by `$type`.
    pub fn type_name(&self) -> Option<&'static str> {
        Some(match self {
            Value::Undefined => return None,
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(..) => "array",
            Value::Object(_) => "object",
            Value::Func(_) => "function",
        })
    }

    /// Convert a JSON value into the internal model (a deep copy).
    pub fn from_json(v: &serde_json::Value) -> Value {
        match v {
            serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
                stacker::maybe_grow(crate::eval::RED_ZONE, crate::eval::STACK_CHUNK, || {
                    Value::from_json_inner(v)
                })
            }
            _ => Value::from_json_inner(v),
        }
    }

    fn from_json_inner(v: &serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Number(n.as_f64().unwrap_or(0.0)),
            serde_json::Value::String(s) => Value::str(s),
            serde_json::Value::Array(a) => Value::array(a.iter().map(Value::from_json).collect()),
            serde_json::Value::Object(o) => {
                let mut m = Map::with_capacity(o.len());
                for (k, v) in o {
                    m.insert(Arc::from(k.as_str()), Value::from_json(v));
                }
                Value::object(m)
            }
        }
    }

    /// Convert to JSON; `None` for undefined. Functions become empty strings;
    /// undefined members of objects are dropped and of arrays skipped.
    pub fn to_json(&self) -> Result<Option<serde_json::Value>, Error> {
        self.to_json_depth(0)
    }

    fn to_json_depth(&self, depth: usize) -> Result<Option<serde_json::Value>, Error> {
        stacker::maybe_grow(crate::eval::RED_ZONE, crate::eval::STACK_CHUNK, || {
            self.to_json_inner(depth)
        })
    }

    fn to_json_inner(&self, depth: usize) -> Result<Option<serde_json::Value>, Error> {
        if depth > 1_000 {
            return Err(Error::new(
                "U1001",
                "Result is nested too deeply to serialize",
            ));
        }
        Ok(Some(match self {
            Value::Undefined => return Ok(None),
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => number_to_json(*n),
            Value::String(s) => serde_json::Value::String(s.to_string()),
            Value::Array(a, _) => {
                let mut out = Vec::with_capacity(a.len());
                for item in a.iter() {
                    if let Some(j) = item.to_json_depth(depth + 1)? {
                        out.push(j);
                    }
                }
                serde_json::Value::Array(out)
            }
            Value::Object(o) => {
                let mut out = serde_json::Map::with_capacity(o.len());
                for (k, v) in o.iter() {
                    if let Some(j) = v.to_json_depth(depth + 1)? {
                        out.insert(k.to_string(), j);
                    }
                }
                serde_json::Value::Object(out)
            }
            Value::Func(_) => serde_json::Value::String(String::new()),
        }))
    }
}

/// Numbers that are whole and in the safe integer range become JSON integers.
pub fn number_to_json(n: f64) -> serde_json::Value {
    if n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 {
        if n == 0.0 {
            return serde_json::Value::from(0i64);
        }
        serde_json::Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null)
    }
}

/// Deep equality as JSONata's `=` operator defines it.
pub fn deep_equal(a: &Value, b: &Value) -> bool {
    stacker::maybe_grow(crate::eval::RED_ZONE, crate::eval::STACK_CHUNK, || {
        deep_equal_inner(a, b)
    })
}

fn deep_equal_inner(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Undefined, Value::Undefined) => true,
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Number(x), Value::Number(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Array(x, _), Value::Array(y, _)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| deep_equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).map(|w| deep_equal(v, w)).unwrap_or(false))
        }
        (Value::Func(x), Value::Func(y)) => Arc::ptr_eq(x, y),
        _ => false,
    }
}

/// Drop a value without recursion, so very deeply nested values built at
/// run time cannot overflow the stack when they are released.
pub fn drop_deep(v: Value) {
    // shared or flat values are released by an ordinary (shallow) drop
    let unique = match &v {
        Value::Array(a, _) => Arc::strong_count(a) == 1 && !a.is_empty(),
        Value::Object(m) => Arc::strong_count(m) == 1 && !m.is_empty(),
        Value::Func(f) => Arc::strong_count(f) == 1,
        _ => false,
    };
    if !unique {
        return;
    }
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::Array(a, _) => {
                if let Ok(items) = Arc::try_unwrap(a) {
                    stack.extend(items);
                }
            }
            Value::Object(m) => {
                if let Ok(map) = Arc::try_unwrap(m) {
                    stack.extend(map.into_values());
                }
            }
            Value::Func(f) => {
                if let Ok(func) = Arc::try_unwrap(f) {
                    match func {
                        Func::Lambda { input, .. } => stack.push(input),
                        Func::Partial { func, args } => {
                            stack.push(func);
                            stack.extend(args.into_iter().flatten());
                        }
                        Func::Chain(a, b) => {
                            stack.push(a);
                            stack.push(b);
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
}
