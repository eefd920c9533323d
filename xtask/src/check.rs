//! `cargo xtask check`: the pre-deploy replacement check. Wiring and presentation only; the
//! review and the classification live in `cdk-hook`.

use std::process::ExitCode;

use anyhow::Context;
use cdk_hook::{
    CdkOutput, ChangeSetReviewer, GuardConfig, LiveOutcome, PrepareRequest, ReplacementPlan,
    ReplacementTable,
};

use crate::flags::{Check, GuardOptions, PlanFormat};
use crate::plan_view;

/// stdout carries one document (JSON or Markdown): everything else goes to stderr.
fn one_document(args: &Check) -> bool {
    args.format() != PlanFormat::Table
}

/// What re-embeds a replaced vector store after a checked deploy.
const NEXT_STEP: &str = "Run `cargo xtask migrate` after the deploy to re-embed every bot.";

/// The exit code of a plan that gates (a guarded replacement, may-replacement or removal).
pub const EXIT_GATED: u8 = 3;

pub fn run(args: Check) -> anyhow::Result<ExitCode> {
    let guards = guard_config(&args.guards)?;
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
        cdk_hook::plan_from_templates(&args.stack.name, &old_t, &new_t, &guards, table)
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
                    // On stderr with --json or markdown, so stdout stays one document.
                    let line = format!(
                        "change set kept: {arn}\n  deploy it with: cargo xtask deploy --change-set {arn}"
                    );
                    if one_document(&args) {
                        eprintln!("{line}")
                    } else {
                        println!("{line}")
                    }
                }
                plan
            }
        }
    };
    let guidance = guidance(&args);
    match args.format() {
        PlanFormat::Json => println!("{}", serde_json::to_string_pretty(&plan)?),
        PlanFormat::Markdown => print!("{}", plan_view::markdown(&plan, &guidance)),
        PlanFormat::Table => plan_view::print_plan(&plan, &guidance, args.verbose),
    }
    // Under a machine-read stdout (JSON, the Markdown comment) the note goes to stderr.
    plan_view::print_review_sources(&plan, args.format() != PlanFormat::Table);
    plan_view::append_step_summary(&plan, &guidance);
    Ok(if plan.gates() {
        ExitCode::from(EXIT_GATED)
    } else {
        ExitCode::SUCCESS
    })
}

fn guidance(args: &Check) -> plan_view::Guidance<'_> {
    plan_view::Guidance {
        next_step: NEXT_STEP,
        app_dir: Some(&args.app.app_dir),
    }
}

/// The default guarded types, extended by `--guard-config` and `--guard`.
pub fn guard_config(args: &GuardOptions) -> anyhow::Result<GuardConfig> {
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
    let request = PrepareRequest {
        app_dir: args.app.app_dir.clone(),
        stack: args.stack.name.clone(),
        change_set_name: cdk_hook::unique_change_set_name("cdk-hook-check"),
        cdk_args: args.app.cli_args(&args.stack.aws),
        region: args.stack.aws.region.clone(),
        output: if one_document(args) {
            CdkOutput::ToStderr
        } else {
            CdkOutput::Inherit
        },
    };
    let rt = crate::aws::runtime()?;
    rt.block_on(async {
        let config = crate::aws::sdk_config(&args.stack.aws).await;
        let reviewer = ChangeSetReviewer::new(aws_sdk_cloudformation::Client::new(&config));
        Ok(cdk_hook::check_live(&reviewer, &request, args.keep_change_set, guards, table).await?)
    })
}

fn nothing_to_deploy(
    args: &Check,
    change_set_id: Option<String>,
    reason: &str,
) -> anyhow::Result<ExitCode> {
    let plan = ReplacementPlan::new(args.stack.name.clone(), change_set_id, Vec::new());
    match args.format() {
        PlanFormat::Json => println!("{}", serde_json::to_string_pretty(&plan)?),
        PlanFormat::Markdown => print!("{}", plan_view::markdown(&plan, &guidance(args))),
        PlanFormat::Table => println!("nothing to deploy: {reason}"),
    }
    Ok(ExitCode::SUCCESS)
}
