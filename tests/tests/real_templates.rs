//! `cargo xtask check --template-diff` on the real `BedrockChatStack` templates of six Bedrock Chat
//! releases (`../shared/bedrock-chat-templates/`, see its README): each consecutive pair gives the
//! right words for what happens to the data, no pair reports a rename, and every resource's
//! verdict agrees with the CDK's own diff library (`@aws-cdk/cloudformation-diff`, pinned in
//! `tests/cfn-diff/`, installed by `cargo xtask setup`), or the difference is named here with
//! its reason. No emulator: `--template-diff` makes no AWS call.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;
use tests::project_root;
use tests::xtask::{binary, printed};

const RELEASES: [&str; 6] = ["v0.4.10", "v1.0.0", "v1.4.0", "v2.0.0", "v2.10.0", "v3.0.0"];

fn template(release: &str) -> PathBuf {
    let path = project_root()
        .join("../shared/bedrock-chat-templates")
        .join(release)
        .join("BedrockChatStack.template.json");
    assert!(
        path.exists(),
        "{} is missing: the real templates live in ../shared/bedrock-chat-templates/ beside the \
         workspace (see its README)",
        path.display()
    );
    path
}

fn pairs() -> impl Iterator<Item = (&'static str, &'static str)> {
    RELEASES
        .iter()
        .copied()
        .zip(RELEASES.iter().copied().skip(1))
}

/// `xtask check --template-diff OLD NEW ARGS`, with no terminal and no step summary.
fn check(old: &str, new: &str, args: &[&str]) -> Output {
    Command::new(binary())
        .arg("check")
        .arg("--template-diff")
        .args([template(old), template(new)])
        .args(args)
        .env_remove("GITHUB_STEP_SUMMARY")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run xtask check")
}

fn plan_of(old: &str, new: &str) -> Value {
    let out = check(old, new, &["--json"]);
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{old} -> {new}: no JSON plan ({e}):\n{}", printed(&out)))
}

fn resources(plan: &Value) -> &Vec<Value> {
    plan["resources"].as_array().expect("resources")
}

/// The impact cloudformation-diff gives every resource that differs: id -> (type, impact).
fn cfn_diff(old: &str, new: &str) -> BTreeMap<String, (String, String)> {
    let dir = project_root().join("tests/cfn-diff");
    assert!(
        dir.join("node_modules/@aws-cdk/cloudformation-diff")
            .exists(),
        "@aws-cdk/cloudformation-diff is not installed in {}: run `cargo xtask setup`",
        dir.display()
    );
    let out = Command::new("node")
        .arg(dir.join("impacts.js"))
        .args([template(old), template(new)])
        .output()
        .expect("run node (Node.js 20+ is required; see README.md)");
    assert!(out.status.success(), "impacts.js: {}", printed(&out));
    let json: BTreeMap<String, Value> = serde_json::from_slice(&out.stdout).expect("impacts JSON");
    json.into_iter()
        .map(|(id, v)| {
            let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
            (id, (s("type"), s("impact")))
        })
        .collect()
}

/// Our verdict in cloudformation-diff's vocabulary.
fn our_impact(v: &Value) -> &'static str {
    match (v["action"].as_str(), v["replacement"].as_str()) {
        (Some("Add"), _) => "WILL_CREATE",
        (Some("Remove"), _) if v["fate"] == "retained" => "WILL_ORPHAN",
        (Some("Remove"), _) => "WILL_DESTROY",
        (_, Some("will")) => "WILL_REPLACE",
        (_, Some("may")) => "MAY_REPLACE",
        (_, Some("no")) => "WILL_UPDATE",
        _ => "UNKNOWN",
    }
}

/// Where the two opinions differ, and why; `None` means they must agree. Every replacement,
/// creation, destruction and orphaning agrees on these pairs: the differences are all about
/// resources that neither opinion replaces.
fn known_difference(v: &Value, ours: &str, theirs: &str) -> Option<&'static str> {
    let ty = v["resource_type"].as_str().unwrap_or_default();
    let all_dynamic = v["causes"]
        .as_array()
        .is_some_and(|c| !c.is_empty() && c.iter().all(|c| c["evaluation"] == "Dynamic"));
    match (ours, theirs) {
        ("UNKNOWN", "NO_CHANGE") if ty.starts_with("Custom::") => Some(
            "a custom resource: cloudformation-diff has no spec for it and counts its property \
             changes as no change; the review says `unknown` (only its handler knows), which \
             gates nothing of an unguarded type",
        ),
        ("WILL_UPDATE", "NO_CHANGE") if ty == "AWS::CDK::Metadata" => {
            Some("the CDK's own bookkeeping resource: cloudformation-diff leaves it out")
        }
        ("WILL_UPDATE", "NO_CHANGE") if all_dynamic => Some(
            "its template text is unchanged, but a property refers to a replaced resource: \
             CloudFormation writes the new id or attribute in place (a Dynamic change in a \
             change set); cloudformation-diff compares the text only",
        ),
        _ => None,
    }
}

