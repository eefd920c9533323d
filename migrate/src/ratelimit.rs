//! Token bucket for RunTask (AWS's own model for the Fargate limit: bucket of `burst`, refill at
//! `rate`/s) and the retry backoff.

use std::sync::Mutex;
use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;

pub struct TokenBucket {
    rate: f64,
    burst: f64,
    state: Mutex<State>,
}

struct State {
    /// Negative when callers have reserved tokens that are not refilled yet.
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// `rate` tokens per second, a full bucket of `burst` at the start.
    pub fn new(rate: f64, burst: f64) -> Self {
        let rate = if rate.is_finite() && rate > 0.0 {
            rate
        } else {
            1.0
        };
        let burst = burst.max(1.0);
        Self {
            rate,
            burst,
            state: Mutex::new(State {
                tokens: burst,
                last: Instant::now(),
            }),
        }
    }

    /// Waits until a token is available. Each caller reserves its token before sleeping, so waiters
    /// are served in call order and the long-run rate never exceeds `rate`.
    pub async fn acquire(&self) {
        let wait = {
            let mut s = self.state.lock().expect("token bucket lock");
            let now = Instant::now();
            let elapsed = now.saturating_duration_since(s.last).as_secs_f64();
            s.tokens = (s.tokens + elapsed * self.rate).min(self.burst);
            s.last = now;
            s.tokens -= 1.0;
            if s.tokens >= 0.0 {
                Duration::ZERO
            } else {
                Duration::from_secs_f64(-s.tokens / self.rate)
            }
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
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
