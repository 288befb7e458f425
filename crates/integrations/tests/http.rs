//! HTTP tasks end to end against a local service: request building
//! (methods, headers, query and body encodings), AWS's result and error
//! shapes, host restrictions, and connections whose secrets must never
//! reach a result or a cause.

mod common;

use common::{config, failed, run, serve, succeeded};
use serde_json::{json, Value};

const HTTP: &str = "arn:aws:states:::http:invoke";

fn echo_of(result: &Value) -> &Value {
    &result["ResponseBody"]
}

#[tokio::test]
async fn get_returns_aws_result_shape() {
    let svc = serve().await;
    let reg = common::registry(&config(""), None);
    let out = succeeded(
        run(
            &reg,
            HTTP,
            json!({"ApiEndpoint": svc.url("/echo"), "Method": "GET",
                   "Headers": {"X-Trace": "abc", "X-Count": 3}}),
        )
        .await,
    );
    assert_eq!(out["StatusCode"], "200");
    assert_eq!(out["StatusText"], "OK");
    assert_eq!(
        out["Headers"]["content-type"],
        json!(["application/json; charset=utf-8"])
    );
    let echo = echo_of(&out);
    assert_eq!(echo["method"], "GET");
    assert_eq!(echo["headers"]["x-trace"], "abc");
    assert_eq!(echo["headers"]["x-count"], "3");
    assert_eq!(echo["body"], "");
    let keys: Vec<&String> = out
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    assert_eq!(
        keys,
        ["Headers", "ResponseBody", "StatusCode", "StatusText"]
    );
}

#[tokio::test]
async fn query_parameters_follow_the_array_format() {
    let svc = serve().await;
    let reg = common::registry(&config(""), None);
    let cases = [
        (None, "ids%5B0%5D=1&ids%5B1%5D=2&q=a+b&f%5Bx%5D=y"),
        (
            Some("INDICES"),
            "ids%5B0%5D=1&ids%5B1%5D=2&q=a+b&f%5Bx%5D=y",
        ),
        (Some("REPEAT"), "ids=1&ids=2&q=a+b&f%5Bx%5D=y"),
        (Some("COMMAS"), "ids=1%2C2&q=a+b&f%5Bx%5D=y"),
        (Some("BRACKETS"), "ids%5B%5D=1&ids%5B%5D=2&q=a+b&f%5Bx%5D=y"),
    ];
    for (format, expected) in cases {
        let mut p = json!({"ApiEndpoint": svc.url("/echo"), "Method": "GET",
                           "QueryParameters": {"ids": [1, 2], "q": "a b", "f": {"x": "y"}}});
        if let Some(f) = format {
            p["Transform"] = json!({"RequestEncodingOptions": {"ArrayFormat": f}});
        }
        let out = succeeded(run(&reg, HTTP, p).await);
        assert_eq!(echo_of(&out)["query"], expected, "{format:?}");
    }
}

#[tokio::test]
async fn endpoint_query_is_kept_and_extended() {
    let svc = serve().await;
    let reg = common::registry(&config(""), None);
    let out = succeeded(
        run(
            &reg,
            HTTP,
            json!({"ApiEndpoint": svc.url("/echo?fixed=1"), "Method": "GET",
                   "QueryParameters": {"more": "2"}}),
        )
        .await,
    );
    assert_eq!(echo_of(&out)["query"], "fixed=1&more=2");
}

#[tokio::test]
async fn bodies_json_text_and_url_encoded() {
    let svc = serve().await;
    let reg = common::registry(&config(""), None);
    let out = succeeded(
        run(
            &reg,
            HTTP,
            json!({"ApiEndpoint": svc.url("/echo"), "Method": "post",
                   "RequestBody": {"name": "x", "tags": ["a"]}}),
        )
        .await,
    );
    let echo = echo_of(&out);
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["headers"]["content-type"], "application/json");
    assert_eq!(echo["body"], r#"{"name":"x","tags":["a"]}"#);

    let out = succeeded(
        run(
            &reg,
            HTTP,
            json!({"ApiEndpoint": svc.url("/echo"), "Method": "PUT",
                   "Headers": {"Content-Type": "text/csv"}, "RequestBody": "a,b\n1,2"}),
        )
        .await,
    );
    assert_eq!(echo_of(&out)["headers"]["content-type"], "text/csv");
    assert_eq!(echo_of(&out)["body"], "a,b\n1,2");

    let out = succeeded(
        run(
            &reg,
            HTTP,
            json!({"ApiEndpoint": svc.url("/echo"), "Method": "POST",
                   "RequestBody": {"user": "ann", "roles": ["r1", "r2"], "n": 1},
                   "Transform": {"RequestBodyEncoding": "URL_ENCODED",
                                 "RequestEncodingOptions": {"ArrayFormat": "BRACKETS"}}}),
        )
        .await,
    );
    let echo = echo_of(&out);
    assert_eq!(
        echo["headers"]["content-type"],
        "application/x-www-form-urlencoded"
    );
    assert_eq!(echo["body"], "user=ann&roles%5B%5D=r1&roles%5B%5D=r2&n=1");
}

