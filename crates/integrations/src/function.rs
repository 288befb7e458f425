//! Functions: `arn:aws:states:::lambda:invoke` and bare function ARNs
//! (`arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]`), run
//! by an HTTP endpoint named in the config, so definitions written for AWS
//! run unchanged.
//!
//! The endpoint receives the Lambda payload as the body of a POST
//! (`Content-Type: application/json`) and answers with the function's
//! result as its body. A handler error is either a response with the
//! header `X-Amz-Function-Error` (what a Lambda runtime sends) or a 4xx/5xx
//! whose JSON body has an `errorType`: the task then fails with that
//! `errorType` as its error name and the body, verbatim, as its cause —
//! AWS's own cause is the function's error payload
//! (`{"errorMessage", "errorType", "stackTrace" or "trace", …}`).
//!
//! Results: a bare ARN returns the function's payload itself;
//! `lambda:invoke` returns AWS's wrapper
//! `{ExecutedVersion, Payload, SdkHttpMetadata, SdkResponseMetadata, StatusCode: 200}`.
//! `lambda:invoke.waitForTaskToken` invokes the function and then waits for
//! the task token (the function is expected to pass it on).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::CONTENT_TYPE;
use reqwest::{Client, Url};
use serde_json::{json, Map, Value};

use statecraft_tasks::{Integration, TaskContext, TaskFuture, TaskOutcome, TaskRequest};
use statecraft_types::Failure;

use crate::config::FunctionConfig;
use crate::{clip, invalid, Error, MAX_CAUSE};

/// `Lambda.ResourceNotFoundException`: no function of that name.
pub const RESOURCE_NOT_FOUND: &str = "Lambda.ResourceNotFoundException";
/// The endpoint could not be reached or did not answer in time.
pub const SDK_CLIENT_EXCEPTION: &str = "Lambda.SdkClientException";
/// An unhandled error without an `errorType` (crash, timeout).
pub const UNKNOWN: &str = "Lambda.Unknown";
/// The endpoint answered 429.
pub const TOO_MANY_REQUESTS: &str = "Lambda.TooManyRequestsException";
/// The endpoint answered 5xx without a function error.
pub const SERVICE_EXCEPTION: &str = "Lambda.ServiceException";
/// The endpoint answered another 4xx without a function error.
pub const LAMBDA_EXCEPTION: &str = "Lambda.AWSLambdaException";

/// The function integration.
#[derive(Clone)]
pub struct Functions {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    functions: BTreeMap<String, Endpoint>,
}

struct Endpoint {
    url: Url,
    timeout: Duration,
}

/// Which form of resource a task used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// `arn:…:lambda:…:function:<name>`: the payload is the result.
    Bare,
    /// `arn:aws:states:::lambda:invoke`: AWS's wrapper is the result.
    Invoke,
    /// `.waitForTaskToken`: invoke, then wait for the token.
    InvokeWaitForToken,
}

fn form_of(resource: &str) -> Option<Form> {
    match crate::service_resource(resource) {
        Some("lambda:invoke") => return Some(Form::Invoke),
        Some("lambda:invoke.waitForTaskToken") => return Some(Form::InvokeWaitForToken),
        Some(_) => return None,
        None => {}
    }
    let parts: Vec<&str> = resource.split(':').collect();
    (parts.len() >= 7
        && parts.first() == Some(&"arn")
        && parts.get(2) == Some(&"lambda")
        && parts.get(5) == Some(&"function"))
    .then_some(Form::Bare)
}

/// A function reference: `name`, `name:qualifier`,
/// `account:function:name[:qualifier]` or a full function ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FunctionRef {
    name: String,
    qualifier: Option<String>,
    region: Option<String>,
    account: Option<String>,
}

