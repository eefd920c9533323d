//! `deploy`'s answer to a guarded replacement or removal: one line per gating resource saying
//! what happens to its data and what can be taken, the prompt (or `--on-replace`), then the
//! chosen safeguards (manual cluster or DB snapshots, DynamoDB backups, the credential record)
//! and the replacement record. The AWS work is `cdk_hook::safeguard`'s; this module asks, shows
//! progress and says where files went.

use cdk_hook::ReplacementPlan;
use cdk_hook::safeguard::Guarded;
use console::style;

use crate::flags::OnReplace;

mod credentials;
mod lines;
mod run;
mod take;

pub use run::{Interrupted, SafeguardRun, Safeguards};
pub use take::take;

/// The decision before anything is executed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Execute(Safeguards),
    /// Execute nothing; the reason is shown.
    Stop(String),
}

/// One line per gating resource, before the decision.
pub fn print_lines(guarded: &[Guarded]) {
    eprintln!("{}", style("safeguards:").bold());
    for g in guarded {
        eprintln!("  {}", lines::line(g));
    }
}

/// `--on-replace` decides; without it a person at a terminal is asked; without either the run
/// stops and names the flag. A choice that protects nothing here stops too: a pipeline's
/// `--on-replace both` must not pass a deploy whose data it cannot protect.
pub fn decide(
    on_replace: Option<OnReplace>,
    plan: &ReplacementPlan,
    guarded: &[Guarded],
    interactive: bool,
) -> anyhow::Result<Decision> {
    let can_snapshot = guarded.iter().any(|g| g.measure.takes_snapshot());
    let can_record = guarded.iter().any(|g| g.measure.records_credentials());
    let choice = match on_replace {
        Some(choice) => {
            eprintln!(
                "{} --on-replace {}",
                style("guarded replacement:").red().bold(),
                format!("{choice:?}").to_lowercase()
            );
            choice
        }
        None if interactive => prompt(plan, guarded, can_snapshot, can_record)?,
        None => {
            return Ok(Decision::Stop(
                "a guarded replacement needs a decision and no one is at a terminal: pass \
                 --on-replace snapshot|credentials|both|proceed|abort"
                    .to_owned(),
            ));
        }
    };
    let nothing = |what: &str| {
        Decision::Stop(format!(
            "--on-replace {} {what}, and nothing here has one (see the safeguards above); pass \
             --on-replace proceed or abort",
            format!("{choice:?}").to_lowercase()
        ))
    };
    let execute = |snapshot, credentials| {
        Decision::Execute(Safeguards {
            snapshot,
            credentials,
        })
    };
    Ok(match choice {
        OnReplace::Both if can_snapshot || can_record => execute(can_snapshot, can_record),
        OnReplace::Both => nothing("takes snapshots, backups and credentials"),
        OnReplace::Snapshot if can_snapshot => execute(true, false),
        OnReplace::Snapshot => nothing("takes a manual snapshot or an on-demand backup"),
        OnReplace::Credentials if can_record => execute(false, true),
        OnReplace::Credentials => nothing("records an RDS cluster's credentials"),
        OnReplace::Proceed => execute(false, false),
        OnReplace::Abort => Decision::Stop("aborted: nothing was executed".to_owned()),
    })
}

/// The menu's items: what applies here, then continue and abort (the default).
fn menu(guarded: &[Guarded], can_snapshot: bool, can_record: bool) -> Vec<(String, OnReplace)> {
    let nouns = lines::snapshot_nouns(guarded);
    let mut items = match (can_snapshot, can_record) {
        (true, true) => vec![
            (
                format!("Take {nouns} and record the credentials (recommended)"),
                OnReplace::Both,
            ),
            (format!("Take {nouns} only"), OnReplace::Snapshot),
            (
                "Record the credentials only".to_owned(),
                OnReplace::Credentials,
            ),
        ],
        (true, false) => vec![(format!("Take {nouns} (recommended)"), OnReplace::Snapshot)],
        (false, true) => vec![(
            "Record the credentials (recommended)".to_owned(),
            OnReplace::Credentials,
        )],
        (false, false) => Vec::new(),
    };
    items.extend([
        (
            "Continue without safeguards (type the stack name to confirm)".to_owned(),
            OnReplace::Proceed,
        ),
        (
            "Abort: execute nothing, delete the prepared change set".to_owned(),
            OnReplace::Abort,
        ),
    ]);
    items
}

