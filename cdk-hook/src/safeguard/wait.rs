//! One polling loop for everything a safeguard waits for (cluster snapshots, DB snapshots,
//! DynamoDB backups): each is made asynchronously and must be ready before the change set runs.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::CdkHookError;

/// One look at the thing being made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Observed {
    /// As the service spells it (`available`, `CREATING`, ...); `missing` when it is gone.
    pub status: String,
    pub percent: Option<i32>,
    pub arn: Option<String>,
}

impl Observed {
    /// What a describe showed; no status reads as `missing`.
    pub(crate) fn seen(status: Option<&str>, percent: Option<i32>, arn: Option<&str>) -> Self {
        Self {
            status: status.unwrap_or("missing").to_owned(),
            percent,
            arn: arn.map(str::to_owned),
        }
    }

    pub(crate) fn missing() -> Self {
        Self {
            status: "missing".to_owned(),
            percent: None,
            arn: None,
        }
    }
}

/// What is waited for, for the loop and its error.
pub(crate) struct Target<'a> {
    /// `cluster snapshot`, `DB snapshot`, `backup`.
    pub kind: &'static str,
    pub name: &'a str,
    pub ready: &'static str,
    /// Statuses that mean "not yet"; anything else is a failure.
    pub pending: &'static [&'static str],
}

/// Polls `look` until the status is `target.ready`; `on_progress(status, percent)` after each
/// look. Any other final status, or still pending after `timeout`, is an error: the deploy must
/// not go on without it.
pub(crate) async fn wait_until_ready<F, Fut>(
    target: Target<'_>,
    poll: Duration,
    timeout: Duration,
    mut look: F,
    mut on_progress: impl FnMut(&str, Option<i32>),
) -> Result<Observed, CdkHookError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Observed, CdkHookError>>,
{
    let started = Instant::now();
    loop {
        let seen = look().await?;
        on_progress(&seen.status, seen.percent);
        if seen.status == target.ready {
            return Ok(seen);
        }
        if !target.pending.contains(&seen.status.as_str()) || started.elapsed() >= timeout {
            return Err(CdkHookError::SnapshotFailed {
                kind: target.kind,
                snapshot: target.name.to_owned(),
                status: seen.status,
                expected: target.ready,
            });
        }
        tokio::time::sleep(poll).await;
    }
}
