//! Test knobs read from the environment: the emulator finishes in milliseconds what AWS does in
//! minutes, so the tests shorten the poll intervals. Defaults are the production values.

use std::time::Duration;

/// `name` as milliseconds, or `default` when unset; a value that is not a number is an error.
pub fn env_duration(name: &str, default: Duration) -> anyhow::Result<Duration> {
    match std::env::var(name) {
        Ok(v) => Ok(Duration::from_millis(v.parse().map_err(|_| {
            anyhow::anyhow!("{name} must be a number of milliseconds, got {v:?}")
        })?)),
        Err(_) => Ok(default),
    }
}

/// Test knob: the emulator restores in milliseconds, RDS in minutes.
const RESTORE_POLL_ENV: &str = "XTASK_RESTORE_POLL_MS";
const RESTORE_POLL: Duration = Duration::from_secs(10);

/// How often `restore` (and `restore --cleanup`) asks RDS whether a cluster is there yet.
pub fn restore_poll() -> anyhow::Result<Duration> {
    env_duration(RESTORE_POLL_ENV, RESTORE_POLL)
}
