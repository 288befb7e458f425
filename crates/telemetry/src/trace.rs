//! W3C trace context for executions: an execution is one trace, each task
//! one span in it, and integrations pass the context on to the services
//! they call in the standard `traceparent` header.
//!
//! Ids are derived from the execution ARN (name-based SHA-1 UUIDs) rather
//! than drawn at random, so an execution recovered after a restart, or a
//! task retried on another node, stays in the same trace with the same span
//! ids; SHA-1 output is as evenly spread as the random ids the W3C spec
//! asks for.

use std::fmt;

/// A trace id (16 bytes) and a span id (8 bytes), never all zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceContext {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
}

fn digest(name: &str) -> [u8; 16] {
    *uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, name.as_bytes()).as_bytes()
}

fn span_of(name: &str) -> [u8; 8] {
    let d = digest(name);
    let mut span = [0u8; 8];
    span.copy_from_slice(&d[8..]);
    // A v5 UUID has fixed variant bits in byte 8; all-zero is impossible,
    // but make the invariant explicit rather than rely on that.
    if span == [0; 8] {
        span[7] = 1;
    }
    span
}

impl TraceContext {
    /// The execution's root span.
    pub fn execution(execution_arn: &str) -> TraceContext {
        TraceContext {
            trace_id: digest(execution_arn),
            span_id: span_of(&format!("{execution_arn}#execution")),
        }
    }

    /// A span of the execution named by `key` (unique within it).
    pub fn child(execution_arn: &str, key: &str) -> TraceContext {
        TraceContext {
            trace_id: digest(execution_arn),
            span_id: span_of(&format!("{execution_arn}#{key}")),
        }
    }

    /// The span of one task of the execution (`TaskRequest::task`).
    pub fn task(execution_arn: &str, task_id: u64) -> TraceContext {
        TraceContext {
            trace_id: digest(execution_arn),
            span_id: span_of(&format!("{execution_arn}#task-{task_id}")),
        }
    }

    /// The `traceparent` header value: version 00, sampled.
    pub fn traceparent(&self) -> String {
        self.to_string()
    }

    /// Parses a `traceparent` value (version 00 layout; later versions are
    /// read by the same prefix, as the spec asks). `None` if malformed or
    /// if an id is all zeros.
    pub fn parse(header: &str) -> Option<TraceContext> {
        let mut parts = header.trim().split('-');
        let version = parts.next()?;
        let trace = parts.next()?;
        let span = parts.next()?;
        let flags = parts.next()?;
        if version.len() != 2 || version == "ff" || flags.len() != 2 {
            return None;
        }
        let mut trace_id = [0u8; 16];
        let mut span_id = [0u8; 8];
        hex_into(trace, &mut trace_id)?;
        hex_into(span, &mut span_id)?;
        if trace_id == [0; 16] || span_id == [0; 8] {
            return None;
        }
        Some(TraceContext { trace_id, span_id })
    }
}

impl fmt::Display for TraceContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("00-")?;
        for b in self.trace_id {
            write!(f, "{b:02x}")?;
        }
        f.write_str("-")?;
        for b in self.span_id {
            write!(f, "{b:02x}")?;
        }
        f.write_str("-01")
    }
}

/// Lowercase hex of exactly `out.len()` bytes.
fn hex_into(s: &str, out: &mut [u8]) -> Option<()> {
    if s.len() != out.len() * 2 {
        return None;
    }
    for (i, slot) in out.iter_mut().enumerate() {
        let pair = s.get(i * 2..i * 2 + 2)?;
        if !pair
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return None;
        }
        *slot = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:states:us-east-1:123456789012:execution:M:run";

    #[test]
    fn ids_are_stable_and_tasks_share_the_trace() {
        let root = TraceContext::execution(ARN);
        let t1 = TraceContext::task(ARN, 1);
        let t2 = TraceContext::task(ARN, 2);
        assert_eq!(root, TraceContext::execution(ARN));
        assert_eq!(root.trace_id, t1.trace_id);
        assert_ne!(t1.span_id, t2.span_id);
        assert_ne!(root.span_id, t1.span_id);
        assert_ne!(
            root.trace_id,
            TraceContext::execution("arn:aws:states:us-east-1:123456789012:execution:M:other")
                .trace_id
        );
    }

    #[test]
    fn traceparent_round_trips() {
        let t = TraceContext::task(ARN, 7);
        let header = t.traceparent();
        assert_eq!(header.len(), 55);
        assert!(header.starts_with("00-") && header.ends_with("-01"));
        assert_eq!(TraceContext::parse(&header), Some(t));
    }

    #[test]
    fn malformed_headers_are_refused() {
        for bad in [
            "",
            "00",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
            "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
            "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319é-b7ad6b716920333-01",
        ] {
            assert_eq!(TraceContext::parse(bad), None, "{bad}");
        }
        assert!(
            TraceContext::parse("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
                .is_some()
        );
    }
}
