//! Executing exactly the change set that was reviewed: by its id, after checking it is still
//! executable, with the CDK CLI's `--method=execute-change-set` when the CLI has it (2.1148+),
//! else with the SDK's `ExecuteChangeSet`. Never a fresh change set in its place.

use std::path::PathBuf;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetError;
use aws_sdk_cloudformation::types::{ChangeSetStatus, ExecutionStatus};
use xshell::{Shell, cmd};

use crate::CdkHookError;
use crate::cdk_cli::{CdkOutput, cdk_deploy, run};
use migrate::error_text::AwsFailure as _;

/// The first CDK CLI release with `cdk deploy --method=execute-change-set`.
pub const EXECUTE_CHANGE_SET_SINCE: (u32, u32) = (2, 1148);

/// `cdk deploy STACK --app cdk.out --method=execute-change-set --change-set-name ID`.
#[derive(Debug, Clone)]
pub struct ExecuteRequest {
    pub app_dir: PathBuf,
    /// The stack as the CDK app names it.
    pub stack: String,
    /// The reviewed change set's id (ARN): a name could match a newer change set.
    pub change_set_id: String,
    pub cdk_args: Vec<String>,
    pub region: Option<String>,
    pub output: CdkOutput,
}

/// The CDK CLI's version in the app directory (`npx cdk --version`: "2.1148.1 (build 1a2b3c4)").
pub async fn cdk_cli_version(app_dir: &std::path::Path) -> Result<(u32, u32, u32), CdkHookError> {
    let dir = app_dir.to_owned();
    // A short, blocking call: xshell's `read` on the blocking pool, the Shell built there.
    let out = tokio::task::spawn_blocking(move || {
        let sh = Shell::new()?;
        sh.change_dir(dir);
        cmd!(sh, "npx cdk --version").quiet().ignore_stderr().read()
    })
    .await
    .map_err(|e| CdkHookError::CdkSpawn(std::io::Error::other(e)))?
    .map_err(|e| match e.to_string() {
        m if m.contains("No such file") || m.contains("not found") => CdkHookError::NpxMissing,
        m => CdkHookError::CdkVersion(m),
    })?;
    parse_version(&out).ok_or(CdkHookError::CdkVersion(out))
}

fn parse_version(text: &str) -> Option<(u32, u32, u32)> {
    let word = text.split_whitespace().next()?;
    let mut parts = word.split('.').map(|p| p.parse::<u32>().ok());
    Some((parts.next()??, parts.next()??, parts.next()??))
}

pub fn supports_execute_change_set(version: (u32, u32, u32)) -> bool {
    (version.0, version.1) >= EXECUTE_CHANGE_SET_SINCE
}

/// Checks the change set is still the reviewed one and executable: CloudFormation removes or
/// obsoletes a stack's change sets when the stack is updated by anything else.
pub async fn ensure_executable(
    cfn: &Client,
    stack: &str,
    change_set_id: &str,
) -> Result<(), CdkHookError> {
    let out = cfn
        .describe_change_set()
        .stack_name(stack)
        .change_set_name(change_set_id)
        .send()
        .await
        .map_err(|e| match e.as_service_error() {
            Some(DescribeChangeSetError::ChangeSetNotFoundException(_)) => {
                CdkHookError::ChangeSetGone {
                    stack: stack.to_owned(),
                    change_set: change_set_id.to_owned(),
                }
            }
            _ => CdkHookError::aws("DescribeChangeSet", e),
        })?;
    let ready = out.status() == Some(&ChangeSetStatus::CreateComplete)
        && out.execution_status() == Some(&ExecutionStatus::Available);
    if ready {
        return Ok(());
    }
    Err(CdkHookError::ChangeSetNotExecutable {
        change_set: change_set_id.to_owned(),
        status: out.status().map_or("(none)", |s| s.as_str()).to_owned(),
        execution_status: out
            .execution_status()
            .map_or("(none)", |s| s.as_str())
            .to_owned(),
        reason: out.status_reason().map(str::to_owned),
    })
}

/// Executes with the CDK CLI on the assembly the change set was prepared from (`--app cdk.out`,
/// so nothing is synthesized again), with CDK's own progress display.
pub async fn execute_with_cli(req: &ExecuteRequest) -> Result<(), CdkHookError> {
    let sh = Shell::new().map_err(|e| CdkHookError::CdkSpawn(std::io::Error::other(e)))?;
    sh.change_dir(&req.app_dir);
    let method = [
        "--app",
        "cdk.out",
        "--method=execute-change-set",
        "--change-set-name",
        &req.change_set_id,
    ];
    let cmd = cdk_deploy(
        &sh,
        &req.stack,
        &method,
        &req.cdk_args,
        req.region.as_deref(),
    );
    tracing::info!(command = %cmd, "executing the reviewed change set");
    run(cmd, &req.output, "execute-change-set").await
}

/// `ExecuteChangeSet` by id; the caller follows the stack to its end.
pub async fn execute_with_sdk(
    cfn: &Client,
    stack: &str,
    change_set_id: &str,
) -> Result<(), CdkHookError> {
    cfn.execute_change_set()
        .stack_name(stack)
        .change_set_name(change_set_id)
        .send()
        .await
        .map_err(|e| match e.code() {
            Some("ChangeSetNotFound" | "ChangeSetNotFoundException") => {
                CdkHookError::ChangeSetGone {
                    stack: stack.to_owned(),
                    change_set: change_set_id.to_owned(),
                }
            }
            Some("InvalidChangeSetStatus") => CdkHookError::ChangeSetNotExecutable {
                change_set: change_set_id.to_owned(),
                status: "(changed)".to_owned(),
                execution_status: "(not available)".to_owned(),
                reason: e.message().map(str::to_owned),
            },
            _ => CdkHookError::aws("ExecuteChangeSet", e),
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_versions_with_execute_change_set() {
        assert_eq!(
            parse_version("2.1148.1 (build 1a2b3c4)\n"),
            Some((2, 1148, 1))
        );
        assert!(supports_execute_change_set((2, 1148, 0)));
        assert!(supports_execute_change_set((3, 0, 0)));
        assert!(!supports_execute_change_set((2, 1147, 9)));
        assert!(!supports_execute_change_set((2, 178, 2)));
        assert_eq!(parse_version("command not found"), None);
    }
}
