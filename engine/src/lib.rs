//! The hsmseed engine: everything that must never reach the WASM build.
//!
//! Every door (web pages, REST API, CLI) holds an [`Engine`] and calls the
//! capability it needs (`engine.partitions()`, `engine.auth()`, ...); none
//! of them holds SQL or PKCS#11 calls of its own. See docs/ARCHITECTURE.md.

pub mod alerts;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod clock;
pub mod config;
pub mod entropy;
pub mod error;
pub mod fleet;
pub mod history;
pub mod hsm;
pub mod metrics;
pub mod ntl;
pub mod overview;
pub mod partitions;
pub mod random;
pub mod schedule;
pub mod secrets;
pub mod store;
pub mod tls;

mod core;
mod engine;
#[cfg(test)]
mod fuzz_tests;
mod handoff;
mod kept;

pub use engine::{Engine, Health, Readiness};

pub use error::{Error, Result};
