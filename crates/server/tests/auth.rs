//! Authentication end to end, with the real `statecraft` binary: SigV4 from
//! boto3 (`auth_boto3.py`), the AWS CLI and the Rust SDK; roles; the console's
//! sign-in, session, CSRF token and sign-out; loopback-only without
//! credentials; TLS with a certificate made by openssl, reloaded on SIGHUP
//! and when its files change.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_sfn::config::{BehaviorVersion, Credentials, Region};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A console user's password and its argon2id hash (cheap parameters: this
/// is a test; the docs show the recommended ones).
const PASSWORD: &str = "correct horse battery";

fn password_hash() -> String {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let params = argon2::Params::new(1024, 1, 1, None).expect("params");
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let salt = SaltString::from_b64("c3RhdGVjcmFmdHRlc3Q").expect("salt");
    argon
        .hash_password(PASSWORD.as_bytes(), &salt)
        .expect("hash")
        .to_string()
}

fn config_text(extra: &str) -> String {
    let mut text = String::new();
    for (id, role) in [
        ("AKIDADMIN", "admin"),
        ("AKIDOPERATOR", "operator"),
        ("AKIDREADER", "reader"),
        ("AKIDWORKER", "worker"),
    ] {
        text.push_str(&format!(
            "[[auth.credentials]]\naccess_key_id = \"{id}\"\nsecret_access_key = \"{role}-secret\"\nrole = \"{role}\"\n\n"
        ));
    }
    // The reader's secret could as well come from the environment.
    text.push_str(&format!(
        "[[auth.console_users]]\nname = \"ada\"\npassword_hash = \"{}\"\nrole = \"reader\"\n\n",
        password_hash()
    ));
    text.push_str(extra);
    text
}

struct Running {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the binary with `config` (written to a file) on a free loopback
/// port and waits for `/healthz` (over TLS when `tls`).
fn start(config: &str, tls: bool) -> Running {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("statecraft.toml");
    std::fs::write(&path, config).expect("config");
    let port = common::free_port();
    let child = Command::new(common::statecraft_binary())
        .args(["server", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("--config")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn statecraft server");
    let running = Running {
        child,
        port,
        _dir: dir,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let up = if tls {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        } else {
            http_blocking(
                port,
                "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
            )
            .starts_with("HTTP/1.1 200")
        };
        if up {
            return running;
        }
        assert!(Instant::now() < deadline, "the server did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn http_blocking(port: u16, request: &str) -> String {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    if s.write_all(request.as_bytes()).is_err() {
        return String::new();
    }
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// One HTTP/1.1 exchange: (status, headers text, body).
async fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.expect("read");
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, head.to_owned(), body.to_owned())
}

fn set_cookie(head: &str, name: &str) -> Option<String> {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(k, _)| k.trim().eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v.trim().to_owned())
        .find(|v| v.starts_with(&format!("{name}=")))
}

/// Removes the `sync-` host prefix before the request is signed (so the
/// signature covers the host it is sent to), as docs/sdk-setup.md shows.
#[derive(Debug)]
struct NoHostPrefixBeforeSigning;

impl aws_sdk_sfn::config::Intercept for NoHostPrefixBeforeSigning {
    fn name(&self) -> &'static str {
        "NoHostPrefixBeforeSigning"
    }

    fn modify_before_signing(
        &self,
        ctx: &mut aws_sdk_sfn::config::interceptors::BeforeTransmitInterceptorContextMut<'_>,
        _rc: &aws_sdk_sfn::config::RuntimeComponents,
        _cfg: &mut aws_sdk_sfn::config::ConfigBag,
    ) -> Result<(), aws_sdk_sfn::error::BoxError> {
        let uri = ctx.request().uri().to_string();
        if let Some(rest) = uri.strip_prefix("http://sync-") {
            ctx.request_mut().set_uri(format!("http://{rest}"))?;
        }
        Ok(())
    }
}

fn sdk(port: u16, key: &str, secret: &str) -> aws_sdk_sfn::Client {
    let conf = aws_sdk_sfn::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(key, secret, None, None, "static"))
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .interceptor(NoHostPrefixBeforeSigning)
        .build();
    aws_sdk_sfn::Client::from_conf(conf)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_the_cli_and_the_sdk_sign_and_roles_hold() {
    common::require_boto3();
    let server = start(&config_text(""), false);
    let port = server.port;
    let endpoint = format!("http://127.0.0.1:{port}");

    // boto3: every check in the script.
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/auth_boto3.py");
    let ep = endpoint.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg(script)
            .arg(ep)
            .output()
            .expect("run python3")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "boto3 checks failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.lines().last().unwrap_or("").ends_with(" 0 failed"),
        "{stdout}"
    );

