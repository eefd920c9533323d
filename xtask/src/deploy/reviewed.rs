//! The change set `deploy` reviewed, and what CloudFormation says when it cannot act on it: what
//! the execution (`update.rs`) and the table upgrade's steps (`tables.rs`) share with `deploy.rs`.

use cdk_hook::ReplacementPlan;

/// The reviewed change set, with the names needed to act on it.
pub(crate) struct ReviewedChangeSet {
    /// The stack's CloudFormation name.
    pub stack_name: String,
    /// The change set's id (ARN): what is executed, never a name that could match a newer one.
    pub change_set_id: String,
    pub plan: ReplacementPlan,
}

/// CloudFormation refuses a change set while another update of the stack runs (another deploy,
/// a pipeline, the console): when that is why `e` happened, say exactly that.
pub(crate) async fn explain_if_busy(
    cfn: &aws_sdk_cloudformation::Client,
    stack: &str,
    e: anyhow::Error,
) -> anyhow::Error {
    match cdk_hook::stack::stack_status(cfn, stack).await {
        Ok((status, _)) if status.ends_with("_IN_PROGRESS") => e.context(format!(
            "stack {stack} is {status}: CloudFormation refuses a change while another update of \
             the stack is in progress (another deploy, a pipeline, the console). This run executed \
             nothing; wait until the stack settles (`aws cloudformation describe-stacks \
             --stack-name {stack}`), then deploy again"
        )),
        _ => e,
    }
}
