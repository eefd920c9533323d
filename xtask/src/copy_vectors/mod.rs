//! `cargo xtask copy-vectors`: wiring and presentation of `migrate::copy` (stack outputs, the
//! temporary cluster, the recorded credentials, the execution role, confirmation, spinner, table,
//! exit code).

mod source;
mod view;

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use cdk_hook::restore::{PURPOSE_TAG_KEY, STACK_TAG_KEY};
use cdk_hook::safeguard::{TOOL_TAG_KEY, TOOL_TAG_VALUE};
use console::style;
use indicatif::ProgressBar;
use migrate::Interrupt;
use migrate::copy::{
    CopyClients, CopyError, CopyEvent, CopyRequest, CopyVerdict, LOG_GROUP, SourceConnection,
};

use crate::flags::CopyVectors;
use crate::migrate::EXIT_REFUSED;
use crate::progress;

/// The output Bedrock Chat publishes for the new cluster's secret.
const TARGET_SECRET_OUTPUT: &str = "DbConfigSecretArn";
/// The purpose tag of what this command creates (the restore's clusters say `restore`).
const PURPOSE_COPY: &str = "copy-vectors";
/// Test knob shared with `migrate`: the DescribeTasks poll interval in milliseconds.
const POLL_ENV: &str = "MIGRATE_POLL_INTERVAL_MS";
const POLL_DEFAULT: Duration = Duration::from_secs(5);

pub fn run(args: CopyVectors) -> anyhow::Result<ExitCode> {
    let _lock = crate::run_lock::take(&args.scope)?;
    crate::aws::runtime()?.block_on(run_async(args))
}

async fn run_async(args: CopyVectors) -> anyhow::Result<ExitCode> {
    let poll_interval = crate::knobs::env_duration(POLL_ENV, POLL_DEFAULT)?;
    let config = crate::aws::sdk_config(&args.scope.stack.aws).await;
    let region = config
        .region()
        .map(|r| r.to_string())
        .context("no AWS region: pass --region or set AWS_REGION")?;
    let stack = &args.scope.stack.name;
    let outputs = crate::outputs::stack_outputs(&config, stack).await?;
    let target = crate::outputs::resolve_target(&outputs, &args.target)
        .with_context(|| format!("the outputs of stack {stack} do not name the ECS target"))?;
    target.validate()?;
    let target_secret = target_secret(&outputs, stack)?;
    let (cluster, credentials, source) = source(&args, &config).await?;
    let clients = CopyClients::from_conf(&config);
    let (execution_role, role_from) =
        execution_role(&args, &clients, &target.task_definition, &target_secret).await?;

    view::PlanView {
        stack,
        source_cluster: &cluster,
        source_endpoint: format!("{}:{}", source.host, source.port),
        username: &source.username,
        credentials_file: credentials.display().to_string(),
        target_secret: &target_secret,
        ecs_cluster: &target.cluster,
        subnets: &target.subnets,
        security_groups: &target.security_groups,
        execution_role: &execution_role,
        execution_role_from: role_from,
        image: &args.image,
        database: &args.database,
    }
    .print();
    let ask = crate::terminal::Ask {
        action: "launch the copy task",
        verb: "launch",
        prompt: "Launch the copy task?",
        declined: "nothing launched",
    };
    if !crate::terminal::confirm(args.yes, &ask)? {
        return Ok(ExitCode::from(EXIT_REFUSED));
    }

    let request = CopyRequest {
        stack: stack.clone(),
        source,
        target_secret_arn: target_secret,
        source_database: args.database.clone(),
        target_database: args.database.clone(),
        cluster: target.cluster.clone(),
        subnets: target.subnets.clone(),
        security_groups: target.security_groups.clone(),
        assign_public_ip: target.assign_public_ip,
        execution_role_arn: execution_role,
        image: args.image.clone(),
        region,
        tags: vec![
            (TOOL_TAG_KEY.into(), TOOL_TAG_VALUE.into()),
            (STACK_TAG_KEY.into(), stack.clone()),
            (PURPOSE_TAG_KEY.into(), PURPOSE_COPY.into()),
        ],
        poll_interval,
    };
    copy(&clients, &request).await
}

