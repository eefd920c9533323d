//! The one copy task: refuse to start a second while one runs, RunTask without overrides, then
//! DescribeTasks until it stops.

use std::time::Duration;

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, DesiredStatus, LaunchType, NetworkConfiguration, Tag,
};

use super::error::CopyError;
use super::request::{CopyEvent, STARTED_BY};
use super::task_definition::CONTAINER_NAME;
use crate::ecs_task::StopInfo;
use crate::error_text::AwsFailure as _;
use crate::events::EventSink;
use crate::interrupt::Interrupt;

/// Copy tasks on the cluster that have not stopped: two copies into the same tables at once
/// would race, so a second is not launched.
pub async fn running_copies(ecs: &Client, cluster: &str) -> Result<Vec<String>, CopyError> {
    let mut pages = ecs
        .list_tasks()
        .cluster(cluster)
        .started_by(STARTED_BY)
        .desired_status(DesiredStatus::Running)
        .into_paginator()
        .send();
    let mut arns = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| CopyError::aws("ListTasks", e))?;
        arns.extend(page.task_arns().iter().cloned());
    }
    Ok(arns)
}

/// Where the task runs.
#[derive(Debug, Clone)]
pub struct Placement<'a> {
    pub cluster: &'a str,
    pub subnets: &'a [String],
    pub security_groups: &'a [String],
    pub assign_public_ip: bool,
}

/// One RunTask. No overrides at all: whatever goes into an override comes back in DescribeTasks.
/// The client token makes an SDK retry of a lost answer return the same task, not a second one.
pub async fn launch(
    ecs: &Client,
    placement: &Placement<'_>,
    task_definition_arn: &str,
    client_token: &str,
    tags: &[(String, String)],
) -> Result<String, CopyError> {
    let vpc = AwsVpcConfiguration::builder()
        .set_subnets(Some(placement.subnets.to_vec()))
        .set_security_groups(Some(placement.security_groups.to_vec()))
        .assign_public_ip(if placement.assign_public_ip {
            AssignPublicIp::Enabled
        } else {
            AssignPublicIp::Disabled
        })
        .build()
        .map_err(|e| {
            CopyError::unexpected(
                "RunTask",
                format!("building the network configuration: {e}"),
            )
        })?;
    let out = ecs
        .run_task()
        .cluster(placement.cluster)
        .launch_type(LaunchType::Fargate)
        .task_definition(task_definition_arn)
        .count(1)
        .started_by(STARTED_BY)
        .client_token(client_token)
        .network_configuration(
            NetworkConfiguration::builder()
                .awsvpc_configuration(vpc)
                .build(),
        )
        .set_tags(Some(
            tags.iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .send()
        .await
        .map_err(|e| CopyError::aws("RunTask", e))?;
    crate::ecs_task::started_task(&out).map_err(|reasons| CopyError::LaunchFailed {
        reasons: if reasons.is_empty() {
            "RunTask answered with neither a task nor a failure".into()
        } else {
            reasons.join("; ")
        },
    })
}

/// The task as DescribeTasks shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskState {
    pub last_status: String,
    /// Set once it is STOPPED (or ECS no longer knows it).
    pub stopped: Option<StopInfo>,
}

pub async fn describe(ecs: &Client, cluster: &str, task_arn: &str) -> Result<TaskState, CopyError> {
    let out = ecs
        .describe_tasks()
        .cluster(cluster)
        .tasks(task_arn)
        .send()
        .await
        .map_err(|e| CopyError::aws("DescribeTasks", e))?;
    let Some(task) = out.tasks().iter().find(|t| t.task_arn() == Some(task_arn)) else {
        if out.failures().iter().any(|f| f.reason() == Some("MISSING")) {
            return Ok(TaskState {
                last_status: "MISSING".into(),
                stopped: Some(StopInfo {
                    missing: true,
                    ..StopInfo::default()
                }),
            });
        }
        return Err(CopyError::unexpected(
            "DescribeTasks",
            format!("the answer does not name task {task_arn}"),
        ));
    };
    let last_status = task.last_status().unwrap_or("UNKNOWN").to_owned();
    let stopped = (last_status == "STOPPED").then(|| {
        let container = task
            .containers()
            .iter()
            .find(|c| c.name() == Some(CONTAINER_NAME));
        StopInfo {
            stopped_reason: non_empty(task.stopped_reason()),
            exit_code: container.and_then(|c| c.exit_code()),
            container_reason: non_empty(container.and_then(|c| c.reason())),
            missing: false,
        }
    });
    Ok(TaskState {
        last_status,
        stopped,
    })
}

fn non_empty(s: Option<&str>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty()).map(str::to_owned)
}

/// How tracking ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tracked {
    Stopped(StopInfo),
    /// The second Ctrl-C: the task is left running.
    Abandoned {
        last_status: String,
    },
}

/// Polls until the task stops. A failed DescribeTasks is reported and retried at the next poll;
/// the first Ctrl-C changes nothing here (the task is already running and the temporary
/// resources must outlive it), the second returns at once.
pub async fn track(
    ecs: &Client,
    cluster: &str,
    task_arn: &str,
    poll: Duration,
    interrupt: &Interrupt,
    events: &dyn EventSink<CopyEvent>,
) -> Tracked {
    let mut last_status = String::from("PROVISIONING");
    loop {
        match describe(ecs, cluster, task_arn).await {
            Ok(state) => {
                if state.last_status != last_status {
                    last_status = state.last_status.clone();
                    events.emit(CopyEvent::TaskStatus {
                        status: last_status.clone(),
                    });
                }
                if let Some(stop) = state.stopped {
                    return Tracked::Stopped(stop);
                }
            }
            Err(message) => events.emit(CopyEvent::Warning {
                message: format!(
                    "{}; retrying at the next poll",
                    crate::error_text::chain(&message)
                ),
            }),
        }
        tokio::select! {
            _ = interrupt.abort.cancelled() => return Tracked::Abandoned { last_status },
            _ = tokio::time::sleep(poll) => {}
        }
    }
}
