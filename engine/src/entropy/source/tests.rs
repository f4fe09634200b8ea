//! Tests of [`EntropySource`] over files standing in for devices.

use super::*;
use crate::clock::ManualClock;
use crate::entropy::health::no_runs_for_tests as no_runs;
use rand::{Rng, SeedableRng};
use std::path::PathBuf;

fn clock() -> Arc<dyn Clock> {
    Arc::new(ManualClock::new(
        time::macros::datetime!(2030-01-02 03:04:05 UTC),
    ))
}

fn random(len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    rand::rngs::OsRng.fill_bytes(&mut v);
    v
}

struct Dev {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Dev {
    fn new(content: &[u8]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("qrandom0");
        std::fs::write(&path, content).unwrap();
        Dev { _dir: dir, path }
    }

    fn source(&self, cfg: HealthConfig) -> EntropySource {
        EntropySource::new(EntropySourceKind::Device(self.path.clone()), cfg, clock())
    }
}

fn conditioned() -> HealthConfig {
    HealthConfig::default()
}

fn full() -> HealthConfig {
    HealthConfig {
        full_entropy: true,
        ..HealthConfig::default()
    }
}

fn failed_msg(r: Result<impl Sized>) -> String {
    match r {
        Err(Error::EntropyFailed(m)) => m,
        Err(e) => panic!("expected EntropyFailed, got {e}"),
        Ok(_) => panic!("expected EntropyFailed, got Ok"),
    }
}

#[test]
fn is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<EntropySource>();
}

/// A healthy device passes start-up and delivers distinct 32-byte seeds.
#[test]
fn healthy_device_delivers() {
    let dev = Dev::new(&random(2 << 20));
    let src = dev.source(conditioned());
    assert_eq!(src.state(), EntropyState::Starting);
    src.startup_test().unwrap();
    assert_eq!(src.state(), EntropyState::Ok);
    let a = src.seed(32).unwrap();
    let b = src.seed(32).unwrap();
    assert_eq!((a.len(), b.len()), (32, 32));
    assert_ne!(*a, *b);
    let mut seen = std::collections::HashSet::new();
    for _ in 0..1000 {
        assert!(seen.insert(src.seed(32).unwrap().to_vec()));
    }
    let big = src.seed(MAX_SEED_LEN).unwrap();
    assert_eq!(big.len(), MAX_SEED_LEN);
    let st = src.status();
    assert_eq!(st.state, EntropyState::Ok);
    assert_eq!(st.source, format!("device:{}", dev.path.display()));
    assert_eq!(st.rct_cutoff, 6);
    assert_eq!(st.blocks_discarded, 0);
    assert_eq!(st.permanent_failures, 0);
    assert!(st.last_failure.is_none());
    // 8 start-up blocks, then 2 * (2 * 32 + 1000 * 32 + 4096) raw bytes in
    // whole blocks.
    let raw: usize = 2 * (2 * 32 + 1000 * 32 + 4096);
    let blocks = 8 + raw.div_ceil(BLOCK_SIZE) as u64;
    assert_eq!(st.blocks_tested, blocks);
    assert_eq!(st.bytes_read, blocks * BLOCK_SIZE as u64);
    let events = src.drain_events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, EntropyEventKind::StartupPassed);
    assert!(src.drain_events().is_empty());
}

/// A stuck source (one repeated byte) fails start-up on the repetition
/// count test, and then delivers nothing without even reading.
#[test]
fn stuck_device_fails_startup_on_rct() {
    let dev = Dev::new(&[0x41; 64 << 10]);
    let src = dev.source(conditioned());
    let msg = failed_msg(src.startup_test());
    assert!(msg.contains("repetition count"), "{msg}");
    assert!(msg.contains("start-up test failed in block 1"), "{msg}");
    let st = src.status();
    assert_eq!(st.state, EntropyState::Failed);
    let f = st.last_failure.clone().unwrap();
    assert_eq!(f.test, "repetition count");
    assert_eq!(f.kind, "startup");
    assert_eq!(f.at, time::macros::datetime!(2030-01-02 03:04:05 UTC));
    assert_eq!(st.permanent_failures, 1);
    assert_eq!((st.bytes_read, st.blocks_tested), (512, 1));

    let msg = failed_msg(src.seed(32));
    assert!(msg.contains("has failed"), "{msg}");
    // Nothing was read: the counters did not move.
    assert_eq!(src.status(), st);
    let events = src.drain_events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, EntropyEventKind::StartupFailed);
    assert_eq!(events[0].test, Some(HealthTest::Rct));
}

