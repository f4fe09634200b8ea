//! Full-stack tests: the real server on a port-0 listener (HTTPS with its
//! generated certificate unless a test says otherwise), a fresh data
//! directory each, a real HTTP client.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test support code

mod helpers;

mod anonymous;
mod auth;
mod backup;
mod cli;
mod connections;
mod datadir;
mod errors;
mod fleet;
mod fleet_postgres;
mod headers;
mod health;
mod holds;
mod many;
mod modules;
mod ntl;
mod openapi;
mod ops;
mod owner;
mod qrng;
mod random;
mod remote;
mod seeding;
mod service;
mod sessions;
