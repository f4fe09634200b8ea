//! Background jobs, one file each.

pub mod session_cleanup;
