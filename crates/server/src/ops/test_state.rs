//! TestState: runs one state alone on a given input.
