//! Choice states: JSONPath rules (`And`/`Or`/`Not` and every comparison
//! operator, with their `…Path` forms) and JSONata `Condition` rules.

use super::*;

/// Comparison operators with a literal operand, and whether a `…Path` form exists.
pub(super) const COMPARISONS: &[(&str, Comparison, bool)] = &[
    ("StringEquals", Comparison::StringEquals, true),
    ("StringLessThan", Comparison::StringLessThan, true),
    ("StringGreaterThan", Comparison::StringGreaterThan, true),
    (
        "StringLessThanEquals",
        Comparison::StringLessThanEquals,
        true,
    ),
    (
        "StringGreaterThanEquals",
        Comparison::StringGreaterThanEquals,
        true,
    ),
    ("StringMatches", Comparison::StringMatches, false),
    ("NumericEquals", Comparison::NumericEquals, true),
    ("NumericLessThan", Comparison::NumericLessThan, true),
    ("NumericGreaterThan", Comparison::NumericGreaterThan, true),
    (
        "NumericLessThanEquals",
        Comparison::NumericLessThanEquals,
        true,
    ),
    (
        "NumericGreaterThanEquals",
        Comparison::NumericGreaterThanEquals,
        true,
    ),
    ("BooleanEquals", Comparison::BooleanEquals, true),
    ("TimestampEquals", Comparison::TimestampEquals, true),
    ("TimestampLessThan", Comparison::TimestampLessThan, true),
    (
        "TimestampGreaterThan",
        Comparison::TimestampGreaterThan,
        true,
    ),
    (
        "TimestampLessThanEquals",
        Comparison::TimestampLessThanEquals,
        true,
    ),
    (
        "TimestampGreaterThanEquals",
        Comparison::TimestampGreaterThanEquals,
        true,
    ),
    ("IsNull", Comparison::IsNull, false),
    ("IsPresent", Comparison::IsPresent, false),
    ("IsNumeric", Comparison::IsNumeric, false),
    ("IsString", Comparison::IsString, false),
    ("IsBoolean", Comparison::IsBoolean, false),
    ("IsTimestamp", Comparison::IsTimestamp, false),
];

/// Resolves an operator key (`NumericEquals`, `NumericEqualsPath`, …).
pub(super) fn comparison(key: &str) -> Option<(Comparison, bool)> {
    for (name, op, has_path) in COMPARISONS {
        if key == *name {
            return Some((*op, false));
        }
        if *has_path && key.strip_suffix("Path") == Some(name) {
            return Some((*op, true));
        }
    }
    None
}

/// What literal an operator compares with, for messages.
pub(super) fn operand_kind(op: Comparison) -> &'static str {
    use Comparison::*;
    match op {
        StringEquals
        | StringLessThan
        | StringGreaterThan
        | StringLessThanEquals
        | StringGreaterThanEquals
        | StringMatches
        | TimestampEquals
        | TimestampLessThan
        | TimestampGreaterThan
        | TimestampLessThanEquals
        | TimestampGreaterThanEquals => "a string",
        NumericEquals
        | NumericLessThan
        | NumericGreaterThan
        | NumericLessThanEquals
        | NumericGreaterThanEquals => "a number",
        BooleanEquals | IsNull | IsPresent | IsNumeric | IsString | IsBoolean | IsTimestamp => {
            "true or false"
        }
    }
}

pub(super) fn comparison_name(op: Comparison) -> &'static str {
    COMPARISONS
        .iter()
        .find(|(_, o, _)| *o == op)
        .map(|(n, _, _)| *n)
        .unwrap_or("?")
}

