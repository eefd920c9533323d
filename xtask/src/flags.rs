//! Every command-line flag of `cargo xtask`, in one place (rust-analyzer's habit): the modules
//! that run a subcommand take these plain structs and never parse arguments themselves.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Guarded CDK deploys for Bedrock Chat: detect a replacement of the Aurora vector store (or another
/// stateful resource) before it happens, take the safeguards, and re-embed every bot afterwards.
#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    version,
    max_term_width = 100
)]
pub struct Xtask {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub log: LogOptions,
}

/// How much the tool's log (warnings and below, on stderr) says; `RUST_LOG` adds directives.
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct LogOptions {
    /// More log lines on stderr: -v info, -vv debug, -vvv trace (also the AWS SDK's).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors in the log (warnings are hidden; the command's own output is unchanged).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Install what the tests and the demo need (Python venv with moto, `npm ci` for the fixture app).
    ///
    /// Idempotent: a second run with nothing changed returns at once. Installs into
    /// target/emulator-venv/ and tests/fixtures/bedrock-chat/node_modules/.
    ///
    /// Examples:
    ///   cargo xtask setup
    #[command(verbatim_doc_comment)]
    #[cfg(feature = "dev")]
    Setup(Setup),
    /// Run setup, then the whole test suite (the command CI runs).
    ///
    /// Examples:
    ///   cargo xtask test
    ///   cargo xtask test -- deploy_with   # only the tests whose name matches
    #[command(verbatim_doc_comment)]
    #[cfg(feature = "dev")]
    Test(Test),
    /// The whole job on a local AWS emulator, no account needed (deploy v0, guarded deploy to v1).
    ///
    /// Deploys the fixture app at v0, seeds bots, then runs the guarded deploy to v1 (replacement
    /// detected, safeguards, execute), the migration and the report.
    /// At a terminal the replacement prompt is yours to answer; without one `--on-replace both
    /// --yes` is taken. Everything is written under target/demo/. `--v3` runs the v2.10 -> v3
    /// upgrade instead: the v2 table orphaned and backed up, then copied into the v3 tables.
    ///
    /// Examples:
    ///   cargo xtask demo
    ///   cargo xtask demo --v3
    ///   cargo xtask demo --keep-running   # then use the AWS CLI/SDK against the emulator
    #[command(verbatim_doc_comment)]
    #[cfg(feature = "dev")]
    Demo(Demo),
    /// Pre-deploy replacement check: prepare the change set, classify it, exit 3 on a guarded replacement.
    ///
    /// Exit codes: 0 no guarded replacement, 3 guarded replacement (or may-replace), 1 error.
    ///
    /// Examples:
    ///   cargo xtask check --app-dir ../bedrock-chat/cdk
    ///   cargo xtask check --json -- -c release=v1
    ///   cargo xtask check --describe-file page1.json page2.json
    ///   cargo xtask check --template-diff main/cdk.out/BedrockChatStack.template.json pr/cdk.out/BedrockChatStack.template.json
    #[command(verbatim_doc_comment)]
    Check(Check),
    /// Guarded `cdk deploy`: review, safeguards before a replacement, exact execution, migration.
    ///
    /// Prepares and reviews the change set like check, asks (or follows --on-replace) before a
    /// guarded replacement, takes the safeguards, executes exactly the reviewed change set, then
    /// runs the migration when the vector store was replaced.
    ///
    /// Exit codes: 0 deployed (and migrated), 3 a guarded replacement was not approved (aborted,
    /// or no terminal and no --on-replace; the change set is deleted), 1 error or failed update,
    /// 2 the migration's launch was not confirmed.
    ///
    /// Examples:
    ///   cargo xtask deploy --app-dir ../bedrock-chat/cdk
    ///   cargo xtask deploy --on-replace both --yes -- -c release=v1
    ///   cargo xtask deploy --change-set arn:aws:cloudformation:...:changeSet/cdk-hook-check-.../...
    #[command(verbatim_doc_comment)]
    Deploy(Deploy),
    /// Print the stack outputs the migration needs (table, ECS cluster, task definition, subnets, security group).
    ///
    /// Examples:
    ///   cargo xtask outputs
    ///   cargo xtask outputs --format env --stack BedrockChatStack
    ///   cargo xtask outputs --format json --region eu-west-1
    #[command(verbatim_doc_comment)]
    Outputs(Outputs),
    /// Post-deploy migration: scan the bots, launch one embedding task per bot, track them, report.
    ///
    /// Exit codes: 0 every bot that needed embedding succeeded, 1 a bot failed or got no task,
    /// 2 refused (confirmation needed: --yes), 130 interrupted.
    ///
    /// Examples:
    ///   cargo xtask migrate --dry-run
    ///   cargo xtask migrate --yes
    ///   cargo xtask migrate --resume --retry-failed --yes
    #[command(verbatim_doc_comment)]
    Migrate(Migrate),
    /// The v2 -> v3 upgrade's data: copy the v2 conversation table into the v3 tables, verify.
    ///
    /// Scans the v2 conversation table in parallel segments (never writing to it) and writes
    /// every item into the v3 conversation and bot tables as Bedrock Chat's own v2-to-v3 script
    /// shapes it (bots re-keyed `BOT#<id>`, public -> shared, pinned -> starred; aliases
    /// re-keyed `ALIAS#<id>`, skipped when their bot is no longer shared), paced to the tables'
    /// capacity and retried until written or reported. Journaled per page: `--resume` goes on
    /// after a crash or a signal without overwriting what the app wrote since. Then verifies:
    /// every item is looked up in the new tables, counts per kind and per user, and a sample
    /// compared field by field. `deploy` runs it by itself after the v3 upgrade.
    ///
    /// The source is `--from-table`, else the table `deploy` recorded before the upgrade (after
    /// it, the stack no longer names the v2 table); the targets are the stack outputs
    /// `ConversationTableNameV3` and `BotTableNameV3`, or the flags.
    ///
    /// Exit codes: 0 copied and verified, 1 error, an item unwritten, or a verification
    /// mismatch, 130 interrupted by Ctrl-C, 143 by SIGTERM (resume with --resume).
    ///
    /// Examples:
    ///   cargo xtask migrate-tables --from-table BedrockChatStack-DatabaseConversationTable03F3FD7A-1A2B3C
    ///   cargo xtask migrate-tables --resume
    ///   cargo xtask migrate-tables --json > tables-report.json
    #[command(verbatim_doc_comment)]
    MigrateTables(MigrateTables),
    /// The copy-back path: restore the old cluster's snapshot into a temporary cluster.
    ///
    /// Restores the snapshot named by the replacement record that `deploy` wrote (or `--snapshot`)
    /// into a temporary cluster in the new cluster's subnet group and security groups, with a
    /// serverless v2 writer, tagged as made by this tool. `--list` shows those clusters;
    /// `--cleanup` deletes them (writer, then cluster, no final snapshot). A cluster this tool did
    /// not tag is never touched.
    ///
    /// Exit codes: 0 done, 1 error, 2 refused (confirmation needed: --yes).
    ///
    /// Examples:
    ///   cargo xtask restore
    ///   cargo xtask restore --record .xtask/BedrockChatStack/replacement-20261122T101500Z.json
    ///   cargo xtask restore --list
    ///   cargo xtask restore --cleanup --yes
    #[command(verbatim_doc_comment)]
    Restore(Restore),
    /// The copy-back path: copy the vector rows from the temporary cluster into the new one.
    ///
    /// Runs one Fargate task on the embedding cluster, inside the VPC, from a temporary task
    /// definition whose container reads both connection secrets by reference. The copy is
    /// idempotent and compares row counts per bot; the bots' SyncStatus is left as it was.
    ///
    /// Exit codes: 0 every bot's rows match, 1 error or a mismatch, 2 refused (confirmation
    /// needed: --yes).
    ///
    /// Examples:
    ///   cargo xtask copy-vectors --yes
    ///   cargo xtask copy-vectors --from xtask-bedrockchatstack-20261122t101500z --yes
    #[command(verbatim_doc_comment)]
    CopyVectors(CopyVectors),
    /// Measure speed against its budgets and write `target/bench/report.json`.
    ///
    /// Examples:
    ///   cargo xtask bench
    ///   cargo xtask bench --copy   # the copy-back script against a plain \copy stream
    #[command(verbatim_doc_comment)]
    #[cfg(feature = "dev")]
    Bench(Bench),
    /// Print a shell completion script (for a `cargo-xtask` command or alias).
    ///
    /// Examples:
    ///   cargo xtask completions bash > ~/.local/share/bash-completion/completions/cargo-xtask
    ///   cargo xtask completions zsh > ~/.zfunc/_cargo-xtask
    #[command(verbatim_doc_comment)]
    Completions(Completions),
    /// Regenerate the table of replacing properties per guarded resource type.
    ///
    /// Reads the CDK CLI's service spec (`db.json.gz`); `--check` fails when the committed table
    /// is stale.
    ///
    /// Examples:
    ///   cargo xtask gen-replacement-table --check
    #[command(verbatim_doc_comment)]
    #[cfg(feature = "dev")]
    GenReplacementTable(GenReplacementTable),
    /// Regenerate docs/reference/cli.md, every command's and flag's help, from these definitions.
    ///
    /// `--check` fails when the committed page is stale (a test does too).
    ///
    /// Examples:
    ///   cargo xtask gen-docs
    #[command(verbatim_doc_comment)]
    #[cfg(feature = "dev")]
    GenDocs(GenDocs),
}

