//! The launch phase of the re-embed: one bot at a time under a token bucket and an in-flight cap,
//! each launch journaled before its RunTask (`run_task.rs`) and handed to the tracker after.
//!
//! Exactly-once: every launch carries `startedBy` = `mig-<run id>-<bot hash>` (also the RunTask
//! `clientToken`, so AWS itself de-duplicates a retried call; after a capacity failure, whose
//! answer ECS would replay for that token, the next attempt takes `<startedBy>-r<n>`) and is preceded by a fsynced `intent`
//! journal line. A bot whose journal ends at `intent` may have a task that the process never heard
//! of; before launching it again, `ListTasks(startedBy=...)` (running and stopped) and
//! `DescribeTasks` look for a task whose command carries this bot's keys, and that task is adopted.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::bot::BotKey;
use super::ctx::Ctx;
use super::events::Event;
use super::existing::find_existing_task;
use super::journal::Entry;
use super::outcome::Outcome;
use super::run_task::{GaveUp, RetryPolicy, launch_with_retries};
use super::track::Tracked;
use crate::journal_file::JournalError;
use crate::ratelimit::TokenBucket;

/// One bot to launch.
#[derive(Debug, Clone)]
pub(crate) struct LaunchJob {
    pub bot: BotKey,
    pub started_by: String,
    /// The `startedBy` of an earlier launch that may have started a task without journaling it:
    /// look for that task first.
    pub check_existing: Option<String>,
}

/// What paces the launches.
#[derive(Clone)]
pub(crate) struct Limits {
    /// Running tasks (`--max-running`): a launch takes a permit, its task gives it back when ECS
    /// says STOPPED.
    pub cap: Arc<Semaphore>,
    /// RunTask calls per second.
    pub limiter: Arc<TokenBucket>,
    /// Launches in progress at once: waiting for a token, calling RunTask or backing off.
    pub launching: usize,
}

/// Launches every job, at most `limits.cap` tasks in flight; running tasks go to the tracker with
/// their permit. Returns when every job is launched or failed, or after `stop` (no new intent
/// after it; launches already past their intent finish).
///
/// Jobs are pulled one at a time and at most `limits.launching` launches are under way: each holds
/// a few KB (its future, an HTTP connection while RunTask is pending), so a generous
/// `--max-running` against a slow or throttling endpoint cannot pile up one per bot.
pub(crate) async fn launch_all(
    ctx: Arc<Ctx>,
    jobs: impl IntoIterator<Item = LaunchJob, IntoIter: Send>,
    limits: Limits,
    policy: RetryPolicy,
    tracker: mpsc::UnboundedSender<Tracked>,
    stop: CancellationToken,
) -> Result<u64, JournalError> {
    let mut running = JoinSet::new();
    let mut launched = 0u64;
    let mut first_error = None;
    for job in jobs {
        while running.len() >= limits.launching.max(1) {
            if let Some(done) = running.join_next().await {
                tally(done, &mut launched, &mut first_error, &stop);
            }
        }
        let permit = tokio::select! {
            biased;
            _ = stop.cancelled() => break,
            permit = limits.cap.clone().acquire_owned() => permit.expect("the cap is never closed"),
        };
        running.spawn(launch_one(
            ctx.clone(),
            job,
            permit,
            limits.limiter.clone(),
            policy,
            tracker.clone(),
            stop.clone(),
        ));
        while let Some(done) = running.try_join_next() {
            tally(done, &mut launched, &mut first_error, &stop);
        }
    }
    while let Some(done) = running.join_next().await {
        tally(done, &mut launched, &mut first_error, &stop);
    }
    ctx.events.emit(Event::LaunchStopped {
        interrupted: stop.is_cancelled(),
    });
    first_error.map_or(Ok(launched), Err)
}

