//! SHA-256 conditioning: turns health-tested raw samples (less than 8 bits
//! of entropy per byte) into output bytes with (close to) full entropy.
//!
//! Output block `i` (32 bytes) is
//!
//! `SHA-256(u32_be(i) || chunk_i)`
//!
//! where the raw input is split into as many consecutive chunks as there are
//! output blocks, and the last block is truncated to the requested length.
//! Every output byte is backed by at least two raw bytes of its own chunk:
//! at the default claim of 7 bits per raw byte, a full 32-byte block is
//! computed from at least 64 raw bytes, i.e. at least 448 bits of
//! min-entropy for 256 output bits (SP 800-90B 3.1.5.1.2 asks for at least
//! 256 + 64 for full-entropy output of a vetted conditioning function).
//!
//! The chunks are equal (to within one byte) when the output length is a
//! multiple of 32. Otherwise each chunk's share of the raw input is
//! proportional to the bytes its block outputs (the truncated last block
//! gets a correspondingly smaller chunk): equal chunks would give a full
//! 32-byte block less than 64 raw bytes when, for example, 33 bytes are
//! conditioned from 66.
//!
//! Zeroization: the output is `Zeroizing`; the digest buffer is zeroized;
//! the one hasher (reused for every block) is reset and its block buffer,
//! the only place it keeps raw bytes, overwritten before it is dropped.
//! (The `sha2` crate offers no zeroization of its own, and its bare
//! compression function is behind a feature this crate does not enable.)

use sha2::digest::Output;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

/// Bytes per SHA-256 output block.
pub const BLOCK_OUT: usize = 32;
/// Raw bytes required per output byte.
pub const RAW_PER_OUTPUT_BYTE: usize = 2;

/// Conditions `raw` into `out_len` bytes (see the module documentation).
///
/// Refuses with [`crate::Error::Internal`] when `raw` holds fewer than
/// `2 * out_len` bytes: that is a bug in the caller, and nothing is output
/// rather than output with less entropy than promised. `out_len == 0`
/// yields an empty buffer.
pub fn condition(raw: &[u8], out_len: usize) -> crate::Result<Zeroizing<Vec<u8>>> {
    let needed = out_len
        .checked_mul(RAW_PER_OUTPUT_BYTE)
        .ok_or_else(|| crate::Error::Internal("conditioning output too long".into()))?;
    if raw.len() < needed {
        return Err(crate::Error::Internal(format!(
            "conditioning {out_len} bytes needs at least {needed} raw bytes, got {}",
            raw.len()
        )));
    }
    let mut out = Zeroizing::new(vec![0u8; out_len]);
    if out_len == 0 {
        return Ok(out);
    }
    let blocks = out_len.div_ceil(BLOCK_OUT);
    // Chunk i is raw[bound(i)..bound(i + 1)], bound(i) = floor(len * 32 i / out_len),
    // bound(blocks) = len. Each full block's chunk has at least
    // floor(len * 32 / out_len) >= 64 bytes, the last at least
    // len * (out_len - 32 (blocks - 1)) / out_len >= 2 * its output bytes.
    let bound = |i: usize| -> usize {
        if i >= blocks {
            return raw.len();
        }
        // <= raw.len(), since 32 i < out_len for i < blocks. The product
        // fits a u64 for any realistic input; u128 only otherwise.
        let num = BLOCK_OUT * i;
        match (raw.len() as u64).checked_mul(num as u64) {
            Some(p) => (p / out_len as u64) as usize,
            None => (raw.len() as u128 * num as u128 / out_len as u128) as usize,
        }
    };
    let mut hasher = Sha256::new();
    let mut digest = Output::<Sha256>::default();
    for (i, out_block) in out.chunks_mut(BLOCK_OUT).enumerate() {
        let chunk = raw.get(bound(i)..bound(i + 1)).unwrap_or_default();
        let counter = u32::try_from(i)
            .map_err(|_| crate::Error::Internal("conditioning output too long".into()))?;
        hasher.update(counter.to_be_bytes());
        hasher.update(chunk);
        hasher.finalize_into_reset(&mut digest);
        out_block.copy_from_slice(&digest[..out_block.len()]);
    }
    wipe(hasher, digest);
    Ok(out)
}

/// Forgets what a hasher and its digest buffer saw. The hasher's state is
/// back to the initial value (reset), but its buffer still holds the
/// unhashed tail of the last input (at most 63 bytes, from its start):
/// overwrite it, and keep the compiler from eliding the writes to a value
/// about to be dropped.
fn wipe(mut hasher: Sha256, mut digest: Output<Sha256>) {
    digest.as_mut_slice().zeroize();
    hasher.update([0u8; 63]);
    std::hint::black_box(&mut hasher);
}

