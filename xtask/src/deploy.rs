//! `cargo xtask deploy`: the guarded `cdk deploy`. Prepare (or take the kept) change set, review
//! and classify it, stop before a guarded replacement until it is decided, take the safeguards,
//! execute exactly the reviewed change set, follow the stack to its end, then run the migration.

use cdk_hook::{
    CdkHookError, CdkOutput, ChangeSetReviewer, PrepareRequest, ReplacementPlan, ReplacementTable,
    Reviewed,
};
use console::style;
use std::process::ExitCode;

use crate::check::EXIT_GATED;
use crate::flags::{Deploy, Migrate, MigrateWhen, StackArgs, StackOptions};
use crate::safeguards::{self, Decision, SafeguardRun};
use cdk_hook::safeguard::{self, Guarded, SurveyClients};

mod reviewed;
mod tables;
mod update;

use reviewed::{ReviewedChangeSet, explain_if_busy};
use update::{Detached, print_failure};

pub fn run(args: Deploy) -> anyhow::Result<ExitCode> {
    // Held through the migration that may follow (it runs in this process).
    let _lock = crate::run_lock::take(&args.scope)?;
    crate::aws::runtime()?.block_on(run_async(args))
}

async fn run_async(args: Deploy) -> anyhow::Result<ExitCode> {
    let guards = crate::check::guard_config(&args.guards)?;
    let interactive = crate::terminal::interactive();
    crate::terminal::warn_if_state_dir_tracked(&args.scope.state_dir);
    let config = crate::aws::sdk_config(&args.scope.stack.aws).await;
    let cfn = aws_sdk_cloudformation::Client::new(&config);
    let reviewer = ChangeSetReviewer::new(cfn.clone());

    let reviewed = match review(&args, &reviewer, &guards).await {
        Ok(Review::Changes(reviewed)) => reviewed,
        Ok(Review::NothingToDeploy {
            stack_name,
            change_set_id,
            reason,
        }) => {
            reviewer.delete(&stack_name, &change_set_id).await?;
            println!("nothing to deploy: {reason}");
            return if args.migrate == MigrateWhen::Always {
                migrate(&args, &stack_name, None).await
            } else {
                Ok(ExitCode::SUCCESS)
            };
        }
        Err(e) => return Err(explain_if_busy(&cfn, &args.scope.stack.name, e).await),
    };
    let tables_move = cdk_hook::tables_move::v3_tables_move(&reviewed.plan);
    show_plan(&args, &reviewed.plan, tables_move.is_some());
    if let Some(why) = refusal(&reviewed.plan, tables_move.as_ref()) {
        reviewer
            .delete(&reviewed.stack_name, &reviewed.change_set_id)
            .await?;
        eprintln!(
            "{} {why}; the prepared change set was deleted, nothing was executed",
            style("stopped:").red().bold(),
        );
        return Ok(ExitCode::from(EXIT_GATED));
    }
    if reviewed.plan.gates()
        && let Some(code) = guard(&args, &config, &cfn, &reviewer, &reviewed, interactive).await?
    {
        return Ok(code);
    }
    let (stack_name, plan) = (&reviewed.stack_name, &reviewed.plan);
    let clusters_before = migration_trigger_ids(&cfn, stack_name, plan).await?;
    if let Some(moved) = &tables_move {
        tables::record_source(&args, &cfn, &reviewed, moved).await?;
    }
    if let Some(code) = execute(&args, &cfn, &reviewed).await? {
        return Ok(code);
    }
    if tables_move.is_some() {
        return tables::migrate_after(&args, stack_name).await;
    }
    let clusters_after = migration_trigger_ids(&cfn, stack_name, plan).await?;
    let replaced = clusters_before != clusters_after;
    if !announce_migration(&args, stack_name, plan, replaced) {
        return Ok(ExitCode::SUCCESS);
    }
    // After a replacement the journal of the old store is history: the migration starts fresh
    // and records which deploy replaced the store.
    let replaced_by = replaced.then(|| reviewed.change_set_id.clone());
    migrate(&args, stack_name, replaced_by).await
}

