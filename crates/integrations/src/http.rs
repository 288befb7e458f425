//! HTTP tasks: `arn:aws:states:::http:invoke`.
//!
//! The task's parameters are AWS's: `ApiEndpoint`, `Method`, `Headers`,
//! `QueryParameters`, `RequestBody`, `Transform` and
//! `Authentication.ConnectionArn` (optional here: internal services often
//! need none). The result is AWS's shape:
//! `{Headers: {name: [values]}, ResponseBody, StatusCode, StatusText}` with
//! `ResponseBody` parsed when the response is JSON and `StatusCode` a
//! string, as AWS writes it. A non-2xx answer fails the task with
//! `States.Http.StatusCode.<code>` and that same object, as JSON text, for
//! cause; a connection error or timeout with `States.Http.Socket`.
//!
//! Connections come from the config ([`crate::config::ConnectionConfig`]).
//! Their credentials are added to the outgoing request only: the result
//! holds the response, never the request, and causes name the endpoint as
//! the task wrote it, never the final URL (which may carry a secret query
//! parameter).
//!
//! Redirects are followed here, hop by hop, not by the client: each hop's
//! host must pass `allowed_hosts`, and what a connection adds goes to the
//! endpoint's own origin only (see `docs/integrations.md`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use reqwest::{Client, Method, Url};
use serde_json::{json, Map, Value};

use statecraft_tasks::{Integration, TaskContext, TaskFuture, TaskOutcome, TaskRequest};
use statecraft_types::Failure;
use tokio::sync::Mutex;

use crate::config::{AuthConfig, ConnectionConfig, HttpConfig};
use crate::encoding::{self, ArrayFormat};
use crate::secret::Secret;
use crate::{clip, errors, invalid, Error, MAX_CAUSE};

/// The HTTP task integration.
#[derive(Clone)]
pub struct HttpTask {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    hosts: HostFilter,
    timeout: Duration,
    connections: Vec<Arc<Connection>>,
}

impl HttpTask {
    pub fn new(config: &HttpConfig, client: Client) -> Result<HttpTask, Error> {
        let hosts = HostFilter::new(config.allowed_hosts.as_deref())?;
        let connections = config
            .connections
            .iter()
            .map(|(name, c)| Connection::new(name, c).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(HttpTask {
            inner: Arc::new(Inner {
                client,
                hosts,
                timeout: Duration::from_secs(config.timeout_seconds.max(1)),
                connections,
            }),
        })
    }
}

impl Integration for HttpTask {
    fn handles(&self, resource: &str) -> bool {
        crate::service_resource(resource) == Some("http:invoke")
    }

    fn invoke(&self, context: TaskContext, request: TaskRequest) -> TaskFuture {
        let inner = Arc::clone(&self.inner);
        // The callee joins the execution's trace (W3C trace context).
        let traceparent = statecraft_telemetry::spans::task_traceparent(
            &context.execution_arn,
            &request.state_name,
        );
        Box::pin(async move {
            match inner.call(&request.parameters, &traceparent).await {
                Ok(v) => TaskOutcome::Succeeded(v),
                Err(f) => TaskOutcome::Failed(f),
            }
        })
    }
}

/// The methods AWS's HTTP task accepts.
const METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"];

/// Headers the client itself owns: a task cannot set them (AWS refuses
/// some of them too; here they are refused all alike).
const RESERVED_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
    "te",
    "trailer",
    "keep-alive",
    "proxy-authorization",
];

/// A task's parameters, checked.
struct Call {
    /// As the task wrote it: the only form of the URL that causes show.
    endpoint_text: String,
    url: Url,
    method: Method,
    headers: Vec<(String, String)>,
    query: Vec<(String, String)>,
    body: Option<Value>,
    url_encoded: bool,
    array_format: ArrayFormat,
    connection_arn: Option<String>,
}

