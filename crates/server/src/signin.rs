//! The console's side of authentication: the sign-in, session and sign-out
//! routes (`/console/api/session`), the gate that keeps the console's data
//! routes and event streams from a visitor without a session (401), and the
//! security headers on every response.
//!
//! CSRF: the session cookie is `SameSite=Strict` (a page elsewhere cannot
//! make the browser send it), and every state-changing call must also carry
//! the session's CSRF token in `X-Csrf-Token` (double submit: the console's
//! scripts read it from the `statecraft_csrf` cookie, which a page on
//! another origin cannot read). The Origin check of [`crate::guard`] comes
//! on top.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::auth::session::{self, Session, COOKIE, CSRF_COOKIE, CSRF_HEADER};
use crate::auth::{Auth, Principal};

/// What the routes need to know about authentication.
#[derive(Clone, Debug)]
pub struct Gate {
    /// `None`: no credentials configured, nothing is checked.
    pub auth: Option<Arc<Auth>>,
    /// Served over TLS: cookies get `Secure`.
    pub tls: bool,
}

impl Gate {
    pub fn open() -> Gate {
        Gate {
            auth: None,
            tls: false,
        }
    }
}

/// The CSP of responses that set none themselves (data, errors): nothing
/// may be loaded or framed.
const DEFAULT_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// The value of cookie `name` in `headers`.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// The live session the request's cookie names.
pub(crate) fn session_of(auth: &Auth, headers: &HeaderMap) -> Option<Session> {
    auth.sessions.get(cookie(headers, COOKIE)?)
}

/// Whether the request carries the session's CSRF token.
pub(crate) fn csrf_ok(session: &Session, headers: &HeaderMap) -> bool {
    headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| bool::from(v.trim().as_bytes().ct_eq(session.csrf.as_bytes())))
}

fn json(status: StatusCode, body: serde_json::Value) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn unauthorized(message: &str) -> Response {
    json(
        StatusCode::UNAUTHORIZED,
        serde_json::json!({ "__type": "NotSignedIn", "message": message }),
    )
}

/// In front of every route: with credentials configured, the console's
/// data routes and streams need a session (and a CSRF token when they
/// change something), and the shell sends a visitor without one to the
/// sign-in page. The API (`POST /`) checks its own requests (see
/// [`crate::http`]).
pub async fn gate(State(gate): State<Gate>, request: Request, next: Next) -> Response {
    let Some(auth) = &gate.auth else {
        return next.run(request).await;
    };
    let path = request.uri().path();
    let method = request.method().clone();
    let data = path.starts_with("/console/api/") && path != "/console/api/session";
    if data {
        let Some(session) = session_of(auth, request.headers()) else {
            return unauthorized(
                "Sign in first: this console route needs a session (POST /console/api/session).",
            );
        };
        let safe = matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe && !csrf_ok(&session, request.headers()) {
            return json(
                StatusCode::FORBIDDEN,
                serde_json::json!({
                    "__type": "InvalidCsrfToken",
                    "message": "This call needs the session's CSRF token in the X-Csrf-Token header.",
                }),
            );
        }
    } else if path == "/" && method == Method::GET && session_of(auth, request.headers()).is_none()
    {
        let mut r = StatusCode::SEE_OTHER.into_response();
        r.headers_mut().insert(
            header::LOCATION,
            HeaderValue::from_static("/console/signin"),
        );
        return r;
    }
    next.run(request).await
}

/// Security headers on every response: no MIME sniffing, no framing, and a
/// CSP that loads nothing unless the response (the console's shell) sets
/// its own.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(DEFAULT_CSP),
        );
    }
    if !h.contains_key(header::REFERRER_POLICY) {
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
    }
    response
}

/// `/console/api/session`: GET (who am I), POST (sign in), DELETE (sign out).
pub fn router<S: Clone + Send + Sync + 'static>(gate: Gate) -> Router<S> {
    Router::new()
        .route(
            "/console/api/session",
            get(current).post(sign_in).delete(sign_out),
        )
        .with_state(gate)
}

fn principal_body(p: Option<&Principal>, auth: bool) -> serde_json::Value {
    match p {
        Some(p) => serde_json::json!({ "auth": auth, "name": p.name, "role": p.role.name() }),
        None => serde_json::json!({ "auth": auth, "name": null, "role": "admin" }),
    }
}

async fn current(State(gate): State<Gate>, headers: HeaderMap) -> Response {
    let Some(auth) = &gate.auth else {
        // Nothing configured: the console may do everything.
        return json(StatusCode::OK, principal_body(None, false));
    };
    match session_of(auth, &headers) {
        Some(s) => json(StatusCode::OK, principal_body(Some(&s.principal), true)),
        None => unauthorized("Not signed in."),
    }
}

/// The sign-in form: an access key, or a console user.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SignIn {
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    user: Option<String>,
    password: Option<String>,
}

