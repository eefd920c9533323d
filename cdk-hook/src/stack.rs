//! The deployed stack: its resources, its status and its events, read while an update runs so
//! the user sees progress and, when it fails, which resources failed and why.

use std::collections::HashSet;
use std::time::Duration;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_sdk_cloudformation::types::StackEvent;

use crate::CdkHookError;
use migrate::error_text::AwsFailure as _;

/// One stack event, as shown while the update runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackEventLine {
    pub event_id: String,
    pub logical_id: String,
    pub resource_type: String,
    pub status: String,
    pub reason: Option<String>,
}

impl StackEventLine {
    fn from_sdk(e: &StackEvent) -> Self {
        Self {
            event_id: e.event_id().unwrap_or_default().to_owned(),
            logical_id: e.logical_resource_id().unwrap_or_default().to_owned(),
            resource_type: e.resource_type().unwrap_or_default().to_owned(),
            status: e
                .resource_status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            reason: e.resource_status_reason().map(str::to_owned),
        }
    }

    fn is_failure(&self) -> bool {
        self.status.ends_with("_FAILED") && self.resource_type != "AWS::CloudFormation::Stack"
    }
}

/// Where the stack ended after an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackSettled {
    pub status: String,
    pub reason: Option<String>,
    /// The resources whose events said `*_FAILED` during the update, with their reasons.
    pub failures: Vec<StackEventLine>,
}

impl StackSettled {
    /// A rollback is a failure even though its status ends in `_COMPLETE`.
    pub fn succeeded(&self) -> bool {
        matches!(self.status.as_str(), "UPDATE_COMPLETE" | "CREATE_COMPLETE")
    }
}

/// The physical id of a stack resource (`DescribeStackResource`); `None` when the stack has no
/// such logical id.
pub async fn physical_id(
    cfn: &Client,
    stack: &str,
    logical_id: &str,
) -> Result<Option<String>, CdkHookError> {
    match cfn
        .describe_stack_resource()
        .stack_name(stack)
        .logical_resource_id(logical_id)
        .send()
        .await
    {
        Ok(out) => Ok(out
            .stack_resource_detail()
            .and_then(|d| d.physical_resource_id())
            .filter(|id| !id.is_empty())
            .map(str::to_owned)),
        Err(e) if e.code() == Some("ValidationError") => Ok(None),
        Err(e) => Err(CdkHookError::aws("DescribeStackResource", e)),
    }
}

/// (logical id, physical id) of every stack resource of this type (`ListStackResources`, paged).
pub async fn resources_of_type(
    cfn: &Client,
    stack: &str,
    resource_type: &str,
) -> Result<Vec<(String, String)>, CdkHookError> {
    let mut pages = cfn
        .list_stack_resources()
        .stack_name(stack)
        .into_paginator()
        .send();
    let mut found = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| CdkHookError::aws("ListStackResources", e))?;
        for r in page.stack_resource_summaries() {
            if r.resource_type() == Some(resource_type)
                && let (Some(logical), Some(physical)) =
                    (r.logical_resource_id(), r.physical_resource_id())
            {
                found.push((logical.to_owned(), physical.to_owned()));
            }
        }
    }
    Ok(found)
}

/// The stack's status and status reason.
pub async fn stack_status(
    cfn: &Client,
    stack: &str,
) -> Result<(String, Option<String>), CdkHookError> {
    let s = crate::outputs::describe_stack(cfn, stack).await?;
    Ok((
        s.stack_status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        s.stack_status_reason().map(str::to_owned),
    ))
}

/// Follows a stack's events from a point on. Taking the mark before the update starts means
/// every event of the update is shown, and no event of an earlier one.
#[derive(Debug)]
pub struct StackWatcher {
    cfn: Client,
    stack: String,
    seen: HashSet<String>,
    failures: Vec<StackEventLine>,
    poll: Duration,
}

impl StackWatcher {
    /// Marks the stack's newest events as already seen. One page is enough: reading later stops
    /// at the first page that holds a seen event, and a stack's history can be thousands of pages.
    pub async fn mark(cfn: &Client, stack: &str, poll: Duration) -> Result<Self, CdkHookError> {
        let newest = cfn
            .describe_stack_events()
            .stack_name(stack)
            .send()
            .await
            .map_err(|e| CdkHookError::aws("DescribeStackEvents", e))?;
        let seen = newest
            .stack_events()
            .iter()
            .filter_map(|e| e.event_id().map(str::to_owned))
            .collect();
        Ok(Self {
            cfn: cfn.clone(),
            stack: stack.to_owned(),
            seen,
            failures: Vec::new(),
            poll,
        })
    }

    /// Polls events and status until the update has started (an event of the stack itself after
    /// the mark) and the stack is no longer `*_IN_PROGRESS`; each new event goes to `on_event`
    /// oldest first. Waiting for the start means a status read before the update began is never
    /// taken for its end. An update that shows no sign of starting within `start_timeout` is an
    /// error.
    pub async fn follow(
        mut self,
        start_timeout: Duration,
        mut on_event: impl FnMut(&StackEventLine),
    ) -> Result<StackSettled, CdkHookError> {
        let marked = std::time::Instant::now();
        let mut started = false;
        loop {
            // Status first, events second: once the status is final, the events read after it
            // include every event of the update.
            let (status, reason) = stack_status(&self.cfn, &self.stack).await?;
            for event in self.new_events().await? {
                started |= event.resource_type == "AWS::CloudFormation::Stack"
                    && event.logical_id == self.stack;
                if event.is_failure() {
                    self.failures.push(event.clone());
                }
                on_event(&event);
            }
            if started && !status.ends_with("_IN_PROGRESS") {
                return Ok(StackSettled {
                    status,
                    reason,
                    failures: self.failures,
                });
            }
            if !started && marked.elapsed() > start_timeout {
                return Err(CdkHookError::unexpected(
                    "DescribeStackEvents",
                    format!(
                        "stack {} shows no update after {} s (status {status})",
                        self.stack,
                        start_timeout.as_secs()
                    ),
                ));
            }
            tokio::time::sleep(self.poll).await;
        }
    }

    /// The events not seen yet, oldest first. DescribeStackEvents pages newest first, so reading
    /// stops at the first page that holds an event already seen.
    async fn new_events(&mut self) -> Result<Vec<StackEventLine>, CdkHookError> {
        let mut pages = self
            .cfn
            .describe_stack_events()
            .stack_name(&self.stack)
            .into_paginator()
            .send();
        let mut fresh = Vec::new();
        'pages: while let Some(page) = pages.next().await {
            let page = page.map_err(|e| CdkHookError::aws("DescribeStackEvents", e))?;
            let mut reached_seen = false;
            for event in page.stack_events() {
                let line = StackEventLine::from_sdk(event);
                if self.seen.contains(&line.event_id) {
                    reached_seen = true;
                    continue;
                }
                fresh.push(line);
            }
            if reached_seen {
                break 'pages;
            }
        }
        fresh.reverse();
        for e in &fresh {
            self.seen.insert(e.event_id.clone());
        }
        Ok(fresh)
    }
}