/// A biased source with no runs (one value on ~1/8 of the samples, never
/// twice in a row) fails start-up on the adaptive proportion test only.
#[test]
fn biased_device_fails_startup_on_apt() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut data = Vec::with_capacity(64 << 10);
    // The first window starts with the favoured value, so the first
    // window already shows the bias.
    data.push(0x41u8);
    while data.len() < 64 << 10 {
        let prev = data[data.len() - 1];
        let b = if prev != 0x41 && rng.gen_ratio(1, 8) {
            0x41
        } else {
            rng.gen()
        };
        if b != prev {
            data.push(b);
        }
    }
    let dev = Dev::new(&data);
    let src = dev.source(conditioned());
    let msg = failed_msg(src.startup_test());
    assert!(msg.contains("adaptive proportion"), "{msg}");
    assert!(!msg.contains("repetition count"), "{msg}");
    let f = src.status().last_failure.unwrap();
    assert_eq!(f.test, "adaptive proportion");
    assert_eq!(src.state(), EntropyState::Failed);
}

/// A device that goes bad after a good start fails permanently, its pool
/// is zeroized, and a start-up test once it is good again recovers it.
#[test]
fn device_going_bad_fails_then_recovers() {
    let mut data = random(64 << 10);
    data.extend_from_slice(&[0x41; 64 << 10]);
    let dev = Dev::new(&data);
    let src = dev.source(conditioned());
    src.startup_test().unwrap();
    let mut delivered = 0;
    let err = loop {
        match src.seed(32) {
            Ok(_) => delivered += 1,
            Err(e) => break e,
        }
        assert!(delivered < 10_000, "never failed");
    };
    // (64 KiB - 4 KiB start-up) / 64 raw bytes per seed.
    assert_eq!(delivered, 960);
    assert_eq!(err.code(), "entropy_failed");
    assert!(err.to_string().contains("repetition count"), "{err}");
    let st = src.status();
    assert_eq!(st.state, EntropyState::Failed);
    let f = st.last_failure.unwrap();
    assert_eq!(
        (f.kind.as_str(), f.test.as_str()),
        ("permanent", "repetition count")
    );
    assert_eq!(src.pool_len(), 0);
    assert!(src.lock_io().pool.iter().all(|&b| b == 0));
    let kinds: Vec<_> = src.drain_events().into_iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [EntropyEventKind::StartupPassed, EntropyEventKind::Permanent]
    );
    assert!(src.seed(32).is_err());

    // Recovery: the device is good again; the start-up test reopens it.
    std::fs::write(&dev.path, random(1 << 20)).unwrap();
    src.startup_test().unwrap();
    assert_eq!(src.state(), EntropyState::Ok);
    assert_eq!(src.seed(32).unwrap().len(), 32);
    assert_eq!(src.status().permanent_failures, 1);
}

/// A run of exactly the intermittent RCT cutoff (below the permanent one)
/// gets its block discarded and counted; the source stays up, and the
/// discarded bytes never reach a seed.
#[test]
fn intermittent_failure_discards_block() {
    let cut = Cutoffs::for_entropy(7.0);
    let mut data = no_runs(64 << 10, 11);
    // Block 11 (the 4th after start-up), 100 bytes in.
    let at = 11 * BLOCK_SIZE + 100;
    let end = at + cut.rct_intermittent as usize;
    let v = data[at].wrapping_add(1);
    data[at..end].fill(v);
    if data[end] == v {
        data[end] = v.wrapping_add(1);
    }
    if data[at - 1] == v {
        data[at - 1] = v.wrapping_sub(1);
    }
    assert!(cut.rct_intermittent < cut.rct_permanent);
    let dev = Dev::new(&data);
    // Full-entropy, so that seeds are the raw bytes and we can see which.
    let src = dev.source(full());
    src.startup_test().unwrap();
    let mut got = Vec::new();
    for _ in 0..3 {
        got.extend_from_slice(&src.seed(MAX_SEED_LEN).unwrap());
    }
    let mut expected = data[8 * BLOCK_SIZE..11 * BLOCK_SIZE].to_vec();
    expected.extend_from_slice(&data[12 * BLOCK_SIZE..]);
    expected.truncate(got.len());
    assert!(
        got == expected,
        "seeds are not the tested bytes minus the discarded block"
    );

    let st = src.status();
    assert_eq!(st.state, EntropyState::Ok);
    assert_eq!(st.blocks_discarded, 1);
    assert_eq!(st.permanent_failures, 0);
    let f = st.last_failure.unwrap();
    assert_eq!(
        (f.kind.as_str(), f.test.as_str()),
        ("intermittent", "repetition count")
    );
    assert!(f.detail.contains("block discarded"), "{}", f.detail);
    let events = src.drain_events();
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].kind, EntropyEventKind::Intermittent);
    assert_eq!(events[1].test, Some(HealthTest::Rct));
}

