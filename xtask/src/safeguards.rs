//! `deploy`'s answer to a guarded replacement: the prompt (or `--on-replace`), then the chosen
//! safeguards (manual cluster snapshot, credential record) and the replacement record. The AWS
//! work is `cdk_hook::safeguard`'s; this module asks, shows progress and says where files went.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use cdk_hook::safeguard::{self, ProtectedCluster, ReplacementRecord};
use cdk_hook::{ReplacementPlan, ResourceVerdict};
use console::style;

use crate::flags::OnReplace;

/// What the user chose for a guarded replacement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Safeguards {
    pub snapshot: bool,
    pub credentials: bool,
}

/// The decision before anything is executed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Execute(Safeguards),
    /// Execute nothing; the reason is shown.
    Stop(String),
}

const CLUSTER_TYPE: &str = "AWS::RDS::DBCluster";

/// The gating RDS clusters: the ones a snapshot and a credential record can protect.
pub fn gating_clusters(plan: &ReplacementPlan) -> Vec<&ResourceVerdict> {
    plan.gating()
        .filter(|v| v.resource_type == CLUSTER_TYPE)
        .collect()
}

/// `--on-replace` decides; without it a person at a terminal is asked; without either the run
/// stops and names the flag.
pub fn decide(
    on_replace: Option<OnReplace>,
    plan: &ReplacementPlan,
    interactive: bool,
) -> anyhow::Result<Decision> {
    let has_cluster = !gating_clusters(plan).is_empty();
    let choice = match on_replace {
        Some(choice) => {
            eprintln!(
                "{} --on-replace {}",
                style("guarded replacement:").red().bold(),
                format!("{choice:?}").to_lowercase()
            );
            choice
        }
        None if interactive => prompt(plan, has_cluster)?,
        None => {
            return Ok(Decision::Stop(
                "a guarded replacement needs a decision and no one is at a terminal: pass \
                 --on-replace snapshot|credentials|both|proceed|abort"
                    .to_owned(),
            ));
        }
    };
    let wants = |snapshot, credentials| {
        if has_cluster {
            Decision::Execute(Safeguards {
                snapshot,
                credentials,
            })
        } else {
            Decision::Stop(format!(
                "--on-replace {choice:?} protects an RDS cluster, and no cluster is replaced here; \
                 pass --on-replace proceed or abort"
            ))
        }
    };
    Ok(match choice {
        OnReplace::Both => wants(true, true),
        OnReplace::Snapshot => wants(true, false),
        OnReplace::Credentials => wants(false, true),
        OnReplace::Proceed => Decision::Execute(Safeguards {
            snapshot: false,
            credentials: false,
        }),
        OnReplace::Abort => Decision::Stop("aborted: nothing was executed".to_owned()),
    })
}

fn prompt(plan: &ReplacementPlan, has_cluster: bool) -> anyhow::Result<OnReplace> {
    let mut items: Vec<(&str, OnReplace)> = Vec::new();
    if has_cluster {
        items.extend([
            (
                "Take a manual snapshot of the cluster and record the credentials (recommended)",
                OnReplace::Both,
            ),
            ("Take a manual snapshot only", OnReplace::Snapshot),
            ("Record the credentials only", OnReplace::Credentials),
        ]);
    }
    items.extend([
        (
            "Continue without safeguards (type the stack name to confirm)",
            OnReplace::Proceed,
        ),
        (
            "Abort: execute nothing, delete the prepared change set",
            OnReplace::Abort,
        ),
    ]);
    let labels: Vec<&str> = items.iter().map(|(l, _)| *l).collect();
    let picked = dialoguer::Select::new()
        .with_prompt("This deploy loses data (see above). What now?")
        .items(&labels)
        .default(labels.len() - 1)
        .interact()?;
    let choice = items[picked].1;
    if choice != OnReplace::Proceed {
        return Ok(choice);
    }
    let typed: String = dialoguer::Input::new()
        .with_prompt(format!(
            "Type the stack name ({}) to continue without safeguards",
            plan.stack
        ))
        .allow_empty(true)
        .interact_text()?;
    Ok(if typed.trim() == plan.stack {
        OnReplace::Proceed
    } else {
        eprintln!("the name does not match: aborting");
        OnReplace::Abort
    })
}

