use crate::error::Result;

/// A user name: 1 to 64 characters of `A-Z a-z 0-9 _ . @ -`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserName(String);

impl UserName {
    pub fn parse(s: &str) -> Result<UserName> {
        Ok(UserName(types::check_user_name(s)?.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names() {
        for n in ["admin", "a", "ops.team-1", "x_y@corp", &"a".repeat(64)] {
            assert!(UserName::parse(n).is_ok(), "{n}");
        }
    }

    #[test]
    fn refuses_empty_long_and_odd_names() {
        for n in ["", &"a".repeat(65), "has space", "semi;colon", "é", "a/b"] {
            assert!(UserName::parse(n).is_err(), "{n}");
        }
    }
}