#[cfg(feature = "dev")]
#[derive(Debug, Args)]
pub struct Setup {}

#[cfg(feature = "dev")]
#[derive(Debug, Args)]
pub struct Demo {
    /// Keep the emulator running at the end and print the environment to use it (Ctrl-C stops it).
    #[arg(long)]
    pub keep_running: bool,
    /// Where the demo writes everything (emulator log, app copy, state), emptied first; relative
    /// to the workspace root and inside its `target/`.
    #[arg(long, default_value = "target/demo")]
    pub dir: PathBuf,
    /// The v2.10 -> v3 upgrade instead: the fixture at v2 with its conversation table seeded in
    /// the app's v2.10 shapes, then the guarded deploy to v3 (the v2 table orphaned and backed
    /// up, the reviewed change set executed) and the table migration with its verification.
    #[arg(long)]
    pub v3: bool,
}

#[derive(Debug, Args)]
pub struct Completions {
    /// The shell to generate the script for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[cfg(feature = "dev")]
#[derive(Debug, Args)]
pub struct Test {
    /// The long suites too: 20 seeded fault-injection runs of the migration instead of 5.
    #[arg(long)]
    pub full: bool,
    /// Extra arguments for `cargo test` (after `--`), e.g. a test name filter.
    #[arg(last = true)]
    pub cargo_args: Vec<String>,
}

/// Where the AWS calls go: the standard credential chain (env, profile, SSO), with overrides.
#[derive(Debug, Clone, Args)]
pub struct AwsOptions {
    /// AWS profile (also passed to the CDK CLI).
    #[arg(long, global = true, env = "AWS_PROFILE")]
    pub profile: Option<String>,
    /// AWS region (default: from the environment or the profile).
    #[arg(long, global = true)]
    pub region: Option<String>,
}

#[derive(Debug, Args)]
pub struct Check {
    #[command(flatten)]
    pub stack: StackArgs,
    #[command(flatten)]
    pub app: CdkAppOptions,
    /// Print the ReplacementPlan as JSON instead of the table (same as `--format json`).
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// `table` (the terminal view), `json` (the ReplacementPlan) or `markdown` (a pull-request
    /// comment: the verdict, one row per guarded resource, the full table folded).
    #[arg(long, value_enum)]
    pub format: Option<PlanFormat>,
    /// List every resource change in the table, not only the guarded ones: set from the global
    /// `-v/--verbose` (one flag for "say more", also the log's).
    #[arg(skip)]
    pub verbose: bool,
    /// Keep the prepared change set and print its ARN (for `deploy --change-set ARN`).
    #[arg(long)]
    pub keep_change_set: bool,
    /// Classify saved `aws cloudformation describe-change-set` output (one file per page or per
    /// nested change set); no AWS call.
    #[arg(long, num_args = 1.., value_name = "FILE", conflicts_with_all = ["template_diff", "keep_change_set"])]
    pub describe_file: Vec<PathBuf>,
    /// Compare two synthesized templates; no AWS call.
    #[arg(long, num_args = 2, value_names = ["OLD", "NEW"], conflicts_with = "keep_change_set")]
    pub template_diff: Vec<PathBuf>,
    #[command(flatten)]
    pub guards: GuardOptions,
}

impl CdkAppOptions {
    /// The CDK CLI's arguments, with `--profile` added when it came as our flag.
    pub fn cli_args(&self, aws: &AwsOptions) -> Vec<String> {
        let mut cdk_args = self.cdk_args.clone();
        if let Some(profile) = &aws.profile
            && !cdk_args
                .iter()
                .any(|a| a == "--profile" || a.starts_with("--profile="))
        {
            cdk_args.extend(["--profile".to_owned(), profile.clone()]);
        }
        cdk_args
    }
}

/// How `check` prints the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Table,
    Json,
    Markdown,
}

