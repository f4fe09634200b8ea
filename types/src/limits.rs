//! The lengths every door enforces, the same in the engine's checks and in
//! the pages' `maxlength` (the browser's hint; the engine decides).

/// Configuration, token and user names (bytes; ASCII only).
pub const NAME: usize = 64;
/// A partition name as the HSM defines it (characters).
pub const PARTITION_NAME: usize = 128;
/// A partition password (bytes).
pub const PARTITION_PASSWORD: usize = 256;
/// A pinned token serial (characters).
pub const TOKEN_SERIAL: usize = 64;
/// A slot id, written in decimal (`u64`).
pub const SLOT_DIGITS: usize = 20;
/// An administrator's password: at least, at most (characters).
pub const ADMIN_PASSWORD_MIN: usize = 12;
pub const ADMIN_PASSWORD_MAX: usize = 1024;
/// An HSM's address: an IP address or a host name.
pub const HSM_ADDRESS: usize = 253;
/// Fields of the appliance certificate's subject (ST, L, O).
pub const SUBJECT_FIELD: usize = 64;
/// Rows on one page of the history or the audit log.
pub const PER_PAGE_MAX: u32 = 200;
/// Characters of a search on the HSMs page.
pub const SEARCH: usize = 128;
