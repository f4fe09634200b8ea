//! Turning `cryptoki` errors into [`Error::Hsm`](crate::Error).
//!
//! `cryptoki`'s `RvError` displays as a paragraph copied from the PKCS#11
//! specification, which is no use in a log line or an API answer. This file
//! names every return value by its `CKR_*` constant and pairs it with a short
//! description, so an operator sees e.g.
//! `CKR_PIN_INCORRECT: C_Login: incorrect partition password`.

use std::borrow::Cow;
use std::path::Path;

use cryptoki::context::Function;
use cryptoki::error::{Error as CkError, RvError};

use crate::Error;

/// `ckr` of load failures (missing file, not a PKCS#11 library).
pub(crate) const MODULE_LOAD: &str = "MODULE_LOAD";
/// `ckr` when the HSM did not answer within the deadline.
pub(crate) const TIMEOUT: &str = "TIMEOUT";
/// `ckr` when a slot holds another token than the configuration pins.
pub(crate) const TOKEN_MISMATCH: &str = "TOKEN_MISMATCH";

/// `ckr` of a reseed the token refused as such (see
/// [`seed_refusal`] and the token-info check in `module.rs`).
pub(crate) use types::hsm::SEED_NOT_ACCEPTED;

/// `C_SeedRandom`'s answers that say the token does not take seed
/// material at all (rather than that this call failed): a
/// [`SEED_NOT_ACCEPTED`] error naming the answer, or `None` for any other
/// error.
pub(crate) fn seed_refusal(err: &CkError) -> Option<Error> {
    match err {
        CkError::Pkcs11(
            rv @ (RvError::RandomSeedNotSupported
            | RvError::RandomNoRng
            | RvError::FunctionNotSupported),
            Function::SeedRandom,
        ) => {
            let (name, text) = rv_name(rv);
            Some(Error::Hsm {
                ckr: SEED_NOT_ACCEPTED.to_owned(),
                detail: format!(
                    "C_SeedRandom answered {name} ({text}): {}",
                    types::hsm::SEED_NOT_ACCEPTED_TEXT
                ),
            })
        }
        _ => None,
    }
}

/// What to try when `C_SeedRandom` refuses a seed's length (modules
/// differ: tpm2-pkcs11 takes at most 128 bytes per call and answers
/// `CKR_GENERAL_ERROR` beyond; kryoptic takes no fewer than 32 and answers
/// `CKR_ARGUMENTS_BAD`): the seed's length and the settings that change
/// it. `None` for other errors.
pub(crate) fn seed_length_hint(err: &CkError, bytes: usize, chunk: usize) -> Option<String> {
    match err {
        CkError::Pkcs11(
            RvError::ArgumentsBad | RvError::DataLenRange | RvError::GeneralError,
            Function::SeedRandom,
        ) => {
            let calls = if chunk < bytes {
                format!(" in calls of at most {chunk}")
            } else {
                String::new()
            };
            Some(format!(
                "the seed was {bytes} bytes{calls}: if the module takes fewer per call, set \
                 max_seed_bytes=N after its path; if it needs more, raise seed_bits"
            ))
        }
        _ => None,
    }
}

/// The one mapping from any `cryptoki` error to the engine's error.
///
/// PKCS#11 return values become `Error::Hsm { ckr: "CKR_…", detail:
/// "C_<Function>: <short description>" }`; vendor codes become
/// `CKR_VENDOR_DEFINED(0x…)`. Library loading failures become `MODULE_LOAD`
/// ([`Hsm::load`](super::Hsm::load) adds the module path). Nothing a caller
/// passed in (PINs, seeds) is part of a `cryptoki` error, so none can leak.
pub(crate) fn hsm_error(err: CkError) -> Error {
    let (ckr, detail) = describe(&err);
    Error::Hsm {
        ckr: ckr.into_owned(),
        detail,
    }
}

/// `MODULE_LOAD` error for `path`, with a reason.
pub(crate) fn module_load_error(path: &Path, reason: impl std::fmt::Display) -> Error {
    Error::Hsm {
        ckr: MODULE_LOAD.to_owned(),
        detail: format!("cannot load PKCS#11 module {}: {reason}", path.display()),
    }
}

