//! `cargo xtask check --template-diff` on the real `BedrockChatStack` templates of twelve Bedrock
//! Chat releases (`tests/real-templates/`, see its README): each consecutive pair, and the upgrades
//! that skip releases where the words matter, gives the right words for what happens to the data
//! and claims nothing the templates and the app's files do not show (no table named as where the
//! data moves without evidence, no migration guide that is not there); no pair reports a rename;
//! and every resource's verdict agrees with the CDK's own diff library
//! (`@aws-cdk/cloudformation-diff`, pinned in `tests/cfn-diff/`, installed by `cargo xtask
//! setup`), or the difference is named here with its reason. No emulator: `--template-diff`
//! makes no AWS call.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;
use tests::project_root;
use tests::xtask::{binary, printed};

/// Every release under `tests/real-templates/`, oldest first.
const RELEASES: [&str; 12] = [
    "v0.1.0", "v0.2.4", "v0.3.0", "v0.4.0", "v0.4.2", "v0.4.10", "v1.0.0", "v1.4.0", "v2.0.0",
    "v2.10.0", "v3.0.0", "v3.17.0",
];

/// Upgrades that skip releases, where the words could say more than the templates show: the
/// conversation table replaced (new key schema) while the websocket session table arrives beside
/// it, and the v3 tables reached from v2 at the newest release.
const JUMPS: [(&str, &str); 4] = [
    ("v0.1.0", "v0.3.0"),
    ("v0.2.4", "v0.4.2"),
    ("v0.2.4", "v0.4.10"),
    ("v2.10.0", "v3.17.0"),
];

/// The conversation table's logical id (the same in every release that has it).
const CONVERSATION: &str = "DatabaseConversationTable03F3FD7A";

fn release_dir(release: &str) -> PathBuf {
    project_root().join("tests/real-templates").join(release)
}

fn template(release: &str) -> PathBuf {
    let path = release_dir(release).join("BedrockChatStack.template.json");
    assert!(path.exists(), "{} is missing", path.display());
    path
}

/// The release's CDK app directory as the tool sees it: its `cdk.json`, and beside it the
/// release's `docs/migration/` guides when the release has them.
fn app_dir(release: &str) -> PathBuf {
    release_dir(release).join("cdk")
}

fn consecutive() -> impl Iterator<Item = (&'static str, &'static str)> {
    RELEASES
        .iter()
        .copied()
        .zip(RELEASES.iter().copied().skip(1))
}

fn pairs() -> impl Iterator<Item = (&'static str, &'static str)> {
    consecutive().chain(JUMPS)
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

fn verdict<'a>(plan: &'a Value, id: &str) -> &'a Value {
    resources(plan)
        .iter()
        .find(|v| v["logical_id"] == id)
        .unwrap_or_else(|| panic!("{id} not in the plan"))
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
        .expect("run node (Node.js 20+ is required)");
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
        ("UNKNOWN", "WILL_UPDATE") if ty.starts_with("Custom::") => Some(
            "a custom resource whose properties change: cloudformation-diff takes it as an update; \
             the review says `unknown` (only its handler knows whether it returns a new physical \
             id, which CloudFormation treats as a replacement), which gates nothing of an \
             unguarded type",
        ),
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
    text_with(old, new, &[])
}

/// The review as a person reads it, with `--app-dir` set to the new release's app directory
/// (the checkout being deployed).
fn text_in_app(old: &str, new: &str) -> (Option<i32>, String) {
    let app = app_dir(new);
    text_with(old, new, &["--app-dir", app.to_str().unwrap()])
}