/// The clients and facts the safeguards need.
pub struct SafeguardRun<'a> {
    pub cfn: &'a aws_sdk_cloudformation::Client,
    pub rds: &'a aws_sdk_rds::Client,
    pub secrets: &'a aws_sdk_secretsmanager::Client,
    pub plan: &'a ReplacementPlan,
    pub change_set_id: &'a str,
    pub stack_dir: PathBuf,
    pub outputs: Vec<(String, String)>,
    pub disable_rotation: bool,
    pub interactive: bool,
}

/// Takes the chosen safeguards for every gating cluster and writes the replacement record; any
/// failure stops the deploy before the change set is executed.
pub async fn take(run: &SafeguardRun<'_>, chosen: Safeguards) -> anyhow::Result<PathBuf> {
    let stamp = safeguard::utc_stamp();
    let stack = &run.plan.stack;
    let mut clusters = Vec::new();
    let gating = gating_clusters(run.plan);
    for verdict in &gating {
        let physical = match &verdict.physical_id {
            Some(id) => Some(id.clone()),
            None => cdk_hook::stack::physical_id(run.cfn, stack, &verdict.logical_id).await?,
        };
        let identifier = physical.with_context(|| {
            format!(
                "cluster {} has no physical id in stack {stack}: nothing to protect",
                verdict.logical_id
            )
        })?;
        let old = safeguard::describe_cluster(run.rds, &identifier).await?;
        let mut protected = ProtectedCluster {
            logical_id: verdict.logical_id.clone(),
            old,
            snapshot: None,
            secret_arn: None,
            credentials_file: None,
            rotation_cancelled: false,
        };
        if chosen.snapshot {
            match snapshot(run, &identifier, &stamp).await {
                Ok(facts) => protected.snapshot = Some(facts),
                Err(e) => {
                    // Ctrl-C while the snapshot is being made: record it (it goes on in RDS),
                    // so nothing half-done is left unrecorded.
                    if let Some(interrupted) = e.downcast_ref::<Interrupted>() {
                        protected.snapshot = Some(safeguard::SnapshotFacts {
                            identifier: interrupted.snapshot.clone(),
                            arn: None,
                            status: "creating".to_owned(),
                        });
                        clusters.push(protected);
                        write_record(run, &stamp, clusters, true)?;
                    }
                    return Err(e);
                }
            }
        }
        if chosen.credentials {
            // One file per cluster; the logical id tells them apart when there are several.
            let name = if gating.len() == 1 {
                migrate::state::credentials_name(&stamp, None)
            } else {
                migrate::state::credentials_name(&stamp, Some(&verdict.logical_id))
            };
            credentials(run, &mut protected, run.stack_dir.join(name), &stamp).await?;
        }
        clusters.push(protected);
    }
    write_record(run, &stamp, clusters, false)
}

/// A signal (Ctrl-C, SIGTERM, SIGHUP) during a safeguard: the deploy stops before executing anything.
#[derive(Debug)]
pub struct Interrupted {
    pub snapshot: String,
}

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "interrupted while snapshot {} was being created (RDS goes on making it; delete it if you do not need it)",
            self.snapshot
        )
    }
}

impl std::error::Error for Interrupted {}

fn write_record(
    run: &SafeguardRun<'_>,
    stamp: &str,
    clusters: Vec<ProtectedCluster>,
    interrupted: bool,
) -> anyhow::Result<PathBuf> {
    let record = ReplacementRecord {
        version: 1,
        stack: run.plan.stack.clone(),
        change_set_id: Some(run.change_set_id.to_owned()),
        recorded_at: stamp.to_owned(),
        plan: run.plan.clone(),
        clusters,
        interrupted,
    };
    let path = run
        .stack_dir
        .join(migrate::state::replacement_record_name(stamp));
    record.write(&path)?;
    eprintln!("{} {}", style("replacement record").bold(), path.display());
    Ok(path)
}

