//! Signals and crashes for the fault suite: a journal line torn as a crash leaves it, and a run
//! interrupted with Ctrl-C once or twice.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;
use tests::deployed::Deployed;
use tests::xtask;

use crate::support::*;

/// Cuts the journal's last line in half when it records something that happened (a task
/// launched, an outcome): the process died writing it. After an intent, whose RunTask may have
/// run, the torn line is the start of the next one instead. Returns the torn line's type.
pub fn tear_last_line(journal: &Path) -> String {
    let text = std::fs::read_to_string(journal).unwrap();
    let body = text.trim_end_matches('\n');
    let start = body.rfind('\n').map_or(0, |i| i + 1);
    let last: Value = serde_json::from_str(&body[start..]).unwrap();
    let kind = last["type"].as_str().unwrap().to_owned();
    let torn = if kind == "launched" || kind == "outcome" {
        let line = &body[start..];
        format!("{}{}", &text[..start], &line[..line.len() / 2])
    } else {
        format!("{text}{{\"type\":\"launched\",\"pk\":\"user-00")
    };
    std::fs::write(journal, torn).unwrap();
    kind
}

/// Reads a child's stderr on a thread, line by line.
pub fn lines_of(stderr: std::process::ChildStderr) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// Waits for a line containing `text`; returns everything read so far.
pub fn wait_for(lines: &mpsc::Receiver<String>, text: &str, seen: &mut String) {
    // A guard against a hang, not a measure: a loaded 2-core machine running four test binaries
    // at once may take minutes to print what a quiet one prints in seconds.
    let deadline = Instant::now() + Duration::from_secs(300);
    while !seen.contains(text) {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                seen.push_str(&line);
                seen.push('\n');
            }
            Err(_) => panic!("never printed {text:?}; printed:\n{seen}"),
        }
    }
}

/// Starts a migration, waits for 10 launches and presses Ctrl-C `presses` times (each after the
/// tool said it heard the previous one). Returns its exit code and what it printed on stderr.
pub fn interrupt(env: &Deployed, state: &Path, report: &Path, presses: usize) -> (i32, String) {
    let args = [
        "migrate",
        "--yes",
        "--rate",
        "10",
        "--state-dir",
        state.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ];
    let mut child = xtask::spawn(&env.emulator, env.app.dir(), &args, &run_env());
    let lines = lines_of(child.stderr.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(120);
    while count_launched(state) < 10 {
        assert!(Instant::now() < deadline, "never reached 10 launches");
        assert!(child.try_wait().unwrap().is_none(), "ended before Ctrl-C");
        std::thread::sleep(Duration::from_millis(10));
    }
    let pid = Pid::from_raw(child.id() as i32);
    let mut seen = String::new();
    for heard in ["Ctrl-C: no new launches", "Ctrl-C again"]
        .iter()
        .take(presses)
    {
        kill(pid, Signal::SIGINT).expect("SIGINT");
        wait_for(&lines, heard, &mut seen);
    }
    let status = child.wait().unwrap();
    seen.extend(lines.iter().map(|l| l + "\n"));
    (
        status.code().expect("exited, not killed by the signal"),
        seen,
    )
}

/// Runs `xtask ARGS` like `xtask::run_with`, but fails the test if it has not exited after
/// `limit`: for a run that must not wait on an answer that never comes.
pub fn run_within(env: &Deployed, args: &[&str], limit: Duration) -> std::process::Output {
    let mut child = xtask::spawn(&env.emulator, env.app.dir(), args, &run_env());
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            let output = child.wait_with_output().unwrap();
            panic!("still running after {limit:?}: {}", xtask::printed(&output));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}