fn text_with(old: &str, new: &str, args: &[&str]) -> (Option<i32>, String) {
    let out = check(old, new, args);
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
fn no_pair_reports_a_rename() {
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
}

/// What is added is new and empty, in the JSON and in the table, on every pair.
#[test]
fn added_resources_are_new_and_empty() {
    for (old, new) in pairs() {
        let plan = plan_of(old, new);
        for v in resources(&plan) {
            let fate = v["data_fate"].as_str().unwrap();
            let id = v["logical_id"].as_str().unwrap();
            match v["action"].as_str().unwrap() {
                "Add" if v.get("member_of").is_none() => {
                    assert_eq!(fate, "new", "{old} -> {new} {id}: {v:#}")
                }
                "Add" => assert_eq!(fate, "follows_cluster", "{old} -> {new} {id}"),
                _ => assert_ne!(fate, "new", "{old} -> {new} {id}: {v:#}"),
            }
        }
    }
    // v0.3.0 -> v0.4.0 adds the vector store: its row says so.
    let (code, text) = text_of("v0.3.0", "v0.4.0");
    assert_eq!(code, Some(0), "{text}");
    let row = text
        .lines()
        .find(|l| l.contains("VectorStoreClusterEFE7D2F8"))
        .unwrap_or_else(|| panic!("no row for the new cluster:\n{text}"));
    assert!(row.contains("Add") && row.contains("new (empty)"), "{row}");
}

/// The finding about the conversation table, as a person reads it.
fn conversation_finding(text: &str) -> Option<&str> {
    text.lines()
        .find(|l| l.contains(&format!(": {CONVERSATION} (")))
}

/// On every pair, with and without the app directory: a table is named as where the app moves
/// only when it replaces the old one under its id or the plan lists it as a successor (same key
/// shape, the references moved to it); a migration guide is named only when the release has that
/// file and it names the table, and then it is named; no sentence claims a guide it did not read.
#[test]
fn the_words_claim_only_what_the_templates_and_the_app_show() {
    for (old, new) in pairs() {
        let plan = plan_of(old, new);
        let added_tables: Vec<&str> = resources(&plan)
            .iter()
            .filter(|v| v["action"] == "Add" && v["resource_type"] == "AWS::DynamoDB::Table")
            .map(|v| v["logical_id"].as_str().unwrap())
            .collect();
        let successors: Vec<&str> = resources(&plan)
            .iter()
            .filter_map(|v| v["successors"].as_array())
            .flatten()
            .map(|s| s.as_str().unwrap())
            .collect();
        for (text, in_app) in [
            (text_of(old, new).1, false),
            (text_in_app(old, new).1, true),
        ] {
            assert_lacks(&text, "migration guide for this release");
            assert_lacks(&text, "has the script");
            let Some(finding) = conversation_finding(&text) else {
                continue;
            };
            for table in &added_tables {
                assert!(
                    successors.contains(table) || !finding.contains(table),
                    "{old} -> {new}: {table} named without evidence:\n{finding}"
                );
            }
            guides_hold(new, finding, in_app);
        }
    }
}

/// The guide sentence of `finding` against the release's `docs/migration/`.
fn guides_hold(new: &str, finding: &str, in_app: bool) {
    if !in_app {
        assert_has(finding, "was not looked up");
        assert_lacks(finding, ".md");
        return;
    }
    let folder = release_dir(new).join("docs/migration");
    let Ok(entries) = std::fs::read_dir(&folder) else {
        assert_has(
            finding,
            "The app has no migration guide to follow: there is no ",
        );
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let names_it = text.contains("ConversationTable ") || text.contains("ConversationTable`");
        assert_eq!(
            finding.contains(&format!("/{name}")),
            names_it,
            "{new}: {name} {} ConversationTable:\n{finding}",
            if names_it { "names" } else { "does not name" }
        );
    }
}

/// The early upgrades that replace the conversation table (v0.3.0's new key schema), alone and
/// with the websocket session table arriving beside it in the same deploy.
#[test]
fn early_upgrades_replace_the_conversation_table_in_place() {
    for (old, new) in [
        ("v0.2.4", "v0.3.0"),
        ("v0.1.0", "v0.3.0"),
        ("v0.2.4", "v0.4.2"),
        ("v0.2.4", "v0.4.10"),
    ] {
        let plan = plan_of(old, new);
        assert_eq!(
            gating(&plan),
            [(CONVERSATION.to_owned(), "replaced".to_owned())],
            "{old} -> {new}"
        );
        let (code, text) = text_in_app(old, new);
        assert_eq!(code, Some(3), "{text}");
        let finding = conversation_finding(&text).expect("the table's finding");
        assert!(
            finding.starts_with(&format!(
                "DATA LOSS: {CONVERSATION} (AWS::DynamoDB::Table) will be replaced (KeySchema): "
            )),
            "{finding}"
        );
        assert_has(
            finding,
            "Conversations and bots: the app moves to the new, empty table that replaces it \
             (the same logical id), so after the deploy users see none of theirs. The old table \
             is deleted with them: first take an on-demand backup (or export it), then copy the \
             data to the new table, converted to its new key schema. The app has no migration \
             guide to follow: there is no ",
        );
        assert!(
            finding.ends_with(&format!("{new}/docs/migration.")),
            "{finding}"
        );
    }
    // The websocket session table is new and empty, and the finding does not send the data there.
    let plan = plan_of("v0.2.4", "v0.4.2");
    let sessions = verdict(&plan, "DatabaseWebsocketSessionTable2302422E");
    assert_eq!(
        (&sessions["action"], &sessions["data_fate"]),
        (&Value::from("Add"), &Value::from("new"))
    );
    let (_, text) = text_in_app("v0.2.4", "v0.4.2");
    assert_lacks(
        conversation_finding(&text).unwrap(),
        "DatabaseWebsocketSessionTable",
    );
}

/// v2 -> v3: the conversation table is orphaned and the app moves to two new tables that the
/// templates show taking its place; v3's app has the guide that names the table.
#[test]
fn v3_moves_to_the_tables_the_templates_show_and_names_the_guide() {
    for new in ["v3.0.0", "v3.17.0"] {
        let plan = plan_of("v2.10.0", new);
        assert_eq!(
            gating(&plan),
            [(CONVERSATION.to_owned(), "orphaned".to_owned())]
        );
        assert_eq!(
            verdict(&plan, CONVERSATION)["successors"],
            serde_json::json!([
                "DatabaseBotTableV3201CEEA9",
                "DatabaseConversationTableV3C1D85773"
            ])
        );
        let (code, text) = text_in_app("v2.10.0", new);
        assert_eq!(code, Some(3), "{text}");
        assert_has(
            &text,
            "ORPHANED: DatabaseConversationTable03F3FD7A (AWS::DynamoDB::Table) is orphaned (removed from the template): \
             it stays in the account with its data (DeletionPolicy Retain), but the stack no longer manages or uses it.",
        );
        assert_has(
            &text,
            "the app moves to new, empty tables (DatabaseBotTableV3201CEEA9, \
             DatabaseConversationTableV3C1D85773: each has the old table's key, and what referred \
             to the old table refers to them now)",
        );
        assert_has(&text, "copy its data to the new tables");
        let guide = release_dir(new).join("docs/migration/V2_TO_V3.md");
        assert_has(
            &text,
            &format!(
                "The app's migration guide {} names ConversationTable: read it before the deploy.",
                guide.display()
            ),
        );
        assert_lacks(&text, "DATA LOSS");
        assert_lacks(&text, "UpdateReplacePolicy");
    }
    // Without the app directory nothing is claimed about a guide.
    let (_, text) = text_of("v2.10.0", "v3.0.0");
    assert_has(
        &text,
        "Whether the app has a migration guide for this was not looked up: Bedrock Chat keeps \
         its guides in docs/migration/ beside cdk/",
    );
}

#[test]
fn the_vector_store_upgrades_say_what_happens_to_the_vectors() {
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
    let writer = verdict(&plan, "VectorStoreClusterwriter113530F5");
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
}

#[test]
fn the_bucket_upgrades_and_the_quiet_ones() {
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

    // Nothing guarded is replaced or removed on these.
    for (old, new) in [
        ("v0.1.0", "v0.2.4"),
        ("v0.3.0", "v0.4.0"),
        ("v0.4.0", "v0.4.2"),
        ("v0.4.2", "v0.4.10"),
        ("v2.0.0", "v2.10.0"),
        ("v3.0.0", "v3.17.0"),
    ] {
        let (code, text) = text_of(old, new);
        assert_eq!(code, Some(0), "{old} -> {new}: {text}");
        assert_has(&text, "no guarded resource is replaced or removed");
    }
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

/// The findings `docs/reference/commands.md` shows for two upgrades are what `check` prints on
/// the real templates today, word for word (wrapping aside).
#[test]
fn the_findings_the_reference_shows_are_what_check_prints() {
    let doc = std::fs::read_to_string(project_root().join("docs/reference/commands.md")).unwrap();
    let words = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut shown = 0;
    for example in doc.split("$ cargo xtask check --template-diff ").skip(1) {
        let (command, rest) = example.split_once('\n').unwrap();
        let body = rest.split("\n$ ").next().unwrap();
        let body = body.split("```").next().unwrap();
        let findings = body.replace("... (the table)", "");
        let releases: Vec<&str> = command
            .split_whitespace()
            .map(|path| path.split('/').next().unwrap())
            .collect();
        let out = Command::new(binary())
            .args(["check", "--template-diff"])
            .args([template(releases[0]), template(releases[1])])
            .env_remove("GITHUB_STEP_SUMMARY")
            .output()
            .unwrap();
        let printed_words = words(&String::from_utf8_lossy(&out.stdout));
        assert!(
            printed_words.contains(&words(&findings)),
            "docs/reference/commands.md shows for {command}:\n{findings}\ncheck prints:\n{}",
            printed(&out)
        );
        shown += 1;
    }
    assert_eq!(shown, 2, "the two examples of docs/reference/commands.md");
}
