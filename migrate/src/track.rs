//! Tracking launched tasks until they stop, then reading the bot's own verdict.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_ecs::operation::describe_tasks::DescribeTasksOutput;
use tokio::sync::{OwnedSemaphorePermit, mpsc};
use tokio_util::sync::CancellationToken;

use crate::bot::{BotKey, task_id};
use crate::ctx::Ctx;
use crate::error_text::AwsError;
use crate::events::Event;
use crate::journal::JournalError;
use crate::report::Outcome;

/// DescribeTasks accepts at most 100 task ARNs per call.
pub const DESCRIBE_BATCH: usize = 100;

/// How a task ended, as far as ECS says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StopInfo {
    pub stopped_reason: Option<String>,
    pub exit_code: Option<i32>,
    pub container_reason: Option<String>,
    /// ECS no longer knows the task (stopped tasks are only kept for about an hour).
    pub missing: bool,
}

/// A running task and the in-flight permit it holds until it is seen STOPPED.
pub(crate) struct Tracked {
    bot: BotKey,
    task_arn: String,
    permit: Option<OwnedSemaphorePermit>,
    stopped: Option<StopInfo>,
}

impl Tracked {
    pub(crate) fn new(bot: BotKey, task_arn: String, permit: Option<OwnedSemaphorePermit>) -> Self {
        Self {
            bot,
            task_arn,
            permit,
            stopped: None,
        }
    }
}

/// One `DescribeTasks` call for a batch of at most [`DESCRIBE_BATCH`] task ARNs (callers walk
/// `arns.chunks(DESCRIBE_BATCH)`, each stopping where it has what it looks for).
pub(crate) async fn describe_batch(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    batch: &[String],
) -> Result<DescribeTasksOutput, AwsError> {
    ecs.describe_tasks()
        .cluster(cluster)
        .set_tasks(Some(batch.to_vec()))
        .send()
        .await
        .map_err(|e| AwsError::new("DescribeTasks", e))
}

/// The stopped (or missing) tasks among `arns`, keyed by ARN; one DescribeTasks per 100 ARNs.
pub async fn describe_stopped(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    container: &str,
    arns: &[String],
) -> Result<HashMap<String, StopInfo>, AwsError> {
    let mut stopped = HashMap::new();
    for chunk in arns.chunks(DESCRIBE_BATCH) {
        let out = describe_batch(ecs, cluster, chunk).await?;
        for task in out.tasks() {
            let (Some(arn), Some("STOPPED")) = (task.task_arn(), task.last_status()) else {
                continue;
            };
            let containers = task.containers();
            let main = containers
                .iter()
                .find(|c| c.name() == Some(container))
                .or_else(|| containers.iter().find(|c| c.exit_code().is_some()));
            stopped.insert(
                arn.to_owned(),
                StopInfo {
                    stopped_reason: non_empty(task.stopped_reason()),
                    exit_code: main.and_then(|c| c.exit_code()),
                    container_reason: non_empty(main.and_then(|c| c.reason())),
                    missing: false,
                },
            );
        }
        for failure in out.failures() {
            if let (Some(arn), Some("MISSING")) = (failure.arn(), failure.reason()) {
                stopped.insert(
                    arn.to_owned(),
                    StopInfo {
                        missing: true,
                        ..StopInfo::default()
                    },
                );
            }
        }
    }
    Ok(stopped)
}

fn non_empty(s: Option<&str>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty()).map(str::to_owned)
}

/// The outcome of a stopped task: success only when the bot itself says SUCCEEDED for this very
/// task (`LastExecId`), since an exit code 0 or an earlier run's status proves nothing.
pub fn verdict(
    item: Option<&HashMap<String, AttributeValue>>,
    task_id: &str,
    stop: &StopInfo,
) -> Outcome {
    let Some(item) = item else {
        return Outcome::Failed {
            reason: "the bot item no longer exists".into(),
        };
    };
    let text = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_s().ok())
            .map(String::as_str)
    };
    let status = text("SyncStatus");
    let reason = text("SyncStatusReason").filter(|r| !r.is_empty());
    let ours = text("LastExecId") == Some(task_id);
    match (status, ours) {
        (Some("SUCCEEDED"), true) => Outcome::Succeeded,
        (Some("FAILED"), true) => Outcome::Failed {
            reason: reason
                .unwrap_or("SyncStatus FAILED without a reason")
                .to_owned(),
        },
        _ => {
            let mut parts = Vec::new();
            if stop.missing {
                parts.push("ECS no longer knows the task".to_owned());
            }
            if let Some(r) = &stop.stopped_reason {
                parts.push(format!("task stopped: {r}"));
            }
            if let Some(code) = stop.exit_code {
                parts.push(format!("exit code {code}"));
            }
            if let Some(r) = &stop.container_reason {
                parts.push(r.clone());
            }
            let status = status.unwrap_or("missing");
            if ours {
                parts.push(format!("SyncStatus still {status}"));
            } else {
                parts.push(format!(
                    "the task never recorded its run on the bot (SyncStatus {status}, LastExecId {})",
                    text("LastExecId").unwrap_or("missing")
                ));
            }
            Outcome::Failed {
                reason: parts.join("; "),
            }
        }
    }
}

