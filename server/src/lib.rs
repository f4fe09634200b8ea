//! The `hsmseed` binary: `serve` runs the appliance (HTTPS, pages, REST API,
//! background jobs); every other subcommand is a CLI command on the same
//! data directory.

pub mod api;
pub mod cli;
pub mod error;
pub mod jobs;
pub mod listen;
pub mod middleware;
pub mod startup;
pub mod systemd;
pub mod telemetry;
pub mod web;

pub use startup::{AppState, Application};
