//! The tool as an operator has it next to their app (README, "Getting the tool"): a binary that
//! lives outside this workspace's `target/` and is run from the CDK app's directory, not through
//! `cargo xtask`. `check`, `deploy` and `migrate` work from there, and `.xtask/` lands in the
//! directory it is run from, as README says.
//!
//! The binary is the one the suite builds, copied out of `target/debug/` (an install is a copy
//! of a built binary): building the operator's feature set here would compile the AWS SDK a
//! second time. That the operator build links no test harness is the tidy test's and
//! `cargo tree -p xtask -e normal --no-default-features`'s business.

use std::path::{Path, PathBuf};
use std::process::Output;

use tests::deployed::{
    Deployed, FAST, V1_CDK_ARGS as V1, deployed_with_bots, state_files, with_cdk_args,
};
use tests::scratch::Scratch;
use tests::seed::SeedPlan;
use tests::xtask::{self, printed};
use tests::{STACK, project_root, task_runner};

/// Runs the installed binary in `dir` against the test's emulator, with no stdin.
fn run(env: &Deployed, installed: &Path, dir: &Path, args: &[&str]) -> Output {
    env.emulator
        .command(installed)
        .args(args)
        .envs(FAST.iter().copied())
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run the installed binary")
}

#[tokio::test(flavor = "multi_thread")]
async fn an_installed_binary_checks_deploys_and_migrates_from_the_app_directory() {
    let seed = SeedPlan {
        with_knowledge: 3,
        without_knowledge: 1,
        aliases: 0,
        ..SeedPlan::default()
    };
    let (env, _bots) = deployed_with_bots(seed).await;
    task_runner::configure(&env.emulator, 0.2, 0.0, 7);
    let bin = Scratch::temp("installed-");
    let installed = Installed(bin.path().join("xtask"));
    std::fs::copy(xtask::binary(), &installed.0).expect("install the binary");
    let installed = installed.0.as_path();
    let app = env.app.dir();
    // The app is a scratch copy: never inside the workspace's sources (under `cargo xtask test`
    // TMPDIR is in target/, which holds no Cargo.toml the binary could lean on).
    let root = project_root();
    assert!(
        !app.starts_with(&root) || app.starts_with(root.join("target")),
        "{}",
        app.display()
    );

    let check = run(&env, installed, app, &with_cdk_args("check", &[], V1));
    let all = printed(&check);
    assert_eq!(check.status.code(), Some(3), "a guarded replacement: {all}");
    assert!(all.contains("VectorStoreCluster"), "{all}");

    let deploy_flags = ["--on-replace", "both", "--yes"];
    let deploy = run(
        &env,
        installed,
        app,
        &with_cdk_args("deploy", &deploy_flags, V1),
    );
    let all = printed(&deploy);
    assert_eq!(deploy.status.code(), Some(0), "{all}");
    assert!(all.contains("re-embedding every bot"), "{all}");

    let migrate = run(&env, installed, app, &["migrate", "--fresh", "--yes"]);
    let all = printed(&migrate);
    assert_eq!(migrate.status.code(), Some(0), "{all}");

    // `.xtask/` is where the commands ran: the app's directory, not the binary's.
    let state = app.join(".xtask").join(STACK);
    assert_eq!(
        state_files(app, "credentials-").len(),
        1,
        "{}",
        state.display()
    );
    assert_eq!(
        state_files(app, "replacement-").len(),
        1,
        "{}",
        state.display()
    );
    assert_eq!(state_files(app, "journal-").len(), 2, "{}", state.display());
    assert_eq!(state_files(app, "report-").len(), 2, "{}", state.display());
    assert!(!bin.path().join(".xtask").exists());
}

/// The installed copy, removed when the test ends, passed or failed: 50 MB the run's secret scan
/// (which reads every kept scratch file) need not read, a build output, nothing a test wrote (the
/// developer build links the harness, whose sentinel password the scan looks for).
struct Installed(PathBuf);

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
