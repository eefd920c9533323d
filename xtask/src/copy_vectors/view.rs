//! What `copy-vectors` shows: the plan before the launch, the per-bot table after it, and what to
//! do about a failed, mismatched or abandoned copy. Never a password.

use console::style;
use migrate::copy::{CopyOutcome, CopyVerdict, RunningCopy, STARTED_BY};

/// Rows beyond this are summarized: the mismatched ones are always shown.
const MAX_ROWS: usize = 200;

/// The plan, one line per thing the copy touches (on stderr, before the confirmation).
pub struct PlanView<'a> {
    pub stack: &'a str,
    pub source_cluster: &'a str,
    pub source_endpoint: String,
    pub username: &'a str,
    pub credentials_file: String,
    pub target_secret: &'a str,
    pub ecs_cluster: &'a str,
    pub subnets: &'a [String],
    pub security_groups: &'a [String],
    pub execution_role: &'a str,
    pub execution_role_from: &'static str,
    pub image: &'a str,
    pub database: &'a str,
}

impl PlanView<'_> {
    pub fn print(&self) {
        let rows = [
            (
                "source",
                format!(
                    "{} ({}), user {}, credentials {}",
                    self.source_cluster, self.source_endpoint, self.username, self.credentials_file
                ),
            ),
            ("target secret", self.target_secret.to_owned()),
            ("ECS cluster", self.ecs_cluster.to_owned()),
            ("subnets", self.subnets.join(", ")),
            ("security groups", self.security_groups.join(", ")),
            (
                "execution role",
                format!("{} ({})", self.execution_role, self.execution_role_from),
            ),
            ("image", self.image.to_owned()),
            ("database", self.database.to_owned()),
            ("log group", migrate::copy::LOG_GROUP.to_owned()),
        ];
        eprintln!(
            "{} one Fargate task copies the vector rows of stack {} back into its new cluster:",
            style("copy-vectors").bold(),
            self.stack
        );
        for (name, value) in rows {
            eprintln!("  {name:<16} {value}");
        }
    }
}

/// The bots' counts from the task's log (stdout), then the summary line.
pub fn print_table(outcome: &CopyOutcome) {
    if !outcome.bots.is_empty() {
        println!(
            "{:<38} {:>12} {:>12} {:>12}  result",
            "bot", "source rows", "target rows", "copied"
        );
    }
    let shown = if outcome.bots.len() <= MAX_ROWS {
        outcome.bots.iter().collect::<Vec<_>>()
    } else {
        outcome.bots.iter().filter(|b| !b.matches()).collect()
    };
    for bot in &shown {
        let result = if bot.matches() {
            style("ok").green()
        } else {
            style("MISMATCH").red().bold()
        };
        println!(
            "{:<38} {:>12} {:>12} {:>12}  {result}",
            bot.bot, bot.source_rows, bot.target_rows, bot.copied
        );
    }
    if shown.len() < outcome.bots.len() {
        println!(
            "... and {} more bots whose counts match",
            outcome.bots.len() - shown.len()
        );
    }
    match &outcome.summary {
        Some(s) => println!(
            "bots {}  source rows {}  target rows {}  copied {}  mismatched {}",
            s.bots,
            s.source_rows,
            s.target_rows,
            s.copied,
            if s.mismatched > 0 {
                style(s.mismatched).red().bold()
            } else {
                style(s.mismatched).green()
            }
        ),
        None => println!("no summary line in the task's log"),
    }
}

/// After the table: the verdict in words (stderr), with the log's last lines for a failure.
pub fn print_verdict(outcome: &CopyOutcome, verdict: &CopyVerdict, stack: &str) {
    for line in &outcome.malformed {
        eprintln!(
            "{} a result line that breaks the contract: {line}",
            style("warning:").yellow().bold()
        );
    }
    match verdict {
        CopyVerdict::AllMatch => {
            eprintln!(
                "{} every bot's rows match; the bots' SyncStatus was left as it was. Remove the \
                 temporary cluster with `cargo xtask restore --stack {stack} --cleanup`",
                style("copied:").green().bold()
            );
        }
        CopyVerdict::Mismatch { bots } => {
            eprintln!(
                "{} {} bot(s) have a different row count in the new cluster: {}. The copy is \
                 idempotent: run it again, or re-embed them with `cargo xtask migrate`",
                style("mismatch:").red().bold(),
                bots.len(),
                bots.join(", ")
            );
        }
        CopyVerdict::Failed { reason } => {
            eprintln!("{} {reason}", style("copy failed:").red().bold());
            if outcome.log_tail.is_empty() {
                eprintln!(
                    "the task wrote no log ({} {})",
                    outcome.log_group, outcome.log_stream
                );
            } else {
                eprintln!(
                    "last lines of the task's log ({} {}):",
                    outcome.log_group, outcome.log_stream
                );
                for line in &outcome.log_tail {
                    eprintln!("  {line}");
                }
            }
        }
    }
    for problem in &outcome.cleanup_problems {
        eprintln!("{} {problem}", style("warning:").yellow().bold());
    }
}

/// A second Ctrl-C left the task running: where it is, and what to remove once it stops.
pub fn print_abandoned(running: &RunningCopy) {
    eprintln!(
        "{} the copy task is still {} and was left running:",
        style("interrupted:").yellow().bold(),
        running.last_status
    );
    eprintln!("  task        {}", running.task_arn);
    eprintln!(
        "  find it     aws ecs list-tasks --cluster {} --started-by {STARTED_BY}",
        running.cluster
    );
    eprintln!(
        "  its log     aws logs get-log-events --log-group-name {} --log-stream-name {}",
        running.log_group, running.log_stream
    );
    eprintln!("once it has stopped, remove what it needed while it ran:");
    eprintln!(
        "  aws secretsmanager delete-secret --secret-id {} --force-delete-without-recovery",
        running.secret.arn
    );
    eprintln!(
        "  aws ecs deregister-task-definition --task-definition {}",
        running.task_definition_arn
    );
}
