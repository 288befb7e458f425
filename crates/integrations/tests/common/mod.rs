//! Test helpers: a small HTTP service on 127.0.0.1:0 that echoes requests,
//! answers with chosen statuses, plays an OAuth token endpoint and a few
//! Lambda-style functions; and a way to invoke one integration.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};
use statecraft_engine::TaskRequest;
use statecraft_runtime::{Integration, TaskContext, TaskOutcome};

/// The test service's state: what it saw.
#[derive(Default)]
pub struct Seen {
    pub token_fetches: AtomicUsize,
    /// The token the API accepts; another one gets 401.
    pub valid_token: Mutex<String>,
    pub last: Mutex<Option<Value>>,
}

pub struct Service {
    pub addr: SocketAddr,
    pub seen: Arc<Seen>,
}

impl Service {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

pub async fn serve() -> Service {
    let seen = Arc::new(Seen::default());
    *seen.valid_token.lock().unwrap_or_else(|e| e.into_inner()) = "tok-1".into();
    let app = axum::Router::new()
        .fallback(handle)
        .with_state(Arc::clone(&seen));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let addr = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("addr: {e}"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Service { addr, seen }
}

fn respond(status: u16, content_type: &str, body: String) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", content_type)
        .body(Body::from(body))
        .unwrap_or_default()
}

async fn handle(State(seen): State<Arc<Seen>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let mut headers = BTreeMap::new();
    for (k, v) in &parts.headers {
        headers.insert(
            k.as_str().to_owned(),
            String::from_utf8_lossy(v.as_bytes()).into_owned(),
        );
    }
    let echo = json!({
        "method": parts.method.as_str(),
        "path": parts.uri.path(),
        "query": parts.uri.query().unwrap_or(""),
        "headers": headers,
        "body": text,
    });
    *seen.last.lock().unwrap_or_else(|e| e.into_inner()) = Some(echo.clone());
    let path = parts.uri.path();
    if let Some(code) = path.strip_prefix("/status/") {
        let code = code.parse().unwrap_or(500);
        return respond(
            code,
            "application/json",
            json!({"message": "as asked", "code": code}).to_string(),
        );
    }
    if path == "/redirect" {
        // `?to=<location>&code=<3xx>`: a redirect wherever the test says.
        let query = parts.uri.query().unwrap_or("");
        let arg = |name: &str| {
            form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        let code = arg("code").and_then(|c| c.parse().ok()).unwrap_or(302);
        return Response::builder()
            .status(StatusCode::from_u16(code).unwrap_or(StatusCode::FOUND))
            .header("location", arg("to").unwrap_or_default())
            .body(Body::empty())
            .unwrap_or_default();
    }
    match path {
        "/echo" => respond(200, "application/json; charset=utf-8", echo.to_string()),
        "/quiet" => respond(200, "application/json", "{\"ok\":true}".into()),
        "/text" => respond(200, "text/plain", "hello".into()),
        "/big" => respond(200, "text/plain", "x".repeat((16 << 20) + 1)),
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            respond(200, "text/plain", "late".into())
        }
        "/token" => {
            seen.token_fetches.fetch_add(1, Ordering::SeqCst);
            // client:s3cret
            let ok = headers.get("authorization").map(String::as_str)
                == Some("Basic Y2xpZW50OnMzY3JldA==")
                && text.contains("grant_type=client_credentials");
            if !ok {
                return respond(401, "application/json", "{\"error\":\"invalid_client\"}".into());
            }
            let token = seen.valid_token.lock().unwrap_or_else(|e| e.into_inner()).clone();
            respond(
                200,
                "application/json",
                json!({"access_token": token, "token_type": "bearer", "expires_in": 3600}).to_string(),
            )
        }
        "/protected" => {
            let token = seen.valid_token.lock().unwrap_or_else(|e| e.into_inner()).clone();
            if headers.get("authorization") == Some(&format!("Bearer {token}")) {
                respond(200, "application/json", "{\"ok\":true}".into())
            } else {
                respond(401, "application/json", "{\"message\":\"Unauthorized\"}".into())
            }
        }
        // Functions.
        "/fn/echo" => respond(200, "application/json", text),
        "/fn/handled" => Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .header("X-Amz-Function-Error", "Unhandled")
            .body(Body::from(
                "{\"errorMessage\":\"the image is too large\",\"errorType\":\"ImageTooLarge\",\"trace\":[\"at resize (index.js:3)\"]}",
            ))
            .unwrap_or_default(),
        "/fn/error500" => respond(
            500,
            "application/json",
            "{\"errorType\":\"ValueError\",\"errorMessage\":\"bad value\"}".into(),
        ),
        "/fn/crash" => respond(502, "text/html", "<html>bad gateway</html>".into()),
        _ => respond(404, "text/plain", "no such path".into()),
    }
}

pub fn request(resource: &str, parameters: Value) -> TaskRequest {
    TaskRequest {
        task: 7,
        state_name: "T".into(),
        resource: resource.into(),
        parameters,
        task_token: None,
        timeout_seconds: None,
        heartbeat_seconds: None,
    }
}

pub const EXECUTION: &str = "arn:aws:states:eu-west-1:111122223333:execution:parent:run-1";

pub async fn invoke(
    integration: &dyn Integration,
    resource: &str,
    parameters: Value,
) -> TaskOutcome {
    assert!(integration.handles(resource), "not handled: {resource}");
    let context = TaskContext {
        execution_arn: EXECUTION.into(),
    };
    integration
        .invoke(context, request(resource, parameters))
        .await
}

pub fn succeeded(outcome: TaskOutcome) -> Value {
    match outcome {
        TaskOutcome::Succeeded(v) => v,
        other => panic!("expected success, got {other:?}"),
    }
}

pub fn failed(outcome: TaskOutcome) -> statecraft_types::Failure {
    match outcome {
        TaskOutcome::Failed(f) => f,
        other => panic!("expected failure, got {other:?}"),
    }
}

/// An integrations config from TOML text.
pub fn config(toml_text: &str) -> statecraft_integrations::IntegrationsConfig {
    #[derive(serde::Deserialize)]
    struct Doc {
        #[serde(default)]
        integrations: statecraft_integrations::IntegrationsConfig,
    }
    toml::from_str::<Doc>(toml_text)
        .unwrap_or_else(|e| panic!("config: {e}"))
        .integrations
}

/// Every integration the config enables, as the runtime would hold them.
pub fn registry(
    config: &statecraft_integrations::IntegrationsConfig,
    executions: Option<Arc<dyn statecraft_integrations::Executions>>,
) -> statecraft_runtime::Integrations {
    let mut reg = statecraft_runtime::Integrations::new();
    for i in
        statecraft_integrations::build(config, executions).unwrap_or_else(|e| panic!("build: {e}"))
    {
        reg.register(i);
    }
    reg
}

/// Invokes through a registry.
pub async fn run(
    reg: &statecraft_runtime::Integrations,
    resource: &str,
    parameters: Value,
) -> TaskOutcome {
    assert!(reg.find(resource).is_some(), "not handled: {resource}");
    let context = TaskContext {
        execution_arn: EXECUTION.into(),
    };
    reg.invoke(context, request(resource, parameters)).await
}
