//! AWS Signature Version 4, the verifying side: parse the signature of a
//! request (the `Authorization` header or the `X-Amz-*` query parameters),
//! rebuild the canonical request from what was sent, and compare signatures
//! in constant time.
//!
//! Why by hand: `aws-sigv4`, the one maintained SigV4 crate, signs; it picks
//! the headers to sign itself (leaving out `user-agent`, adding its own), so
//! it cannot rebuild the canonical request of a request whose
//! `SignedHeaders` list the client chose. The rules are small and tested
//! against AWS's published suite (`tests/data/sigv4`), botocore and the Rust
//! SDK; the cryptography is the `hmac`, `sha2` and `subtle` crates'.

use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The only algorithm AWS's SigV4 defines for symmetric keys.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// AWS refuses a request dated further than this from its clock.
pub const MAX_SKEW_SECONDS: i64 = 15 * 60;
/// Longer header values are refused before any work is done on them.
const MAX_AUTHORIZATION_LEN: usize = 4096;

/// Everything left unencoded in a canonical URI or query: RFC 3986's
/// unreserved characters.
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
const ENCODE_PATH: &AsciiSet = &ENCODE.remove(b'/');

/// Where the signature was carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`
    Header,
    /// `?X-Amz-Algorithm=…&X-Amz-Credential=…&X-Amz-Signature=…` (a presigned URL).
    Query,
}

/// The signature a request carries, as parsed (nothing checked yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub form: Form,
    pub access_key_id: String,
    /// The scope's date (`yyyymmdd`), region and service.
    pub scope_date: String,
    pub region: String,
    pub service: String,
    /// Lower case, in the order given.
    pub signed_headers: Vec<String>,
    /// 32 bytes, decoded from hex.
    pub signature: Vec<u8>,
    /// `X-Amz-Date` (`yyyymmddThhmmssZ`).
    pub date: String,
    /// The query form's `X-Amz-Expires`, in seconds.
    pub expires: Option<u64>,
}

/// Why a request's signature could not be read (AWS:
/// `IncompleteSignatureException`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub String);

/// A request as the verifier sees it: method, the path and query exactly as
/// sent (still percent-encoded), and the headers.
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    /// Names in any case; a name may repeat.
    pub headers: &'a [(String, String)],
}

impl Request<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The signature `req` carries: `Ok(None)` when it carries none.
pub fn parse(req: &Request<'_>) -> Result<Option<Signature>, Malformed> {
    if let Some(auth) = req.header("authorization") {
        return parse_header(auth, req).map(Some);
    }
    let params = query_pairs(req.query);
    if params.iter().any(|(k, _)| k == "X-Amz-Signature") {
        return parse_query(&params).map(Some);
    }
    Ok(None)
}

fn parse_header(auth: &str, req: &Request<'_>) -> Result<Signature, Malformed> {
    if auth.len() > MAX_AUTHORIZATION_LEN {
        return Err(Malformed(format!(
            "The Authorization header is longer than {MAX_AUTHORIZATION_LEN} characters."
        )));
    }
    let auth = auth.trim();
    let Some(rest) = auth.strip_prefix(ALGORITHM) else {
        let algorithm = auth.split_whitespace().next().unwrap_or("");
        return Err(Malformed(format!(
            "Authorization header requires the {ALGORITHM} algorithm, not '{algorithm}'."
        )));
    };
    let mut credential = None;
    let mut signed = None;
    let mut signature = None;
    for part in rest.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let Some((k, v)) = part.split_once('=') else {
            return Err(Malformed(format!(
                "Authorization header requires each component to be key=value: '{part}'."
            )));
        };
        match k.trim() {
            "Credential" => credential = Some(v.trim()),
            "SignedHeaders" => signed = Some(v.trim()),
            "Signature" => signature = Some(v.trim()),
            _ => {}
        }
    }
    let missing = |name: &str| {
        Malformed(format!(
            "Authorization header requires '{name}' parameter. Authorization={auth}"
        ))
    };
    let credential = credential.ok_or_else(|| missing("Credential"))?;
    let signed = signed.ok_or_else(|| missing("SignedHeaders"))?;
    let signature = signature.ok_or_else(|| missing("Signature"))?;
    let date = req
        .header("x-amz-date")
        .ok_or_else(|| {
            Malformed(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
                    .into(),
            )
        })?
        .trim()
        .to_owned();
    build(Form::Header, credential, signed, signature, date, None)
}

