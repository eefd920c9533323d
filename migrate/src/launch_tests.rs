use std::sync::Arc;
use std::time::Duration;

use aws_sdk_ecs::Client;
use aws_sdk_ecs::error::ErrorMetadata;
use aws_sdk_ecs::operation::run_task::{RunTaskError, RunTaskOutput};
use aws_sdk_ecs::types::error::ClientException;
use aws_sdk_ecs::types::{Failure, Task};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::ctx::{Ctx, Ledger};
use crate::events::NoEvents;
use crate::journal::{BotState, Journal, read};

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

fn ok_task(arn: &str) -> RunTaskOutput {
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

fn policy(max_attempts: u32) -> RetryPolicy {
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
    let arn = attempt_launch(&ecs, &target(), &bot(), "sb").await.unwrap();
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
    .unwrap_err();
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
        journal: Journal::create(dir, "S", &target(), "run1").unwrap(),
        events: Arc::new(NoEvents),
        ledger: Ledger::default(),
    })
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
        Arc::new(Semaphore::new(10)),
        Arc::new(TokenBucket::new(20.0, 20.0)),
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
async fn stop_prevents_new_intents_and_launch_failures_are_journaled() {
    let rule = mock!(Client::run_task).then_output(capacity_failure);
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&rule]);
    let dir = tempfile::tempdir().unwrap();
    let ctx = ctx(ecs, dir.path());
    let (tx, _rx) = mpsc::unbounded_channel();
    launch_all(
        ctx.clone(),
        jobs(2),
        Arc::new(Semaphore::new(10)),
        Arc::new(TokenBucket::new(20.0, 20.0)),
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
            outcome: crate::report::Outcome::LaunchFailed { .. },
            ..
        }
    )));
    assert_eq!(rule.num_calls(), 4);

    let stop = CancellationToken::new();
    stop.cancel();
    let launched = launch_all(
        ctx.clone(),
        jobs(5),
        Arc::new(Semaphore::new(10)),
        Arc::new(TokenBucket::new(20.0, 20.0)),
        policy(2),
        tx,
        stop,
    )
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

/// ListTasks as ECS answers it: `startedBy` must be the only filter (and then lists running
/// tasks); stopped tasks are listed by family. Rules: [refusal, running by startedBy, stopped by
/// family].
fn list_tasks_like_ecs(running: Vec<String>, stopped: Vec<String>) -> [aws_smithy_mocks::Rule; 3] {
    use aws_sdk_ecs::operation::list_tasks::{ListTasksError, ListTasksOutput};
    use aws_sdk_ecs::types::error::InvalidParameterException;
    let refuse = mock!(Client::list_tasks)
        .match_requests(|r| r.started_by().is_some() && (r.desired_status().is_some() || r.family().is_some()))
        .then_error(|| {
            ListTasksError::InvalidParameterException(
                InvalidParameterException::builder()
                    .message("When you specify startedBy as the filter, it must be the only filter that you use.")
                    .build(),
            )
        });
    let running_rule = mock!(Client::list_tasks)
        .match_requests(|r| r.started_by() == Some("old-sb") && r.desired_status().is_none())
        .then_output(move || {
            ListTasksOutput::builder()
                .set_task_arns(Some(running.clone()))
                .build()
        });
    let stopped_rule = mock!(Client::list_tasks)
        .match_requests(|r| {
            r.family() == Some("embed") && r.desired_status() == Some(&DesiredStatus::Stopped)
        })
        .then_output(move || {
            ListTasksOutput::builder()
                .set_task_arns(Some(stopped.clone()))
                .build()
        });
    [refuse, running_rule, stopped_rule]
}

#[tokio::test(start_paused = true)]
async fn a_stopped_earlier_task_is_found_through_its_family() {
    use aws_sdk_ecs::operation::describe_tasks::DescribeTasksOutput;
    use aws_sdk_ecs::types::{ContainerOverride, TaskOverride};
    let b = bot();
    let keys = b.keys_json();
    let [refuse, running, stopped] = list_tasks_like_ecs(
        vec![],
        vec!["arn:task/c/other".into(), "arn:task/c/old".into()],
    );
    let task = move |arn: &str, started_by: &str| {
        Task::builder()
            .task_arn(arn)
            .started_by(started_by)
            .overrides(
                TaskOverride::builder()
                    .container_overrides(
                        ContainerOverride::builder()
                            .name("Container")
                            .command(keys.clone())
                            .build(),
                    )
                    .build(),
            )
            .build()
    };
    // Another run's task for the same bot is not this intent's task.
    let describe = mock!(Client::describe_tasks).then_output(move || {
        DescribeTasksOutput::builder()
            .tasks(task("arn:task/c/other", "another-run"))
            .tasks(task("arn:task/c/old", "old-sb"))
            .build()
    });
    let ecs = mock_client!(
        aws_sdk_ecs,
        RuleMode::MatchAny,
        [&refuse, &running, &stopped, &describe]
    );
    assert_eq!(
        find_existing_task(&ecs, &target(), &b, "old-sb")
            .await
            .unwrap(),
        Some("arn:task/c/old".to_owned())
    );
}

#[tokio::test(start_paused = true)]
async fn an_earlier_task_is_adopted_not_launched_again() {
    use aws_sdk_ecs::operation::describe_tasks::DescribeTasksOutput;
    use aws_sdk_ecs::types::{ContainerOverride, TaskOverride};
    let b = bot();
    let keys = b.keys_json();
    let [refuse, running, stopped] = list_tasks_like_ecs(vec!["arn:task/c/old".into()], vec![]);
    let describe = mock!(Client::describe_tasks).then_output(move || {
        DescribeTasksOutput::builder()
            .tasks(
                Task::builder()
                    .task_arn("arn:task/c/old")
                    .started_by("old-sb")
                    .overrides(
                        TaskOverride::builder()
                            .container_overrides(
                                ContainerOverride::builder()
                                    .name("Container")
                                    .command("-u")
                                    .command("embedding/main.py")
                                    .command(keys.clone())
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
    let run = mock!(Client::run_task).then_output(|| ok_task("arn:task/c/new"));
    let ecs = mock_client!(
        aws_sdk_ecs,
        RuleMode::MatchAny,
        [&refuse, &running, &stopped, &describe, &run]
    );
    assert_eq!(
        find_existing_task(&ecs, &target(), &b, "old-sb")
            .await
            .unwrap(),
        Some("arn:task/c/old".to_owned())
    );

    let dir = tempfile::tempdir().unwrap();
    let ctx = ctx(ecs, dir.path());
    let (tx, mut rx) = mpsc::unbounded_channel();
    launch_all(
        ctx.clone(),
        vec![LaunchJob {
            bot: b.clone(),
            started_by: b.started_by("run2"),
            check_existing: Some("old-sb".into()),
        }],
        Arc::new(Semaphore::new(1)),
        Arc::new(TokenBucket::new(20.0, 20.0)),
        policy(2),
        tx,
        CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(run.num_calls(), 0, "never a second task");
    assert!(rx.recv().await.is_some());
    assert!(matches!(
        &read(ctx.journal.path()).unwrap().bots[&b],
        BotState::Running { task_arn, .. } if task_arn == "arn:task/c/old"
    ));
}
