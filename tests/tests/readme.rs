//! Every command README.md shows in a ```` ```sh tested ```` block runs against the emulator, in
//! order, in one fixture app deployed at v0 with bots seeded, and ends with the exit code the
//! README states (`# exit N` after the command; 0 otherwise). Every command of its other ```` ```sh
//! ```` blocks is one that another test or CI runs ([`HELD_ELSEWHERE`]): the demo by `demo.rs`, the
//! test command by `.ci/run` (checked here), the install by `installed.rs`. The pipeline snippets
//! (in `docs/pipelines.md`) are checked by `snippets.rs`.

use tests::deployed::{FAST, deployed_with_bots};
use tests::seed::SeedPlan;
use tests::xtask::{self, printed};
use tests::{project_root, task_runner};

/// One command of a tested block: its words after `cargo xtask`, and the exit code expected.
#[derive(Debug)]
struct ReadmeCommand {
    line: String,
    args: Vec<String>,
    exit: i32,
}

fn tested_commands(readme: &str) -> Vec<ReadmeCommand> {
    let mut commands = Vec::new();
    let mut in_tested = false;
    for line in readme.lines() {
        let trimmed = line.trim();
        if let Some(info) = trimmed.strip_prefix("```") {
            in_tested = !in_tested && info.trim() == "sh tested";
            continue;
        }
        if !in_tested || trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let (command, comment) = trimmed.split_once('#').unwrap_or((trimmed, ""));
        let exit = comment
            .trim()
            .strip_prefix("exit ")
            .map(|n| n.trim().parse().expect("`# exit N` with a number"))
            .unwrap_or(0);
        let words: Vec<String> = command.split_whitespace().map(str::to_owned).collect();
        assert!(
            words.len() >= 2 && words[0] == "cargo" && words[1] == "xtask",
            "a tested README command must be `cargo xtask ...`: {line}"
        );
        commands.push(ReadmeCommand {
            line: trimmed.to_owned(),
            args: words[2..].to_vec(),
            exit,
        });
    }
    commands
}

#[tokio::test(flavor = "multi_thread")]
async fn every_tested_readme_command_runs_against_the_emulator() {
    let readme = std::fs::read_to_string(project_root().join("README.md")).unwrap();
    let commands = tested_commands(&readme);
    assert!(
        commands.len() >= 5,
        "README has too few tested commands: {commands:?}"
    );
    let seed = SeedPlan {
        with_knowledge: 5,
        without_knowledge: 2,
        aliases: 1,
        ..SeedPlan::default()
    };
    let (env, _) = deployed_with_bots(seed).await;
    task_runner::configure(&env.emulator, 0.1, 0.0, 11);
    for command in &commands {
        let mut args: Vec<&str> = command.args.iter().map(String::as_str).collect();
        // moto mishandles UsePreviousValue on stack updates (docs/emulator.md); real AWS
        // needs no such flag, so the README does not show it.
        if args.contains(&"--") {
            args.push("--no-previous-parameters");
        }
        let run = xtask::run_with(&env.emulator, env.app.dir(), &args, FAST);
        assert_eq!(
            run.status.code(),
            Some(command.exit),
            "README command `{}`:\n{}",
            command.line,
            printed(&run)
        );
    }
}

#[test]
fn the_readme_parser_reads_exit_codes_and_skips_other_blocks() {
    let text = "```sh\ncargo xtask demo\n```\n```sh tested\n# a comment\ncargo xtask check -- -c release=v1   # exit 3\ncargo xtask outputs\n```\n";
    let commands = tested_commands(text);
    assert_eq!(commands.len(), 2, "{commands:?}");
    assert_eq!(commands[0].args, ["check", "--", "-c", "release=v1"]);
    assert_eq!(commands[0].exit, 3);
    assert_eq!(commands[1].exit, 0);
}

/// README's commands outside the tested blocks, and what runs each.
const HELD_ELSEWHERE: [(&str, &str); 3] = [
    ("cargo xtask demo", "tests/tests/demo.rs runs the demo"),
    ("cargo xtask test", ".ci/run runs it (see the test below)"),
    (
        "cargo install --locked --path xtask --no-default-features",
        "tests/tests/installed.rs runs an installed copy; .ci/run lints that build",
    ),
];

/// The command lines of README's plain ```` ```sh ```` blocks (indented ones too).
fn untested_commands(readme: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut in_block = false;
    for line in readme.lines() {
        let trimmed = line.trim();
        if let Some(info) = trimmed.strip_prefix("```") {
            in_block = !in_block && info.trim() == "sh";
            continue;
        }
        if in_block && !trimmed.is_empty() && !trimmed.starts_with('#') {
            commands.push(trimmed.to_owned());
        }
    }
    commands
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(project_root().join(relative)).unwrap()
}

#[test]
fn every_other_readme_command_is_run_by_another_test_or_ci() {
    let commands = untested_commands(&read("README.md"));
    assert!(
        commands.iter().any(|c| c == "cargo xtask test"),
        "{commands:?}"
    );
    let unheld: Vec<&String> = commands
        .iter()
        .filter(|c| !HELD_ELSEWHERE.iter().any(|(held, _)| c == held))
        .collect();
    assert!(
        unheld.is_empty(),
        "README shows these commands in ```sh blocks and nothing runs them: put them in a \
         ```sh tested block, or add them to readme.rs's HELD_ELSEWHERE with the test that \
         runs them:\n{unheld:#?}"
    );
}

#[test]
fn ci_runs_the_test_command_readme_shows() {
    let ci = read(".ci/run");
    assert!(
        ci.lines().any(|line| line.trim() == "cargo xtask test"),
        ".ci/run does not run `cargo xtask test`, the command README says CI runs:\n{ci}"
    );
}
