//! Webhook triggers: `POST /triggers/{name}` starts an execution of the
//! state machine `[triggers.webhooks.<name>]` names, with the request's JSON
//! body as input, and answers `{"executionArn": …}`.
//!
//! The caller proves it knows the webhook's secret with GitHub's header,
//! `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`, compared in
//! constant time; SigV4 is not asked for, since the senders (GitHub, a
//! payment provider, a form) cannot sign that way. An `Idempotency-Key`
//! header names the execution after the key, so a retried delivery finds
//! the execution the first one started instead of starting another.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Extension, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::service::Service;

/// The header with the body's signature.
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";
/// The header whose value dedupes retried deliveries.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";
/// Webhook bodies up to this size are read (the execution input quota).
const BODY_LIMIT: usize = 256 * 1024;

/// The `[triggers]` table of the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriggersFile {
    /// `[triggers.webhooks.<name>]`.
    #[serde(default)]
    pub webhooks: BTreeMap<String, WebhookFile>,
    /// `[triggers.objects.<name>]`: see [`crate::objects`].
    #[serde(default)]
    pub objects: BTreeMap<String, crate::objects::ObjectTriggerFile>,
}

/// One `[triggers.webhooks.<name>]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookFile {
    /// The state machine (or version/alias) ARN to start.
    pub state_machine: String,
    /// The shared secret of the signature (`"…"` or `{ env = "NAME" }`).
    pub secret: statecraft_integrations::Secret,
}

/// The configured webhooks, by name.
#[derive(Debug, Default, Clone)]
pub struct Webhooks(pub BTreeMap<String, WebhookFile>);

impl Webhooks {
    /// Checks the table: names usable in a URL and an execution name, a
    /// state machine ARN, a secret that is not empty.
    pub fn from_file(file: TriggersFile) -> Result<Webhooks, String> {
        for (name, w) in &file.webhooks {
            if name.is_empty()
                || name.len() > 40
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(format!(
                    "triggers.webhooks.{name}: a webhook name must be 1 to 40 letters, digits, '-' or '_'"
                ));
            }
            if !w.state_machine.starts_with("arn:") || !w.state_machine.contains(":stateMachine:") {
                return Err(format!(
                    "triggers.webhooks.{name}.state_machine: '{}' is not a state machine ARN (arn:aws:states:region:account:stateMachine:name)",
                    w.state_machine
                ));
            }
            if w.secret.expose().is_empty() {
                return Err(format!(
                    "triggers.webhooks.{name}.secret: the secret is empty; every webhook needs one"
                ));
            }
        }
        Ok(Webhooks(file.webhooks))
    }
}

