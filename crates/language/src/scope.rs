//! What an expression is evaluated against: the state's input (`$`), the
//! Context object (`$$`), the variables in scope (`$name`), and the host that
//! supplies randomness (kept outside so runs are deterministic under test).

use serde_json::{Map, Value};

/// Randomness and identity, supplied by whoever runs the workflow.
pub trait Host {
    /// A float uniformly drawn from [0, 1).
    fn random(&self) -> f64;
    /// A version-4 UUID in its canonical text form.
    fn uuid(&self) -> String;
}

/// Variables visible to a state: name (without `$`) → value.
pub type Variables = Map<String, Value>;

/// Everything a path, template, intrinsic function or Choice rule may read.
#[derive(Clone, Copy)]
pub struct Scope<'a> {
    /// `$`: the effective input at this point of the data flow.
    pub input: &'a Value,
    /// `$$`: the Context object.
    pub context: &'a Value,
    /// `$name`: workflow variables.
    pub variables: &'a Variables,
    pub host: &'a dyn Host,
}