/// The longest field a sign-in form may carry.
const MAX_FIELD: usize = 1024;

async fn sign_in(State(gate): State<Gate>, body: Bytes) -> Response {
    let Some(auth) = gate.auth.clone() else {
        return json(
            StatusCode::BAD_REQUEST,
            serde_json::json!({
                "__type": "AuthNotConfigured",
                "message": "This server has no credentials configured: there is nothing to sign in to.",
            }),
        );
    };
    if let Some(wait) = auth.sessions.sign_in_blocked(std::time::Instant::now()) {
        let secs = wait.as_secs().max(1);
        let mut r = json(
            StatusCode::TOO_MANY_REQUESTS,
            serde_json::json!({
                "__type": "TooManyRequestsException",
                "message": format!(
                    "Too many failed sign-ins in the last minute ({} allowed); try again in {secs} s.",
                    session::FAILURES_PER_MINUTE
                ),
            }),
        );
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return r;
    }
    let form: SignIn = match serde_json::from_slice(&body) {
        Ok(f) => f,
        Err(e) => {
            return json(
                StatusCode::BAD_REQUEST,
                serde_json::json!({
                    "__type": "SerializationException",
                    "message": format!("The sign-in form is not the expected JSON object: {e}"),
                }),
            )
        }
    };
    let too_long = [
        &form.access_key_id,
        &form.secret_access_key,
        &form.user,
        &form.password,
    ]
    .iter()
    .any(|f| f.as_ref().is_some_and(|s| s.len() > MAX_FIELD));
    let failed = || {
        json(
            StatusCode::UNAUTHORIZED,
            serde_json::json!({
                "__type": "SignInFailed",
                "message": "The access key id and secret, or the user name and password, are not right.",
            }),
        )
    };
    if too_long {
        auth.sessions.sign_in_failed(std::time::Instant::now());
        return failed();
    }
    let principal = match form {
        SignIn {
            access_key_id: Some(id),
            secret_access_key: Some(secret),
            user: None,
            password: None,
        } => auth.key_sign_in(id.trim(), &secret),
        SignIn {
            access_key_id: None,
            secret_access_key: None,
            user: Some(user),
            password: Some(password),
        } => {
            let auth = auth.clone();
            // Argon2 costs tens of milliseconds of CPU: off the I/O threads.
            tokio::task::spawn_blocking(move || {
                let u = auth.users.get(user.trim())?;
                session::password_matches(&u.hash, &password).then(|| Principal {
                    name: user.trim().to_owned(),
                    role: u.role,
                })
            })
            .await
            .ok()
            .flatten()
        }
        _ => {
            return json(
                StatusCode::BAD_REQUEST,
                serde_json::json!({
                    "__type": "ValidationException",
                    "message": "Give accessKeyId and secretAccessKey, or user and password.",
                }),
            )
        }
    };
    let Some(principal) = principal else {
        auth.sessions.sign_in_failed(std::time::Instant::now());
        tracing::warn!("console sign-in refused");
        return failed();
    };
    let (token, session) = auth.sessions.open(principal.clone());
    tracing::info!(who = %principal.name, role = principal.role.name(), "console sign-in");
    let max_age = auth.sessions.ttl().as_secs();
    let secure = if gate.tls { "; Secure" } else { "" };
    let mut r = json(StatusCode::OK, principal_body(Some(&principal), true));
    let cookies = [
        format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"),
        format!(
            "{CSRF_COOKIE}={}; Path=/; SameSite=Strict; Max-Age={max_age}{secure}",
            session.csrf
        ),
    ];
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(&c) {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    r
}

async fn sign_out(State(gate): State<Gate>, headers: HeaderMap) -> Response {
    if let Some(auth) = &gate.auth {
        let Some(session) = session_of(auth, &headers) else {
            return unauthorized("Not signed in.");
        };
        if !csrf_ok(&session, &headers) {
            return json(
                StatusCode::FORBIDDEN,
                serde_json::json!({
                    "__type": "InvalidCsrfToken",
                    "message": "Signing out needs the session's CSRF token in the X-Csrf-Token header.",
                }),
            );
        }
        if let Some(token) = cookie(&headers, COOKIE) {
            auth.sessions.close(token);
        }
    }
    let mut r = StatusCode::NO_CONTENT.into_response();
    for name in [COOKIE, CSRF_COOKIE] {
        if let Ok(v) =
            HeaderValue::from_str(&format!("{name}=; Path=/; Max-Age=0; SameSite=Strict"))
        {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; statecraft_session=abc; statecraft_csrf=def"),
        );
        assert_eq!(cookie(&h, COOKIE), Some("abc"));
        assert_eq!(cookie(&h, CSRF_COOKIE), Some("def"));
        assert_eq!(cookie(&h, "b"), None);
    }
}
