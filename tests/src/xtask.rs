//! The `xtask` binary under test, built once per test process so it is never stale.

use std::{
    path::PathBuf,
    process::{Command, Output},
    sync::OnceLock,
};

use crate::{Emulator, project_root};

pub fn binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            // The same invocation as `cargo xtask test`'s build step: the same feature set as the
            // test build (dev-dependencies unify features), so this is a no-op there rather than
            // a second build of the SDK crates.
            let status = Command::new(env!("CARGO"))
                .args(["build", "--quiet", "--workspace", "--all-targets"])
                .current_dir(project_root())
                .status()
                .expect("run cargo build");
            assert!(status.success(), "cargo build --workspace --all-targets failed");
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| project_root().join("target"));
            target.join("debug/xtask")
        })
        .clone()
}

/// Runs `xtask ARGS` against the emulator, in `dir`, with no stdin (as CI runs it).
pub fn run(emulator: &Emulator, dir: &std::path::Path, args: &[&str]) -> Output {
    emulator
        .command(binary())
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run xtask")
}
