//! Task states, and the Retry and Catch rules of Task, Parallel and Map.

use super::*;

impl Decoder {
    pub(super) fn task(&mut self, obj: &Map<String, Value>, ql: QueryLanguage, at: At<'_>) -> Task {
        let transition = self.transition(obj, at);
        let resource = match obj.get("Resource") {
            None => {
                self.required(at, "Resource");
                String::new()
            }
            Some(_) => self
                .string(obj, "Resource", at)
                .unwrap_or_default()
                .to_string(),
        };
        if is_jsonata(&resource) {
            self.field_error(
                at,
                "Resource",
                "The field \"Resource\" must be a constant ARN; it cannot be a JSONata expression. Pass dynamic values in \"Arguments\".".to_string(),
            );
        }
        if resource.is_empty() && obj.get("Resource").is_some_and(Value::is_string) {
            self.field_error(
                at,
                "Resource",
                "The field \"Resource\" must not be empty; give the ARN of the task's resource."
                    .to_string(),
            );
        }
        let timeout = self.number_source(
            obj,
            "TimeoutSeconds",
            Some("TimeoutSecondsPath"),
            ql,
            at,
            1,
            MAX_SECONDS,
            true,
        );
        let heartbeat = self.number_source(
            obj,
            "HeartbeatSeconds",
            Some("HeartbeatSecondsPath"),
            ql,
            at,
            1,
            MAX_SECONDS,
            true,
        );
        if let (Some(NumberSource::Literal(t)), Some(NumberSource::Literal(h))) =
            (&timeout, &heartbeat)
        {
            if h >= t {
                self.field_error(
                    at,
                    "HeartbeatSeconds",
                    format!(
                        "\"HeartbeatSeconds\" ({h}) must be smaller than \"TimeoutSeconds\" ({t}); lower it or raise the timeout."
                    ),
                );
            }
        }
        let credentials = self.credentials(obj, ql, at);
        Task {
            transition,
            resource,
            timeout,
            heartbeat,
            credentials,
            retry: self.retriers(obj, at),
            catch: self.catchers(obj, ql, at),
        }
    }

    pub(super) fn credentials(
        &mut self,
        obj: &Map<String, Value>,
        ql: QueryLanguage,
        at: At<'_>,
    ) -> Option<Value> {
        let creds = self.object(obj, "Credentials", at)?;
        let pointer = pointer_push(at.pointer, "Credentials");
        let cat = At {
            pointer: &pointer,
            state: at.state,
        };
        let dynamic_key = ql == QueryLanguage::JsonPath && creds.contains_key("RoleArn.$");
        if !creds.contains_key("RoleArn") && !dynamic_key {
            self.error(
                cat,
                pointer.clone(),
                "The field 'RoleArn' is required but was missing; add \"RoleArn\" with the ARN of the role to assume.".to_string(),
            );
        }
        if creds.contains_key("RoleArn") && dynamic_key {
            self.error(
                cat,
                pointer.clone(),
                "The fields \"RoleArn\" and \"RoleArn.$\" cannot both be set; keep one."
                    .to_string(),
            );
        }
        for key in creds.keys() {
            let ok = key == "RoleArn" || (key == "RoleArn.$" && ql == QueryLanguage::JsonPath);
            if !ok {
                self.unsupported(
                    cat,
                    key,
                    format!(
                        "Field '{key}' is not supported in \"Credentials\"; only \"RoleArn\" is."
                    ),
                );
            }
        }
        if let Some(s) = creds.get("RoleArn") {
            if !s.is_string() {
                self.field_error(
                    cat,
                    "RoleArn",
                    format!(
                        "The field \"RoleArn\" must be a string, but it is {}.",
                        describe(s)
                    ),
                );
            } else if ql == QueryLanguage::Jsonata {
                self.check_jsonata_strings(s, &pointer_push(&pointer, "RoleArn"), cat);
            }
        }
        if dynamic_key {
            if let Some(s) = self.string(creds, "RoleArn.$", cat) {
                if let Err(e) = Expr::parse(s) {
                    self.field_error(
                        cat,
                        "RoleArn.$",
                        format!("The value of \"RoleArn.$\" is not a valid path or intrinsic function: {e}."),
                    );
                }
            }
        }
        Some(Value::Object(creds.clone()))
    }

    /// `ErrorEquals`: a non-empty array of strings (name checks are in validate).
    pub(super) fn error_equals(&mut self, obj: &Map<String, Value>, at: At<'_>) -> Vec<String> {
        match obj.get("ErrorEquals") {
            None => {
                self.required(at, "ErrorEquals");
                Vec::new()
            }
            Some(Value::Array(items)) => {
                if items.is_empty() {
                    self.field_error(
                        at,
                        "ErrorEquals",
                        "The field \"ErrorEquals\" must list at least one error name, e.g. [\"States.ALL\"].".to_string(),
                    );
                }
                let mut out = Vec::new();
                for (i, v) in items.iter().enumerate() {
                    match v.as_str() {
                        Some(s) => out.push(s.to_string()),
                        None => self.error(
                            at,
                            pointer_push(&pointer_push(at.pointer, "ErrorEquals"), &i.to_string()),
                            format!(
                                "Error names in \"ErrorEquals\" must be strings, but this is {}.",
                                describe(v)
                            ),
                        ),
                    }
                }
                out
            }
            Some(other) => {
                self.field_error(
                    at,
                    "ErrorEquals",
                    format!(
                        "The field \"ErrorEquals\" must be an array of error names, but it is {}.",
                        describe(other)
                    ),
                );
                Vec::new()
            }
        }
    }

