//! Taking the chosen safeguards, one gating resource at a time, then writing the replacement
//! record. Any failure stops the deploy before the change set is executed; a Ctrl-C while a
//! snapshot or backup is being made records it as `creating` (AWS goes on making it).

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use cdk_hook::CdkHookError;
use cdk_hook::safeguard::{
    self, BackupFacts, Guarded, Measure, ProtectedCluster, ProtectedInstance, ProtectedTable,
    ReplacementRecord, SnapshotFacts, SnapshotOf, UnprotectedResource,
};
use console::style;
use indicatif::ProgressBar;

use super::credentials::credentials;
use super::run::{Interrupted, SafeguardRun, Safeguards};

/// How long a snapshot or backup may take before the deploy gives up on it.
const MAKE_TIMEOUT: Duration = Duration::from_secs(4 * 3600);

/// One resource's step: the run, the resource, the choice, the run's time stamp.
struct Step<'a> {
    run: &'a SafeguardRun<'a>,
    g: &'a Guarded,
    chosen: Safeguards,
    stamp: &'a str,
    /// Several clusters: each credential file is named after its cluster's logical id.
    several_clusters: bool,
}

/// Takes the chosen safeguards for every gating resource and writes the replacement record.
pub async fn take(
    run: &SafeguardRun<'_>,
    guarded: &[Guarded],
    chosen: Safeguards,
) -> anyhow::Result<PathBuf> {
    let stamp = migrate::state::utc_stamp();
    let mut record = ReplacementRecord {
        version: ReplacementRecord::VERSION,
        stack: run.plan.stack.clone(),
        change_set_id: Some(run.change_set_id.to_owned()),
        recorded_at: stamp.clone(),
        plan: run.plan.clone(),
        clusters: Vec::new(),
        instances: Vec::new(),
        tables: Vec::new(),
        unprotected: Vec::new(),
        interrupted: false,
    };
    let clusters = guarded
        .iter()
        .filter(|g| g.measure.records_credentials())
        .count();
    for g in guarded {
        let step = Step {
            run,
            g,
            chosen,
            stamp: &stamp,
            several_clusters: clusters > 1,
        };
        if let Err(e) = take_one(&step, &mut record).await {
            if e.downcast_ref::<Interrupted>().is_some() {
                record.interrupted = true;
                write_record(run, &record)?;
            }
            return Err(e);
        }
    }
    write_record(run, &record)
}

/// On failure the step still adds its entry (with what is being made, if interrupted): the
/// record is written only for an interruption.
async fn take_one(step: &Step<'_>, record: &mut ReplacementRecord) -> anyhow::Result<()> {
    let g = step.g;
    match g.measure {
        Measure::ClusterSnapshot | Measure::ClusterFinalSnapshot => cluster(step, record).await,
        Measure::InstanceSnapshot => instance(step, record).await,
        Measure::TableBackup => table(step, record).await,
        Measure::FollowsCluster { .. } | Measure::BucketWithoutSnapshot | Measure::Unsupported => {
            record.unprotected.push(UnprotectedResource {
                logical_id: g.logical_id.clone(),
                resource_type: g.resource_type.clone(),
                physical_id: g.physical_id.clone(),
                fate: g.fate,
                measure: g.measure.clone(),
            });
            Ok(())
        }
    }
}

fn physical<'a>(step: &Step<'a>) -> anyhow::Result<&'a str> {
    step.g.physical_id.as_deref().with_context(|| {
        format!(
            "{} {} has no physical id in stack {}: nothing to protect, nothing was executed",
            step.g.resource_type, step.g.logical_id, step.run.plan.stack
        )
    })
}

fn interrupted_snapshot(e: &anyhow::Error) -> Option<SnapshotFacts> {
    e.downcast_ref::<Interrupted>().map(|i| SnapshotFacts {
        identifier: i.name.clone(),
        arn: i.arn.clone(),
        status: "creating".to_owned(),
    })
}

