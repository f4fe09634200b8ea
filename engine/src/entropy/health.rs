//! NIST SP 800-90B section 4.4 continuous health tests for 8-bit samples.
//!
//! Two tests run over every sample a noise source delivers:
//!
//! * The **Repetition Count Test** (RCT, 4.4.1) catches a source that gets
//!   *stuck*: it counts how many times in a row the same sample value occurs.
//!   With a claimed min-entropy of `H` bits per sample, a run of `C` equal
//!   samples has probability at most `2^(-H (C - 1))`, so the cutoff for a
//!   false-positive rate `alpha` is
//!
//!   `C = 1 + ceil(-log2(alpha) / H)`
//!
//!   and a run whose length reaches `C` is a failure.
//!
//! * The **Adaptive Proportion Test** (APT, 4.4.2) catches a source that has
//!   become *biased* (one value much more frequent than `2^-H` allows) without
//!   necessarily producing long runs. Samples are cut into windows of
//!   `W = 512` (the non-binary window size); the first sample `A` of each
//!   window is remembered and the test counts how many samples of the window
//!   (the first one included) equal `A`. Under the claim, that count is at
//!   most `X ~ Binomial(W, 2^-H)` (plus the first sample, which the `1 +`
//!   accounts for), so the cutoff is
//!
//!   `C = 1 + CRITBINOM(W, 2^-H, 1 - alpha)`,
//!
//!   i.e. the smallest `c` with `P(X >= c) <= alpha`; a count reaching `C`
//!   is a failure.
//!
//! Both tests run at two false-positive rates at once: an **intermittent**
//! threshold (`alpha = 2^-30`: the block holding the failure is discarded and
//! counted, the source stays up) and a **permanent** one (`alpha = 2^-60`:
//! the source must stop delivering anything). Three consecutive blocks with
//! intermittent failures are treated as a permanent failure, because a healthy
//! source essentially never fails the intermittent threshold twice in a row.
//!
//! The tests are continuous: [`HealthTester`] keeps the current run and the
//! current window across calls to [`HealthTester::check_block`], so a run or
//! a window that straddles two blocks is tested exactly as if the samples had
//! come in one piece.
//!
//! Speed: the hot loop walks each block once, 64 samples at a time. For each
//! group it counts the samples equal to `A` (APT) and checks whether any two
//! neighbouring samples are equal (RCT); both are branch-free and vectorise.
//! Only a group that holds two equal neighbours (about 22 % of groups for
//! uniform bytes) is walked sample by sample to measure the run lengths.

use std::fmt;

use serde::{Serialize, Serializer};

/// The APT window for non-binary samples (SP 800-90B 4.4.2).
pub const APT_WINDOW: u32 = 512;
/// `-log2(alpha)` of the intermittent threshold.
pub const ALPHA_LOG2_INTERMITTENT: u32 = 30;
/// `-log2(alpha)` of the permanent threshold.
pub const ALPHA_LOG2_PERMANENT: u32 = 60;
/// This many consecutive blocks with intermittent failures make a permanent
/// failure.
pub const MAX_CONSECUTIVE_INTERMITTENT: u32 = 3;
/// The claimed min-entropy per byte when nothing else is configured.
pub const DEFAULT_MIN_ENTROPY_PER_BYTE: f64 = 7.0;

/// Samples walked per step of the hot loop.
const GROUP: usize = 64;

/// Repetition Count Test cutoff: `C = 1 + ceil(alpha_log2 / h)` where
/// `alpha = 2^-alpha_log2` and `h` is the claimed min-entropy per sample.
///
/// A run of `C` identical samples fails the test. When `alpha_log2 / h` is
/// an integer up to floating-point noise (e.g. `30 / 7.5`), the integer is
/// used rather than letting a rounding error push the ceiling one higher.
///
/// `h` must be a positive finite number; anything else returns `1`, a cutoff
/// every sample reaches, so that a misuse fails closed.
pub fn rct_cutoff(h: f64, alpha_log2: u32) -> u32 {
    if !(h.is_finite() && h > 0.0) {
        return 1;
    }
    let x = f64::from(alpha_log2) / h;
    let nearest = x.round();
    let ceil = if (x - nearest).abs() <= 1e-9 * nearest.max(1.0) {
        nearest
    } else {
        x.ceil()
    };
    if ceil >= f64::from(u32::MAX - 1) {
        u32::MAX
    } else {
        // `ceil` is a non-negative integer below u32::MAX - 1: exact.
        1 + ceil as u32
    }
}