fn parse_query(params: &[(String, String)]) -> Result<Signature, Malformed> {
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| Malformed(format!("The query string requires the '{name}' parameter.")))
    };
    let algorithm = get("X-Amz-Algorithm")?;
    if algorithm != ALGORITHM {
        return Err(Malformed(format!(
            "X-Amz-Algorithm must be {ALGORITHM}, not '{algorithm}'."
        )));
    }
    let expires = match params.iter().find(|(k, _)| k == "X-Amz-Expires") {
        None => None,
        Some((_, v)) => Some(v.parse::<u64>().map_err(|_| {
            Malformed(format!(
                "X-Amz-Expires must be a whole number of seconds, not '{v}'."
            ))
        })?),
    };
    build(
        Form::Query,
        get("X-Amz-Credential")?,
        get("X-Amz-SignedHeaders")?,
        get("X-Amz-Signature")?,
        get("X-Amz-Date")?.to_owned(),
        expires,
    )
}

fn build(
    form: Form,
    credential: &str,
    signed: &str,
    signature: &str,
    date: String,
    expires: Option<u64>,
) -> Result<Signature, Malformed> {
    let parts: Vec<&str> = credential.split('/').collect();
    let [key, scope_date, region, service, terminator] = parts[..] else {
        return Err(Malformed(format!(
            "Credential must have the form ACCESS_KEY_ID/yyyymmdd/region/service/aws4_request, not '{credential}'."
        )));
    };
    if terminator != "aws4_request" {
        return Err(Malformed(format!(
            "Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'."
        )));
    }
    if key.is_empty() {
        return Err(Malformed("Credential names no access key id.".into()));
    }
    let signed_headers: Vec<String> = signed
        .split(';')
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    if signed_headers.iter().any(String::is_empty) {
        return Err(Malformed(format!(
            "SignedHeaders must be header names separated by ';', not '{signed}'."
        )));
    }
    if !signed_headers.iter().any(|h| h == "host") {
        return Err(Malformed(
            "SignedHeaders must include 'host': the signature has to cover the host the request was sent to.".into(),
        ));
    }
    let signature = decode_hex(signature)
        .filter(|s| s.len() == 32)
        .ok_or_else(|| {
            Malformed(format!(
                "Signature must be 64 hexadecimal digits, not '{signature}'."
            ))
        })?;
    if parse_amz_date(&date).is_none() {
        return Err(Malformed(format!(
            "X-Amz-Date must have the form yyyymmddThhmmssZ, not '{date}'."
        )));
    }
    Ok(Signature {
        form,
        access_key_id: key.to_owned(),
        scope_date: scope_date.to_owned(),
        region: region.to_owned(),
        service: service.to_owned(),
        signed_headers,
        signature,
        date,
        expires,
    })
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || text.len() > 128 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Seconds since the Unix epoch of a `yyyymmddThhmmssZ` date.
pub fn parse_amz_date(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = text.get(r)?;
        if !s.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (h, mi, s) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s)
}

