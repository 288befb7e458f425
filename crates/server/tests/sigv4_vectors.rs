//! The SigV4 verifier against AWS's published test suite
//! (`tests/data/sigv4`, from awslabs/aws-c-auth): every signed request of
//! the suite verifies with the suite's secret at the suite's time, and
//! fails with a different secret, a changed header or a shifted clock.

use statecraft_server::auth::sigv4::{self, Expect, Invalid, Request};

/// One raw request file: request line, headers, blank line, body.
struct Raw {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn read(path: &std::path::Path) -> Raw {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let request_line = lines.next().expect("request line");
    let mut parts = request_line.split(' ');
    let method = parts.next().expect("method").to_owned();
    let uri = parts.next().expect("uri");
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    let headers = lines
        .map(|l| {
            let (k, v) = l.split_once(':').expect("header line");
            (k.to_owned(), v.to_owned())
        })
        .collect();
    Raw {
        method,
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
        body: body.as_bytes().to_vec(),
    }
}

/// `tests/data/<relative>`, which must exist.
fn data(relative: &str) -> std::path::PathBuf {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data")
        .join(relative);
    assert!(
        p.exists(),
        "test data missing: {} (see tests/data/sigv4/README.md)",
        p.display()
    );
    p
}

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

fn check(raw: &Raw, secret: &str, now: i64) -> Result<(), Invalid> {
    let req = Request {
        method: &raw.method,
        path: &raw.path,
        query: &raw.query,
        headers: &raw.headers,
    };
    let sig = sigv4::parse(&req).expect("well-formed").expect("signed");
    assert_eq!(sig.access_key_id, "AKIDEXAMPLE");
    let expect = Expect {
        region: "us-east-1",
        service: "service",
        now,
    };
    sigv4::verify(&req, &raw.body, &sig, secret, &expect)
}

#[test]
fn the_aws_suite_verifies() {
    let root = data("sigv4");
    let context: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("context.json")).expect("context.json"),
    )
    .expect("context json");
    assert_eq!(context["credentials"]["secret_access_key"], SECRET);
    let now = sigv4::parse_amz_date("20150830T123600Z").expect("date");
    let mut seen = 0;
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .expect("sigv4 folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        for file in ["header-signed-request.txt", "query-signed-request.txt"] {
            let path = dir.join(file);
            if !path.exists() {
                continue;
            }
            let name = path.display().to_string();
            let raw = read(&path);
            assert_eq!(check(&raw, SECRET, now), Ok(()), "{name}");
            // Another secret, a shifted clock, a changed signed header.
            assert_eq!(
                check(&raw, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEz", now),
                Err(Invalid::Mismatch),
                "{name}"
            );
            if file.starts_with("header") {
                assert!(
                    matches!(
                        check(&raw, SECRET, now + 16 * 60),
                        Err(Invalid::Expired { .. })
                    ),
                    "{name}"
                );
                assert!(
                    matches!(
                        check(&raw, SECRET, now - 16 * 60),
                        Err(Invalid::NotYetCurrent { .. })
                    ),
                    "{name}"
                );
                let mut changed = read(&path);
                for (k, v) in &mut changed.headers {
                    if k.eq_ignore_ascii_case("host") {
                        *v = "sync-example.amazonaws.com".into();
                    }
                }
                assert_eq!(
                    check(&changed, SECRET, now),
                    Err(Invalid::Mismatch),
                    "{name}"
                );
            } else {
                // X-Amz-Expires=3600: an hour and a second later it is void.
                assert!(
                    matches!(
                        check(&raw, SECRET, now + 3601),
                        Err(Invalid::PresignExpired { .. })
                    ),
                    "{name}"
                );
            }
            seen += 1;
        }
    }
    assert!(
        seen >= 13,
        "only {seen} signed requests in {}",
        root.display()
    );
}

#[test]
fn a_changed_body_fails() {
    let path = data("sigv4/post-x-www-form-urlencoded/header-signed-request.txt");
    let now = sigv4::parse_amz_date("20150830T123600Z").expect("date");
    let mut raw = read(&path);
    assert_eq!(check(&raw, SECRET, now), Ok(()));
    raw.body = b"Param1=value2".to_vec();
    // The stated x-amz-content-sha256 no longer matches the body.
    assert_eq!(check(&raw, SECRET, now), Err(Invalid::PayloadHash));
    raw.headers
        .retain(|(k, _)| !k.eq_ignore_ascii_case("x-amz-content-sha256"));
    assert_eq!(check(&raw, SECRET, now), Err(Invalid::Mismatch));
}