/// Adaptive Proportion Test cutoff: `C = 1 + CRITBINOM(window, 2^-h, 1 - alpha)`,
/// the smallest `c` with `P(X >= c) <= alpha` for `X ~ Binomial(window, 2^-h)`
/// and `alpha = 2^-alpha_log2`.
///
/// Computed exactly in log space, so that probabilities far below the
/// smallest `f64` (the upper tail at `alpha = 2^-60` and beyond) neither
/// underflow nor lose precision: starting from `ln P(X = window)`, the
/// log-pmf is stepped down with
/// `ln P(X = k - 1) = ln P(X = k) + ln(k / (window - k + 1)) + ln((1 - p) / p)`
/// and the upper tail `T(c) = P(X >= c)` is accumulated with a stable
/// log-sum-exp until it exceeds `alpha`.
///
/// Returns `window + 1` when even `P(X = window) > alpha` (the test can then
/// never fire: the claimed entropy is too low for this window and alpha).
/// `h` must be a positive finite number; anything else returns `1`, a cutoff
/// every window reaches, so that a misuse fails closed.
pub fn apt_cutoff(h: f64, alpha_log2: u32, window: u32) -> u32 {
    if !(h.is_finite() && h > 0.0) {
        return 1;
    }
    let p = (-h).exp2();
    if !(p > 0.0 && p < 1.0) {
        return 1;
    }
    let ln_alpha = -f64::from(alpha_log2) * std::f64::consts::LN_2;
    let n = f64::from(window);
    // ln((1 - p) / p), with ln(1 - p) computed accurately for small p.
    let ln_odds = (-p).ln_1p() - p.ln();
    // ln P(X = window) = window * ln p.
    let mut ln_pmf = n * p.ln();
    let mut ln_tail = f64::NEG_INFINITY; // ln P(X >= window + 1) = ln 0
    let mut c = window;
    loop {
        // ln_pmf = ln P(X = c); fold it into the tail: ln P(X >= c).
        ln_tail = log_add_exp(ln_tail, ln_pmf);
        if ln_tail > ln_alpha {
            // P(X >= c) > alpha but P(X >= c + 1) <= alpha.
            return c.saturating_add(1);
        }
        if c == 0 {
            // P(X >= 0) = 1 <= alpha: only possible when alpha_log2 == 0.
            return 0;
        }
        let k = f64::from(c);
        ln_pmf += (k / (n - k + 1.0)).ln() + ln_odds;
        c -= 1;
    }
}

/// `ln(e^a + e^b)` without overflow or underflow.
fn log_add_exp(a: f64, b: f64) -> f64 {
    let (hi, lo) = if a >= b { (a, b) } else { (b, a) };
    if hi == f64::NEG_INFINITY {
        return hi;
    }
    hi + (lo - hi).exp().ln_1p()
}

/// Which health test failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HealthTest {
    /// Repetition Count Test (SP 800-90B 4.4.1): a run of equal samples.
    Rct,
    /// Adaptive Proportion Test (SP 800-90B 4.4.2): one value too frequent.
    Apt,
}

impl HealthTest {
    /// The operator-facing name: `"repetition count"` or `"adaptive proportion"`.
    pub fn name(self) -> &'static str {
        match self {
            HealthTest::Rct => "repetition count",
            HealthTest::Apt => "adaptive proportion",
        }
    }
}

impl fmt::Display for HealthTest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Serialised as its [`name`](HealthTest::name).
impl Serialize for HealthTest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// The outcome of testing one block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No threshold reached: the block may be used.
    Pass,
    /// An intermittent threshold (`alpha = 2^-30`) was reached: discard the
    /// block and count it; the source stays up.
    Intermittent { test: HealthTest },
    /// A permanent threshold (`alpha = 2^-60`) was reached, or this is the
    /// third consecutive block with an intermittent failure: the source must
    /// go to `failed` and deliver nothing more.
    Permanent { test: HealthTest },
}

