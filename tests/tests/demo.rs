//! `cargo xtask demo`, the README's first command: end to end on the emulator, without a terminal
//! (as CI runs it) and in a real terminal where a person answers the prompt with the arrow keys.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};

use rexpect::session::spawn_command;
use tests::project_root;
use tests::xtask::{binary, printed};

/// The files git would see as new or changed (ignored ones, like target/, excluded).
fn worktree_changes() -> BTreeSet<String> {
    let out = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=all"])
        .current_dir(project_root())
        .output()
        .expect("git status (git is needed for this test)");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The demo as a new user runs it: no AWS settings of their own leak in.
fn demo(dir: &str) -> Command {
    let mut command = Command::new(binary());
    command
        .args(["demo", "--dir", dir])
        .current_dir(project_root())
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL");
    command
}

#[test]
fn the_demo_runs_end_to_end_without_a_terminal() {
    let before = worktree_changes();
    let run = demo("target/demo-test-batch")
        .env("CI", "true")
        .stdin(Stdio::null())
        .output()
        .expect("run the demo");
    let all = printed(&run);
    assert_eq!(run.status.code(), Some(0), "{all}");
    for step in [
        "starting the local AWS emulator",
        "deploying the fixture Bedrock Chat app at v0",
        "seeding the conversation table",
        "taking --on-replace both --yes",
        "REPLACEMENT: VectorStoreCluster",
        "manual snapshot",
        "credentials recorded",
        "re-embedding every bot",
        "failed on purpose: retrying only them",
        "succeeded 48  failed 0",
        "demo done",
    ] {
        assert!(all.contains(step), "missing {step:?} in:\n{all}");
    }
    assert_eq!(
        worktree_changes(),
        before,
        "the demo writes nothing outside target/ and .xtask/"
    );
}

#[test]
fn the_v3_demo_upgrades_backs_up_and_copies_the_tables() {
    let run = demo("target/demo-test-v3")
        .arg("--v3")
        .env("CI", "true")
        .stdin(Stdio::null())
        .output()
        .expect("run the v3 demo");
    let all = printed(&run);
    assert_eq!(run.status.code(), Some(0), "{all}");
    for step in [
        "deploying the fixture Bedrock Chat app at v2",
        "seeding the v2 conversation table in the app's own v2.10 item shapes",
        "ORPHANED: DatabaseConversationTable03F3FD7A",
        "is available",
        "source the v2 conversation table",
        "migration the app moved to the v3 tables",
        "verified every item is in the new tables",
        "demo done",
    ] {
        assert!(all.contains(step), "missing {step:?} in:\n{all}");
    }
    // README and docs/upgrading-v2-v3.md show this run's counts: they are what it prints.
    for doc in ["README.md", "docs/upgrading-v2-v3.md"] {
        let text = std::fs::read_to_string(project_root().join(doc)).unwrap();
        let shown: Vec<&str> = text
            .lines()
            .filter(|l| {
                [
                    "conversation ",
                    "related_document ",
                    "bot ",
                    "alias ",
                    "verified ",
                ]
                .iter()
                .any(|start| l.starts_with(start))
            })
            .collect();
        assert_eq!(
            shown.len(),
            5,
            "{doc} shows the counts and the verification"
        );
        for line in shown {
            assert!(
                all.contains(line),
                "{doc} shows {line:?}; the demo printed:\n{all}"
            );
        }
    }
}

#[test]
fn in_a_terminal_the_demo_asks_and_a_person_answers_with_the_arrow_keys() {
    let mut command = demo("target/demo-test-terminal");
    command.env_remove("CI").env("TERM", "xterm-256color");
    let mut session = spawn_command(command, Some(300_000)).expect("spawn the demo in a pty");
    session
        .exp_string("What now?")
        .expect("the replacement prompt");
    session
        .exp_string("Abort: execute nothing")
        .expect("the whole menu");
    // From the default (Abort, the last of five) up to "snapshot and credentials".
    for _ in 0..4 {
        session.send("\x1b[A").unwrap();
    }
    session.send("\r").unwrap();
    session.flush().unwrap();
    session
        .exp_string("credentials recorded")
        .expect("both safeguards taken");
    session
        .exp_string("Launch embedding tasks")
        .expect("the launch confirmation");
    session.send("y").unwrap();
    session.flush().unwrap();
    session.exp_string("launched").expect("the progress bars");
    let rest = session.exp_eof().expect("the demo ends");
    assert!(rest.contains("demo done"), "{rest}");
    match session.process().wait().expect("wait") {
        nix::sys::wait::WaitStatus::Exited(_, code) => assert_eq!(code, 0, "{rest}"),
        other => panic!("the demo did not exit: {other:?}"),
    }
}
