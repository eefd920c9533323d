//! Another machine's run of the same migration: the lock (`lock.rs`) is local to one state
//! directory, so before its first launch `migrate` asks ECS which of the embedding family's tasks
//! are running under this tool's `startedBy` (`mig-<run id>-<bot hash>`) for a run it does not
//! continue. Two such checks started in the same second can both see nothing: it narrows the
//! window to the scan, it is not a lock.

use std::collections::BTreeMap;

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::DesiredStatus;

use super::existing::task_family;
use super::target::MigrationTarget;
use crate::ecs_task::{DESCRIBE_BATCH, describe_batch};
use crate::error_text::AwsError;

/// A run of this tool whose tasks are running now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherRun {
    pub run_id: String,
    pub running_tasks: usize,
}

/// The run id in a `startedBy` this tool wrote, `mig-<run id>-<16 hex>`.
pub fn run_id_of(started_by: &str) -> Option<&str> {
    let rest = started_by.strip_prefix("mig-")?;
    let (run_id, hash) = rest.rsplit_once('-')?;
    (hash.len() == 16 && !run_id.is_empty()).then_some(run_id)
}

/// Runs with running tasks in the target's cluster and task family, other than `own` (the run ids
/// of the journal being resumed, whose tasks this run tracks itself). Largest first.
pub async fn other_runs(
    ecs: &Client,
    target: &MigrationTarget,
    own: &[String],
) -> Result<Vec<OtherRun>, AwsError> {
    let mut arns = Vec::new();
    let mut pages = ecs
        .list_tasks()
        .cluster(&target.cluster)
        .family(task_family(&target.task_definition))
        .desired_status(DesiredStatus::Running)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::new("ListTasks", e))?;
        arns.extend(page.task_arns().iter().cloned());
    }
    let mut runs: BTreeMap<String, usize> = BTreeMap::new();
    for chunk in arns.chunks(DESCRIBE_BATCH) {
        let out = describe_batch(ecs, &target.cluster, chunk).await?;
        for task in out.tasks() {
            if task.last_status() == Some("STOPPED") {
                continue;
            }
            if let Some(run) = task.started_by().and_then(run_id_of)
                && !own.iter().any(|o| o == run)
            {
                *runs.entry(run.to_owned()).or_default() += 1;
            }
        }
    }
    let mut runs: Vec<OtherRun> = runs
        .into_iter()
        .map(|(run_id, running_tasks)| OtherRun {
            run_id,
            running_tasks,
        })
        .collect();
    runs.sort_by_key(|r| std::cmp::Reverse(r.running_tasks));
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_come_only_from_this_tools_started_by() {
        assert_eq!(run_id_of("mig-0a1b2c3d-0123456789abcdef"), Some("0a1b2c3d"));
        assert_eq!(run_id_of("mig-0a1b2c3d-short"), None);
        assert_eq!(run_id_of("ecs-svc/123"), None);
        assert_eq!(run_id_of("mig--0123456789abcdef"), None);
    }
}
