//! Executing the reviewed change set (CDK CLI or SDK) and following the stack to its end.

use std::time::{Duration, Instant};

use anyhow::Context;
use cdk_hook::execute::{self, ExecuteRequest};
use cdk_hook::stack::{StackSettled, StackWatcher};
use cdk_hook::{CdkHookError, CdkOutput};
use console::style;

use super::reviewed::ReviewedChangeSet;
use crate::flags::{Deploy, ExecuteWith};

/// Executes the reviewed change set by id and follows the stack until it settles.
pub(super) async fn execute(
    args: &Deploy,
    cfn: &aws_sdk_cloudformation::Client,
    reviewed: &ReviewedChangeSet,
) -> anyhow::Result<StackSettled> {
    let ReviewedChangeSet {
        stack_name,
        change_set_id,
        ..
    } = reviewed;
    execute::ensure_executable(cfn, stack_name, change_set_id).await?;
    let with_cli = with_cli(args).await?;
    let poll = crate::knobs::env_duration("XTASK_STACK_POLL_MS", Duration::from_secs(5))?;
    let watcher = StackWatcher::mark(cfn, stack_name, poll).await?;
    let started = Instant::now();
    let executed = run_execution(args, cfn, reviewed, with_cli).await;
    if let Err(e) = &executed {
        stop_unless_started(cfn, reviewed, e).await?;
    }
    // A CLI that failed after starting the update: follow the stack so the failing resources
    // are shown.
    let settled = follow(watcher, stack_name, started, !with_cli).await?;
    if let Err(e) = executed {
        if settled.succeeded() {
            tracing::warn!(%e, "the CDK CLI failed but the stack update completed");
        } else {
            print_failure(&settled, stack_name);
            return Err(e).context(format!(
                "executing change set {change_set_id}: the update ended {}; no migration was started",
                settled.status
            ));
        }
    }
    eprintln!(
        "{} stack {stack_name} {} after {:.0}s",
        style("update").bold(),
        settled.status,
        started.elapsed().as_secs_f64()
    );
    Ok(settled)
}

/// Whether the CDK CLI executes (`--execute-with`, else the CLI when it can), or the SDK.
async fn with_cli(args: &Deploy) -> anyhow::Result<bool> {
    Ok(match args.execute_with {
        ExecuteWith::Cdk => true,
        ExecuteWith::Sdk => false,
        // The CLI executes on the assembly the change set was prepared from; without one (a
        // change set kept elsewhere) the SDK does it.
        ExecuteWith::Auto if !args.app.app_dir.join("cdk.out/manifest.json").is_file() => false,
        ExecuteWith::Auto => {
            let version = execute::cdk_cli_version(&args.app.app_dir).await?;
            let supported = execute::supports_execute_change_set(version);
            if !supported {
                eprintln!(
                    "CDK CLI {}.{}.{} has no --method=execute-change-set: executing with the SDK",
                    version.0, version.1, version.2
                );
            }
            supported
        }
    })
}

/// Executes the change set by its id with the CDK CLI or the SDK.
async fn run_execution(
    args: &Deploy,
    cfn: &aws_sdk_cloudformation::Client,
    reviewed: &ReviewedChangeSet,
    with_cli: bool,
) -> Result<(), CdkHookError> {
    let ReviewedChangeSet {
        stack_name,
        change_set_id,
        ..
    } = reviewed;
    eprintln!(
        "{} change set {change_set_id} ({})",
        style("execute").bold(),
        if with_cli {
            "npx cdk deploy --method=execute-change-set"
        } else {
            "ExecuteChangeSet"
        }
    );
    if with_cli {
        let request = ExecuteRequest {
            app_dir: args.app.app_dir.clone(),
            stack: args.scope.stack.name.clone(),
            change_set_id: change_set_id.clone(),
            cdk_args: args.app.cli_args(&args.scope.stack.aws),
            region: args.scope.stack.aws.region.clone(),
            output: CdkOutput::ToStderr,
        };
        execute::execute_with_cli(&request).await
    } else {
        execute::execute_with_sdk(cfn, stack_name, change_set_id).await
    }
}