/// `(ckr, detail)` for any `cryptoki` error; the core of [`hsm_error`].
pub(crate) fn describe(err: &CkError) -> (Cow<'static, str>, String) {
    match err {
        CkError::Pkcs11(rv, function) => {
            let (name, text) = rv_name(rv);
            (name, format!("{}: {text}", function_name(*function)))
        }
        CkError::LibraryLoading(e) => (
            Cow::Borrowed(MODULE_LOAD),
            format!("cannot load PKCS#11 module: {e}"),
        ),
        CkError::MissingSymbol(symbol) => (
            Cow::Borrowed(MODULE_LOAD),
            format!("not a PKCS#11 library (it has no {symbol})"),
        ),
        CkError::NullFunctionPointer => (
            Cow::Borrowed("CKR_FUNCTION_NOT_SUPPORTED"),
            "the PKCS#11 module does not provide this function".to_owned(),
        ),
        CkError::NotSupported => (
            Cow::Borrowed("NOT_SUPPORTED"),
            "not supported by the PKCS#11 wrapper".to_owned(),
        ),
        CkError::PinNotSet => (
            Cow::Borrowed("PIN_NOT_SET"),
            "no partition password was given for the login".to_owned(),
        ),
        CkError::TryFromInt(e) => invalid_value(e),
        CkError::TryFromSlice(e) => invalid_value(e),
        CkError::ParseInt(e) => invalid_value(e),
        CkError::Utf8(e) => invalid_value(e),
        CkError::NulError(e) => invalid_value(e),
        CkError::InvalidValue => invalid_value("value out of range"),
    }
}

fn invalid_value(e: impl std::fmt::Display) -> (Cow<'static, str>, String) {
    (
        Cow::Borrowed("INVALID_VALUE"),
        format!("a value passed to or returned by the PKCS#11 module cannot be converted: {e}"),
    )
}

/// `C_SeedRandom` for `Function::SeedRandom`, and so on: the PKCS#11 name.
pub(crate) fn function_name(function: Function) -> String {
    format!("C_{function:?}")
}

