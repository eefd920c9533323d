//! Where a harness object keeps its files: a temporary directory removed on drop (tests), or a
//! given directory that stays (the demo keeps everything under `target/demo/`).
//!
//! Under `cargo xtask test` (`XTASK_KEEP_SCRATCH` set) temporary directories are kept too: the
//! run scans every file the suite wrote for the emulator's sentinel password after the tests, so
//! nothing may vanish before it is read. They live in the run's `TMPDIR`, which the next run
//! removes.

use std::path::{Path, PathBuf};

/// Set (to anything but empty or `0`) by `cargo xtask test`: keep temporary directories.
pub const KEEP_ENV: &str = "XTASK_KEEP_SCRATCH";

pub enum Scratch {
    Temp(tempfile::TempDir),
    Kept(PathBuf),
}

impl Scratch {
    /// A new directory in the temporary directory (`TMPDIR`), removed on drop unless
    /// [`KEEP_ENV`] says to keep it.
    pub fn temp(prefix: &str) -> Scratch {
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir()
            .expect("temp dir");
        if keep_requested() {
            Scratch::Kept(dir.keep())
        } else {
            Scratch::Temp(dir)
        }
    }

    /// `dir`, created (empty or not).
    pub fn kept(dir: &Path) -> Scratch {
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        Scratch::Kept(dir.to_path_buf())
    }

    pub fn path(&self) -> &Path {
        match self {
            Scratch::Temp(t) => t.path(),
            Scratch::Kept(p) => p,
        }
    }
}

fn keep_requested() -> bool {
    std::env::var_os(KEEP_ENV).is_some_and(|v| !v.is_empty() && v != "0")
}
