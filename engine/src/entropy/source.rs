//! [`EntropySource`]: the health-tested entropy service the engine calls.
//!
//! Life cycle: a new source is `starting` and delivers nothing. The
//! start-up test ([`EntropySource::startup_test`]) puts it in `ok` or
//! `failed`. An `ok` source delivers seeds ([`EntropySource::seed`]) until
//! a permanent failure (a permanent health-test cutoff, three consecutive
//! intermittent failures, a read error or end of file) puts it in `failed`,
//! where it delivers nothing — without even reading — until a new start-up
//! test passes (an admin action or a restart).
//!
//! Device sources: every byte read passes the continuous health tests, in
//! blocks of [`BLOCK_SIZE`]; a block with an intermittent failure is
//! discarded and counted; only passing blocks enter the pool seeds are taken
//! from. Seeds are conditioned with SHA-256 from twice their length of raw
//! bytes, unless the source is declared full-entropy, in which case they are
//! the tested raw bytes themselves.
//!
//! The `os` source is the kernel CSPRNG (getrandom). Its output is already
//! the conditioned output of the kernel's DRBG, on which the 90B health tests
//! can detect nothing, so it is treated as full-entropy and not health
//! tested: its start-up test reads 32 bytes once (and discards them) only to
//! check that the kernel answers; a failing getrandom call fails the source.
//!
//! No sample byte ever appears in a message, an event, a log line or a
//! `Debug` output.
//!
//! Locking: `io` (device, tester, pool) is held across blocking reads;
//! `shared` (state, counters, events) is only ever held briefly, so
//! [`EntropySource::status`] stays cheap while a seed is being read. The
//! order is always `io` then `shared`.

use std::collections::VecDeque;
use std::fmt;
use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use rand::RngCore;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use zeroize::{Zeroize, Zeroizing};

use super::condition::{condition, RAW_PER_OUTPUT_BYTE};
use super::health::{
    validate_min_entropy, Cutoffs, HealthTest, HealthTester, Verdict, ALPHA_LOG2_INTERMITTENT,
    ALPHA_LOG2_PERMANENT, APT_WINDOW, DEFAULT_MIN_ENTROPY_PER_BYTE, MAX_CONSECUTIVE_INTERMITTENT,
};
use super::remote::Remote;
use crate::clock::Clock;
use crate::config::EntropySourceKind;
use crate::{Error, Result};
pub use types::entropy::{EntropyState, EntropyStatus, FailureInfo};

/// Raw bytes read from a device and tested at a time.
pub const BLOCK_SIZE: usize = 512;
/// Samples the start-up test reads (SP 800-90B 4.3 asks for at least 1024).
pub const STARTUP_SAMPLES: usize = 4096;
/// The longest seed [`EntropySource::seed`] delivers.
pub const MAX_SEED_LEN: usize = 4096;
/// Large enough for the largest request plus one block, so that the pool
/// never reallocates (which would leave an unzeroized copy behind).
/// Raw bytes the pool must hold at most (it is allocated once, so that
/// zeroizing it never leaves a reallocated copy behind).
fn pool_capacity(raw_per_output_byte: usize) -> usize {
    raw_per_output_byte * MAX_SEED_LEN + BLOCK_SIZE
}

/// The most raw bytes conditioned into one delivered byte.
pub const MAX_RAW_PER_OUTPUT_BYTE: usize = 64;
/// Undrained events kept; older ones are dropped (and a warning logged).
const MAX_EVENTS: usize = 1024;
/// Bytes the `os` start-up test reads to check the kernel answers.
const OS_PROBE_LEN: usize = 32;

/// How a source's health is judged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HealthConfig {
    /// Claimed min-entropy per raw byte, in `(0, 8]`; sets the cutoffs.
    pub min_entropy_per_byte: f64,
    /// The source is declared full-entropy: seeds are the tested raw bytes
    /// themselves rather than SHA-256 conditioned from more raw bytes.
    pub full_entropy: bool,
    /// Raw bytes conditioned into each delivered byte: at least
    /// [`RAW_PER_OUTPUT_BYTE`] (2), at most [`MAX_RAW_PER_OUTPUT_BYTE`].
    pub raw_per_output_byte: usize,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            min_entropy_per_byte: DEFAULT_MIN_ENTROPY_PER_BYTE,
            full_entropy: false,
            raw_per_output_byte: RAW_PER_OUTPUT_BYTE,
        }
    }
}

