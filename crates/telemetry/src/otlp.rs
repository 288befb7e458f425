//! OpenTelemetry export of execution spans: OTLP over HTTP with the JSON
//! encoding (`POST <endpoint>/v1/traces`, `application/json`), which every
//! OTLP collector accepts.
//!
//! Why not the `opentelemetry-otlp` crates: they bring a protobuf stack and
//! an async HTTP client for what is one POST of a small JSON document per
//! second; spans here come from history events (see [`crate::spans`]), not
//! from an in-process tracing API, so the SDK's span machinery would go
//! unused. The exporter is one background thread with a plain HTTP/1.1
//! client: `http://` endpoints only (a local collector or agent, as is
//! usual; TLS would be the collector's concern).

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{json, Value};

use crate::spans::{self, Span};

/// How often finished spans are sent.
const INTERVAL: Duration = Duration::from_millis(500);
/// Connect, write and read timeouts of one export.
const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    #[error("invalid OTLP endpoint {0:?}: use http://host:port")]
    Endpoint(String),
    #[error("the OTLP exporter is running already")]
    AlreadyStarted,
}

/// Where spans go: host, port and the request path (`/v1/traces` under
/// the endpoint's path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub path: String,
}

impl Endpoint {
    /// Parses an `OTEL_EXPORTER_OTLP_ENDPOINT`-style base URL.
    pub fn parse(url: &str) -> Result<Endpoint, Error> {
        let bad = || Error::Endpoint(url.to_string());
        let rest = url.trim().strip_prefix("http://").ok_or_else(bad)?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (rest.get(..i).ok_or_else(bad)?, rest.get(i..).unwrap_or("")),
            None => (rest, ""),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, p.parse::<u16>().map_err(|_| bad())?),
            None => (authority, 80),
        };
        if host.is_empty() {
            return Err(bad());
        }
        Ok(Endpoint {
            host: host.to_string(),
            port,
            path: format!("{}/v1/traces", path.trim_end_matches('/')),
        })
    }
}

struct Exporter {
    endpoint: Endpoint,
    service_name: String,
}

static EXPORTER: OnceLock<Exporter> = OnceLock::new();