#[tokio::test]
async fn text_responses_stay_text() {
    let svc = serve().await;
    let reg = common::registry(&config(""), None);
    let out = succeeded(
        run(
            &reg,
            HTTP,
            json!({"ApiEndpoint": svc.url("/text"), "Method": "GET"}),
        )
        .await,
    );
    assert_eq!(out["ResponseBody"], "hello");
}

#[tokio::test]
async fn oversized_responses_are_refused() {
    let svc = serve().await;
    let reg = common::registry(&config(""), None);
    let f = failed(
        run(
            &reg,
            HTTP,
            json!({"ApiEndpoint": svc.url("/big"), "Method": "GET"}),
        )
        .await,
    );
    assert_eq!(f.error, "States.DataLimitExceeded");
}

#[tokio::test]
async fn non_2xx_fails_with_the_status_code_error() {
    let svc = serve().await;
    let reg = common::registry(&config(""), None);
    for code in [400u16, 404, 500, 503] {
        let f = failed(
            run(
                &reg,
                HTTP,
                json!({"ApiEndpoint": svc.url(&format!("/status/{code}")), "Method": "DELETE"}),
            )
            .await,
        );
        assert_eq!(f.error, format!("States.Http.StatusCode.{code}"));
        let cause: Value = serde_json::from_str(&f.cause).unwrap_or(Value::Null);
        assert_eq!(cause["StatusCode"], code.to_string());
        assert_eq!(cause["ResponseBody"]["code"], code);
        assert!(cause["StatusText"].is_string());
    }
}

#[tokio::test]
async fn connection_errors_and_timeouts_are_socket_errors() {
    // A port nobody listens on: bind one, then let it go.
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        l.local_addr().unwrap_or_else(|e| panic!("{e}"))
    };
    let reg = common::registry(&config(""), None);
    let f = failed(
        run(
            &reg,
            HTTP,
            json!({"ApiEndpoint": format!("http://{addr}/x"), "Method": "GET"}),
        )
        .await,
    );
    assert_eq!(f.error, "States.Http.Socket");
    assert!(f.cause.contains(&format!("http://{addr}/x")), "{}", f.cause);

    let svc = serve().await;
    let reg = common::registry(&config("[integrations.http]\ntimeout_seconds = 1"), None);
    let f = failed(
        run(
            &reg,
            HTTP,
            json!({"ApiEndpoint": svc.url("/slow"), "Method": "GET"}),
        )
        .await,
    );
    assert_eq!(f.error, "States.Http.Socket");
    assert!(f.cause.contains("within 1 seconds"), "{}", f.cause);
}

#[tokio::test]
async fn allowed_hosts_restrict_endpoints() {
    let svc = serve().await;
    let reg = common::registry(
        &config("[integrations.http]\nallowed_hosts = [\"localhost\", \"*.internal\"]"),
        None,
    );
    let f = failed(
        run(
            &reg,
            HTTP,
            json!({"ApiEndpoint": svc.url("/echo"), "Method": "GET"}),
        )
        .await,
    );
    assert_eq!(f.error, "States.Permissions");
    assert!(f.cause.contains("127.0.0.1"));
    let url = format!("http://localhost:{}/quiet", svc.addr.port());
    succeeded(run(&reg, HTTP, json!({"ApiEndpoint": url, "Method": "GET"})).await);
}

#[tokio::test]
async fn bad_parameters_are_reported() {
    let reg = common::registry(&config(""), None);
    let f = failed(run(&reg, HTTP, json!({"Method": "GET"})).await);
    assert_eq!(f.error, "Statecraft.InvalidParameters");
    assert!(f.cause.contains("ApiEndpoint"));
}

const CONNECTIONS: &str = r#"
[integrations.http.connections.keyed]
auth = { type = "api_key", header = "x-api-key", value = "KEY-very-secret" }
query_parameters = { sig = "QUERY-very-secret" }