/// The `CKR_*` name of a return value and a one-line description.
pub(crate) fn rv_name(rv: &RvError) -> (Cow<'static, str>, &'static str) {
    use RvError as R;
    let (name, text) = match rv {
        R::Cancel => ("CKR_CANCEL", "cancelled"),
        R::HostMemory => ("CKR_HOST_MEMORY", "the host ran out of memory"),
        R::SlotIdInvalid => ("CKR_SLOT_ID_INVALID", "no such slot"),
        R::GeneralError => ("CKR_GENERAL_ERROR", "general error"),
        R::FunctionFailed => ("CKR_FUNCTION_FAILED", "function failed"),
        R::ArgumentsBad => ("CKR_ARGUMENTS_BAD", "bad arguments"),
        R::NoEvent => ("CKR_NO_EVENT", "no slot event"),
        R::NeedToCreateThreads => (
            "CKR_NEED_TO_CREATE_THREADS",
            "the library needs to create threads",
        ),
        R::CantLock => ("CKR_CANT_LOCK", "the requested locking is not available"),
        R::AttributeReadOnly => ("CKR_ATTRIBUTE_READ_ONLY", "attribute is read-only"),
        R::AttributeSensitive => ("CKR_ATTRIBUTE_SENSITIVE", "attribute is sensitive"),
        R::AttributeTypeInvalid => ("CKR_ATTRIBUTE_TYPE_INVALID", "invalid attribute type"),
        R::AttributeValueInvalid => ("CKR_ATTRIBUTE_VALUE_INVALID", "invalid attribute value"),
        R::ActionProhibited => ("CKR_ACTION_PROHIBITED", "action prohibited"),
        R::DataInvalid => ("CKR_DATA_INVALID", "invalid data"),
        R::DataLenRange => ("CKR_DATA_LEN_RANGE", "data length out of range"),
        R::DeviceError => ("CKR_DEVICE_ERROR", "device error"),
        R::DeviceMemory => ("CKR_DEVICE_MEMORY", "the token ran out of memory"),
        R::DeviceRemoved => ("CKR_DEVICE_REMOVED", "the token was removed"),
        R::EncryptedDataInvalid => ("CKR_ENCRYPTED_DATA_INVALID", "invalid ciphertext"),
        R::EncryptedDataLenRange => (
            "CKR_ENCRYPTED_DATA_LEN_RANGE",
            "ciphertext length out of range",
        ),
        R::FunctionCanceled => ("CKR_FUNCTION_CANCELED", "function cancelled"),
        R::FunctionNotParallel => ("CKR_FUNCTION_NOT_PARALLEL", "function not parallel"),
        R::FunctionNotSupported => ("CKR_FUNCTION_NOT_SUPPORTED", "function not supported"),
        R::CurveNotSupported => ("CKR_CURVE_NOT_SUPPORTED", "curve not supported"),
        R::KeyHandleInvalid => ("CKR_KEY_HANDLE_INVALID", "invalid key handle"),
        R::KeySizeRange => ("CKR_KEY_SIZE_RANGE", "key size out of range"),
        R::KeyTypeInconsistent => ("CKR_KEY_TYPE_INCONSISTENT", "key type inconsistent"),
        R::KeyNotNeeded => ("CKR_KEY_NOT_NEEDED", "key not needed"),
        R::KeyChanged => ("CKR_KEY_CHANGED", "key changed"),
        R::KeyNeeded => ("CKR_KEY_NEEDED", "key needed"),
        R::KeyIndigestible => ("CKR_KEY_INDIGESTIBLE", "key indigestible"),
        R::KeyFunctionNotPermitted => (
            "CKR_KEY_FUNCTION_NOT_PERMITTED",
            "key function not permitted",
        ),
        R::KeyNotWrappable => ("CKR_KEY_NOT_WRAPPABLE", "key not wrappable"),
        R::KeyUnextractable => ("CKR_KEY_UNEXTRACTABLE", "key unextractable"),
        R::MechanismInvalid => ("CKR_MECHANISM_INVALID", "invalid mechanism"),
        R::MechanismParamInvalid => ("CKR_MECHANISM_PARAM_INVALID", "invalid mechanism parameter"),
        R::ObjectHandleInvalid => ("CKR_OBJECT_HANDLE_INVALID", "invalid object handle"),
        R::OperationActive => ("CKR_OPERATION_ACTIVE", "another operation is active"),
        R::OperationNotInitialized => {
            ("CKR_OPERATION_NOT_INITIALIZED", "operation not initialised")
        }
        R::PinIncorrect => ("CKR_PIN_INCORRECT", "incorrect partition password"),
        R::PinInvalid => (
            "CKR_PIN_INVALID",
            "the partition password has invalid characters",
        ),
        R::PinLenRange => (
            "CKR_PIN_LEN_RANGE",
            "partition password length out of range",
        ),
        R::PinExpired => ("CKR_PIN_EXPIRED", "the partition password has expired"),
        R::PinLocked => ("CKR_PIN_LOCKED", "the partition password is locked"),
        R::SessionClosed => ("CKR_SESSION_CLOSED", "the session was closed"),
        R::SessionCount => ("CKR_SESSION_COUNT", "too many sessions"),
        R::SessionHandleInvalid => ("CKR_SESSION_HANDLE_INVALID", "invalid session handle"),
        R::SessionParallelNotSupported => (
            "CKR_SESSION_PARALLEL_NOT_SUPPORTED",
            "parallel sessions not supported",
        ),
        R::SessionReadOnly => ("CKR_SESSION_READ_ONLY", "the session is read-only"),
        R::SessionExists => ("CKR_SESSION_EXISTS", "a session exists"),
        R::SessionReadOnlyExists => ("CKR_SESSION_READ_ONLY_EXISTS", "a read-only session exists"),
        R::SessionReadWriteSoExists => (
            "CKR_SESSION_READ_WRITE_SO_EXISTS",
            "a read/write SO session exists",
        ),
        R::SignatureInvalid => ("CKR_SIGNATURE_INVALID", "invalid signature"),
        R::SignatureLenRange => ("CKR_SIGNATURE_LEN_RANGE", "signature length out of range"),
        R::TemplateIncomplete => ("CKR_TEMPLATE_INCOMPLETE", "template incomplete"),
        R::TemplateInconsistent => ("CKR_TEMPLATE_INCONSISTENT", "template inconsistent"),
        R::TokenNotPresent => ("CKR_TOKEN_NOT_PRESENT", "no token in the slot"),
        R::TokenNotRecognized => ("CKR_TOKEN_NOT_RECOGNIZED", "token not recognised"),
        R::TokenWriteProtected => ("CKR_TOKEN_WRITE_PROTECTED", "token write-protected"),
        R::UnwrappingKeyHandleInvalid => (
            "CKR_UNWRAPPING_KEY_HANDLE_INVALID",
            "invalid unwrapping key handle",
        ),
        R::UnwrappingKeySizeRange => (
            "CKR_UNWRAPPING_KEY_SIZE_RANGE",
            "unwrapping key size out of range",
        ),
        R::UnwrappingKeyTypeInconsistent => (
            "CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT",
            "unwrapping key type inconsistent",
        ),
        R::UserAlreadyLoggedIn => ("CKR_USER_ALREADY_LOGGED_IN", "user already logged in"),
        R::UserNotLoggedIn => ("CKR_USER_NOT_LOGGED_IN", "user not logged in"),
        R::UserPinNotInitialized => (
            "CKR_USER_PIN_NOT_INITIALIZED",
            "the partition's user password is not initialised",
        ),
        R::UserTypeInvalid => ("CKR_USER_TYPE_INVALID", "invalid user type"),
        R::UserAnotherAlreadyLoggedIn => (
            "CKR_USER_ANOTHER_ALREADY_LOGGED_IN",
            "another user is already logged in",
        ),
        R::UserTooManyTypes => ("CKR_USER_TOO_MANY_TYPES", "too many user types logged in"),
        R::WrappedKeyInvalid => ("CKR_WRAPPED_KEY_INVALID", "invalid wrapped key"),
        R::WrappedKeyLenRange => (
            "CKR_WRAPPED_KEY_LEN_RANGE",
            "wrapped key length out of range",
        ),
        R::WrappingKeyHandleInvalid => (
            "CKR_WRAPPING_KEY_HANDLE_INVALID",
            "invalid wrapping key handle",
        ),
        R::WrappingKeySizeRange => (
            "CKR_WRAPPING_KEY_SIZE_RANGE",
            "wrapping key size out of range",
        ),
        R::WrappingKeyTypeInconsistent => (
            "CKR_WRAPPING_KEY_TYPE_INCONSISTENT",
            "wrapping key type inconsistent",
        ),
        R::RandomSeedNotSupported => (
            "CKR_RANDOM_SEED_NOT_SUPPORTED",
            "the token's RNG does not accept seeding",
        ),
        R::RandomNoRng => ("CKR_RANDOM_NO_RNG", "the token has no RNG"),
        R::DomainParamsInvalid => ("CKR_DOMAIN_PARAMS_INVALID", "invalid domain parameters"),
        R::BufferTooSmall => ("CKR_BUFFER_TOO_SMALL", "buffer too small"),
        R::SavedStateInvalid => ("CKR_SAVED_STATE_INVALID", "invalid saved state"),
        R::InformationSensitive => ("CKR_INFORMATION_SENSITIVE", "information is sensitive"),
        R::StateUnsaveable => ("CKR_STATE_UNSAVEABLE", "state cannot be saved"),
        R::CryptokiNotInitialized => (
            "CKR_CRYPTOKI_NOT_INITIALIZED",
            "the PKCS#11 library is not initialised",
        ),
        R::CryptokiAlreadyInitialized => (
            "CKR_CRYPTOKI_ALREADY_INITIALIZED",
            "the PKCS#11 library is already initialised in this process",
        ),
        R::MutexBad => ("CKR_MUTEX_BAD", "bad mutex"),
        R::MutexNotLocked => ("CKR_MUTEX_NOT_LOCKED", "mutex not locked"),
        R::NewPinMode => ("CKR_NEW_PIN_MODE", "new PIN mode"),
        R::NextOtp => ("CKR_NEXT_OTP", "next OTP required"),
        R::ExceededMaxIterations => ("CKR_EXCEEDED_MAX_ITERATIONS", "exceeded maximum iterations"),
        R::FipsSelfTestFailed => ("CKR_FIPS_SELF_TEST_FAILED", "FIPS self-test failed"),
        R::LibraryLoadFailed => (
            "CKR_LIBRARY_LOAD_FAILED",
            "the module could not load a library it depends on",
        ),
        R::PinTooWeak => ("CKR_PIN_TOO_WEAK", "the partition password is too weak"),
        R::PublicKeyInvalid => ("CKR_PUBLIC_KEY_INVALID", "invalid public key"),
        R::FunctionRejected => ("CKR_FUNCTION_REJECTED", "function rejected"),
        R::VendorDefined(code) => {
            return (
                Cow::Owned(format!("CKR_VENDOR_DEFINED(0x{code:08X})")),
                "vendor-defined error (see the HSM vendor's documentation)",
            )
        }
        R::UnknownErrorCode(code) => {
            return (
                Cow::Owned(format!("CKR_UNKNOWN(0x{code:08X})")),
                "return value not defined by PKCS#11",
            )
        }
    };
    (Cow::Borrowed(name), text)
}