async fn snapshot(
    run: &SafeguardRun<'_>,
    cluster: &str,
    stamp: &str,
) -> anyhow::Result<safeguard::SnapshotFacts> {
    let id = safeguard::snapshot_identifier(&run.plan.stack, cluster, stamp);
    safeguard::create_cluster_snapshot(run.rds, cluster, &id, &run.plan.stack)
        .await
        .with_context(|| format!("snapshot of cluster {cluster} failed: nothing was executed"))?;
    // Declared before the line below is printed: a signal right after it is answered, not fatal.
    // One signal stops the deploy (the change set is deleted, the snapshot recorded); a second
    // exits at once.
    let _handling = crate::signals::handle(1);
    let interrupt = crate::signals::interrupt();
    eprintln!(
        "{} {id} of cluster {cluster} started; waiting until it is available (Ctrl-C or SIGTERM stops the deploy, nothing executed)",
        style("manual snapshot").bold()
    );
    let pb = crate::progress::spinner(format!("snapshot {id}: creating"));
    let poll = crate::knobs::env_duration("XTASK_SNAPSHOT_POLL_MS", Duration::from_secs(5))?;
    let wait = safeguard::wait_snapshot_available(
        run.rds,
        &id,
        poll,
        Duration::from_secs(4 * 3600),
        |status, percent| {
            let percent = percent.map(|p| format!(" {p}%")).unwrap_or_default();
            pb.set_message(format!("snapshot {id}: {status}{percent}"));
        },
    );
    let facts = tokio::select! {
        facts = wait => facts,
        () = interrupt.stopped() => {
            pb.finish_and_clear();
            return Err(Interrupted { snapshot: id }.into());
        }
    };
    pb.finish_and_clear();
    let facts =
        facts.with_context(|| format!("snapshot of cluster {cluster}: nothing was executed"))?;
    eprintln!(
        "{} {} of cluster {cluster} is available (kept after the cluster is deleted)",
        style("manual snapshot").green().bold(),
        facts.identifier
    );
    Ok(facts)
}

async fn credentials(
    run: &SafeguardRun<'_>,
    protected: &mut ProtectedCluster,
    path: PathBuf,
    stamp: &str,
) -> anyhow::Result<()> {
    let output = run
        .outputs
        .iter()
        .find(|(k, _)| k.starts_with("DbConfigSecretArn"))
        .map(|(k, v)| (k.as_str(), v.as_str()));
    let stack = &run.plan.stack;
    let attachments = cdk_hook::stack::resources_of_type(
        run.cfn,
        stack,
        "AWS::SecretsManager::SecretTargetAttachment",
    )
    .await?;
    let secrets =
        cdk_hook::stack::resources_of_type(run.cfn, stack, "AWS::SecretsManager::Secret").await?;
    let (arn, source) = safeguard::find_secret(output, &protected.old, &attachments, &secrets)?;
    let value = safeguard::read_secret(run.secrets, &arn).await?;
    safeguard::record_credentials(
        &path,
        &arn,
        &source,
        &protected.old.identifier,
        &value,
        stamp,
    )?;
    drop(value);
    eprintln!(
        "{} {} (mode 0600; it holds the database password: keep it out of git)",
        style("credentials recorded").green().bold(),
        path.display()
    );
    protected.secret_arn = Some(arn.clone());
    protected.credentials_file = Some(path);
    protected.rotation_cancelled = rotation(run, &arn).await?;
    Ok(())
}

/// A rotation would make the recorded password stale; it is turned off only with consent.
async fn rotation(run: &SafeguardRun<'_>, arn: &str) -> anyhow::Result<bool> {
    let state = safeguard::rotation_state(run.secrets, arn).await?;
    if !state.enabled {
        return Ok(false);
    }
    eprintln!(
        "{} secret {arn} rotates: the next rotation makes the recorded password stale",
        style("warning:").yellow().bold()
    );
    let consent = run.disable_rotation
        || (run.interactive
            && dialoguer::Confirm::new()
                .with_prompt("Turn rotation off for this secret (CancelRotateSecret)?")
                .default(false)
                .interact()?);
    if !consent {
        eprintln!("rotation left on (pass --disable-rotation to turn it off)");
        return Ok(false);
    }
    safeguard::cancel_rotation(run.secrets, arn).await?;
    eprintln!("rotation turned off for {arn}");
    Ok(true)
}
