//! The checked-in list of known failures: `case-id # reason`, one a line.
//! A failure not listed fails the build; so does a listed case that passes
//! (the list must stay true).

use std::collections::BTreeMap;
use std::path::Path;

/// Case id → reason.
pub fn load(path: &Path) -> Result<BTreeMap<String, String>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (id, reason) = match line.split_once(" # ") {
            Some((id, reason)) => (id.trim(), reason.trim()),
            None => {
                return Err(format!(
                    "{}:{}: every known failure needs a reason: `<case id> # <reason>`",
                    path.display(),
                    i + 1
                ))
            }
        };
        out.insert(id.to_string(), reason.to_string());
    }
    Ok(out)
}

/// The outcome of checking results against the list.
#[derive(Debug, Default)]
pub struct Verdict {
    pub passed: usize,
    pub failed: usize,
    /// Failures not in the list: id and what differed.
    pub unexpected_failures: Vec<(String, String)>,
    /// Listed cases that now pass.
    pub stale_entries: Vec<String>,
}

impl Verdict {
    pub fn record(
        &mut self,
        known: &BTreeMap<String, String>,
        id: &str,
        result: Result<(), String>,
    ) {
        match result {
            Ok(()) => {
                self.passed += 1;
                if known.contains_key(id) {
                    self.stale_entries.push(id.to_string());
                }
            }
            Err(why) => {
                self.failed += 1;
                if !known.contains_key(id) {
                    self.unexpected_failures.push((id.to_string(), why));
                }
            }
        }
    }

    pub fn is_clean(&self) -> bool {
        self.unexpected_failures.is_empty() && self.stale_entries.is_empty()
    }
}
