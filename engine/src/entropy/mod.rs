//! Entropy: sources, SP 800-90B continuous health tests, conditioning.
//!
//! * [`health`]: the Repetition Count and Adaptive Proportion tests
//!   ([`HealthTester`], [`rct_cutoff`], [`apt_cutoff`]).
//! * [`condition`](mod@condition): SHA-256 conditioning of tested raw bytes
//!   ([`condition()`]).
//! * [`source`]: [`EntropySource`], the checked source of seeds.
//!   It fails closed: a source that has not passed its start-up test, or
//!   whose health tests failed permanently, delivers nothing.
//! * [`Entropy`]: the capability the engine holds: the source, its events
//!   recorded, its metrics.

pub mod condition;
pub mod health;
pub mod numbers;
pub mod remote;
mod repo;
mod service;
pub mod source;

pub use condition::{condition, mix};
pub use health::{
    apt_cutoff, rct_cutoff, Cutoffs, HealthTest, HealthTester, Verdict, APT_WINDOW,
    DEFAULT_MIN_ENTROPY_PER_BYTE,
};
pub use service::{Entropy, Seed};
pub use source::{
    EntropyEvent, EntropyEventKind, EntropySource, EntropyState, EntropyStatus, FailureInfo,
    HealthConfig, BLOCK_SIZE, MAX_SEED_LEN, STARTUP_SAMPLES,
};
