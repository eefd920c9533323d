//! `cargo xtask restore`: the copy-back path's first step. Restores the snapshot `deploy` took of
//! the replaced cluster (from the replacement record, or `--snapshot`) into a temporary cluster
//! beside the stack's new one, waits until it and its writer are available, and says where to
//! connect. `--list` and `--cleanup` are in `restore/cleanup.rs`. The AWS work is
//! `cdk_hook::restore`'s; this module shows it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use cdk_hook::restore::{
    self, RestoreError, RestoreRequest, RestoreSource, SnapshotState, TemporaryCluster,
};
use cdk_hook::safeguard;
use console::style;

use crate::flags::Restore;

mod cleanup;

/// A restore of a large cluster takes tens of minutes; the writer a few more.
const RESTORE_TIMEOUT: Duration = Duration::from_secs(3 * 3600);
/// Same bound as deploy's wait for the snapshot it takes.
const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(4 * 3600);
const SNAPSHOT_POLL_ENV: &str = "XTASK_SNAPSHOT_POLL_MS";

pub fn run(args: Restore) -> anyhow::Result<ExitCode> {
    // `--list` changes nothing; a restore and a cleanup hold the stack's lock.
    let _lock = crate::run_lock::take_unless(args.list, &args.scope)?;
    crate::aws::runtime()?.block_on(run_async(args))
}

async fn run_async(args: Restore) -> anyhow::Result<ExitCode> {
    let config = crate::aws::sdk_config(&args.scope.stack.aws).await;
    let rds = aws_sdk_rds::Client::new(&config);
    if args.list {
        return cleanup::list(&rds, &args.scope.stack.name).await;
    }
    if let Some(only) = &args.cleanup {
        return cleanup::cleanup(&rds, &args, only.as_deref()).await;
    }
    let cfn = aws_sdk_cloudformation::Client::new(&config);
    restore_snapshot(&cfn, &rds, &args).await
}

async fn restore_snapshot(
    cfn: &aws_sdk_cloudformation::Client,
    rds: &aws_sdk_rds::Client,
    args: &Restore,
) -> anyhow::Result<ExitCode> {
    let source = find_source(args)?;
    let target = restore::stack_cluster(
        cfn,
        rds,
        &args.scope.stack.name,
        source.cluster_logical_id.as_deref(),
    )
    .await
    .with_context(|| {
        format!(
            "finding the current cluster of stack {}",
            args.scope.stack.name
        )
    })?;
    let snapshot = ready_snapshot(rds, &source).await?;
    let identifier =
        restore::temporary_identifier(&args.scope.stack.name, &migrate::state::utc_stamp());
    let request = RestoreRequest {
        stack: &args.scope.stack.name,
        identifier: &identifier,
        snapshot: &snapshot.identifier,
        target: &target,
    };
    show_plan(&source, &snapshot, &request);

    restore::restore_temporary(rds, &request).await?;
    // Declared before the line below is printed, so a signal right after it is ours to answer.
    let _handling = crate::signals::handle(1);
    let interrupt = crate::signals::interrupt();
    let writer = request.writer();
    eprintln!(
        "{} started; waiting until cluster {identifier} and writer {writer} are available \
         (Ctrl-C stops waiting, not the restore)",
        style("restore").bold()
    );
    let pb = crate::progress::spinner(format!("cluster {identifier}: creating"));
    let wait = restore::wait_available(
        rds,
        &args.scope.stack.name,
        &identifier,
        &writer,
        crate::knobs::restore_poll()?,
        RESTORE_TIMEOUT,
        |p| {
            pb.set_message(format!(
                "cluster {identifier}: {}, writer: {}",
                p.cluster_status, p.writer_status
            ))
        },
    );
    let restored = tokio::select! {
        restored = wait => restored,
        () = interrupt.stopped() => {
            pb.finish_and_clear();
            eprintln!(
                "{} RDS goes on restoring {identifier}; `cargo xtask restore --list` shows it, \
                 `cargo xtask restore --cleanup {identifier}` deletes it",
                style("interrupted:").red().bold()
            );
            return Ok(ExitCode::from(crate::signals::exit_code()));
        }
    };
    pb.finish_and_clear();
    let restored = restored.with_context(|| {
        format!(
            "the restore into {identifier} did not finish; `cargo xtask restore --cleanup \
             {identifier}` deletes what was made"
        )
    })?;
    print_result(&restored, &writer, &source);
    Ok(ExitCode::SUCCESS)
}