fn parse_function(text: &str) -> Option<FunctionRef> {
    let parts: Vec<&str> = text.split(':').collect();
    let (name, qualifier, region, account) = match parts.as_slice() {
        [name] => (*name, None, None, None),
        [name, q] => (*name, Some(*q), None, None),
        [account, "function", name] => (*name, None, None, Some(*account)),
        [account, "function", name, q] => (*name, Some(*q), None, Some(*account)),
        ["arn", _, "lambda", region, account, "function", name] => {
            (*name, None, Some(*region), Some(*account))
        }
        ["arn", _, "lambda", region, account, "function", name, q] => {
            (*name, Some(*q), Some(*region), Some(*account))
        }
        _ => return None,
    };
    if name.is_empty() {
        return None;
    }
    let own = |s: Option<&str>| s.filter(|s| !s.is_empty()).map(str::to_owned);
    Some(FunctionRef {
        name: name.to_owned(),
        qualifier: own(qualifier),
        region: own(region),
        account: own(account),
    })
}

impl Functions {
    pub fn new(
        config: &BTreeMap<String, FunctionConfig>,
        client: Client,
    ) -> Result<Functions, Error> {
        let mut functions = BTreeMap::new();
        for (name, f) in config {
            let url = Url::parse(&f.url).map_err(|e| Error::FunctionUrl {
                name: name.clone(),
                url: f.url.clone(),
                why: e.to_string(),
            })?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(Error::FunctionUrl {
                    name: name.clone(),
                    url: f.url.clone(),
                    why: "only http and https URLs are supported".into(),
                });
            }
            functions.insert(
                name.clone(),
                Endpoint {
                    url,
                    timeout: Duration::from_secs(f.timeout_seconds.max(1)),
                },
            );
        }
        Ok(Functions {
            inner: Arc::new(Inner { client, functions }),
        })
    }
}

impl Integration for Functions {
    fn handles(&self, resource: &str) -> bool {
        form_of(resource).is_some()
    }

    fn invoke(&self, context: TaskContext, request: TaskRequest) -> TaskFuture {
        let inner = Arc::clone(&self.inner);
        Box::pin(async move {
            let Some(form) = form_of(&request.resource) else {
                return TaskOutcome::Failed(statecraft_tasks::unsupported(&request.resource));
            };
            inner
                .run(form, &context, &request)
                .await
                .unwrap_or_else(TaskOutcome::Failed)
        })
    }
}