/// The temporary cluster's identifier, the credential file recorded before the replacement, and
/// the connection they make.
async fn source(
    args: &CopyVectors,
    config: &aws_config::SdkConfig,
) -> anyhow::Result<(String, std::path::PathBuf, SourceConnection)> {
    let (stack, state_dir) = (&args.scope.stack.name, &args.scope.state_dir);
    let rds = aws_sdk_rds::Client::new(config);
    let cluster = source::temporary_cluster(&rds, stack, args.from.as_deref()).await?;
    let (Some(host), Some(port)) = (cluster.facts.endpoint.clone(), cluster.facts.port) else {
        bail!(
            "the temporary cluster {} has no endpoint yet: wait for the restore to finish",
            cluster.facts.identifier
        );
    };
    let credentials =
        source::credentials_file(state_dir, stack, args.credentials.as_deref(), &cluster)?;
    let (username, password) = source::read_login(&credentials)?;
    let connection = SourceConnection {
        host,
        port,
        username,
        password,
    };
    Ok((cluster.facts.identifier, credentials, connection))
}

/// `--execution-role`, else the embedding task definition's, with where it came from.
async fn execution_role(
    args: &CopyVectors,
    clients: &CopyClients,
    task_definition: &str,
    target_secret: &str,
) -> anyhow::Result<(String, &'static str)> {
    if let Some(role) = &args.execution_role {
        return Ok((role.clone(), "--execution-role"));
    }
    match migrate::copy::embedding_execution_role(&clients.ecs, task_definition).await? {
        Some(role) => Ok((role, "the embedding task definition's")),
        None => bail!(
            "the embedding task definition {task_definition} has no execution role, and the copy \
             task needs one to read its connection secrets: pass --execution-role ARN, a role that \
             ecs-tasks.amazonaws.com can assume with secretsmanager:GetSecretValue on \
             {target_secret} (the temporary source secret grants it by its own policy) and \
             logs:CreateLogStream and logs:PutLogEvents on the log group {LOG_GROUP}"
        ),
    }
}

/// `DbConfigSecretArn` (exactly, or the one output starting with it).
fn target_secret(outputs: &[(String, String)], stack: &str) -> anyhow::Result<String> {
    let exact = outputs.iter().find(|(k, _)| k == TARGET_SECRET_OUTPUT);
    let prefixed: Vec<_> = outputs
        .iter()
        .filter(|(k, _)| k.starts_with(TARGET_SECRET_OUTPUT))
        .collect();
    match (exact, prefixed.as_slice()) {
        (Some((_, v)), _) | (None, [(_, v)]) => Ok(v.clone()),
        _ => bail!(
            "stack {stack} has {} outputs named {TARGET_SECRET_OUTPUT}*: the new cluster's \
             secret cannot be told",
            if prefixed.is_empty() { "no" } else { "several" }
        ),
    }
}

async fn copy(clients: &CopyClients, request: &CopyRequest) -> anyhow::Result<ExitCode> {
    let spinner = progress::spinner("preparing the copy task");
    let launched = Arc::new(AtomicBool::new(false));
    // First signal: launch nothing more, wait for a running task, remove the temporaries; the
    // second leaves the task running and says how to clean up.
    let _handling = crate::signals::handle(2);
    let interrupt = crate::signals::interrupt();
    let announcer = tokio::spawn(announce_interrupts(
        interrupt.clone(),
        spinner.clone(),
        launched.clone(),
    ));
    let events = {
        let (pb, launched) = (spinner.clone(), launched.clone());
        move |event: CopyEvent| on_event(&pb, &launched, event)
    };
    let result = migrate::copy::run_copy(clients, request, &interrupt, &events).await;
    announcer.abort();
    spinner.finish_and_clear();
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(CopyError::Abandoned(running)) => {
            view::print_abandoned(&running);
            return Ok(ExitCode::from(crate::signals::exit_code()));
        }
        Err(CopyError::Interrupted) => {
            eprintln!("interrupted: nothing launched, and what was made for it was removed");
            return Ok(ExitCode::from(crate::signals::exit_code()));
        }
        Err(e) => return Err(e.into()),
    };
    view::print_table(&outcome);
    let verdict = outcome.verdict();
    view::print_verdict(&outcome, &verdict, &request.stack);
    Ok(match verdict {
        CopyVerdict::AllMatch => ExitCode::SUCCESS,
        CopyVerdict::Mismatch { .. } | CopyVerdict::Failed { .. } => ExitCode::FAILURE,
    })
}

