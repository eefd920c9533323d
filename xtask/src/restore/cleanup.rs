//! `restore --list` and `restore --cleanup [ID]`: the tool's temporary clusters for the stack,
//! shown and deleted. Which clusters qualify (the tags) is `cdk_hook::restore`'s decision, made
//! again right before each deletion.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use cdk_hook::restore::{self, CleanupProgress, TemporaryCluster};
use console::style;

use crate::flags::Restore;
use crate::migrate::EXIT_REFUSED;

/// Deleting the writer and then the cluster takes RDS about ten minutes.
const CLEANUP_TIMEOUT: Duration = Duration::from_secs(3600);

pub async fn list(rds: &aws_sdk_rds::Client, stack: &str) -> anyhow::Result<ExitCode> {
    let clusters = restore::list_temporary(rds, stack).await?;
    if clusters.is_empty() {
        println!("no temporary cluster for stack {stack}");
        return Ok(ExitCode::SUCCESS);
    }
    let header = ["CLUSTER", "STATUS", "ENDPOINT", "SOURCE SNAPSHOT"].map(String::from);
    let rows: Vec<[String; 4]> = clusters
        .iter()
        .map(|c| {
            [
                c.facts.identifier.clone(),
                c.status.clone(),
                match (&c.facts.endpoint, c.facts.port) {
                    (Some(host), Some(port)) => format!("{host}:{port}"),
                    (Some(host), None) => host.clone(),
                    _ => "-".to_owned(),
                },
                c.source_snapshot.clone().unwrap_or_else(|| "-".to_owned()),
            ]
        })
        .collect();
    let mut widths = header.clone().map(|h| h.len());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String; 4]| {
        let mut text = String::new();
        for (cell, w) in cells.iter().zip(widths) {
            text.push_str(&format!("{cell:<w$}  "));
        }
        text.trim_end().to_owned()
    };
    println!("{}", style(line(&header)).bold());
    for row in &rows {
        println!("{}", line(row));
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn cleanup(
    rds: &aws_sdk_rds::Client,
    args: &Restore,
    only: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let stack = &args.scope.stack.name;
    let targets = restore::cleanup_candidates(rds, stack, only).await?;
    if targets.is_empty() {
        println!("nothing to clean up: no temporary cluster for stack {stack}");
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!(
        "{} will delete, without a final snapshot (the source snapshots stay):",
        style("cleanup").bold()
    );
    for t in &targets {
        eprintln!("  {}", describe(t));
    }
    let ask = crate::terminal::Ask {
        action: &format!("delete {} cluster(s)", targets.len()),
        verb: "delete",
        prompt: &format!(
            "Delete {} temporary cluster(s) and their instances?",
            targets.len()
        ),
        declined: "nothing deleted",
    };
    if !crate::terminal::confirm(args.yes, &ask)? {
        return Ok(ExitCode::from(EXIT_REFUSED));
    }
    let poll = crate::knobs::restore_poll()?;
    for t in &targets {
        let id = &t.facts.identifier;
        let pb = crate::progress::spinner(format!("deleting {id}"));
        let deleted =
            restore::delete_temporary(rds, stack, id, poll, CLEANUP_TIMEOUT, |p| match p {
                CleanupProgress::Instances { remaining } => pb.set_message(format!(
                    "deleting {id}: instances {}",
                    remaining
                        .iter()
                        .map(|(i, status)| format!("{i} {status}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
                CleanupProgress::Cluster { status } => {
                    pb.set_message(format!("deleting {id}: cluster {status}"))
                }
            })
            .await;
        pb.finish_and_clear();
        deleted.with_context(|| format!("deleting temporary cluster {id}"))?;
        println!("deleted {}", describe(t));
    }
    Ok(ExitCode::SUCCESS)
}

fn describe(t: &TemporaryCluster) -> String {
    format!(
        "cluster {} ({}) with {}, restored from {}",
        t.facts.identifier,
        t.status,
        if t.members.is_empty() {
            "no instances".to_owned()
        } else {
            format!("instances {}", t.members.join(", "))
        },
        t.source_snapshot.as_deref().unwrap_or("?")
    )
}
