//! What the bench reads from outside: a child process's wall time and peak RSS, and the emulator's
//! admin endpoints (`tests/emulator/patches/aws_limits.py`, `ecs_task_runner.py`).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::Value;

pub const LIMITS_PATH: &str = "/moto-api/emulator/aws-limits";
pub const RUNNER_PATH: &str = "/moto-api/emulator/task-runner";

/// One finished child process.
pub struct Finished {
    pub code: Option<i32>,
    pub wall_secs: f64,
    pub peak_rss_mb: f64,
    pub stopped_early: bool,
}

/// Runs `command` (stdout to `stdout`, stderr to `stderr`) and watches its peak RSS. The kernel's
/// `VmHWM` is the high-water mark, so reading it until the process exits loses nothing but the
/// last few milliseconds. `max_secs` kills it after that long.
pub fn run_measured(
    mut command: Command,
    stdout: std::fs::File,
    stderr: std::fs::File,
    max_secs: Option<u64>,
) -> anyhow::Result<Finished> {
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .context("starting a bench run")?;
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0u64;
    let mut stopped_early = false;
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_file)
            && let Some(kb) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            peak_kb = peak_kb.max(kb);
        }
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if max_secs.is_some_and(|max| started.elapsed() >= Duration::from_secs(max)) {
            child.kill()?;
            stopped_early = true;
            break child.wait()?;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Ok(Finished {
        code: status.code(),
        wall_secs: started.elapsed().as_secs_f64(),
        peak_rss_mb: peak_kb as f64 / 1024.0,
        stopped_early,
    })
}

/// A JSON call to the emulator's admin API. Plain HTTP/1.0 over a socket: the bench needs two
/// endpoints on localhost, not an HTTP client dependency.
pub fn admin(port: u16, path: &str, body: Option<&Value>) -> anyhow::Result<Value> {
    let mut stream =
        TcpStream::connect(("127.0.0.1", port)).context("connecting to the emulator")?;
    let request = match body {
        Some(body) => {
            let body = body.to_string();
            format!(
                "POST {path} HTTP/1.0\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
        }
        None => format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n"),
    };
    stream.write_all(request.as_bytes())?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let (head, json) = answer
        .split_once("\r\n\r\n")
        .context("the emulator's answer has no body")?;
    anyhow::ensure!(head.contains(" 200 "), "{path}: {head}");
    serde_json::from_str(json).with_context(|| format!("{path} answered no JSON"))
}

/// Launches per second over the middle 80% of the acceptance times: the burst at the start and
/// the stragglers at the end say nothing about the sustained rate.
pub fn sustained_rate(accepted_at: &[f64]) -> Option<f64> {
    let mut times = accepted_at.to_vec();
    times.sort_by(f64::total_cmp);
    let n = times.len();
    if n < 10 {
        return None;
    }
    let (first, last) = (n / 10, n - 1 - n / 10);
    let span = times[last] - times[first];
    (span > 0.0).then(|| (last - first) as f64 / span)
}

/// Embedding tasks the task runner started for bots with nothing to embed (the seed names them
/// `empty-`), over its whole life.
pub fn tasks_for_empty_bots(runner: &Value) -> u64 {
    runner["started"].as_object().map_or(0, |started| {
        started
            .iter()
            .filter(|(bot, _)| bot.contains("#BOT#empty-"))
            .map(|(_, tasks)| tasks.as_array().map_or(0, |t| t.len() as u64))
            .sum()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sustained_rate_leaves_out_the_first_and_last_tenth() {
        // 10 launches in the first 0.1 s (a burst), then one every 0.05 s: 20/s.
        let mut times: Vec<f64> = (0..10).map(|i| i as f64 * 0.01).collect();
        times.extend((1..=90).map(|i| 0.1 + i as f64 * 0.05));
        let rate = sustained_rate(&times).unwrap();
        assert!((rate - 20.0).abs() < 0.01, "{rate}");
        assert_eq!(sustained_rate(&times[..5]), None);
    }
}