/// Why this change set must not run whatever is decided: CloudFormation would refuse it
/// half-way (an export another stack imports), or it deletes the table the v3 upgrade copies.
fn refusal(
    plan: &ReplacementPlan,
    tables_move: Option<&cdk_hook::tables_move::TablesMove>,
) -> Option<String> {
    if !plan.exports_in_use.is_empty() {
        return Some(crate::plan_view::exports_in_use(&plan.exports_in_use));
    }
    tables_move
        .filter(|m| !m.source_survives())
        .map(tables::destroyed_source)
}

/// The plan as `check` prints it (also into the job summary), with what follows the deploy:
/// the table migration after the v3 upgrade (`tables_move`), the re-embed otherwise.
fn show_plan(args: &Deploy, plan: &ReplacementPlan, tables_move: bool) {
    let next_step = match (tables_move, args.migrate == MigrateWhen::Never) {
        (true, true) => {
            "Run `cargo xtask migrate-tables` after this deploy (--migrate never) to copy the v2 \
             conversation table into the new tables."
        }
        (true, false) => {
            "This deploy copies the v2 conversation table into the new tables after the update."
        }
        (false, true) => {
            "Run `cargo xtask migrate` after this deploy (--migrate never) to re-embed every bot."
        }
        (false, false) => "This deploy re-embeds every bot after the update.",
    };
    let guidance = crate::plan_view::Guidance {
        next_step,
        app_dir: Some(&args.app.app_dir),
    };
    crate::plan_view::print_plan(plan, &guidance, args.verbose);
    crate::plan_view::append_step_summary(plan, &guidance);
    crate::plan_view::print_review_sources(plan, false);
}

/// Executes the reviewed change set and follows the update; `Some(code)` when the deploy ends
/// there (interrupted), an error when the update failed (no migration then).
async fn execute(
    args: &Deploy,
    cfn: &aws_sdk_cloudformation::Client,
    reviewed: &ReviewedChangeSet,
) -> anyhow::Result<Option<ExitCode>> {
    let stack_name = &reviewed.stack_name;
    let settled = match update::execute(args, cfn, reviewed).await {
        Ok(settled) => settled,
        Err(e) if e.downcast_ref::<Detached>().is_some() => {
            eprintln!("{} {e}", style("interrupted:").red().bold());
            return Ok(Some(ExitCode::from(crate::signals::exit_code())));
        }
        Err(e) => return Err(e),
    };
    if !settled.succeeded() {
        print_failure(&settled, stack_name);
        anyhow::bail!(
            "the update of stack {stack_name} ended {}: no migration was started",
            settled.status
        );
    }
    eprintln!(
        "{} stack {stack_name} is {}",
        style("deployed").green().bold(),
        settled.status
    );
    Ok(None)
}

/// Whether the migration runs after the update (`--migrate`, and for `auto` whether the vector
/// store was replaced and is still there), said in one line either way.
fn announce_migration(
    args: &Deploy,
    stack_name: &str,
    plan: &ReplacementPlan,
    replaced: bool,
) -> bool {
    let run_migration = match args.migrate {
        MigrateWhen::Always => true,
        MigrateWhen::Never => false,
        // A removed vector store (or embedding task) leaves nothing to re-embed into.
        MigrateWhen::Auto => replaced && plan.migration_needed,
    };
    if !run_migration {
        eprintln!(
            "{}",
            if !plan.re_embed_target_removed.is_empty() {
                format!(
                    "the new stack has no vector store or embedding task ({} removed): nothing to re-embed into",
                    plan.re_embed_target_removed.join(", ")
                )
            } else if replaced {
                format!(
                    "the vector-store cluster was replaced; re-embed the bots with: cargo xtask migrate --stack {stack_name}"
                )
            } else {
                "the vector-store cluster was not replaced: no migration needed".to_owned()
            }
        );
        return false;
    }
    eprintln!(
        "{} the vector-store cluster was {}: re-embedding every bot",
        style("migration").bold(),
        if replaced {
            "replaced"
        } else {
            "kept (--migrate always)"
        }
    );
    true
}