fn parse_call(p: &Value) -> Result<Call, Failure> {
    let obj = p
        .as_object()
        .ok_or_else(|| invalid("The HTTP task's parameters must be an object."))?;
    for key in obj.keys() {
        if !matches!(
            key.as_str(),
            "ApiEndpoint"
                | "Method"
                | "Headers"
                | "QueryParameters"
                | "RequestBody"
                | "Transform"
                | "Authentication"
                | "InvocationConfig"
        ) {
            return Err(invalid(format!(
                "The HTTP task's parameters have an unknown field '{key}'."
            )));
        }
    }
    let endpoint_text = match obj.get("ApiEndpoint") {
        Some(Value::String(s)) => s.clone(),
        _ => return Err(invalid("The HTTP task needs a string 'ApiEndpoint'.")),
    };
    let url = Url::parse(&endpoint_text).map_err(|e| {
        invalid(format!(
            "The ApiEndpoint '{endpoint_text}' is not a URL: {e}."
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(format!(
            "The ApiEndpoint '{endpoint_text}' must be an http or https URL."
        )));
    }
    let method_text = match obj.get("Method") {
        Some(Value::String(s)) => s.to_ascii_uppercase(),
        _ => return Err(invalid("The HTTP task needs a string 'Method'.")),
    };
    if !METHODS.contains(&method_text.as_str()) {
        return Err(invalid(format!(
            "The Method '{method_text}' is not one of {}.",
            METHODS.join(", ")
        )));
    }
    let method = Method::from_bytes(method_text.as_bytes())
        .map_err(|_| invalid(format!("The Method '{method_text}' is invalid.")))?;

    let (url_encoded, array_format) = match obj.get("Transform") {
        None | Some(Value::Null) => (false, ArrayFormat::default()),
        Some(Value::Object(t)) => {
            let url_encoded = match t.get("RequestBodyEncoding") {
                None => false,
                Some(Value::String(s)) if s == "NONE" => false,
                Some(Value::String(s)) if s == "URL_ENCODED" => true,
                Some(other) => {
                    return Err(invalid(format!(
                        "Transform.RequestBodyEncoding must be NONE or URL_ENCODED, not {other}."
                    )))
                }
            };
            let format = match t
                .get("RequestEncodingOptions")
                .and_then(|o| o.get("ArrayFormat"))
            {
                None => ArrayFormat::default(),
                Some(Value::String(s)) => ArrayFormat::parse(s).ok_or_else(|| {
                    invalid(format!(
                        "Transform.RequestEncodingOptions.ArrayFormat must be INDICES, REPEAT, COMMAS or BRACKETS, not '{s}'."
                    ))
                })?,
                Some(other) => {
                    return Err(invalid(format!(
                        "Transform.RequestEncodingOptions.ArrayFormat must be a string, not {other}."
                    )))
                }
            };
            (url_encoded, format)
        }
        Some(_) => return Err(invalid("Transform must be an object.")),
    };

    let headers = match obj.get("Headers") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(h)) => {
            let mut out = Vec::with_capacity(h.len());
            for (k, v) in h {
                if RESERVED_HEADERS.contains(&k.to_ascii_lowercase().as_str()) {
                    return Err(invalid(format!(
                        "The header '{k}' cannot be set by an HTTP task."
                    )));
                }
                out.push((k.clone(), encoding::scalar_text(v)));
            }
            out
        }
        Some(_) => return Err(invalid("Headers must be an object.")),
    };
    let query = match obj.get("QueryParameters") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(q)) => encoding::pairs(q, array_format),
        Some(_) => return Err(invalid("QueryParameters must be an object.")),
    };
    let connection_arn = ["Authentication", "InvocationConfig"]
        .iter()
        .filter_map(|k| obj.get(*k))
        .find_map(|a| a.get("ConnectionArn"))
        .map(|v| match v {
            Value::String(s) => Ok(s.clone()),
            _ => Err(invalid("ConnectionArn must be a string.")),
        })
        .transpose()?;
    let body = obj.get("RequestBody").cloned();
    if url_encoded && !matches!(body, None | Some(Value::Object(_)) | Some(Value::Null)) {
        return Err(invalid(
            "A URL_ENCODED RequestBody must be an object of fields.",
        ));
    }
    Ok(Call {
        endpoint_text,
        url,
        method,
        headers,
        query,
        body,
        url_encoded,
        array_format,
        connection_arn,
    })
}