#[test]
fn every_pair_agrees_with_cloudformation_diff() {
    let mut differences = Vec::new();
    for (old, new) in pairs() {
        let plan = plan_of(old, new);
        let theirs = cfn_diff(old, new);
        let ours: BTreeMap<&str, &Value> = resources(&plan)
            .iter()
            .map(|v| (v["logical_id"].as_str().unwrap(), v))
            .collect();
        let ids: std::collections::BTreeSet<&str> = ours
            .keys()
            .copied()
            .chain(theirs.keys().map(String::as_str))
            .collect();
        for id in ids {
            let our = ours.get(id).map_or("NO_CHANGE", |v| our_impact(v));
            let their = theirs.get(id).map_or("NO_CHANGE", |(_, i)| i.as_str());
            if our == their {
                continue;
            }
            let verdict = ours.get(id).copied().unwrap_or(&Value::Null);
            match known_difference(verdict, our, their) {
                Some(reason) => {
                    differences.push(format!("{old}->{new} {id}: {our} vs {their}: {reason}"))
                }
                None => panic!(
                    "{old} -> {new}: {id}: the review says {our}, cloudformation-diff says {their}\nours: {verdict:#}"
                ),
            }
        }
    }
    // The named differences, for the test log.
    for d in &differences {
        eprintln!("known difference: {d}");
    }
}

