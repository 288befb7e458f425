//! Map `ItemBatcher`: groups the items of a (distributed) Map into batches,
//! each iteration then receiving `{"Items": [...], "BatchInput": ...}`.
//! A batch closes at `MaxItemsPerBatch` items or before its items' JSON
//! would pass `MaxInputBytesPerBatch` (at least one item per batch). Each
//! item goes through `ItemSelector` first.

use serde_json::{Map, Value};
use statecraft_language::template::Template;
use statecraft_types::Failure;

use crate::dataflow::{self, shown, Env};
use crate::history::text_len;

/// AWS's ceiling for a batch's input.
const MAX_BATCH_BYTES: usize = 256 * 1024;

/// The batching limits and the shared input, resolved for one Map visit.
pub(crate) struct Batcher {
    pub max_items: Option<usize>,
    pub max_bytes: usize,
    pub batch_input: Option<Value>,
}

fn limit(
    raw: &Map<String, Value>,
    field: &str,
    input: &Value,
    env: &Env<'_>,
) -> Result<Option<usize>, Failure> {
    if let Some(v) = raw.get(field) {
        return match v.as_u64() {
            Some(n) => Ok(Some(n as usize)),
            None => Err(Failure::runtime(format!(
                "The {field} field must be a positive integer, but was {}",
                shown(v)
            ))),
        };
    }
    let path_field = format!("{field}Path");
    let Some(path) = raw.get(&path_field).and_then(Value::as_str) else {
        return Ok(None);
    };
    let path = statecraft_language::path::Path::parse(path)
        .map_err(|e| Failure::runtime(format!("The {path_field} field is invalid: {e}")))?;
    let found = path.select(&env.scope(input))?;
    match found.as_ref().and_then(|v| {
        v.as_u64()
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
    }) {
        Some(n) => Ok(Some(n as usize)),
        None => Err(Failure::runtime(format!(
            "The {path_field} field refers to value {} which is not a valid integer: {}",
            found
                .as_ref()
                .map(dataflow::quoted)
                .unwrap_or_else(|| "nothing".into()),
            path.as_str()
        ))),
    }
}

impl Batcher {
    /// Reads an `ItemBatcher` (JSONPath form) against the Map's effective input.
    pub fn resolve(raw: &Value, input: &Value, env: &Env<'_>) -> Result<Batcher, Failure> {
        let Value::Object(raw) = raw else {
            return Err(Failure::runtime("ItemBatcher must be an object"));
        };
        let max_items = limit(raw, "MaxItemsPerBatch", input, env)?;
        let max_bytes = limit(raw, "MaxInputBytesPerBatch", input, env)?
            .unwrap_or(MAX_BATCH_BYTES)
            .min(MAX_BATCH_BYTES);
        let batch_input = match raw.get("BatchInput") {
            None => None,
            Some(t) => {
                let template = Template::compile(t).map_err(|errs| {
                    Failure::runtime(format!(
                        "BatchInput is not a valid payload template ({} problem(s))",
                        errs.len()
                    ))
                })?;
                Some(dataflow::template(&template, input, env)?)
            }
        };
        Ok(Batcher {
            max_items,
            max_bytes,
            batch_input,
        })
    }

    /// Groups `items` into batch inputs.
    pub fn batch(&self, items: Vec<Value>) -> Vec<Value> {
        let mut batches = Vec::new();
        let mut current: Vec<Value> = Vec::new();
        let mut bytes = 0usize;
        let close = |current: &mut Vec<Value>, batches: &mut Vec<Value>| {
            let mut m = Map::with_capacity(2);
            if let Some(b) = &self.batch_input {
                m.insert("BatchInput".into(), b.clone());
            }
            m.insert("Items".into(), Value::Array(std::mem::take(current)));
            batches.push(Value::Object(m));
        };
        for item in items {
            let size = text_len(&item) + 1;
            let full_by_count = self.max_items.is_some_and(|n| current.len() >= n.max(1));
            let full_by_bytes = !current.is_empty() && bytes + size > self.max_bytes;
            if full_by_count || full_by_bytes {
                close(&mut current, &mut batches);
                bytes = 0;
            }
            bytes += size;
            current.push(item);
        }
        if !current.is_empty() {
            close(&mut current, &mut batches);
        }
        batches
    }
}

#[cfg(test)]
mod tests {
    use crate::state::fixtures::run_ok;
    use serde_json::json;

    #[test]
    fn batches_in_jsonata_mode() {
        let def = json!({"QueryLanguage": "JSONata", "StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
            "ItemBatcher": {"MaxItemsPerBatch": "{% 1 + 1 %}"},
            "Items": "{% $states.input.xs %}",
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}});
        assert_eq!(
            run_ok(&def, json!({"xs": [1, 2, 3]})),
            json!([{"Items": [1, 2]}, {"Items": [3]}])
        );
    }

    /// The ItemSelector applies to each item before batching, once: a
    /// batch is not selected again (JSONata applied it to the batch too).
    #[test]
    fn the_item_selector_applies_to_items_not_batches_in_both_languages() {
        let processor = json!({"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
        let jsonata = json!({"QueryLanguage": "JSONata", "StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
            "ItemBatcher": {"MaxItemsPerBatch": 2},
            "Items": "{% $states.input.xs %}",
            "ItemSelector": {"v": "{% $states.context.Map.Item.Value %}"},
            "ItemProcessor": processor}}});
        let jsonpath = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
            "ItemBatcher": {"MaxItemsPerBatch": 2},
            "ItemsPath": "$.xs",
            "ItemSelector": {"v.$": "$$.Map.Item.Value"},
            "ItemProcessor": processor}}});
        for def in [jsonata, jsonpath] {
            assert_eq!(
                run_ok(&def, json!({"xs": [1, 2, 3]})),
                json!([{"Items": [{"v": 1}, {"v": 2}]}, {"Items": [{"v": 3}]}]),
                "{def}"
            );
        }
    }

    #[test]
    fn batches_by_count_with_batch_input() {
        let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
            "ItemBatcher": {"MaxItemsPerBatch": 2, "BatchInput": {"k.$": "$.k"}},
            "ItemsPath": "$.xs",
            "ItemSelector": {"v.$": "$$.Map.Item.Value"},
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}});
        assert_eq!(
            run_ok(&def, json!({"k": 7, "xs": [1, 2, 3]})),
            json!([
                {"BatchInput": {"k": 7}, "Items": [{"v": 1}, {"v": 2}]},
                {"BatchInput": {"k": 7}, "Items": [{"v": 3}]}
            ])
        );
    }
}