/// A failed execution: an error when the update never started (the change set is still
/// executable) or when no one follows it any more (the CLI was killed); `Ok` when the stack is
/// to be followed to show what failed.
async fn stop_unless_started(
    cfn: &aws_sdk_cloudformation::Client,
    reviewed: &ReviewedChangeSet,
    e: &CdkHookError,
) -> anyhow::Result<()> {
    let ReviewedChangeSet {
        stack_name,
        change_set_id,
        plan,
    } = reviewed;
    if execute::ensure_executable(cfn, stack_name, change_set_id)
        .await
        .is_ok()
    {
        // Still executable: the update never started.
        let e = anyhow::anyhow!("{e}").context(format!(
            "executing change set {change_set_id}: nothing was executed"
        ));
        return Err(super::reviewed::explain_if_busy(cfn, stack_name, e).await);
    }
    // A CLI killed by a signal (OOM killer, a CI timeout, `kill -9`) after the update started:
    // whatever killed it may be taking this process down too, and CloudFormation goes on either
    // way. Say where the stack stands and how to finish, and stop: no migration on a stack whose
    // update nobody saw end.
    if let CdkHookError::CdkKilled { .. } = e {
        let (status, _) = cdk_hook::stack::stack_status(cfn, stack_name).await?;
        return Err(CliDied {
            stack: stack_name.clone(),
            change_set: change_set_id.clone(),
            status,
            migration_needed: plan.migration_needed,
        }
        .into());
    }
    Ok(())
}

/// Follows the stack's events until the update settles (printing them when the CLI does not);
/// one signal stops the watching (CloudFormation goes on), a second exits at once.
async fn follow(
    watcher: StackWatcher,
    stack_name: &str,
    started: Instant,
    show_events: bool,
) -> anyhow::Result<StackSettled> {
    let follow = watcher.follow(Duration::from_secs(600), |e| {
        if show_events {
            eprintln!(
                "[{:>5}s] {:<40} {:<32} {}{}",
                started.elapsed().as_secs(),
                e.logical_id,
                e.resource_type,
                e.status,
                e.reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            );
        }
    });
    let _handling = crate::signals::handle(1);
    let interrupt = crate::signals::interrupt();
    tokio::select! {
        settled = follow => Ok(settled?),
        () = interrupt.stopped() => Err(Detached { stack: stack_name.to_owned() }.into()),
    }
}

/// The CDK CLI died by a signal while executing: no one follows the update any more.
#[derive(Debug)]
pub(super) struct CliDied {
    stack: String,
    change_set: String,
    /// The stack's status right after the CLI died.
    status: String,
    migration_needed: bool,
}

impl std::fmt::Display for CliDied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Self {
            stack,
            change_set,
            status,
            migration_needed,
        } = self;
        write!(
            f,
            "the CDK CLI died (killed by a signal) while executing change set {change_set}; \
             stack {stack} is {status}. "
        )?;
        if status.ends_with("_IN_PROGRESS") {
            write!(
                f,
                "CloudFormation goes on with the update without the CLI: follow it with \
                 `aws cloudformation describe-stack-events --stack-name {stack}` (or the \
                 CloudFormation console) until the stack is UPDATE_COMPLETE or rolled back. "
            )?;
        } else if !matches!(status.as_str(), "UPDATE_COMPLETE" | "CREATE_COMPLETE") {
            write!(f, "The update did not complete. ")?;
        }
        if *migration_needed {
            write!(
                f,
                "No migration was started: once the stack is UPDATE_COMPLETE, re-embed every bot \
                 with `cargo xtask migrate --stack {stack}`"
            )
        } else {
            write!(f, "No migration was started (none is needed)")
        }
    }
}

impl std::error::Error for CliDied {}

/// A signal while the update runs: CloudFormation goes on with it; only the watching stops.
#[derive(Debug)]
pub(super) struct Detached {
    stack: String,
}

impl std::fmt::Display for Detached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "stopped watching; the update of stack {} goes on in CloudFormation. When it has \
             completed, run `cargo xtask migrate --stack {}` if the vector store was replaced",
            self.stack, self.stack
        )
    }
}

impl std::error::Error for Detached {}

pub(super) fn print_failure(settled: &StackSettled, stack: &str) {
    eprintln!(
        "{} stack {stack} ended {}{}",
        style("update failed:").red().bold(),
        settled.status,
        settled
            .reason
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default()
    );
    for f in &settled.failures {
        eprintln!(
            "  {} {} {}: {}",
            f.logical_id,
            f.resource_type,
            f.status,
            f.reason.as_deref().unwrap_or("(no reason given)")
        );
    }
}