[integrations.http.connections.basic]
auth = { type = "basic", username = "ann", password = "PASS-very-secret" }

[integrations.http.connections.idp]
auth = { type = "oauth_client_credentials", token_url = "TOKEN_URL", client_id = "client", client_secret = "s3cret", scope = "read" }

[integrations.http.connections.exact]
arn = "arn:aws:events:us-east-1:1:connection/other-name/42"
auth = { type = "none" }
headers = { x-tenant = "t-1" }
"#;

fn arn(name: &str) -> String {
    format!("arn:aws:events:us-east-1:123456789012:connection/{name}/0b5f2f0e")
}

fn assert_no_secret(text: &str) {
    for s in [
        "KEY-very-secret",
        "QUERY-very-secret",
        "PASS-very-secret",
        "s3cret",
        "tok-1",
    ] {
        assert!(!text.contains(s), "secret {s} leaked into {text}");
    }
}

#[tokio::test]
async fn connections_authenticate_without_leaking_secrets() {
    let svc = serve().await;
    let cfg = config(&CONNECTIONS.replace("TOKEN_URL", &svc.url("/token")));
    let reg = common::registry(&cfg, None);

    // API key and secret query parameter: the service sees them, the result
    // does not carry them.
    let out = succeeded(
        run(
            &reg,
            HTTP,
            json!({"ApiEndpoint": svc.url("/quiet"), "Method": "GET",
                   "Authentication": {"ConnectionArn": arn("keyed")},
                   "QueryParameters": {"sig": "from-task", "page": 2}}),
        )
        .await,
    );
    assert_no_secret(&out.to_string());
    let seen = svc
        .seen
        .last
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .unwrap_or_default();
    assert_eq!(seen["headers"]["x-api-key"], "KEY-very-secret");
    assert_eq!(seen["query"], "page=2&sig=QUERY-very-secret");

    // Basic: the connection's Authorization wins over the task's.
    succeeded(
        run(
            &reg,
            HTTP,
            json!({"ApiEndpoint": svc.url("/quiet"), "Method": "GET",
                   "Headers": {"Authorization": "Bearer forged"},
                   "Authentication": {"ConnectionArn": arn("basic")}}),
        )
        .await,
    );
    let seen = svc
        .seen
        .last
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .unwrap_or_default();
    // base64("ann:PASS-very-secret")
    assert_eq!(
        seen["headers"]["authorization"],
        "Basic YW5uOlBBU1MtdmVyeS1zZWNyZXQ="
    );

    // Matched by configured ARN.
    succeeded(
        run(
            &reg,
            HTTP,
            json!({"ApiEndpoint": svc.url("/quiet"), "Method": "GET",
                   "Authentication": {"ConnectionArn": "arn:aws:events:us-east-1:1:connection/other-name/42"}}),
        )
        .await,
    );
    let seen = svc
        .seen
        .last
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .unwrap_or_default();
    assert_eq!(seen["headers"]["x-tenant"], "t-1");

    // A failure's cause carries no secret either.
    let f = failed(
        run(
            &reg,
            HTTP,
            json!({"ApiEndpoint": svc.url("/status/403"), "Method": "GET",
                   "Authentication": {"ConnectionArn": arn("keyed")}}),
        )
        .await,
    );
    assert_no_secret(&f.cause);
    let f = failed(
        run(
            &reg,
            HTTP,
            json!({"ApiEndpoint": "http://127.0.0.1:9/x", "Method": "GET",
                   "Authentication": {"ConnectionArn": arn("keyed")}}),
        )
        .await,
    );
    assert_eq!(f.error, "States.Http.Socket");
    assert_no_secret(&f.cause);

    let f = failed(
        run(
            &reg,
            HTTP,
            json!({"ApiEndpoint": svc.url("/quiet"), "Method": "GET",
                   "Authentication": {"ConnectionArn": arn("nobody")}}),
        )
        .await,
    );
    assert_eq!(f.error, "Statecraft.Http.ConnectionNotFound");
}