impl Check {
    /// `--format`, with `--json` as its older spelling.
    pub fn format(&self) -> PlanFormat {
        match self.format {
            Some(f) => f,
            None if self.json => PlanFormat::Json,
            None => PlanFormat::Table,
        }
    }
}

/// Which resource types are guarded, beyond the defaults (the RDS cluster as the migration
/// trigger; RDS instances, DynamoDB tables, S3 buckets, EFS file systems, Cognito user pools).
#[derive(Debug, Clone, Default, Args)]
pub struct GuardOptions {
    /// Also guard this resource type as stateful (repeatable), e.g. AWS::Elasticsearch::Domain.
    #[arg(long = "guard", value_name = "TYPE")]
    pub guard: Vec<String>,
    /// A JSON file of guarded types: {"migration_trigger": [...], "stateful": [...]} extends the defaults.
    #[arg(long, value_name = "FILE")]
    pub guard_config: Option<PathBuf>,
}

/// What to do when the change set replaces or removes a guarded resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnReplace {
    /// Take a manual snapshot of every RDS cluster or standalone instance and an on-demand backup
    /// of every DynamoDB table that loses its data, then execute.
    #[value(alias = "backup")]
    Snapshot,
    /// Record the credentials of every replaced or removed cluster, then execute.
    Credentials,
    /// Every snapshot, backup and credential record that applies, then execute (recommended).
    Both,
    /// Execute without safeguards.
    Proceed,
    /// Execute nothing; delete the prepared change set.
    Abort,
}