impl Inner {
    async fn run(
        &self,
        form: Form,
        context: &TaskContext,
        request: &TaskRequest,
    ) -> Result<TaskOutcome, Failure> {
        let (function, payload) = match form {
            Form::Bare => {
                let f = parse_function(&request.resource).ok_or_else(|| {
                    invalid(format!("'{}' is not a function ARN.", request.resource))
                })?;
                (f, request.parameters.to_string())
            }
            Form::Invoke | Form::InvokeWaitForToken => {
                let p = request
                    .parameters
                    .as_object()
                    .ok_or_else(|| invalid("The lambda:invoke parameters must be an object."))?;
                let name = p
                    .get("FunctionName")
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid("lambda:invoke needs a string 'FunctionName'."))?;
                let mut f = parse_function(name)
                    .ok_or_else(|| invalid(format!("'{name}' is not a function name or ARN.")))?;
                if let Some(q) = p.get("Qualifier").and_then(Value::as_str) {
                    f.qualifier = Some(q.to_owned());
                }
                // A string payload is the payload's bytes, as the SDK's
                // blob; anything else is sent as its JSON.
                let payload = match p.get("Payload") {
                    None | Some(Value::Null) => "{}".to_owned(),
                    Some(Value::String(s)) => s.clone(),
                    Some(v) => v.to_string(),
                };
                (f, payload)
            }
        };
        let Some(endpoint) = self.functions.get(&function.name) else {
            return Err(not_found(&function, &context.execution_arn));
        };
        let request_id = uuid::Uuid::new_v4().to_string();
        let response = self
            .client
            .post(endpoint.url.clone())
            .timeout(endpoint.timeout)
            .header(CONTENT_TYPE, "application/json")
            .header("X-Amz-Invocation-Type", "RequestResponse")
            .header("Lambda-Runtime-Aws-Request-Id", &request_id)
            .header(
                "traceparent",
                statecraft_telemetry::spans::task_traceparent(
                    &context.execution_arn,
                    &request.state_name,
                ),
            )
            .body(payload)
            .send()
            .await
            .map_err(|e| client_failure(&function.name, &e, endpoint.timeout))?;
        let status = response.status();
        let headers = response.headers().clone();
        let function_error = headers
            .get("x-amz-function-error")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = crate::read_body(response, crate::MAX_BODY)
            .await
            .map_err(|e| match e {
                crate::BodyError::Io(e) => client_failure(&function.name, &e, endpoint.timeout),
                crate::BodyError::TooLarge => crate::too_large("function's answer"),
            })?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let parsed: Option<Value> = serde_json::from_str(&text).ok();
        let error_type = parsed
            .as_ref()
            .and_then(|v| v.get("errorType"))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        let has_error_shape = parsed
            .as_ref()
            .is_some_and(|v| v.get("errorType").is_some() || v.get("errorMessage").is_some());
        if function_error.is_some() || (!status.is_success() && has_error_shape) {
            let cause = if text.trim().is_empty() {
                format!(
                    "The function '{}' failed ({}) without an error payload.",
                    function.name,
                    function_error.as_deref().unwrap_or("Unhandled")
                )
            } else {
                text.clone()
            };
            return Err(Failure::new(
                error_type.unwrap_or_else(|| UNKNOWN.to_owned()),
                clip(&cause, MAX_CAUSE),
            ));
        }
        if !status.is_success() {
            let error = match status.as_u16() {
                404 => RESOURCE_NOT_FOUND,
                429 => TOO_MANY_REQUESTS,
                500..=599 => SERVICE_EXCEPTION,
                _ => LAMBDA_EXCEPTION,
            };
            let cause = format!(
                "The endpoint of the function '{}' answered {}: {} (Service: AWSLambda; Status Code: {}; Request ID: {request_id}; Proxy: null)",
                function.name,
                status.as_u16(),
                clip(text.trim(), 4096),
                status.as_u16()
            );
            return Err(Failure::new(error, cause));
        }
        let payload = if text.trim().is_empty() {
            Value::Null
        } else {
            parsed.unwrap_or(Value::String(text))
        };
        Ok(match form {
            Form::Bare => TaskOutcome::Succeeded(payload),
            // The function accepted the request: recorded as TaskSubmitted
            // (AWS's shape of the invocation); the result comes by token.
            Form::InvokeWaitForToken => {
                TaskOutcome::Submitted(wrap(&function, payload, &headers, &request_id, bytes.len()))
            }
            Form::Invoke => {
                TaskOutcome::Succeeded(wrap(&function, payload, &headers, &request_id, bytes.len()))
            }
        })
    }
}

