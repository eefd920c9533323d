//! Taking the stack's lock (`migrate::lock`) for a command that changes something, and saying
//! what securing the state directory changed.

use crate::flags::StackOptions;
use console::style;
use migrate::lock::StateLock;

/// The lock for a run that changes something; none for one that only looks (a dry run, a
/// listing), which may look while another run works.
pub fn take_unless(only_looks: bool, scope: &StackOptions) -> anyhow::Result<Option<StateLock>> {
    match only_looks {
        true => Ok(None),
        false => take(scope).map(Some),
    }
}

/// Held for the command's whole run; the second command on the same stack and state directory
/// fails here at once (exit 1), naming the holder.
pub fn take(scope: &StackOptions) -> anyhow::Result<StateLock> {
    let lock = StateLock::acquire(&scope.state_dir, &scope.stack.name, &command_line())?;
    for path in &lock.narrowed {
        eprintln!(
            "{} {} was open to group or others: narrowed to its owner (it holds credentials and \
             journals)",
            style("warning:").yellow().bold(),
            path.display()
        );
    }
    Ok(lock)
}

/// `cargo xtask <subcommand> <flags>` as this process was started, without the CDK arguments
/// after `--` (context values are the user's business, not the lock file's).
fn command_line() -> String {
    let args: Vec<String> = std::env::args().skip(1).take_while(|a| a != "--").collect();
    format!("cargo xtask {}", args.join(" "))
}