/// When `deploy` runs the migration after the update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MigrateWhen {
    /// When the vector-store cluster was replaced.
    Auto,
    Always,
    Never,
}

/// How the reviewed change set is executed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExecuteWith {
    /// The CDK CLI when it has `--method=execute-change-set` (2.1148+), else the SDK.
    Auto,
    /// `npx cdk deploy --method=execute-change-set` (CDK's progress display).
    Cdk,
    /// `ExecuteChangeSet` through the SDK, following the stack events here.
    Sdk,
}

#[derive(Debug, Args)]
pub struct Deploy {
    #[command(flatten)]
    pub scope: StackOptions,
    #[command(flatten)]
    pub app: CdkAppOptions,
    /// What to do on a guarded replacement without asking (required when no one is at a terminal).
    #[arg(long, value_enum)]
    pub on_replace: Option<OnReplace>,
    /// Turn off the secret's rotation so the recorded password stays valid (asked interactively).
    #[arg(long)]
    pub disable_rotation: bool,
    /// List every resource change in the table, not only the guarded ones: set from the global
    /// `-v/--verbose` (one flag for "say more", also the log's).
    #[arg(skip)]
    pub verbose: bool,
    /// Run the migration (scan, launch, track) after the update.
    #[arg(long, value_enum, default_value_t = MigrateWhen::Auto)]
    pub migrate: MigrateWhen,
    #[command(flatten)]
    pub migration: MigrationFlags,
    /// Launch the migration's tasks without asking for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Execute this change set (kept by `check --keep-change-set`) after reviewing it again,
    /// instead of preparing a new one.
    #[arg(long, value_name = "ARN")]
    pub change_set: Option<String>,
    /// How to execute the reviewed change set.
    #[arg(long, value_enum, default_value_t = ExecuteWith::Auto)]
    pub execute_with: ExecuteWith,
    #[command(flatten)]
    pub guards: GuardOptions,
}

