//! The interrupt switch every migration obeys: the caller trips it on Ctrl-C, SIGTERM or SIGHUP.

use tokio_util::sync::CancellationToken;

/// An interrupt (Ctrl-C, SIGTERM, SIGHUP) for a migration: the first trip stops
/// starting new work (no new intent) and lets what is under way finish; the second makes the
/// migration return at once, its journal consistent.
#[derive(Debug, Clone, Default)]
pub struct Interrupt {
    pub(crate) stop: CancellationToken,
    pub(crate) abort: CancellationToken,
}

impl Interrupt {
    pub fn new() -> Self {
        Self::default()
    }

    /// Escalates one step; returns 1 after the first trip, 2 after any later one.
    pub fn trip(&self) -> u8 {
        if self.stop.is_cancelled() {
            self.abort.cancel();
            2
        } else {
            self.stop.cancel();
            1
        }
    }

    pub fn is_stopping(&self) -> bool {
        self.stop.is_cancelled()
    }

    pub fn is_aborted(&self) -> bool {
        self.abort.is_cancelled()
    }

    /// Resolves at the first trip (at once if it happened already).
    pub async fn stopped(&self) {
        self.stop.cancelled().await
    }

    /// Resolves at the second trip.
    pub async fn aborted(&self) {
        self.abort.cancelled().await
    }
}