#[tokio::test]
async fn oauth_tokens_are_fetched_once_and_renewed_on_401() {
    let svc = serve().await;
    let cfg = config(&CONNECTIONS.replace("TOKEN_URL", &svc.url("/token")));
    let reg = common::registry(&cfg, None);
    let call = json!({"ApiEndpoint": svc.url("/protected"), "Method": "GET",
                      "Authentication": {"ConnectionArn": arn("idp")}});
    for _ in 0..3 {
        let out = succeeded(run(&reg, HTTP, call.clone()).await);
        assert_eq!(out["ResponseBody"]["ok"], true);
        assert_no_secret(&out.to_string());
    }
    assert_eq!(
        svc.seen
            .token_fetches
            .load(std::sync::atomic::Ordering::SeqCst),
        1
    );
    // The provider revokes the token: the next call gets a 401, fetches a
    // new token and succeeds.
    *svc.seen
        .valid_token
        .lock()
        .unwrap_or_else(|e| e.into_inner()) = "tok-2".into();
    let out = succeeded(run(&reg, HTTP, call.clone()).await);
    assert_eq!(out["ResponseBody"]["ok"], true);
    assert_eq!(
        svc.seen
            .token_fetches
            .load(std::sync::atomic::Ordering::SeqCst),
        2
    );
}

#[tokio::test]
async fn oauth_failures_name_the_connection_not_the_secret() {
    let svc = serve().await;
    let text = CONNECTIONS
        .replace("TOKEN_URL", &svc.url("/token"))
        .replace(
            "client_secret = \"s3cret\"",
            "client_secret = \"wrong-s3cret\"",
        );
    let reg = common::registry(&config(&text), None);
    let f = failed(
        run(
            &reg,
            HTTP,
            json!({"ApiEndpoint": svc.url("/protected"), "Method": "GET",
                   "Authentication": {"ConnectionArn": arn("idp")}}),
        )
        .await,
    );
    assert_eq!(f.error, "Statecraft.Http.AuthFailed");
    assert!(f.cause.contains("'idp'"));
    assert!(!f.cause.contains("wrong-s3cret"));
}

/// A redirect through `svc` (reached as `localhost`) to `to`.
fn redirect_via(svc: &common::Service, to: &str, code: u16) -> String {
    let mut url = format!("http://localhost:{}/redirect?", svc.addr.port());
    url.push_str(
        &form_urlencoded::Serializer::new(String::new())
            .append_pair("to", to)
            .append_pair("code", &code.to_string())
            .finish(),
    );
    url
}

const REDIRECT_CONNECTIONS: &str = r#"
[integrations.http.connections.keyed]
auth = { type = "api_key", header = "x-api-key", value = "KEY-very-secret" }
query_parameters = { sig = "QUERY-very-secret" }
headers = { x-tenant = "TENANT-very-secret" }

[integrations.http.connections.basic]
auth = { type = "basic", username = "ann", password = "PASS-very-secret" }

[integrations.http.connections.idp]
auth = { type = "oauth_client_credentials", token_url = "TOKEN_URL", client_id = "client", client_secret = "s3cret" }

[integrations.http.connections.bodied]
auth = { type = "none" }
body_parameters = { api_secret = "BODY-very-secret" }
"#;

/// See issue 14: the host was checked on the first URL only, and the
/// client followed redirects anywhere.
#[tokio::test]
async fn redirects_to_a_host_not_allowed_are_refused() {
    let (a, b) = (serve().await, serve().await);
    let cfg = REDIRECT_CONNECTIONS.replace("TOKEN_URL", &a.url("/token"))
        + "[integrations.http]\nallowed_hosts = [\"localhost\"]\n";
    let reg = common::registry(&config(&cfg), None);
    for code in [301, 302, 303, 307, 308] {
        let to = b.url("/echo");
        let f = failed(
            run(
                &reg,
                HTTP,
                json!({"ApiEndpoint": redirect_via(&a, &to, code), "Method": "GET",
                       "Authentication": {"ConnectionArn": arn("keyed")}}),
            )
            .await,
        );
        assert_eq!(f.error, "States.Permissions", "{code}: {}", f.cause);
        assert!(
            f.cause.contains("redirected to the host '127.0.0.1'"),
            "{}",
            f.cause
        );
        assert_no_secret(&f.cause);
        assert!(
            b.seen
                .last
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_none(),
            "{code}: the host that is not allowed was called"
        );
    }
}

