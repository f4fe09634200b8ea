//! The layers every request passes, outermost first: operation id and
//! request log, security headers, timeout, same-origin check, session, and
//! the sign-in gate.

pub mod auth;
pub mod operation;
pub mod origin;
pub mod security_headers;
pub mod session_store;