impl Inner {
    async fn call(&self, parameters: &Value, traceparent: &str) -> Result<Value, Failure> {
        let mut call = parse_call(parameters)?;
        // A traceparent the task sets itself wins: it knows its trace.
        if !call
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("traceparent"))
        {
            call.headers
                .push(("traceparent".to_string(), traceparent.to_string()));
        }
        let host = call.url.host_str().unwrap_or_default();
        if !self.hosts.allows(host) {
            return Err(Failure::new(
                statecraft_types::errors::PERMISSIONS,
                format!(
                    "The host '{host}' of the ApiEndpoint is not in this server's allowed hosts for HTTP tasks."
                ),
            ));
        }
        let connection = match &call.connection_arn {
            None => None,
            Some(arn) => Some(self.connection(arn)?),
        };
        let response = self.send(&call, connection.as_deref()).await?;
        let response = match (response.status().as_u16(), &connection) {
            // An OAuth token may be revoked before it expires: fetch a new
            // one and try once more, as EventBridge connections do.
            (401, Some(c)) if c.is_oauth() => {
                c.forget_token().await;
                self.send(&call, connection.as_deref()).await?
            }
            _ => response,
        };
        let status = response.status();
        let result = describe_response(response, self.timeout, &call.endpoint_text).await?;
        if status.is_success() {
            Ok(result)
        } else {
            let cause = serde_json::to_string(&result).unwrap_or_default();
            Err(Failure::new(
                format!("States.Http.StatusCode.{}", status.as_u16()),
                clip(&cause, MAX_CAUSE),
            ))
        }
    }

    fn connection(&self, arn: &str) -> Result<Arc<Connection>, Failure> {
        // `arn:aws:events:<region>:<account>:connection/<name>/<id>`
        let name = arn
            .split_once(":connection/")
            .map(|(_, rest)| rest.split('/').next().unwrap_or(rest));
        self.connections
            .iter()
            .find(|c| c.arn.as_deref() == Some(arn))
            .or_else(|| {
                self.connections
                    .iter()
                    .find(|c| c.arn.is_none() && Some(c.name.as_str()) == name)
            })
            .cloned()
            .ok_or_else(|| {
                Failure::new(
                    errors::CONNECTION_NOT_FOUND,
                    format!("The connection '{arn}' is not configured on this server."),
                )
            })
    }

    /// Sends the call, following redirects by hand (the task client
    /// follows none itself): every hop's host must pass `allowed_hosts`,
    /// and what the connection adds (its credentials, headers, query and
    /// body parameters) goes only to the endpoint's own origin.
    async fn send(
        &self,
        call: &Call,
        connection: Option<&Connection>,
    ) -> Result<reqwest::Response, Failure> {
        let mut url = call.url.clone();
        let mut query = call.query.clone();
        // What the connection adds, kept apart from the task's own.
        let mut added_headers: Vec<(String, String)> = Vec::new();
        let mut task_headers = call.headers.clone();
        let mut body = call.body.clone();
        let mut added_body: Option<Value> = None;
        if let Some(c) = connection {
            // The connection's parameters win over the task's.
            query.retain(|(k, _)| !c.query_parameters.contains_key(k));
            query.extend(
                c.query_parameters
                    .iter()
                    .map(|(k, v)| (k.clone(), v.expose().to_owned())),
            );
            let overridden = |k: &str| {
                c.headers.keys().any(|h| h.eq_ignore_ascii_case(k))
                    || (c.sets_authorization() && k.eq_ignore_ascii_case("authorization"))
            };
            task_headers.retain(|(k, _)| !overridden(k));
            added_headers.extend(
                c.headers
                    .iter()
                    .map(|(k, v)| (k.clone(), v.expose().to_owned())),
            );
            if !c.body_parameters.is_empty() {
                let mut obj = match body.clone() {
                    None | Some(Value::Null) => Map::new(),
                    Some(Value::Object(o)) => o,
                    Some(_) => return Err(invalid(
                        "The connection adds body parameters, so RequestBody must be an object.",
                    )),
                };
                for (k, v) in &c.body_parameters {
                    obj.insert(k.clone(), Value::String(v.expose().to_owned()));
                }
                added_body = Some(Value::Object(obj));
            }
            if let Some((name, value)) = c.auth_header(&self.client, self.timeout).await? {
                task_headers.retain(|(k, _)| !k.eq_ignore_ascii_case(&name));
                added_headers.retain(|(k, _)| !k.eq_ignore_ascii_case(&name));
                added_headers.push((name, value));
            }
        }
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in &query {
                pairs.append_pair(k, v);
            }
        }
        let origin = url.origin();
        let mut method = call.method.clone();
        let mut hops = 0;
        loop {
            // Another origin (scheme, host or port) gets the task's request
            // only: no connection material, and no credential headers the
            // task set itself, as browsers and curl do on such redirects.
            let own_origin = url.origin() == origin;
            let mut headers: Vec<&(String, String)> = task_headers
                .iter()
                .filter(|(k, _)| own_origin || !is_credential_header(k))
                .collect();
            if own_origin {
                headers.extend(added_headers.iter());
            }
            let send_body = match (&added_body, own_origin) {
                (Some(b), true) => Some(b),
                _ => body.as_ref(),
            };
            let response = self
                .build(call, &method, url.clone(), &headers, send_body)?
                .send()
                .await
                .map_err(|e| socket_failure(&call.endpoint_text, e, self.timeout))?;
            let status = response.status().as_u16();
            if !matches!(status, 301 | 302 | 303 | 307 | 308) {
                return Ok(response);
            }
            let Some(location) = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
            else {
                // A redirect that says not where to: the answer as it is.
                return Ok(response);
            };
            let next = url.join(location).map_err(|_| {
                Failure::new(
                    errors::HTTP_SOCKET,
                    format!(
                        "The HTTP request to '{}' was redirected to an invalid location.",
                        call.endpoint_text
                    ),
                )
            })?;
            if !matches!(next.scheme(), "http" | "https") {
                return Err(Failure::new(
                    errors::HTTP_SOCKET,
                    format!(
                        "The HTTP request to '{}' was redirected to a '{}' URL; only http and https are followed.",
                        call.endpoint_text,
                        next.scheme()
                    ),
                ));
            }
            let host = next.host_str().unwrap_or_default();
            if !self.hosts.allows(host) {
                return Err(Failure::new(
                    statecraft_types::errors::PERMISSIONS,
                    format!(
                        "The HTTP request to '{}' was redirected to the host '{host}', which is not in this server's allowed hosts for HTTP tasks.",
                        call.endpoint_text
                    ),
                ));
            }
            hops += 1;
            if hops > MAX_REDIRECTS {
                return Err(Failure::new(
                    errors::HTTP_SOCKET,
                    format!(
                        "The HTTP request to '{}' was redirected more than {MAX_REDIRECTS} times.",
                        call.endpoint_text
                    ),
                ));
            }
            // 301/302/303 turn into a GET without a body (what every client
            // does); 307/308 repeat the request as it was.
            if matches!(status, 301..=303) && method != Method::HEAD {
                method = Method::GET;
                body = None;
                added_body = None;
                task_headers.retain(|(k, _)| !k.eq_ignore_ascii_case("content-type"));
            }
            url = next;
        }
    }

    /// One request of [`Inner::send`], with its body encoded as the task asked.
    fn build(
        &self,
        call: &Call,
        method: &Method,
        url: Url,
        headers: &[&(String, String)],
        body: Option<&Value>,
    ) -> Result<reqwest::RequestBuilder, Failure> {
        let mut builder = self
            .client
            .request(method.clone(), url)
            .timeout(self.timeout);
        let has_content_type = headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
        for (k, v) in headers {
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| invalid(format!("'{k}' is not a valid header name.")))?;
            let value = HeaderValue::from_str(v)
                .map_err(|_| invalid(format!("The value of the header '{k}' is not valid.")))?;
            builder = builder.header(name, value);
        }
        match body {
            None | Some(Value::Null) => {}
            Some(Value::Object(o)) if call.url_encoded => {
                if !has_content_type {
                    builder = builder.header(CONTENT_TYPE, "application/x-www-form-urlencoded");
                }
                builder = builder.body(encoding::encode(&encoding::pairs(o, call.array_format)));
            }
            Some(Value::String(s)) => {
                if !has_content_type {
                    builder = builder.header(CONTENT_TYPE, "text/plain; charset=utf-8");
                }
                builder = builder.body(s.clone());
            }
            Some(v) => {
                if !has_content_type {
                    builder = builder.header(CONTENT_TYPE, "application/json");
                }
                builder = builder.body(v.to_string());
            }
        }
        Ok(builder)
    }
}

