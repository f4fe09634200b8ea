//! The hsmseed engine: everything that must never reach the WASM build.
//!
//! Every door (web pages, REST API, CLI) calls into [`Engine`]; none of them
//! holds SQL or PKCS#11 calls of its own.

pub mod audit;
pub mod auth;
pub mod clock;
pub mod config;
pub mod entropy;
pub mod error;
pub mod history;
pub mod hsm;
pub mod metrics;
pub mod ntl;
pub mod partitions;
pub mod schedule;
pub mod secrets;
pub mod store;
pub mod tls;

mod engine;
#[cfg(test)]
mod fuzz_tests;
mod handoff;

pub use engine::{Engine, Readiness};
pub use error::{Error, Result};
