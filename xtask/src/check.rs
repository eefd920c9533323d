//! `cargo xtask check`: the pre-deploy replacement check. Wiring and presentation only; the
//! review and the classification live in `cdk-hook`.

use std::process::ExitCode;

use anyhow::Context;
use cdk_hook::{
    Action, CdkOutput, ChangeSetReviewer, Fate, GuardClass, GuardConfig, LiveOutcome,
    PrepareRequest, Replacement, ReplacementPlan, ReplacementTable, ResourceVerdict,
};
use console::style;

use crate::flags::Check;

/// The exit code of a plan that gates (a guarded replacement, may-replacement or removal).
pub const EXIT_GATED: u8 = 3;

pub fn run(args: Check) -> anyhow::Result<ExitCode> {
    let guards = guard_config(&args)?;
    let table = ReplacementTable::embedded();
    let plan = if !args.describe_file.is_empty() {
        let (plan, no_changes) = cdk_hook::plan_from_describe_files(&args.describe_file, &guards)?;
        if let Some(reason) = no_changes {
            return nothing_to_deploy(&args, plan.change_set_id, &reason);
        }
        plan
    } else if let [old, new] = args.template_diff.as_slice() {
        let old_t = cdk_hook::read_template(old)?;
        let new_t = cdk_hook::read_template(new)?;
        cdk_hook::plan_from_templates(&args.stack, &old_t, &new_t, &guards, table)
    } else {
        match live(&args, &guards, table)? {
            LiveOutcome::NothingToDeploy { reason } => {
                return nothing_to_deploy(&args, None, &reason);
            }
            LiveOutcome::Plan {
                plan,
                kept_change_set,
            } => {
                if let Some(arn) = kept_change_set {
                    // On stderr with --json, so stdout stays one JSON document.
                    let line = format!(
                        "change set kept: {arn}\n  deploy it with: cargo xtask deploy --change-set {arn}"
                    );
                    if args.json {
                        eprintln!("{line}")
                    } else {
                        println!("{line}")
                    }
                }
                plan
            }
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&plan)?);
    } else {
        print_table(&plan);
    }
    Ok(if plan.gates() {
        ExitCode::from(EXIT_GATED)
    } else {
        ExitCode::SUCCESS
    })
}

fn guard_config(args: &Check) -> anyhow::Result<GuardConfig> {
    let mut guards = GuardConfig::default();
    if let Some(path) = &args.guard_config {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        guards
            .extend_from_json(&text)
            .with_context(|| format!("in {}", path.display()))?;
    }
    for ty in &args.guard {
        guards.add_stateful(ty)?;
    }
    Ok(guards)
}

fn live(
    args: &Check,
    guards: &GuardConfig,
    table: &ReplacementTable,
) -> anyhow::Result<LiveOutcome> {
    let mut cdk_args = args.cdk_args.clone();
    if let Some(profile) = &args.aws.profile
        && !cdk_args
            .iter()
            .any(|a| a == "--profile" || a.starts_with("--profile="))
    {
        cdk_args.extend(["--profile".to_owned(), profile.clone()]);
    }
    let request = PrepareRequest {
        app_dir: args.app_dir.clone(),
        stack: args.stack.clone(),
        change_set_name: cdk_hook::unique_change_set_name("cdk-hook-check"),
        cdk_args,
        region: args.aws.region.clone(),
        output: if args.json {
            CdkOutput::ToStderr
        } else {
            CdkOutput::Inherit
        },
    };
    let rt = crate::aws::runtime()?;
    rt.block_on(async {
        let config = crate::aws::sdk_config(&args.aws).await;
        let reviewer = ChangeSetReviewer::new(aws_sdk_cloudformation::Client::new(&config));
        Ok(cdk_hook::check_live(&reviewer, &request, args.keep_change_set, guards, table).await?)
    })
}

fn nothing_to_deploy(
    args: &Check,
    change_set_id: Option<String>,
    reason: &str,
) -> anyhow::Result<ExitCode> {
    if args.json {
        let plan = ReplacementPlan::new(args.stack.clone(), change_set_id, Vec::new());
        println!("{}", serde_json::to_string_pretty(&plan)?);
    } else {
        println!("nothing to deploy: {reason}");
    }
    Ok(ExitCode::SUCCESS)
}

fn print_table(plan: &ReplacementPlan) {
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
    for sentence in meaning(plan) {
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
            "{} (template: {})",
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

/// One sentence per gating root cause: what the deploy means for the data.
fn meaning(plan: &ReplacementPlan) -> Vec<String> {
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
                 Run `cargo xtask migrate` after the deploy to re-embed every bot.",
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
