//! [`Secret`]: a credential from the config that never shows itself.
//!
//! Its `Debug` prints `***`, it has no `Display` and no `Serialize`, so a
//! secret cannot reach a log line, a task result or a history event by
//! accident: the only way out is [`Secret::expose`], which the code calls at
//! the one place the value goes on the wire.
//!
//! In the config a secret is either the value itself (`password = "…"`) or
//! the name of an environment variable read at startup
//! (`password = { env = "STRIPE_KEY" }`), so the file itself can be shared.

use serde::{Deserialize, Deserializer};

/// A secret string.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value, to put on the wire. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Form {
    Value(String),
    Env { env: String },
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Form::deserialize(d)? {
            Form::Value(v) => Ok(Secret(v)),
            Form::Env { env } => std::env::var(&env).map(Secret).map_err(|_| {
                serde::de::Error::custom(format!(
                    "the environment variable {env} named by a secret is not set"
                ))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn reads_a_value_or_an_environment_variable() {
        let v: Secret = serde_json::from_str("\"x\"").unwrap_or_else(|_| Secret::new(""));
        assert_eq!(v.expose(), "x");
        let path = std::env::var("PATH").unwrap_or_default();
        let e: Secret =
            serde_json::from_str(r#"{"env": "PATH"}"#).unwrap_or_else(|_| Secret::new("?"));
        assert_eq!(e.expose(), path);
        assert!(serde_json::from_str::<Secret>(r#"{"env": "STATECRAFT_NOT_SET_X"}"#).is_err());
    }
}
