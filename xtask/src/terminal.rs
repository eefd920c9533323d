//! Whether a person can answer a prompt, and the warning about where secrets are written.

use std::io::IsTerminal;
use std::path::Path;

use console::style;
use xshell::{Shell, cmd};

/// A prompt needs a terminal on stdin and stderr (dialoguer draws on stderr), and never runs in
/// CI, where a terminal may be emulated but nobody answers.
pub fn interactive() -> bool {
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal() && !ci
}

/// What a confirmation asks before an action that launches or deletes.
pub struct Ask<'a> {
    /// What is refused without an answer, e.g. "launch the copy task".
    pub action: &'a str,
    /// The verb `--yes` then does, e.g. "launch".
    pub verb: &'a str,
    /// The question at the terminal.
    pub prompt: &'a str,
    /// Said when the answer is no, e.g. "nothing launched".
    pub declined: &'a str,
}

/// `--yes` goes ahead; at a terminal the person answers (no is the default); with no one to ask
/// it refuses and names the flag. `false`: not confirmed (the caller exits 2).
pub fn confirm(yes: bool, ask: &Ask<'_>) -> anyhow::Result<bool> {
    if yes {
        return Ok(true);
    }
    if !interactive() {
        eprintln!(
            "{} refusing to {} without confirmation: no one is at a terminal; pass --yes to {}",
            style("error:").red().bold(),
            ask.action,
            ask.verb
        );
        return Ok(false);
    }
    let go = dialoguer::Confirm::new()
        .with_prompt(ask.prompt)
        .default(false)
        .interact()?;
    if !go {
        eprintln!("{}", ask.declined);
    }
    Ok(go)
}

/// `.xtask/` holds credential files: warn when it sits in a git work tree without being ignored.
/// Silent when git is missing or the directory is outside any repository.
pub fn warn_if_state_dir_tracked(state_dir: &Path) {
    let Ok(sh) = Shell::new() else { return };
    // A path inside it: a `.xtask/` pattern matches directories only, and the directory may not
    // exist yet.
    let inside = state_dir.join("credentials.json");
    let Ok(out) = cmd!(sh, "git check-ignore -q {inside}")
        .quiet()
        .ignore_status()
        .ignore_stderr()
        .output()
    else {
        return;
    };
    // check-ignore: 0 ignored, 1 not ignored, 128 not in a work tree (or another error).
    if out.status.code() == Some(1) {
        eprintln!(
            "{} {} is inside a git work tree and not ignored; it will hold credential files: add it to .gitignore",
            style("warning:").yellow().bold(),
            state_dir.display()
        );
    }
}