/// End of file is a permanent failure with a clear message, at start-up or
/// in operation; a missing device fails start-up.
#[test]
fn end_of_file_fails() {
    // Exactly the start-up samples and a little more: start-up passes, the
    // first seed hits the end.
    let dev = Dev::new(&random(STARTUP_SAMPLES + 100));
    let src = dev.source(conditioned());
    src.startup_test().unwrap();
    let msg = failed_msg(src.seed(32));
    assert!(msg.contains("device returned end of file"), "{msg}");
    assert!(msg.contains("reading "), "{msg}");
    let st = src.status();
    assert_eq!(st.state, EntropyState::Failed);
    assert_eq!(st.last_failure.unwrap().kind, "io");
    assert_eq!(st.bytes_read, STARTUP_SAMPLES as u64 + 100);

    let dev = Dev::new(&random(1000));
    let src = dev.source(conditioned());
    let msg = failed_msg(src.startup_test());
    assert!(msg.contains("device returned end of file"), "{msg}");
    let f = src.status().last_failure.unwrap();
    assert_eq!((f.kind.as_str(), f.test.as_str()), ("startup", "none"));

    let src = EntropySource::new(
        EntropySourceKind::Device(dev.path.with_file_name("absent")),
        conditioned(),
        clock(),
    );
    let msg = failed_msg(src.startup_test());
    assert!(msg.starts_with("opening "), "{msg}");
    assert_eq!(src.state(), EntropyState::Failed);
}

/// The kernel CSPRNG source delivers, as full-entropy and untested.
#[test]
fn os_source_delivers() {
    let src = EntropySource::new(EntropySourceKind::Os, HealthConfig::default(), clock());
    assert!(src.seed(32).is_err());
    src.startup_test().unwrap();
    let a = src.seed(32).unwrap();
    let b = src.seed(32).unwrap();
    assert_eq!(a.len(), 32);
    assert_ne!(*a, *b);
    assert_eq!(src.seed(MAX_SEED_LEN).unwrap().len(), MAX_SEED_LEN);
    let st = src.status();
    assert_eq!(st.source, "os");
    assert_eq!(st.state, EntropyState::Ok);
    assert!(st.full_entropy);
    assert_eq!((st.rct_cutoff, st.apt_cutoff, st.blocks_tested), (0, 0, 0));
    assert_eq!(st.bytes_read, (OS_PROBE_LEN + 64 + MAX_SEED_LEN) as u64);
    assert!(src.cutoffs().is_none());
}

/// Nothing is delivered, nor read, before a start-up test.
#[test]
fn seed_before_startup_fails() {
    let dev = Dev::new(&random(64 << 10));
    let src = dev.source(conditioned());
    let msg = failed_msg(src.seed(32));
    assert!(msg.contains("start-up test has not passed"), "{msg}");
    let st = src.status();
    assert_eq!((st.bytes_read, st.blocks_tested), (0, 0));
    assert_eq!(st.state, EntropyState::Starting);
    assert!(src.drain_events().is_empty());
}

/// Seed lengths outside 1..=4096 are refused without consuming anything.
#[test]
fn seed_length_is_checked() {
    let dev = Dev::new(&random(64 << 10));
    let src = dev.source(conditioned());
    src.startup_test().unwrap();
    for len in [0, MAX_SEED_LEN + 1] {
        assert_eq!(src.seed(len).unwrap_err().code(), "invalid_input");
    }
    assert_eq!(src.status().bytes_read, STARTUP_SAMPLES as u64);
    assert_eq!(src.state(), EntropyState::Ok);
}

/// Full-entropy seeds are the tested raw bytes; otherwise a seed is
/// conditioned from twice its length.
#[test]
fn full_entropy_and_conditioned_lengths() {
    let data = random(64 << 10);
    let dev = Dev::new(&data);
    let raw = &data[STARTUP_SAMPLES..];

    let src = dev.source(full());
    src.startup_test().unwrap();
    assert_eq!(*src.seed(32).unwrap(), raw[..32]);
    assert_eq!(src.pool_len(), BLOCK_SIZE - 32);
    assert_eq!(*src.seed(100).unwrap(), raw[32..132]);
    assert!(src.status().full_entropy);

    let src = dev.source(conditioned());
    src.startup_test().unwrap();
    assert_eq!(
        *src.seed(32).unwrap(),
        *crate::entropy::condition(&raw[..64], 32).unwrap()
    );
    assert_eq!(src.pool_len(), BLOCK_SIZE - 64);
    assert_eq!(
        *src.seed(33).unwrap(),
        *crate::entropy::condition(&raw[64..130], 33).unwrap()
    );
    assert!(!src.status().full_entropy);
}