/// Redirects an HTTP task follows before it fails (reqwest's and curl's
/// usual limit).
const MAX_REDIRECTS: usize = 10;

/// Headers that carry credentials: a task's own are not repeated to
/// another origin after a redirect.
fn is_credential_header(name: &str) -> bool {
    ["authorization", "cookie", "proxy-authorization"]
        .iter()
        .any(|h| name.eq_ignore_ascii_case(h))
}

/// `States.Http.Socket`, without the URL reqwest would print (it may carry
/// a connection's query parameters).
fn socket_failure(endpoint: &str, e: reqwest::Error, timeout: Duration) -> Failure {
    let why = if e.is_timeout() {
        format!("no answer within {} seconds", timeout.as_secs())
    } else {
        let e = e.without_url();
        let mut text = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        text
    };
    Failure::new(
        errors::HTTP_SOCKET,
        format!("The HTTP request to '{endpoint}' failed: {why}"),
    )
}

/// AWS's result object for a response.
async fn describe_response(
    response: reqwest::Response,
    timeout: Duration,
    endpoint: &str,
) -> Result<Value, Failure> {
    let status = response.status();
    let mut headers: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (k, v) in response.headers() {
        headers
            .entry(k.as_str().to_owned())
            .or_default()
            .push(Value::String(
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            ));
    }
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.to_ascii_lowercase().contains("json"));
    let bytes = crate::read_body(response, crate::MAX_BODY)
        .await
        .map_err(|e| match e {
            crate::BodyError::Io(e) => socket_failure(endpoint, e, timeout),
            crate::BodyError::TooLarge => crate::too_large("HTTP response body"),
        })?;
    let text = String::from_utf8_lossy(&bytes);
    let body = if is_json {
        serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.into_owned()))
    } else {
        Value::String(text.into_owned())
    };
    let headers: Map<String, Value> = headers
        .into_iter()
        .map(|(k, v)| (k, Value::Array(v)))
        .collect();
    Ok(json!({
        "Headers": headers,
        "ResponseBody": body,
        "StatusCode": status.as_u16().to_string(),
        "StatusText": status.canonical_reason().unwrap_or(""),
    }))
}