/// See issue 14: an API key went to the host a redirect named. Another
/// origin gets the task's request without anything the connection adds.
#[tokio::test]
async fn credentials_never_follow_a_redirect_to_another_host() {
    let (a, b) = (serve().await, serve().await);
    let cfg = REDIRECT_CONNECTIONS.replace("TOKEN_URL", &a.url("/token"))
        + "[integrations.http]\nallowed_hosts = [\"localhost\", \"127.0.0.1\"]\n";
    let reg = common::registry(&config(&cfg), None);
    let secrets = [
        "KEY-very-secret",
        "QUERY-very-secret",
        "TENANT-very-secret",
        "PASS-very-secret",
        "BODY-very-secret",
        "tok-1",
        "TASK-very-secret",
    ];
    // (connection, status, method): 301-303 turn into a GET, 307/308 repeat.
    let cases = [
        (Some("keyed"), 302, "POST", "GET"),
        (Some("keyed"), 307, "POST", "POST"),
        (Some("basic"), 301, "GET", "GET"),
        (Some("basic"), 308, "PUT", "PUT"),
        (Some("idp"), 303, "POST", "GET"),
        (Some("idp"), 307, "DELETE", "DELETE"),
        (Some("bodied"), 307, "POST", "POST"),
        (Some("bodied"), 308, "PATCH", "PATCH"),
        (None, 302, "GET", "GET"),
        (None, 307, "POST", "POST"),
    ];
    for (connection, code, method, arrives_as) in cases {
        *b.seen.last.lock().unwrap_or_else(|e| e.into_inner()) = None;
        let mut p = json!({
            "ApiEndpoint": redirect_via(&a, &b.url("/echo"), code),
            "Method": method,
            "Headers": {"x-trace": "kept", "Authorization": "Bearer TASK-very-secret"},
            "RequestBody": {"order": 7},
        });
        if let Some(c) = connection {
            p["Authentication"] = json!({"ConnectionArn": arn(c)});
        }
        let what = format!("{connection:?} {code} {method}");
        let out = succeeded(run(&reg, HTTP, p).await);
        let echo = echo_of(&out);
        assert_eq!(echo["path"], "/echo", "{what}: {echo}");
        assert_eq!(echo["method"], arrives_as, "{what}");
        assert_eq!(echo["headers"]["x-trace"], "kept", "{what}");
        let seen = b
            .seen
            .last
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .unwrap_or_else(|| panic!("{what}: the other host saw nothing"))
            .to_string();
        for s in secrets {
            assert!(
                !seen.contains(s),
                "{what}: {s} reached the other host: {seen}"
            );
        }
        assert!(echo["headers"].get("authorization").is_none(), "{what}");
        assert!(echo["headers"].get("x-api-key").is_none(), "{what}");
        if arrives_as == "GET" {
            assert_eq!(echo["body"], "", "{what}");
        } else {
            assert_eq!(echo["body"], "{\"order\":7}", "{what}");
        }
    }
}

#[tokio::test]
async fn redirects_within_the_origin_keep_the_credentials() {
    let a = serve().await;
    let cfg = REDIRECT_CONNECTIONS.replace("TOKEN_URL", &a.url("/token"))
        + "[integrations.http]\nallowed_hosts = [\"localhost\"]\n";
    let reg = common::registry(&config(&cfg), None);
    let out = succeeded(
        run(
            &reg,
            HTTP,
            json!({"ApiEndpoint": redirect_via(&a, "/echo", 307), "Method": "POST",
                   "RequestBody": {"order": 7},
                   "Authentication": {"ConnectionArn": arn("keyed")}}),
        )
        .await,
    );
    let echo = echo_of(&out);
    assert_eq!(echo["path"], "/echo");
    assert_eq!(echo["headers"]["x-api-key"], "KEY-very-secret");
    assert_eq!(echo["headers"]["x-tenant"], "TENANT-very-secret");
    assert_eq!(echo["body"], "{\"order\":7}");
    assert_no_secret(&out["Headers"].to_string());
}

#[tokio::test]
async fn redirect_loops_and_odd_locations_fail_cleanly() {
    let a = serve().await;
    let reg = common::registry(&config(""), None);
    // `/redirect` with no `to` points at itself.
    let f = failed(
        run(
            &reg,
            HTTP,
            json!({"ApiEndpoint": a.url("/redirect"), "Method": "GET"}),
        )
        .await,
    );
    assert_eq!(f.error, "States.Http.Socket");
    assert!(f.cause.contains("more than 10 times"), "{}", f.cause);
    let f = failed(
        run(
            &reg,
            HTTP,
            json!({"ApiEndpoint": redirect_via(&a, "file:///etc/passwd", 302), "Method": "GET"}),
        )
        .await,
    );
    assert_eq!(f.error, "States.Http.Socket");
    assert!(f.cause.contains("'file' URL"), "{}", f.cause);
}
