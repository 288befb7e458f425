//! JSONata query mode: the `{% … %}` expressions of a JSONata state, compiled
//! once per [`crate::Machine`].
//!
//! The JSONata evaluator (`statecraft-jsonata`) is still being written; until
//! it lands a JSONata state fails at run time with `States.QueryEvaluationError`
//! instead of being misinterpreted as JSONPath.

use statecraft_language::ast::{QueryLanguage, State};

use crate::Error;

/// The compiled expressions of one state.
#[derive(Debug, Default)]
pub(crate) struct Compiled {
    enabled: bool,
}

impl Compiled {
    pub fn for_state(state: &State) -> Result<Compiled, Error> {
        Ok(Compiled {
            enabled: state.query_language == QueryLanguage::Jsonata,
        })
    }

    pub fn uses_context(&self) -> bool {
        self.enabled
    }
}

use serde_json::Value;
use statecraft_language::ast::Map as MapState;
use statecraft_types::errors::QUERY_EVALUATION_ERROR;
use statecraft_types::Failure;

use crate::exec::{Active, Flow, Frame, Run};
use crate::machine::Node;

fn unsupported() -> Failure {
    Failure::new(
        QUERY_EVALUATION_ERROR,
        "JSONata states are not supported by this build of the engine yet.",
    )
}

impl Run<'_> {
    pub(crate) fn jsonata_state(
        &mut self,
        _f: &mut Frame,
        _id: usize,
        node: &Node,
        state: usize,
        input: Value,
        entered_id: u64,
    ) -> Flow {
        Flow::Fail {
            failure: Self::in_state(node, entered_id, unsupported()),
            state,
            input: Some(input),
        }
    }

    pub(crate) fn jsonata_complete(
        &mut self,
        f: &mut Frame,
        node: &Node,
        active: Active,
        _result: Value,
    ) -> Flow {
        let failure = Self::in_state(node, active.entered_id, unsupported());
        self.handle_failure(f, node, active, failure)
    }

    pub(crate) fn jsonata_catch(
        &mut self,
        _f: &mut Frame,
        node: &Node,
        active: Active,
        _failure: Failure,
        _catcher: usize,
    ) -> Flow {
        Flow::Fail {
            failure: Self::in_state(node, active.entered_id, unsupported()),
            state: active.state,
            input: Some(active.input),
        }
    }

    pub(crate) fn jsonata_arguments(
        &self,
        _f: &Frame,
        _node: &Node,
        _active: &Active,
    ) -> Result<Value, Failure> {
        Err(unsupported())
    }

    pub(crate) fn jsonata_map_items(
        &self,
        _f: &Frame,
        _node: &Node,
        _active: &Active,
    ) -> Result<(Value, Vec<Value>), Failure> {
        Err(unsupported())
    }

    pub(crate) fn jsonata_map_settings(
        &self,
        _f: &Frame,
        _node: &Node,
        _m: &MapState,
        _active: &Active,
        _effective: &Value,
        _concurrency_only: bool,
    ) -> Result<crate::state::map::Settings, Failure> {
        Err(unsupported())
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn jsonata_item_selector(
        &self,
        _f: &Frame,
        _node: &Node,
        _m: &MapState,
        _active: &Active,
        _effective: &Value,
        _index: usize,
        _item: Value,
    ) -> Result<Value, Failure> {
        Err(unsupported())
    }
}
