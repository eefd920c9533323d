//! indicatif helpers shared by the subcommands: one look for spinners and bars.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use migrate::reembed::{Event, Outcome};

/// A spinner with a message, ticking on its own.
pub fn spinner(message: impl Into<std::borrow::Cow<'static, str>>) -> ProgressBar {
    let pb = ProgressBar::new_spinner();
    pb.set_style(
        ProgressStyle::with_template("{spinner:.cyan} {msg} [{elapsed}]").expect("valid template"),
    );
    pb.set_message(message);
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}

/// A counted bar `prefix [=====>   ] pos/len msg` added to `multi`.
pub fn bar(multi: &MultiProgress, len: u64, prefix: &'static str) -> ProgressBar {
    let pb = multi.add(ProgressBar::new(len));
    pb.set_style(
        ProgressStyle::with_template(
            "{prefix:>9.bold} [{bar:30.cyan/blue}] {pos:>6}/{len:<6} {msg}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    pb.set_prefix(prefix);
    pb
}

/// A line with a live counter and no bar (`running 7`).
pub fn counter(multi: &MultiProgress, prefix: &'static str) -> ProgressBar {
    let pb = multi.add(ProgressBar::new(0));
    pb.set_style(
        ProgressStyle::with_template("{prefix:>9.bold} {pos:>6} {msg}").expect("valid template"),
    );
    pb.set_prefix(prefix);
    pb
}

/// The progress bars: launched, running, done, failed.
pub struct MigrateBars {
    launched: ProgressBar,
    running: ProgressBar,
    done: ProgressBar,
    failed: ProgressBar,
    multi: MultiProgress,
    in_flight: AtomicU64,
    retries: AtomicU64,
}

impl MigrateBars {
    pub fn new(multi: &MultiProgress) -> Self {
        Self {
            launched: bar(multi, 0, "launched"),
            running: counter(multi, "running"),
            done: bar(multi, 0, "done"),
            failed: counter(multi, "failed"),
            multi: multi.clone(),
            in_flight: AtomicU64::new(0),
            retries: AtomicU64::new(0),
        }
    }

    pub fn on_event(&self, event: Event) {
        match event {
            Event::LaunchStarting {
                to_launch,
                to_track,
            } => {
                self.launched.set_length(to_launch);
                self.done.set_length(to_launch + to_track);
            }
            Event::Launched { .. } => {
                self.launched.inc(1);
                let n = self.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
                self.running.set_position(n);
            }
            Event::LaunchRetry { .. } => {
                let n = self.retries.fetch_add(1, Ordering::Relaxed) + 1;
                self.launched.set_message(format!("({n} RunTask retries)"));
            }
            Event::Finished { outcome, .. } => {
                self.done.inc(1);
                if matches!(outcome, Outcome::Succeeded | Outcome::Failed { .. }) {
                    let n = self
                        .in_flight
                        .fetch_sub(1, Ordering::Relaxed)
                        .saturating_sub(1);
                    self.running.set_position(n);
                }
                if let Outcome::Failed { reason } | Outcome::LaunchFailed { reason } = &outcome {
                    self.failed.inc(1);
                    self.failed.set_message(truncate(reason, 80));
                }
            }
            Event::LaunchStopped { interrupted: true } => {
                self.launched.set_message("stopped");
            }
            Event::Warning { message } => {
                let _ = self
                    .multi
                    .println(format!("warning: {}", truncate(&message, 200)));
            }
            Event::ScanPage { .. } | Event::ScanDone { .. } | Event::LaunchStopped { .. } => {}
        }
    }

    pub fn finish(&self) {
        for pb in [&self.launched, &self.running, &self.done, &self.failed] {
            pb.abandon();
        }
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        format!("{}...", s.chars().take(max).collect::<String>())
    }
}