fn tally(
    done: Result<Result<bool, JournalError>, tokio::task::JoinError>,
    launched: &mut u64,
    first_error: &mut Option<JournalError>,
    stop: &CancellationToken,
) {
    match done {
        Ok(Ok(true)) => *launched += 1,
        Ok(Ok(false)) => {}
        // Without a journal there is no exactly-once: stop launching.
        Ok(Err(e)) => {
            stop.cancel();
            first_error.get_or_insert(e);
        }
        Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
        Err(_) => {}
    }
}

/// Returns whether RunTask started a task.
async fn launch_one(
    ctx: Arc<Ctx>,
    job: LaunchJob,
    permit: OwnedSemaphorePermit,
    limiter: Arc<TokenBucket>,
    policy: RetryPolicy,
    tracker: mpsc::UnboundedSender<Tracked>,
    stop: CancellationToken,
) -> Result<bool, JournalError> {
    let bot = &job.bot;
    if let Some(earlier) = &job.check_existing {
        match find_existing_task(&ctx.ecs, &ctx.target, bot, earlier).await {
            Ok(Some(task_arn)) => {
                ctx.record_launched(bot, &task_arn)?;
                let _ = tracker.send(Tracked::new(bot.clone(), task_arn, Some(permit)));
                return Ok(false);
            }
            Ok(None) => {}
            Err(reason) => {
                // Launching blind could start a second task for the bot: report instead.
                let reason = format!("could not check for an earlier task: {reason}");
                ctx.record_outcome(bot, Outcome::LaunchFailed { reason }, None)?;
                return Ok(false);
            }
        }
    }
    // The first token before the intent: intents then never run ahead of the rate, so an
    // interrupt leaves at most the in-flight launches unanswered.
    limiter.acquire().await;
    if stop.is_cancelled() {
        return Ok(false);
    }
    ctx.journal.append(
        &Entry::Intent {
            pk: bot.pk.clone(),
            sk: bot.sk.clone(),
            started_by: job.started_by.clone(),
        },
        true,
    )?;
    match launch_journaled(&ctx, &job, &limiter, policy).await {
        Ok(task_arn) => {
            ctx.record_launched(bot, &task_arn)?;
            let _ = tracker.send(Tracked::new(bot.clone(), task_arn, Some(permit)));
            Ok(true)
        }
        Err(reason) => {
            ctx.record_outcome(bot, Outcome::LaunchFailed { reason }, None)?;
            Ok(false)
        }
    }
}

/// The launch after its intent is journaled: the task's ARN, or why the bot has none.
async fn launch_journaled(
    ctx: &Ctx,
    job: &LaunchJob,
    limiter: &TokenBucket,
    policy: RetryPolicy,
) -> Result<String, String> {
    let bot = &job.bot;
    let events = ctx.events.clone();
    let result = launch_with_retries(
        &ctx.ecs,
        &ctx.target,
        bot,
        &job.started_by,
        limiter,
        policy,
        true,
        |attempt, reason| {
            events.emit(Event::LaunchRetry {
                bot: bot.clone(),
                attempt,
                reason: reason.to_owned(),
            })
        },
    )
    .await;
    match result {
        Ok(task_arn) => Ok(task_arn),
        // The last answers were lost, not refusals: the task may run (AWS answers a repeated
        // client token with the first call's task, but that answer can be lost too). Reporting the
        // bot as task-less would be wrong, and its task would go untracked until a resume.
        Err(GaveUp {
            reason,
            maybe_started: true,
        }) => match find_existing_task(&ctx.ecs, &ctx.target, bot, &job.started_by).await {
            Ok(Some(task_arn)) => Ok(task_arn),
            Ok(None) => Err(reason),
            Err(e) => Err(format!(
                "{reason}; could not check whether it started a task ({e}): a resume checks again"
            )),
        },
        Err(GaveUp { reason, .. }) => Err(reason),
    }
}

#[cfg(test)]
#[path = "launch_tests.rs"]
pub(crate) mod tests;