/// `allowed_hosts`: `None` allows every host.
struct HostFilter(Option<Vec<String>>);

impl HostFilter {
    fn new(patterns: Option<&[String]>) -> Result<HostFilter, Error> {
        let Some(patterns) = patterns else {
            return Ok(HostFilter(None));
        };
        let mut out = Vec::with_capacity(patterns.len());
        for p in patterns {
            let bare = p.strip_prefix("*.").unwrap_or(p);
            if bare.is_empty() || bare.contains(['*', '/', ':', ' ']) {
                return Err(Error::HostPattern(p.clone()));
            }
            out.push(p.to_ascii_lowercase());
        }
        Ok(HostFilter(Some(out)))
    }

    fn allows(&self, host: &str) -> bool {
        let Some(patterns) = &self.0 else { return true };
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        patterns.iter().any(|p| match p.strip_prefix("*.") {
            Some(domain) => host
                .strip_suffix(domain)
                .is_some_and(|rest| rest.len() > 1 && rest.ends_with('.')),
            None => *p == host,
        })
    }
}

/// A configured connection, with its cached OAuth token.
struct Connection {
    name: String,
    arn: Option<String>,
    auth: AuthConfig,
    headers: BTreeMap<String, Secret>,
    query_parameters: BTreeMap<String, Secret>,
    body_parameters: BTreeMap<String, Secret>,
    /// The token and when to stop using it.
    token: Mutex<Option<(Secret, Instant)>>,
}