async fn read_bot(
    ddb: &aws_sdk_dynamodb::Client,
    table: &str,
    bot: &BotKey,
) -> Result<Option<HashMap<String, AttributeValue>>, AwsError> {
    let out = ddb
        .get_item()
        .table_name(table)
        .key("PK", AttributeValue::S(bot.pk.clone()))
        .key("SK", AttributeValue::S(bot.sk.clone()))
        .consistent_read(true)
        .projection_expression("#s, #r, #e")
        .expression_attribute_names("#s", "SyncStatus")
        .expression_attribute_names("#r", "SyncStatusReason")
        .expression_attribute_names("#e", "LastExecId")
        .send()
        .await
        .map_err(|e| AwsError::new("GetItem", e))?;
    Ok(out.item)
}

/// Polls every `poll` until all tasks received on `rx` have stopped and the sender side is gone.
/// With `no_wait`, returns as soon as the launcher is done (tasks still running stay
/// `StillRunning`); it still polls meanwhile, because stopped tasks free in-flight slots.
pub(crate) async fn track_all(
    ctx: Arc<Ctx>,
    mut rx: mpsc::UnboundedReceiver<Tracked>,
    poll: Duration,
    no_wait: bool,
    abort: CancellationToken,
) -> Result<(), JournalError> {
    let mut tracked: HashMap<String, Tracked> = HashMap::new();
    let mut open = true;
    loop {
        while open {
            match rx.try_recv() {
                Ok(t) => {
                    tracked.insert(t.task_arn.clone(), t);
                }
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => open = false,
            }
        }
        if !open && (tracked.is_empty() || no_wait) {
            return Ok(());
        }
        if tracked.is_empty() {
            tokio::select! {
                _ = abort.cancelled() => return Ok(()),
                next = rx.recv() => match next {
                    Some(t) => { tracked.insert(t.task_arn.clone(), t); }
                    None => open = false,
                },
            }
            continue;
        }
        poll_once(&ctx, &mut tracked).await?;
        tokio::select! {
            _ = abort.cancelled() => return Ok(()),
            _ = tokio::time::sleep(poll) => {}
        }
    }
}

async fn poll_once(ctx: &Ctx, tracked: &mut HashMap<String, Tracked>) -> Result<(), JournalError> {
    let pending: Vec<String> = tracked
        .values()
        .filter(|t| t.stopped.is_none())
        .map(|t| t.task_arn.clone())
        .collect();
    if !pending.is_empty() {
        match describe_stopped(
            &ctx.ecs,
            &ctx.target.cluster,
            &ctx.target.container,
            &pending,
        )
        .await
        {
            Ok(stopped) => {
                for (arn, info) in stopped {
                    if let Some(t) = tracked.get_mut(&arn) {
                        // The slot is free as soon as ECS says STOPPED.
                        t.permit.take();
                        t.stopped = Some(info);
                    }
                }
            }
            Err(message) => ctx.events.emit(Event::Warning {
                message: format!("{message}; retrying at the next poll"),
            }),
        }
    }
    let done: Vec<String> = tracked
        .values()
        .filter(|t| t.stopped.is_some())
        .map(|t| t.task_arn.clone())
        .collect();
    for arn in done {
        let t = &tracked[&arn];
        match read_bot(&ctx.ddb, &ctx.target.table, &t.bot).await {
            Ok(item) => {
                let stop = t.stopped.as_ref().expect("filtered on stopped");
                let outcome = verdict(item.as_ref(), task_id(&arn), stop);
                ctx.record_outcome(&t.bot, outcome, Some(&arn))?;
                tracked.remove(&arn);
            }
            Err(message) => ctx.events.emit(Event::Warning {
                message: format!("reading {} failed, retrying: {message}", t.bot),
            }),
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "track_tests.rs"]
mod tests;