/// Extracts one seed of `len` bytes from equal shares of several sources
/// (each `len` bytes, already checked and conditioned): output block `i`
/// (32 bytes) is
///
/// `SHA-256("hsmseed mix" || u32_be(i) || share_1[block i] || ... || share_n[block i])`
///
/// so each output block draws on the same block of every share: it is at
/// least as unpredictable as the strongest share's block, and a weak or
/// hostile share (which cannot see the others) cannot make it weaker. One
/// share is returned as it is.
pub fn mix(shares: &[Zeroizing<Vec<u8>>], len: usize) -> crate::Result<Zeroizing<Vec<u8>>> {
    if shares.iter().any(|s| s.len() != len) || shares.is_empty() {
        return Err(crate::Error::Internal(
            "mixing needs one share of the seed's length from every source".into(),
        ));
    }
    if let [one] = shares {
        return Ok(one.clone());
    }
    let mut out = Zeroizing::new(vec![0u8; len]);
    let mut hasher = Sha256::new();
    let mut digest = Output::<Sha256>::default();
    for (i, out_block) in out.chunks_mut(BLOCK_OUT).enumerate() {
        let counter =
            u32::try_from(i).map_err(|_| crate::Error::Internal("mixed output too long".into()))?;
        hasher.update(b"hsmseed mix");
        hasher.update(counter.to_be_bytes());
        let range = i * BLOCK_OUT..i * BLOCK_OUT + out_block.len();
        for share in shares {
            hasher.update(share.get(range.clone()).unwrap_or_default());
        }
        hasher.finalize_into_reset(&mut digest);
        out_block.copy_from_slice(&digest[..out_block.len()]);
    }
    wipe(hasher, digest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 8) as u8)
            .collect()
    }

    /// The construction, written the obvious way with the `Digest` API, for
    /// output lengths that are multiples of 32 (equal chunks).
    fn reference(raw: &[u8], out_len: usize) -> Vec<u8> {
        let n = out_len / 32;
        let mut out = Vec::new();
        for i in 0..n {
            let chunk = &raw[raw.len() * i / n..raw.len() * (i + 1) / n];
            let mut h = Sha256::new();
            h.update((i as u32).to_be_bytes());
            h.update(chunk);
            out.extend_from_slice(&h.finalize());
        }
        out
    }

    #[test]
    fn mix_draws_on_every_share_and_passes_one_through() {
        let a = Zeroizing::new(raw(40, 1));
        let b = Zeroizing::new(raw(40, 2));
        let stuck = Zeroizing::new(vec![0u8; 40]);
        assert_eq!(*mix(std::slice::from_ref(&a), 40).unwrap(), *a);
        let ab = mix(&[a.clone(), b.clone()], 40).unwrap();
        let a_stuck = mix(&[a.clone(), stuck.clone()], 40).unwrap();
        // Block 0, the obvious way.
        let mut h = Sha256::new();
        h.update(b"hsmseed mix");
        h.update(0u32.to_be_bytes());
        h.update(&a[..32]);
        h.update(&b[..32]);
        assert_eq!(ab[..32], h.finalize()[..]);
        assert_ne!(*ab, *a_stuck);
        assert_ne!(*a_stuck, *a);
        assert!(mix(&[a.clone(), Zeroizing::new(vec![1; 39])], 40).is_err());
        assert!(mix(&[], 40).is_err());
    }

    #[test]
    fn matches_reference_sha256() {
        for (raw_len, out_len) in [(64, 32), (8192, 4096), (1000, 64), (200, 96), (555, 160)] {
            let r = raw(raw_len, 1);
            assert_eq!(
                *condition(&r, out_len).unwrap(),
                reference(&r, out_len),
                "{raw_len} -> {out_len}"
            );
        }
    }

    #[test]
    fn lengths() {
        for out_len in [0, 1, 16, 31, 32, 33, 63, 64, 65, 100, 4096] {
            let r = raw(2 * out_len, 2);
            assert_eq!(condition(&r, out_len).unwrap().len(), out_len);
            let r = raw(3 * out_len + 7, 2);
            assert_eq!(condition(&r, out_len).unwrap().len(), out_len);
        }
    }

    #[test]
    fn truncated_last_block() {
        // 33 bytes from 66: block 0 gets 64 raw bytes, block 1 gets 2.
        let r = raw(66, 3);
        let out = condition(&r, 33).unwrap();
        let mut h = Sha256::new();
        h.update(0u32.to_be_bytes());
        h.update(&r[..64]);
        assert_eq!(out[..32], h.finalize()[..]);
        let mut h = Sha256::new();
        h.update(1u32.to_be_bytes());
        h.update(&r[64..]);
        assert_eq!(out[32], h.finalize()[0]);
    }

    #[test]
    fn deterministic() {
        let r = raw(512, 4);
        assert_eq!(*condition(&r, 256).unwrap(), *condition(&r, 256).unwrap());
    }

    #[test]
    fn different_inputs_differ() {
        let a = raw(512, 5);
        let mut b = a.clone();
        b[511] ^= 1;
        let (ca, cb) = (condition(&a, 256).unwrap(), condition(&b, 256).unwrap());
        assert_ne!(*ca, *cb);
        // Only the last block saw the change.
        assert_eq!(ca[..224], cb[..224]);
        // Blocks differ from each other even on identical chunks (counter).
        let same = vec![7u8; 128];
        let c = condition(&same, 64).unwrap();
        assert_ne!(c[..32], c[32..]);
    }

    #[test]
    fn refuses_short_input() {
        let r = raw(63, 6);
        let err = condition(&r, 32).unwrap_err();
        assert_eq!(err.code(), "internal");
        assert!(condition(&[], 1).is_err());
        assert!(condition(&r, usize::MAX).is_err());
        assert!(condition(&[], 0).unwrap().is_empty());
    }
}
