//! `cargo xtask setup`: install what the tests and the demo need, from the
//! package registries only, idempotently. A stamp beside each install records the input it was
//! made from (requirements.txt, package-lock.json), so a second run is a few file reads.

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

const VENV_STAMP: &str = ".xtask-stamp";
const NODE_STAMP: &str = ".xtask-stamp";

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

/// Where the tests' PostgreSQL (with pgvector) lives once set up: a wheel's binaries, in a venv of
/// its own so its pins never meet moto's.
pub fn postgres_venv_dir() -> PathBuf {
    project_root().join("target/postgres-venv")
}

pub fn fixture_dir() -> PathBuf {
    project_root().join("tests/fixtures/bedrock-chat")
}

/// `@aws-cdk/cloudformation-diff` (what `cdk diff` prints), pinned: the independent opinion the
/// real-template test compares the review with.
pub fn cfn_diff_dir() -> PathBuf {
    project_root().join("tests/cfn-diff")
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
    install_venv(
        &sh,
        "the emulator's",
        &project_root().join("tests/emulator/requirements.txt"),
        &venv_dir(),
    )?;
    install_venv(
        &sh,
        "the tests' PostgreSQL",
        &project_root().join("tests/postgres/requirements.txt"),
        &postgres_venv_dir(),
    )?;
    install_npm(&sh, "the fixture app", &fixture_dir())?;
    install_npm(&sh, "the CDK's template diff", &cfn_diff_dir())?;
    Ok(())
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

/// `whose` names the venv in messages ("the emulator's").
fn install_venv(sh: &Shell, whose: &str, requirements: &Path, venv: &Path) -> anyhow::Result<()> {
    let wanted = sh.read_file(requirements)?;
    let stamp = venv.join(VENV_STAMP);
    if sh.read_file(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(());
    }
    eprintln!(
        "xtask setup: creating {whose} Python venv in {}",
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
    .with_context(|| format!("pip could not install {whose} requirements"))?;
    sh.write_file(&stamp, wanted)?;
    Ok(())
}

/// `npm ci` in `dir` unless its `node_modules` was made from the same package-lock.json.
fn install_npm(sh: &Shell, whose: &str, dir: &Path) -> anyhow::Result<()> {
    let wanted = sh.read_file(dir.join("package-lock.json"))?;
    let stamp = dir.join("node_modules").join(NODE_STAMP);
    if sh.read_file(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(());
    }
    eprintln!("xtask setup: npm ci in {}", dir.display());
    let _dir = sh.push_dir(dir);
    cmd!(sh, "npm ci --no-audit --no-fund --loglevel=error")
        .run()
        .with_context(|| format!("npm ci failed for {whose}"))?;
    sh.write_file(&stamp, wanted)?;
    Ok(())
}