/// The four cutoffs derived from a claimed min-entropy per byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Cutoffs {
    pub rct_intermittent: u32,
    pub rct_permanent: u32,
    pub apt_intermittent: u32,
    pub apt_permanent: u32,
}

impl Cutoffs {
    /// The cutoffs for `h` bits of min-entropy per byte, at `alpha = 2^-30`
    /// (intermittent) and `2^-60` (permanent), APT window 512.
    pub fn for_entropy(h: f64) -> Self {
        Cutoffs {
            rct_intermittent: rct_cutoff(h, ALPHA_LOG2_INTERMITTENT),
            rct_permanent: rct_cutoff(h, ALPHA_LOG2_PERMANENT),
            apt_intermittent: apt_cutoff(h, ALPHA_LOG2_INTERMITTENT, APT_WINDOW),
            apt_permanent: apt_cutoff(h, ALPHA_LOG2_PERMANENT, APT_WINDOW),
        }
    }
}

/// Checks that a claimed min-entropy per byte is usable: finite, in `(0, 8]`.
pub fn validate_min_entropy(h: f64) -> crate::Result<()> {
    if h.is_finite() && h > 0.0 && h <= 8.0 {
        Ok(())
    } else {
        Err(crate::Error::Invalid(format!(
            "min_entropy_per_byte must be a number in (0, 8], not {h}"
        )))
    }
}

/// The continuous health tests of one noise source.
///
/// Holds no sample except the last one (needed to continue a run) and the
/// first sample of the current window; [`fmt::Debug`] shows neither.
#[derive(Clone)]
pub struct HealthTester {
    cut: Cutoffs,
    /// Whether any sample has been seen (the first one starts the first run).
    started: bool,
    /// The previous sample.
    rct_prev: u8,
    /// Length of the current run of samples equal to `rct_prev`.
    rct_run: u32,
    /// The first sample of the current APT window.
    apt_a: u8,
    /// Samples of the current window equal to `apt_a` (the first included).
    apt_count: u32,
    /// Samples of the current window seen so far; 0 means a new window
    /// starts with the next sample.
    apt_pos: u32,
    /// Consecutive blocks with an intermittent failure.
    consecutive_intermittent: u32,
    /// Whether the last `Permanent` verdict came from consecutive
    /// intermittent failures rather than a permanent cutoff.
    escalated: bool,
}

impl fmt::Debug for HealthTester {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HealthTester")
            .field("cutoffs", &self.cut)
            .field("rct_run", &self.rct_run)
            .field("apt_count", &self.apt_count)
            .field("apt_pos", &self.apt_pos)
            .field("consecutive_intermittent", &self.consecutive_intermittent)
            .finish_non_exhaustive()
    }
}

impl HealthTester {
    /// A tester for `min_entropy_per_byte` bits of claimed min-entropy per
    /// byte, which must be in `(0, 8]`.
    pub fn new(min_entropy_per_byte: f64) -> crate::Result<Self> {
        validate_min_entropy(min_entropy_per_byte)?;
        Ok(Self::from_cutoffs(Cutoffs::for_entropy(
            min_entropy_per_byte,
        )))
    }

    /// A tester with explicit cutoffs.
    pub fn from_cutoffs(cut: Cutoffs) -> Self {
        HealthTester {
            cut,
            started: false,
            rct_prev: 0,
            rct_run: 0,
            apt_a: 0,
            apt_count: 0,
            apt_pos: 0,
            consecutive_intermittent: 0,
            escalated: false,
        }
    }

    pub fn cutoffs(&self) -> Cutoffs {
        self.cut
    }

    /// Forgets every sample seen (fresh state, as for a start-up test).
    pub fn reset(&mut self) {
        *self = Self::from_cutoffs(self.cut);
    }

