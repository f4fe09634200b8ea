//! Tests against a real SoftHSM2 (no mocks), through OpenSC's spy.
//!
//! Token roles (see `testing::SoftHsmFixture`):
//! - token 0: only under `exclusive()`, because its calls are read back from
//!   the spy log;
//! - token 1: PIN tests (wrong/right PIN, SO, CKU_CRYPTO_USER, the race);
//! - token 2: the concurrency test;
//! - token 3: the deadline test (its lock is held on purpose).

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

use secrecy::SecretString;
use zeroize::Zeroizing;

use super::testing::{SoftHsmFixture, TestToken};
use super::*;

fn fixture() -> &'static SoftHsmFixture {
    SoftHsmFixture::shared()
}

fn load() -> Hsm {
    Hsm::load(fixture().module_to_load(), DEFAULT_DEADLINE).expect("load the SoftHSM module")
}

fn seed32(byte: u8) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(vec![byte; 32])
}

fn ckr_of(err: &Error) -> &str {
    match err {
        Error::Hsm { ckr, .. } => ckr,
        other => panic!("not an Hsm error: {other:?}"),
    }
}

fn detail_of(err: &Error) -> &str {
    match err {
        Error::Hsm { detail, .. } => detail,
        other => panic!("not an Hsm error: {other:?}"),
    }
}

fn pinned(token: &TestToken, user_type: UserType, serial: &str) -> SeedTarget {
    SeedTarget {
        pinned_serial: Some(serial.to_owned()),
        ..token.target(user_type)
    }
}

// ---------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------

#[test]
fn user_type_parses_displays_and_serializes_exact_names() {
    for (text, user_type) in [
        ("CKU_SO", UserType::So),
        ("CKU_USER", UserType::User),
        ("CKU_CRYPTO_USER", UserType::CryptoUser),
    ] {
        assert_eq!(text.parse::<UserType>().unwrap(), user_type);
        assert_eq!(user_type.to_string(), text);
        let json = serde_json::to_string(&user_type).unwrap();
        assert_eq!(json, format!("\"{text}\""));
        assert_eq!(serde_json::from_str::<UserType>(&json).unwrap(), user_type);
    }
    for bad in ["cku_user", "CKU_USER ", "USER", "", "CKU_CONTEXT_SPECIFIC"] {
        let err = Error::from(bad.parse::<UserType>().unwrap_err());
        assert!(matches!(err, Error::Invalid(_)), "{err:?}");
        assert_eq!(
            err.to_string(),
            "user type must be CKU_USER, CKU_SO or CKU_CRYPTO_USER"
        );
    }
    assert!(serde_json::from_str::<UserType>("\"cku_so\"").is_err());
}

#[test]
fn crypto_user_is_the_luna_vendor_code() {
    let ck = super::cryptoki_user(UserType::CryptoUser);
    assert!(matches!(
        ck,
        cryptoki::session::UserType::VendorExtension(0x8000_0001)
    ));
}

#[test]
fn seed_target_debug_hides_the_pin() {
    let target = SeedTarget {
        slot: 7,
        pinned_serial: Some("abc".into()),
        user_type: UserType::User,
        pin: SecretString::from("hunter2-secret"),
        guard: None,
    };
    let text = format!("{target:?}");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("slot: 7"), "{text}");
}

// ---------------------------------------------------------------------------
// Loading and the registry
// ---------------------------------------------------------------------------

#[test]
fn a_missing_module_is_module_load() {
    let err = Hsm::load(Path::new("/nonexistent/libpkcs11.so"), DEFAULT_DEADLINE).unwrap_err();
    assert_eq!(ckr_of(&err), "MODULE_LOAD");
    assert!(
        detail_of(&err).starts_with("cannot load PKCS#11 module /nonexistent/libpkcs11.so: "),
        "{err}"
    );
}

