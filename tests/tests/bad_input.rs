//! Every wrong input a user can give: a clear, specific message, a non-zero exit, and nothing
//! executed, deleted or launched. One table, one emulator with the fixture deployed at v0.

use std::path::Path;

use tests::deployed::{FAST, deployed_with_bots};
use tests::seed::SeedPlan;
use tests::task_runner;
use tests::xtask::{binary, printed};

#[path = "bad_input/given.rs"]
mod given;

use given::{FOREIGN_STATE, Given, TAKEN_STATE, given, state_files};

/// One wrong input: the arguments, what to change in the environment, the exit code and a piece
/// of the message the user must see.
struct Case {
    name: &'static str,
    args: &'static [&'static str],
    /// Extra variables; a value of `None` removes the variable.
    env: &'static [(&'static str, Option<&'static str>)],
    /// What is on disk before the run (and must be exactly so after it).
    given: Given,
    exit: i32,
    message: &'static str,
}

const V1: &str = "release=v1";

const CASES: &[Case] = &[
    Case {
        name: "stack not found (outputs)",
        args: &["outputs", "--stack", "NoSuchStack"],
        env: &[],
        given: Given::Nothing,
        exit: 1,
        message: "stack NoSuchStack not found",
    },
    Case {
        name: "stack not found (migrate)",
        args: &["migrate", "--stack", "NoSuchStack", "--yes"],
        env: &[],
        given: Given::Nothing,
        exit: 1,
        message: "stack NoSuchStack not found",
    },
    Case {
        name: "wrong region",
        args: &["outputs", "--region", "eu-west-3"],
        env: &[],
        given: Given::Nothing,
        exit: 1,
        message: "stack BedrockChatStack not found",
    },
    Case {
        name: "app dir without cdk.json",
        args: &["check", "--app-dir", "/"],
        env: &[],
        given: Given::Nothing,
        exit: 1,
        message: "has no cdk.json: pass the CDK app directory",
    },
    Case {
        name: "app dir without cdk.json (deploy)",
        args: &["deploy", "--app-dir", "/", "--on-replace", "both"],
        env: &[],
        given: Given::Nothing,
        exit: 1,
        message: "has no cdk.json: pass the CDK app directory",
    },
    Case {
        name: "npx missing",
        args: &["check"],
        env: &[("PATH", Some("/nonexistent"))],
        given: Given::Nothing,
        exit: 1,
        message: "npx not found on PATH: install Node.js",
    },
    Case {
        name: "a CDK synth error",
        args: &["check", "--", "-c", "release=v9"],
        env: &[],
        given: Given::Nothing,
        exit: 1,
        message: "unknown release 'v9'",
    },
    Case {
        name: "no credentials",
        args: &["outputs"],
        env: &[("AWS_ACCESS_KEY_ID", None), ("AWS_SECRET_ACCESS_KEY", None)],
        given: Given::Nothing,
        exit: 1,
        message: "no AWS credentials",
    },
    Case {
        name: "the table missing",
        args: &["migrate", "--table", "no-such-table", "--yes"],
        env: &[],
        given: Given::Nothing,
        exit: 1,
        message: "table no-such-table not found",
    },
    Case {
        name: "the task definition missing",
        args: &["migrate", "--task-definition", "no-such-family", "--yes"],
        env: &[],
        given: Given::Nothing,
        exit: 1,
        message: "task definition no-such-family not found",
    },
    Case {
        name: "a task definition without the container",
        args: &["migrate", "--container", "Embedder", "--yes"],
        env: &[],
        given: Given::Nothing,
        exit: 1,
        message: "has no container named Embedder",
    },
    Case {
        name: "--describe-file that is not JSON",
        args: &["check", "--describe-file", "not-json.txt"],
        env: &[],
        given: Given::Nothing,
        exit: 1,
        message: "not-json.txt",
    },
    Case {
        name: "--describe-file that is not a change set",
        args: &["check", "--describe-file", "package.json"],
        env: &[],
        given: Given::Nothing,
        exit: 1,
        message: "not `aws cloudformation describe-change-set` output",
    },
    Case {
        name: "--template-diff with a non-template",
        args: &["check", "--template-diff", "package.json", "cdk.json"],
        env: &[],
        given: Given::Nothing,
        exit: 1,
        message: "not a CloudFormation template",
    },
    Case {
        name: "a prompt needed with no terminal",
        args: &["deploy", "--", "-c", V1, "--no-previous-parameters"],
        env: &[],
        given: Given::Nothing,
        exit: 3,
        message: "pass --on-replace snapshot|credentials|both|proceed|abort",
    },
    Case {
        name: "a journal of another stack and target (--resume)",
        args: &["migrate", "--resume", "--yes", "--state-dir", FOREIGN_STATE],
        env: &[],
        given: Given::ForeignJournal,
        // Not resumed, not written to, and no new run either: that run's tasks may still be
        // running, and a new run (another `startedBy`) would give their bots a second task.
        exit: 1,
        message: "belongs to another migration target (1 bots launched or launching)",
    },
    Case {
        name: "a credential file path that already exists",
        args: &[
            "deploy",
            "--state-dir",
            TAKEN_STATE,
            "--on-replace",
            "credentials",
            "--yes",
            "--",
            "-c",
            V1,
            "--no-previous-parameters",
        ],
        env: &[],
        given: Given::CredentialFilesTaken,
        exit: 1,
        message: "already exists: a record is never overwritten",
    },
    Case {
        name: "a launch confirmation needed with no terminal",
        args: &["migrate"],
        env: &[],
        given: Given::Nothing,
        exit: 2,
        message: "pass --yes to launch",
    },
];