fn prompt(
    plan: &ReplacementPlan,
    guarded: &[Guarded],
    can_snapshot: bool,
    can_record: bool,
) -> anyhow::Result<OnReplace> {
    let items = menu(guarded, can_snapshot, can_record);
    let labels: Vec<&str> = items.iter().map(|(l, _)| l.as_str()).collect();
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

#[cfg(test)]
mod tests {
    use cdk_hook::safeguard::{DataFate, Measure};

    use super::*;

    fn guarded(measure: Measure) -> Guarded {
        Guarded {
            logical_id: "Res".into(),
            resource_type: "AWS::Any::Thing".into(),
            physical_id: None,
            fate: DataFate::Destroyed,
            measure,
            size: None,
        }
    }

    fn decided(choice: OnReplace, guarded: &[Guarded]) -> Decision {
        let plan = ReplacementPlan::new("S".into(), None, Vec::new());
        decide(Some(choice), &plan, guarded, false).unwrap()
    }

    #[test]
    fn each_choice_takes_what_applies_and_a_choice_that_protects_nothing_stops() {
        let table = [guarded(Measure::TableBackup)];
        let only = |snapshot, credentials| {
            Decision::Execute(Safeguards {
                snapshot,
                credentials,
            })
        };
        assert_eq!(decided(OnReplace::Both, &table), only(true, false));
        assert_eq!(decided(OnReplace::Snapshot, &table), only(true, false));
        let Decision::Stop(reason) = decided(OnReplace::Credentials, &table) else {
            panic!("no cluster: nothing to record");
        };
        assert!(reason.contains("records an RDS cluster's credentials, and nothing here has one"));

        // A removed cluster whose policy keeps a final snapshot: only the credentials apply.
        let kept = [guarded(Measure::ClusterFinalSnapshot)];
        assert_eq!(decided(OnReplace::Both, &kept), only(false, true));
        assert!(matches!(
            decided(OnReplace::Snapshot, &kept),
            Decision::Stop(_)
        ));

        // A bucket alone: S3 has no snapshot, so only proceed or abort decide.
        let bucket = [guarded(Measure::BucketWithoutSnapshot)];
        let Decision::Stop(reason) = decided(OnReplace::Both, &bucket) else {
            panic!("nothing to take for a bucket");
        };
        assert!(
            reason.contains("pass --on-replace proceed or abort"),
            "{reason}"
        );
        assert_eq!(decided(OnReplace::Proceed, &bucket), only(false, false));
    }

    #[test]
    fn the_menu_offers_what_applies_and_defaults_to_abort() {
        let labels = |g: &[Guarded], s, c| -> Vec<String> {
            menu(g, s, c).into_iter().map(|(l, _)| l).collect()
        };
        let cluster = [guarded(Measure::ClusterSnapshot)];
        assert_eq!(
            labels(&cluster, true, true),
            [
                "Take the manual cluster snapshot and record the credentials (recommended)",
                "Take the manual cluster snapshot only",
                "Record the credentials only",
                "Continue without safeguards (type the stack name to confirm)",
                "Abort: execute nothing, delete the prepared change set",
            ]
        );
        let table = [guarded(Measure::TableBackup)];
        assert_eq!(
            labels(&table, true, false)[0],
            "Take the on-demand backup (recommended)"
        );
        assert_eq!(labels(&[], false, false).len(), 2);
    }
}
