//! Test helpers: parse a definition, run it through the driver with an
//! echoing task handler and a virtual clock.

use serde_json::Value;

use crate::driver::{self, Outcome, VirtualClock};
use crate::host::DeterministicHost;
use crate::Machine;

pub fn machine(def: &Value) -> Machine {
    let sm = statecraft_language::parse_value(def)
        .unwrap_or_else(|d| panic!("fixture does not parse: {d:?}"));
    Machine::new(sm).unwrap_or_else(|e| panic!("fixture does not prepare: {e}"))
}

pub fn run(def: &Value, input: Value) -> Outcome {
    let m = machine(def);
    let mut clock = VirtualClock {
        now_ms: 1_700_000_000_000,
    };
    let host = DeterministicHost::new(1);
    let options = driver::Options {
        context: driver::context_for("fixture", clock.now_ms),
        clock: &mut clock,
        host: &host,
        observer: None,
        max_events: Some(100_000),
        input_text: None,
    };
    driver::run(&m, input, options, &mut driver::echo)
}

pub fn run_ok(def: &Value, input: Value) -> Value {
    let o = run(def, input);
    match o.output {
        Some(v) => v,
        None => panic!(
            "execution did not succeed: {:?} {:?} {:?}",
            o.status, o.error, o.cause
        ),
    }
}
