//! The console's router as the server will mount it: the shell, every
//! asset with its content type and caching headers, and the layout endpoint.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use tower::ServiceExt;

fn app() -> Router {
    statecraft_console::router::<()>()
}

async fn send(req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
    let res = app().oneshot(req).await.expect("the router answers");
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    (
        status,
        headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

async fn get(uri: &str) -> (StatusCode, axum::http::HeaderMap, String) {
    send(Request::get(uri).body(Body::empty()).expect("request")).await
}

fn content_type(h: &axum::http::HeaderMap) -> &str {
    h.get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

const SAMPLE: &str = r#"{"StartAt": "Check", "States": {
  "Check": {"Type": "Choice", "Choices": [{"Variable": "$.ok", "BooleanEquals": true, "Next": "Done"}], "Default": "Oops"},
  "Done": {"Type": "Succeed"}, "Oops": {"Type": "Fail"}}}"#;

#[tokio::test]
async fn serves_the_shell() {
    let (status, headers, body) = get("/").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type(&headers), "text/html; charset=utf-8");
    assert!(body.contains("<script type=\"module\" src=\"/console/app.js\">"));
    let csp = headers
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(csp.contains("default-src 'self'"), "{csp}");
    assert_eq!(
        headers
            .get(header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok()),
        Some("no-cache")
    );
}

#[tokio::test]
async fn serves_every_asset_with_its_type() {
    let cases = [
        ("/console/app.js", "text/javascript; charset=utf-8"),
        ("/console/execution.js", "text/javascript; charset=utf-8"),
        ("/console/maprun.js", "text/javascript; charset=utf-8"),
        ("/console/style.css", "text/css; charset=utf-8"),
        ("/console/icon.svg", "image/svg+xml"),
    ];
    for (uri, ty) in cases {
        let (status, headers, body) = get(uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert_eq!(content_type(&headers), ty, "{uri}");
        assert!(!body.is_empty(), "{uri}");
        assert!(headers.contains_key(header::ETAG), "{uri}");
        assert_eq!(
            headers
                .get(header::X_CONTENT_TYPE_OPTIONS)
                .and_then(|v| v.to_str().ok()),
            Some("nosniff")
        );
    }
}

#[tokio::test]
async fn revalidation_answers_not_modified() {
    let (_, headers, _) = get("/console/app.js").await;
    let etag = headers.get(header::ETAG).expect("etag").clone();
    let req = Request::get("/console/app.js")
        .header(header::IF_NONE_MATCH, etag)
        .body(Body::empty())
        .expect("request");
    let (status, _, body) = send(req).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());
}

#[tokio::test]
async fn unknown_assets_are_not_found() {
    for uri in ["/console/nope.js", "/console/../Cargo.toml", "/console/"] {
        let (status, _, _) = get(uri).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
    }
}

#[tokio::test]
async fn the_shell_loads_nothing_from_elsewhere() {
    let (_, _, body) = get("/").await;
    assert!(
        !body.contains("http://") && !body.contains("https://"),
        "{body}"
    );
    for a in [
        "app.js",
        "api.js",
        "ui.js",
        "graph.js",
        "history.js",
        "overview.js",
        "machines.js",
        "execution.js",
        "maprun.js",
        "activities.js",
        "editor.js",
        "style.css",
    ] {
        let (_, _, text) = get(&format!("/console/{a}")).await;
        assert!(
            !text.contains("https://") && !text.contains("http://"),
            "{a} refers to another origin"
        );
    }
}

#[tokio::test]
async fn layout_endpoint_answers_json() {
    let req = Request::post("/console/api/layout")
        .body(Body::from(SAMPLE))
        .expect("request");
    let (status, headers, body) = send(req).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(content_type(&headers), "application/json");
    let layout: statecraft_graph::Layout = serde_json::from_str(&body).expect("a Layout");
    assert!(layout
        .state("Check")
        .is_some_and(|n| n.kind == statecraft_graph::NodeKind::Choice));
    assert_eq!(
        layout
            .edges
            .iter()
            .filter(|e| e.kind == statecraft_graph::EdgeKind::Choice)
            .count(),
        1
    );
}

#[tokio::test]
async fn layout_endpoint_answers_svg() {
    let req = Request::post("/console/api/layout?format=svg")
        .body(Body::from(SAMPLE))
        .expect("request");
    let (status, headers, body) = send(req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type(&headers), "image/svg+xml");
    assert!(body.starts_with("<svg") && body.contains("data-state=\"Oops\""));
}

#[tokio::test]
async fn graph_endpoint_takes_the_definition_in_the_query() {
    let yaml = "StartAt: A\nStates:\n  A:\n    Type: Pass\n    End: true\n";
    let uri = format!("/console/api/graph?definition={}", encode(yaml));
    let (status, _, body) = get(&uri).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let layout: statecraft_graph::Layout = serde_json::from_str(&body).expect("a Layout");
    assert!(layout.state("A").is_some());
}

#[tokio::test]
async fn unreadable_definitions_get_diagnostics() {
    let req = Request::post("/console/api/layout")
        .body(Body::from("{\n  \"StartAt\": \"A\",\n  \"States\": {\n"))
        .expect("request");
    let (status, _, body) = send(req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let v: serde_json::Value = serde_json::from_str(&body).expect("JSON error");
    assert_eq!(v["__type"], "InvalidDefinition");
    assert!(v["diagnostics"][0]["line"].is_u64(), "{v}");

    let (status, _, body) = get("/console/api/graph").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("MissingDefinition"));

    let big = format!(
        "{{\"Comment\": \"{}\"}}",
        "x".repeat(statecraft_console::MAX_DEFINITION_BYTES)
    );
    let req = Request::post("/console/api/layout")
        .body(Body::from(big))
        .expect("request");
    let (status, _, body) = send(req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("DefinitionTooLarge"), "{body}");
}

/// Percent-encoding for a query value (the test needs no crate for it).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