    // The Rust SDK: the right keys work, a wrong secret does not.
    let admin = sdk(port, "AKIDADMIN", "admin-secret");
    admin
        .list_state_machines()
        .send()
        .await
        .expect("sdk list with the admin key");
    let wrong = sdk(port, "AKIDADMIN", "wrong");
    let err = wrong
        .list_state_machines()
        .send()
        .await
        .expect_err("wrong secret");
    let meta = aws_sdk_sfn::error::ProvideErrorMetadata::code(&err).map(str::to_owned);
    assert_eq!(
        meta.as_deref(),
        Some("InvalidSignatureException"),
        "{err:?}"
    );
    let reader = sdk(port, "AKIDREADER", "reader-secret");
    let err = reader
        .create_activity()
        .name("nope")
        .send()
        .await
        .expect_err("reader creates");
    let code = aws_sdk_sfn::error::ProvideErrorMetadata::code(&err).map(str::to_owned);
    assert_eq!(code.as_deref(), Some("AccessDeniedException"), "{err:?}");
    // StartSyncExecution, whose `sync-` host prefix is removed before signing.
    let express = admin
        .create_state_machine()
        .name("auth-express")
        .r#type(aws_sdk_sfn::types::StateMachineType::Express)
        .definition(common::PASS)
        .role_arn(common::ROLE)
        .send()
        .await
        .expect("create express")
        .state_machine_arn;
    let sync = admin
        .start_sync_execution()
        .state_machine_arn(&express)
        .send()
        .await
        .expect("signed StartSyncExecution");
    assert_eq!(
        sync.status,
        aws_sdk_sfn::types::SyncExecutionStatus::Succeeded
    );

