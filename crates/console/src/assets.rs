//! The console's static files, embedded at compile time, served with their
//! content type and validated caching: `Cache-Control: no-cache` plus an
//! `ETag`, so a browser revalidates (a cheap 304) and never runs stale code
//! after the binary is upgraded.

use axum::extract::Path;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// One embedded file.
pub(crate) struct Asset {
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

macro_rules! asset {
    ($path:literal, $ty:expr) => {
        Asset {
            path: $path,
            content_type: $ty,
            body: include_bytes!(concat!("../assets/console/", $path)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

pub(crate) static ASSETS: &[Asset] = &[
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("icon.svg", "image/svg+xml"),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("ui.js", JS),
    asset!("graph.js", JS),
    asset!("history.js", JS),
    asset!("overview.js", JS),
    asset!("machines.js", JS),
    asset!("execution.js", JS),
    asset!("maprun.js", JS),
    asset!("activities.js", JS),
    asset!("schedules.js", JS),
    asset!("editor.js", JS),
    asset!("signin.js", JS),
];

static INDEX: &[u8] = include_bytes!("../assets/index.html");
static SIGNIN: &[u8] = include_bytes!("../assets/signin.html");

/// Only same-origin scripts, styles, images and requests: the console works
/// offline and cannot be made to load code from elsewhere. Inline styles are
/// allowed for the `style` attributes the app sets (bar widths, positions).
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
frame-ancestors 'none'";

pub(crate) fn find(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

/// FNV-1a: stable across builds and platforms, which is all an ETag needs.
fn etag(body: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in body {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("\"{h:016x}\"")
}

fn respond(
    headers: &HeaderMap,
    content_type: &'static str,
    body: &'static [u8],
    shell: bool,
) -> Response {
    let tag = etag(body);
    let mut out = HeaderMap::new();
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    out.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(v) = HeaderValue::from_str(&tag) {
        out.insert(header::ETAG, v);
    }
    if shell {
        out.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
        out.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
    }
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
    if fresh {
        return (StatusCode::NOT_MODIFIED, out).into_response();
    }
    out.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    (StatusCode::OK, out, body).into_response()
}

pub(crate) async fn index(headers: HeaderMap) -> Response {
    respond(&headers, "text/html; charset=utf-8", INDEX, true)
}

/// The sign-in page (served whether or not the server checks credentials;
/// without them, signing in is refused with a sentence saying so).
pub(crate) async fn signin(headers: HeaderMap) -> Response {
    respond(&headers, "text/html; charset=utf-8", SIGNIN, true)
}

pub(crate) async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    match find(&path) {
        Some(a) => respond(&headers, a.content_type, a.body, false),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "not found\n",
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_is_named_once_and_non_empty() {
        for (i, a) in ASSETS.iter().enumerate() {
            assert!(!a.body.is_empty(), "{} is empty", a.path);
            assert!(
                ASSETS.iter().skip(i + 1).all(|b| b.path != a.path),
                "{} twice",
                a.path
            );
        }
    }

    /// Every module the scripts import is embedded (a missing one would only
    /// show up as a blank page in the browser).
    #[test]
    fn imports_resolve() {
        for a in ASSETS.iter().filter(|a| a.path.ends_with(".js")) {
            let text = std::str::from_utf8(a.body).unwrap_or_default();
            for line in text.lines().filter(|l| l.starts_with("import ")) {
                let Some(spec) = line.split(['\'', '"']).nth(1) else {
                    continue;
                };
                let name = spec.trim_start_matches("./");
                assert!(
                    find(name).is_some(),
                    "{} imports {spec}, which is not embedded",
                    a.path
                );
            }
        }
    }

    #[test]
    fn etags_differ_by_content() {
        assert_ne!(etag(b"a"), etag(b"b"));
        assert_eq!(etag(b"a"), etag(b"a"));
    }
}