/// Every value of the migration target can be given by hand; the rest comes from the stack outputs.
#[derive(Debug, Clone, Default, Args)]
pub struct TargetOverrides {
    /// The DynamoDB conversation table (default: output `DatabaseConversationTableName*`).
    #[arg(long)]
    pub table: Option<String>,
    /// The ECS cluster (default: output `EmbeddingClusterName*`).
    #[arg(long)]
    pub cluster: Option<String>,
    /// The embedding task definition (default: output `EmbeddingTaskDefinitionName*`).
    #[arg(long)]
    pub task_definition: Option<String>,
    /// The container to override in the task definition.
    #[arg(long, default_value = "Container")]
    pub container: String,
    /// Subnets for the tasks, comma separated (default: outputs `PrivateSubnetId0`, `PrivateSubnetId1`).
    #[arg(long, value_delimiter = ',')]
    pub subnets: Vec<String>,
    /// Security groups for the tasks, comma separated (default: output `EmbeddingTaskSecurityGroupId*`).
    #[arg(long, value_delimiter = ',')]
    pub security_groups: Vec<String>,
}

/// The stack a command reads or changes and the AWS account it is in: `--stack` and the
/// profile/region of every command that calls AWS.
#[derive(Debug, Clone, Args)]
pub struct StackArgs {
    /// The CloudFormation stack (the CDK stack id or its CloudFormation name).
    #[arg(long = "stack", default_value = "BedrockChatStack")]
    pub name: String,
    #[command(flatten)]
    pub aws: AwsOptions,
}

/// The stack a command changes and where its state lives: the flags every command that changes
/// something (deploy, migrate, restore, copy-vectors) repeats.
#[derive(Debug, Clone, Args)]
pub struct StackOptions {
    #[command(flatten)]
    pub stack: StackArgs,
    /// The state directory (journals, reports, credential files, replacement records).
    #[arg(long, default_value = ".xtask")]
    pub state_dir: PathBuf,
}

/// The CDK app the CDK CLI runs in and what it passes on to `cdk deploy`: `check` and `deploy`.
#[derive(Debug, Clone, Args)]
pub struct CdkAppOptions {
    /// The CDK app directory (the one with `cdk.json`), e.g. Bedrock Chat's `cdk/`.
    #[arg(long, default_value = ".")]
    pub app_dir: PathBuf,
    /// Arguments for `cdk deploy` (context `-c k=v`, ...), after `--`.
    #[arg(last = true)]
    pub cdk_args: Vec<String>,
}

/// The migration's own options, shared by `migrate` and `deploy` (for the migration it runs
/// after replacing the vector store): the target's overrides and the launch's pace.
#[derive(Debug, Clone, Args)]
pub struct MigrationFlags {
    #[command(flatten)]
    pub target: TargetOverrides,
    /// Parallel scan segments.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub segments: u32,
    /// RunTask calls per second (the Fargate RunTask limit is 20).
    #[arg(long, default_value_t = 20.0, value_parser = positive_rate)]
    pub rate: f64,
    /// Tasks in flight at once (bounded by the account's Fargate vCPU quota).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_running: u32,
    /// Attempts per launch before a bot is reported launch-failed.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_attempts: u32,
    /// Give the tasks a public IP (only for subnets without a NAT route).
    #[arg(long)]
    pub assign_public_ip: bool,
}

