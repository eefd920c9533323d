use std::sync::Arc;
use std::time::Duration;

use aws_sdk_ecs::Client;
use aws_sdk_ecs::error::ErrorMetadata;
use aws_sdk_ecs::operation::run_task::{RunTaskError, RunTaskOutput};
use aws_sdk_ecs::types::error::ClientException;
use aws_sdk_ecs::types::{AssignPublicIp, Failure, LaunchType, Task};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::events::NoEvents;
use crate::ratelimit::Backoff;
use crate::reembed::ctx::{Ctx, Ledger};
use crate::reembed::journal::Journal;
use crate::reembed::journal_state::{BotState, read};
use crate::reembed::run_task::*;
use crate::reembed::target::MigrationTarget;

pub(crate) fn target() -> MigrationTarget {
    MigrationTarget {
        table: "T".into(),
        cluster: "cluster".into(),
        task_definition: "embed:1".into(),
        container: "Container".into(),
        subnets: vec!["subnet-0".into(), "subnet-1".into()],
        security_groups: vec!["sg-1".into()],
        assign_public_ip: false,
    }
}

pub(crate) fn ok_task(arn: &str) -> RunTaskOutput {
    RunTaskOutput::builder()
        .tasks(Task::builder().task_arn(arn).build())
        .build()
}

fn capacity_failure() -> RunTaskOutput {
    RunTaskOutput::builder()
        .failures(
            Failure::builder()
                .reason("Capacity is unavailable at this time")
                .detail("try again")
                .build(),
        )
        .build()
}

fn throttled() -> RunTaskError {
    RunTaskError::generic(
        ErrorMetadata::builder()
            .code("ThrottlingException")
            .message("Rate exceeded")
            .build(),
    )
}

pub(crate) fn policy(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        backoff: Backoff {
            base: Duration::from_millis(10),
            max: Duration::from_secs(1),
        },
    }
}

fn bot() -> BotKey {
    BotKey::new("user-1", "user-1#BOT#bot-1")
}

#[tokio::test(start_paused = true)]
async fn request_follows_the_task_contract() {
    let rule = mock!(Client::run_task)
        .match_requests(|r| {
            let vpc = r
                .network_configuration()
                .and_then(|n| n.awsvpc_configuration())
                .unwrap();
            let o = &r.overrides().unwrap().container_overrides()[0];
            r.cluster() == Some("cluster")
                && r.launch_type() == Some(&LaunchType::Fargate)
                && r.task_definition() == Some("embed:1")
                && r.count() == Some(1)
                && vpc.subnets() == ["subnet-0", "subnet-1"]
                && vpc.security_groups() == ["sg-1"]
                && vpc.assign_public_ip() == Some(&AssignPublicIp::Disabled)
                && o.name() == Some("Container")
                && o.command()
                    == [
                        "-u",
                        "embedding/main.py",
                        r#"{"PK":{"S":"user-1"},"SK":{"S":"user-1#BOT#bot-1"}}"#,
                    ]
                && r.started_by() == Some("sb")
                && r.client_token() == Some("sb")
        })
        .then_output(|| ok_task("arn:task/cluster/t1"));
    let ecs = mock_client!(aws_sdk_ecs, [&rule]);
    let arn = attempt_launch(&ecs, &target(), &bot(), "sb", "sb")
        .await
        .unwrap();
    assert_eq!(arn, "arn:task/cluster/t1");
}

