//! Finding the task an earlier process started for a bot but never journaled (it died between
//! RunTask and the `launched` line): `ListTasks` by `startedBy` (running) and by family (stopped),
//! then `DescribeTasks` to match `startedBy` and the bot's keys in the command.

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::DesiredStatus;

use super::bot::BotKey;
use super::target::MigrationTarget;
use crate::ecs_task::{DESCRIBE_BATCH, describe_batch};
use crate::error_text::AwsError;

/// Looks for a task already started for `bot` under `started_by` (see the module docs of `launch`).
pub async fn find_existing_task(
    ecs: &Client,
    target: &MigrationTarget,
    bot: &BotKey,
    started_by: &str,
) -> Result<Option<String>, AwsError> {
    // ECS: "When you specify startedBy as the filter, it must be the only filter that you use",
    // and ListTasks then lists running tasks only. Stopped tasks are found through the task
    // definition's family instead, and matched on startedBy below.
    let mut arns = Vec::new();
    let running = ecs
        .list_tasks()
        .cluster(&target.cluster)
        .started_by(started_by);
    let stopped = ecs
        .list_tasks()
        .cluster(&target.cluster)
        .family(task_family(&target.task_definition))
        .desired_status(DesiredStatus::Stopped);
    for request in [running, stopped] {
        let mut pages = request.into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| AwsError::new("ListTasks", e))?;
            arns.extend(page.task_arns().iter().cloned());
        }
    }
    if arns.is_empty() {
        return Ok(None);
    }
    let keys = bot.keys_json();
    for chunk in arns.chunks(DESCRIBE_BATCH) {
        let out = describe_batch(ecs, &target.cluster, chunk).await?;
        let found = out.tasks().iter().find(|task| {
            task.started_by() == Some(started_by)
                && task.overrides().is_some_and(|o| {
                    o.container_overrides()
                        .iter()
                        .any(|c| c.command().contains(&keys))
                })
        });
        if let Some(arn) = found.and_then(|t| t.task_arn()) {
            return Ok(Some(arn.to_owned()));
        }
    }
    Ok(None)
}

/// The family of a task definition given as `family`, `family:revision` or its ARN.
pub(crate) fn task_family(task_definition: &str) -> &str {
    let name = task_definition
        .rsplit('/')
        .next()
        .unwrap_or(task_definition);
    name.split(':').next().unwrap_or(name)
}

#[cfg(test)]
#[path = "existing_tests.rs"]
pub(crate) mod tests;