/// A gating plan: the safeguard lines, the decision, then the chosen safeguards. `Some(code)`
/// when the deploy stops there; every stop deletes the change set, and nothing is executed.
async fn guard(
    args: &Deploy,
    config: &aws_config::SdkConfig,
    cfn: &aws_sdk_cloudformation::Client,
    reviewer: &ChangeSetReviewer,
    reviewed: &ReviewedChangeSet,
    interactive: bool,
) -> anyhow::Result<Option<ExitCode>> {
    let ReviewedChangeSet {
        stack_name,
        change_set_id,
        plan,
    } = reviewed;
    let rds = aws_sdk_rds::Client::new(config);
    let ddb = aws_sdk_dynamodb::Client::new(config);
    let clients = SurveyClients {
        cfn,
        rds: &rds,
        ddb: &ddb,
    };
    let (guarded, chosen) = match survey_and_decide(args, &clients, plan, interactive).await {
        Ok((guarded, Decision::Execute(chosen))) => (guarded, chosen),
        Ok((_, Decision::Stop(reason))) => {
            reviewer.delete(stack_name, change_set_id).await?;
            eprintln!(
                "{} {reason}; the prepared change set was deleted",
                style("stopped:").red().bold()
            );
            return Ok(Some(ExitCode::from(EXIT_GATED)));
        }
        Err(e) => {
            reviewer.delete(stack_name, change_set_id).await?;
            return Err(e.context("nothing was executed; the change set was deleted"));
        }
    };
    if !(chosen.snapshot || chosen.credentials) {
        eprintln!(
            "{} continuing without safeguards",
            style("warning:").yellow().bold()
        );
        return Ok(None);
    }
    let run = SafeguardRun {
        cfn,
        rds: &rds,
        ddb: &ddb,
        secrets: &aws_sdk_secretsmanager::Client::new(config),
        plan,
        change_set_id,
        // Absolute, so the record's paths still hold when read from another directory.
        stack_dir: migrate::state::stack_dir(
            &std::path::absolute(&args.scope.state_dir)?,
            stack_name,
        ),
        outputs: crate::outputs::stack_outputs(config, stack_name).await?,
        disable_rotation: args.disable_rotation,
        interactive,
    };
    if let Err(e) = safeguards::take(&run, &guarded, chosen).await {
        reviewer.delete(stack_name, change_set_id).await?;
        if e.downcast_ref::<safeguards::Interrupted>().is_some() {
            eprintln!(
                "{} {e}; the change set was deleted, nothing was executed",
                style("interrupted:").red().bold()
            );
            return Ok(Some(ExitCode::from(crate::signals::exit_code())));
        }
        return Err(e.context("the safeguards failed; the change set was deleted"));
    }
    Ok(None)
}

/// The safeguard lines, then the decision (read-only: nothing is made before it).
async fn survey_and_decide(
    args: &Deploy,
    clients: &SurveyClients<'_>,
    plan: &ReplacementPlan,
    interactive: bool,
) -> anyhow::Result<(Vec<Guarded>, Decision)> {
    let guarded = safeguard::survey(clients, plan).await?;
    safeguards::print_lines(&guarded);
    let decision = safeguards::decide(args.on_replace, plan, &guarded, interactive)?;
    Ok((guarded, decision))
}

/// What the review found.
enum Review {
    /// The change set changes nothing; it is still to be deleted.
    NothingToDeploy {
        stack_name: String,
        change_set_id: String,
        reason: String,
    },
    Changes(ReviewedChangeSet),
}

