//! The `xtask` binary under test, built once per test process so it is never stale.

use std::{
    path::PathBuf,
    process::{Command, Output},
    sync::OnceLock,
};

use crate::{Emulator, project_root};

#[path = "../../xtask/src/dev/nested_cargo.rs"]
mod nested_cargo;

pub fn binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            // The same invocation as `cargo xtask test`'s build step: the same feature set as the
            // test build (dev-dependencies unify features), so this is a no-op there rather than
            // a second build of the SDK crates.
            let mut cargo = Command::new(env!("CARGO"));
            for var in nested_cargo::crate_env_vars() {
                cargo.env_remove(var);
            }
            let status = cargo
                .args(["build", "--quiet", "--workspace", "--all-targets"])
                .current_dir(project_root())
                .status()
                .expect("run cargo build");
            assert!(
                status.success(),
                "cargo build --workspace --all-targets failed"
            );
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| project_root().join("target"));
            target.join("debug/xtask")
        })
        .clone()
}

/// Runs `xtask ARGS` against the emulator, in `dir`, with no stdin (as CI runs it).
pub fn run(emulator: &Emulator, dir: &std::path::Path, args: &[&str]) -> Output {
    run_with(emulator, dir, args, &[])
}

/// Starts `xtask ARGS` in the background (for a test that interrupts it).
pub fn spawn(
    emulator: &Emulator,
    dir: &std::path::Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> std::process::Child {
    emulator
        .command(binary())
        .args(args)
        .envs(env.iter().copied())
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn xtask")
}

/// Like [`run`], with extra environment variables.
pub fn run_with(
    emulator: &Emulator,
    dir: &std::path::Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> Output {
    emulator
        .command(binary())
        .args(args)
        .envs(env.iter().copied())
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run xtask")
}

/// Everything a run printed, for assertion messages.
pub fn printed(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