    /// Whether the last [`Verdict::Permanent`] came from
    /// [`MAX_CONSECUTIVE_INTERMITTENT`] consecutive intermittent failures.
    pub fn escalated(&self) -> bool {
        self.escalated
    }

    /// Runs both tests over `block`, continuing the run and the window of the
    /// previous blocks, and returns the verdict for this block.
    ///
    /// A threshold counts against this block when a sample of this block
    /// makes the run length or the window count reach it (a run that started
    /// in an earlier block and goes on in this one counts again, as in
    /// SP 800-90B, where every sample that keeps `B >= C` signals).
    /// If both tests fail, the repetition count test is named.
    /// An empty block passes and changes nothing.
    pub fn check_block(&mut self, block: &[u8]) -> Verdict {
        let Some(&first) = block.first() else {
            return Verdict::Pass;
        };
        if !self.started {
            // The first sample ever starts a run of 1: comparing it with
            // itself below brings the run from 0 to 1.
            self.started = true;
            self.rct_prev = first;
            self.rct_run = 0;
        }
        let mut max_run = 0u32;
        let mut apt_int = false;
        let mut apt_perm = false;
        let mut rest = block;
        while let Some(&head) = rest.first() {
            if self.apt_pos == 0 {
                self.apt_a = head;
                self.apt_count = 0;
            }
            let room = (APT_WINDOW - self.apt_pos) as usize;
            let (seg, tail) = rest.split_at(room.min(rest.len()));
            rest = tail;
            let matches = self.scan_segment(seg, &mut max_run);
            self.apt_count += matches;
            if matches > 0 {
                // The count is monotone within a window: it reached a cutoff
                // in this segment iff it is at or above it now.
                if self.apt_count >= self.cut.apt_permanent {
                    apt_perm = true;
                } else if self.apt_count >= self.cut.apt_intermittent {
                    apt_int = true;
                }
            }
            // seg.len() <= APT_WINDOW - apt_pos, so this stays <= APT_WINDOW.
            self.apt_pos += seg.len() as u32;
            if self.apt_pos >= APT_WINDOW {
                self.apt_pos = 0;
            }
        }
        self.escalated = false;
        if max_run >= self.cut.rct_permanent {
            return Verdict::Permanent {
                test: HealthTest::Rct,
            };
        }
        if apt_perm {
            return Verdict::Permanent {
                test: HealthTest::Apt,
            };
        }
        let test = if max_run >= self.cut.rct_intermittent {
            HealthTest::Rct
        } else if apt_int {
            HealthTest::Apt
        } else {
            self.consecutive_intermittent = 0;
            return Verdict::Pass;
        };
        self.consecutive_intermittent += 1;
        if self.consecutive_intermittent >= MAX_CONSECUTIVE_INTERMITTENT {
            self.escalated = true;
            Verdict::Permanent { test }
        } else {
            Verdict::Intermittent { test }
        }
    }

    /// The hot loop: one pass over `seg` (all in the current APT window).
    /// Updates the run state and `max_run`; returns how many samples of
    /// `seg` equal the window's first sample.
    #[inline]
    fn scan_segment(&mut self, seg: &[u8], max_run: &mut u32) -> u32 {
        let a = self.apt_a;
        let mut prev = self.rct_prev;
        let mut run = self.rct_run;
        let mut matches = 0u32;
        let (groups, tail) = seg.as_chunks::<GROUP>();
        for g in groups {
            // APT: count samples equal to A (at most 64: fits in a u8).
            let mut m = 0u8;
            for &b in g {
                m += u8::from(b == a);
            }
            matches += u32::from(m);
            // RCT: does any sample equal its predecessor?
            let mut eq = u8::from(g[0] == prev);
            for (&x, &y) in g[1..].iter().zip(&g[..GROUP - 1]) {
                eq |= u8::from(x == y);
            }
            if eq == 0 {
                // Every sample differs from the one before: the current run
                // is 1 long, and no run grew past what max_run already holds
                // (any run has length >= 1, and max_run is raised below).
                run = 1;
                *max_run = (*max_run).max(1);
            } else {
                for &b in g {
                    run = if b == prev { run.saturating_add(1) } else { 1 };
                    prev = b;
                    *max_run = (*max_run).max(run);
                }
            }
            prev = g[GROUP - 1];
        }
        for &b in tail {
            matches += u32::from(b == a);
            run = if b == prev { run.saturating_add(1) } else { 1 };
            prev = b;
            *max_run = (*max_run).max(run);
        }
        self.rct_prev = prev;
        self.rct_run = run;
        matches
    }
}