/// Prepares a change set with the CDK CLI (or takes `--change-set`) and classifies it.
async fn review(
    args: &Deploy,
    reviewer: &ChangeSetReviewer,
    guards: &cdk_hook::GuardConfig,
) -> anyhow::Result<Review> {
    let table = ReplacementTable::embedded();
    let (stack_name, requested, reviewed) = match &args.change_set {
        Some(arn) => {
            eprintln!("{} reviewing change set {arn}", style("review").bold());
            let reviewed = cdk_hook::review_and_classify(
                reviewer,
                &args.scope.stack.name,
                arn,
                None,
                guards,
                table,
            )
            .await
            .map_err(|e| match e {
                // A kept change set disappears when its stack is updated by another.
                CdkHookError::ChangeSetNotFound { stack, change_set } => {
                    CdkHookError::ChangeSetGone { stack, change_set }
                }
                e => e,
            })?;
            (args.scope.stack.name.clone(), arn.clone(), reviewed)
        }
        None => {
            let request = PrepareRequest {
                app_dir: args.app.app_dir.clone(),
                stack: args.scope.stack.name.clone(),
                change_set_name: cdk_hook::unique_change_set_name("cdk-hook-deploy"),
                cdk_args: args.app.cli_args(&args.scope.stack.aws),
                region: args.scope.stack.aws.region.clone(),
                output: CdkOutput::ToStderr,
            };
            eprintln!(
                "{} preparing the change set {} (npx cdk deploy --method=prepare-change-set)",
                style("prepare").bold(),
                request.change_set_name
            );
            let prepared = cdk_hook::prepare_and_review(reviewer, &request, guards, table).await?;
            (
                prepared.stack_name,
                request.change_set_name,
                prepared.reviewed,
            )
        }
    };
    Ok(match reviewed {
        Reviewed::NothingToDeploy {
            change_set_id,
            reason,
        } => Review::NothingToDeploy {
            stack_name,
            change_set_id: change_set_id.unwrap_or(requested),
            reason,
        },
        Reviewed::Plan(plan) => Review::Changes(ReviewedChangeSet {
            stack_name: if plan.stack.is_empty() {
                stack_name
            } else {
                plan.stack.clone()
            },
            change_set_id: plan.change_set_id.clone().unwrap_or(requested),
            plan,
        }),
    })
}

/// Physical ids of the plan's migration-trigger resources (the vector-store cluster): compared
/// before and after the update, they say whether it was really replaced.
async fn migration_trigger_ids(
    cfn: &aws_sdk_cloudformation::Client,
    stack: &str,
    plan: &ReplacementPlan,
) -> anyhow::Result<Vec<Option<String>>> {
    let mut ids = Vec::new();
    for v in plan
        .gating()
        .filter(|v| v.guard == cdk_hook::GuardClass::MigrationTrigger)
    {
        ids.push(cdk_hook::stack::physical_id(cfn, stack, &v.logical_id).await?);
    }
    Ok(ids)
}

/// `cargo xtask migrate`'s engine with `deploy`'s stack, state directory, AWS options, migration
/// options and `--yes`; `replaced_by`: the change set that replaced the vector store.
async fn migrate(
    args: &Deploy,
    stack_name: &str,
    replaced_by: Option<String>,
) -> anyhow::Result<ExitCode> {
    // A deploy's migration is a plain run: no dry run, no resume of its own choosing (a
    // replaced store starts fresh), and every bot's own verdict waited for.
    let flags = Migrate {
        scope: StackOptions {
            stack: StackArgs {
                name: stack_name.to_owned(),
                ..args.scope.stack.clone()
            },
            ..args.scope.clone()
        },
        migration: args.migration.clone(),
        all_bots: false,
        no_wait: false,
        resume: false,
        fresh: false,
        retry_failed: false,
        yes: args.yes,
        dry_run: false,
        force_concurrent: false,
        report: None,
        replaced_by,
    };
    crate::migrate::run_async(flags).await
}