#[test]
fn a_file_that_is_not_a_library_is_module_load() {
    let err = Hsm::load(&fixture().conf, DEFAULT_DEADLINE).unwrap_err();
    assert_eq!(ckr_of(&err), "MODULE_LOAD", "{err}");
    assert!(detail_of(&err).contains("softhsm2.conf"), "{err}");

    let err = Hsm::load(fixture().dir.path(), DEFAULT_DEADLINE).unwrap_err();
    assert_eq!(ckr_of(&err), "MODULE_LOAD", "{err}");
}

#[test]
fn a_library_without_pkcs11_is_module_load() {
    let libm = Path::new("/lib/x86_64-linux-gnu/libm.so.6");
    if !libm.exists() {
        return;
    }
    let err = Hsm::load(libm, DEFAULT_DEADLINE).unwrap_err();
    assert_eq!(ckr_of(&err), "MODULE_LOAD", "{err}");
    assert!(detail_of(&err).contains("not a PKCS#11 library"), "{err}");
}

#[tokio::test]
async fn loads_of_one_path_share_one_module() {
    let f = fixture();
    let _access = f.shared_access().await;
    let a = load();
    let b = load();
    assert!(a.shares_module_with(&b));
    // Another spelling of the same file.
    let path = f.module_to_load();
    let dotted = path
        .parent()
        .unwrap()
        .join(".")
        .join(path.file_name().unwrap());
    let c = Hsm::load(&dotted, Duration::from_secs(3)).unwrap();
    assert!(a.shares_module_with(&c));
    assert_eq!(c.deadline(), Duration::from_secs(3));
    assert_eq!(a.module_path(), c.module_path());
}

#[tokio::test]
async fn the_real_module_is_refused_while_the_spy_wraps_it() {
    let f = fixture();
    if f.spy.is_none() {
        return;
    }
    let _access = f.shared_access().await;
    let spy = load();
    // The spy forwards to the same libsofthsm2.so: it is already initialised.
    let err = Hsm::load(&f.module, DEFAULT_DEADLINE).unwrap_err();
    assert_eq!(ckr_of(&err), "CKR_CRYPTOKI_ALREADY_INITIALIZED", "{err}");
    assert!(detail_of(&err).contains("another path"), "{err}");
    // ... and the refused load did not disturb the spy's module.
    let slots = spy.slots().await.unwrap();
    assert!(slots.iter().any(|s| s.serial == f.token(1).serial));
}

// ---------------------------------------------------------------------------
// Slots
// ---------------------------------------------------------------------------

#[tokio::test]
async fn lists_the_fixture_tokens() {
    let f = fixture();
    let _access = f.shared_access().await;
    let hsm = load();
    let slots = hsm.slots().await.unwrap();
    for token in &f.tokens {
        let slot = slots
            .iter()
            .find(|s| s.slot_id == token.slot)
            .unwrap_or_else(|| panic!("{token:?} not in {slots:?}"));
        assert_eq!(slot.label, token.label);
        assert_eq!(slot.serial, token.serial);
        assert_eq!(slot.manufacturer, "SoftHSM project");
        assert_eq!(slot.model, "SoftHSM v2");
        assert!(slot.firmware.contains('.'), "{}", slot.firmware);
        for flag in ["rng", "login required", "token initialized"] {
            assert!(
                slot.flags.iter().any(|f| f == flag),
                "{flag} in {:?}",
                slot.flags
            );
        }
    }
    // SoftHSM always offers one more slot with an uninitialised token.
    assert!(slots
        .iter()
        .any(|s| !s.flags.iter().any(|f| f == "token initialized")));

    let info = hsm.token_info(f.token(2).slot).await.unwrap();
    assert_eq!(info.label, f.token(2).label);
    assert_eq!(info.serial, f.token(2).serial);
    let json = serde_json::to_value(&info).unwrap();
    assert_eq!(json["slot_id"], f.token(2).slot);
}