/// Bytes with no two neighbours equal (so no RCT failure whatever the
/// cutoff) and otherwise uniform, from a seeded generator.
#[cfg(test)]
pub(crate) fn no_runs_for_tests(len: usize, seed: u64) -> Vec<u8> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut v = Vec::with_capacity(len);
    let mut prev = None;
    while v.len() < len {
        let b: u8 = rng.gen();
        if Some(b) != prev {
            v.push(b);
            prev = Some(b);
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::no_runs_for_tests as no_runs;
    use super::*;
    use rand::{RngCore, SeedableRng};

    /// `P(X >= c)` for `X ~ Binomial(n, p)`, computed independently of
    /// `apt_cutoff`: linear-space pmf by the upward multiplicative
    /// recurrence from `P(X = 0) = (1 - p)^n`, tail summed smallest-first.
    /// Fine for `p >= 1/256`, `n = 512`, where `P(X = 0)` is far from
    /// underflowing.
    fn brute_tail(n: u32, p: f64, c: u32) -> f64 {
        let mut pmf = vec![0.0f64; n as usize + 1];
        pmf[0] = (1.0 - p).powi(n as i32);
        for k in 0..n as usize {
            pmf[k + 1] = pmf[k] * (n as f64 - k as f64) / (k as f64 + 1.0) * p / (1.0 - p);
        }
        pmf[c as usize..].iter().rev().sum()
    }

    /// The smallest `c` with `P(X >= c) <= alpha`, by brute force.
    fn brute_apt(h: f64, alpha_log2: u32, n: u32) -> u32 {
        let p = (-h).exp2();
        let alpha = (-(alpha_log2 as f64)).exp2();
        (0..=n + 1)
            .find(|&c| c > n || brute_tail(n, p, c) <= alpha)
            .unwrap()
    }

    #[test]
    fn rct_cutoffs_by_hand() {
        // 1 + ceil(30 / 8) = 1 + ceil(3.75) = 5
        assert_eq!(rct_cutoff(8.0, 30), 5);
        // 1 + ceil(60 / 8) = 1 + ceil(7.5) = 9
        assert_eq!(rct_cutoff(8.0, 60), 9);
        // 1 + ceil(30 / 7) = 1 + ceil(4.29) = 6
        assert_eq!(rct_cutoff(7.0, 30), 6);
        // 1 + ceil(60 / 7) = 1 + ceil(8.57) = 10
        assert_eq!(rct_cutoff(7.0, 60), 10);
        // SP 800-90B 4.4.1 example: H = 2, alpha = 2^-20 => 1 + 20 / 2 = 11.
        assert_eq!(rct_cutoff(2.0, 20), 11);
        // Exact quotients are not pushed up by rounding noise.
        assert_eq!(rct_cutoff(7.5, 30), 5);
        assert_eq!(rct_cutoff(0.1, 30), 301);
        assert_eq!(rct_cutoff(6.0, 30), 6);
    }

    #[test]
    fn cutoffs_fail_closed_on_nonsense() {
        for h in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert_eq!(rct_cutoff(h, 30), 1);
            assert_eq!(apt_cutoff(h, 30, 512), 1);
        }
        assert!(HealthTester::new(0.0).is_err());
        assert!(HealthTester::new(8.5).is_err());
        assert!(HealthTester::new(f64::NAN).is_err());
        assert!(HealthTester::new(8.0).is_ok());
    }

    #[test]
    fn apt_cutoffs_match_brute_force() {
        for h in [8.0, 7.0, 6.0, 4.0] {
            for alpha in [20, 30, 40, 60] {
                assert_eq!(
                    apt_cutoff(h, alpha, 512),
                    brute_apt(h, alpha, 512),
                    "H = {h}, alpha = 2^-{alpha}"
                );
            }
        }
    }

    #[test]
    fn apt_cutoffs_are_tight() {
        // The defining property, checked with the independent tail.
        for (h, alpha_log2) in [(8.0, 30), (8.0, 60), (7.0, 30), (7.0, 60)] {
            let c = apt_cutoff(h, alpha_log2, 512);
            let p = (-h).exp2();
            let alpha = (-(alpha_log2 as f64)).exp2();
            assert!(brute_tail(512, p, c) <= alpha);
            assert!(brute_tail(512, p, c - 1) > alpha);
        }
    }

    #[test]
    fn apt_cutoffs_match_sp800_90b_table_2() {
        // SP 800-90B Table 2, W = 512, alpha = 2^-20.
        assert_eq!(apt_cutoff(1.0, 20, 512), 311);
        assert_eq!(apt_cutoff(2.0, 20, 512), 177);
        assert_eq!(apt_cutoff(4.0, 20, 512), 62);
        assert_eq!(apt_cutoff(8.0, 20, 512), 13);
    }

    #[test]
    fn apt_cutoff_edge_cases() {
        // Claimed entropy so low that even P(X = W) > alpha: never fires.
        assert_eq!(apt_cutoff(0.01, 30, 512), 513);
        // An empty window never reaches 1.
        assert_eq!(apt_cutoff(8.0, 30, 0), 1);
        // alpha = 1: every count (even 0) is "significant".
        assert_eq!(apt_cutoff(8.0, 0, 512), 0);
    }

    #[test]
    fn cutoffs_are_monotonic() {
        let hs = [0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 7.5, 8.0];
        for w in hs.windows(2) {
            let (lo, hi) = (w[0], w[1]);
            for a in [20, 30, 40, 60] {
                // More claimed entropy => a smaller deviation is significant.
                assert!(rct_cutoff(hi, a) <= rct_cutoff(lo, a));
                assert!(apt_cutoff(hi, a, 512) <= apt_cutoff(lo, a, 512));
            }
        }
        for h in hs {
            for a in [10, 20, 30, 40, 50, 60] {
                // Smaller alpha => a larger cutoff.
                assert!(rct_cutoff(h, a) <= rct_cutoff(h, a + 10));
                assert!(apt_cutoff(h, a, 512) <= apt_cutoff(h, a + 10, 512));
            }
            let c = Cutoffs::for_entropy(h);
            assert!(c.rct_intermittent < c.rct_permanent);
            assert!(c.apt_intermittent < c.apt_permanent);
        }
    }

    #[test]
    fn print_cutoffs() {
        for h in [7.0, 8.0] {
            println!("H = {h}: {:?}", Cutoffs::for_entropy(h));
        }
        assert_eq!(
            Cutoffs::for_entropy(8.0),
            Cutoffs {
                rct_intermittent: 5,
                rct_permanent: 9,
                apt_intermittent: brute_apt(8.0, 30, 512),
                apt_permanent: brute_apt(8.0, 60, 512),
            }
        );
    }

    fn tester() -> HealthTester {
        HealthTester::new(7.0).unwrap()
    }

    #[test]
    fn random_data_passes() {
        let mut data = vec![0u8; 1 << 20];
        rand::rngs::StdRng::seed_from_u64(1).fill_bytes(&mut data);
        let mut t = tester();
        for block in data.chunks(512) {
            assert_eq!(t.check_block(block), Verdict::Pass);
        }
    }

    #[test]
    fn run_at_intermittent_cutoff_is_intermittent() {
        let c = Cutoffs::for_entropy(7.0);
        for at in [
            0usize,
            1,
            63,
            64,
            100,
            500,
            512 - c.rct_intermittent as usize,
        ] {
            let mut block = no_runs(512, 2);
            let v = block[at].wrapping_add(1);
            // A run of exactly the cutoff, different from its neighbours.
            let end = at + c.rct_intermittent as usize;
            block[at..end].fill(v);
            if end < 512 && block[end] == v {
                block[end] = v.wrapping_add(1);
            }
            if at > 0 && block[at - 1] == v {
                block[at - 1] = v.wrapping_sub(1);
            }
            let mut t = tester();
            assert_eq!(
                t.check_block(&block),
                Verdict::Intermittent {
                    test: HealthTest::Rct
                },
                "run at {at}"
            );
            // One shorter passes.
            block[end - 1] = v.wrapping_add(100);
            if end < 512 && block[end] == block[end - 1] {
                block[end] = v;
            }
            let mut t = tester();
            assert_eq!(t.check_block(&block), Verdict::Pass, "run at {at}");
        }
    }

    #[test]
    fn run_at_permanent_cutoff_is_permanent() {
        let c = Cutoffs::for_entropy(7.0);
        let mut block = no_runs(512, 3);
        let v = block[200].wrapping_add(1);
        block[200..200 + c.rct_permanent as usize].fill(v);
        let next = 200 + c.rct_permanent as usize;
        if block[next] == v {
            block[next] = v.wrapping_add(1);
        }
        let mut t = tester();
        assert_eq!(
            t.check_block(&block),
            Verdict::Permanent {
                test: HealthTest::Rct
            }
        );
        assert!(!t.escalated());
    }

    #[test]
    fn runs_continue_across_blocks() {
        // A permanent-length run split over two blocks (and over a short
        // odd-sized block in between) is still caught.
        let c = Cutoffs::for_entropy(7.0);
        let half = (c.rct_permanent / 2) as usize;
        let mut a = no_runs(512, 4);
        let v = a[0].wrapping_add(1);
        a[512 - half..].fill(v);
        if a[511 - half] == v {
            a[511 - half] = v.wrapping_add(1);
        }
        let mut b = no_runs(512, 5);
        let rest = c.rct_permanent as usize - half;
        b[..rest].fill(v);
        if b[rest] == v {
            b[rest] = v.wrapping_add(1);
        }
        let mut t = tester();
        assert_eq!(t.check_block(&a), Verdict::Pass);
        assert_eq!(
            t.check_block(&b[..1]),
            Verdict::Intermittent {
                test: HealthTest::Rct
            }
        );
        assert_eq!(
            t.check_block(&b[1..]),
            Verdict::Permanent {
                test: HealthTest::Rct
            }
        );
    }

    #[test]
    fn biased_window_trips_apt_not_rct() {
        let c = Cutoffs::for_entropy(7.0);
        let mut block = no_runs(512, 6);
        let a = block[0];
        // Put exactly `apt_intermittent` copies of A in the window (A itself
        // included), never two in a row.
        let mut count = block.iter().filter(|&&b| b == a).count() as u32;
        let mut i = 2;
        while count < c.apt_intermittent {
            if block[i] != a && block[i - 1] != a && block[i + 1] != a {
                block[i] = a;
                count += 1;
            }
            i += 1;
        }
        let mut t = tester();
        assert_eq!(
            t.check_block(&block),
            Verdict::Intermittent {
                test: HealthTest::Apt
            }
        );
        // Up to the permanent cutoff.
        while count < c.apt_permanent {
            if block[i] != a && block[i - 1] != a && block[i + 1] != a {
                block[i] = a;
                count += 1;
            }
            i += 1;
        }
        let mut t = tester();
        assert_eq!(
            t.check_block(&block),
            Verdict::Permanent {
                test: HealthTest::Apt
            }
        );
    }

    #[test]
    fn apt_window_spans_blocks() {
        // Same biased window, delivered in uneven pieces.
        let c = Cutoffs::for_entropy(7.0);
        let mut block = no_runs(512, 7);
        let a = block[0];
        let mut count = block.iter().filter(|&&b| b == a).count() as u32;
        let mut i = 2;
        while count < c.apt_permanent {
            if block[i] != a && block[i - 1] != a && block[i + 1] != a {
                block[i] = a;
                count += 1;
            }
            i += 1;
        }
        let mut t = tester();
        let mut verdicts = Vec::new();
        for piece in block.chunks(100) {
            verdicts.push(t.check_block(piece));
        }
        assert!(verdicts.contains(&Verdict::Permanent {
            test: HealthTest::Apt
        }));
    }

    #[test]
    fn three_consecutive_intermittent_escalate() {
        let c = Cutoffs::for_entropy(7.0);
        let bad = |seed: u64| {
            let mut block = no_runs(512, seed);
            let v = block[300].wrapping_add(1);
            let end = 300 + c.rct_intermittent as usize;
            block[300..end].fill(v);
            if block[end] == v {
                block[end] = v.wrapping_add(1);
            }
            block
        };
        let good = no_runs(512, 99);
        let intermittent = Verdict::Intermittent {
            test: HealthTest::Rct,
        };
        let mut t = tester();
        assert_eq!(t.check_block(&bad(10)), intermittent);
        assert_eq!(t.check_block(&bad(11)), intermittent);
        // A good block in between resets the streak.
        assert_eq!(t.check_block(&good), Verdict::Pass);
        assert_eq!(t.check_block(&bad(12)), intermittent);
        assert_eq!(t.check_block(&bad(13)), intermittent);
        assert_eq!(
            t.check_block(&bad(14)),
            Verdict::Permanent {
                test: HealthTest::Rct
            }
        );
        assert!(t.escalated());
    }

    #[test]
    fn stuck_data_is_rct_permanent() {
        let mut t = tester();
        assert_eq!(
            t.check_block(&[0x41; 512]),
            Verdict::Permanent {
                test: HealthTest::Rct
            }
        );
    }

    #[test]
    fn reset_forgets_state() {
        let mut t = tester();
        assert_ne!(t.check_block(&[0x41; 512]), Verdict::Pass);
        t.reset();
        assert_eq!(t.check_block(&no_runs(512, 8)), Verdict::Pass);
    }

    #[test]
    fn debug_holds_no_samples() {
        let mut t = tester();
        t.check_block(&[0xAB; 3]);
        let s = format!("{t:?}");
        assert!(!s.contains("171") && !s.to_lowercase().contains("ab,"));
    }

    /// Prints the speed of health testing and conditioning over 256 MiB of
    /// random data. Run with
    /// `cargo test --release -p engine entropy -- --ignored --nocapture`.
    ///
    /// Conditioning dominates: each 32 output bytes hash a 68-byte message
    /// (counter and 64 raw bytes), i.e. two SHA-256 compressions per 64 raw
    /// bytes, so its ceiling is half the bulk SHA-256 speed of the machine.
    #[test]
    #[ignore]
    fn throughput_report() {
        use std::time::Instant;
        const TOTAL: usize = 256 << 20;
        const SEED_RAW: usize = 8192; // 2 * 4096: the largest seed
        let mut data = vec![0u8; TOTAL];
        rand::rngs::StdRng::seed_from_u64(42).fill_bytes(&mut data);
        let mb = TOTAL as f64 / 1e6;

        let mut t = tester();
        let start = Instant::now();
        let mut failures = 0u32;
        for block in data.chunks(512) {
            if t.check_block(block) != Verdict::Pass {
                failures += 1;
            }
        }
        let health = start.elapsed().as_secs_f64();
        assert_eq!(failures, 0);

        let start = Instant::now();
        let mut sink = 0u8;
        for raw in data.chunks(SEED_RAW) {
            let out = crate::entropy::condition(raw, raw.len() / 2).unwrap();
            sink ^= out[0];
        }
        let cond = start.elapsed().as_secs_f64();

        let mut t = tester();
        let start = Instant::now();
        for raw in data.chunks(SEED_RAW) {
            for block in raw.chunks(512) {
                if t.check_block(block) != Verdict::Pass {
                    failures += 1;
                }
            }
            let out = crate::entropy::condition(raw, raw.len() / 2).unwrap();
            sink ^= out[0];
        }
        let both = start.elapsed().as_secs_f64();
        assert_eq!(failures, 0);
        println!("(sink {sink})");
        println!("health tests:              {:8.0} MB/s", mb / health);
        println!(
            "conditioning (2:1):        {:8.0} MB/s of raw input",
            mb / cond
        );
        println!(
            "health + conditioning:     {:8.0} MB/s of raw input",
            mb / both
        );
    }
}
