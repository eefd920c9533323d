//! Pacing and backoff, shared by every migration: the token bucket's arithmetic (the re-embed's
//! RunTask rate here, the table migration's write units in `tables/pace.rs`) and the retry
//! backoff with jitter.

use std::sync::Mutex;
use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;

/// The tokens of a bucket that refills at `rate` a second up to `burst`: the arithmetic every pace
/// of this crate shares (RunTask calls here, DynamoDB write units in `tables/pace.rs`), without its
/// lock, so that a pace can change its rate under the same lock.
#[derive(Debug)]
pub(crate) struct Bucket {
    rate: f64,
    burst: f64,
    /// Negative when callers have reserved tokens that are not refilled yet.
    tokens: f64,
    last: Instant,
}

impl Bucket {
    /// A full bucket.
    pub(crate) fn new(rate: f64, burst: f64) -> Self {
        Self {
            rate,
            burst,
            tokens: burst,
            last: Instant::now(),
        }
    }

    /// Reserves `tokens` and returns how long the caller waits for them: each caller reserves
    /// before it sleeps, so waiters are served in call order and the long-run rate never exceeds
    /// `rate`.
    pub(crate) fn reserve(&mut self, tokens: f64) -> Duration {
        let now = Instant::now();
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.last = now;
        self.tokens -= tokens;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate)
        }
    }

    pub(crate) fn rate(&self) -> f64 {
        self.rate
    }

    /// A new rate and burst from now on (tokens as they are).
    pub(crate) fn set_rate(&mut self, rate: f64, burst: f64) {
        self.rate = rate;
        self.burst = burst;
    }

    /// Forgets what callers reserved beyond the tokens there were: after a cut of the rate, what
    /// was reserved at the old rate is not owed again at the new one.
    pub(crate) fn forgive_reserved(&mut self) {
        self.tokens = self.tokens.min(0.0);
    }
}

/// Sleeps for what [`Bucket::reserve`] said, when it said to wait.
pub(crate) async fn wait(delay: Duration) {
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
}

/// A token bucket at a fixed rate (AWS's own model for RunTask's limit: a bucket of `burst`,
/// refilled at `rate` a second).
pub struct TokenBucket {
    bucket: Mutex<Bucket>,
}

impl TokenBucket {
    /// `rate` tokens per second, a full bucket of `burst` at the start.
    pub fn new(rate: f64, burst: f64) -> Self {
        let rate = if rate.is_finite() && rate > 0.0 {
            rate
        } else {
            1.0
        };
        Self {
            bucket: Mutex::new(Bucket::new(rate, burst.max(1.0))),
        }
    }

    /// Waits until a token is available (see [`Bucket::reserve`]).
    pub async fn acquire(&self) {
        let delay = self.bucket.lock().expect("token bucket lock").reserve(1.0);
        wait(delay).await;
    }
}

/// Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"):
/// a uniformly random delay in `[0, min(max, base * 2^attempt)]`, which spreads retrying callers
/// best when many are throttled at once.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Backoff {
    /// The delay before retry number `attempt` (0 for the first retry).
    pub fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self.ceiling(attempt);
        let nanos = ceiling.as_nanos().min(u64::MAX as u128) as u64;
        if nanos == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(rand::rng().random_range(0..=nanos))
    }

    fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.min(30));
        self.base.saturating_mul(factor).min(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn burst_then_steady_rate() {
        let bucket = TokenBucket::new(20.0, 20.0);
        let start = Instant::now();
        for _ in 0..20 {
            bucket.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO, "the burst is free");
        for _ in 0..40 {
            bucket.acquire().await;
        }
        let elapsed = start.elapsed().as_secs_f64();
        assert!((1.99..=2.01).contains(&elapsed), "{elapsed}");
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_share_the_rate() {
        let bucket = std::sync::Arc::new(TokenBucket::new(10.0, 10.0));
        let start = Instant::now();
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..40 {
            let b = bucket.clone();
            set.spawn(async move {
                b.acquire().await;
                Instant::now()
            });
        }
        let mut done: Vec<Instant> = set.join_all().await;
        done.sort();
        let last = done.last().unwrap().duration_since(start).as_secs_f64();
        assert!((2.99..=3.01).contains(&last), "{last}");
        // Never more than burst + rate*t tokens by time t.
        for (i, t) in done.iter().enumerate() {
            let allowed = 10.0 + 10.0 * t.duration_since(start).as_secs_f64() + 1e-6;
            assert!((i + 1) as f64 <= allowed, "call {i} at {t:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn idle_time_refills_only_up_to_burst() {
        let bucket = TokenBucket::new(5.0, 5.0);
        tokio::time::sleep(Duration::from_secs(60)).await;
        let start = Instant::now();
        for _ in 0..10 {
            bucket.acquire().await;
        }
        let elapsed = start.elapsed().as_secs_f64();
        assert!((0.99..=1.01).contains(&elapsed), "{elapsed}");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let b = Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_secs(2),
        };
        assert_eq!(b.ceiling(0), Duration::from_millis(100));
        assert_eq!(b.ceiling(3), Duration::from_millis(800));
        assert_eq!(b.ceiling(10), Duration::from_secs(2));
        assert_eq!(b.ceiling(1000), Duration::from_secs(2));
        for attempt in 0..10 {
            assert!(b.delay(attempt) <= b.ceiling(attempt));
        }
    }
}