impl Decoder {
    pub(super) fn choice(
        &mut self,
        obj: &Map<String, Value>,
        ql: QueryLanguage,
        at: At<'_>,
    ) -> Choice {
        let default = self.string(obj, "Default", at).map(str::to_string);
        let mut choices = Vec::new();
        match obj.get("Choices") {
            None => self.required(at, "Choices"),
            Some(Value::Array(a)) if a.is_empty() => self.field_error(
                at,
                "Choices",
                "The field \"Choices\" must hold at least one rule.".to_string(),
            ),
            _ => {}
        }
        for (pointer, v) in self.array(obj, "Choices", at) {
            let rat = At {
                pointer: &pointer,
                state: at.state,
            };
            let Some(r) = v.as_object() else {
                self.error(
                    rat,
                    pointer.clone(),
                    format!(
                        "A Choice rule must be an object, but this is {}.",
                        describe(v)
                    ),
                );
                continue;
            };
            let next = match r.get("Next") {
                None => {
                    self.error(
                        rat,
                        pointer.clone(),
                        "This Choice rule has no \"Next\"; every top-level rule needs \"Next\" with the state to go to when it matches.".to_string(),
                    );
                    String::new()
                }
                Some(_) => self.string(r, "Next", rat).unwrap_or_default().to_string(),
            };
            let assign = self.assign(r, rat, ql);
            let (rule, output) = match ql {
                QueryLanguage::Jsonata => {
                    self.check_keys(
                        r,
                        &["Condition", "Next", "Assign", "Output", "Comment"],
                        "a JSONata Choice rule (use \"Condition\")",
                        rat,
                    );
                    self.string(r, "Comment", rat);
                    let condition = match r.get("Condition") {
                        None => {
                            self.required(rat, "Condition");
                            Value::Bool(false)
                        }
                        Some(v @ Value::Bool(_)) => v.clone(),
                        Some(v @ Value::String(s)) if is_jsonata(s) => {
                            self.check_expression(s, &pointer_push(&pointer, "Condition"), rat);
                            v.clone()
                        }
                        Some(v) => {
                            self.field_error(
                                rat,
                                "Condition",
                                format!(
                                    "The field \"Condition\" must be true, false or a JSONata expression \"{{% … %}}\", but it is {}.",
                                    describe(v)
                                ),
                            );
                            Value::Bool(false)
                        }
                    };
                    let output = self.jsonata_raw(r, "Output", rat);
                    (ChoiceRule::Condition(condition), output)
                }
                QueryLanguage::JsonPath => {
                    if r.contains_key("Output") {
                        self.unsupported(
                            rat,
                            "Output",
                            "Field 'Output' is not supported in JSONPath Choice rules (it is a JSONata field); remove it.".to_string(),
                        );
                    }
                    (self.rule(r, rat, true, 0), None)
                }
            };
            choices.push(ChoiceBranch {
                rule,
                next,
                assign,
                output,
                pointer: pointer.clone(),
            });
        }
        Choice { choices, default }
    }

    /// A JSONPath Choice rule (boolean or data-test expression).
    pub(super) fn rule(
        &mut self,
        r: &Map<String, Value>,
        at: At<'_>,
        top: bool,
        depth: usize,
    ) -> ChoiceRule {
        let placeholder = ChoiceRule::Condition(Value::Bool(false));
        if depth > MAX_NESTING {
            let mut d = Diagnostic::error(
                TOO_DEEPLY_NESTED,
                at.pointer,
                format!("Choice rules are nested more than {MAX_NESTING} levels deep; simplify the rule."),
            );
            d.state = at.state.map(str::to_string);
            self.diagnostics.push(d);
            return placeholder;
        }
        let mut operators: Vec<&str> = Vec::new();
        for key in r.keys() {
            let key = key.as_str();
            match key {
                "Next" | "Assign" if top => {}
                "Comment" | "Variable" | "Output" => {}
                "Next" | "Assign" => self.unsupported(
                    at,
                    key,
                    format!("Field '{key}' is not supported in a nested Choice rule: it is only allowed in a top-level rule, not inside \"And\", \"Or\" or \"Not\"; remove it."),
                ),
                "And" | "Or" | "Not" => operators.push(key),
                "Condition" => self.unsupported(
                    at,
                    key,
                    "Field 'Condition' is not supported in JSONPath states (it is a JSONata field); use \"Variable\" with a comparison operator, or set \"QueryLanguage\": \"JSONata\".".to_string(),
                ),
                _ if comparison(key).is_some() => operators.push(key),
                _ => {
                    let known: Vec<String> = COMPARISONS
                        .iter()
                        .flat_map(|(n, _, p)| {
                            let mut v = vec![n.to_string()];
                            if *p {
                                v.push(format!("{n}Path"));
                            }
                            v
                        })
                        .collect();
                    let refs: Vec<&str> = known.iter().map(String::as_str).collect();
                    self.unsupported(
                        at,
                        key,
                        format!(
                            "Field '{key}' is not supported: it is not a Choice rule operator{}; remove it or fix its name.",
                            case_hint(key, &refs)
                        ),
                    );
                }
            }
        }
        self.string(r, "Comment", at);
        let op = match operators.as_slice() {
            [op] => *op,
            [] => {
                self.error(
                    at,
                    at.pointer.to_string(),
                    "This Choice rule has no operator; give \"Variable\" with one comparison (e.g. \"StringEquals\"), or \"And\", \"Or\" or \"Not\".".to_string(),
                );
                return placeholder;
            }
            many => {
                self.error(
                    at,
                    at.pointer.to_string(),
                    format!(
                        "This Choice rule has more than one operator ({}); a rule has exactly one, combine several with \"And\" or \"Or\".",
                        many.join(", ")
                    ),
                );
                return placeholder;
            }
        };
        match op {
            "And" | "Or" => {
                if r.contains_key("Variable") {
                    self.field_error(
                        at,
                        "Variable",
                        format!("The field \"Variable\" is not allowed beside \"{op}\"; put it in the nested rules."),
                    );
                }
                let mut rules = Vec::new();
                match r.get(op) {
                    Some(Value::Array(items)) if !items.is_empty() => {
                        let base = pointer_push(at.pointer, op);
                        for (i, v) in items.iter().enumerate() {
                            let p = pointer_push(&base, &i.to_string());
                            let nat = At {
                                pointer: &p,
                                state: at.state,
                            };
                            match v.as_object() {
                                Some(o) => rules.push(self.rule(o, nat, false, depth + 1)),
                                None => self.error(
                                    nat,
                                    p.clone(),
                                    format!(
                                        "A Choice rule must be an object, but this is {}.",
                                        describe(v)
                                    ),
                                ),
                            }
                        }
                    }
                    Some(v) => {
                        let what = if v.is_array() {
                            "an empty array".to_string()
                        } else {
                            describe(v)
                        };
                        self.field_error(
                            at,
                            op,
                            format!("The field \"{op}\" must be a non-empty array of Choice rules, but it is {what}."),
                        );
                    }
                    None => {}
                }
                if op == "And" {
                    ChoiceRule::And(rules)
                } else {
                    ChoiceRule::Or(rules)
                }
            }
            "Not" => {
                if r.contains_key("Variable") {
                    self.field_error(
                        at,
                        "Variable",
                        "The field \"Variable\" is not allowed beside \"Not\"; put it in the nested rule.".to_string(),
                    );
                }
                match r.get("Not") {
                    Some(Value::Object(o)) => {
                        let p = pointer_push(at.pointer, "Not");
                        let nat = At {
                            pointer: &p,
                            state: at.state,
                        };
                        ChoiceRule::Not(Box::new(self.rule(o, nat, false, depth + 1)))
                    }
                    Some(v) => {
                        self.field_error(
                            at,
                            "Not",
                            format!("The field \"Not\" must be a single Choice rule object, but it is {}.", describe(v)),
                        );
                        placeholder
                    }
                    None => placeholder,
                }
            }
            _ => self.comparison_rule(r, op, at).unwrap_or(placeholder),
        }
    }