fn on_event(pb: &ProgressBar, launched: &AtomicBool, event: CopyEvent) {
    match event {
        CopyEvent::LogGroupReady { group } => pb.set_message(format!("log group {group} ready")),
        CopyEvent::SecretCreated { name } => {
            say(pb, format!("created the temporary secret {name}"))
        }
        CopyEvent::TaskDefinitionRegistered { arn } => {
            say(
                pb,
                format!("registered the temporary task definition {arn}"),
            );
        }
        CopyEvent::TaskLaunched { task_arn } => {
            launched.store(true, Ordering::Relaxed);
            say(pb, format!("launched the copy task {task_arn}"));
            pb.set_message("copy task PROVISIONING");
        }
        CopyEvent::TaskStatus { status } => pb.set_message(format!("copy task {status}")),
        CopyEvent::ReadingLog { stream } => pb.set_message(format!("reading the log {stream}")),
        CopyEvent::Removed { what } => say(pb, format!("removed the temporary {what}")),
        CopyEvent::CleanupFailed { message } | CopyEvent::Warning { message } => {
            say(
                pb,
                format!("{} {message}", style("warning:").yellow().bold()),
            );
        }
    }
}

/// A line above the spinner. Without a terminal the spinner is hidden and so is its println: a CI
/// log must still show what was created and removed.
fn say(pb: &ProgressBar, message: String) {
    if pb.is_hidden() {
        eprintln!("{message}");
    } else {
        pb.println(message);
    }
}

/// Says what the process's interrupt (see `signals.rs`) does to the copy, at each step.
async fn announce_interrupts(interrupt: Interrupt, pb: ProgressBar, launched: Arc<AtomicBool>) {
    interrupt.stopped().await;
    let name = crate::signals::name();
    let message = if launched.load(Ordering::Relaxed) {
        format!(
            "{name}: the copy task is running; waiting for it to stop so that its temporary \
             secret and task definition can be removed. {name} again leaves it running."
        )
    } else {
        format!("{name}: the copy task will not be launched; removing what was created")
    };
    say(&pb, message);
    interrupt.aborted().await;
    say(
        &pb,
        format!("{} again: leaving now", crate::signals::name()),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outputs(keys: &[&str]) -> Vec<(String, String)> {
        keys.iter()
            .map(|k| (k.to_string(), format!("value-of-{k}")))
            .collect()
    }

    #[test]
    fn the_target_secret_output_is_exact_or_the_one_prefixed() {
        let exact = outputs(&["DbConfigSecretArn", "DbConfigSecretArnOld"]);
        assert_eq!(
            target_secret(&exact, "S").unwrap(),
            "value-of-DbConfigSecretArn"
        );
        let hashed = outputs(&["DbConfigSecretArnA1B2C3D4", "DbConfigHostname"]);
        assert_eq!(
            target_secret(&hashed, "S").unwrap(),
            "value-of-DbConfigSecretArnA1B2C3D4"
        );
        let err = target_secret(&outputs(&["DbConfigHostname"]), "S").unwrap_err();
        assert!(err.to_string().contains("no outputs"), "{err}");
    }
}