/// A token is renewed this long before it expires, so that a request does
/// not leave with a token that dies on the way.
const TOKEN_SLACK: Duration = Duration::from_secs(30);
/// How long a token without `expires_in` is used.
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(300);

impl Connection {
    fn new(name: &str, c: &ConnectionConfig) -> Result<Connection, Error> {
        let bad = |why: String| Error::Connection {
            name: name.to_owned(),
            why,
        };
        match &c.auth {
            AuthConfig::OauthClientCredentials { token_url, .. } => {
                Url::parse(token_url).map_err(|e| bad(format!("token_url: {e}")))?;
            }
            AuthConfig::ApiKey { header, .. } => {
                HeaderName::from_bytes(header.as_bytes())
                    .map_err(|_| bad(format!("'{header}' is not a valid header name")))?;
            }
            AuthConfig::Basic { .. } | AuthConfig::None => {}
        }
        for k in c.headers.keys() {
            HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| bad(format!("'{k}' is not a valid header name")))?;
        }
        Ok(Connection {
            name: name.to_owned(),
            arn: c.arn.clone(),
            auth: c.auth.clone(),
            headers: c.headers.clone(),
            query_parameters: c.query_parameters.clone(),
            body_parameters: c.body_parameters.clone(),
            token: Mutex::new(None),
        })
    }

    fn is_oauth(&self) -> bool {
        matches!(self.auth, AuthConfig::OauthClientCredentials { .. })
    }

    fn sets_authorization(&self) -> bool {
        matches!(
            self.auth,
            AuthConfig::Basic { .. } | AuthConfig::OauthClientCredentials { .. }
        )
    }

    async fn forget_token(&self) {
        *self.token.lock().await = None;
    }

    /// The header carrying this connection's credentials.
    async fn auth_header(
        &self,
        client: &Client,
        timeout: Duration,
    ) -> Result<Option<(String, String)>, Failure> {
        match &self.auth {
            AuthConfig::None => Ok(None),
            AuthConfig::ApiKey { header, value } => {
                Ok(Some((header.clone(), value.expose().to_owned())))
            }
            AuthConfig::Basic { username, password } => {
                let raw = format!("{username}:{}", password.expose());
                Ok(Some((
                    "Authorization".into(),
                    format!("Basic {}", base64(raw.as_bytes())),
                )))
            }
            AuthConfig::OauthClientCredentials { .. } => {
                let token = self.token(client, timeout).await?;
                Ok(Some((
                    "Authorization".into(),
                    format!("Bearer {}", token.expose()),
                )))
            }
        }
    }

    /// The cached token, fetched anew when absent or about to expire. The
    /// lock is held over the fetch so that concurrent tasks wait for one
    /// fetch instead of each making their own.
    async fn token(&self, client: &Client, timeout: Duration) -> Result<Secret, Failure> {
        let mut slot = self.token.lock().await;
        if let Some((token, until)) = slot.as_ref() {
            if Instant::now() < *until {
                return Ok(token.clone());
            }
        }
        let AuthConfig::OauthClientCredentials {
            token_url,
            client_id,
            client_secret,
            scope,
            parameters,
        } = &self.auth
        else {
            return Err(self.auth_failure("the connection does not use OAuth"));
        };
        let mut form: Vec<(String, String)> =
            vec![("grant_type".into(), "client_credentials".into())];
        if let Some(s) = scope {
            form.push(("scope".into(), s.clone()));
        }
        for (k, v) in parameters {
            form.push((k.clone(), v.expose().to_owned()));
        }
        let response = client
            .post(token_url)
            .timeout(timeout)
            .basic_auth(client_id, Some(client_secret.expose()))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(reqwest::header::ACCEPT, "application/json")
            .body(encoding::encode(&form))
            .send()
            .await
            .map_err(|e| {
                self.auth_failure(&format!(
                    "the token endpoint could not be reached: {}",
                    e.without_url()
                ))
            })?;
        let status = response.status();
        if !status.is_success() {
            // The body of a refusal may echo what was sent: not shown.
            return Err(
                self.auth_failure(&format!("the token endpoint answered {}", status.as_u16()))
            );
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|_| self.auth_failure("the token endpoint's answer could not be read"))?;
        let body: Value = serde_json::from_slice(&bytes)
            .map_err(|_| self.auth_failure("the token endpoint's answer is not JSON"))?;
        let token = body
            .get("access_token")
            .and_then(Value::as_str)
            .ok_or_else(|| self.auth_failure("the token endpoint's answer has no access_token"))?;
        let lifetime = body
            .get("expires_in")
            .and_then(|v| {
                v.as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            })
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_TOKEN_LIFETIME);
        let until = Instant::now() + lifetime.saturating_sub(TOKEN_SLACK);
        let token = Secret::new(token);
        *slot = Some((token.clone(), until));
        Ok(token)
    }

    fn auth_failure(&self, why: &str) -> Failure {
        Failure::new(
            errors::CONNECTION_AUTH_FAILED,
            format!(
                "The OAuth token of the connection '{}' could not be obtained: {why}.",
                self.name
            ),
        )
    }
}

