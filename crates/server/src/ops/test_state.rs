//! TestState: runs one state alone on a given input.

use serde_json::Value;

use crate::protocol::{ApiError, Request};
use crate::service::Service;

impl Service {
    pub async fn test_state(&self, req: Request) -> Result<Value, ApiError> {
        let _ = req;
        Err(ApiError::internal("TestState is not implemented yet"))
    }
}
