//! One file per screen.

pub mod audit;
pub mod dashboard;
pub mod history;
pub mod hsm_edit;
pub mod hsms;
pub mod login;
pub mod not_found;
pub mod schedule;
pub mod settings;
pub mod trust;
