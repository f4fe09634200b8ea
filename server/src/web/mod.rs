//! The browser side: sign-in and sign-out handlers, the Leptos pages and
//! server functions, and the static assets.

pub mod history;
pub mod login;
pub mod sfn;
pub mod trust;
