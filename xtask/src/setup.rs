//! `cargo xtask setup` and `cargo xtask test`: install what the tests and the demo need, from the
//! package registries only, idempotently. A stamp beside each install records the input it was
//! made from (requirements.txt, package-lock.json), so a second run is a few file reads.

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

use crate::flags;

const VENV_STAMP: &str = ".xtask-stamp";
const NODE_STAMP: &str = ".xtask-stamp";
/// Seeded fault-injection runs of the migration: a few in CI, issue 8's 20 with `--full`.
const FAULT_RUNS_ENV: &str = "XTASK_FAULT_RUNS";
const CI_FAULT_RUNS: u32 = 5;
const FULL_FAULT_RUNS: u32 = 20;

/// The workspace root: xtask lives one level below it.
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask has a parent")
        .to_path_buf()
}

/// Where the emulator's Python lives once set up.
pub fn venv_dir() -> PathBuf {
    project_root().join("target/emulator-venv")
}

pub fn fixture_dir() -> PathBuf {
    project_root().join("tests/fixtures/bedrock-chat")
}

pub fn run() -> anyhow::Result<ExitCode> {
    ensure_installed()?;
    Ok(ExitCode::SUCCESS)
}

pub fn ensure_installed() -> anyhow::Result<()> {
    let sh = Shell::new()?;
    require_tool(
        &sh,
        "python3",
        "Python 3.10+ with venv (Debian: apt-get install python3 python3-venv)",
    )?;
    require_tool(
        &sh,
        "node",
        "Node.js 20+ (https://nodejs.org or Debian: apt-get install nodejs npm)",
    )?;
    require_tool(
        &sh,
        "npm",
        "npm (it comes with Node.js; Debian: apt-get install npm)",
    )?;
    install_venv(&sh)?;
    install_fixture_packages(&sh)?;
    Ok(())
}

fn nested(mut cmd: xshell::Cmd<'_>) -> xshell::Cmd<'_> {
    for var in crate::nested_cargo::crate_env_vars() {
        cmd = cmd.env_remove(var);
    }
    cmd
}

pub fn test(args: flags::Test) -> anyhow::Result<ExitCode> {
    ensure_installed()?;
    let sh = Shell::new()?;
    sh.change_dir(project_root());
    let extra = &args.cargo_args;
    eprintln!("xtask: building the workspace");
    // Build the CLI first: the integration tests run the real `xtask` binary.
    nested(cmd!(sh, "cargo build --workspace --all-targets")).run()?;
    eprintln!("xtask: running the test suite");
    // tests/tests/faults.rs reads the number of its seeded runs (at least 5) from here.
    let runs = if args.full {
        FULL_FAULT_RUNS
    } else {
        CI_FAULT_RUNS
    };
    nested(cmd!(sh, "cargo test --workspace -- {extra...}"))
        .env(FAULT_RUNS_ENV, runs.to_string())
        .run()?;
    Ok(ExitCode::SUCCESS)
}

fn require_tool(sh: &Shell, tool: &str, how: &str) -> anyhow::Result<()> {
    if cmd!(sh, "{tool} --version")
        .quiet()
        .ignore_stdout()
        .ignore_stderr()
        .run()
        .is_err()
    {
        bail!("`{tool}` was not found on PATH; install {how}, then run `cargo xtask setup` again");
    }
    Ok(())
}

fn install_venv(sh: &Shell) -> anyhow::Result<()> {
    let requirements = project_root().join("tests/emulator/requirements.txt");
    let wanted = sh.read_file(&requirements)?;
    let venv = venv_dir();
    let stamp = venv.join(VENV_STAMP);
    if sh.read_file(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(());
    }
    eprintln!(
        "xtask setup: creating the emulator's Python venv in {}",
        venv.display()
    );
    cmd!(sh, "python3 -m venv --clear {venv}")
        .run()
        .context("python3 could not create a venv (Debian: apt-get install python3-venv)")?;
    let pip = venv.join("bin/pip");
    cmd!(
        sh,
        "{pip} install --quiet --disable-pip-version-check -r {requirements}"
    )
    .run()
    .context("pip could not install the emulator's requirements")?;
    sh.write_file(&stamp, wanted)?;
    Ok(())
}

fn install_fixture_packages(sh: &Shell) -> anyhow::Result<()> {
    let app = fixture_dir();
    let wanted = sh.read_file(app.join("package-lock.json"))?;
    let stamp = app.join("node_modules").join(NODE_STAMP);
    if sh.read_file(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(());
    }
    eprintln!("xtask setup: npm ci in {}", app.display());
    let _dir = sh.push_dir(&app);
    cmd!(sh, "npm ci --no-audit --no-fund --loglevel=error")
        .run()
        .context("npm ci failed for the fixture app")?;
    sh.write_file(&stamp, wanted)?;
    Ok(())
}
