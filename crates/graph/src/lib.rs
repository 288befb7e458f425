//! State machine definitions drawn as graphs: a layered (Sugiyama-style)
//! layout with Parallel branches and Map item processors as nested regions,
//! Choice rules and Catch errors as edge labels, and an SVG renderer whose
//! states carry `data-state` attributes so a page can colour them by status.
//!
//! ```text
//! ast::StateMachine ─┐
//!                    ├─> model::Region ─> layout (recursive, layered per region) ─> Layout ─> to_svg
//! definition JSON ───┘                                                              (serde JSON for browsers)
//! ```
//!
//! Architecture invariant: this crate is pure: no I/O, no clock, no
//! randomness. The same definition always gives the same layout, byte for
//! byte, which is what makes its snapshot tests possible.

mod layered;
mod layout;
mod model;
mod svg;

pub use layout::{Edge, EdgeKind, Layout, Node, NodeKind, Options, Point};
pub use svg::{escape, path_data, state_class, to_svg, Style, DEFAULT_CSS};

use statecraft_language::ast::StateMachine;

/// Lays out a parsed state machine with the default [`Options`].
pub fn layout(machine: &StateMachine) -> Layout {
    layout_with(machine, &Options::default())
}

pub fn layout_with(machine: &StateMachine, options: &Options) -> Layout {
    layout::layout_region(&model::Region::from_ast(machine), options)
}

/// Lays out a definition given as its JSON value, without validating it:
/// transitions to unknown states are left out and unknown state types are
/// drawn as plain steps. Meant for editors, which must draw what the user has
/// typed so far; anything not shaped like a definition is an empty drawing
/// (start and end markers only).
pub fn layout_value(definition: &serde_json::Value) -> Layout {
    layout_value_with(definition, &Options::default())
}

pub fn layout_value_with(definition: &serde_json::Value, options: &Options) -> Layout {
    layout::layout_region(&model::Region::from_value(definition), options)
}