impl HealthConfig {
    /// Checks that `min_entropy_per_byte` is a number in `(0, 8]`.
    pub fn validate(&self) -> Result<()> {
        if !(RAW_PER_OUTPUT_BYTE..=MAX_RAW_PER_OUTPUT_BYTE).contains(&self.raw_per_output_byte) {
            return Err(Error::Config(format!(
                "raw bytes per delivered byte must be {RAW_PER_OUTPUT_BYTE} to {MAX_RAW_PER_OUTPUT_BYTE}, not {}",
                self.raw_per_output_byte
            )));
        }
        validate_min_entropy(self.min_entropy_per_byte)
    }
}

/// What an [`EntropyEvent`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntropyEventKind {
    StartupPassed,
    StartupFailed,
    /// An intermittent health-test failure: one block discarded.
    Intermittent,
    /// A permanent health-test failure: the source went to `failed`.
    Permanent,
    /// A read error or end of file: the source went to `failed`.
    Io,
}

impl EntropyEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntropyEventKind::StartupPassed => "startup_passed",
            EntropyEventKind::StartupFailed => "startup_failed",
            EntropyEventKind::Intermittent => "intermittent",
            EntropyEventKind::Permanent => "permanent",
            EntropyEventKind::Io => "io",
        }
    }

    /// The [`FailureInfo::kind`] of a failure event; `None` for a success.
    fn failure_kind(self) -> Option<&'static str> {
        match self {
            EntropyEventKind::StartupPassed => None,
            EntropyEventKind::StartupFailed => Some("startup"),
            EntropyEventKind::Intermittent => Some("intermittent"),
            EntropyEventKind::Permanent => Some("permanent"),
            EntropyEventKind::Io => Some("io"),
        }
    }
}

impl fmt::Display for EntropyEventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something the engine should record (database and log).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntropyEvent {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub kind: EntropyEventKind,
    /// The health test involved, if any (serialised as its name).
    pub test: Option<HealthTest>,
    /// What happened, for an operator; never holds sample bytes.
    pub detail: String,
}

/// State, counters and events: only ever locked briefly.
struct Shared {
    state: EntropyState,
    bytes_read: u64,
    blocks_tested: u64,
    blocks_discarded: u64,
    permanent_failures: u64,
    last_failure: Option<FailureInfo>,
    events: VecDeque<EntropyEvent>,
}

/// Where raw bytes are read from.
enum Reader {
    File { file: File, path: PathBuf },
    Remote(Arc<Remote>),
}

impl Reader {
    /// Opens a device, or reads from a remote source's fetcher; `None` for
    /// `os`. `Err` is an operator's message.
    fn open(
        kind: &EntropySourceKind,
        remote: Option<&Arc<Remote>>,
    ) -> std::result::Result<Option<Reader>, String> {
        Ok(match (kind, remote) {
            (EntropySourceKind::Device(path), _) => Some(Reader::File {
                file: File::open(path).map_err(|e| format!("opening {}: {e}", path.display()))?,
                path: path.clone(),
            }),
            (_, Some(r)) => Some(Reader::Remote(r.clone())),
            _ => None,
        })
    }

    /// Fills `block`; `filled` tells how many bytes were read even on
    /// failure. End of file and read errors are failures (a noise source
    /// never ends). A remote source's `block` must fit its prefetch buffer
    /// (at least 4096 bytes).
    fn fill(&mut self, block: &mut [u8], filled: &mut usize) -> std::result::Result<(), String> {
        let (file, path) = match self {
            Reader::File { file, path } => (file, path),
            Reader::Remote(r) => {
                r.read_exact(block)?;
                *filled = block.len();
                return Ok(());
            }
        };
        while let Some(rest) = block.get_mut(*filled..).filter(|r| !r.is_empty()) {
            match file.read(rest) {
                Ok(0) => {
                    return Err(format!(
                        "reading {}: device returned end of file",
                        path.display()
                    ))
                }
                Ok(n) => *filled += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("reading {}: {e}", path.display())),
            }
        }
        Ok(())
    }
}

/// The device, the tester and the pool: locked across blocking reads.
struct Io {
    reader: Option<Reader>,
    tester: HealthTester,
    /// Tested raw bytes waiting to become seeds. Never grows past
    /// `pool_capacity` (no reallocation); consumed bytes are zeroized.
    pool: Zeroizing<Vec<u8>>,
    /// The block being read and tested.
    block: Zeroizing<[u8; BLOCK_SIZE]>,
}

