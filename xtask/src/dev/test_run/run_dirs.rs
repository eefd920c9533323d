//! A run's directories (`target/test-tmp/<run>/`, the test processes' `TMPDIR`, and
//! `target/test-output/<run>/`, their captured output) and the sentinel scan over them.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Context;

use super::scan::{self, Root};

const TMP: &str = "target/test-tmp";
const OUTPUT: &str = "target/test-output";

/// Top-level entries of `target/` the suite does not write: cargo's build outputs and the
/// emulator's installed venv (the emulator's log is in its scratch directory). Everything else
/// under `target/` modified during the run is scanned (the demo-in-tests' `target/demo-test-*`,
/// the cached fixture assemblies, cargo's `target/tmp`).
const NOT_WRITTEN_BY_TESTS: &[&str] = &[
    "debug",
    "release",
    "doc",
    "package",
    "emulator-venv",
    "rust-analyzer",
    "flycheck0",
];

pub struct RunDirs {
    pub tmp: PathBuf,
    pub output: PathBuf,
    pub started: SystemTime,
}

impl RunDirs {
    /// Removes the directories of earlier runs whose process is gone, then creates this run's,
    /// named `<utc>-<pid>`: a run still going on elsewhere in the same `target/` keeps its own.
    pub fn create(root: &Path) -> anyhow::Result<RunDirs> {
        for parent in [TMP, OUTPUT] {
            remove_finished_runs(&root.join(parent))?;
        }
        let name = format!("{}-{}", migrate::state::utc_stamp(), std::process::id());
        let dirs = RunDirs {
            tmp: root.join(TMP).join(&name),
            output: root.join(OUTPUT).join(&name),
            // File times have a coarse granularity on some file systems.
            started: SystemTime::now() - Duration::from_secs(2),
        };
        for dir in [&dirs.tmp, &dirs.output] {
            std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
        }
        Ok(dirs)
    }
}

fn remove_finished_runs(parent: &Path) -> anyhow::Result<()> {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Ok(());
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let running = name
            .rsplit_once('-')
            .and_then(|(_, pid)| pid.parse::<u32>().ok())
            .is_some_and(|pid| pid != std::process::id() && alive(pid));
        if !running {
            std::fs::remove_dir_all(entry.path())
                .with_context(|| format!("remove the old run {}", entry.path().display()))?;
        }
    }
    Ok(())
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Plants the sentinel in a file of the run (proof that the scan reads the run's files and can
/// fail), scans, and prints the verdict. `filtered`: only some tests ran, so seeing no
/// credential file is no sign of a broken sentinel.
/// This run's output and TMPDIR whole, and every other directory under `target/` for what was
/// written during the run.
fn scan_roots(root: &Path, dirs: &RunDirs) -> anyhow::Result<Vec<Root>> {
    let mut roots = vec![
        Root {
            path: dirs.output.clone(),
            modified_since: None,
        },
        Root {
            path: dirs.tmp.clone(),
            modified_since: None,
        },
    ];
    let target = root.join("target");
    for entry in std::fs::read_dir(&target)?.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        // This run's own directories are scanned whole above; another run's are not this run's.
        let runs = [TMP, OUTPUT]
            .iter()
            .any(|d| target.join(&name) == root.join(d));
        if !runs && !NOT_WRITTEN_BY_TESTS.contains(&name.as_str()) {
            roots.push(Root {
                path: entry.path(),
                modified_since: Some(dirs.started),
            });
        }
    }
    Ok(roots)
}

/// Says what the scan found; passes only when the planted canary was found, the password is
/// nowhere else, and (unless filtered) some credential file holds it.
fn verdict(report: &scan::ScanReport, canary: &Path, canary_found: bool, filtered: bool) -> bool {
    let mut passed = true;
    if !canary_found {
        passed = false;
        eprintln!(
            "xtask: secret scan FAILED: it did not find the sentinel planted in {}, so it proves nothing",
            canary.display()
        );
    }
    for (path, offset) in &report.findings {
        passed = false;
        eprintln!(
            "xtask: secret scan FAILED: the emulator's DB password is in {} at byte {offset}",
            path.display()
        );
    }
    for (path, error) in &report.unreadable {
        passed = false;
        eprintln!(
            "xtask: secret scan FAILED: could not read {}: {error}",
            path.display()
        );
    }
    if let Some(first) = report.credential_files_without.first() {
        // Tests may plant credential files of their own (bad_input.rs takes every file name a
        // deploy could use): not the emulator's secret, so not this scan's business.
        eprintln!(
            "xtask: note: {} credential files do not hold the sentinel password (the first: {})",
            report.credential_files_without.len(),
            first.display()
        );
    }
    if report.credential_files.is_empty() {
        if filtered {
            eprintln!(
                "xtask: note: no credential file with the sentinel (no deploy with credentials ran under this filter)"
            );
        } else {
            passed = false;
            eprintln!(
                "xtask: secret scan FAILED: no credential file holds the sentinel password: the emulator did not generate it, so the scan looked for a password no test used"
            );
        }
    } else {
        eprintln!(
            "xtask: secret scan: the password is only in the {} credential files, where it belongs",
            report.credential_files.len()
        );
    }
    passed
}

pub fn scan_for_the_sentinel(root: &Path, dirs: &RunDirs, filtered: bool) -> anyhow::Result<bool> {
    let sentinel = tests::emulator::SENTINEL_PASSWORD.as_bytes();
    let canary = dirs.tmp.join("xtask-scan-canary").join("planted.txt");
    let prefix = b"planted by cargo xtask test; the scan must report the next bytes: ";
    std::fs::create_dir_all(canary.parent().expect("a parent"))?;
    std::fs::write(&canary, [&prefix[..], sentinel, b"\n"].concat())?;

    let roots = scan_roots(root, dirs)?;
    let mut report = scan::scan(&roots, sentinel)?;
    let planted = (canary.clone(), prefix.len() as u64);
    let canary_found = report.findings.contains(&planted);
    report.findings.retain(|f| f != &planted);
    let _ = std::fs::remove_dir_all(canary.parent().expect("a parent"));

    eprintln!(
        "xtask: secret scan: {} files, {:.1} MB (the run's output and TMPDIR, and files under target/ written during the run)",
        report.files,
        report.bytes as f64 / 1e6
    );
    Ok(verdict(&report, &canary, canary_found, filtered))
}