/// `--snapshot`, else the snapshot named by `--record` or the newest replacement record.
fn find_source(args: &Restore) -> anyhow::Result<RestoreSource> {
    let stack_dir = migrate::state::stack_dir(&args.scope.state_dir, &args.scope.stack.name);
    if let Some(snapshot) = &args.snapshot {
        // The newest record says where the credentials are, when it names this snapshot; one
        // that cannot be read only costs that hint.
        let newest = restore::newest_record(&stack_dir)
            .ok()
            .flatten()
            .and_then(|path| Some((restore::read_record(&path).ok()?, path)));
        return Ok(restore::source_for_snapshot(
            snapshot,
            newest
                .as_ref()
                .map(|(record, path)| (path.as_path(), record)),
        ));
    }
    let path: PathBuf = match &args.record {
        Some(path) => path.clone(),
        None => {
            restore::newest_record(&stack_dir)?.ok_or(RestoreError::NoRecord { dir: stack_dir })?
        }
    };
    let record = restore::read_record(&path)?;
    if record.stack != args.scope.stack.name {
        anyhow::bail!(
            "{} records a deploy of stack {}, not {}: pass --stack {}",
            path.display(),
            record.stack,
            args.scope.stack.name,
            record.stack
        );
    }
    Ok(restore::source_from_record(&path, &record)?)
}

/// The snapshot, available: one an interrupted deploy left `creating` is waited for.
async fn ready_snapshot(
    rds: &aws_sdk_rds::Client,
    source: &RestoreSource,
) -> anyhow::Result<SnapshotState> {
    let state = restore::describe_snapshot(rds, &source.snapshot).await?;
    if state.is_available() {
        return Ok(state);
    }
    if !state.is_in_progress() {
        return Err(RestoreError::SnapshotUnavailable {
            snapshot: state.identifier,
            status: state.status,
        }
        .into());
    }
    eprintln!(
        "{} {} is still {}{}; waiting until it is available",
        style("snapshot").bold(),
        state.identifier,
        state.status,
        if source.interrupted {
            " (the deploy that took it was interrupted)"
        } else {
            ""
        }
    );
    let pb = crate::progress::spinner(format!("snapshot {}: {}", state.identifier, state.status));
    let poll = crate::knobs::env_duration(SNAPSHOT_POLL_ENV, Duration::from_secs(5))?;
    let waited = safeguard::wait_snapshot_available(
        rds,
        safeguard::SnapshotOf::Cluster,
        &state.identifier,
        poll,
        SNAPSHOT_TIMEOUT,
        |status, percent| {
            let percent = percent.map(|p| format!(" {p}%")).unwrap_or_default();
            pb.set_message(format!("snapshot {}: {status}{percent}", state.identifier));
        },
    )
    .await;
    pb.finish_and_clear();
    waited?;
    Ok(restore::describe_snapshot(rds, &state.identifier).await?)
}

fn show_plan(source: &RestoreSource, snapshot: &SnapshotState, request: &RestoreRequest<'_>) {
    let target = request.target;
    let label = |text: &str| style(format!("{text:>9}")).bold();
    let of_cluster = snapshot
        .source_cluster
        .as_deref()
        .or(source.old_cluster.as_deref())
        .map(|c| format!(" of cluster {c}"))
        .unwrap_or_default();
    let from_record = source
        .record
        .as_ref()
        .map(|r| format!(" (from {})", r.display()))
        .unwrap_or_default();
    eprintln!(
        "{} snapshot {}{of_cluster}{from_record}",
        label("restore"),
        snapshot.identifier
    );
    let scaling = request.scaling();
    eprintln!(
        "{} temporary cluster {}, writer {} ({}, {}-{} ACU{})",
        label("into"),
        request.identifier,
        request.writer(),
        restore::WRITER_INSTANCE_CLASS,
        scaling.min_capacity,
        scaling.max_capacity,
        if target.serverless_v2_scaling.is_none() {
            "; the stack's cluster has no serverless v2 range, this is the default"
        } else {
            ""
        }
    );
    eprintln!(
        "{} subnet group {}, security groups {} (those of the stack's cluster {})",
        label("network"),
        target.db_subnet_group.as_deref().unwrap_or("(default)"),
        if target.vpc_security_group_ids.is_empty() {
            "(the VPC's default)".to_owned()
        } else {
            target.vpc_security_group_ids.join(", ")
        },
        target.identifier
    );
    eprintln!(
        "{} {} {}",
        label("engine"),
        target.engine,
        target
            .engine_version
            .as_deref()
            .unwrap_or("(default version)")
    );
}

/// Where to connect; stdout, so a script can read it. The password stays in its file.
fn print_result(cluster: &TemporaryCluster, writer: &str, source: &RestoreSource) {
    let row = |key: &str, value: &str| println!("{key:<20} {value}");
    row("temporary cluster", &cluster.facts.identifier);
    row("status", &cluster.status);
    row(
        "endpoint",
        cluster.facts.endpoint.as_deref().unwrap_or("(none yet)"),
    );
    row(
        "port",
        &cluster
            .facts
            .port
            .map(|p| p.to_string())
            .unwrap_or_else(|| "(none)".to_owned()),
    );
    row("writer", writer);
    match &source.credentials_file {
        Some(path) => row("credentials file", &path.display().to_string()),
        None => row(
            "credentials file",
            "none recorded: the cluster keeps the master password the old cluster had at the snapshot",
        ),
    }
    eprintln!(
        "{} {id} logs in as the old cluster did (the credentials file). Next: `cargo xtask \
         copy-vectors --from {id}`, then `cargo xtask restore --cleanup {id}`",
        style("restored").green().bold(),
        id = cluster.facts.identifier
    );
}
