use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{DesiredStatus, Task};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::reembed::journal_state::{BotState, read};
use crate::reembed::launch::tests::{ctx, limits, ok_task, policy, target};
use crate::reembed::launch::{LaunchJob, launch_all};

fn bot() -> BotKey {
    BotKey::new("user-1", "user-1#BOT#bot-1")
}

/// ListTasks as ECS answers it: `startedBy` must be the only filter (and then lists running
/// tasks); stopped tasks are listed by family. Rules: [refusal, running by startedBy, stopped by
/// family].
pub(crate) fn list_tasks_like_ecs(
    running: Vec<String>,
    stopped: Vec<String>,
) -> [aws_smithy_mocks::Rule; 3] {
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
        limits(1),
        policy(2),
        tx,
        CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(run.num_calls(), 0, "never a second task");
    assert!(rx.recv().await.is_some());
    assert!(matches!(
        read(ctx.journal.path()).unwrap().bot(&b),
        Some(BotState::Running { task_arn, .. }) if *task_arn == *"arn:task/c/old"
    ));
}

fn task_of(bot: &BotKey, arn: &str, started_by: &str) -> Task {
    use aws_sdk_ecs::types::{ContainerOverride, TaskOverride};
    let command = ContainerOverride::builder()
        .name("Container")
        .set_command(Some(bot.command()))
        .build();
    Task::builder()
        .task_arn(arn)
        .started_by(started_by)
        .overrides(TaskOverride::builder().container_overrides(command).build())
        .build()
}

/// Every RunTask answer lost (5xx here; timeouts and dropped connections alike): the call may have
/// started the task, so the launch asks ECS before reporting the bot as task-less.
#[tokio::test(start_paused = true)]
async fn a_launch_whose_answers_were_lost_adopts_the_task_it_started() {
    use aws_sdk_ecs::operation::describe_tasks::DescribeTasksOutput;
    let b = bot();
    let [refuse, running, stopped] = list_tasks_like_ecs(vec!["arn:task/c/t".into()], vec![]);
    let task = task_of(&b, "arn:task/c/t", "old-sb");
    let describe = mock!(Client::describe_tasks)
        .then_output(move || DescribeTasksOutput::builder().tasks(task.clone()).build());
    let run = mock!(Client::run_task)
        .sequence()
        .http_status(500, None)
        .repeatedly()
        .build();
    let ecs = mock_client!(
        aws_sdk_ecs,
        RuleMode::MatchAny,
        [&refuse, &running, &stopped, &describe, &run]
    );
    let dir = tempfile::tempdir().unwrap();
    let ctx = ctx(ecs, dir.path());
    let (tx, mut rx) = mpsc::unbounded_channel();
    let job = LaunchJob {
        bot: b.clone(),
        started_by: "old-sb".into(),
        check_existing: None,
    };
    let launched = launch_all(
        ctx.clone(),
        vec![job],
        limits(1),
        policy(3),
        tx,
        CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(run.num_calls(), 3);
    assert_eq!(launched, 1);
    assert!(rx.recv().await.is_some(), "tracked");
    assert!(matches!(
        read(ctx.journal.path()).unwrap().bot(&b),
        Some(BotState::Running { task_arn, .. }) if *task_arn == *"arn:task/c/t"
    ));
}

/// Refusals (throttling) start nothing: the launch fails without asking ECS.
#[tokio::test(start_paused = true)]
async fn a_refused_launch_is_reported_without_a_lookup() {
    use aws_sdk_ecs::error::ErrorMetadata;
    use aws_sdk_ecs::operation::run_task::RunTaskError;
    let [refuse, running, stopped] = list_tasks_like_ecs(vec![], vec![]);
    let run = mock!(Client::run_task).then_error(|| {
        RunTaskError::generic(
            ErrorMetadata::builder()
                .code("ThrottlingException")
                .message("Rate exceeded")
                .build(),
        )
    });
    let ecs = mock_client!(
        aws_sdk_ecs,
        RuleMode::MatchAny,
        [&refuse, &running, &stopped, &run]
    );
    let dir = tempfile::tempdir().unwrap();
    let ctx = ctx(ecs, dir.path());
    let (tx, _rx) = mpsc::unbounded_channel();
    let b = bot();
    let job = LaunchJob {
        started_by: b.started_by("run1"),
        bot: b.clone(),
        check_existing: None,
    };
    let launched = launch_all(
        ctx.clone(),
        vec![job],
        limits(1),
        policy(2),
        tx,
        CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(launched, 0);
    assert_eq!(running.num_calls() + stopped.num_calls(), 0, "no lookup");
    assert!(matches!(
        read(ctx.journal.path()).unwrap().bot(&b),
        Some(BotState::Done {
            outcome: crate::reembed::outcome::Outcome::LaunchFailed { .. },
            ..
        })
    ));
}
