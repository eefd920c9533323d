//! `cdk-hook`: everything that talks to the CDK CLI and CloudFormation. Prepares and reviews
//! change sets, and classifies their resource changes into a [`ReplacementPlan`] that says
//! whether a deploy would replace the Aurora vector store or another stateful resource.
//!
//! Two independent opinions feed the plan: the change set itself ([`classify`]) and a
//! comparison of the deployed and synthesized templates against a table generated from the
//! CDK CLI's service spec ([`template_diff`], [`replacement_table`]); [`reconcile`] merges them.

pub mod bench;
pub mod cdk_cli;
pub mod changeset;
pub mod classify;
pub mod describe;
mod error;
pub mod execute;
pub mod exports;
pub mod guard;
pub mod live;
pub mod outputs;
pub mod plan;
pub mod reconcile;
mod renames;
pub mod replacement_table;
pub mod restore;
pub mod safeguard;
pub mod stack;
mod successors;
pub mod tables_move;
pub mod template_diff;
mod template_refs;
pub mod template_resource;

pub use cdk_cli::{
    CdkOutput, PrepareRequest, prepare_change_set, synthesized_template, unique_change_set_name,
};
pub use changeset::{ChangeSetReviewer, PollSettings, ReviewOutcome};
pub use error::CdkHookError;
pub use guard::{GuardClass, GuardConfig};
pub use live::{
    LiveOutcome, Prepared, Reviewed, check_live, prepare_and_review, review_and_classify,
};
pub use plan::{
    Action, Cause, DataFate, Fate, Replacement, ReplacementPlan, ResourceVerdict, ReviewSources,
    Witness,
};
pub use reconcile::{
    Templates, plan_from_change_set, plan_from_describe_files, plan_from_templates, read_template,
};
pub use replacement_table::ReplacementTable;
