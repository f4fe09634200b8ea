//! Random numbers for clients, made from checked random bytes: hex strings,
//! integers uniform in `[min, max)` (rejection sampling: no modulo bias),
//! and floating-point numbers uniform in `[min, max)`.
//!
//! Each maker takes what it can from the bytes given and says how many
//! values it made; the caller fetches more bytes for the rest (a rejected
//! draw consumes its bytes).

/// Lowercase hex strings of `len` bytes each, as many as `bytes` holds.
pub fn hex_strings(bytes: &[u8], len: usize) -> Vec<String> {
    if len == 0 {
        return Vec::new();
    }
    bytes.chunks_exact(len).map(hex::encode).collect()
}

/// The bytes one draw of each kind takes.
pub const INT_DRAW: usize = 4;
pub const DOUBLE_DRAW: usize = 8;
pub const FLOAT_DRAW: usize = 4;

/// Integers uniform in `[min, max)` (`min < max`, a span of at most
/// 2^32), appended to `out` until it holds `quantity` or `bytes` runs out.
/// A 32-bit draw at or above the largest multiple of the span is rejected.
pub fn ints(bytes: &[u8], min: i64, max: i64, quantity: usize, out: &mut Vec<i64>) {
    let span = max.abs_diff(min);
    debug_assert!(min < max && span <= 1 << 32);
    let limit = (1u64 << 32) - (1u64 << 32) % span;
    for draw in bytes.chunks_exact(INT_DRAW) {
        if out.len() >= quantity {
            break;
        }
        let x = u64::from(u32::from_le_bytes([draw[0], draw[1], draw[2], draw[3]]));
        if x < limit {
            // x % span < span <= max - min: the sum stays in [min, max).
            out.push(min.wrapping_add_unsigned(x % span));
        }
    }
}

/// Doubles uniform in `[min, max)` (finite, `min < max`): 53 random bits
/// as a fraction of one, scaled; a value rounded up to `max` is rejected.
pub fn doubles(bytes: &[u8], min: f64, max: f64, quantity: usize, out: &mut Vec<f64>) {
    for draw in bytes.chunks_exact(DOUBLE_DRAW) {
        if out.len() >= quantity {
            break;
        }
        let mut b = [0u8; 8];
        b.copy_from_slice(draw);
        let unit = (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64;
        let v = min + unit * (max - min);
        if v >= min && v < max {
            out.push(v);
        }
    }
}

/// Floats uniform in `[min, max)` (finite, `min < max`): 24 random bits as
/// a fraction of one, scaled; a value rounded up to `max` is rejected.
pub fn floats(bytes: &[u8], min: f32, max: f32, quantity: usize, out: &mut Vec<f32>) {
    for draw in bytes.chunks_exact(FLOAT_DRAW) {
        if out.len() >= quantity {
            break;
        }
        let x = u32::from_le_bytes([draw[0], draw[1], draw[2], draw[3]]) >> 8;
        let unit = f64::from(x) / f64::from(1u32 << 24);
        let v = (f64::from(min) + unit * (f64::from(max) - f64::from(min))) as f32;
        if v >= min && v < max {
            out.push(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random(n: usize) -> Vec<u8> {
        let mut v = vec![0u8; n];
        crate::random::fill_random(&mut v);
        v
    }

    /// Pearson's chi-square statistic of `counts` against a uniform
    /// expectation.
    fn chi_square(counts: &[u64]) -> f64 {
        let total: u64 = counts.iter().sum();
        let expected = total as f64 / counts.len() as f64;
        counts
            .iter()
            .map(|&c| (c as f64 - expected).powi(2) / expected)
            .sum()
    }

    #[test]
    fn hex_strings_are_lowercase_and_whole() {
        assert_eq!(hex_strings(&[0xa4, 0xb8, 0x0f], 1), ["a4", "b8", "0f"]);
        assert_eq!(hex_strings(&[0xa4, 0xb8, 0x0f], 2), ["a4b8"]);
        assert!(hex_strings(&[1, 2], 0).is_empty());
    }

    #[test]
    fn a_draw_above_the_last_whole_span_is_rejected() {
        // span 3: 2^32 % 3 == 1, so only 0xffff_ffff is rejected.
        let mut out = Vec::new();
        let bytes = [0xff, 0xff, 0xff, 0xff, 5, 0, 0, 0];
        ints(&bytes, 10, 13, 2, &mut out);
        assert_eq!(out, [10 + 5 % 3]);
        // The whole i32 range, and the extremes of a span.
        let mut out = Vec::new();
        ints(
            &[0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff],
            -(1 << 31),
            1 << 31,
            2,
            &mut out,
        );
        assert_eq!(out, [-(1 << 31), (1 << 31) - 1]);
    }

    #[test]
    fn ints_are_in_range_and_uniform() {
        // 10^5 draws over 10 values: chi-square with 9 degrees of freedom;
        // 27.88 is its 0.999 quantile (a false alarm once in 1000 runs).
        let (min, max) = (-3i64, 7i64);
        let mut out = Vec::new();
        while out.len() < 100_000 {
            ints(&random(40_000), min, max, 100_000, &mut out);
        }
        let mut counts = [0u64; 10];
        for v in &out {
            assert!((min..max).contains(v), "{v}");
            counts[(v - min) as usize] += 1;
        }
        let chi = chi_square(&counts);
        assert!(chi < 27.88, "chi-square {chi}: {counts:?}");
    }

    #[test]
    fn doubles_and_floats_are_in_range_and_uniform() {
        let mut d = Vec::new();
        while d.len() < 100_000 {
            doubles(&random(80_000), -1.5, 2.5, 100_000, &mut d);
        }
        let mut f = Vec::new();
        while f.len() < 100_000 {
            floats(&random(40_000), 0.0, 1.0, 100_000, &mut f);
        }
        for (values, min, max) in [
            (d.clone(), -1.5, 2.5),
            (f.iter().map(|&x| f64::from(x)).collect(), 0.0, 1.0),
        ] {
            let mut counts = [0u64; 10];
            for v in &values {
                assert!(*v >= min && *v < max, "{v}");
                let bin = ((v - min) / (max - min) * 10.0) as usize;
                counts[bin.min(9)] += 1;
            }
            let chi = chi_square(&counts);
            assert!(chi < 27.88, "chi-square {chi}: {counts:?}");
        }
    }

    #[test]
    fn a_value_rounded_up_to_max_is_rejected() {
        // The largest 53-bit fraction times a span this wide rounds to max.
        let mut out = Vec::new();
        doubles(&[0xff; 8], 0.0, 1e300, 1, &mut out);
        assert!(out.iter().all(|&v| v < 1e300));
        let mut out = Vec::new();
        floats(&[0xff; 4], 1.0, 1.000_000_1, 1, &mut out);
        assert!(out.iter().all(|&v| v < 1.000_000_1));
    }
}