async fn cluster(step: &Step<'_>, record: &mut ReplacementRecord) -> anyhow::Result<()> {
    let (run, g) = (step.run, step.g);
    let identifier = physical(step)?;
    let mut protected = ProtectedCluster {
        logical_id: g.logical_id.clone(),
        fate: Some(g.fate),
        old: safeguard::describe_cluster(run.rds, identifier).await?,
        snapshot: None,
        secret_arn: None,
        credentials_file: None,
        rotation_cancelled: false,
    };
    if step.chosen.snapshot && g.measure == Measure::ClusterSnapshot {
        match rds_snapshot(run, SnapshotOf::Cluster, identifier, step.stamp).await {
            Ok(facts) => protected.snapshot = Some(facts),
            Err(e) => {
                protected.snapshot = interrupted_snapshot(&e);
                record.clusters.push(protected);
                return Err(e);
            }
        }
    }
    if step.chosen.credentials {
        let name = if step.several_clusters {
            migrate::state::credentials_name(step.stamp, Some(&g.logical_id))
        } else {
            migrate::state::credentials_name(step.stamp, None)
        };
        credentials(run, &mut protected, run.stack_dir.join(name), step.stamp).await?;
    }
    record.clusters.push(protected);
    Ok(())
}

async fn instance(step: &Step<'_>, record: &mut ReplacementRecord) -> anyhow::Result<()> {
    let (run, g) = (step.run, step.g);
    let identifier = physical(step)?;
    let mut protected = ProtectedInstance {
        logical_id: g.logical_id.clone(),
        identifier: identifier.to_owned(),
        fate: g.fate,
        snapshot: None,
    };
    if step.chosen.snapshot {
        match rds_snapshot(run, SnapshotOf::Instance, identifier, step.stamp).await {
            Ok(facts) => protected.snapshot = Some(facts),
            Err(e) => {
                protected.snapshot = interrupted_snapshot(&e);
                record.instances.push(protected);
                return Err(e);
            }
        }
    }
    record.instances.push(protected);
    Ok(())
}

/// A manual snapshot of `source` (a cluster or a standalone instance), waited for.
async fn rds_snapshot(
    run: &SafeguardRun<'_>,
    of: SnapshotOf,
    source: &str,
    stamp: &str,
) -> anyhow::Result<SnapshotFacts> {
    let noun = of.noun();
    let id = safeguard::snapshot_identifier(&run.plan.stack, source, stamp);
    safeguard::create_snapshot(run.rds, of, source, &id, &run.plan.stack)
        .await
        .with_context(|| format!("snapshot of {noun} {source} failed: nothing was executed"))?;
    let making = Making {
        what: match of {
            SnapshotOf::Cluster => "manual snapshot",
            SnapshotOf::Instance => "manual DB snapshot",
        },
        kind: "snapshot",
        name: &id,
        of: format!("{noun} {source}"),
        arn: None,
    };
    let (_handling, pb) = making.start();
    let wait = safeguard::wait_snapshot_available(
        run.rds,
        of,
        &id,
        poll()?,
        MAKE_TIMEOUT,
        making.progress(&pb),
    );
    let facts = making.finish(wait, &pb).await?;
    making.done(&format!("kept after the {noun} is deleted"));
    Ok(facts)
}

async fn table(step: &Step<'_>, record: &mut ReplacementRecord) -> anyhow::Result<()> {
    let (run, g) = (step.run, step.g);
    let name = physical(step)?;
    let (table_arn, item_count) = safeguard::describe_table(run.ddb, name).await?;
    let mut protected = ProtectedTable {
        logical_id: g.logical_id.clone(),
        table_name: name.to_owned(),
        table_arn,
        fate: g.fate,
        item_count,
        backup: None,
    };
    if step.chosen.snapshot {
        match table_backup(run, name, step.stamp).await {
            Ok(facts) => protected.backup = Some(facts),
            Err(e) => {
                protected.backup = e.downcast_ref::<Interrupted>().map(|i| BackupFacts {
                    name: i.name.clone(),
                    arn: i.arn.clone().unwrap_or_default(),
                    status: "CREATING".to_owned(),
                });
                record.tables.push(protected);
                return Err(e);
            }
        }
    }
    record.tables.push(protected);
    Ok(())
}