    pub(super) fn retriers(&mut self, obj: &Map<String, Value>, at: At<'_>) -> Vec<Retrier> {
        let mut out = Vec::new();
        for (pointer, v) in self.array(obj, "Retry", at) {
            let rat = At {
                pointer: &pointer,
                state: at.state,
            };
            let Some(r) = v.as_object() else {
                self.error(
                    rat,
                    pointer.clone(),
                    format!(
                        "A Retry rule must be an object, but this is {}.",
                        describe(v)
                    ),
                );
                continue;
            };
            self.check_keys(
                r,
                &[
                    "ErrorEquals",
                    "IntervalSeconds",
                    "MaxAttempts",
                    "BackoffRate",
                    "MaxDelaySeconds",
                    "JitterStrategy",
                    "Comment",
                ],
                "a Retry rule",
                rat,
            );
            let error_equals = self.error_equals(r, rat);
            self.string(r, "Comment", rat);
            let interval_seconds = self
                .integer(r, "IntervalSeconds", rat, 1, MAX_SECONDS)
                .unwrap_or(1);
            let max_attempts = self
                .integer(r, "MaxAttempts", rat, 0, MAX_SECONDS)
                .unwrap_or(3);
            let backoff_rate = match r.get("BackoffRate") {
                None => 2.0,
                Some(v) => match v.as_f64() {
                    Some(f) if f >= 1.0 => f,
                    _ => {
                        self.field_error(
                            rat,
                            "BackoffRate",
                            format!(
                                "The field \"BackoffRate\" must be a number of at least 1.0, but it is {}.",
                                describe(v)
                            ),
                        );
                        2.0
                    }
                },
            };
            let max_delay_seconds = self.integer(r, "MaxDelaySeconds", rat, 1, MAX_DELAY_SECONDS);
            let jitter = match r.get("JitterStrategy") {
                None => Jitter::None,
                Some(v) => match v.as_str() {
                    Some("FULL") => Jitter::Full,
                    Some("NONE") => Jitter::None,
                    _ => {
                        self.field_error(
                            rat,
                            "JitterStrategy",
                            format!(
                                "The field \"JitterStrategy\" must be \"FULL\" or \"NONE\", but it is {}.",
                                describe(v)
                            ),
                        );
                        Jitter::None
                    }
                },
            };
            out.push(Retrier {
                error_equals,
                interval_seconds,
                max_attempts,
                backoff_rate,
                max_delay_seconds,
                jitter,
                pointer: pointer.clone(),
            });
        }
        out
    }

    pub(super) fn catchers(
        &mut self,
        obj: &Map<String, Value>,
        ql: QueryLanguage,
        at: At<'_>,
    ) -> Vec<Catcher> {
        let mut out = Vec::new();
        for (pointer, v) in self.array(obj, "Catch", at) {
            let cat = At {
                pointer: &pointer,
                state: at.state,
            };
            let Some(c) = v.as_object() else {
                self.error(
                    cat,
                    pointer.clone(),
                    format!(
                        "A Catch rule must be an object, but this is {}.",
                        describe(v)
                    ),
                );
                continue;
            };
            let allowed: &[&str] = match ql {
                QueryLanguage::JsonPath => {
                    &["ErrorEquals", "Next", "ResultPath", "Assign", "Comment"]
                }
                QueryLanguage::Jsonata => &["ErrorEquals", "Next", "Output", "Assign", "Comment"],
            };
            for key in c.keys() {
                if allowed.contains(&key.as_str()) {
                    continue;
                }
                let message = match (ql, key.as_str()) {
                    (QueryLanguage::Jsonata, "ResultPath") => "Field 'ResultPath' is not supported in JSONata states; use \"Output\" with $states.errorOutput instead.".to_string(),
                    (QueryLanguage::JsonPath, "Output") => "Field 'Output' is not supported in JSONPath states (it is a JSONata field); use \"ResultPath\" here.".to_string(),
                    _ => format!(
                        "Field '{key}' is not supported in a Catch rule{}; remove it.",
                        case_hint(key, allowed)
                    ),
                };
                self.unsupported(cat, key, message);
            }
            let error_equals = self.error_equals(c, cat);
            self.string(c, "Comment", cat);
            let next = match c.get("Next") {
                None => {
                    self.required(cat, "Next");
                    String::new()
                }
                Some(_) => self.string(c, "Next", cat).unwrap_or_default().to_string(),
            };
            let result_path = match ql {
                QueryLanguage::JsonPath => self.nullable_reference_path(c, "ResultPath", cat),
                QueryLanguage::Jsonata => None,
            };
            let output = match ql {
                QueryLanguage::Jsonata => self.jsonata_raw(c, "Output", cat),
                QueryLanguage::JsonPath => None,
            };
            let assign = self.assign(c, cat, ql);
            out.push(Catcher {
                error_equals,
                next,
                result_path,
                assign,
                output,
                pointer: pointer.clone(),
            });
        }
        out
    }
}