#[tokio::test(start_paused = true)]
async fn failures_in_the_answer_are_retried_then_succeed() {
    let rule = mock!(Client::run_task)
        .sequence()
        .output(capacity_failure)
        .times(2)
        .output(|| ok_task("arn:task/c/ok"))
        .build();
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::Sequential, [&rule]);
    let limiter = TokenBucket::new(20.0, 20.0);
    let retries = std::sync::Mutex::new(Vec::new());
    let arn = launch_with_retries(
        &ecs,
        &target(),
        &bot(),
        "sb",
        &limiter,
        policy(5),
        false,
        |a, r| retries.lock().unwrap().push((a, r.to_owned())),
    )
    .await
    .unwrap();
    assert_eq!(arn, "arn:task/c/ok");
    assert_eq!(rule.num_calls(), 3);
    let retries = retries.into_inner().unwrap();
    assert_eq!(retries.len(), 2);
    assert!(
        retries[0].1.contains("Capacity is unavailable"),
        "{retries:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_a_capacity_failure_takes_a_new_client_token_with_the_same_started_by() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let rule = {
        let seen = seen.clone();
        mock!(Client::run_task)
            .match_requests(move |r| {
                let pair = (
                    r.client_token().unwrap_or_default().to_owned(),
                    r.started_by().unwrap_or_default().to_owned(),
                );
                seen.lock().unwrap().push(pair);
                true
            })
            .sequence()
            .output(capacity_failure)
            .error(throttled)
            .output(|| ok_task("arn:task/c/ok"))
            .build()
    };
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::Sequential, [&rule]);
    let limiter = TokenBucket::new(20.0, 20.0);
    let arn = launch_with_retries(
        &ecs,
        &target(),
        &bot(),
        "sb",
        &limiter,
        policy(5),
        false,
        |_, _| {},
    )
    .await
    .unwrap();
    assert_eq!(arn, "arn:task/c/ok");
    let mut seen = seen.lock().unwrap().clone();
    seen.dedup();
    let pair = |t: &str| (t.to_owned(), "sb".to_owned());
    // Calls in a row with one token show once: throttling keeps the token, a capacity failure
    // changes it.
    assert_eq!(seen, [pair("sb"), pair("sb-r1")]);
}

#[tokio::test(start_paused = true)]
async fn throttling_and_5xx_are_retried() {
    let rule = mock!(Client::run_task)
        .sequence()
        .error(throttled)
        .http_status(503, None)
        .error(|| {
            RunTaskError::generic(
                ErrorMetadata::builder()
                    .code("ClientException")
                    .message("Rate exceeded")
                    .build(),
            )
        })
        .output(|| ok_task("arn:task/c/ok"))
        .build();
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::Sequential, [&rule]);
    let limiter = TokenBucket::new(20.0, 20.0);
    let arn = launch_with_retries(
        &ecs,
        &target(),
        &bot(),
        "sb",
        &limiter,
        policy(8),
        false,
        |_, _| {},
    )
    .await
    .unwrap();
    assert_eq!(arn, "arn:task/c/ok");
    assert_eq!(rule.num_calls(), 4);
}

#[tokio::test(start_paused = true)]
async fn launch_fails_after_max_attempts() {
    let rule = mock!(Client::run_task)
        .sequence()
        .error(throttled)
        .repeatedly()
        .build();
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::Sequential, [&rule]);
    let limiter = TokenBucket::new(20.0, 20.0);
    let reason = launch_with_retries(
        &ecs,
        &target(),
        &bot(),
        "sb",
        &limiter,
        policy(3),
        false,
        |_, _| {},
    )
    .await
    .unwrap_err();
    assert_eq!(rule.num_calls(), 3);
    assert!(!reason.maybe_started, "throttling is a refusal");
    let reason = reason.reason;
    assert!(reason.starts_with("gave up after 3 attempts"), "{reason}");
    assert!(reason.contains("Rate exceeded"), "{reason}");
}

#[tokio::test(start_paused = true)]
async fn a_bad_request_is_not_retried() {
    let rule = mock!(Client::run_task).then_error(|| {
        RunTaskError::ClientException(ClientException::builder().message("bad").build())
    });
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&rule]);
    let limiter = TokenBucket::new(20.0, 20.0);
    let reason = launch_with_retries(
        &ecs,
        &target(),
        &bot(),
        "sb",
        &limiter,
        policy(5),
        false,
        |_, _| {},
    )
    .await
    .unwrap_err()
    .reason;
    assert_eq!(rule.num_calls(), 1);
    assert!(reason.contains("bad"), "{reason}");
}

pub(crate) fn ctx(ecs: Client, dir: &std::path::Path) -> Arc<Ctx> {
    let ddb = mock_client!(
        aws_sdk_dynamodb,
        RuleMode::MatchAny,
        Vec::<&aws_smithy_mocks::Rule>::new()
    );
    Arc::new(Ctx {
        ecs,
        ddb,
        target: target(),
        journal: Journal::create(dir, "S", &target(), None, "run1").unwrap(),
        events: Arc::new(NoEvents),
        ledger: Ledger::default(),
    })
}

pub(crate) fn limits(max_running: usize) -> Limits {
    Limits {
        cap: Arc::new(Semaphore::new(max_running)),
        limiter: Arc::new(TokenBucket::new(20.0, 20.0)),
        launching: 256,
    }
}

