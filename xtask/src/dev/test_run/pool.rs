//! Runs the test binaries a few at a time. Each binary's stdout and stderr go to one file (the
//! scan reads it later); when the binary ends, the file is printed as one block with its name,
//! time and result, so the outputs of binaries running side by side never interleave.

use std::collections::VecDeque;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Context;

/// What happened to one binary (or to the doc tests).
#[derive(Debug, Clone)]
pub struct Outcome {
    pub name: String,
    pub elapsed: Duration,
    /// `None` when it passed; else how it failed.
    pub failure: Option<String>,
    pub log: PathBuf,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

/// One job: a command to run with its output captured to `log`.
pub struct Job {
    pub name: String,
    pub command: Command,
    pub log: PathBuf,
}

/// Runs the jobs, at most `parallel` at once, in the given order, printing to `out`; outcomes
/// come back in the order the jobs ended.
pub fn run_all(
    jobs: Vec<Job>,
    parallel: usize,
    out: impl Write + Send,
) -> anyhow::Result<Vec<Outcome>> {
    let total = jobs.len();
    let queue = Mutex::new(jobs.into_iter().collect::<VecDeque<_>>());
    let outcomes = Mutex::new(Vec::with_capacity(total));
    // One lock for everything this module prints: a block is never cut by another line.
    let terminal = Mutex::new(out);
    std::thread::scope(|scope| {
        for _ in 0..parallel.max(1) {
            scope.spawn(|| {
                loop {
                    let Some(job) = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front()
                    else {
                        return;
                    };
                    {
                        let mut out = terminal.lock().unwrap_or_else(|p| p.into_inner());
                        let _ = writeln!(out, "xtask: started {}", job.name);
                        let _ = out.flush();
                    }
                    let outcome = run_one(job);
                    let mut done = outcomes.lock().unwrap_or_else(|p| p.into_inner());
                    done.push(outcome.clone());
                    let mut out = terminal.lock().unwrap_or_else(|p| p.into_inner());
                    print_block(&mut *out, &outcome, done.len(), total);
                }
            });
        }
    });
    let outcomes = outcomes.into_inner().unwrap_or_else(|p| p.into_inner());
    anyhow::ensure!(outcomes.len() == total, "a test job was lost");
    Ok(outcomes)
}

fn run_one(job: Job) -> Outcome {
    let Job {
        name,
        mut command,
        log,
    } = job;
    let started = Instant::now();
    let failure = match capture(&mut command, &log) {
        Ok(status) if status.success() => None,
        Ok(status) => Some(match status.code() {
            Some(code) => format!("exit code {code}"),
            None => format!("killed ({status})"),
        }),
        Err(e) => {
            // The reason goes into the log too, so the block says it.
            let _ = std::fs::write(&log, format!("{e:#}\n"));
            Some(format!("could not run: {e:#}"))
        }
    };
    Outcome {
        name,
        elapsed: started.elapsed(),
        failure,
        log,
    }
}

/// Both streams into one file, in the order they were written.
fn capture(command: &mut Command, log: &Path) -> anyhow::Result<std::process::ExitStatus> {
    let out = File::create(log).with_context(|| format!("create {}", log.display()))?;
    let err = out.try_clone()?;
    command
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .status()
        .with_context(|| format!("{command:?}"))
}

fn print_block(out: &mut impl Write, outcome: &Outcome, done: usize, total: usize) {
    let text = std::fs::read(&outcome.log).unwrap_or_default();
    let result = outcome.failure.as_deref().unwrap_or("ok");
    let header = format!(
        "==== {} [{done}/{total}]: {result} in {:.1}s (output: {})",
        outcome.name,
        outcome.elapsed.as_secs_f64(),
        outcome.log.display()
    );
    let _ = writeln!(out, "{header}");
    let _ = out.write_all(&text);
    if !text.ends_with(b"\n") && !text.is_empty() {
        let _ = writeln!(out);
    }
    let _ = writeln!(out, "==== end of {}", outcome.name);
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_job_runs_and_failures_are_told_apart() {
        let dir = std::env::temp_dir().join(format!("xtask-pool-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let job = |name: &str, script: &str| {
            let mut command = Command::new("sh");
            command.args(["-c", script]);
            Job {
                name: name.to_owned(),
                command,
                log: dir.join(format!("{name}.log")),
            }
        };
        let mut printed = Vec::new();
        let outcomes = run_all(
            vec![
                job("passes", "echo out; echo err >&2"),
                job("fails", "exit 3"),
                job("killed", "kill -9 $$"),
            ],
            2,
            &mut printed,
        )
        .unwrap();
        let printed = String::from_utf8(printed).unwrap();
        // Each block whole: its header, the output, its end, with nothing in between.
        let block = printed
            .split("==== passes")
            .nth(1)
            .and_then(|rest| rest.split("==== end of passes").next())
            .unwrap_or_default();
        assert!(
            block.contains("ok in") && block.contains("out\n"),
            "{printed}"
        );
        assert!(!block.contains("xtask: started"), "{printed}");
        let by_name = |n: &str| outcomes.iter().find(|o| o.name == n).unwrap();
        assert!(by_name("passes").passed());
        let both = std::fs::read_to_string(&by_name("passes").log).unwrap();
        assert!(both.contains("out\n") && both.contains("err\n"), "{both}");
        assert_eq!(by_name("fails").failure.as_deref(), Some("exit code 3"));
        assert!(
            by_name("killed")
                .failure
                .as_deref()
                .unwrap()
                .starts_with("killed"),
            "{:?}",
            by_name("killed").failure
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
