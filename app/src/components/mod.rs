//! Widgets shared by the pages.

pub mod flash;
pub mod page;
pub mod shell;
pub mod tables;