async fn table_backup(
    run: &SafeguardRun<'_>,
    table: &str,
    stamp: &str,
) -> anyhow::Result<BackupFacts> {
    let name = safeguard::backup_name(&run.plan.stack, table, stamp);
    let arn = safeguard::create_table_backup(run.ddb, table, &name)
        .await
        .with_context(|| format!("backup of table {table} failed: nothing was executed"))?;
    let making = Making {
        what: "backup",
        kind: "backup",
        name: &name,
        of: format!("table {table}"),
        arn: Some(arn.clone()),
    };
    let (_handling, pb) = making.start();
    let wait = safeguard::wait_backup_available(
        run.ddb,
        &name,
        &arn,
        poll()?,
        MAKE_TIMEOUT,
        making.progress(&pb),
    );
    let facts = making.finish(wait, &pb).await?;
    making.done(&format!(
        "{arn}; kept after the table is deleted, restore it with RestoreTableFromBackup"
    ));
    Ok(facts)
}

fn poll() -> anyhow::Result<Duration> {
    crate::knobs::env_duration("XTASK_SNAPSHOT_POLL_MS", Duration::from_secs(5))
}

/// A snapshot or backup being made, for the lines and the spinner around its wait.
struct Making<'a> {
    /// `manual snapshot`, `manual DB snapshot`, `backup`.
    what: &'static str,
    /// `snapshot` or `backup`, for an interruption.
    kind: &'static str,
    name: &'a str,
    /// `cluster X`, `table Y`.
    of: String,
    arn: Option<String>,
}

impl Making<'_> {
    /// Declares the signal handling before the line is printed (a signal right after it is
    /// answered, not fatal): one signal stops the deploy (the change set is deleted, what AWS goes
    /// on making is recorded), a second exits at once. Then shows a spinner.
    fn start(&self) -> (crate::signals::Handling, ProgressBar) {
        let handling = crate::signals::handle(1);
        eprintln!(
            "{} {} of {} started; waiting until it is available (Ctrl-C or SIGTERM stops the deploy, nothing executed)",
            style(self.what).bold(),
            self.name,
            self.of
        );
        let pb = crate::progress::spinner(format!("{} {}: creating", self.what, self.name));
        (handling, pb)
    }

    fn progress<'p>(&'p self, pb: &'p ProgressBar) -> impl FnMut(&str, Option<i32>) + 'p {
        move |status, percent| {
            let percent = percent.map(|p| format!(" {p}%")).unwrap_or_default();
            pb.set_message(format!("{} {}: {status}{percent}", self.what, self.name));
        }
    }

    async fn finish<T>(
        &self,
        wait: impl Future<Output = Result<T, CdkHookError>>,
        pb: &ProgressBar,
    ) -> anyhow::Result<T> {
        let interrupt = crate::signals::interrupt();
        let made = tokio::select! {
            made = wait => made,
            () = interrupt.stopped() => {
                pb.finish_and_clear();
                return Err(Interrupted {
                    kind: self.kind,
                    name: self.name.to_owned(),
                    arn: self.arn.clone(),
                }
                .into());
            }
        };
        pb.finish_and_clear();
        made.with_context(|| format!("{} of {}: nothing was executed", self.what, self.of))
    }

    fn done(&self, note: &str) {
        eprintln!(
            "{} {} of {} is available ({note})",
            style(self.what).green().bold(),
            self.name,
            self.of
        );
    }
}

fn write_record(run: &SafeguardRun<'_>, record: &ReplacementRecord) -> anyhow::Result<PathBuf> {
    let path = run
        .stack_dir
        .join(migrate::state::replacement_record_name(&record.recorded_at));
    record.write(&path)?;
    eprintln!("{} {}", style("replacement record").bold(), path.display());
    Ok(path)
}
