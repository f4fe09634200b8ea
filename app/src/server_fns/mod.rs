//! Server functions: thin adapters from the pages to the engine. Every one
//! checks the session first; every change also answers plain form posts
//! (no JavaScript) with a message for the next page.

pub mod alerts;
pub mod audit;
pub mod flash;
pub mod history;
pub mod hsms;
pub mod schedule;
pub mod status;
pub mod tokens;
pub mod trust;
pub mod users;
