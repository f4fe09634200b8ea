//! Random bytes from the operating system (a leaf: any module may use it).

/// Fills `buf` from the OS random number generator.
pub fn fill_random(buf: &mut [u8]) {
    use rand::RngCore;
    rand::rngs::OsRng.fill_bytes(buf);
}
