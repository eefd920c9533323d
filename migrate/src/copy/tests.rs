use std::sync::{Arc, Mutex};

use aws_sdk_ecs::Client;
use aws_sdk_ecs::operation::describe_task_definition::DescribeTaskDefinitionOutput;
use aws_sdk_ecs::operation::describe_tasks::DescribeTasksOutput;
use aws_sdk_ecs::operation::run_task::RunTaskOutput;
use aws_sdk_ecs::types::{Container, Failure, Task, TaskDefinition};
use aws_smithy_mocks::{RuleMode, mock, mock_client};

use super::task::{Placement, Tracked, launch, track};
use std::time::Duration;

use super::*;
use crate::Interrupt;
use crate::ecs_task::StopInfo;
use crate::secret::SecretValue;

const ARN: &str = "arn:aws:ecs:us-east-1:1:task/cluster/abc";

fn task(status: &str) -> Task {
    let mut t = Task::builder().task_arn(ARN).last_status(status);
    if status == "STOPPED" {
        t = t
            .stopped_reason("Essential container in task exited")
            .containers(Container::builder().name("copy").exit_code(3).build());
    }
    t.build()
}

fn recorder() -> (Arc<Mutex<Vec<CopyEvent>>>, impl Fn(CopyEvent) + Send + Sync) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    (seen, move |e| sink.lock().unwrap().push(e))
}

#[tokio::test]
async fn the_execution_role_comes_from_the_embedding_task_definition() {
    let with = mock!(Client::describe_task_definition)
        .match_requests(|r| r.task_definition() == Some("Embedding"))
        .then_output(|| {
            DescribeTaskDefinitionOutput::builder()
                .task_definition(
                    TaskDefinition::builder()
                        .execution_role_arn("arn:aws:iam::1:role/exec")
                        .build(),
                )
                .build()
        });
    let without = mock!(Client::describe_task_definition).then_output(|| {
        DescribeTaskDefinitionOutput::builder()
            .task_definition(TaskDefinition::builder().build())
            .build()
    });
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::Sequential, [&with, &without]);
    assert_eq!(
        embedding_execution_role(&ecs, "Embedding").await.unwrap(),
        Some("arn:aws:iam::1:role/exec".into())
    );
    assert_eq!(embedding_execution_role(&ecs, "Other").await.unwrap(), None);
}

#[tokio::test]
async fn run_task_has_no_overrides_and_failures_are_reported() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let requests = seen.clone();
    let rule = mock!(Client::run_task).then_compute_output(move |r| {
        requests.lock().unwrap().push((
            r.overrides().is_none(),
            r.started_by().map(str::to_owned),
            r.network_configuration()
                .and_then(|n| n.awsvpc_configuration())
                .map(|v| (v.subnets().to_vec(), v.security_groups().to_vec())),
        ));
        RunTaskOutput::builder()
            .failures(
                Failure::builder()
                    .reason("RESOURCE:ENI")
                    .detail("no free address")
                    .build(),
            )
            .build()
    });
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&rule]);
    let subnets = vec!["subnet-a".to_owned(), "subnet-b".to_owned()];
    let groups = vec!["sg-1".to_owned()];
    let placement = Placement {
        cluster: "cluster",
        subnets: &subnets,
        security_groups: &groups,
        assign_public_ip: false,
    };
    let err = launch(&ecs, &placement, "arn:td:1", "token", &[])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CopyError::LaunchFailed { reasons } if reasons == "RESOURCE:ENI: no free address"),
        "{err}"
    );
    assert_eq!(
        *seen.lock().unwrap(),
        [(true, Some(STARTED_BY.to_owned()), Some((subnets, groups)))]
    );
}

#[tokio::test(start_paused = true)]
async fn tracking_follows_the_status_to_stopped_through_errors() {
    let rule = mock!(Client::describe_tasks)
        .sequence()
        .output(|| {
            DescribeTasksOutput::builder()
                .tasks(task("PENDING"))
                .build()
        })
        .http_status(400, None)
        .output(|| {
            DescribeTasksOutput::builder()
                .tasks(task("RUNNING"))
                .build()
        })
        .output(|| {
            DescribeTasksOutput::builder()
                .tasks(task("STOPPED"))
                .build()
        })
        .build();
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::Sequential, [&rule]);
    let (seen, events) = recorder();
    let interrupt = Interrupt::new();
    // A first Ctrl-C does not stop the tracking: the temporaries must outlive the task.
    interrupt.trip();
    let tracked = track(
        &ecs,
        "cluster",
        ARN,
        Duration::from_secs(5),
        &interrupt,
        &events,
    )
    .await;
    assert_eq!(
        tracked,
        Tracked::Stopped(StopInfo {
            stopped_reason: Some("Essential container in task exited".into()),
            exit_code: Some(3),
            container_reason: None,
            missing: false,
        })
    );
    let seen = seen.lock().unwrap();
    let statuses: Vec<&str> = seen
        .iter()
        .filter_map(|e| match e {
            CopyEvent::TaskStatus { status } => Some(status.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(statuses, ["PENDING", "RUNNING", "STOPPED"]);
    assert!(
        seen.iter()
            .any(|e| matches!(e, CopyEvent::Warning { message } if message.contains("DescribeTasks failed"))),
        "{seen:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_second_ctrl_c_leaves_the_task_running() {
    let rule = mock!(Client::describe_tasks).then_output(|| {
        DescribeTasksOutput::builder()
            .tasks(task("RUNNING"))
            .build()
    });
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&rule]);
    let (_, events) = recorder();
    let interrupt = Interrupt::new();
    interrupt.trip();
    interrupt.trip();
    let tracked = track(
        &ecs,
        "cluster",
        ARN,
        Duration::from_secs(5),
        &interrupt,
        &events,
    )
    .await;
    assert_eq!(
        tracked,
        Tracked::Abandoned {
            last_status: "RUNNING".into()
        }
    );
}

#[test]
fn passwords_do_not_debug_print() {
    let source = SourceConnection {
        host: "h".into(),
        port: 5432,
        username: "postgres".into(),
        password: SecretValue::new("hunter2-secret".into()),
    };
    let text = format!("{source:?}");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("<redacted>"), "{text}");
}