/// `--rate`: refused while parsing, so a `deploy` never executes before a bad rate is seen.
fn positive_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(format!("{text:?} is not a positive number")),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
    Env,
}

#[derive(Debug, Args)]
pub struct Outputs {
    #[command(flatten)]
    pub stack: StackArgs,
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    #[command(flatten)]
    pub target: TargetOverrides,
}

#[derive(Debug, Args)]
pub struct Migrate {
    #[command(flatten)]
    pub scope: StackOptions,
    #[command(flatten)]
    pub migration: MigrationFlags,
    /// Also launch for bots whose knowledge is empty.
    #[arg(long)]
    pub all_bots: bool,
    /// Launch and exit without waiting for the tasks (the journal says what is still running).
    #[arg(long)]
    pub no_wait: bool,
    /// Resume the unfinished journal for this target without asking.
    #[arg(long, conflicts_with = "fresh")]
    pub resume: bool,
    /// Ignore an unfinished journal and start a new run.
    #[arg(long)]
    pub fresh: bool,
    /// On resume, relaunch bots whose task failed.
    #[arg(long)]
    pub retry_failed: bool,
    /// Do not ask for confirmation before launching.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// List what would be launched; launch nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Launch even when ECS runs tasks of another run of this tool on the same task family
    /// (another machine's migration): every bot of both runs may get two tasks.
    #[arg(long)]
    pub force_concurrent: bool,
    /// Where to write the JSON report (default: .xtask/<stack>/report-<utc>.json).
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Set by `deploy` when it replaced the vector store: the change set, recorded in the journal,
    /// and a fresh run whatever journal is left.
    #[arg(skip)]
    pub replaced_by: Option<String>,
}

#[derive(Debug, Args)]
pub struct Restore {
    #[command(flatten)]
    pub scope: StackOptions,
    /// The replacement record written by `deploy` (default: the newest
    /// `<state-dir>/<stack>/replacement-*.json`).
    #[arg(long, value_name = "FILE", conflicts_with = "snapshot")]
    pub record: Option<PathBuf>,
    /// Restore this DB cluster snapshot (identifier or ARN) instead of the record's.
    #[arg(long, value_name = "ID")]
    pub snapshot: Option<String>,
    /// List the temporary clusters this tool made; change nothing.
    #[arg(long, conflicts_with_all = ["record", "snapshot", "cleanup"])]
    pub list: bool,
    /// Delete this tool's temporary clusters for the stack, or only the one named.
    #[arg(long, value_name = "ID", num_args = 0..=1, conflicts_with_all = ["record", "snapshot"])]
    pub cleanup: Option<Option<String>>,
    /// Delete without asking for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct CopyVectors {
    #[command(flatten)]
    pub scope: StackOptions,
    /// The temporary cluster to copy from (default: the only one this tool made for the stack).
    #[arg(long, value_name = "CLUSTER")]
    pub from: Option<String>,
    /// The credential file recorded before the replacement (default: the newest replacement
    /// record's).
    #[arg(long, value_name = "FILE")]
    pub credentials: Option<PathBuf>,
    /// The database holding the `items` table, in both clusters.
    #[arg(long, default_value = "postgres")]
    pub database: String,
    /// The role ECS uses to read both connection secrets and write the task's log (default: the
    /// embedding task definition's execution role).
    #[arg(long, value_name = "ARN")]
    pub execution_role: Option<String>,
    /// The PostgreSQL client image the copy task runs.
    #[arg(
        long,
        default_value = "public.ecr.aws/docker/library/postgres:16-alpine"
    )]
    pub image: String,
    #[command(flatten)]
    pub target: TargetOverrides,
    /// Launch the copy task without asking for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[cfg(feature = "dev")]