impl Io {
    /// Forgets every sample: pool and block zeroized, tester reset, device
    /// closed, a remote source's fetched bytes forgotten.
    fn wipe(&mut self) {
        self.pool.zeroize(); // zeroes the whole capacity and clears
        self.block.zeroize();
        self.tester.reset();
        if let Some(Reader::Remote(r)) = &self.reader {
            r.forget();
        }
        self.reader = None;
    }
}

/// A source of entropy for seeding HSMs, with SP 800-90B health tests.
///
/// `Send + Sync`: share it in an `Arc`. `startup_test` and `seed` block
/// (device reads); call them from a blocking context.
pub struct EntropySource {
    kind: EntropySourceKind,
    /// The fetcher of a remote source.
    remote: Option<Arc<Remote>>,
    /// The effective configuration (`os`: 8 bits per byte, full-entropy).
    cfg: HealthConfig,
    /// Set when the configuration is unusable: every start-up test fails.
    config_error: Option<String>,
    /// `None` when the source is not health tested (`os`).
    cutoffs: Option<Cutoffs>,
    clock: Arc<dyn Clock>,
    io: Mutex<Io>,
    shared: Mutex<Shared>,
}

impl fmt::Debug for EntropySource {
    /// Shows the configuration, state and pool size, never pool bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pool_len = self.io.try_lock().ok().map(|io| io.pool.len());
        f.debug_struct("EntropySource")
            .field("kind", &self.kind)
            .field("config", &self.cfg)
            .field("cutoffs", &self.cutoffs)
            .field("state", &self.state())
            .field("pool_len", &pool_len)
            .finish_non_exhaustive()
    }
}

impl EntropySource {
    /// A new source, in state `starting`: it delivers nothing until
    /// [`startup_test`](Self::startup_test) passes. An invalid `cfg` makes
    /// every start-up test fail (check it first with
    /// [`HealthConfig::validate`]). For `os`, `cfg` is ignored.
    pub fn new(kind: EntropySourceKind, cfg: HealthConfig, clock: Arc<dyn Clock>) -> Self {
        let mut cfg = cfg;
        let remote = match &kind {
            EntropySourceKind::Remote(spec) => {
                if let Some(h) = spec.min_entropy {
                    cfg.min_entropy_per_byte = h;
                }
                Some(Arc::new(Remote::new((**spec).clone(), kind.to_string())))
            }
            _ => None,
        };
        let (cfg, config_error, cutoffs) = match kind {
            EntropySourceKind::Os => (
                HealthConfig {
                    min_entropy_per_byte: 8.0,
                    full_entropy: true,
                    raw_per_output_byte: RAW_PER_OUTPUT_BYTE,
                },
                None,
                None,
            ),
            EntropySourceKind::Device(_) | EntropySourceKind::Remote(_) => match cfg.validate() {
                Ok(()) => (
                    cfg,
                    None,
                    Some(Cutoffs::for_entropy(cfg.min_entropy_per_byte)),
                ),
                Err(e) => (cfg, Some(format!("invalid configuration: {e}")), None),
            },
        };
        // With no cutoffs, a tester whose every cutoff is 0 fails every
        // block: never used (no start-up test passes), but fails closed.
        let tester = HealthTester::from_cutoffs(cutoffs.unwrap_or(Cutoffs {
            rct_intermittent: 0,
            rct_permanent: 0,
            apt_intermittent: 0,
            apt_permanent: 0,
        }));
        EntropySource {
            kind,
            remote,
            cfg,
            config_error,
            cutoffs,
            clock,
            io: Mutex::new(Io {
                reader: None,
                tester,
                pool: Zeroizing::new(Vec::with_capacity(pool_capacity(cfg.raw_per_output_byte))),
                block: Zeroizing::new([0u8; BLOCK_SIZE]),
            }),
            shared: Mutex::new(Shared {
                state: EntropyState::Starting,
                bytes_read: 0,
                blocks_tested: 0,
                blocks_discarded: 0,
                permanent_failures: 0,
                last_failure: None,
                events: VecDeque::new(),
            }),
        }
    }

    pub fn kind(&self) -> &EntropySourceKind {
        &self.kind
    }