#[tokio::test]
async fn an_unknown_slot_is_slot_id_invalid() {
    let f = fixture();
    let _access = f.shared_access().await;
    let hsm = load();
    let known: HashSet<u64> = f.tokens.iter().map(|t| t.slot).collect();
    let unknown = (900_000..).find(|s| !known.contains(s)).unwrap();
    let err = hsm.token_info(unknown).await.unwrap_err();
    assert_eq!(ckr_of(&err), "CKR_SLOT_ID_INVALID", "{err}");
    let target = SeedTarget {
        slot: unknown,
        ..f.token(1).target(UserType::User)
    };
    let err = hsm.seed(&target, seed32(1)).await.unwrap_err();
    assert_eq!(ckr_of(&err), "CKR_SLOT_ID_INVALID", "{err}");
    assert_eq!(err.code(), "hsm_error");
}

// ---------------------------------------------------------------------------
// Seeding and login (checked in the spy log)
// ---------------------------------------------------------------------------

#[tokio::test]
async fn seeds_32_bytes_on_the_configured_slot() {
    let f = fixture();
    assert!(f.spy.is_some(), "pkcs11-spy.so is needed for this test");
    let capture = f.exclusive().await;
    let hsm = load();
    let token = f.token(0);
    let seed: Vec<u8> = (0u8..32)
        .map(|i| i.wrapping_mul(7).wrapping_add(3))
        .collect();
    let outcome = hsm
        .seed(&token.target(UserType::User), Zeroizing::new(seed.clone()))
        .await
        .unwrap();
    assert_eq!(outcome.token_serial, token.serial);
    assert_eq!(outcome.token_label, token.label);

    let seeds = capture.calls_of("C_SeedRandom");
    assert_eq!(seeds.len(), 1, "{seeds:?}");
    assert_eq!(seeds[0].slot, Some(token.slot));
    assert_eq!(seeds[0].data_len, Some(32));
    assert_eq!(seeds[0].data, seed);
    assert_eq!(seeds[0].rv.as_deref(), Some("CKR_OK"));
}

#[tokio::test]
async fn one_credential_logs_in_once_for_many_seeds() {
    let f = fixture();
    assert!(f.spy.is_some(), "pkcs11-spy.so is needed for this test");
    let hsm = load();
    let token = f.token(0);
    let mut capture = f.exclusive().await;
    // A known state: logged in as the SO.
    hsm.seed(&token.target(UserType::So), seed32(9))
        .await
        .unwrap();
    capture.restart();

    let user = token.target(UserType::User);
    for i in 0..100u8 {
        let outcome = hsm.seed(&user, seed32(i)).await.unwrap();
        assert_eq!(outcome.logged_in, i == 0, "seed {i}");
    }
    let logins = capture.calls_of("C_Login");
    assert_eq!(logins.len(), 1, "{logins:?}");
    assert_eq!(logins[0].slot, Some(token.slot));
    assert_eq!(logins[0].user_type.as_deref(), Some("CKU_USER"));
    let seeds = capture.calls_of("C_SeedRandom");
    assert_eq!(seeds.len(), 100);
    assert!(seeds
        .iter()
        .all(|s| s.slot == Some(token.slot) && s.data_len == Some(32)));
    assert_eq!(
        capture.calls_of("C_OpenSession").len(),
        0,
        "the session is reused"
    );
}

#[tokio::test]
async fn a_pinned_serial_mismatch_seeds_nothing() {
    let f = fixture();
    assert!(f.spy.is_some(), "pkcs11-spy.so is needed for this test");
    let capture = f.exclusive().await;
    let hsm = load();
    let token = f.token(0);
    let other = f.token(1);
    let err = hsm
        .seed(&pinned(token, UserType::User, &other.serial), seed32(5))
        .await
        .unwrap_err();
    assert_eq!(ckr_of(&err), "TOKEN_MISMATCH", "{err}");
    let detail = detail_of(&err);
    assert!(
        detail.contains(&token.serial) && detail.contains(&other.serial),
        "{detail}"
    );
    assert!(capture.calls_of("C_SeedRandom").is_empty());
    assert!(capture.calls_of("C_Login").is_empty());

    let err = hsm
        .test_login(&pinned(token, UserType::User, &other.serial))
        .await
        .unwrap_err();
    assert_eq!(ckr_of(&err), "TOKEN_MISMATCH", "{err}");

    // Pinned to its own serial (padding is ignored): fine.
    let own = format!("{}  ", token.serial);
    hsm.seed(&pinned(token, UserType::User, &own), seed32(6))
        .await
        .unwrap();
    assert_eq!(capture.calls_of("C_SeedRandom").len(), 1);
}

