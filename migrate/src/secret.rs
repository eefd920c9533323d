//! The one type a secret travels in (a database password, a whole secret string read from
//! Secrets Manager), for both libraries and the CLI.

use zeroize::Zeroize;

/// A secret's value. Not `Clone` (one copy, dropped once), not `Display`, `Debug` redacted, so it
/// cannot reach a log line, a progress message or a report by accident; its bytes are zeroed when
/// it is dropped.
pub struct SecretValue(String);

impl SecretValue {
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// The value itself: for the one place that needs it (a credential file, a temporary secret)
    /// and for tests that compare it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl Drop for SecretValue {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretValue(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_says_nothing_of_the_value() {
        let s = SecretValue::new("hunter2".into());
        assert_eq!(format!("{s:?}"), "SecretValue(<redacted>)");
        assert_eq!(s.expose(), "hunter2");
    }
}