/// Neither Debug nor status nor events show pool bytes.
#[test]
fn debug_shows_no_pool_bytes() {
    let data = random(64 << 10);
    let dev = Dev::new(&data);
    let src = dev.source(full());
    src.startup_test().unwrap();
    src.seed(32).unwrap();
    let pool = &data[STARTUP_SAMPLES + 32..STARTUP_SAMPLES + BLOCK_SIZE];
    assert_eq!(src.pool_len(), pool.len());
    let debug = format!("{src:?} {:?} {:?}", src.status(), src.drain_events());
    assert!(debug.contains("pool_len: Some(480)"), "{debug}");
    for w in pool.windows(3) {
        let dec = format!("{}, {}, {}", w[0], w[1], w[2]);
        let hex = format!("{:02x}{:02x}{:02x}", w[0], w[1], w[2]);
        assert!(!debug.contains(&dec), "{debug}");
        assert!(!debug.contains(&hex), "{debug}");
    }
    assert!(debug.len() < 2000, "{debug}");
}

/// An unusable claimed entropy fails every start-up test (fail closed).
#[test]
fn invalid_config_fails_closed() {
    let dev = Dev::new(&random(64 << 10));
    for h in [0.0, 8.5, f64::NAN] {
        let src = dev.source(HealthConfig {
            min_entropy_per_byte: h,
            full_entropy: false,
            ..HealthConfig::default()
        });
        let msg = failed_msg(src.startup_test());
        assert!(msg.contains("min_entropy_per_byte"), "{msg}");
        assert_eq!(src.state(), EntropyState::Failed);
        assert!(src.seed(32).is_err());
        assert_eq!(src.status().bytes_read, 0);
    }
}

/// Status and events serialise as the API expects (camelCase fields).
#[test]
fn status_and_events_serialise() {
    let dev = Dev::new(&[0u8; 4096]);
    let src = dev.source(conditioned());
    src.startup_test().unwrap_err();
    let json = serde_json::to_value(src.status()).unwrap();
    assert_eq!(json["state"], "failed");
    assert_eq!(json["rctCutoff"], 6);
    assert_eq!(json["lastFailure"]["at"], "2030-01-02T03:04:05Z");
    assert_eq!(json["lastFailure"]["kind"], "startup");
    assert_eq!(json["lastFailure"]["test"], "repetition count");
    let back: EntropyStatus = serde_json::from_value(json).unwrap();
    assert_eq!(back, src.status());
    let events = serde_json::to_value(src.drain_events()).unwrap();
    assert_eq!(events[0]["kind"], "startup_failed");
    assert_eq!(events[0]["test"], "repetition count");
}

/// Many threads taking seeds at once get distinct seeds, and status never
/// waits for them.
#[test]
fn concurrent_seeds() {
    let dev = Dev::new(&random(1 << 20));
    let src = Arc::new(dev.source(conditioned()));
    src.startup_test().unwrap();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let src = Arc::clone(&src);
            std::thread::spawn(move || {
                (0..200)
                    .map(|_| src.seed(32).unwrap().to_vec())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut all = std::collections::HashSet::new();
    for h in handles {
        for s in h.join().unwrap() {
            assert!(all.insert(s));
        }
    }
    assert_eq!(all.len(), 800);
    assert_eq!(src.status().state, EntropyState::Ok);
}

/// Events do not pile up without bound when nobody drains them.
#[test]
fn events_are_bounded() {
    let src = EntropySource::new(EntropySourceKind::Os, HealthConfig::default(), clock());
    for _ in 0..MAX_EVENTS + 10 {
        src.startup_test().unwrap();
    }
    assert_eq!(src.drain_events().len(), MAX_EVENTS);
}

/// Random numbers: `os` from the CTR_DRBG the kernel seeds, any length,
/// nothing before the start-up test; a device's are its own conditioned
/// seeds, and it fails closed the same way.
#[test]
fn random_answers_fail_closed_and_come_from_the_source() {
    let os = EntropySource::new(EntropySourceKind::Os, HealthConfig::default(), clock());
    let mut out = vec![0u8; 1 << 20];
    assert!(
        os.random(&mut out).is_err(),
        "nothing before the start-up test"
    );
    assert!(out.iter().all(|b| *b == 0));
    os.startup_test().unwrap();
    os.random(&mut out).unwrap();
    let zeros = out.iter().filter(|b| **b == 0).count();
    assert!((3000..5300).contains(&zeros), "{zeros} zero bytes in 1 MiB");
    let before = os.status().bytes_read;
    let mut small = [0u8; 7];
    os.random(&mut small).unwrap();
    assert_eq!(os.status().bytes_read, before + 7);

    let dev = Dev::new(&random(64 * 1024));
    let src = dev.source(conditioned());
    assert!(src.random(&mut [0u8; 32]).is_err());
    src.startup_test().unwrap();
    let read = src.status().bytes_read;
    let mut out = vec![0u8; MAX_SEED_LEN + 100];
    src.random(&mut out).unwrap();
    // Conditioned 2:1 from fresh device bytes, read in whole blocks.
    assert!(src.status().bytes_read - read >= 2 * out.len() as u64);
}