    pub(super) fn comparison_rule(
        &mut self,
        r: &Map<String, Value>,
        key: &str,
        at: At<'_>,
    ) -> Option<ChoiceRule> {
        let (op, is_path) = comparison(key)?;
        let variable = match r.get("Variable") {
            None => {
                self.error(
                    at,
                    at.pointer.to_string(),
                    format!("The comparison \"{key}\" needs a \"Variable\" (the path of the value to compare); add it."),
                );
                None
            }
            Some(_) => self.path(r, "Variable", at),
        };
        let v = r.get(key)?;
        let operand = if is_path {
            self.path(r, key, at).map(Operand::Path)
        } else {
            let ok = match op {
                Comparison::StringEquals
                | Comparison::StringLessThan
                | Comparison::StringGreaterThan
                | Comparison::StringLessThanEquals
                | Comparison::StringGreaterThanEquals
                | Comparison::StringMatches => v.is_string(),
                Comparison::NumericEquals
                | Comparison::NumericLessThan
                | Comparison::NumericGreaterThan
                | Comparison::NumericLessThanEquals
                | Comparison::NumericGreaterThanEquals => v.is_number(),
                Comparison::TimestampEquals
                | Comparison::TimestampLessThan
                | Comparison::TimestampGreaterThan
                | Comparison::TimestampLessThanEquals
                | Comparison::TimestampGreaterThanEquals => v.is_string(),
                Comparison::BooleanEquals
                | Comparison::IsNull
                | Comparison::IsPresent
                | Comparison::IsNumeric
                | Comparison::IsString
                | Comparison::IsBoolean
                | Comparison::IsTimestamp => v.is_boolean(),
            };
            if ok {
                Some(Operand::Literal(v.clone()))
            } else {
                let wanted = operand_kind(op);
                let hint = if matches!(v, Value::String(s) if s.starts_with('$')) {
                    format!(
                        " (to compare with a path, use \"{}Path\")",
                        comparison_name(op)
                    )
                } else {
                    String::new()
                };
                self.field_error(
                    at,
                    key,
                    format!(
                        "The operator \"{key}\" must be given {wanted}, but it is {}{hint}.",
                        describe(v)
                    ),
                );
                None
            }
        };
        Some(ChoiceRule::Compare {
            variable: variable?,
            op,
            operand: operand?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparison_names() {
        assert_eq!(
            comparison("NumericEqualsPath"),
            Some((Comparison::NumericEquals, true))
        );
        assert_eq!(comparison("StringMatchesPath"), None);
        assert_eq!(comparison("IsNull"), Some((Comparison::IsNull, false)));
        assert_eq!(comparison_name(Comparison::IsTimestamp), "IsTimestamp");
    }
}