/// Standard base64 with padding (for `Authorization: Basic`): a dozen
/// lines rather than a dependency.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].iter().enumerate() {
            if i <= chunk.len() {
                let idx = ((n >> shift) & 63) as usize;
                out.push(char::from(ALPHABET.get(idx).copied().unwrap_or(b'=')));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_vectors() {
        for (raw, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(raw.as_bytes()), enc);
        }
    }

    #[test]
    fn host_filter() {
        let any = HostFilter::new(None).unwrap_or(HostFilter(Some(vec![])));
        assert!(any.allows("anything.internal"));
        let list = ["api.example.com".to_owned(), "*.corp.net".to_owned()];
        let f = HostFilter::new(Some(&list)).unwrap_or(HostFilter(None));
        for (host, ok) in [
            ("api.example.com", true),
            ("API.Example.com", true),
            ("x.api.example.com", false),
            ("a.corp.net", true),
            ("a.b.corp.net", true),
            ("corp.net", false),
            ("evilcorp.net", false),
        ] {
            assert_eq!(f.allows(host), ok, "{host}");
        }
        assert!(HostFilter::new(Some(&["http://x".to_owned()])).is_err());
        assert!(HostFilter::new(Some(&["*".to_owned()])).is_err());
    }

    #[test]
    fn refuses_bad_parameters() {
        for p in [
            json!("x"),
            json!({"Method": "GET"}),
            json!({"ApiEndpoint": "ftp://x", "Method": "GET"}),
            json!({"ApiEndpoint": "http://x", "Method": "FETCH"}),
            json!({"ApiEndpoint": "http://x", "Method": "GET", "Headers": {"Host": "y"}}),
            json!({"ApiEndpoint": "http://x", "Method": "GET", "Extra": 1}),
            json!({"ApiEndpoint": "http://x", "Method": "POST", "RequestBody": [1],
                   "Transform": {"RequestBodyEncoding": "URL_ENCODED"}}),
            json!({"ApiEndpoint": "http://x", "Method": "GET",
                   "Transform": {"RequestEncodingOptions": {"ArrayFormat": "X"}}}),
        ] {
            match parse_call(&p) {
                Err(f) => assert_eq!(f.error, errors::INVALID_PARAMETERS, "{p}"),
                Ok(_) => panic!("accepted {p}"),
            }
        }
    }
}