    /// The fetcher of a remote source (start it on a runtime with
    /// [`Remote::start`] before the start-up test).
    pub fn remote(&self) -> Option<&Arc<Remote>> {
        self.remote.as_ref()
    }

    /// The effective configuration (`os`: 8 bits per byte, full-entropy).
    pub fn config(&self) -> HealthConfig {
        self.cfg
    }

    /// The health-test cutoffs; `None` for `os` (not health tested) or an
    /// invalid configuration.
    pub fn cutoffs(&self) -> Option<Cutoffs> {
        self.cutoffs
    }

    pub fn state(&self) -> EntropyState {
        self.shared().state
    }

    /// Runs the start-up test (blocking) and sets the state to `ok` or
    /// `failed`. This is also how a failed source is recovered.
    ///
    /// Device: forgets every earlier sample (pool zeroized, tester reset),
    /// (re)opens the device, reads [`STARTUP_SAMPLES`] fresh samples and
    /// runs the health tests over them with fresh state. Any failure, at the
    /// intermittent threshold too, fails the test. The start-up samples are
    /// then discarded; the tester state carries on into operation.
    ///
    /// `os`: checks that getrandom answers (see the module documentation).
    pub fn startup_test(&self) -> Result<()> {
        let mut guard = self.lock_io();
        let io = &mut *guard;
        self.shared().state = EntropyState::Starting;
        io.wipe();
        if let Some(detail) = &self.config_error {
            return Err(self.fail(io, EntropyEventKind::StartupFailed, None, detail.clone()));
        }
        let passed = match &self.kind {
            EntropySourceKind::Os => {
                let mut probe = Zeroizing::new([0u8; OS_PROBE_LEN]);
                if let Err(e) = rand::rngs::OsRng.try_fill_bytes(&mut probe[..]) {
                    let detail = format!("reading the kernel CSPRNG: {e}");
                    return Err(self.fail(io, EntropyEventKind::StartupFailed, None, detail));
                }
                self.shared().bytes_read += OS_PROBE_LEN as u64;
                "start-up check passed: the kernel CSPRNG answers (its output is \
                 already conditioned and is not health tested)"
                    .to_string()
            }
            EntropySourceKind::Device(_) | EntropySourceKind::Remote(_) => {
                match Reader::open(&self.kind, self.remote.as_ref()) {
                    Ok(reader) => io.reader = reader,
                    Err(detail) => {
                        return Err(self.fail(io, EntropyEventKind::StartupFailed, None, detail))
                    }
                }
                let blocks = STARTUP_SAMPLES.div_ceil(BLOCK_SIZE);
                for i in 1..=blocks {
                    let verdict = match self.read_and_test(io) {
                        Ok(v) => v,
                        Err(detail) => {
                            let detail = format!("start-up test: {detail}");
                            return Err(self.fail(
                                io,
                                EntropyEventKind::StartupFailed,
                                None,
                                detail,
                            ));
                        }
                    };
                    io.block.zeroize();
                    if let Verdict::Intermittent { test } | Verdict::Permanent { test } = verdict {
                        let why = self.verdict_detail(verdict, io.tester.escalated());
                        let detail = format!(
                            "start-up test failed in block {i} of {blocks} \
                             ({STARTUP_SAMPLES} samples): {why}"
                        );
                        return Err(self.fail(
                            io,
                            EntropyEventKind::StartupFailed,
                            Some(test),
                            detail,
                        ));
                    }
                }
                format!("start-up test passed: {STARTUP_SAMPLES} samples, no health test failure")
            }
        };
        let mut sh = self.shared();
        sh.state = EntropyState::Ok;
        let event = EntropyEvent {
            at: self.clock.now(),
            kind: EntropyEventKind::StartupPassed,
            test: None,
            detail: passed,
        };
        push_event(&mut sh, event);
        Ok(())
    }