/// `(logical id, data fate)` of each gating resource, sorted (the claim is which, not the order).
fn gating(plan: &Value) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = resources(plan)
        .iter()
        .filter(|v| gates(v))
        .map(|v| {
            (
                v["logical_id"].as_str().unwrap().to_owned(),
                v["data_fate"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    found.sort();
    found
}

fn gates(v: &Value) -> bool {
    v["guard"] != "none"
        && v.get("member_of").is_none()
        && (v["replacement"] == "will"
            || v["replacement"] == "may"
            || v["replacement"] == "unknown"
            || v["action"] == "Remove")
}

fn text_of(old: &str, new: &str) -> (Option<i32>, String) {
    let out = check(old, new, &[]);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn assert_has(text: &str, needle: &str) {
    assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
}

fn assert_lacks(text: &str, needle: &str) {
    assert!(!text.contains(needle), "unexpected {needle:?} in:\n{text}");
}

#[test]
fn each_pair_says_what_happens_to_the_data() {
    for (old, new) in pairs() {
        let plan = plan_of(old, new);
        let renamed: Vec<&Value> = resources(&plan)
            .iter()
            .filter(|v| v.get("renamed_to").is_some() || v.get("renamed_from").is_some())
            .collect();
        assert!(
            renamed.is_empty(),
            "{old} -> {new} reports a rename: {renamed:#?}"
        );
        let (_, text) = text_of(old, new);
        assert_lacks(&text, "(rename)");
        assert_lacks(&text, "renamed to");
    }

    // v0.4.10 -> v1.0.0: the cluster is replaced (StorageEncrypted); its writer follows it and
    // holds no data, so it has no line of its own.
    let plan = plan_of("v0.4.10", "v1.0.0");
    assert_eq!(
        gating(&plan),
        [(
            "VectorStoreClusterEFE7D2F8".to_owned(),
            "replaced".to_owned()
        )]
    );
    let writer = resources(&plan)
        .iter()
        .find(|v| v["logical_id"] == "VectorStoreClusterwriter113530F5")
        .expect("the writer");
    assert_eq!(writer["data_fate"], "follows_cluster");
    assert_eq!(writer["member_of"], "VectorStoreClusterEFE7D2F8");
    assert_eq!(plan["migration_needed"], true);
    let (code, text) = text_of("v0.4.10", "v1.0.0");
    assert_eq!(code, Some(3), "{text}");
    assert_has(
        &text,
        "REPLACEMENT: VectorStoreClusterEFE7D2F8 (AWS::RDS::DBCluster) will be replaced (StorageEncrypted): \
         a new, empty one takes its place and all vector items in the Aurora cluster stay with the old one; \
         the old one is deleted after a final snapshot (UpdateReplacePolicy Snapshot). \
         Run `cargo xtask migrate` after the deploy to re-embed every bot.",
    );
    assert_lacks(&text, "DATA LOSS");
    assert_lacks(&text, "may be deleted");

    // v1.0.0 -> v1.4.0: two buckets leave the stack (DeletionPolicy Delete); the new CodeBuild
    // bucket is an addition, not a rename of the API-publish bucket.
    let plan = plan_of("v1.0.0", "v1.4.0");
    assert_eq!(
        gating(&plan),
        [
            (
                "ApiPublishCodebuildApiPublishCodebuildBucket64F4A6B1".to_owned(),
                "destroyed".to_owned()
            ),
            ("DocumentBucketAE41E5A9".to_owned(), "destroyed".to_owned()),
        ]
    );
    let (code, text) = text_of("v1.0.0", "v1.4.0");
    assert_eq!(code, Some(3), "{text}");
    assert_has(
        &text,
        "DATA LOSS: DocumentBucketAE41E5A9 (AWS::S3::Bucket) is destroyed (removed from the template): \
         it is deleted and its data with it, no snapshot (DeletionPolicy Delete).",
    );
    assert_has(
        &text,
        "DATA LOSS: ApiPublishCodebuildApiPublishCodebuildBucket64F4A6B1 (AWS::S3::Bucket) is destroyed",
    );

    // v1.4.0 -> v2.0.0: the vector store and the embedding task leave the stack.
    let plan = plan_of("v1.4.0", "v2.0.0");
    assert_eq!(
        gating(&plan),
        [(
            "VectorStoreClusterEFE7D2F8".to_owned(),
            "destroyed_with_snapshot".to_owned()
        )]
    );
    assert_eq!(plan["migration_needed"], false);
    assert_eq!(
        plan["re_embed_target_removed"],
        serde_json::json!([
            "VectorStoreClusterEFE7D2F8",
            "EmbeddingTaskDefinitionF2F21A29"
        ])
    );
    let (code, text) = text_of("v1.4.0", "v2.0.0");
    assert_eq!(code, Some(3), "{text}");
    assert_has(
        &text,
        "SNAPSHOT ONLY: VectorStoreClusterEFE7D2F8 (AWS::RDS::DBCluster) is destroyed with a final snapshot \
         (removed from the template): it is deleted after a final snapshot (DeletionPolicy Snapshot): \
         all vector items in the Aurora cluster are kept only in that snapshot.",
    );
    assert_has(
        &text,
        "The new stack has no vector store (VectorStoreClusterEFE7D2F8, EmbeddingTaskDefinitionF2F21A29 removed): there is nothing to re-embed into.",
    );
    assert_has(&text, "cargo xtask restore --snapshot ID");
    assert_lacks(&text, "cargo xtask migrate");
    assert_lacks(&text, "REPLACEMENT:");
    assert_lacks(&text, "may be deleted");

    // v2.0.0 -> v2.10.0: nothing guarded is replaced or removed.
    let (code, text) = text_of("v2.0.0", "v2.10.0");
    assert_eq!(code, Some(0), "{text}");
    assert_has(&text, "no guarded resource is replaced or removed");

    // v2.10.0 -> v3.0.0: the conversation table (Retain) is orphaned; two new tables arrive.
    let plan = plan_of("v2.10.0", "v3.0.0");
    assert_eq!(
        gating(&plan),
        [(
            "DatabaseConversationTable03F3FD7A".to_owned(),
            "orphaned".to_owned()
        )]
    );
    let (code, text) = text_of("v2.10.0", "v3.0.0");
    assert_eq!(code, Some(3), "{text}");
    assert_has(
        &text,
        "ORPHANED: DatabaseConversationTable03F3FD7A (AWS::DynamoDB::Table) is orphaned (removed from the template): \
         it stays in the account with its data (DeletionPolicy Retain), but the stack no longer manages or uses it.",
    );
    assert_has(
        &text,
        "the app moves to new, empty tables (DatabaseBotTableV3201CEEA9, DatabaseConversationTableV3C1D85773)",
    );
    assert_has(&text, "copy its data to the new tables");
    assert_lacks(&text, "DATA LOSS");
    assert_lacks(&text, "UpdateReplacePolicy");
}

#[test]
fn markdown_puts_the_verdict_first_and_folds_the_table() {
    let out = check("v0.4.10", "v1.0.0", &["--format", "markdown"]);
    assert_eq!(out.status.code(), Some(3), "{}", printed(&out));
    let md = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = md.lines().collect();
    assert!(lines[0].starts_with("### :no_entry: `BedrockChatStack`: gated (exit 3), 1 guarded resource is replaced or removed"), "{md}");
    assert_eq!(
        lines[2], "| | resource | why | what happens to the data | what to do |",
        "{md}"
    );
    assert!(lines[4].starts_with("| **REPLACEMENT** | VectorStoreClusterEFE7D2F8 (AWS::RDS::DBCluster) | StorageEncrypted | will be replaced: "), "{md}");
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("| **")).count(),
        1,
        "one row per gating resource: {md}"
    );
    let details = lines
        .iter()
        .position(|l| l.starts_with("<details><summary>All "))
        .expect("details");
    assert!(details > 4, "the verdict comes before the table: {md}");
    assert_eq!(lines.last(), Some(&"</details>"), "{md}");
    let plan = plan_of("v0.4.10", "v1.0.0");
    let rows = lines[details..]
        .iter()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| resource"))
        .count();
    assert_eq!(
        rows,
        resources(&plan).len(),
        "every change in the folded table: {md}"
    );
}

/// A cell's `|` would split the row and `<` open an HTML tag: both are escaped.
#[test]
fn markdown_escapes_pipes_and_angle_brackets() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, value: &str| {
        let path = dir.path().join(name);
        let t = serde_json::json!({"Resources": {"Store": {
            "Type": "AWS::Example::Store",
            "Properties": {"a|b<script>": value}
        }}});
        std::fs::write(&path, t.to_string()).unwrap();
        path
    };
    let (old, new) = (write("old.json", "1"), write("new.json", "2"));
    let out = Command::new(binary())
        .args([
            "check",
            "--format",
            "markdown",
            "--guard",
            "AWS::Example::Store",
            "--template-diff",
        ])
        .args([&old, &new])
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", printed(&out));
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(md.contains("a\\|b&lt;script&gt;"), "{md}");
    assert!(!md.contains("<script"), "{md}");
    for line in md.lines().filter(|l| l.starts_with("| ")) {
        let cells = line.replace("\\|", "").matches('|').count();
        assert!(
            cells == 6 || cells == 7,
            "a row split by an unescaped pipe: {line}\n{md}"
        );
    }
}

/// `GITHUB_STEP_SUMMARY` gets the same comment appended, whatever the format.
#[test]
fn check_appends_the_comment_to_the_step_summary() {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.md");
    std::fs::write(&summary, "earlier step\n").unwrap();
    let out = Command::new(binary())
        .args(["check", "--json", "--template-diff"])
        .args([template("v2.10.0"), template("v3.0.0")])
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", printed(&out));
    serde_json::from_slice::<Value>(&out.stdout).expect("stdout is still one JSON document");
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(text.starts_with("earlier step\n### :no_entry:"), "{text}");
    assert!(
        text.contains("| **ORPHANED** | DatabaseConversationTable03F3FD7A"),
        "{text}"
    );
}

/// At a 100-column terminal, the real v0.4.10 -> v1.0.0 plan fits: no line is wider, and no id,
/// type or property name is cut to get there.
#[test]
fn the_plan_fits_a_100_column_terminal() {
    let mut command = Command::new("sh");
    command
        .args(["-c", "stty cols 100 rows 50 && exec \"$0\" \"$@\""])
        .arg(binary())
        .args(["check", "--template-diff"])
        .args([template("v0.4.10"), template("v1.0.0")])
        .env("TERM", "xterm-256color")
        .env_remove("GITHUB_STEP_SUMMARY");
    let mut session =
        rexpect::session::spawn_command(command, Some(120_000)).expect("spawn in a pty");
    let output = session.exp_eof().expect("the plan, to the end");
    let plain = strip_ansi(&output);
    let lines: Vec<&str> = plain.lines().map(|l| l.trim_end_matches('\r')).collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("REPLACEMENT: VectorStoreClusterEFE7D2F8")),
        "{plain}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("other changes (not guarded)")),
        "{plain}"
    );
    let widest = lines.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    assert!(widest <= 100, "a line of {widest} columns:\n{plain}");
    // Nothing an operator reads or copies is cut in two to fit.
    for whole in [
        "ApiPublishCodebuildApiPublishCodebuildBucket64F4A6B1",
        "VectorStoreClusterwriter113530F5",
        "AWS::RDS::DBInstance",
        "LoggingConfiguration",
    ] {
        assert!(plain.contains(whole), "{whole} cut:\n{plain}");
    }
    assert!(
        lines.len() < 40,
        "{} lines: the other changes are summarized:\n{plain}",
        lines.len()
    );
}

/// Removes ANSI escape sequences (`ESC [ ... letter`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
