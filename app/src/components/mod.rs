//! Widgets shared by the pages.

pub mod page;
pub mod shell;
