//! Server functions: thin adapters from the pages to the engine.

pub mod status;
