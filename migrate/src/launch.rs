//! One RunTask per bot, under a token bucket and an in-flight cap, with retries.
//!
//! Exactly-once: every launch carries `startedBy` = `mig-<run id>-<bot hash>` (also the RunTask
//! `clientToken`, so AWS itself de-duplicates a retried call; after a capacity failure, whose
//! answer ECS would replay for that token, the next attempt takes `<startedBy>-r<n>`) and is preceded by a fsynced `intent`
//! journal line. A bot whose journal ends at `intent` may have a task that the process never heard
//! of; before launching it again, `ListTasks(startedBy=...)` (running and stopped) and
//! `DescribeTasks` look for a task whose command carries this bot's keys, and that task is adopted.

use std::sync::Arc;

use aws_sdk_ecs::Client;
use aws_sdk_ecs::config::http::HttpResponse;
use aws_sdk_ecs::config::retry::RetryConfig;
use aws_sdk_ecs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ecs::operation::run_task::RunTaskOutput;
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, ContainerOverride, LaunchType, NetworkConfiguration,
    TaskOverride,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::bot::BotKey;
use crate::ctx::Ctx;
use crate::error_text::AwsError;
use crate::events::Event;
pub use crate::existing::find_existing_task;
use crate::journal::{Entry, JournalError};
use crate::ratelimit::{Backoff, TokenBucket};
use crate::report::Outcome;
use crate::target::MigrationTarget;
use crate::track::Tracked;

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub backoff: Backoff,
}

/// One bot to launch.
#[derive(Debug, Clone)]
pub(crate) struct LaunchJob {
    pub bot: BotKey,
    pub started_by: String,
    /// The `startedBy` of an earlier launch that may have started a task without journaling it:
    /// look for that task first.
    pub check_existing: Option<String>,
}

/// Why one RunTask attempt did not start a task, as far as the caller knows. Each holds what
/// happened in one line: the service's `<code>: <message>`, or why no answer came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptError {
    /// Throttling: refused before ECS looked at it, nothing started; worth another attempt.
    Retryable(String),
    /// Capacity `failures` (a 200 answer without a task): nothing started, and ECS keeps that
    /// answer for the client token, so the next attempt needs a new one.
    Capacity(String),
    /// No answer (timeout, dropped connection, unreadable answer) or a 5xx: worth another attempt,
    /// and the call may have started a task all the same.
    Unanswered(String),
    /// The request itself is wrong (missing cluster, bad parameter, access denied).
    Fatal(String),
}

/// Why a launch ended without a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GaveUp {
    pub reason: String,
    /// An attempt went unanswered: a task may run under the launch's `startedBy` anyway.
    pub maybe_started: bool,
}

/// Builds the RunTask call of docs/bedrock-chat-contract.md ("The embedding task").
pub fn run_task_request(
    ecs: &Client,
    target: &MigrationTarget,
    bot: &BotKey,
    started_by: &str,
    client_token: &str,
) -> Result<aws_sdk_ecs::operation::run_task::builders::RunTaskFluentBuilder, AwsError> {
    let vpc = AwsVpcConfiguration::builder()
        .set_subnets(Some(target.subnets.clone()))
        .set_security_groups(Some(target.security_groups.clone()))
        .assign_public_ip(if target.assign_public_ip {
            AssignPublicIp::Enabled
        } else {
            AssignPublicIp::Disabled
        })
        .build()
        .map_err(|e| AwsError::other("RunTask", e))?;
    Ok(ecs
        .run_task()
        .cluster(&target.cluster)
        .launch_type(LaunchType::Fargate)
        .task_definition(&target.task_definition)
        .count(1)
        .started_by(started_by)
        .client_token(client_token)
        .network_configuration(
            NetworkConfiguration::builder()
                .awsvpc_configuration(vpc)
                .build(),
        )
        .overrides(
            TaskOverride::builder()
                .container_overrides(
                    ContainerOverride::builder()
                        .name(&target.container)
                        .set_command(Some(bot.command()))
                        .build(),
                )
                .build(),
        ))
}

/// One RunTask call. SDK retries are off for it: this module owns the retry loop, so that capacity
/// `failures` (a 200 answer) and throttling share one backoff and one attempt budget.
pub async fn attempt_launch(
    ecs: &Client,
    target: &MigrationTarget,
    bot: &BotKey,
    started_by: &str,
    client_token: &str,
) -> Result<String, AttemptError> {
    let request = run_task_request(ecs, target, bot, started_by, client_token)
        .map_err(|e| AttemptError::Fatal(e.summary().to_owned()))?;
    let answer = request
        .customize()
        .config_override(
            aws_sdk_ecs::config::Builder::default().retry_config(RetryConfig::disabled()),
        )
        .send()
        .await;
    match answer {
        Ok(out) => started_task(&out).map_err(|failures| {
            AttemptError::Capacity(if failures.is_empty() {
                "RunTask returned neither a task nor a failure".to_owned()
            } else {
                format!("RunTask failures: {}", failures.join("; "))
            })
        }),
        Err(err) => Err(classify(err)),
    }
}

