//! The ECS task every migration that runs one shares: RunTask's answer read, a task's id, and
//! DescribeTasks read for how a task stopped. The re-embed runs one task per bot
//! (`reembed/run_task.rs`), the copy-back one task for every bot (`copy/task.rs`).

use std::collections::HashMap;

use aws_sdk_ecs::operation::describe_tasks::DescribeTasksOutput;
use aws_sdk_ecs::operation::run_task::RunTaskOutput;

use crate::error_text::AwsError;

/// The task id is the last segment of the task ARN (`arn:...:task/<cluster>/<id>`); the embedding
/// container writes it to the bot's `LastExecId`.
pub fn task_id(task_arn: &str) -> &str {
    task_arn.rsplit('/').next().unwrap_or(task_arn)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_id_is_last_segment() {
        assert_eq!(task_id("arn:aws:ecs:us-east-1:1:task/cl/abc123"), "abc123");
        assert_eq!(task_id("abc"), "abc");
    }
}