/// Whether `header` is `sha256=<hex>` of the HMAC-SHA256 of `body` under
/// `secret`; the comparison takes the same time wherever they differ.
pub fn signature_ok(secret: &[u8], body: &[u8], header: &str) -> bool {
    let Some(hex) = header.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Some(given) = decode_hex(hex) else {
        return false;
    };
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    let expected = mac.finalize().into_bytes();
    expected.len() == given.len() && bool::from(expected.as_slice().ct_eq(&given))
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The execution name for a delivery with idempotency key `key`: the same
/// for the same webhook and key, at most 80 characters.
pub fn execution_name(webhook: &str, key: &str) -> String {
    let digest = Sha256::digest(format!("{webhook}\n{key}").as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("{webhook}-{hex}")
}

/// The router of `POST /triggers/{name}`; the webhooks come from an
/// `Extension<Arc<Webhooks>>` layer (none: every name is unknown).
pub fn router(service: Arc<Service>) -> Router {
    Router::new()
        .route("/triggers/{name}", post(deliver))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(service)
}

fn answer(status: StatusCode, body: Value) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    (status, headers, body.to_string()).into_response()
}

fn refuse(status: StatusCode, kind: &str, message: String) -> Response {
    answer(status, json!({ "__type": kind, "message": message }))
}

/// The execution ARN of `name` under `state_machine` (a version or alias
/// qualifier dropped: executions belong to the state machine).
fn execution_arn(state_machine: &str, name: &str) -> String {
    let parts: Vec<&str> = state_machine.split(':').collect();
    let base = parts[..parts.len().min(7)].join(":");
    format!(
        "{}:{name}",
        base.replacen(":stateMachine:", ":execution:", 1)
    )
}

async fn deliver(
    State(service): State<Arc<Service>>,
    webhooks: Option<Extension<Arc<Webhooks>>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(hook) = webhooks.and_then(|Extension(w)| w.0.get(&name).cloned()) else {
        return refuse(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            format!("No webhook named '{name}' is configured ([triggers.webhooks.{name}])"),
        );
    };
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if signature.is_empty() {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "MissingSignature",
            "The X-Hub-Signature-256 header is missing: sign the body with the webhook's secret (sha256=<hex HMAC-SHA256>)".into(),
        );
    }
    if !signature_ok(hook.secret.expose().as_bytes(), &body, signature) {
        statecraft_telemetry::metrics::observe_refused("webhook_signature");
        return refuse(
            StatusCode::UNAUTHORIZED,
            "InvalidSignature",
            "The X-Hub-Signature-256 header does not match the body: it must be sha256=<hex HMAC-SHA256 of the body with the webhook's secret>".into(),
        );
    }
    let input = match serde_json::from_slice::<Value>(&body) {
        Ok(v) => v,
        Err(e) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "InvalidExecutionInput",
                format!("The request body must be JSON (it is the execution input): {e}"),
            )
        }
    };
    let key = headers
        .get(IDEMPOTENCY_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty());
    let mut request = json!({
        "stateMachineArn": hook.state_machine,
        "input": input.to_string(),
    });
    let name_for_key = key.map(|k| execution_name(&name, k));
    if let Some(n) = &name_for_key {
        request["name"] = json!(n);
    }
    match service
        .call("StartExecution", request.to_string().as_bytes())
        .await
    {
        Ok(out) => answer(
            StatusCode::OK,
            json!({ "executionArn": out["executionArn"], "startDate": out["startDate"] }),
        ),
        // A replayed delivery: the first one's execution.
        Err(crate::protocol::ApiError::ExecutionAlreadyExists(_)) if name_for_key.is_some() => {
            let n = name_for_key.unwrap_or_default();
            answer(
                StatusCode::OK,
                json!({ "executionArn": execution_arn(&hook.state_machine, &n), "replayed": true }),
            )
        }
        Err(e) => {
            let status =
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            answer(status, e.body())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &str, body: &[u8]) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(body);
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("sha256={hex}")
    }

    #[test]
    fn signatures() {
        let body = br#"{"action":"opened"}"#;
        let good = sign("s3cret", body);
        // GitHub's documented example pair: secret "It's a Secret to
        // Everybody", body "Hello, World!".
        assert!(signature_ok(
            b"It's a Secret to Everybody",
            b"Hello, World!",
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        ));
        let cases: &[(&str, &[u8], &str, bool)] = &[
            ("s3cret", body, &good, true),
            ("other", body, &good, false),
            ("s3cret", b"{}", &good, false),
            ("s3cret", body, &good.replace("sha256=", "sha1="), false),
            ("s3cret", body, &good[..good.len() - 2], false),
            ("s3cret", body, "sha256=zz", false),
            ("s3cret", body, "", false),
        ];
        for (secret, body, header, want) in cases {
            assert_eq!(
                signature_ok(secret.as_bytes(), body, header),
                *want,
                "{secret} {header}"
            );
        }
    }

    #[test]
    fn names_and_arns() {
        let a = execution_name("github", "delivery-1");
        assert_eq!(a, execution_name("github", "delivery-1"));
        assert_ne!(a, execution_name("github", "delivery-2"));
        assert_ne!(a, execution_name("stripe", "delivery-1"));
        assert!(a.len() <= 80 && a.starts_with("github-"));
        assert_eq!(
            execution_arn(
                "arn:aws:states:us-east-1:123456789012:stateMachine:m:prod",
                "x"
            ),
            "arn:aws:states:us-east-1:123456789012:execution:m:x"
        );
    }

    #[test]
    fn bad_tables_are_named() {
        let parse = |t: &str| -> Result<Webhooks, String> {
            let f: TriggersFile = toml::from_str(t).map_err(|e| e.to_string())?;
            Webhooks::from_file(f)
        };
        let ok = parse("[webhooks.gh]\nstate_machine = \"arn:aws:states:us-east-1:123456789012:stateMachine:m\"\nsecret = \"x\"\n");
        assert!(ok.is_ok(), "{ok:?}");
        let cases = [
            ("[webhooks.gh]\nstate_machine = \"m\"\nsecret = \"x\"\n", "triggers.webhooks.gh.state_machine"),
            ("[webhooks.gh]\nstate_machine = \"arn:aws:states:us-east-1:123456789012:stateMachine:m\"\nsecret = \"\"\n", "triggers.webhooks.gh.secret"),
            ("[webhooks.\"a b\"]\nstate_machine = \"arn:aws:states:us-east-1:123456789012:stateMachine:m\"\nsecret = \"x\"\n", "triggers.webhooks.a b"),
            ("[webhooks.gh]\nstate_machine = \"arn:aws:states:us-east-1:123456789012:stateMachine:m\"\n", "secret"),
        ];
        for (text, want) in cases {
            let err = parse(text).unwrap_err();
            assert!(err.contains(want), "{text}: {err}");
        }
    }
}