    // The AWS CLI, with the keys in the environment.
    let cli = |secret: &str| {
        Command::new("aws")
            .args([
                "stepfunctions",
                "list-state-machines",
                "--endpoint-url",
                &endpoint,
                "--region",
                "us-east-1",
            ])
            .env("AWS_ACCESS_KEY_ID", "AKIDREADER")
            .env("AWS_SECRET_ACCESS_KEY", secret)
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .output()
            .expect("the AWS CLI is needed: pip install awscli")
    };
    let ok = cli("reader-secret");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("stateMachines"));
    let bad = cli("nope");
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("InvalidSignatureException"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_needs_a_session() {
    let server = start(&config_text(""), false);
    let port = server.port;

    // No session: data routes 401, the shell sends to the sign-in page.
    let (status, head, _) = http(port, "GET", "/console/api/overview", &[], "").await;
    assert_eq!(status, 401, "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("x-content-type-options: nosniff"),
        "{head}"
    );
    let (status, _, _) = http(port, "GET", "/console/api/executions/x/events", &[], "").await;
    assert_eq!(status, 401);
    let (status, head, _) = http(port, "GET", "/", &[], "").await;
    assert_eq!(status, 303, "{head}");
    assert!(head.contains("/console/signin"), "{head}");
    let (status, head, body) = http(port, "GET", "/console/signin", &[], "").await;
    assert_eq!(status, 200, "{head}");
    assert!(body.contains("<form"), "{body}");
    let lower = head.to_ascii_lowercase();
    assert!(
        lower.contains("frame-ancestors 'none'") && lower.contains("script-src 'self'"),
        "{head}"
    );

    // A wrong password, then the right one.
    let json = [("Content-Type", "application/json")];
    let (status, _, _) = http(
        port,
        "POST",
        "/console/api/session",
        &json,
        r#"{"user":"ada","password":"nope"}"#,
    )
    .await;
    assert_eq!(status, 401);
    let (status, head, body) = http(
        port,
        "POST",
        "/console/api/session",
        &json,
        &format!(r#"{{"user":"ada","password":"{PASSWORD}"}}"#),
    )
    .await;
    assert_eq!(status, 200, "{head}{body}");
    assert!(body.contains("\"role\":\"reader\""), "{body}");
    let session = set_cookie(&head, "statecraft_session").expect("session cookie");
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Strict"),
        "{session}"
    );
    assert!(
        session.contains("Max-Age=43200"),
        "12 h by default: {session}"
    );
    let csrf = set_cookie(&head, "statecraft_csrf").expect("csrf cookie");
    let token = |c: &str| {
        c.split(';')
            .next()
            .unwrap_or("")
            .split_once('=')
            .map(|(_, v)| v.to_owned())
            .unwrap_or_default()
    };
    let cookie = format!(
        "statecraft_session={}; statecraft_csrf={}",
        token(&session),
        token(&csrf)
    );

    // With the session: a page, a data route, an API read; an API write
    // needs the CSRF token, and the reader role may not start anything.
    let with = [("Cookie", cookie.as_str())];
    let (status, _, body) = http(port, "GET", "/", &with, "").await;
    assert_eq!(status, 200);
    assert!(body.contains("<script type=\"module\""), "{body}");
    let (status, _, _) = http(port, "GET", "/console/api/overview", &with, "").await;
    assert_eq!(status, 200);
    let list = [
        ("Cookie", cookie.as_str()),
        ("Content-Type", "application/x-amz-json-1.0"),
        ("X-Amz-Target", "AWSStepFunctions.ListStateMachines"),
    ];
    let (status, _, body) = http(port, "POST", "/", &list, "{}").await;
    assert_eq!(status, 403, "no CSRF token: {body}");
    assert!(
        body.contains("MissingAuthenticationTokenException"),
        "{body}"
    );
    let csrf_value = token(&csrf);
    let mut list_csrf = list.to_vec();
    list_csrf.push(("X-Csrf-Token", csrf_value.as_str()));
    let (status, _, body) = http(port, "POST", "/", &list_csrf, "{}").await;
    assert_eq!(status, 200, "{body}");
    let mut create = list_csrf.clone();
    create[2] = ("X-Amz-Target", "AWSStepFunctions.CreateActivity");
    let (status, _, body) = http(port, "POST", "/", &create, r#"{"name":"a"}"#).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("AccessDeniedException"), "{body}");
    let (status, _, body) = http(port, "GET", "/console/api/session", &with, "").await;
    assert_eq!(status, 200);
    assert!(body.contains("\"name\":\"ada\""), "{body}");

    // Sign out: the session is gone.
    let (status, _, _) = http(port, "DELETE", "/console/api/session", &with, "").await;
    assert_eq!(status, 403, "sign-out needs the CSRF token");
    let out = [
        ("Cookie", cookie.as_str()),
        ("X-Csrf-Token", csrf_value.as_str()),
    ];
    let (status, _, _) = http(port, "DELETE", "/console/api/session", &out, "").await;
    assert_eq!(status, 204);
    let (status, _, _) = http(port, "GET", "/console/api/overview", &with, "").await;
    assert_eq!(status, 401);

    // An unsigned request is refused from its headers: the server answers
    // without waiting for the 5 MB body it announces.
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let head = format!(
        "POST / HTTP/1.1\r\nHost: localhost:{port}\r\nContent-Type: application/x-amz-json-1.0\r\nX-Amz-Target: AWSStepFunctions.ListStateMachines\r\nContent-Length: 5000000\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.expect("write");
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
        .await
        .expect("answered before the body was sent")
        .expect("read");
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    assert!(
        answer.contains("MissingAuthenticationTokenException"),
        "{answer}"
    );

    // An access key signs in too.
    let (status, _, body) = http(
        port,
        "POST",
        "/console/api/session",
        &json,
        r#"{"accessKeyId":"AKIDOPERATOR","secretAccessKey":"operator-secret"}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"role\":\"operator\""), "{body}");

    // Guessing: 20 failures a minute (the wrong password above was one),
    // then every sign-in waits, the right secret too.
    let wrong = r#"{"accessKeyId":"AKIDOPERATOR","secretAccessKey":"guess"}"#;
    for i in 2..=20 {
        let (status, _, body) = http(port, "POST", "/console/api/session", &json, wrong).await;
        assert_eq!(status, 401, "failure {i}: {body}");
    }
    let (status, head, body) = http(port, "POST", "/console/api/session", &json, wrong).await;
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("TooManyRequestsException"), "{body}");
    assert!(head.to_ascii_lowercase().contains("retry-after:"), "{head}");
    let right = r#"{"accessKeyId":"AKIDOPERATOR","secretAccessKey":"operator-secret"}"#;
    let (status, _, _) = http(port, "POST", "/console/api/session", &json, right).await;
    assert_eq!(status, 429);
}

#[test]
fn without_credentials_only_loopback_unless_allowed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = common::free_port();
    let out = Command::new(common::statecraft_binary())
        .args(["server", "--listen", &format!("0.0.0.0:{port}")])
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .expect("run statecraft server");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no credentials configured")
            && err.contains("[[auth.credentials]]")
            && err.contains("--allow-unauthenticated"),
        "{err}"
    );
    // With the flag it starts (and answers on loopback too).
    let mut child = Command::new(common::statecraft_binary())
        .args([
            "server",
            "--allow-unauthenticated",
            "--listen",
            &format!("0.0.0.0:{port}"),
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut up = false;
    while Instant::now() < deadline {
        if http_blocking(
            port,
            "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        )
        .starts_with("HTTP/1.1 200")
        {
            up = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(up, "--allow-unauthenticated did not start the server");
}

/// A self-signed certificate for localhost made by openssl: (cert, key).
fn certificate(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let cert = dir.join(format!("{name}.pem"));
    let key = dir.join(format!("{name}-key.pem"));
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
        ])
        .args([
            "-subj",
            &format!("/CN={name}"),
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl is needed to make a test certificate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (cert, key)
}

/// boto3 over HTTPS, trusting `ca`: the issuer CN the server presented, or the error.
fn boto3_tls(port: u16, ca: &Path) -> String {
    let script = r#"
import sys, ssl, socket, boto3
port, ca = int(sys.argv[1]), sys.argv[2]
c = boto3.client("stepfunctions", endpoint_url=f"https://localhost:{port}", region_name="us-east-1",
                 aws_access_key_id="AKIDADMIN", aws_secret_access_key="admin-secret", verify=ca)
c.list_state_machines()
ctx = ssl.create_default_context(cafile=ca)
with socket.create_connection(("127.0.0.1", port)) as s:
    with ctx.wrap_socket(s, server_hostname="localhost") as t:
        cn = dict(x[0] for x in t.getpeercert()["subject"])["commonName"]
import http.client, json
h = http.client.HTTPSConnection("localhost", port, context=ctx)
h.request("POST", "/console/api/session", body=json.dumps({"accessKeyId": "AKIDADMIN", "secretAccessKey": "admin-secret"}),
          headers={"Content-Type": "application/json"})
r = h.getresponse()
session = [v for k, v in r.getheaders() if k.lower() == "set-cookie" and v.startswith("statecraft_session=")]
secure = "secure" if r.status == 200 and session and "; Secure" in session[0] else f"not secure: {r.status} {session}"
print(cn, secure)
"#;
    let out = Command::new("python3")
        .args(["-c", script, &port.to_string()])
        .arg(ca)
        .output()
        .expect("python3");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout).trim(),
        if out.status.success() {
            String::new()
        } else {
            format!(" error: {}", String::from_utf8_lossy(&out.stderr))
        }
    )
}

#[test]
fn tls_serves_and_reloads_its_certificate() {
    common::require_boto3();
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, key) = certificate(dir.path(), "first");
    let tls = format!(
        "[tls]\ncert = \"{}\"\nkey = \"{}\"\n",
        cert.display(),
        key.display()
    );
    let server = start(&config_text(&tls), true);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut got = boto3_tls(server.port, &cert);
    while got != "first secure" && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        got = boto3_tls(server.port, &cert);
    }
    // Over TLS the session cookie is Secure.
    assert_eq!(got, "first secure");
    // The AWS CLI with --ca-bundle, as docs/security.md shows.
    let cli = Command::new("aws")
        .args([
            "stepfunctions",
            "list-state-machines",
            "--region",
            "us-east-1",
        ])
        .args([
            "--endpoint-url",
            &format!("https://localhost:{}", server.port),
        ])
        .arg("--ca-bundle")
        .arg(&cert)
        .env("AWS_ACCESS_KEY_ID", "AKIDREADER")
        .env("AWS_SECRET_ACCESS_KEY", "reader-secret")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .output()
        .expect("the AWS CLI is needed: pip install awscli");
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    // Plain HTTP gets no answer from the TLS port.
    let plain = http_blocking(
        server.port,
        "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    );
    assert!(!plain.starts_with("HTTP/1.1 200"), "{plain}");

    // A new certificate in the same files, then SIGHUP.
    let (second, second_key) = certificate(dir.path(), "second");
    std::fs::copy(&second, &cert).expect("copy cert");
    std::fs::copy(&second_key, &key).expect("copy key");
    let _ = Command::new("kill")
        .args(["-HUP", &server.child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut got = boto3_tls(server.port, &second);
    while got != "second secure" && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        got = boto3_tls(server.port, &second);
    }
    assert_eq!(got, "second secure", "the new certificate was not served");

    // Files changed, no signal: the watcher picks it up.
    std::thread::sleep(Duration::from_millis(1100));
    let (third, third_key) = certificate(dir.path(), "third");
    std::fs::copy(&third, &cert).expect("copy cert");
    std::fs::copy(&third_key, &key).expect("copy key");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut got = boto3_tls(server.port, &third);
    while got != "third secure" && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        got = boto3_tls(server.port, &third);
    }
    assert_eq!(got, "third secure", "a changed file was not reloaded");
}
