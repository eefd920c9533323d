//! The write pace of one target table: a token bucket of write units whose rate starts at the
//! table's capacity and follows throttling (multiplicative decrease on every throttled answer,
//! additive increase on every clean batch: TCP's AIMD, which settles just under the limit the
//! service enforces whatever that limit really is).
//!
//! The capacity comes from DescribeTable (see `capacity.rs`); one write unit is one write of an
//! item up to 1 KB ("Read/write capacity mode", DynamoDB Developer Guide).

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// The slowest pace a throttled table is driven down to: one item a second still moves.
const FLOOR_UNITS_PER_SECOND: f64 = 1.0;
/// A throttled answer halves the rate, at most once per this window (a burst of answers to one
/// overload is one signal, not ten halvings).
const DECREASE_WINDOW: Duration = Duration::from_millis(500);
/// Each clean batch gives back this share of the ceiling.
const INCREASE_SHARE: f64 = 0.01;

#[derive(Debug)]
pub struct WritePace {
    ceiling: f64,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    rate: f64,
    /// Negative when callers reserved units that are not refilled yet.
    tokens: f64,
    last: Instant,
    last_decrease: Option<Instant>,
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
                rate: ceiling,
                tokens: ceiling,
                last: Instant::now(),
                last_decrease: None,
                throttled: 0,
            }),
        }
    }

    /// Waits until `units` write units are free at the current rate; callers are served in
    /// call order, each reserving its units before it sleeps.
    pub async fn acquire(&self, units: f64) {
        let wait = {
            let mut s = self.state.lock().expect("pace lock");
            let now = Instant::now();
            let elapsed = now.saturating_duration_since(s.last).as_secs_f64();
            s.tokens = (s.tokens + elapsed * s.rate).min(s.rate);
            s.last = now;
            s.tokens -= units;
            if s.tokens >= 0.0 {
                Duration::ZERO
            } else {
                Duration::from_secs_f64(-s.tokens / s.rate)
            }
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
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
        s.rate = (s.rate / 2.0).max(FLOOR_UNITS_PER_SECOND);
        // What was reserved at the old rate is not owed again: start the new rate empty.
        s.tokens = s.tokens.min(0.0);
    }

    /// A batch went through whole.
    pub fn succeeded(&self) {
        let mut s = self.state.lock().expect("pace lock");
        s.rate = (s.rate + self.ceiling * INCREASE_SHARE).min(self.ceiling);
    }

    /// Write units per second now.
    pub fn rate(&self) -> f64 {
        self.state.lock().expect("pace lock").rate
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
    async fn throttling_halves_once_per_window_and_clean_batches_climb_back() {
        let pace = WritePace::new(1000.0);
        pace.throttled();
        pace.throttled();
        assert_eq!(pace.rate(), 500.0, "two answers to one overload halve once");
        tokio::time::sleep(DECREASE_WINDOW).await;
        pace.throttled();
        assert_eq!(pace.rate(), 250.0);
        for _ in 0..10 {
            pace.succeeded();
        }
        assert_eq!(pace.rate(), 350.0);
        for _ in 0..1000 {
            pace.succeeded();
        }
        assert_eq!(pace.rate(), 1000.0, "never above the ceiling");
        assert_eq!(pace.throttles(), 3);
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