    /// Takes a seed of `len` bytes (blocking), `1 <= len <= MAX_SEED_LEN`.
    ///
    /// Fails with [`Error::EntropyFailed`] — without reading anything — unless
    /// the source is `ok`. Device: takes `2 * len` tested raw bytes from the
    /// pool (`len` when full-entropy), reading and testing blocks as needed,
    /// and conditions them. A permanent failure while reading puts the
    /// source in `failed`, zeroizes the pool and returns the error.
    pub fn seed(&self, len: usize) -> Result<Zeroizing<Vec<u8>>> {
        if !(1..=MAX_SEED_LEN).contains(&len) {
            return Err(Error::Invalid(format!(
                "seed length must be 1 to {MAX_SEED_LEN} bytes, not {len}"
            )));
        }
        self.ensure_ok()?;
        let mut guard = self.lock_io();
        let io = &mut *guard;
        // The state may have changed while we waited for the device.
        self.ensure_ok()?;
        match &self.kind {
            EntropySourceKind::Os => {
                let mut out = Zeroizing::new(vec![0u8; len]);
                if let Err(e) = rand::rngs::OsRng.try_fill_bytes(&mut out) {
                    let detail = format!("reading the kernel CSPRNG: {e}");
                    return Err(self.fail(io, EntropyEventKind::Io, None, detail));
                }
                self.shared().bytes_read += len as u64;
                Ok(out)
            }
            EntropySourceKind::Device(_) | EntropySourceKind::Remote(_) => {
                let need = if self.cfg.full_entropy {
                    len
                } else {
                    self.cfg.raw_per_output_byte * len
                };
                while io.pool.len() < need {
                    self.refill(io)?;
                }
                let raw = io.pool.get(..need).unwrap_or_default();
                let out = if self.cfg.full_entropy {
                    Ok(Zeroizing::new(raw.to_vec()))
                } else {
                    condition(raw, len)
                };
                consume(&mut io.pool, need);
                out
            }
        }
    }

    /// Fills `out` with random bytes for a client's random numbers
    /// (blocking, like [`seed`](Self::seed)); fails closed unless the source
    /// is `ok`. `os`: from AWS-LC's SP 800-90A CTR_DRBG (AES-256), which the
    /// kernel CSPRNG seeds and reseeds: the kernel's output is DRBG output
    /// already, and this one is several times faster on large answers
    /// (`make bench`, streambytes against a static file). Any other source:
    /// seeds of at most [`MAX_SEED_LEN`], so that every byte is its own
    /// tested and conditioned output, never expanded.
    pub fn random(&self, out: &mut [u8]) -> Result<()> {
        if !matches!(self.kind, EntropySourceKind::Os) {
            for piece in out.chunks_mut(MAX_SEED_LEN) {
                piece.copy_from_slice(&self.seed(piece.len())?);
            }
            return Ok(());
        }
        self.ensure_ok()?;
        if aws_lc_rs::rand::fill(out).is_err() {
            let mut guard = self.lock_io();
            let detail = "the CTR_DRBG over the kernel CSPRNG failed".to_string();
            return Err(self.fail(&mut guard, EntropyEventKind::Io, None, detail));
        }
        self.shared().bytes_read += out.len() as u64;
        Ok(())
    }

    /// Fails a source whose remote fetcher stopped answering (forgetting
    /// every sample), so that status and metrics say so at once and
    /// nothing is delivered; a new start-up test brings it back. Does
    /// nothing to a source that is not `ok`.
    pub fn fail_unavailable(&self, detail: String) {
        let mut guard = self.lock_io();
        if self.state() == EntropyState::Ok {
            let _ = self.fail(&mut guard, EntropyEventKind::Io, None, detail);
        }
    }

    /// A snapshot of the state and counters; never waits for a device read.
    pub fn status(&self) -> EntropyStatus {
        let sh = self.shared();
        EntropyStatus {
            source: self.kind.to_string(),
            state: sh.state,
            min_entropy_per_byte: self.cfg.min_entropy_per_byte,
            full_entropy: self.cfg.full_entropy,
            rct_cutoff: self.cutoffs.map_or(0, |c| c.rct_intermittent),
            apt_cutoff: self.cutoffs.map_or(0, |c| c.apt_intermittent),
            bytes_read: sh.bytes_read,
            blocks_tested: sh.blocks_tested,
            blocks_discarded: sh.blocks_discarded,
            permanent_failures: sh.permanent_failures,
            last_failure: sh.last_failure.clone(),
            remote: self.remote.as_ref().map(|r| r.status()),
        }
    }

    /// Every start-up result and failure since the last call, oldest first
    /// (at most the last 1024).
    pub fn drain_events(&self) -> Vec<EntropyEvent> {
        self.shared().events.drain(..).collect()
    }

