//! Request guards in front of every route: the `Host` check that keeps a
//! web page from reaching a loopback server through DNS rebinding, and the
//! refusal of cross-origin state-changing requests (the console's POST
//! routes accept `text/plain` bodies, which a foreign page can send without
//! a CORS preflight).
//!
//! A `Host` passes when it names (port aside) the listening address, a
//! loopback address, `localhost` or a `*.localhost` name (RFC 6761: always
//! loopback, so no rebinding), any IP address when listening on all
//! interfaces, or a configured extra name; and the same with the `sync-`
//! prefix the AWS SDKs put before the endpoint's host for StartSyncExecution
//! and TestState (docs/sdk-setup.md). An IP literal cannot be rebound, so the
//! check is about names. `GET /healthz` is exempt, so that orchestrators
//! probing by a service name keep working; it tells nothing.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The prefix the SDKs add to the endpoint's host for some operations.
const SYNC_PREFIX: &str = "sync-";

/// Which `Host` names the server answers to.
#[derive(Debug, Clone)]
pub struct HostPolicy {
    listen: IpAddr,
    /// Configured names, lower case: exact, or `*.domain` for its subdomains.
    extra: Vec<String>,
}

/// A configured host name that is not a name or an address.
#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not a host name, a \"*.domain\" pattern or an IP address")]
pub struct BadHostName(pub String);

impl HostPolicy {
    /// The policy for a server listening on `listen`, with `extra` names
    /// (from `allowed_hosts` and `--allowed-host`).
    pub fn new(listen: SocketAddr, extra: &[String]) -> Result<HostPolicy, BadHostName> {
        let mut names = Vec::with_capacity(extra.len());
        for name in extra {
            names.push(check_name(name)?);
        }
        Ok(HostPolicy {
            listen: listen.ip(),
            extra: names,
        })
    }

    /// Loopback addresses and `localhost` names only.
    pub fn loopback() -> HostPolicy {
        HostPolicy {
            listen: IpAddr::from([127, 0, 0, 1]),
            extra: Vec::new(),
        }
    }

    /// Whether a request whose `Host` is `host` (with or without a port)
    /// may be answered.
    pub fn allows(&self, host: &str) -> bool {
        let name = strip_port(host.trim()).to_ascii_lowercase();
        let name = name.trim_end_matches('.');
        if self.allows_name(name) {
            return true;
        }
        name.strip_prefix(SYNC_PREFIX)
            .is_some_and(|rest| self.allows_name(rest))
    }

    fn allows_name(&self, name: &str) -> bool {
        if name.is_empty() {
            return false;
        }
        if let Some(ip) = parse_ip(name) {
            return ip.is_loopback()
                || ip == self.listen
                || self.listen.is_unspecified()
                || self.extra.iter().any(|e| parse_ip(e) == Some(ip));
        }
        if name == "localhost" || name.ends_with(".localhost") {
            return true;
        }
        self.extra.iter().any(|p| match p.strip_prefix("*.") {
            Some(domain) => name
                .strip_suffix(domain)
                .is_some_and(|rest| rest.len() > 1 && rest.ends_with('.')),
            None => p == name,
        })
    }
}

/// A configured name, checked and lower-cased.
fn check_name(name: &str) -> Result<String, BadHostName> {
    let lower = name.trim().to_ascii_lowercase();
    if parse_ip(&lower).is_some() {
        return Ok(lower);
    }
    let bare = lower.strip_prefix("*.").unwrap_or(&lower);
    let ok = !bare.is_empty()
        && bare
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
        && !bare.starts_with('.')
        && !bare.ends_with('.');
    if ok {
        Ok(lower)
    } else {
        Err(BadHostName(name.to_owned()))
    }
}

/// An IP address, IPv6 with or without its brackets.
fn parse_ip(text: &str) -> Option<IpAddr> {
    let inner = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    inner.parse().ok()
}

/// `name` of `name:port`, `[v6]` of `[v6]:port`.
fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return match host.find(']') {
            Some(end) => &host[..=end],
            None => host,
        };
    }
    match host.rsplit_once(':') {
        // A bare IPv6 address has several colons: no port to strip.
        Some((name, port)) if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            name
        }
        _ => host,
    }
}

/// Whether a state-changing request comes from another origin, as a
/// browser says it: `Sec-Fetch-Site` other than `same-origin`/`none`, or an
/// `Origin` that is not the origin the request was sent to. Requests
/// without either header come from programs (SDKs, curl), not from a page.
fn cross_origin(headers: &HeaderMap) -> bool {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site") {
        if !matches!(site.trim(), "same-origin" | "none") {
            return true;
        }
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return false;
    };
    let Ok(origin) = origin.to_str() else {
        return true;
    };
    // `Origin: null` (sandboxed frames, file pages) is another origin.
    let Some((_, authority)) = origin.trim().split_once("://") else {
        return true;
    };
    let Some(host) = text("host") else {
        return true;
    };
    !same_authority(authority, host)
}

/// `authority` of an Origin against a `Host`, default ports aside.
fn same_authority(origin: &str, host: &str) -> bool {
    let norm = |s: &str| {
        let s = s.trim().trim_end_matches('/').to_ascii_lowercase();
        s.strip_suffix(":80").map(str::to_owned).unwrap_or(s)
    };
    norm(origin) == norm(host)
}

