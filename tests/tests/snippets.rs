//! The pipeline snippets of `docs/pipelines.md` are valid: the GitHub Actions workflow parses as
//! YAML and has the expected jobs and commands, the CDK Pipelines stack type-checks with `tsc`
//! against the fixture app's `aws-cdk-lib`, and the page quotes both files verbatim.
//!
//! No emulator: these tests only need what `cargo xtask setup` installs (the fixture app's
//! `node_modules`, with `typescript`, and the emulator's Python venv, which has PyYAML).

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use serde_json::Value;
use tests::project_root;

const WORKFLOW: &str = "docs/snippets/github-actions.yml";
const PIPELINE_STACK: &str = "docs/snippets/pipeline-stack.ts";
const TSCONFIG: &str = "docs/snippets/tsconfig.json";

fn read(relative: &str) -> String {
    let path = project_root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn require_setup(path: &Path, what: &str) {
    assert!(
        path.exists(),
        "{what} is missing ({}): run `cargo xtask setup` (or `cargo xtask test`)",
        path.display()
    );
}

fn output_text(output: &std::process::Output) -> String {
    format!(
        "--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn pipeline_stack_snippet_compiles_with_tsc() {
    let fixture = project_root().join("tests/fixtures/bedrock-chat");
    let node_modules = fixture.join("node_modules");
    // Run typescript's own entry point, not `npx tsc`: without a local typescript, npx would
    // fetch the unrelated `tsc` package from the registry.
    let tsc = node_modules.join("typescript/bin/tsc");
    require_setup(
        &node_modules.join("aws-cdk-lib"),
        "the fixture app's aws-cdk-lib",
    );
    require_setup(&tsc, "the fixture app's typescript");
    let tsconfig = project_root().join(TSCONFIG);
    let output = Command::new("node")
        .arg(&tsc)
        .args(["--noEmit", "--pretty", "false", "-p"])
        .arg(&tsconfig)
        .current_dir(&fixture)
        .output()
        .expect("run node (Node.js 20+ is required; see README.md)");
    assert!(
        output.status.success(),
        "tsc rejected {PIPELINE_STACK} ({}):\n{}",
        output.status,
        output_text(&output)
    );
}

/// The workflow as JSON, loaded by PyYAML's `safe_load` (YAML 1.1, as GitHub's parser reads it).
fn workflow() -> Value {
    let python = project_root().join("target/emulator-venv/bin/python");
    require_setup(&python, "the emulator's Python venv (it has PyYAML)");
    let path: PathBuf = project_root().join(WORKFLOW);
    let output = Command::new(&python)
        .args([
            "-c",
            "import json, sys, yaml\n\
             with open(sys.argv[1], encoding='utf-8') as f:\n    \
                 doc = yaml.safe_load(f)\n\
             print(json.dumps(doc))",
        ])
        .arg(&path)
        .output()
        .expect("run the venv's python");
    assert!(
        output.status.success(),
        "{WORKFLOW} does not parse as YAML:\n{}",
        output_text(&output)
    );
    serde_json::from_slice(&output.stdout).expect("PyYAML's document as JSON")
}

/// Every `run:` of a job, in order.
fn runs(job: &Value) -> Vec<&str> {
    job["steps"]
        .as_array()
        .expect("the job has steps")
        .iter()
        .filter_map(|step| step["run"].as_str())
        .collect()
}

/// The step of a job that uses `action` (e.g. `actions/upload-artifact@v4`).
fn uses<'a>(job: &'a Value, action: &str) -> Vec<&'a Value> {
    job["steps"]
        .as_array()
        .expect("the job has steps")
        .iter()
        .filter(|step| step["uses"].as_str() == Some(action))
        .collect()
}

