//! Widgets shared by the pages.

pub mod enhance;
pub mod flash;
pub mod history_table;
pub mod html;
pub mod live;
pub mod page;
pub mod shell;
pub mod table;