/// Errors after which a cached session must not be used again: the session
/// (or the token behind it, or its login) is gone. A reseed that meets one of
/// these drops its cached session and retries once with a fresh one.
pub(crate) fn is_stale_session(err: &CkError) -> bool {
    matches!(
        err,
        CkError::Pkcs11(
            RvError::SessionHandleInvalid
                | RvError::SessionClosed
                | RvError::UserNotLoggedIn
                | RvError::TokenNotPresent
                | RvError::DeviceRemoved,
            _
        )
    )
}

/// Errors of a `C_Login` that count against the token's failed-login
/// counter (a wrong, malformed, expired or locked PIN): after one of these
/// the credential is held, never tried again on its own.
pub(crate) fn is_failed_login(err: &CkError) -> bool {
    matches!(
        err,
        CkError::Pkcs11(
            RvError::PinIncorrect
                | RvError::PinInvalid
                | RvError::PinLenRange
                | RvError::PinExpired
                | RvError::PinLocked,
            _
        )
    )
}

/// The return value of a PKCS#11 error, if it is one.
pub(crate) fn rv_of(err: &CkError) -> Option<RvError> {
    match err {
        CkError::Pkcs11(rv, _) => Some(*rv),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hsm(err: CkError) -> (String, String) {
        match hsm_error(err) {
            Error::Hsm { ckr, detail } => (ckr, detail),
            other => panic!("not an Hsm error: {other:?}"),
        }
    }

    #[test]
    fn names_common_return_values() {
        let cases = [
            (
                RvError::PinIncorrect,
                Function::Login,
                "CKR_PIN_INCORRECT",
                "C_Login: incorrect partition password",
            ),
            (
                RvError::SlotIdInvalid,
                Function::OpenSession,
                "CKR_SLOT_ID_INVALID",
                "C_OpenSession: no such slot",
            ),
            (
                RvError::RandomSeedNotSupported,
                Function::SeedRandom,
                "CKR_RANDOM_SEED_NOT_SUPPORTED",
                "C_SeedRandom: the token's RNG does not accept seeding",
            ),
            (
                RvError::UserAlreadyLoggedIn,
                Function::Login,
                "CKR_USER_ALREADY_LOGGED_IN",
                "C_Login: user already logged in",
            ),
            (
                RvError::CryptokiAlreadyInitialized,
                Function::Initialize,
                "CKR_CRYPTOKI_ALREADY_INITIALIZED",
                "C_Initialize: the PKCS#11 library is already initialised in this process",
            ),
            (
                RvError::TokenNotPresent,
                Function::GetTokenInfo,
                "CKR_TOKEN_NOT_PRESENT",
                "C_GetTokenInfo: no token in the slot",
            ),
            (
                RvError::UserTypeInvalid,
                Function::Login,
                "CKR_USER_TYPE_INVALID",
                "C_Login: invalid user type",
            ),
            (
                RvError::UserPinNotInitialized,
                Function::Login,
                "CKR_USER_PIN_NOT_INITIALIZED",
                "C_Login: the partition's user password is not initialised",
            ),
        ];
        for (rv, function, ckr, detail) in cases {
            let (got_ckr, got_detail) = hsm(CkError::Pkcs11(rv, function));
            assert_eq!(got_ckr, ckr);
            assert_eq!(got_detail, detail);
        }
    }

    #[test]
    fn the_error_displays_name_and_detail_and_has_the_hsm_code() {
        let err = hsm_error(CkError::Pkcs11(RvError::PinIncorrect, Function::Login));
        assert_eq!(err.code(), "hsm_error");
        assert_eq!(
            err.to_string(),
            "CKR_PIN_INCORRECT: C_Login: incorrect partition password"
        );
    }

    #[test]
    fn vendor_and_unknown_codes_keep_the_number() {
        let (ckr, detail) = hsm(CkError::Pkcs11(
            RvError::VendorDefined(0x8000_0123),
            Function::SeedRandom,
        ));
        assert_eq!(ckr, "CKR_VENDOR_DEFINED(0x80000123)");
        assert!(
            detail.starts_with("C_SeedRandom: vendor-defined"),
            "{detail}"
        );

        let (ckr, _) = hsm(CkError::Pkcs11(
            RvError::UnknownErrorCode(0x1234),
            Function::Login,
        ));
        assert_eq!(ckr, "CKR_UNKNOWN(0x00001234)");
    }

    #[test]
    fn every_name_is_a_ckr_constant_and_descriptions_are_short() {
        // A sample across the enum; the match itself is exhaustive.
        for rv in [
            RvError::Cancel,
            RvError::HostMemory,
            RvError::DeviceRemoved,
            RvError::SessionHandleInvalid,
            RvError::FunctionRejected,
            RvError::PinLocked,
        ] {
            let (name, text) = rv_name(&rv);
            assert!(name.starts_with("CKR_"), "{name}");
            assert!(text.len() < 80, "{text}");
        }
    }

    #[test]
    fn load_failures_are_module_load() {
        let (ckr, detail) = hsm(CkError::MissingSymbol("C_GetFunctionList"));
        assert_eq!(ckr, "MODULE_LOAD");
        assert!(detail.contains("not a PKCS#11 library"), "{detail}");
        let err = module_load_error(Path::new("/nope.so"), "No such file or directory");
        assert_eq!(
            err.to_string(),
            "MODULE_LOAD: cannot load PKCS#11 module /nope.so: No such file or directory"
        );
    }

    #[test]
    fn answers_that_refuse_seeds_are_one_outcome() {
        for rv in [
            RvError::RandomSeedNotSupported,
            RvError::RandomNoRng,
            RvError::FunctionNotSupported,
        ] {
            let Some(Error::Hsm { ckr, detail }) =
                seed_refusal(&CkError::Pkcs11(rv, Function::SeedRandom))
            else {
                panic!("{rv:?} is a refusal");
            };
            assert_eq!(ckr, "SEED_NOT_ACCEPTED");
            assert!(
                detail.starts_with(&format!("C_SeedRandom answered {}", rv_name(&rv).0))
                    && detail.contains("does not accept seed material"),
                "{detail}"
            );
        }
        // The same code from another function, or another failure of
        // C_SeedRandom: an error like any other.
        for e in [
            CkError::Pkcs11(RvError::FunctionNotSupported, Function::Login),
            CkError::Pkcs11(RvError::GeneralError, Function::SeedRandom),
            CkError::Pkcs11(RvError::ArgumentsBad, Function::SeedRandom),
        ] {
            assert!(seed_refusal(&e).is_none(), "{e:?}");
        }
    }

    #[test]
    fn a_seed_of_the_wrong_length_says_what_to_change() {
        let long = CkError::Pkcs11(RvError::GeneralError, Function::SeedRandom);
        let hint = seed_length_hint(&long, 256, usize::MAX).unwrap();
        assert!(
            hint.starts_with("the seed was 256 bytes: ") && hint.contains("max_seed_bytes=N"),
            "{hint}"
        );
        let short = CkError::Pkcs11(RvError::ArgumentsBad, Function::SeedRandom);
        assert!(seed_length_hint(&short, 16, 8)
            .unwrap()
            .starts_with("the seed was 16 bytes in calls of at most 8:"));
        // Not about the seed: no hint.
        for e in [
            CkError::Pkcs11(RvError::ArgumentsBad, Function::Login),
            CkError::Pkcs11(RvError::PinIncorrect, Function::SeedRandom),
        ] {
            assert!(seed_length_hint(&e, 32, 32).is_none(), "{e:?}");
        }
    }

    #[test]
    fn stale_session_errors() {
        assert!(is_stale_session(&CkError::Pkcs11(
            RvError::SessionHandleInvalid,
            Function::SeedRandom
        )));
        assert!(is_stale_session(&CkError::Pkcs11(
            RvError::UserNotLoggedIn,
            Function::SeedRandom
        )));
        assert!(!is_stale_session(&CkError::Pkcs11(
            RvError::PinIncorrect,
            Function::Login
        )));
    }
}