#[test]
fn github_actions_snippet_parses_and_has_the_expected_shape() {
    let doc = workflow();
    // YAML 1.1 reads the key `on` as the boolean true; json.dumps writes it as "true".
    let on = doc
        .get("on")
        .or_else(|| doc.get("true"))
        .unwrap_or_else(|| panic!("the workflow has no `on`: {doc:#}"));
    assert!(on.get("pull_request").is_some(), "on: pull_request: {on:#}");
    assert_eq!(
        on["push"]["branches"],
        serde_json::json!(["main"]),
        "on: push to main: {on:#}"
    );

    let jobs = &doc["jobs"];
    let check = &jobs["check"];
    let deploy = &jobs["deploy"];
    assert!(check.is_object(), "a `check` job: {jobs:#}");
    assert!(deploy.is_object(), "a `deploy` job: {jobs:#}");

    // check: the gate on pull requests, with an OIDC role, and the plan as an artifact.
    assert!(
        check["if"]
            .as_str()
            .unwrap_or_default()
            .contains("pull_request"),
        "check runs on pull requests: {check:#}"
    );
    assert!(
        runs(check).iter().any(|r| r.contains("cargo xtask check")
            && r.contains("--app-dir cdk")
            && r.contains("--format markdown")
            && r.contains("> replacement-plan.md")),
        "check runs `cargo xtask check --app-dir cdk --format markdown > replacement-plan.md`: {:?}",
        runs(check)
    );
    // The review is posted on the pull request, also when the check gated (exit 3), and the job
    // fails afterwards with the check's own exit code.
    let steps = check["steps"].as_array().expect("steps");
    let post = steps
        .iter()
        .position(|s| {
            s["run"].as_str().is_some_and(|r| {
                r.contains("gh pr comment") && r.contains("--body-file replacement-plan.md")
            })
        })
        .unwrap_or_else(|| {
            panic!("a step posts replacement-plan.md with `gh pr comment`: {check:#}")
        });
    assert_eq!(
        steps[post]["if"], "always()",
        "posted when the check fails too"
    );
    assert!(
        steps[post]["env"]["GH_TOKEN"].is_string(),
        "gh needs the token: {:#}",
        steps[post]
    );
    assert_eq!(
        check["permissions"]["pull-requests"], "write",
        "to comment: {check:#}"
    );
    let fail = steps
        .iter()
        .position(|s| {
            s["run"]
                .as_str()
                .is_some_and(|r| r.contains("steps.check.outputs.status"))
        })
        .unwrap_or_else(|| panic!("a last step exits with the check's status: {check:#}"));
    assert!(
        fail > post,
        "the job fails only after the comment is posted: {check:#}"
    );
    for job in [check, deploy] {
        assert_eq!(job["permissions"]["id-token"], "write", "OIDC: {job:#}");
        let aws = uses(job, "aws-actions/configure-aws-credentials@v4");
        assert_eq!(aws.len(), 1, "configure-aws-credentials: {job:#}");
        assert!(aws[0]["with"]["role-to-assume"].is_string(), "{job:#}");
        assert_eq!(uses(job, "actions/setup-node@v4").len(), 1, "{job:#}");
        assert_eq!(
            uses(job, "dtolnay/rust-toolchain@stable").len(),
            1,
            "{job:#}"
        );
    }
    let plan = uses(check, "actions/upload-artifact@v4");
    assert_eq!(plan.len(), 1, "check uploads the plan: {check:#}");
    assert_eq!(plan[0]["if"], "always()", "also when the check fails");

    // The offline variant for forks: no AWS call.
    let offline = &jobs["check-offline"];
    assert!(
        runs(offline)
            .iter()
            .any(|r| r.contains("cargo xtask check") && r.contains("--template-diff")),
        "check-offline runs `cargo xtask check --template-diff`: {offline:#}"
    );
    assert!(
        uses(offline, "aws-actions/configure-aws-credentials@v4").is_empty(),
        "check-offline has no AWS access: {offline:#}"
    );

    // deploy: on push to main, approved through an environment, non-interactive.
    assert!(
        deploy["if"].as_str().unwrap_or_default().contains("push"),
        "deploy runs on push: {deploy:#}"
    );
    assert_eq!(deploy["environment"], "production", "{deploy:#}");
    assert!(
        runs(deploy).iter().any(|r| r.contains("cargo xtask deploy")
            && r.contains("--app-dir cdk")
            && r.contains("--on-replace both")
            && r.contains("--yes")),
        "deploy runs `cargo xtask deploy --app-dir cdk --on-replace both --yes`: {:?}",
        runs(deploy)
    );
    // The reports go up, the credential files (the database password) never.
    let reports = uses(deploy, "actions/upload-artifact@v4");
    assert_eq!(reports.len(), 1, "deploy uploads the reports: {deploy:#}");
    let with = &reports[0]["with"];
    let paths: Vec<&str> = with["path"]
        .as_str()
        .expect("a path")
        .lines()
        .map(str::trim)
        .collect();
    assert!(paths.contains(&".xtask/"), "uploads .xtask/: {paths:?}");
    assert!(
        paths.contains(&"!.xtask/**/credentials-*.json"),
        "excludes the credential files: {paths:?}"
    );
    assert_eq!(
        with["include-hidden-files"], true,
        "`.xtask/` is hidden: upload-artifact skips it without include-hidden-files"
    );
}

/// The contents of every fenced block of a Markdown page opened with "```" + `lang`.
fn fenced_blocks(markdown: &str, lang: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match current.as_mut() {
            None if line.trim_end() == format!("```{lang}") => current = Some(String::new()),
            None => {}
            Some(_) if line.trim_end() == "```" => blocks.push(current.take().unwrap()),
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
        }
    }
    blocks
}

/// The page that shows the pipelines (README links to it).
const PIPELINES_PAGE: &str = "docs/pipelines.md";

#[test]
fn the_pipelines_page_embeds_the_snippets_verbatim() {
    let page = read(PIPELINES_PAGE);
    for (file, lang) in [(WORKFLOW, "yaml"), (PIPELINE_STACK, "typescript")] {
        let snippet = read(file);
        let blocks = fenced_blocks(&page, lang);
        assert!(
            blocks.iter().any(|b| b.contains(snippet.trim_end())),
            "{PIPELINES_PAGE} has no ```{lang} block that contains {file} verbatim \
             ({} ```{lang} blocks); paste the file into {PIPELINES_PAGE} again",
            blocks.len()
        );
    }
}
