//! How the re-embed starts one bot's work: one RunTask call with the bot's command
//! (docs/bedrock-chat-contract.md, "The embedding task"), retried under the token bucket with
//! backoff, each failure classified by what ECS answered (or did not).

use aws_sdk_ecs::Client;
use aws_sdk_ecs::config::http::HttpResponse;
use aws_sdk_ecs::config::retry::RetryConfig;
use aws_sdk_ecs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, ContainerOverride, LaunchType, NetworkConfiguration,
    TaskOverride,
};

use super::bot::BotKey;
use super::target::MigrationTarget;
use crate::ecs_task::started_task;
use crate::error_text::AwsError;
use crate::ratelimit::{Backoff, TokenBucket};

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub backoff: Backoff,
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