fn jobs(n: usize) -> Vec<LaunchJob> {
    (0..n)
        .map(|i| {
            let bot = BotKey::new(format!("u{i}"), format!("u{i}#BOT#b"));
            LaunchJob {
                started_by: bot.started_by("run1"),
                bot,
                check_existing: None,
            }
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn launch_all_reaches_the_rate_limit_and_journals_each_bot() {
    let rule = mock!(Client::run_task)
        .then_compute_output(|r| ok_task(&format!("arn:task/c/{}", r.started_by().unwrap())));
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&rule]);
    let dir = tempfile::tempdir().unwrap();
    let ctx = ctx(ecs, dir.path());
    let (tx, mut rx) = mpsc::unbounded_channel();
    // Stands in for the tracker: every task stops at once and frees its slot.
    let drain = tokio::spawn(async move {
        let mut n = 0;
        while rx.recv().await.is_some() {
            n += 1;
        }
        n
    });
    let start = Instant::now();
    let launched = launch_all(
        ctx.clone(),
        jobs(100),
        limits(10),
        policy(3),
        tx,
        CancellationToken::new(),
    )
    .await
    .unwrap();
    let elapsed = start.elapsed().as_secs_f64();
    assert_eq!(launched, 100);
    assert_eq!(drain.await.unwrap(), 100);
    // Burst of 20, then 80 at 20/s.
    assert!((3.9..=4.1).contains(&elapsed), "{elapsed}");
    let state = read(ctx.journal.path()).unwrap();
    assert_eq!(state.bots.len(), 100);
    assert!(
        state
            .bots
            .values()
            .all(|s| matches!(s, BotState::Running { .. }))
    );
}

#[tokio::test(start_paused = true)]
async fn launches_under_way_are_bounded_whatever_the_cap() {
    let rule = mock!(Client::run_task)
        .then_compute_output(|r| ok_task(&format!("arn:task/c/{}", r.started_by().unwrap())));
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&rule]);
    let dir = tempfile::tempdir().unwrap();
    let ctx = ctx(ecs, dir.path());
    let (tx, _rx) = mpsc::unbounded_channel();
    let pulled = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = pulled.clone();
    let jobs = jobs(1000).into_iter().inspect(move |_| {
        counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    });
    let stop = CancellationToken::new();
    // A cap far above the bot count and one RunTask per second: all but the first launch wait
    // for a token.
    let limits = Limits {
        cap: Arc::new(Semaphore::new(100_000)),
        limiter: Arc::new(TokenBucket::new(1.0, 1.0)),
        launching: 8,
    };
    let launcher = tokio::spawn(launch_all(
        ctx.clone(),
        jobs,
        limits,
        policy(1),
        tx,
        stop.clone(),
    ));
    tokio::time::sleep(Duration::from_millis(4500)).await;
    // Five launched (a token a second), eight under way, and the one pulled that waits for a slot.
    assert_eq!(pulled.load(std::sync::atomic::Ordering::Relaxed), 5 + 8 + 1);
    stop.cancel();
    assert_eq!(launcher.await.unwrap().unwrap(), 5);
}

#[tokio::test(start_paused = true)]
async fn stop_prevents_new_intents_and_launch_failures_are_journaled() {
    let rule = mock!(Client::run_task).then_output(capacity_failure);
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&rule]);
    let dir = tempfile::tempdir().unwrap();
    let ctx = ctx(ecs, dir.path());
    let (tx, _rx) = mpsc::unbounded_channel();
    launch_all(
        ctx.clone(),
        jobs(2),
        limits(10),
        policy(2),
        tx.clone(),
        CancellationToken::new(),
    )
    .await
    .unwrap();
    let state = read(ctx.journal.path()).unwrap();
    assert_eq!(state.bots.len(), 2);
    assert!(state.bots.values().all(|s| matches!(
        s,
        BotState::Done {
            outcome: crate::reembed::outcome::Outcome::LaunchFailed { .. },
            ..
        }
    )));
    assert_eq!(rule.num_calls(), 4);

    let stop = CancellationToken::new();
    stop.cancel();
    let launched = launch_all(ctx.clone(), jobs(5), limits(10), policy(2), tx, stop)
        .await
        .unwrap();
    assert_eq!(launched, 0);
    assert_eq!(rule.num_calls(), 4, "no RunTask after stop");
    assert_eq!(
        read(ctx.journal.path()).unwrap().bots.len(),
        2,
        "no new intent"
    );
}
