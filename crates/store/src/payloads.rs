//! Large payloads stored once per execution: the `input` or `output` of a
//! history event longer than [`OFFLOAD_BYTES`] goes to the `payloads` table
//! under its SHA-256, and the event keeps a reference in its place, so a
//! payload that passes unchanged through many states (each state's entered
//! and exited events, the task's scheduled and succeeded events) is written
//! once. Reads put the payload back: GetExecutionHistory serves the event
//! whole, as before.
//!
//! The reference is a JSON string that no payload can be: `"\u0000sha256:"`
//! and the hash. Payloads are JSON text, and JSON text never begins with
//! U+0000. Payloads belong to their execution (keyed by execution and hash)
//! and are deleted with it, so no reference count is needed.

use std::collections::HashMap;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use statecraft_types::HistoryEvent;

use crate::error::{Error, Result};

/// Payloads longer than this (in bytes) are stored apart from their event.
pub const OFFLOAD_BYTES: usize = 64 * 1024;

/// What a reference starts with.
const MARK: &str = "\u{0}sha256:";

/// The event detail fields that carry payloads.
const FIELDS: [&str; 2] = ["input", "output"];

/// A payload to store: its hash (hex) and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Payload {
    pub hash: String,
    pub text: String,
}

/// Moves the large payloads of `events` out into the returned list (each
/// distinct payload once), leaving references in the events.
pub(crate) fn offload(events: &mut [HistoryEvent]) -> Vec<Payload> {
    let mut out: Vec<Payload> = Vec::new();
    let mut seen: HashMap<String, ()> = HashMap::new();
    for e in events {
        let Some(details) = e.details.as_mut() else {
            continue;
        };
        for field in FIELDS {
            let Some(Value::String(text)) = details.get_mut(field) else {
                continue;
            };
            if text.len() <= OFFLOAD_BYTES {
                continue;
            }
            let hash = hex(&Sha256::digest(text.as_bytes()));
            let reference = format!("{MARK}{hash}");
            let text = std::mem::replace(text, reference);
            if seen.insert(hash.clone(), ()).is_none() {
                out.push(Payload { hash, text });
            }
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The hashes `details` refers to.
pub(crate) fn references(details: &Map<String, Value>) -> impl Iterator<Item = &str> {
    FIELDS.iter().filter_map(|f| match details.get(*f) {
        Some(Value::String(s)) => s.strip_prefix(MARK),
        _ => None,
    })
}

/// Puts the payloads back into `events`, reading each distinct hash once
/// with `load` (which answers `None` for a hash the store does not hold).
pub(crate) fn restore(
    events: &mut [HistoryEvent],
    mut load: impl FnMut(&str) -> Result<Option<String>>,
) -> Result<()> {
    let mut loaded: HashMap<String, String> = HashMap::new();
    for e in events {
        let Some(details) = e.details.as_mut() else {
            continue;
        };
        let wanted: Vec<String> = references(details).map(str::to_string).collect();
        for hash in wanted {
            if !loaded.contains_key(&hash) {
                let text = load(&hash)?.ok_or_else(|| {
                    Error::Corrupt(format!(
                        "history event {} refers to payload {hash}, which is missing",
                        e.id
                    ))
                })?;
                loaded.insert(hash.clone(), text);
            }
        }
        for field in FIELDS {
            if let Some(Value::String(s)) = details.get_mut(field) {
                if let Some(hash) = s.strip_prefix(MARK) {
                    if let Some(text) = loaded.get(hash) {
                        *s = text.clone();
                    }
                }
            }
        }
    }
    Ok(())
}

/// How a reference reads inside an event's stored JSON text: serde_json
/// writes U+0000 as `\u0000`. A payload's own text is escaped again when
/// it sits in a string (`\\u0000`), so this never matches inside one.
const MARK_JSON: &str = "\"\\u0000sha256:";

/// Puts the payloads back into events kept as JSON text (the stored form,
/// served without parsing): each reference string is replaced by the JSON
/// string of its payload, each distinct hash read once with `load`.
pub(crate) fn restore_text(
    texts: &mut [(u64, String)],
    mut load: impl FnMut(&str) -> Result<Option<String>>,
) -> Result<()> {
    let mut loaded: HashMap<String, String> = HashMap::new();
    for (id, text) in texts {
        if !text.contains(MARK_JSON) {
            continue;
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text.as_str();
        while let Some(at) = rest.find(MARK_JSON) {
            out.push_str(&rest[..at]);
            let after = &rest[at + MARK_JSON.len()..];
            let Some(end) = after.find('"') else {
                return Err(Error::Corrupt(format!(
                    "history event {id} has an unterminated payload reference"
                )));
            };
            let hash = &after[..end];
            if !loaded.contains_key(hash) {
                let payload = load(hash)?.ok_or_else(|| {
                    Error::Corrupt(format!(
                        "history event {id} refers to payload {hash}, which is missing"
                    ))
                })?;
                // The payload as a JSON string, as `to_wire` writes it.
                let quoted =
                    serde_json::to_string(&payload).map_err(|e| Error::Corrupt(e.to_string()))?;
                loaded.insert(hash.to_string(), quoted);
            }
            out.push_str(&loaded[hash]);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        *text = out;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use statecraft_types::EventType;

    fn event(id: u64, field: &str, text: &str) -> HistoryEvent {
        HistoryEvent {
            id,
            previous_event_id: id - 1,
            timestamp_ms: 0,
            event_type: EventType::PassStateEntered,
            details: json!({"name": "P", field: text}).as_object().cloned(),
        }
    }

    #[test]
    fn large_payloads_go_once_and_come_back_whole() {
        let big = format!("\"{}\"", "y".repeat(OFFLOAD_BYTES));
        let small = "\"small\"".to_string();
        let mut events = vec![
            event(1, "input", &big),
            event(2, "output", &big),
            event(3, "input", &small),
        ];
        let original = events.clone();
        let payloads = offload(&mut events);
        assert_eq!(payloads.len(), 1, "one copy of the repeated payload");
        assert_eq!(payloads[0].text, big);
        for e in &events[..2] {
            let text = serde_json::to_string(&e.details).unwrap();
            assert!(text.len() < 200, "the event keeps a reference: {text}");
        }
        assert_eq!(events[2], original[2], "small payloads stay inline");
        let mut loads = 0;
        restore(&mut events, |hash| {
            loads += 1;
            Ok(payloads
                .iter()
                .find(|p| p.hash == hash)
                .map(|p| p.text.clone()))
        })
        .unwrap();
        assert_eq!(loads, 1);
        assert_eq!(events, original);
    }

    #[test]
    fn a_missing_payload_is_corruption_not_a_panic() {
        let big = "z".repeat(OFFLOAD_BYTES + 1);
        let mut events = vec![event(7, "output", &big)];
        offload(&mut events);
        let err = restore(&mut events, |_| Ok(None)).unwrap_err();
        assert!(
            matches!(err, Error::Corrupt(ref m) if m.contains("event 7")),
            "{err}"
        );
    }

    #[test]
    fn stored_text_comes_back_as_the_wire_shape_without_parsing() {
        // A payload that itself holds a string shaped like a reference must
        // come back untouched: only the event's own reference is replaced.
        let tricky = format!(
            "{{\"a\":\"\\u0000sha256:{}\",\"pad\":\"{}\"}}",
            "0".repeat(64),
            "q".repeat(OFFLOAD_BYTES)
        );
        let small = "{\"b\":1}".to_string();
        let mut events = vec![
            event(1, "input", &tricky),
            event(2, "output", &tricky),
            event(3, "input", &small),
        ];
        let original = events.clone();
        let payloads = offload(&mut events);
        assert_eq!(payloads.len(), 1);
        let mut texts: Vec<(u64, String)> = events
            .iter()
            .map(|e| (e.id, e.to_wire().to_string()))
            .collect();
        let mut loads = 0;
        restore_text(&mut texts, |hash| {
            loads += 1;
            Ok(payloads
                .iter()
                .find(|p| p.hash == hash)
                .map(|p| p.text.clone()))
        })
        .unwrap();
        assert_eq!(loads, 1, "each distinct payload is read once");
        for ((_, text), e) in texts.iter().zip(&original) {
            let served: serde_json::Value = serde_json::from_str(text).unwrap();
            assert_eq!(served, e.to_wire());
        }
        let err =
            restore_text(&mut [(9, events[0].to_wire().to_string())], |_| Ok(None)).unwrap_err();
        assert!(
            matches!(err, Error::Corrupt(ref m) if m.contains("event 9")),
            "{err}"
        );
    }
}
