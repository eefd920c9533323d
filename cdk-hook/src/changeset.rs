//! The CloudFormation side of the review: wait for the change set, read every page of it and
//! of its nested change sets, delete it, and fetch the deployed template.

use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetError;
use aws_sdk_cloudformation::types::{ChangeSetStatus, TemplateStage};
use serde_json::Value;

use crate::CdkHookError;
use crate::describe::{ChangeSetDescription, ReviewedChangeSet, assemble, nested_change_set_ids};
use migrate::error_text::AwsFailure as _;

/// The status reasons of a change set that failed only because it changes nothing.
pub fn means_no_changes(status_reason: &str) -> bool {
    status_reason.contains("didn't contain changes")
        || status_reason.contains("No updates are to be performed")
}

/// How `wait_until_created` polls DescribeChangeSet.
#[derive(Debug, Clone, Copy)]
pub struct PollSettings {
    pub initial_delay: Duration,
    pub max_delay: Duration,
    pub timeout: Duration,
}

impl Default for PollSettings {
    fn default() -> Self {
        Self {
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(10),
            timeout: Duration::from_secs(30 * 60),
        }
    }
}

/// What the review found.
#[derive(Debug, Clone, PartialEq)]
pub enum ReviewOutcome {
    /// The change set ended FAILED because it changes nothing.
    NothingToDeploy {
        change_set_id: Option<String>,
        reason: String,
    },
    /// Every resource change, nested stacks included.
    Changes(ReviewedChangeSet),
}

/// Reads change sets with one CloudFormation client. The client's own retry policy (the SDK's
/// standard mode retries throttling) is left as configured.
#[derive(Debug, Clone)]
pub struct ChangeSetReviewer {
    client: Client,
    poll: PollSettings,
}

