//! The write pace of one target table: a token bucket of write units whose rate starts at the
//! table's capacity and follows throttling (multiplicative decrease on every throttled answer,
//! additive increase on every clean batch: TCP's AIMD, which settles just under the limit the
//! service enforces whatever that limit really is). The decrease is to 0.7 of the rate, as
//! CUBIC's (RFC 8312, section 4.5), not TCP Reno's half: a sawtooth between 0.7 and 1 of the
//! limit moves about 0.85 of it, one between 0.5 and 1 about 0.75. The increase is a share of the
//! rate at the last throttle (of the ceiling before any): a table's on-demand ceiling of 4,000
//! units says nothing of the limit it really holds, and steps sized to it would overshoot a
//! limit of a few hundred within a batch or two.
//!
//! The capacity comes from DescribeTable (see `capacity.rs`); one write unit is one write of an
//! item up to 1 KB ("Read/write capacity mode", DynamoDB Developer Guide).

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::ratelimit::{Bucket, wait};

/// The slowest pace a throttled table is driven down to: one item a second still moves.
const FLOOR_UNITS_PER_SECOND: f64 = 1.0;
/// A throttled answer cuts the rate to this share of it.
const DECREASE_TO: f64 = 0.7;
/// A throttled answer cuts the rate at most once per this window (a burst of answers to one
/// overload is one signal, not ten cuts).
const DECREASE_WINDOW: Duration = Duration::from_millis(500);
/// Each clean batch gives back this share of the rate at the last throttle.
const INCREASE_SHARE: f64 = 0.01;

#[derive(Debug)]
pub struct WritePace {
    ceiling: f64,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// A second's worth of units at the current rate.
    bucket: Bucket,
    last_decrease: Option<Instant>,
    /// The rate when the table last throttled (the ceiling before it did): what a step is sized to.
    throttled_at: f64,
    throttled: u64,
}

impl WritePace {
    /// `ceiling` write units per second (the table's capacity), a second's worth in the bucket.
    pub fn new(ceiling: f64) -> Self {
        let ceiling = if ceiling.is_finite() {
            ceiling.max(FLOOR_UNITS_PER_SECOND)
        } else {
            FLOOR_UNITS_PER_SECOND
        };
        Self {
            ceiling,
            state: Mutex::new(State {
                bucket: Bucket::new(ceiling, ceiling),
                last_decrease: None,
                throttled_at: ceiling,
                throttled: 0,
            }),
        }
    }

    /// Waits until `units` write units are free at the current rate; callers are served in
    /// call order, each reserving its units before it sleeps.
    pub async fn acquire(&self, units: f64) {
        let delay = self.state.lock().expect("pace lock").bucket.reserve(units);
        wait(delay).await;
    }

    /// The table answered with a throttle (UnprocessedItems, ProvisionedThroughputExceeded).
    pub fn throttled(&self) {
        let mut s = self.state.lock().expect("pace lock");
        s.throttled += 1;
        let now = Instant::now();
        if s.last_decrease
            .is_some_and(|at| now.saturating_duration_since(at) < DECREASE_WINDOW)
        {
            return;
        }
        s.last_decrease = Some(now);
        s.throttled_at = s.bucket.rate();
        let rate = (s.throttled_at * DECREASE_TO).max(FLOOR_UNITS_PER_SECOND);
        s.bucket.set_rate(rate, rate);
        // What was reserved at the old rate is not owed again: start the new rate empty.
        s.bucket.forgive_reserved();
    }

    /// A batch went through whole.
    pub fn succeeded(&self) {
        let mut s = self.state.lock().expect("pace lock");
        let rate = (s.bucket.rate() + s.throttled_at * INCREASE_SHARE).min(self.ceiling);
        s.bucket.set_rate(rate, rate);
    }

    /// Write units per second now.
    pub fn rate(&self) -> f64 {
        self.state.lock().expect("pace lock").bucket.rate()
    }

    pub fn ceiling(&self) -> f64 {
        self.ceiling
    }

    /// Throttled answers so far.
    pub fn throttles(&self) -> u64 {
        self.state.lock().expect("pace lock").throttled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_ceiling_is_held_over_time() {
        let pace = WritePace::new(100.0);
        let start = Instant::now();
        for _ in 0..300 {
            pace.acquire(1.0).await;
        }
        // A second's worth at once, then 100 a second.
        let elapsed = start.elapsed().as_secs_f64();
        assert!((1.99..=2.01).contains(&elapsed), "{elapsed}");
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_cuts_once_per_window_and_clean_batches_climb_back() {
        let pace = WritePace::new(1000.0);
        pace.throttled();
        pace.throttled();
        assert!(
            (pace.rate() - 700.0).abs() < 1e-9,
            "two answers to one overload cut once"
        );
        tokio::time::sleep(DECREASE_WINDOW).await;
        pace.throttled();
        assert!((pace.rate() - 490.0).abs() < 1e-9, "{}", pace.rate());
        // Steps are 1% of 700, the rate the table last throttled at, not of the ceiling.
        for _ in 0..10 {
            pace.succeeded();
        }
        assert!((pace.rate() - 560.0).abs() < 1e-9, "{}", pace.rate());
        for _ in 0..1000 {
            pace.succeeded();
        }
        assert_eq!(pace.rate(), 1000.0, "never above the ceiling");
        assert_eq!(pace.throttles(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_low_limit_under_a_high_ceiling_is_approached_in_small_steps() {
        // An on-demand table (ceiling 4,000) held to about 230 units: after the cuts that find
        // the limit, one clean batch adds a few units, not the ceiling's 40.
        let pace = WritePace::new(4000.0);
        while pace.rate() > 230.0 {
            tokio::time::sleep(DECREASE_WINDOW).await;
            pace.throttled();
        }
        let found = pace.rate();
        pace.succeeded();
        assert!(pace.rate() - found < 5.0, "{found} -> {}", pace.rate());
    }

    #[tokio::test(start_paused = true)]
    async fn the_rate_never_falls_below_the_floor() {
        let pace = WritePace::new(4.0);
        for _ in 0..10 {
            tokio::time::sleep(DECREASE_WINDOW).await;
            pace.throttled();
        }
        assert_eq!(pace.rate(), FLOOR_UNITS_PER_SECOND);
    }
}
