//! Prepared machines, cached by revision id: a revision is immutable, so its
//! parsed and prepared [`Machine`] can be shared by every execution of it
//! and reused by every StartSyncExecution without parsing again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use statecraft_engine::Machine;
use statecraft_store::Revision;

use crate::error::{Error, Result};

/// Revisions kept before the cache is emptied (a crude bound; revisions are
/// few in practice, and a miss only costs a parse).
const CAPACITY: usize = 1024;

#[derive(Default)]
pub(crate) struct Machines {
    cache: Mutex<HashMap<String, Arc<Machine>>>,
    /// What every prepared machine's executions may do.
    limits: statecraft_engine::Limits,
    /// [`Machine::started_later`] of every prepared machine.
    started_later: std::sync::RwLock<Vec<String>>,
}

impl Machines {
    pub(crate) fn new(limits: statecraft_engine::Limits, started_later: Vec<String>) -> Machines {
        Machines {
            cache: Mutex::default(),
            limits,
            started_later: std::sync::RwLock::new(started_later),
        }
    }

    /// Changes [`Machine::started_later`] for machines prepared from now on
    /// (the cache is emptied; running actors keep theirs).
    pub(crate) fn set_started_later(&self, started_later: Vec<String>) {
        *self
            .started_later
            .write()
            .unwrap_or_else(|p| p.into_inner()) = started_later;
        self.lock().clear();
    }

    /// The machine of a durable execution: its Distributed Maps run as map
    /// runs of child executions ([`Machine::map_runs`]).
    pub(crate) fn get(&self, revision: &Revision) -> Result<Arc<Machine>> {
        self.get_as(revision, true)
    }

    /// The machine of an execution that lives only in memory (a synchronous
    /// express execution, an EXPRESS map-run child): its Distributed Maps
    /// run inside it, since it has no store record for children to hang off.
    pub(crate) fn get_inline(&self, revision: &Revision) -> Result<Arc<Machine>> {
        self.get_as(revision, false)
    }

    /// The prepared machine of a durable execution's revision, if it is
    /// cached: an activation needs no read of the revision then.
    pub(crate) fn cached(&self, revision_id: &str) -> Option<Arc<Machine>> {
        self.lock().get(revision_id).map(Arc::clone)
    }

    fn get_as(&self, revision: &Revision, map_runs: bool) -> Result<Arc<Machine>> {
        let key = if map_runs {
            revision.revision_id.clone()
        } else {
            format!("{}#inline", revision.revision_id)
        };
        if let Some(m) = self.lock().get(&key) {
            return Ok(Arc::clone(m));
        }
        let mut machine = prepare(&revision.definition)?;
        machine.limits = self.limits;
        machine.map_runs = map_runs;
        machine
            .started_later
            .clone_from(&self.started_later.read().unwrap_or_else(|p| p.into_inner()));
        let machine = Arc::new(machine);
        let mut cache = self.lock();
        if cache.len() >= CAPACITY {
            cache.clear();
        }
        cache.insert(key, Arc::clone(&machine));
        Ok(machine)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Machine>>> {
        match self.cache.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

/// Parses and prepares a definition. The server validated it when it was
/// created; failing here means the stored text is not runnable by this build.
pub(crate) fn prepare(definition: &str) -> Result<Machine> {
    let ast = statecraft_language::parse(definition).map_err(|diagnostics| {
        Error::InvalidDefinition(
            diagnostics
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        )
    })?;
    Machine::new(ast).map_err(|e| Error::InvalidDefinition(e.to_string()))
}