#[tokio::test]
async fn a_wrong_pin_fails_and_the_right_one_still_works() {
    let f = fixture();
    let _access = f.shared_access().await;
    let hsm = load();
    let token = f.token(1);
    // Log in with the right PIN first: the wrong one must not ride on it.
    hsm.seed(&token.target(UserType::User), seed32(1))
        .await
        .unwrap();
    let err = hsm
        .seed(&token.wrong_pin_target(), seed32(2))
        .await
        .unwrap_err();
    assert_eq!(ckr_of(&err), "CKR_PIN_INCORRECT", "{err}");
    assert_eq!(detail_of(&err), "C_Login: incorrect partition password");
    assert!(!err.to_string().contains(&token.user_pin));
    // (Other tests share this token, so whether this one needs a C_Login
    // depends on them; `one_credential_logs_in_once_for_many_seeds` checks
    // `logged_in` alone.)
    hsm.seed(&token.target(UserType::User), seed32(3))
        .await
        .unwrap();

    let err = hsm.test_login(&token.wrong_pin_target()).await.unwrap_err();
    assert_eq!(ckr_of(&err), "CKR_PIN_INCORRECT", "{err}");
    let info = hsm.test_login(&token.target(UserType::User)).await.unwrap();
    assert_eq!(info.serial, token.serial);
}

#[tokio::test]
async fn the_so_can_seed_with_the_so_pin() {
    let f = fixture();
    let _access = f.shared_access().await;
    let hsm = load();
    let token = f.token(1);
    let outcome = hsm
        .seed(&token.target(UserType::So), seed32(4))
        .await
        .unwrap();
    assert_eq!(outcome.token_serial, token.serial);
    // The user PIN is not the SO PIN.
    let so_with_user_pin = SeedTarget {
        pin: SecretString::from(token.user_pin.as_str()),
        ..token.target(UserType::So)
    };
    let err = hsm.seed(&so_with_user_pin, seed32(4)).await.unwrap_err();
    assert_eq!(ckr_of(&err), "CKR_PIN_INCORRECT", "{err}");
}

#[tokio::test]
async fn crypto_user_on_softhsm_is_a_clear_error() {
    let f = fixture();
    let _access = f.shared_access().await;
    let hsm = load();
    let token = f.token(1);
    let err = hsm
        .seed(&token.target(UserType::CryptoUser), seed32(8))
        .await
        .unwrap_err();
    assert_eq!(ckr_of(&err), "CKR_USER_TYPE_INVALID", "{err}");
    assert_eq!(detail_of(&err), "C_Login: invalid user type");
    // Nothing is left broken.
    hsm.seed(&token.target(UserType::User), seed32(8))
        .await
        .unwrap();
}

#[tokio::test]
async fn test_login_logs_in_again_even_with_the_same_credential() {
    let f = fixture();
    let _access = f.shared_access().await;
    let hsm = load();
    let token = f.token(1);
    let target = token.target(UserType::User);
    let info = hsm.test_login(&target).await.unwrap();
    assert_eq!(info.label, token.label);
    hsm.test_login(&target).await.unwrap();
    // The test login's session is kept for reseeds.
    let _ = hsm.seed(&target, seed32(1)).await.unwrap();
}

#[tokio::test]
async fn an_empty_seed_is_invalid() {
    let f = fixture();
    let _access = f.shared_access().await;
    let hsm = load();
    let err = hsm
        .seed(
            &f.token(1).target(UserType::User),
            Zeroizing::new(Vec::new()),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Invalid(_)), "{err:?}");
}