    /// Reads and tests one block; a passing block goes into the pool, an
    /// intermittent one is discarded and counted, a permanent failure fails
    /// the source.
    fn refill(&self, io: &mut Io) -> Result<()> {
        let verdict = match self.read_and_test(io) {
            Ok(v) => v,
            Err(detail) => return Err(self.fail(io, EntropyEventKind::Io, None, detail)),
        };
        match verdict {
            Verdict::Pass => {
                // pool.len() < need <= ratio * MAX_SEED_LEN here, so this
                // stays within pool_capacity: no reallocation.
                io.pool.extend_from_slice(&io.block[..]);
                io.block.zeroize();
                Ok(())
            }
            Verdict::Intermittent { test } => {
                io.block.zeroize();
                let detail = format!("{}; block discarded", self.verdict_detail(verdict, false));
                let mut sh = self.shared();
                sh.blocks_discarded += 1;
                self.record(&mut sh, EntropyEventKind::Intermittent, Some(test), detail);
                Ok(())
            }
            Verdict::Permanent { test } => {
                let detail = self.verdict_detail(verdict, io.tester.escalated());
                Err(self.fail(io, EntropyEventKind::Permanent, Some(test), detail))
            }
        }
    }

    /// Reads one full block into `io.block` and runs the health tests on it,
    /// counting bytes and blocks. `Err` is an I/O failure message.
    fn read_and_test(&self, io: &mut Io) -> std::result::Result<Verdict, String> {
        let mut filled = 0usize;
        let read = match io.reader.as_mut() {
            Some(r) => r.fill(&mut io.block[..], &mut filled),
            None => Err(format!("{} is not open", self.kind)),
        };
        let mut sh = self.shared();
        sh.bytes_read += filled as u64;
        read?;
        sh.blocks_tested += 1;
        drop(sh);
        Ok(io.tester.check_block(&io.block[..]))
    }

    /// Puts the source in `failed`, forgets every sample, records the
    /// failure and returns the error to give the caller.
    fn fail(
        &self,
        io: &mut Io,
        kind: EntropyEventKind,
        test: Option<HealthTest>,
        detail: String,
    ) -> Error {
        io.wipe();
        let mut sh = self.shared();
        self.record(&mut sh, kind, test, detail.clone());
        Error::EntropyFailed(detail)
    }

    /// Records a failure: event, last failure, and for anything but an
    /// intermittent failure the move to `failed`.
    fn record(
        &self,
        sh: &mut Shared,
        kind: EntropyEventKind,
        test: Option<HealthTest>,
        detail: String,
    ) {
        let at = self.clock.now();
        if kind != EntropyEventKind::Intermittent {
            sh.state = EntropyState::Failed;
            sh.permanent_failures += 1;
        }
        if let Some(failure_kind) = kind.failure_kind() {
            sh.last_failure = Some(FailureInfo {
                at,
                test: test.map_or("none", HealthTest::name).to_string(),
                kind: failure_kind.to_string(),
                detail: detail.clone(),
            });
        }
        push_event(
            sh,
            EntropyEvent {
                at,
                kind,
                test,
                detail,
            },
        );
    }

    /// An operator-facing explanation of a failing verdict.
    fn verdict_detail(&self, verdict: Verdict, escalated: bool) -> String {
        let c = self.cutoffs.unwrap_or(Cutoffs {
            rct_intermittent: 0,
            rct_permanent: 0,
            apt_intermittent: 0,
            apt_permanent: 0,
        });
        let (test, permanent) = match verdict {
            Verdict::Pass => return "no failure".to_string(),
            Verdict::Intermittent { test } => (test, false),
            Verdict::Permanent { test } => (test, true),
        };
        if permanent && escalated {
            return format!(
                "{test} test failed at the intermittent cutoff in \
                 {MAX_CONSECUTIVE_INTERMITTENT} consecutive blocks"
            );
        }
        let (which, alpha, rct, apt) = if permanent {
            (
                "permanent",
                ALPHA_LOG2_PERMANENT,
                c.rct_permanent,
                c.apt_permanent,
            )
        } else {
            (
                "intermittent",
                ALPHA_LOG2_INTERMITTENT,
                c.rct_intermittent,
                c.apt_intermittent,
            )
        };
        match test {
            HealthTest::Rct => format!(
                "{test} test: a run of equal samples reached the {which} cutoff \
                 of {rct} (alpha 2^-{alpha})"
            ),
            HealthTest::Apt => format!(
                "{test} test: the first value of a {APT_WINDOW}-sample window occurred \
                 {apt} times or more in it, the {which} cutoff (alpha 2^-{alpha})"
            ),
        }
    }