/// The middleware: refuses a foreign `Host` (421) and a cross-origin
/// state-changing request (403), each with a sentence saying why, in the
/// API's error shape.
pub async fn guard(
    State(policy): State<Arc<HostPolicy>>,
    request: Request,
    next: Next,
) -> Response {
    let exempt = request.uri().path() == "/healthz"
        && matches!(*request.method(), Method::GET | Method::HEAD);
    // HTTP/1.1 has a Host header; HTTP/2 may carry the authority in the URI.
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| request.uri().authority().map(|a| a.as_str().to_owned()));
    if let Some(host) = host {
        if !exempt && !policy.allows(&host) {
            statecraft_telemetry::metrics::observe_refused("host");
            return refuse(
                StatusCode::MISDIRECTED_REQUEST,
                "MisdirectedRequest",
                &format!(
                    "This server does not answer to the host '{host}'. If that name is yours, add it to allowed_hosts in the server's config file (or pass --allowed-host); see crates/server/README.md."
                ),
            );
        }
    }
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !safe && cross_origin(request.headers()) {
        statecraft_telemetry::metrics::observe_refused("cross_origin");
        return refuse(
            StatusCode::FORBIDDEN,
            "CrossOriginRequestRefused",
            "This server does not accept state-changing requests from another origin (a web page on another site); use the console served by this server, an SDK or the CLI.",
        );
    }
    next.run(request).await
}

fn refuse(status: StatusCode, kind: &'static str, message: &str) -> Response {
    let body = serde_json::json!({ "__type": kind, "message": message }).to_string();
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(crate::http::CONTENT_TYPE),
    );
    headers.insert("x-amzn-errortype", HeaderValue::from_static(kind));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(listen: &str, extra: &[&str]) -> HostPolicy {
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        HostPolicy::new(listen.parse().expect("addr"), &extra).expect("policy")
    }

    #[test]
    fn hosts_allowed_and_refused() {
        let p = policy("127.0.0.1:8083", &["statecraft.internal", "*.corp.example"]);
        let cases = [
            ("localhost", true),
            ("localhost:8083", true),
            ("LOCALHOST:8083", true),
            ("localhost.", true),
            ("app.localhost:8083", true),
            ("127.0.0.1:8083", true),
            ("127.0.0.2", true),
            ("[::1]:8083", true),
            ("[::1]", true),
            ("sync-localhost:8083", true),
            ("sync-127.0.0.1:8083", true),
            ("sync-app.localhost", true),
            ("statecraft.internal:8083", true),
            ("sync-statecraft.internal", true),
            ("a.corp.example", true),
            ("sync-a.corp.example:1", true),
            // Refused: names an attacker controls, and near misses.
            ("evil.example:8083", false),
            ("localhost.evil.example", false),
            ("evillocalhost", false),
            ("corp.example", false),
            ("xcorp.example", false),
            ("statecraft.internal.evil", false),
            ("sync-evil.example", false),
            ("sync-", false),
            ("10.1.2.3:8083", false),
            ("", false),
            (":8083", false),
        ];
        for (host, ok) in cases {
            assert_eq!(p.allows(host), ok, "{host}");
        }
    }

    #[test]
    fn the_listening_address_is_allowed() {
        let p = policy("10.1.2.3:8083", &[]);
        assert!(p.allows("10.1.2.3:8083"));
        assert!(p.allows("sync-10.1.2.3:8083"));
        assert!(!p.allows("10.1.2.4:8083"));
        assert!(!p.allows("statecraft:8083"));
        // On every interface: any address, but still no foreign name.
        let p = policy("0.0.0.0:8083", &[]);
        assert!(p.allows("10.1.2.4:8083"));
        assert!(p.allows("[fd00::1]:8083"));
        assert!(!p.allows("statecraft:8083"));
        let p = policy("0.0.0.0:8083", &["statecraft"]);
        assert!(p.allows("statecraft:8083"));
    }

    #[test]
    fn bad_names_are_refused() {
        for bad in ["", "*", "a/b", "http://x", "a b", "*.", ".x", "x:80"] {
            assert!(
                HostPolicy::new("127.0.0.1:1".parse().expect("addr"), &[bad.to_owned()]).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn origins() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.insert(*k, HeaderValue::from_static(v));
            }
            h
        };
        let cases: &[(&[(&str, &str)], bool)] = &[
            (&[("host", "localhost:8083")], false),
            (
                &[
                    ("host", "localhost:8083"),
                    ("origin", "http://localhost:8083"),
                ],
                false,
            ),
            (
                &[("host", "localhost"), ("origin", "http://localhost:80")],
                false,
            ),
            (
                &[
                    ("host", "localhost:8083"),
                    ("sec-fetch-site", "same-origin"),
                ],
                false,
            ),
            (
                &[("host", "localhost:8083"), ("sec-fetch-site", "none")],
                false,
            ),
            (
                &[
                    ("host", "localhost:8083"),
                    ("origin", "http://evil.example"),
                ],
                true,
            ),
            (
                &[
                    ("host", "localhost:8083"),
                    ("origin", "http://localhost:3000"),
                ],
                true,
            ),
            (&[("host", "localhost:8083"), ("origin", "null")], true),
            (
                &[("host", "localhost:8083"), ("sec-fetch-site", "cross-site")],
                true,
            ),
            (
                &[("host", "localhost:8083"), ("sec-fetch-site", "same-site")],
                true,
            ),
            (&[("origin", "http://localhost:8083")], true),
        ];
        for (pairs, cross) in cases {
            assert_eq!(cross_origin(&headers(pairs)), *cross, "{pairs:?}");
        }
    }
}
