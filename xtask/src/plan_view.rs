//! How a `ReplacementPlan` is shown: one row per resource change, the gating ones in colour,
//! then one sentence per gating root cause saying what the deploy means for the data.

use cdk_hook::{Action, Fate, GuardClass, Replacement, ReplacementPlan, ResourceVerdict};
use console::style;

/// `next_step` ends the sentence about a replaced vector store: what the user does about it.
pub fn print_plan(plan: &ReplacementPlan, next_step: &str) {
    if plan.resources.is_empty() {
        println!("{}: no resource changes", plan.stack);
        return;
    }
    let header = [
        "RESOURCE",
        "TYPE",
        "ACTION",
        "REPLACEMENT",
        "CAUSE",
        "FATE OF THE OLD",
    ]
    .map(String::from);
    let rows: Vec<[String; 6]> = plan.resources.iter().map(row).collect();
    let mut widths = header.clone().map(|h| h.chars().count());
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String; 6]| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                s.push_str(cell);
            } else {
                s.push_str(&format!("{cell:<w$}  "));
            }
        }
        s.trim_end().to_owned()
    };
    println!("{}", style(line(&header)).bold());
    for (v, cells) in plan.resources.iter().zip(&rows) {
        let text = line(cells);
        let styled = match (v.gates(), v.replacement) {
            (true, Replacement::May) => style(text).yellow().bold(),
            (true, _) => style(text).red().bold(),
            (false, _) => style(text),
        };
        println!("{styled}");
    }
    println!();
    for sentence in disagreements(plan) {
        println!("{sentence}");
    }
    for sentence in meaning(plan, next_step) {
        println!("{sentence}");
    }
}

fn row(v: &ResourceVerdict) -> [String; 6] {
    let resource = match &v.nested_stack {
        Some(n) => format!("{n}/{}", v.logical_id),
        None => v.logical_id.clone(),
    };
    let mut replacement = replacement_word(v.replacement).to_owned();
    if v.sources.disagree
        && let (Some(cs), Some(t)) = (v.sources.change_set, v.sources.template)
    {
        replacement = format!(
            "{replacement} (change set: {}, template: {})",
            replacement_word(cs),
            replacement_word(t)
        );
    }
    if v.renamed_to.is_some() {
        replacement.push_str(" (rename)");
    }
    let fate = v.fate.map_or("", fate_word).to_owned();
    [
        resource,
        v.resource_type.clone(),
        format!("{:?}", v.action),
        replacement,
        cause_text(v),
        fate,
    ]
}

fn replacement_word(r: Replacement) -> &'static str {
    match r {
        Replacement::Will => "will",
        Replacement::May => "may",
        Replacement::No => "no",
        Replacement::Unknown => "unknown",
    }
}

fn fate_word(f: Fate) -> &'static str {
    match f {
        Fate::Deleted => "deleted",
        Fate::Retained => "retained",
        Fate::Snapshotted => "snapshotted",
        Fate::Unknown => "unknown",
    }
}

fn cause_text(v: &ResourceVerdict) -> String {
    if let Some(new) = &v.renamed_to {
        return format!("logical id renamed to {new}");
    }
    let recreating: Vec<&cdk_hook::Cause> = v
        .causes
        .iter()
        .filter(|c| {
            c.requires_recreation
                .is_some_and(|r| r != cdk_hook::plan::RequiresRecreation::Never)
        })
        .collect();
    let shown = if recreating.is_empty() {
        v.causes.iter().collect()
    } else {
        recreating
    };
    let mut names: Vec<String> = shown.iter().filter_map(|c| c.property.clone()).collect();
    names.dedup();
    let mut text = match names.len() {
        0 => String::new(),
        1..=3 => names.join(", "),
        n => format!("{}, +{} more", names[..3].join(", "), n - 3),
    };
    if let Some(root) = &v.caused_by {
        text = if text.is_empty() {
            format!("follows {root}")
        } else {
            format!("{text} (follows {root})")
        };
    }
    text
}

/// One sentence per resource on which the change set and the template comparison disagree:
/// both answers, the one the plan followed, and why.
fn disagreements(plan: &ReplacementPlan) -> Vec<String> {
    let word = |r: Option<Replacement>| r.map_or("(silent)", replacement_word);
    plan.resources
        .iter()
        .filter(|v| v.sources.disagree)
        .map(|v| {
            let followed = match v.sources.followed {
                Some(cdk_hook::Witness::Template) => "the template comparison",
                _ => "the change set",
            };
            format!(
                "{}: {}: the change set says {}, the template comparison says {}; the plan follows {followed}: {}",
                style("WITNESSES DISAGREE").yellow().bold(),
                v.logical_id,
                word(v.sources.change_set),
                word(v.sources.template),
                v.sources.why.as_deref().unwrap_or("")
            )
        })
        .collect()
}

/// One sentence per gating root cause: what the deploy means for the data.
fn meaning(plan: &ReplacementPlan, next_step: &str) -> Vec<String> {
    let mut out = Vec::new();
    for v in plan.gating().filter(|v| v.caused_by.is_none()) {
        let verb = match v.replacement {
            Replacement::May => "may be",
            Replacement::Unknown => {
                "may be (the change set does not say; compare the templates with `--template-diff`)"
            }
            _ => "will be",
        };
        let replaced = v.action != Action::Remove || v.renamed_to.is_some();
        let policy = if replaced {
            "UpdateReplacePolicy"
        } else {
            "DeletionPolicy"
        };
        let fate = match v.fate.unwrap_or(Fate::Unknown) {
            Fate::Snapshotted => format!("the old one is snapshotted by its {policy}"),
            Fate::Retained => format!(
                "the old one is retained by its {policy} (the stack moves on to a new, empty one)"
            ),
            Fate::Deleted => "the old one is deleted with no snapshot".to_owned(),
            Fate::Unknown => "what happens to the old one is unknown".to_owned(),
        };
        let what = if replaced { "replaced" } else { "removed" };
        let sentence = if v.guard == GuardClass::MigrationTrigger {
            let fate = fate.replace("the old one", "the old cluster");
            format!(
                "{}: {} {verb} {what}; all vector items in the Aurora cluster will be deleted; {fate}. \
                 {next_step}",
                style("REPLACEMENT").red().bold(),
                v.logical_id
            )
        } else {
            format!(
                "{}: {} ({}) {verb} {what}: its data goes with it; {fate}.",
                style("DATA LOSS").red().bold(),
                v.logical_id,
                v.resource_type
            )
        };
        out.push(sentence.replace(
            "will be deleted",
            if v.replacement != Replacement::Will {
                "may be deleted"
            } else {
                "will be deleted"
            },
        ));
    }
    if out.is_empty() {
        out.push(format!(
            "no guarded resource is replaced or removed ({} resource changes)",
            plan.resources.len()
        ));
    }
    out
}

/// A review with one opinion missing says so: under the table, or on stderr when stdout is the
/// JSON (whose `sources.degraded` says it too). A degraded review must not look like a full one.
pub fn print_review_sources(plan: &ReplacementPlan, json: bool) {
    let Some(why) = &plan.sources.degraded else {
        return;
    };
    let line = format!("{} {why}", style("degraded review:").yellow().bold());
    if json {
        eprintln!("{line}");
    } else {
        println!("{line}");
    }
}