/// AWS's `lambda:invoke` result. The headers are those a Lambda answer
/// carries, filled from the endpoint's own answer where it has them.
fn wrap(
    function: &FunctionRef,
    payload: Value,
    headers: &reqwest::header::HeaderMap,
    request_id: &str,
    length: usize,
) -> Value {
    // A numeric qualifier is a version; an alias runs some version we do
    // not know, and an unqualified call runs $LATEST.
    let version = function
        .qualifier
        .as_deref()
        .filter(|q| q.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or("$LATEST")
        .to_owned();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let mut flat = Map::new();
    flat.insert("Connection".into(), json!("keep-alive"));
    flat.insert("Content-Length".into(), json!(length.to_string()));
    flat.insert(
        "Content-Type".into(),
        json!(header("content-type").unwrap_or_else(|| "application/json".into())),
    );
    if let Some(date) = header("date") {
        flat.insert("Date".into(), json!(date));
    }
    flat.insert("X-Amz-Executed-Version".into(), json!(version));
    flat.insert("x-amzn-Remapped-Content-Length".into(), json!("0"));
    flat.insert("x-amzn-RequestId".into(), json!(request_id));
    if let Some(trace) = header("x-amzn-trace-id") {
        flat.insert("X-Amzn-Trace-Id".into(), json!(trace));
    }
    let all: Map<String, Value> = flat
        .iter()
        .map(|(k, v)| (k.clone(), Value::Array(vec![v.clone()])))
        .collect();
    json!({
        "ExecutedVersion": version,
        "Payload": payload,
        "SdkHttpMetadata": {
            "AllHttpHeaders": all,
            "HttpHeaders": flat,
            "HttpStatusCode": 200,
        },
        "SdkResponseMetadata": {"RequestId": request_id},
        "StatusCode": 200,
    })
}

/// AWS's `ResourceNotFoundException`, with the function's full ARN.
fn not_found(f: &FunctionRef, execution_arn: &str) -> Failure {
    let (region, account) = crate::region_account(execution_arn);
    let region = f.region.clone().unwrap_or(region);
    let account = f.account.clone().unwrap_or(account);
    let qualifier = f.qualifier.as_deref().unwrap_or("$LATEST");
    Failure::new(
        RESOURCE_NOT_FOUND,
        format!(
            "Function not found: arn:aws:lambda:{region}:{account}:function:{}:{qualifier} (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: {}; Proxy: null)",
            f.name,
            uuid::Uuid::new_v4()
        ),
    )
}

fn client_failure(name: &str, e: &reqwest::Error, timeout: Duration) -> Failure {
    let why = if e.is_timeout() {
        format!("no answer within {} seconds", timeout.as_secs())
    } else {
        let mut text = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        text
    };
    Failure::new(
        SDK_CLIENT_EXCEPTION,
        format!("Unable to execute HTTP request for the function '{name}': {why}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_resources() {
        for (r, f) in [
            ("arn:aws:states:::lambda:invoke", Some(Form::Invoke)),
            (
                "arn:aws:states:::lambda:invoke.waitForTaskToken",
                Some(Form::InvokeWaitForToken),
            ),
            (
                "arn:aws:lambda:us-east-1:123456789012:function:resize",
                Some(Form::Bare),
            ),
            (
                "arn:aws:lambda:us-east-1:123456789012:function:resize:7",
                Some(Form::Bare),
            ),
            ("arn:aws:states:::http:invoke", None),
            ("arn:aws:states:us-east-1:1:activity:a", None),
        ] {
            assert_eq!(form_of(r), f, "{r}");
        }
    }

    #[test]
    fn parses_function_references() {
        let f = |name: &str, q: Option<&str>, r: Option<&str>, a: Option<&str>| FunctionRef {
            name: name.into(),
            qualifier: q.map(Into::into),
            region: r.map(Into::into),
            account: a.map(Into::into),
        };
        for (text, want) in [
            ("resize", Some(f("resize", None, None, None))),
            ("resize:prod", Some(f("resize", Some("prod"), None, None))),
            (
                "1:function:resize",
                Some(f("resize", None, None, Some("1"))),
            ),
            (
                "arn:aws:lambda:eu-west-1:1:function:resize:3",
                Some(f("resize", Some("3"), Some("eu-west-1"), Some("1"))),
            ),
            ("a:b:c:d:e", None),
            ("", None),
        ] {
            assert_eq!(parse_function(text), want, "{text}");
        }
    }

    #[test]
    fn not_found_names_the_full_arn() {
        let f = parse_function("nope").unwrap_or(FunctionRef {
            name: String::new(),
            qualifier: None,
            region: None,
            account: None,
        });
        let failure = not_found(&f, "arn:aws:states:eu-west-1:111:execution:m:e");
        assert_eq!(failure.error, RESOURCE_NOT_FOUND);
        assert!(failure.cause.starts_with(
            "Function not found: arn:aws:lambda:eu-west-1:111:function:nope:$LATEST (Service: AWSLambda; Status Code: 404;"
        ));
    }
}
