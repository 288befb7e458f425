//! Wait, Fail and Parallel states.

use super::*;

impl Decoder {
    pub(super) fn wait(&mut self, obj: &Map<String, Value>, ql: QueryLanguage, at: At<'_>) -> Wait {
        let transition = self.transition(obj, at);
        let candidates: &[&str] = match ql {
            QueryLanguage::JsonPath => &["Seconds", "SecondsPath", "Timestamp", "TimestampPath"],
            QueryLanguage::Jsonata => &["Seconds", "Timestamp"],
        };
        let present: Vec<&str> = candidates
            .iter()
            .copied()
            .filter(|k| obj.contains_key(*k))
            .collect();
        let placeholder = WaitDuration::Seconds(0);
        let key = match present.as_slice() {
            [k] => *k,
            [] => {
                self.error(
                    at,
                    at.pointer.to_string(),
                    format!(
                        "A Wait state needs exactly one of {}; add one.",
                        candidates.join(", ")
                    ),
                );
                return Wait {
                    transition,
                    duration: placeholder,
                };
            }
            many => {
                self.error(
                    at,
                    at.pointer.to_string(),
                    format!(
                        "A Wait state takes exactly one of {}, but this one has {}; keep one.",
                        candidates.join(", "),
                        many.join(" and ")
                    ),
                );
                many.first().copied().unwrap_or("Seconds")
            }
        };
        let v = obj.get(key).unwrap_or(&Value::Null);
        if ql == QueryLanguage::Jsonata {
            self.check_jsonata_strings(v, &pointer_push(at.pointer, key), at);
        }
        let duration = match key {
            "Seconds" => match v {
                Value::String(s) if ql == QueryLanguage::Jsonata && is_jsonata(s) => {
                    Some(WaitDuration::SecondsExpression(v.clone()))
                }
                _ => self
                    .integer(obj, "Seconds", at, 0, MAX_SECONDS)
                    .map(WaitDuration::Seconds),
            },
            "SecondsPath" => self
                .reference_path(obj, key, at)
                .map(WaitDuration::SecondsPath),
            "TimestampPath" => self
                .reference_path(obj, key, at)
                .map(WaitDuration::TimestampPath),
            _ => match v {
                Value::String(s) if ql == QueryLanguage::Jsonata && is_jsonata(s) => {
                    Some(WaitDuration::TimestampExpression(v.clone()))
                }
                Value::String(s) if is_rfc3339(s) => Some(WaitDuration::Timestamp(s.clone())),
                Value::String(_) => {
                    self.field_error(
                        at,
                        "Timestamp",
                        "String does not match RFC3339 timestamp; write it like \"2016-03-14T01:59:00Z\".".to_string(),
                    );
                    None
                }
                other => {
                    self.field_error(
                        at,
                        "Timestamp",
                        format!("The field \"Timestamp\" must be an RFC 3339 timestamp string, but it is {}.", describe(other)),
                    );
                    None
                }
            },
        };
        Wait {
            transition,
            duration: duration.unwrap_or(placeholder),
        }
    }

    pub(super) fn fail(&mut self, obj: &Map<String, Value>, ql: QueryLanguage, at: At<'_>) -> Fail {
        let source = |d: &mut Self, key: &str, path_key: &str| -> Option<StringSource> {
            let literal = d.string(obj, key, at).map(|s| match ql {
                QueryLanguage::Jsonata if is_jsonata(s) => {
                    StringSource::Expression(Value::String(s.to_string()))
                }
                _ => StringSource::Literal(s.to_string()),
            });
            if ql == QueryLanguage::Jsonata {
                if let Some(v) = obj.get(key) {
                    d.check_jsonata_strings(v, &pointer_push(at.pointer, key), at);
                }
                return literal;
            }
            if !obj.contains_key(path_key) {
                return literal;
            }
            if obj.contains_key(key) {
                d.error(
                    at,
                    at.pointer.to_string(),
                    format!(
                        "The fields \"{key}\" and \"{path_key}\" cannot both be set; keep one."
                    ),
                );
            }
            let s = d.string(obj, path_key, at)?;
            match Expr::parse(s) {
                Ok(e) => literal.or(Some(StringSource::Dynamic(e))),
                Err(e) => {
                    d.field_error(
                        at,
                        path_key,
                        format!("The value of \"{path_key}\" is not a valid path or intrinsic function: {e}."),
                    );
                    literal
                }
            }
        };
        let error = source(self, "Error", "ErrorPath");
        let cause = source(self, "Cause", "CausePath");
        Fail { error, cause }
    }

    pub(super) fn parallel(
        &mut self,
        obj: &Map<String, Value>,
        ql: QueryLanguage,
        at: At<'_>,
        depth: usize,
    ) -> Parallel {
        let transition = self.transition(obj, at);
        let mut branches = Vec::new();
        match obj.get("Branches") {
            None => self.required(at, "Branches"),
            Some(Value::Array(a)) if a.is_empty() => self.field_error(
                at,
                "Branches",
                "The field \"Branches\" must hold at least one branch.".to_string(),
            ),
            _ => {}
        }
        for (pointer, v) in self.array(obj, "Branches", at) {
            branches.push(self.sub_machine(v, &pointer, Level::Branch, at, depth));
        }
        Parallel {
            transition,
            branches,
            retry: self.retriers(obj, at),
            catch: self.catchers(obj, ql, at),
        }
    }
}