/// RunTask's answer: the started task's ARN, or each of its `failures` as "reason: detail"
/// (a capacity shortage answers 200 with no task, never an error).
pub(crate) fn started_task(out: &RunTaskOutput) -> Result<String, Vec<String>> {
    if let Some(arn) = out.tasks().iter().find_map(|t| t.task_arn()) {
        return Ok(arn.to_owned());
    }
    Err(out
        .failures()
        .iter()
        .map(|f| match (f.reason(), f.detail()) {
            (Some(r), Some(d)) => format!("{r}: {d}"),
            (Some(r), None) => r.to_owned(),
            (None, Some(d)) => d.to_owned(),
            (None, None) => "unspecified failure".to_owned(),
        })
        .collect())
}

fn classify<E>(err: SdkError<E, HttpResponse>) -> AttemptError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let kind = attempt_kind(&err);
    kind(AwsError::new("RunTask", err).summary().to_owned())
}

/// Which kind of failure `err` is, by the service's answer (or its absence).
fn attempt_kind<E>(err: &SdkError<E, HttpResponse>) -> fn(String) -> AttemptError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match err {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let code = err.code().unwrap_or_default();
            let message = err.message().unwrap_or_default();
            let throttled = matches!(
                code,
                "ThrottlingException" | "Throttling" | "TooManyRequestsException"
            ) || message.contains("Rate exceeded")
                || status == 429;
            if status >= 500 || code == "ServerException" {
                AttemptError::Unanswered
            } else if throttled {
                AttemptError::Retryable
            } else {
                AttemptError::Fatal
            }
        }
        // Never sent: nothing can have started.
        SdkError::ConstructionFailure(_) => AttemptError::Retryable,
        // Timeouts and connection trouble: the call may or may not have reached ECS; the client
        // token makes a repeat harmless on AWS.
        _ => AttemptError::Unanswered,
    }
}

/// What to do about a launch that failed with `last`: the report's reason ends with it.
fn advice(last: &AttemptError) -> &'static str {
    match last {
        AttemptError::Retryable(_) => {
            "ECS throttled RunTask on every attempt: lower --rate, then launch it again with \
             `cargo xtask migrate --resume`"
        }
        AttemptError::Capacity(_) => {
            "Fargate had no capacity for the task: wait a few minutes, then launch it again with \
             `cargo xtask migrate --resume`"
        }
        AttemptError::Unanswered(_) => {
            "ECS did not answer: check the network and the AWS endpoint, then launch it again with \
             `cargo xtask migrate --resume`"
        }
        AttemptError::Fatal(_) => {
            "ECS refused the request: check the target (cluster, task definition, container, \
             subnets, security groups) and the permissions, then launch it again with \
             `cargo xtask migrate --resume`"
        }
    }
}

impl AttemptError {
    fn text(&self) -> &str {
        match self {
            Self::Retryable(t) | Self::Capacity(t) | Self::Unanswered(t) | Self::Fatal(t) => t,
        }
    }
}

/// Launches `bot` with up to `policy.max_attempts` RunTask calls, each behind the token bucket
/// (`first_token_taken`: the caller already holds the first call's token).
/// `on_retry(attempt, reason)` hears about every failed attempt that will be retried.
#[allow(clippy::too_many_arguments)] // plain values that the tests vary one by one
pub async fn launch_with_retries(
    ecs: &Client,
    target: &MigrationTarget,
    bot: &BotKey,
    started_by: &str,
    limiter: &TokenBucket,
    policy: RetryPolicy,
    first_token_taken: bool,
    on_retry: impl Fn(u32, &str),
) -> Result<String, GaveUp> {
    let max = policy.max_attempts.max(1);
    let mut attempt = 1;
    let mut maybe_started = false;
    let mut client_token = started_by.to_owned();
    if !first_token_taken {
        limiter.acquire().await;
    }
    loop {
        let failed = match attempt_launch(ecs, target, bot, started_by, &client_token).await {
            Ok(arn) => return Ok(arn),
            Err(failed) => failed,
        };
        match &failed {
            AttemptError::Fatal(text) => {
                return Err(GaveUp {
                    reason: format!("RunTask refused: {text}. {}", advice(&failed)),
                    maybe_started,
                });
            }
            AttemptError::Unanswered(_) => maybe_started = true,
            AttemptError::Retryable(_) => {}
            AttemptError::Capacity(_) => client_token = format!("{started_by}-r{attempt}"),
        }
        if attempt >= max {
            return Err(GaveUp {
                reason: format!(
                    "gave up after {attempt} attempts: {}. {}",
                    failed.text(),
                    advice(&failed)
                ),
                maybe_started,
            });
        }
        on_retry(attempt, failed.text());
        tokio::time::sleep(policy.backoff.delay(attempt - 1)).await;
        limiter.acquire().await;
        attempt += 1;
    }
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