// ---------------------------------------------------------------------------
// Concurrency
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn two_configurations_on_one_token_reseed_concurrently() {
    let f = fixture();
    let _access = f.shared_access().await;
    let token = f.token(2);
    // "Configurations": separate handles (as separate engines would have)
    // and different credentials on the same token.
    let configs = [
        (load(), token.target(UserType::User)),
        (
            Hsm::load(f.module_to_load(), DEFAULT_DEADLINE).unwrap(),
            token.target(UserType::So),
        ),
        // A third configuration with the first one's credential.
        (load(), token.target(UserType::User)),
    ];
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200u32 {
        for (hsm, target) in &configs {
            let (hsm, target) = (hsm.clone(), target.clone());
            tasks.spawn(async move { hsm.seed(&target, seed32(i as u8)).await });
        }
    }
    let mut done = 0;
    while let Some(result) = tasks.join_next().await {
        let outcome = result
            .unwrap()
            .unwrap_or_else(|e| panic!("reseed failed: {e}"));
        assert_eq!(outcome.token_serial, token.serial);
        done += 1;
    }
    assert_eq!(done, 600);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn a_wrong_pin_racing_a_right_pin_never_rides_on_it() {
    let f = fixture();
    let _access = f.shared_access().await;
    let hsm = load();
    let token = f.token(1);
    let right = token.target(UserType::User);
    let wrong = token.wrong_pin_target();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..100u8 {
        for (is_right, target) in [(true, right.clone()), (false, wrong.clone())] {
            let hsm = hsm.clone();
            tasks.spawn(async move { (is_right, hsm.seed(&target, seed32(i)).await) });
        }
    }
    let (mut ok, mut refused) = (0, 0);
    while let Some(result) = tasks.join_next().await {
        match result.unwrap() {
            (true, Ok(_)) => ok += 1,
            (true, Err(e)) => panic!("the right PIN failed: {e}"),
            (false, Ok(_)) => panic!("the wrong PIN was accepted"),
            (false, Err(e)) => {
                assert_eq!(ckr_of(&e), "CKR_PIN_INCORRECT", "{e}");
                refused += 1;
            }
        }
    }
    assert_eq!((ok, refused), (100, 100));
}

// ---------------------------------------------------------------------------
// Deadline
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hung_slot_times_out_while_other_slots_carry_on() {
    let f = fixture();
    let _access = f.shared_access().await;
    let deadline = Duration::from_millis(1500);
    let hsm = Hsm::load(f.module_to_load(), deadline).unwrap();
    let hung = f.token(3);
    let other = f.token(2);

    // As if a C_SeedRandom on `hung` never returned.
    let held = hsm.hold_slot_lock(hung.slot).await;
    let started = Instant::now();
    let waiting = {
        let (hsm, target) = (hsm.clone(), hung.target(UserType::User));
        tokio::spawn(async move { hsm.seed(&target, seed32(1)).await })
    };

    // Another slot is served meanwhile.
    let outcome = hsm
        .seed(&other.target(UserType::User), seed32(2))
        .await
        .unwrap();
    assert_eq!(outcome.token_serial, other.serial);
    assert!(
        !waiting.is_finished(),
        "the other slot waited for the hung one"
    );
    hsm.token_info(hung.slot).await.unwrap(); // no slot lock needed

    let err = waiting.await.unwrap().unwrap_err();
    let waited = started.elapsed();
    assert_eq!(ckr_of(&err), "TIMEOUT", "{err}");
    assert!(
        detail_of(&err).contains("did not answer within 1.5s"),
        "{err}"
    );
    assert!(
        detail_of(&err).contains(&format!("slot {}", hung.slot)),
        "{err}"
    );
    assert!(waited >= deadline && waited < deadline * 3, "{waited:?}");

    // Once the HSM answers again, the slot works again.
    drop(held);
    hsm.seed(&hung.target(UserType::User), seed32(3))
        .await
        .unwrap();
}
