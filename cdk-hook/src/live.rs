//! The live `check`: prepare the change set with the CDK CLI, review it, compare the deployed
//! template with the synthesized one, and clean up. The pieces are public for `deploy`, which
//! keeps the change set to execute it.

use crate::CdkHookError;
use crate::cdk_cli::{PrepareRequest, prepare_change_set, synthesized_template};
use crate::exports;
use serde_json::Value;

use crate::changeset::{ChangeSetReviewer, ReviewOutcome};
use crate::guard::GuardConfig;
use crate::plan::ReplacementPlan;
use crate::reconcile::{Templates, plan_from_change_set};
use crate::replacement_table::ReplacementTable;

/// What a live check found.
#[derive(Debug, Clone)]
pub enum LiveOutcome {
    /// The change set changes nothing.
    NothingToDeploy { reason: String },
    /// The plan; `kept_change_set` is the change set's ARN when it was kept.
    Plan {
        plan: ReplacementPlan,
        kept_change_set: Option<String>,
    },
}

/// Prepares, reviews and classifies; deletes the change set unless `keep_change_set` (also when
/// the review fails half-way, so no change set is left behind).
pub async fn check_live(
    reviewer: &ChangeSetReviewer,
    request: &PrepareRequest,
    keep_change_set: bool,
    guards: &GuardConfig,
    table: &ReplacementTable,
) -> Result<LiveOutcome, CdkHookError> {
    let prepared = prepare_and_review(reviewer, request, guards, table).await?;
    if !keep_change_set {
        reviewer
            .delete(&prepared.stack_name, &request.change_set_name)
            .await?;
    }
    Ok(match prepared.reviewed {
        Reviewed::NothingToDeploy { reason, .. } => LiveOutcome::NothingToDeploy { reason },
        Reviewed::Plan(plan) => {
            let kept = keep_change_set.then(|| {
                plan.change_set_id
                    .clone()
                    .unwrap_or_else(|| request.change_set_name.clone())
            });
            LiveOutcome::Plan {
                plan,
                kept_change_set: kept,
            }
        }
    })
}

/// A change set prepared by the CDK CLI and reviewed; it is left in place.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The stack's CloudFormation name (the CDK stack id can differ).
    pub stack_name: String,
    pub reviewed: Reviewed,
}

/// Prepares the change set with the CDK CLI, then reviews and classifies it. When either fails,
/// the change set (which CDK may have created before failing) is deleted: nothing half-reviewed
/// is left to execute.
pub async fn prepare_and_review(
    reviewer: &ChangeSetReviewer,
    request: &PrepareRequest,
    guards: &GuardConfig,
    table: &ReplacementTable,
) -> Result<Prepared, CdkHookError> {
    let prepared = prepare_change_set(request).await;
    let synthesized = synthesized_template(&request.app_dir, &request.stack);
    let stack_name = synthesized
        .as_ref()
        .map_or_else(|_| request.stack.clone(), |s| s.stack_name.clone());
    let reviewed = match prepared {
        Ok(()) => {
            review_and_classify(
                reviewer,
                &stack_name,
                &request.change_set_name,
                synthesized.as_ref().ok().map(|s| &s.template),
                guards,
                table,
            )
            .await
        }
        Err(e) => Err(e),
    };
    match reviewed {
        Ok(reviewed) => Ok(Prepared {
            stack_name,
            reviewed,
        }),
        Err(e) => {
            if let Err(cleanup) = reviewer.delete(&stack_name, &request.change_set_name).await {
                tracing::debug!(%cleanup, "no change set to clean up");
            }
            Err(e)
        }
    }
}

/// A change set read and classified.
#[derive(Debug, Clone)]
pub enum Reviewed {
    NothingToDeploy {
        change_set_id: Option<String>,
        reason: String,
    },
    Plan(ReplacementPlan),
}

/// Waits for the change set, reads it, and classifies it with the template comparison: the
/// deployed template against `new_template` (the synthesized one), or, when there is none (a
/// change set kept from an earlier run), against the change set's own template.
pub async fn review_and_classify(
    reviewer: &ChangeSetReviewer,
    stack_name: &str,
    change_set: &str,
    new_template: Option<&Value>,
    guards: &GuardConfig,
    table: &ReplacementTable,
) -> Result<Reviewed, CdkHookError> {
    let changes = match reviewer.review(stack_name, change_set).await? {
        ReviewOutcome::NothingToDeploy {
            change_set_id,
            reason,
        } => {
            return Ok(Reviewed::NothingToDeploy {
                change_set_id,
                reason,
            });
        }
        ReviewOutcome::Changes(changes) => changes,
    };
    let old = reviewer.deployed_template(stack_name).await?;
    let fetched;
    let new = match new_template {
        Some(t) => Some(t),
        None => {
            fetched = reviewer
                .change_set_template(
                    stack_name,
                    changes.change_set_id.as_deref().unwrap_or(change_set),
                )
                .await?;
            fetched.as_ref()
        }
    };
    let templates = old
        .as_ref()
        .zip(new)
        .map(|(old, new)| Templates { old, new });
    if templates.is_none() {
        tracing::warn!("no deployed or no new template: classification from the change set alone");
    }
    let exports_in_use = match &templates {
        Some(t) => exports::exports_in_use(reviewer.client(), t.old, t.new, stack_name).await?,
        None => Vec::new(),
    };
    let mut plan = plan_from_change_set(&changes, templates, guards, table)
        .with_exports_in_use(exports_in_use);
    if plan.stack.is_empty() {
        plan.stack = stack_name.to_owned();
    }
    Ok(Reviewed::Plan(plan))
}
