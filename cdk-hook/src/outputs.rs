//! The stack's outputs, read with DescribeStacks and handed to the caller as plain (logical id,
//! value) pairs: the CLI maps the names to a migration target and makes no AWS call of its own.

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_sdk_cloudformation::types::Stack;

use crate::CdkHookError;
use crate::changeset::is_missing_stack;
use migrate::error_text::AwsFailure as _;

/// The stack as DescribeStacks answers; a stack that does not exist is `StackNotFound` (with
/// CloudFormation's words), so the caller can tell a wrong name or region from a failed call.
pub async fn describe_stack(cfn: &Client, stack: &str) -> Result<Stack, CdkHookError> {
    let not_found = |detail: &str| CdkHookError::StackNotFound {
        stack: stack.to_owned(),
        detail: detail.to_owned(),
    };
    let out = cfn
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| {
            if is_missing_stack(e.code(), e.message()) {
                not_found(e.message().unwrap_or_default())
            } else {
                CdkHookError::aws("DescribeStacks", e)
            }
        })?;
    out.stacks().first().cloned().ok_or_else(|| not_found(""))
}

/// The outputs of `stack` as (logical id, value), in CloudFormation's order.
pub async fn stack_outputs(
    cfn: &Client,
    stack: &str,
) -> Result<Vec<(String, String)>, CdkHookError> {
    let described = describe_stack(cfn, stack).await?;
    Ok(described
        .outputs()
        .iter()
        .filter_map(|o| Some((o.output_key()?.to_owned(), o.output_value()?.to_owned())))
        .collect())
}