impl ChangeSetReviewer {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            poll: PollSettings::default(),
        }
    }

    pub fn with_poll_settings(mut self, poll: PollSettings) -> Self {
        self.poll = poll;
        self
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Waits for the change set to be created, then reads it fully.
    pub async fn review(
        &self,
        stack: &str,
        change_set: &str,
    ) -> Result<ReviewOutcome, CdkHookError> {
        let created = self.wait_until_created(stack, change_set).await?;
        if let Some(reason) = created.no_changes_reason {
            return Ok(ReviewOutcome::NothingToDeploy {
                change_set_id: Some(created.change_set_id),
                reason,
            });
        }
        let pages = self.describe_all(stack, &created.change_set_id).await?;
        Ok(ReviewOutcome::Changes(assemble(pages)))
    }

    /// Polls with exponential backoff until CREATE_COMPLETE or FAILED.
    pub async fn wait_until_created(
        &self,
        stack: &str,
        change_set: &str,
    ) -> Result<Created, CdkHookError> {
        let started = Instant::now();
        let mut delay = self.poll.initial_delay;
        loop {
            let answer = self
                .client
                .describe_change_set()
                .stack_name(stack)
                .change_set_name(change_set)
                .send()
                .await;
            match answer {
                Ok(out) => {
                    let id = out.change_set_id().unwrap_or(change_set).to_owned();
                    let reason = out.status_reason().unwrap_or_default().to_owned();
                    match out.status() {
                        Some(ChangeSetStatus::CreateComplete) => {
                            return Ok(Created {
                                change_set_id: id,
                                no_changes_reason: None,
                            });
                        }
                        Some(ChangeSetStatus::Failed) if means_no_changes(&reason) => {
                            return Ok(Created {
                                change_set_id: id,
                                no_changes_reason: Some(reason),
                            });
                        }
                        Some(ChangeSetStatus::Failed) => {
                            return Err(CdkHookError::ChangeSetFailed {
                                change_set: id,
                                reason,
                            });
                        }
                        status => {
                            let status = status.map_or("(no status)", |s| s.as_str()).to_owned();
                            tracing::debug!(%status, "change set not ready");
                            if started.elapsed() >= self.poll.timeout {
                                let waited_secs = started.elapsed().as_secs();
                                return Err(CdkHookError::ChangeSetTimeout {
                                    change_set: id,
                                    status,
                                    waited_secs,
                                });
                            }
                        }
                    }
                }
                // The SDK has already retried; keep polling rather than give up the review.
                Err(e) if is_throttling(e.code()) && started.elapsed() < self.poll.timeout => {
                    tracing::warn!("DescribeChangeSet throttled; backing off");
                }
                Err(e) => return Err(describe_error(stack, change_set, e)),
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(self.poll.max_delay);
        }
    }

    /// Every page of the change set and, breadth first, of each nested change set it points to.
    pub async fn describe_all(
        &self,
        stack: &str,
        change_set_id: &str,
    ) -> Result<Vec<ChangeSetDescription>, CdkHookError> {
        let mut pages = Vec::new();
        let mut queue = VecDeque::from([change_set_id.to_owned()]);
        let mut seen = HashSet::new();
        while let Some(id) = queue.pop_front() {
            if !seen.insert(id.clone()) {
                continue;
            }
            let mut request = self
                .client
                .describe_change_set()
                .change_set_name(&id)
                .include_property_values(true);
            // A nested change set is addressed by its ARN alone; its stack is not `stack`.
            if id == change_set_id {
                request = request.stack_name(stack);
            }
            let mut stream = request.into_paginator().send();
            while let Some(page) = stream.next().await {
                let page =
                    ChangeSetDescription::from(&page.map_err(|e| describe_error(stack, &id, e))?);
                queue.extend(nested_change_set_ids(&page));
                pages.push(page);
            }
        }
        Ok(pages)
    }

    /// Deletes a change set; one that is already gone is not an error.
    pub async fn delete(&self, stack: &str, change_set_id: &str) -> Result<(), CdkHookError> {
        match self
            .client
            .delete_change_set()
            .stack_name(stack)
            .change_set_name(change_set_id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("ChangeSetNotFound") => Ok(()),
            Err(e) => Err(CdkHookError::aws("DeleteChangeSet", e)),
        }
    }

    /// The template of the deployed stack (`GetTemplate`, stage Original); `None` when the stack
    /// does not exist yet or its template is not JSON.
    pub async fn deployed_template(&self, stack: &str) -> Result<Option<Value>, CdkHookError> {
        self.template(stack, None).await
    }

    /// The template a change set would deploy (`GetTemplate` with `ChangeSetName`).
    pub async fn change_set_template(
        &self,
        stack: &str,
        change_set: &str,
    ) -> Result<Option<Value>, CdkHookError> {
        self.template(stack, Some(change_set)).await
    }

    async fn template(
        &self,
        stack: &str,
        change_set: Option<&str>,
    ) -> Result<Option<Value>, CdkHookError> {
        let out = match self
            .client
            .get_template()
            .stack_name(stack)
            .set_change_set_name(change_set.map(str::to_owned))
            .template_stage(TemplateStage::Original)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if is_missing_stack(e.code(), e.message()) => return Ok(None),
            Err(e) => return Err(CdkHookError::aws("GetTemplate", e)),
        };
        let Some(body) = out.template_body() else {
            return Ok(None);
        };
        match serde_json::from_str::<Value>(body) {
            Ok(v) if v.get("Resources").is_some() => Ok(Some(v)),
            _ => {
                tracing::warn!(
                    stack,
                    "the {} template is not a JSON template (YAML?); skipping the template \
                     comparison",
                    if change_set.is_some() {
                        "change set's"
                    } else {
                        "deployed"
                    }
                );
                Ok(None)
            }
        }
    }
}

/// A change set that finished creating.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    pub change_set_id: String,
    /// Set when it ended FAILED for having no changes.
    pub no_changes_reason: Option<String>,
}

fn is_throttling(code: Option<&str>) -> bool {
    matches!(
        code,
        Some(
            "Throttling"
                | "ThrottlingException"
                | "RequestLimitExceeded"
                | "TooManyRequestsException"
        )
    )
}

pub(crate) fn is_missing_stack(code: Option<&str>, message: Option<&str>) -> bool {
    code == Some("ValidationError") && message.is_some_and(|m| m.contains("does not exist"))
}

fn describe_error(
    stack: &str,
    change_set: &str,
    e: aws_sdk_cloudformation::error::SdkError<
        DescribeChangeSetError,
        aws_sdk_cloudformation::config::http::HttpResponse,
    >,
) -> CdkHookError {
    if let Some(DescribeChangeSetError::ChangeSetNotFoundException(_)) = e.as_service_error() {
        return CdkHookError::ChangeSetNotFound {
            stack: stack.to_owned(),
            change_set: change_set.to_owned(),
        };
    }
    if is_missing_stack(e.code(), e.message()) {
        return CdkHookError::StackNotFound {
            stack: stack.to_owned(),
            detail: e.message().unwrap_or_default().to_owned(),
        };
    }
    CdkHookError::aws("DescribeChangeSet", e)
}