/// Starts exporting execution spans to `endpoint` (a base URL such as
/// `http://127.0.0.1:4318`) under the resource `service.name`.
pub fn start(endpoint: &str, service_name: &str) -> Result<(), Error> {
    let endpoint = Endpoint::parse(endpoint)?;
    EXPORTER
        .set(Exporter {
            endpoint,
            service_name: service_name.to_string(),
        })
        .map_err(|_| Error::AlreadyStarted)?;
    spans::enable();
    let spawned = std::thread::Builder::new()
        .name("statecraft-otlp".into())
        .spawn(|| loop {
            std::thread::sleep(INTERVAL);
            flush();
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the OTLP exporter thread; spans are sent at shutdown only");
    }
    if let Some(e) = EXPORTER.get() {
        tracing::info!(
            host = %e.endpoint.host,
            port = e.endpoint.port,
            path = %e.endpoint.path,
            "exporting execution traces over OTLP"
        );
    }
    Ok(())
}

/// Sends the finished spans now (also what the exporter thread does every
/// interval). Spans that cannot be sent are dropped with a warning: the
/// collector being down must not hold memory or slow executions.
pub fn flush() {
    let Some(exporter) = EXPORTER.get() else {
        return;
    };
    let finished = spans::drain();
    if finished.is_empty() {
        return;
    }
    let body = encode(&finished, &exporter.service_name).to_string();
    match post(&exporter.endpoint, &body) {
        Ok(status) if (200..300).contains(&status) => {}
        Ok(status) => {
            tracing::warn!(
                status,
                spans = finished.len(),
                "the OTLP collector refused spans"
            )
        }
        Err(e) => {
            tracing::warn!(error = %e, spans = finished.len(), "cannot send spans to the OTLP collector")
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn nanos(ms: i64) -> String {
    (i128::from(ms) * 1_000_000).to_string()
}

fn attributes(list: &[(String, String)]) -> Value {
    Value::Array(
        list.iter()
            .map(|(k, v)| json!({"key": k, "value": {"stringValue": v}}))
            .collect(),
    )
}

/// The `ExportTraceServiceRequest` in OTLP's JSON encoding (ids in hex,
/// 64-bit integers as strings, enums as numbers).
pub fn encode(spans: &[Span], service_name: &str) -> Value {
    let spans: Vec<Value> = spans
        .iter()
        .map(|s| {
            let mut span = json!({
                "traceId": hex(&s.trace_id),
                "spanId": hex(&s.span_id),
                "name": s.name,
                // SPAN_KIND_INTERNAL
                "kind": 1,
                "startTimeUnixNano": nanos(s.start_ms),
                "endTimeUnixNano": nanos(s.end_ms),
                "attributes": attributes(&s.attributes),
                "events": s.events.iter().map(|e| json!({
                    "timeUnixNano": nanos(e.time_ms),
                    "name": e.name,
                    "attributes": attributes(&e.attributes),
                })).collect::<Vec<_>>(),
                // STATUS_CODE_OK or STATUS_CODE_ERROR
                "status": match &s.error {
                    None => json!({"code": 1}),
                    Some(m) => json!({"code": 2, "message": m}),
                },
            });
            if let Some(parent) = s.parent_span_id {
                span["parentSpanId"] = Value::String(hex(&parent));
            }
            span
        })
        .collect();
    json!({"resourceSpans": [{
        "resource": {"attributes": [
            {"key": "service.name", "value": {"stringValue": service_name}}
        ]},
        "scopeSpans": [{
            "scope": {"name": "statecraft", "version": env!("CARGO_PKG_VERSION")},
            "spans": spans,
        }],
    }]})
}

/// One HTTP/1.1 POST; returns the response status.
fn post(endpoint: &Endpoint, body: &str) -> std::io::Result<u16> {
    let addr = (endpoint.host.as_str(), endpoint.port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::other("the collector's host does not resolve"))?;
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT)?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    write!(
        stream,
        "POST {} HTTP/1.1\r\nHost: {}:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        endpoint.path,
        endpoint.host,
        endpoint.port,
        body.len(),
        body
    )?;
    stream.flush()?;
    // The status line is all we need; the rest is drained by closing.
    let mut head = [0u8; 64];
    let n = stream.read(&mut head)?;
    let line = String::from_utf8_lossy(head.get(..n).unwrap_or(&[]));
    line.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("no HTTP status from the collector"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse() {
        let e = Endpoint::parse("http://127.0.0.1:4318").unwrap();
        assert_eq!(
            e,
            Endpoint {
                host: "127.0.0.1".into(),
                port: 4318,
                path: "/v1/traces".into()
            }
        );
        assert_eq!(
            Endpoint::parse("http://collector/otel/").unwrap().path,
            "/otel/v1/traces"
        );
        assert_eq!(Endpoint::parse("http://collector").unwrap().port, 80);
        for bad in [
            "https://x:4318",
            "127.0.0.1:4318",
            "http://:4318",
            "http://x:port",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn spans_encode_as_otlp_json() {
        let span = Span {
            trace_id: [1; 16],
            span_id: [2; 8],
            parent_span_id: Some([3; 8]),
            name: "Call".into(),
            start_ms: 1_500,
            end_ms: 2_000,
            attributes: vec![("state.type".into(), "Task".into())],
            events: vec![crate::spans::SpanEvent {
                time_ms: 1_600,
                name: "retry".into(),
                attributes: vec![],
            }],
            error: Some("Boom".into()),
        };
        let v = encode(&[span], "statecraft");
        let s = &v["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
        assert_eq!(s["traceId"], "01".repeat(16));
        assert_eq!(s["spanId"], "02".repeat(8));
        assert_eq!(s["parentSpanId"], "03".repeat(8));
        assert_eq!(s["startTimeUnixNano"], "1500000000");
        assert_eq!(s["events"][0]["name"], "retry");
        assert_eq!(s["status"], json!({"code": 2, "message": "Boom"}));
        assert_eq!(
            v["resourceSpans"][0]["resource"]["attributes"][0]["value"]["stringValue"],
            "statecraft"
        );
    }
}
