use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_ecs::Client;
use aws_sdk_ecs::operation::describe_tasks::DescribeTasksOutput;
use aws_sdk_ecs::types::{Container, Failure, Task};
use aws_smithy_mocks::{RuleMode, mock, mock_client};

use aws_sdk_dynamodb::types::AttributeValue;

use super::*;
use crate::reembed::journal_state::{BotState, read};
use crate::reembed::outcome::Outcome;
use crate::reembed::verdict::verdict;

fn item(status: &str, exec: &str, reason: Option<&str>) -> HashMap<String, AttributeValue> {
    let mut m = HashMap::from([
        ("SyncStatus".to_owned(), AttributeValue::S(status.into())),
        ("LastExecId".to_owned(), AttributeValue::S(exec.into())),
    ]);
    if let Some(r) = reason {
        m.insert("SyncStatusReason".into(), AttributeValue::S(r.into()));
    }
    m
}

#[test]
fn verdict_needs_success_for_this_task() {
    let stop = StopInfo::default();
    assert_eq!(
        verdict(Some(&item("SUCCEEDED", "t1", None)), "t1", &stop),
        Outcome::Succeeded
    );
    // An earlier run's success says nothing about this task.
    let Outcome::Failed { reason } = verdict(Some(&item("SUCCEEDED", "t0", None)), "t1", &stop)
    else {
        panic!()
    };
    assert!(reason.contains("never recorded"), "{reason}");
    assert_eq!(
        verdict(Some(&item("FAILED", "t1", Some("bad pdf"))), "t1", &stop),
        Outcome::Failed {
            reason: "bad pdf".into()
        }
    );
    let crashed = StopInfo {
        stopped_reason: Some("Essential container in task exited".into()),
        exit_code: Some(137),
        ..StopInfo::default()
    };
    let Outcome::Failed { reason } = verdict(Some(&item("RUNNING", "t1", None)), "t1", &crashed)
    else {
        panic!()
    };
    assert!(reason.contains("exit code 137"), "{reason}");
    assert!(reason.contains("Essential container"), "{reason}");
    assert!(reason.contains("still RUNNING"), "{reason}");
    assert_eq!(
        verdict(None, "t1", &stop),
        Outcome::Failed {
            reason: "the bot item no longer exists".into()
        }
    );
}

#[tokio::test]
async fn describe_tasks_goes_in_batches_of_100() {
    let sizes = Arc::new(Mutex::new(Vec::new()));
    let seen = sizes.clone();
    let rule = mock!(Client::describe_tasks).then_compute_output(move |r| {
        seen.lock().unwrap().push(r.tasks().len());
        let tasks = r
            .tasks()
            .iter()
            .enumerate()
            .map(|(i, arn)| {
                Task::builder()
                    .task_arn(arn)
                    .last_status(if i % 2 == 0 { "STOPPED" } else { "RUNNING" })
                    .stopped_reason("done")
                    .containers(Container::builder().name("Container").exit_code(0).build())
                    .build()
            })
            .collect();
        DescribeTasksOutput::builder()
            .set_tasks(Some(tasks))
            .build()
    });
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&rule]);
    let arns: Vec<String> = (0..250).map(|i| format!("arn:task/c/{i}")).collect();
    let stopped = describe_stopped(&ecs, "c", "Container", &arns)
        .await
        .unwrap();
    assert_eq!(*sizes.lock().unwrap(), [100, 100, 50]);
    assert_eq!(stopped.len(), 125);
    assert_eq!(stopped["arn:task/c/0"].exit_code, Some(0));
}

#[tokio::test]
async fn missing_tasks_count_as_stopped() {
    let rule = mock!(Client::describe_tasks).then_output(|| {
        DescribeTasksOutput::builder()
            .failures(
                Failure::builder()
                    .arn("arn:task/c/gone")
                    .reason("MISSING")
                    .build(),
            )
            .build()
    });
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&rule]);
    let stopped = describe_stopped(&ecs, "c", "Container", &["arn:task/c/gone".into()])
        .await
        .unwrap();
    assert!(stopped["arn:task/c/gone"].missing);
}

#[tokio::test(start_paused = true)]
async fn track_all_waits_for_stop_then_reads_the_bot() {
    // Each task is RUNNING on the first look and STOPPED on the second, like moto.
    let looks = Arc::new(Mutex::new(HashMap::<String, u32>::new()));
    let describe = mock!(Client::describe_tasks).then_compute_output(move |r| {
        let mut looks = looks.lock().unwrap();
        let tasks = r
            .tasks()
            .iter()
            .map(|arn| {
                let n = looks.entry(arn.clone()).or_default();
                *n += 1;
                Task::builder()
                    .task_arn(arn)
                    .last_status(if *n >= 2 { "STOPPED" } else { "RUNNING" })
                    .build()
            })
            .collect();
        DescribeTasksOutput::builder()
            .set_tasks(Some(tasks))
            .build()
    });
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&describe]);
    let get = aws_smithy_mocks::mock!(aws_sdk_dynamodb::Client::get_item)
        .match_requests(|r| r.consistent_read() == Some(true))
        .then_compute_output(|r| {
            let sk = r.key().unwrap()["SK"].as_s().unwrap().clone();
            // Bot b0 succeeds for its task, b1 fails.
            let out = if sk.ends_with("b0") {
                item("SUCCEEDED", "t0", None)
            } else {
                item("FAILED", "t1", Some("embedding error"))
            };
            GetItemOutput::builder().set_item(Some(out)).build()
        });
    let ddb = aws_smithy_mocks::mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&get]);
    let dir = tempfile::tempdir().unwrap();
    let ctx = Arc::new(Ctx {
        ecs,
        ddb,
        target: crate::reembed::launch::tests::target(),
        journal: crate::reembed::journal::Journal::create(
            dir.path(),
            "S",
            &crate::reembed::launch::tests::target(),
            None,
            "r",
        )
        .unwrap(),
        events: Arc::new(crate::events::NoEvents),
        ledger: crate::reembed::ctx::Ledger::default(),
    });
    let (tx, rx) = mpsc::unbounded_channel();
    let cap = Arc::new(tokio::sync::Semaphore::new(2));
    for i in 0..2 {
        let permit = cap.clone().try_acquire_owned().unwrap();
        tx.send(Tracked::new(
            BotKey::new("u", format!("u#BOT#b{i}")),
            format!("arn:task/c/t{i}"),
            Some(permit),
        ))
        .unwrap();
    }
    drop(tx);
    track_all(
        ctx.clone(),
        rx,
        Duration::from_millis(10),
        false,
        CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(cap.available_permits(), 2, "slots freed");
    let state = read(ctx.journal.path()).unwrap();
    assert!(matches!(
        state.bot(&BotKey::new("u", "u#BOT#b0")),
        Some(BotState::Done { outcome: Outcome::Succeeded, task_arn: Some(a), .. }) if *a == *"arn:task/c/t0"
    ));
    assert!(matches!(
        state.bot(&BotKey::new("u", "u#BOT#b1")),
        Some(BotState::Done { outcome: Outcome::Failed { reason }, .. }) if reason == "embedding error"
    ));
}
