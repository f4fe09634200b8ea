//! hsmseed's shared vocabulary: what the engine, the server and the pages
//! in the browser must agree on, defined once: the words (user types,
//! triggers, outcomes, scopes, names, limits) and the rows the pages show
//! (one module per capability). Small and dependency-light:
//! it compiles to WASM with the pages.
//!
//! Parsing here answers [`Invalid`] with a message for an operator; the
//! engine turns it into its own error.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Input that breaks one of the rules below; the message says which.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Invalid {}

/// Implements `as_str`, `Display`, `FromStr` and `ALL` of a unit enum
/// from one table of `Variant => "text"`; `$refused` words the refusal of
/// an unknown text `s`.
macro_rules! words {
    ($ty:ident, |$s:ident| $refused:expr, $($v:ident => $text:literal),+ $(,)?) => {
        impl $ty {
            pub const ALL: &'static [$ty] = &[$($ty::$v),+];

            pub fn as_str(self) -> &'static str {
                match self { $($ty::$v => $text),+ }
            }
        }

        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        /// Compared with its text, e.g. `Trigger::Api == "api"`.
        impl PartialEq<&str> for $ty {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl PartialEq<str> for $ty {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        // As its text, in either database the engine stores to.
        #[cfg(feature = "sqlx")]
        impl<DB: sqlx::Database> sqlx::Type<DB> for $ty
        where
            for<'a> &'a str: sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <&str as sqlx::Type<DB>>::type_info()
            }

            fn compatible(ty: &DB::TypeInfo) -> bool {
                <&str as sqlx::Type<DB>>::compatible(ty)
            }
        }

        /// Read from its text column; an unknown text is an error, never a
        /// default.
        #[cfg(feature = "sqlx")]
        impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for $ty
        where
            &'r str: sqlx::Decode<'r, DB>,
        {
            fn decode(
                value: <DB as sqlx::Database>::ValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <&'r str as sqlx::Decode<'r, DB>>::decode(value)?;
                Ok(text.parse::<$ty>()?)
            }
        }

        #[cfg(feature = "sqlx")]
        impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for $ty
        where
            &'q str: sqlx::Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as sqlx::Database>::ArgumentBuffer<'q>,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&'q str as sqlx::Encode<'q, DB>>::encode(self.as_str(), buf)
            }
        }

        impl ::std::str::FromStr for $ty {
            type Err = $crate::Invalid;
            fn from_str($s: &str) -> Result<Self, $crate::Invalid> {
                $ty::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == $s)
                    .ok_or_else(|| $crate::Invalid($refused))
            }
        }
    };
}

// After `words!`, which they use.
pub mod alerts;
pub mod audit;
pub mod auth;
pub mod entropy;
pub mod fleet;
pub mod history;
pub mod hsm;
pub mod limits;
pub mod ntl;
pub mod schedule;
#[cfg(feature = "sqlx")]
pub mod sql;
pub mod status;
pub mod time;

/// At most 80 characters of what was given, for a message.
pub fn shown(s: &str) -> String {
    s.chars().take(80).collect()
}

/// The PKCS#11 user a configuration logs in as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum UserType {
    /// `CKU_USER`, the normal user (partition owner).
    #[serde(rename = "CKU_USER")]
    User,
    /// `CKU_CRYPTO_USER` (0x80000001), Luna's restricted crypto user.
    #[serde(rename = "CKU_CRYPTO_USER")]
    CryptoUser,
    /// `CKU_SO`, the security officer.
    #[serde(rename = "CKU_SO")]
    So,
}

words!(UserType, |_s| "user type must be CKU_USER, CKU_SO or CKU_CRYPTO_USER".into(),
    User => "CKU_USER",
    CryptoUser => "CKU_CRYPTO_USER",
    So => "CKU_SO",
);

impl UserType {
    /// How the pages name it.
    pub fn label(self) -> &'static str {
        match self {
            UserType::User => "CKU_USER (partition user)",
            UserType::CryptoUser => "CKU_CRYPTO_USER (Luna crypto user)",
            UserType::So => "CKU_SO (security officer)",
        }
    }
}

/// What asked for a reseed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    Schedule,
    Api,
    Ui,
    Cli,
}

words!(Trigger, |s| format!("trigger `{}` is not schedule, api, ui or cli", shown(s)),
    Schedule => "schedule",
    Api => "api",
    Ui => "ui",
    Cli => "cli",
);

/// How a reseed or an audited action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Ok,
    Error,
    /// Not attempted: the configuration's login is held (the history only;
    /// an audit row is `ok` or `error`).
    Held,
}

words!(Outcome, |s| format!("outcome `{}` is not ok, error or held", shown(s)),
    Ok => "ok",
    Error => "error",
    Held => "held",
);

/// What an API token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// `POST /api/2.0/hsmseed`: reseed now.
    Seed,
    /// The read endpoints: configurations, history, status.
    Read,
    /// The random-number endpoints (streambytes, hexbytes, int, ...).
    Entropy,
}

words!(Scope, |s| format!("scope `{}` is not seed, read or entropy", shown(s)),
    Seed => "seed",
    Read => "read",
    Entropy => "entropy",
);

/// A configuration (or token) name: 1 to [`limits::NAME`] of
/// `A-Z a-z 0-9 _ . -`. Returns the name when it follows the rule.
pub fn check_name<'a>(what: &str, s: &'a str) -> Result<&'a str, Invalid> {
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    if s.is_empty() || s.len() > limits::NAME || !s.chars().all(ok) {
        return Err(Invalid(format!(
            "{what} `{}` is not 1 to {} letters, digits, _ . or -",
            shown(s),
            limits::NAME
        )));
    }
    Ok(s)
}

/// The rule of an administrator's user name: 1 to 64 characters of
/// `A-Z a-z 0-9 _ . @ -` (the engine's `UserName` and the sign-in page both
/// follow it).
pub fn check_user_name(s: &str) -> Result<&str, Invalid> {
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '@' | '-');
    if s.is_empty() || s.len() > limits::NAME || !s.chars().all(ok) {
        return Err(Invalid(
            "a user name has 1 to 64 characters: letters, digits, _ . @ -".into(),
        ));
    }
    Ok(s)
}

/// A filter field that says something (empty means "all").
pub fn given(v: Option<&str>) -> Option<&str> {
    v.filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_and_refuse_others() {
        for u in UserType::ALL {
            assert_eq!(u.as_str().parse::<UserType>().unwrap(), *u);
        }
        for t in Trigger::ALL {
            assert_eq!(t.to_string().parse::<Trigger>().unwrap(), *t);
        }
        assert_eq!(
            "cku_user".parse::<UserType>().unwrap_err().0,
            "user type must be CKU_USER, CKU_SO or CKU_CRYPTO_USER"
        );
        assert_eq!(
            "x".repeat(100).parse::<Trigger>().unwrap_err().0,
            format!(
                "trigger `{}` is not schedule, api, ui or cli",
                "x".repeat(80)
            )
        );
        assert!("nightly".parse::<Trigger>().is_err());
        assert!("maybe".parse::<Outcome>().is_err());
        assert!("write".parse::<Scope>().is_err());
    }

    #[test]
    fn names_follow_the_rule() {
        for ok in ["HSM1", "a", "ha.virtual-slot_2", &"x".repeat(64)] {
            assert!(check_name("name", ok).is_ok(), "{ok}");
        }
        for bad in ["", "HSM 1", "HSM/1", "hsm;drop", "é", &"x".repeat(65)] {
            assert!(check_name("name", bad).is_err(), "{bad}");
        }
    }
}
