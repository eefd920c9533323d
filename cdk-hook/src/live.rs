//! The live `check`: prepare the change set with the CDK CLI, review it, compare the deployed
//! template with the synthesized one, and clean up. The pieces are public for `deploy`, which
//! keeps the change set to execute it.

use crate::CdkHookError;
use crate::cdk_cli::{PrepareRequest, prepare_change_set, synthesized_template};
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
    let prepared = prepare_change_set(request).await;
    // The stack name CloudFormation knows can differ from the CDK stack id.
    let synthesized = synthesized_template(&request.app_dir, &request.stack);
    let stack_name = synthesized
        .as_ref()
        .map_or(request.stack.clone(), |s| s.stack_name.clone());
    if let Err(e) = prepared {
        // CDK may have created the change set before failing.
        if let Err(cleanup) = reviewer.delete(&stack_name, &request.change_set_name).await {
            tracing::debug!(%cleanup, "no change set to clean up");
        }
        return Err(e);
    }
    let reviewed = reviewer.review(&stack_name, &request.change_set_name).await;
    let outcome = match reviewed {
        Ok(ReviewOutcome::NothingToDeploy { reason, .. }) => {
            Ok(LiveOutcome::NothingToDeploy { reason })
        }
        Ok(ReviewOutcome::Changes(changes)) => {
            let classified = async {
                let old = reviewer.deployed_template(&stack_name).await?;
                let new = synthesized.as_ref().ok().map(|s| &s.template);
                let templates = old.as_ref().zip(new).map(|(old, new)| Templates { old, new });
                if templates.is_none() {
                    tracing::warn!("no deployed or no synthesized template: classification from the change set alone");
                }
                let mut plan = plan_from_change_set(&changes, templates, guards, table);
                if plan.stack.is_empty() {
                    plan.stack = stack_name.clone();
                }
                Ok::<_, CdkHookError>(plan)
            }
            .await;
            classified.map(|plan| {
                let kept = keep_change_set.then(|| {
                    plan.change_set_id
                        .clone()
                        .unwrap_or_else(|| request.change_set_name.clone())
                });
                LiveOutcome::Plan {
                    plan,
                    kept_change_set: kept,
                }
            })
        }
        Err(e) => Err(e),
    };
    if !keep_change_set {
        reviewer
            .delete(&stack_name, &request.change_set_name)
            .await?;
    }
    outcome
}