#[tokio::test(flavor = "multi_thread")]
async fn every_bad_input_gets_a_clear_message_a_non_zero_exit_and_nothing_done() {
    let seed = SeedPlan {
        with_knowledge: 3,
        ..SeedPlan::default()
    };
    let (env, _) = deployed_with_bots(seed).await;
    task_runner::configure(&env.emulator, 0.1, 0.0, 5);
    std::fs::write(env.app.dir().join("not-json.txt"), "this is not JSON").unwrap();
    let mut wrong = Vec::new();
    for case in CASES {
        let before = given(case.given, env.app.dir());
        let mut command = env.emulator.command(binary());
        command
            .args(case.args)
            .current_dir(env.app.dir())
            .envs(FAST.iter().copied())
            .stdin(std::process::Stdio::null());
        for (key, value) in case.env {
            match value {
                Some(v) => command.env(key, v),
                None => command.env_remove(key),
            };
        }
        let run = command.output().expect("run xtask");
        let stderr = String::from_utf8_lossy(&run.stderr);
        if run.status.code() != Some(case.exit) || !stderr.contains(case.message) {
            wrong.push(format!(
                "{}: expected exit {} and {:?}\n{}",
                case.name,
                case.exit,
                case.message,
                printed(&run)
            ));
        }
        let after = state_files(case.given, env.app.dir());
        if after != before {
            wrong.push(format!(
                "{}: the state directory changed: {} file(s) before, {} after; changed or new: {:?}",
                case.name,
                before.len(),
                after.len(),
                after
                    .iter()
                    .filter(|(path, bytes)| before.get(*path) != Some(*bytes))
                    .map(|(path, _)| path)
                    .collect::<Vec<_>>()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
    assert_nothing_done(&env, env.app.dir()).await;
}

/// No task was launched, the stack is still at v0 with no change set left, no state file.
async fn assert_nothing_done(env: &tests::deployed::Deployed, dir: &Path) {
    let started = task_runner::started_per_bot(&env.emulator);
    assert!(started.is_empty(), "tasks were launched: {started:?}");
    assert_eq!(env.change_set_count().await, 0, "change sets left behind");
    assert!(!env.clusters_encrypted().await, "the stack moved to v1");
    let recorded = tests::deployed::state_files(dir, "credentials-");
    assert!(recorded.is_empty(), "no credentials recorded: {recorded:?}");
}

/// `.xtask/` will hold credential files: inside a git work tree that does not ignore it, deploy
/// says so before anything else; once it is ignored, it is quiet.
#[test]
fn deploy_warns_when_the_state_directory_is_not_git_ignored() {
    let emulator = tests::Emulator::start();
    let app = tests::FixtureApp::new();
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(app.dir())
            .output()
            .expect("git (needed by this test)");
        assert!(out.status.success(), "{}", printed(&out));
    };
    git(&["init", "-q"]);
    let warning = "is inside a git work tree and not ignored";
    let run = tests::xtask::run(&emulator, app.dir(), &["deploy", "--app-dir", "/"]);
    assert_eq!(run.status.code(), Some(1), "{}", printed(&run));
    assert!(
        String::from_utf8_lossy(&run.stderr).contains(warning),
        "{}",
        printed(&run)
    );
    std::fs::write(app.dir().join(".gitignore"), ".xtask/\n").unwrap();
    let run = tests::xtask::run(&emulator, app.dir(), &["deploy", "--app-dir", "/"]);
    assert!(
        !String::from_utf8_lossy(&run.stderr).contains(warning),
        "{}",
        printed(&run)
    );
}