/// `yyyymmddThhmmssZ` of seconds since the epoch.
pub fn format_amz_date(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

// Howard Hinnant's civil-date algorithms (public domain).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// The raw `key=value` pairs of a query string, percent-decoded.
fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(text: &str) -> String {
    percent_decode_str(text).decode_utf8_lossy().into_owned()
}

/// The canonical URI of a non-S3 service: the path with `.`/`..` segments
/// and repeated slashes removed, then URI-encoded (so a path sent encoded is
/// encoded twice, as the SDKs sign it).
fn canonical_uri(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = String::from("/");
    out.push_str(&segments.join("/"));
    if path.ends_with('/') && !segments.is_empty() {
        out.push('/');
    }
    utf8_percent_encode(&out, ENCODE_PATH).to_string()
}

fn canonical_query(query: &str, form: Form) -> String {
    let mut pairs: Vec<(String, String)> = query_pairs(query)
        .into_iter()
        .filter(|(k, _)| !(form == Form::Query && k == "X-Amz-Signature"))
        .map(|(k, v)| {
            (
                utf8_percent_encode(&k, ENCODE).to_string(),
                utf8_percent_encode(&v, ENCODE).to_string(),
            )
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// A header value as signed: trimmed, runs of spaces as one.
fn canonical_value(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The canonical request of `req` for `sig`, its body hashing to
/// `payload_hash` (lower-case hex).
pub fn canonical_request(req: &Request<'_>, sig: &Signature, payload_hash: &str) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(req.method);
    out.push('\n');
    out.push_str(&canonical_uri(req.path));
    out.push('\n');
    out.push_str(&canonical_query(req.query, sig.form));
    out.push('\n');
    let mut names = sig.signed_headers.clone();
    names.sort();
    names.dedup();
    for name in &names {
        let values: Vec<String> = req
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| canonical_value(v))
            .collect();
        out.push_str(name);
        out.push(':');
        out.push_str(&values.join(","));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&names.join(";"));
    out.push('\n');
    out.push_str(payload_hash);
    out
}

/// SHA-256 of `data`, lower-case hex.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length, so there is no error to meet; if
    // there were, an empty result would simply fail the comparison.
    match <Hmac<Sha256> as KeyInit>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// The signature of `canonical` for `sig`'s date and scope under `secret`.
pub fn sign(secret: &str, sig: &Signature, canonical: &str) -> Vec<u8> {
    let scope = format!(
        "{}/{}/{}/aws4_request",
        sig.scope_date, sig.region, sig.service
    );
    let to_sign = format!(
        "{ALGORITHM}\n{}\n{scope}\n{}",
        sig.date,
        sha256_hex(canonical.as_bytes())
    );
    let k_date = hmac(
        format!("AWS4{secret}").as_bytes(),
        sig.scope_date.as_bytes(),
    );
    let k_region = hmac(&k_date, sig.region.as_bytes());
    let k_service = hmac(&k_region, sig.service.as_bytes());
    let k_signing = hmac(&k_service, b"aws4_request");
    hmac(&k_signing, to_sign.as_bytes())
}

/// Why a parsed signature does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    /// AWS's text for a signature computed over something else.
    #[error("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")]
    Mismatch,
    #[error("Signature expired: {date} is now earlier than {limit} ({now} - 15 min.)")]
    Expired {
        date: String,
        limit: String,
        now: String,
    },
    #[error("Signature not yet current: {date} is still later than {limit} ({now} + 15 min.)")]
    NotYetCurrent {
        date: String,
        limit: String,
        now: String,
    },
    #[error("Request has expired: it was signed at {date} to be valid for {expires} seconds")]
    PresignExpired { date: String, expires: u64 },
    #[error("Credential should be scoped to a valid region, not '{0}'.")]
    Region(String),
    #[error("Credential should be scoped to correct service: '{expected}'.")]
    Service { expected: String },
    #[error("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{scope}' != '{date}'")]
    ScopeDate { scope: String, date: String },
    #[error("The x-amz-content-sha256 header does not match the SHA-256 of the request body.")]
    PayloadHash,
}

/// What the verifier checks a signature against.
pub struct Expect<'a> {
    pub region: &'a str,
    pub service: &'a str,
    /// Seconds since the epoch, now.
    pub now: i64,
}

/// Checks `sig` on `req` (whose body is `body`) under `secret`: the scope,
/// the date within AWS's skew window, the payload hash, the signature.
pub fn verify(
    req: &Request<'_>,
    body: &[u8],
    sig: &Signature,
    secret: &str,
    expect: &Expect<'_>,
) -> Result<(), Invalid> {
    let date = parse_amz_date(&sig.date).ok_or(Invalid::Mismatch)?;
    if !sig.date.starts_with(&sig.scope_date) || sig.scope_date.len() != 8 {
        return Err(Invalid::ScopeDate {
            scope: sig.scope_date.clone(),
            date: sig.date.get(..8).unwrap_or("").to_owned(),
        });
    }
    if sig.region != expect.region {
        return Err(Invalid::Region(sig.region.clone()));
    }
    if sig.service != expect.service {
        return Err(Invalid::Service {
            expected: expect.service.to_owned(),
        });
    }
    match sig.expires {
        Some(expires) => {
            let end = date.saturating_add(i64::try_from(expires).unwrap_or(i64::MAX));
            if expect.now > end || date > expect.now + MAX_SKEW_SECONDS {
                return Err(Invalid::PresignExpired {
                    date: sig.date.clone(),
                    expires,
                });
            }
        }
        None => {
            if date < expect.now - MAX_SKEW_SECONDS {
                return Err(Invalid::Expired {
                    date: sig.date.clone(),
                    limit: format_amz_date(expect.now - MAX_SKEW_SECONDS),
                    now: format_amz_date(expect.now),
                });
            }
            if date > expect.now + MAX_SKEW_SECONDS {
                return Err(Invalid::NotYetCurrent {
                    date: sig.date.clone(),
                    limit: format_amz_date(expect.now + MAX_SKEW_SECONDS),
                    now: format_amz_date(expect.now),
                });
            }
        }
    }
    let actual = sha256_hex(body);
    // A client may state the hash; it must be the body's (no
    // UNSIGNED-PAYLOAD: the body of an API call is what is authorised).
    if let Some(stated) = req.header("x-amz-content-sha256") {
        if !stated.trim().eq_ignore_ascii_case(&actual) {
            return Err(Invalid::PayloadHash);
        }
    }
    let canonical = canonical_request(req, sig, &actual);
    let expected = sign(secret, sig, &canonical);
    if bool::from(expected.ct_eq(&sig.signature)) {
        Ok(())
    } else {
        Err(Invalid::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        for text in ["20150830T123600Z", "19700101T000000Z", "20240229T235959Z"] {
            let secs = parse_amz_date(text).expect(text);
            assert_eq!(format_amz_date(secs), text);
        }
        assert_eq!(parse_amz_date("20150830T123600Z"), Some(1_440_938_160));
        for bad in [
            "",
            "2015-08-30T12:36:00Z",
            "20151330T123600Z",
            "20150830T123600",
            "2015083OT123600Z",
            "+0150830T123600Z",
        ] {
            assert_eq!(parse_amz_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn canonical_uris() {
        let cases = [
            ("/", "/"),
            ("", "/"),
            ("//example//", "/example/"),
            ("/./", "/"),
            ("/example/..", "/"),
            ("/example/../..", "/"),
            ("/a%20b", "/a%2520b"),
            ("/ሴ", "/%E1%88%B4"),
        ];
        for (path, want) in cases {
            assert_eq!(canonical_uri(path), want, "{path}");
        }
    }

    #[test]
    fn canonical_queries() {
        let cases = [
            ("", ""),
            ("b=2&a=1", "a=1&b=2"),
            ("a=2&a=1", "a=1&a=2"),
            ("k", "k="),
            ("a%20b=c+d", "a%20b=c%2Bd"),
            ("X-Amz-Signature=x&a=1", "a=1"),
        ];
        for (query, want) in cases {
            assert_eq!(canonical_query(query, Form::Query), want, "{query}");
        }
        assert_eq!(
            canonical_query("X-Amz-Signature=x", Form::Header),
            "X-Amz-Signature=x"
        );
    }

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn malformed_signatures_are_named() {
        let cases = [
            ("AWS4-HMAC-SHA1 Credential=a/b/c/d/aws4_request", "algorithm"),
            ("AWS4-HMAC-SHA256 SignedHeaders=host, Signature=00", "Credential"),
            (
                "AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/states/aws4_request, SignedHeaders=host, Signature=zz",
                "hexadecimal",
            ),
            (
                "AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/states, SignedHeaders=host, Signature=00",
                "ACCESS_KEY_ID",
            ),
            (
                "AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/states/aws4_request, SignedHeaders=x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000",
                "'host'",
            ),
        ];
        for (auth, what) in cases {
            let h = headers(&[("authorization", auth), ("x-amz-date", "20150830T123600Z")]);
            let req = Request {
                method: "POST",
                path: "/",
                query: "",
                headers: &h,
            };
            let err = parse(&req).expect_err(auth);
            assert!(err.0.contains(what), "{auth}: {}", err.0);
        }
        let none = Request {
            method: "POST",
            path: "/",
            query: "",
            headers: &[],
        };
        assert_eq!(parse(&none), Ok(None));
    }
}
