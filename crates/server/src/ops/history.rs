//! GetExecutionHistory, served from the history as the store keeps it:
//! every event is stored once, as the JSON text of its API shape, and that
//! text goes into the response as it is, without being parsed and written
//! again. Only `includeExecutionData: false` (inputs, outputs and task
//! parameters left out) reads the events it sends.

use serde_json::{Map, Value};
use statecraft_runtime::model::{HistoryQuery, StoreError};

use super::executions::{execution_arn, execution_missing};
use super::page_request;
use crate::protocol::{ApiError, Request, ARN, PAGE_TOKEN};
use crate::service::{store_err, Service};

impl Service {
    /// GetExecutionHistory's response, as JSON text.
    pub(crate) fn get_execution_history_text(&self, req: &Request) -> Result<String, ApiError> {
        let arn = req.str("executionArn", ARN)?;
        let reverse = req.opt_bool("reverseOrder")?.unwrap_or(false);
        let include_data = req.opt_bool("includeExecutionData")?.unwrap_or(true);
        let page = page_request(req, PAGE_TOKEN)?;
        execution_arn(arn)?;
        let listed = self
            .read
            .history_wire(arn, &HistoryQuery { page, reverse })
            .map_err(|e| match e {
                StoreError::NotFound { .. } => execution_missing(arn),
                e => store_err(e),
            })?;
        let size: usize = listed.items.iter().map(|e| e.json.len() + 1).sum();
        let mut out = String::with_capacity(size + 64);
        out.push_str("{\"events\":[");
        for (i, event) in listed.items.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            if include_data {
                out.push_str(&event.json);
            } else {
                let mut w: Value = serde_json::from_str(&event.json).map_err(|e| {
                    ApiError::internal(format!("history event {} of {arn}: {e}", event.id))
                })?;
                strip_data(&mut w);
                out.push_str(&w.to_string());
            }
        }
        out.push(']');
        if let Some(token) = listed.next_token {
            out.push_str(",\"nextToken\":");
            out.push_str(&Value::String(token).to_string());
        }
        out.push('}');
        Ok(out)
    }

    /// GetExecutionHistory, as a JSON value (for in-process callers).
    pub async fn get_execution_history(&self, req: Request) -> Result<Value, ApiError> {
        let text = self.get_execution_history_text(&req)?;
        serde_json::from_str(&text).map_err(ApiError::internal)
    }
}

/// Removes execution data (inputs, outputs, task parameters) from a history
/// event's details, for `includeExecutionData: false`.
fn strip_data(event: &mut Value) {
    if let Value::Object(m) = event {
        for (k, v) in m.iter_mut() {
            if k.ends_with("EventDetails") {
                if let Value::Object(d) = v {
                    strip_details(d);
                }
            }
        }
    }
}

fn strip_details(d: &mut Map<String, Value>) {
    for key in ["input", "output", "parameters"] {
        d.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stripping_removes_data_but_keeps_names() {
        let mut e = json!({
            "id": 2,
            "type": "PassStateEntered",
            "stateEnteredEventDetails": {"name": "P", "input": "{}", "inputDetails": {"truncated": false}}
        });
        strip_data(&mut e);
        assert_eq!(
            e["stateEnteredEventDetails"],
            json!({"name": "P", "inputDetails": {"truncated": false}})
        );
    }
}