    /// `Ok` when the source may deliver; otherwise the error, without any
    /// read.
    pub(crate) fn ensure_ok(&self) -> Result<()> {
        let sh = self.shared();
        match sh.state {
            EntropyState::Ok => Ok(()),
            EntropyState::Starting => Err(Error::EntropyFailed(format!(
                "{}: the start-up test has not passed",
                self.kind
            ))),
            EntropyState::Failed => {
                let why = sh
                    .last_failure
                    .as_ref()
                    .map(|f| format!(" ({})", f.detail))
                    .unwrap_or_default();
                Err(Error::EntropyFailed(format!(
                    "{} has failed{why}; it delivers nothing until its start-up test passes again",
                    self.kind
                )))
            }
        }
    }

    fn shared(&self) -> MutexGuard<'_, Shared> {
        // Plain counters and events: every update is complete, so a panic
        // elsewhere cannot leave them inconsistent.
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Locks the device. If an earlier holder panicked mid-operation, fails
    /// closed: forgets every sample and puts the source in `failed` (a new
    /// start-up test recovers it).
    fn lock_io(&self) -> MutexGuard<'_, Io> {
        match self.io.lock() {
            Ok(guard) => guard,
            Err(poisoned) => {
                let mut guard = poisoned.into_inner();
                self.io.clear_poison();
                let detail = "an earlier operation on the source was interrupted".to_string();
                let _ = self.fail(&mut guard, EntropyEventKind::Permanent, None, detail);
                guard
            }
        }
    }

    /// Tested bytes waiting in the pool.
    #[cfg(test)]
    fn pool_len(&self) -> usize {
        self.lock_io().pool.len()
    }
}

/// Removes the first `n` bytes of the pool, zeroizing what is vacated.
pub(super) fn consume(pool: &mut Vec<u8>, n: usize) {
    let n = n.min(pool.len());
    pool.copy_within(n.., 0);
    let keep = pool.len() - n;
    if let Some(vacated) = pool.get_mut(keep..) {
        vacated.zeroize();
    }
    pool.truncate(keep);
}

fn push_event(sh: &mut Shared, event: EntropyEvent) {
    if sh.events.len() >= MAX_EVENTS {
        sh.events.pop_front();
        tracing::warn!("entropy events are not being drained; dropping the oldest");
    }
    sh.events.push_back(event);
}

#[cfg(test)]
mod tests;

/// Writes `len` raw bytes of `kind` to `out`, as the source gives them: no
/// health test, no conditioning, for an operator's own assessment (NIST's
/// SP 800-90B `ea_non_iid` wants raw samples). A device is opened apart
/// from the one the engine reads; a remote source is fetched from by a
/// fetcher of its own (call this on a blocking thread of a Tokio runtime);
/// `os` gives the kernel CSPRNG's output, which is conditioned already
/// (there is no raw form of it).
pub fn raw_sample(kind: &EntropySourceKind, len: u64, out: &mut dyn std::io::Write) -> Result<()> {
    // At most the smallest prefetch buffer of a remote source.
    const CHUNK: usize = 4096;
    let mut buf = Zeroizing::new(vec![0u8; CHUNK]);
    let mut left = len;
    let mut reader = match kind {
        EntropySourceKind::Os => None,
        EntropySourceKind::Device(path) => Some(Reader::File {
            file: File::open(path).map_err(|e| Error::io("opening", path, e))?,
            path: path.clone(),
        }),
        EntropySourceKind::Remote(spec) => {
            let remote = Arc::new(Remote::new((**spec).clone(), kind.to_string()));
            remote.start();
            Some(Reader::Remote(remote))
        }
    };
    while left > 0 {
        let n = usize::try_from(left).map_or(CHUNK, |l| l.min(CHUNK));
        let piece = &mut buf[..n];
        match &mut reader {
            Some(r) => r.fill(piece, &mut 0).map_err(Error::EntropyFailed)?,
            None => rand::rngs::OsRng
                .try_fill_bytes(piece)
                .map_err(|e| Error::EntropyFailed(format!("reading the kernel CSPRNG: {e}")))?,
        }
        out.write_all(piece)
            .map_err(|e| Error::io("writing", "standard output", e))?;
        left -= n as u64;
    }
    out.flush()
        .map_err(|e| Error::io("writing", "standard output", e))
}