#[derive(Debug, Args)]
pub struct Bench {
    /// Bots to seed (three in four with knowledge to embed); 10000 for the launch figures.
    #[arg(long, default_value_t = 2_000)]
    pub bots: usize,
    /// Only the scan figures (one segment against parallel segments, no launch): for 100000 bots,
    /// whose launches alone would take over an hour at 20 RunTask/s.
    #[arg(long)]
    pub scan_only: bool,
    /// Stop the baseline after this many seconds (it launches about 5 a second: 10000 bots take
    /// 35 minutes); its figures then come from the part it ran, and the table says so.
    #[arg(long)]
    pub baseline_max_secs: Option<u64>,
    /// Seconds each emulated embedding container runs in the full `migrate --yes` run.
    #[arg(long, default_value_t = 3.0)]
    pub task_seconds: f64,
    /// Only the copy-back figures: `copy_vectors.sh` against one `\copy` stream on a local
    /// PostgreSQL with pgvector, per shape of bots (no emulator).
    #[arg(long, conflicts_with_all = ["scan_only", "baseline_max_secs"])]
    pub copy: bool,
    /// Only the v2 -> v3 table migration's figures: `migrate-tables` against Bedrock Chat's own
    /// script (v3.0.0) on one emulator, under a write limit chosen below moto's raw rate.
    #[arg(long, conflicts_with_all = ["scan_only", "baseline_max_secs", "copy"])]
    pub tables: bool,
    /// Items of the v2 conversation table for `--tables`, in the app's mix of kinds; a table of
    /// one tenth of it gives the second size for peak RSS.
    #[arg(long, default_value_t = 100_000, requires = "tables")]
    pub items: usize,
}

#[cfg(feature = "dev")]
#[derive(Debug, Args)]
pub struct GenReplacementTable {
    /// Fail instead of writing when the committed table differs from the generated one.
    #[arg(long)]
    pub check: bool,
}

#[cfg(feature = "dev")]
#[derive(Debug, Args)]
pub struct GenDocs {
    /// Fail instead of writing when the committed page differs from the generated one.
    #[arg(long)]
    pub check: bool,
}

/// The tables of the v2 -> v3 migration and its pace.
#[derive(Debug, Clone, Args)]
pub struct TablesFlags {
    /// The v2 conversation table to copy from (default: the one `deploy` recorded before the upgrade).
    #[arg(long)]
    pub from_table: Option<String>,
    /// The v3 conversation table (default: the stack output `ConversationTableNameV3`).
    #[arg(long)]
    pub conversation_table: Option<String>,
    /// The v3 bot table (default: the stack output `BotTableNameV3`).
    #[arg(long)]
    pub bot_table: Option<String>,
    /// Parallel scan segments of the source.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub segments: u32,
    /// Write units a second for each new table (default: what DescribeTable says: provisioned
    /// capacity, an on-demand maximum, or 4,000 for a new on-demand table); throttling lowers it.
    #[arg(long, value_parser = positive_rate)]
    pub write_units: Option<f64>,
    /// Compare one item in this many field by field during the verification.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    pub sample_every: u64,
}

#[derive(Debug, Args)]
pub struct MigrateTables {
    #[command(flatten)]
    pub scope: StackOptions,
    #[command(flatten)]
    pub tables: TablesFlags,
    /// Continue the unfinished table-migration journal of this stack.
    #[arg(long, conflicts_with = "fresh")]
    pub resume: bool,
    /// Start a new run although an unfinished journal exists (every write is then conditional:
    /// nothing already in the new tables is overwritten).
    #[arg(long)]
    pub fresh: bool,
    /// Print the report as JSON on standard output.
    #[arg(long)]
    pub json: bool,
    /// Where to write the JSON report (default: .xtask/<stack>/tables-report-<utc>.json).
    #[arg(long)]
    pub report: Option<PathBuf>,
}

impl Default for TablesFlags {
    /// The flags' own defaults (what `deploy` runs its table migration with).
    fn default() -> Self {
        #[derive(Parser)]
        struct Defaults {
            #[command(flatten)]
            tables: TablesFlags,
        }
        Defaults::parse_from(["defaults"]).tables
    }
}
