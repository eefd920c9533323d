//! The baseline of `cargo xtask bench --tables`: Bedrock Chat's own v2 -> v3 script
//! (`tests/upstream/migrate_v2_v3.py`, v3.0.0, vendored verbatim), in the emulator's Python, on
//! a subset of users (its own `--users` flag). Its header asks users to edit the region and the
//! three table names; a temporary copy has them edited the same way.

use std::path::Path;

use anyhow::Context;
use serde_json::{Value, json};
use tests::Emulator;
use tests::emulator::REGION;

use super::probe;
use crate::dev::setup::project_root;

/// The script's tables for one run.
pub struct ScriptTables<'a> {
    pub v2: &'a str,
    pub conversations: &'a str,
    pub bots: &'a str,
}

/// The vendored script with its configuration lines (v3.0.0, lines 26-30) edited.
fn configured(tables: &ScriptTables) -> anyhow::Result<String> {
    let path = project_root().join("tests/upstream/migrate_v2_v3.py");
    let mut text = std::fs::read_to_string(&path).context("reading the vendored script")?;
    let edits = [
        (
            r#"REGION = "ap-northeast-1""#,
            format!(r#"REGION = "{REGION}""#),
        ),
        (
            r#"V2_CONVERSATION_TABLE = "BedrockChatStack-DatabaseConversationTableXXXX""#,
            format!(r#"V2_CONVERSATION_TABLE = "{}""#, tables.v2),
        ),
        (
            r#"V3_CONVERSATION_TABLE = "BedrockChatStack-DatabaseConversationTableV3XXXX""#,
            format!(r#"V3_CONVERSATION_TABLE = "{}""#, tables.conversations),
        ),
        (
            r#"V3_BOT_TABLE = "BedrockChatStack-DatabaseBotTableV3XXXXX""#,
            format!(r#"V3_BOT_TABLE = "{}""#, tables.bots),
        ),
    ];
    for (line, edited) in edits {
        anyhow::ensure!(
            text.matches(line).count() == 1,
            "the vendored script no longer has the line `{line}` once"
        );
        text = text.replacen(line, &edited, 1);
    }
    Ok(text)
}

/// Runs the script on `users`; its items/s come from its own figures: the items its report counts
/// over the time it logs for the migration ("Migration completed in N seconds"), which leaves
/// out its verification (a 5 s sleep and full scans of both new tables), as ours leaves out ours.
pub fn run(
    emulator: &Emulator,
    dir: &Path,
    tables: &ScriptTables,
    users: &[String],
) -> anyhow::Result<Value> {
    let run_dir = dir.join("upstream");
    std::fs::create_dir_all(&run_dir)?;
    let script = run_dir.join("migrate_v2_v3.py");
    std::fs::write(&script, configured(tables)?)?;
    let mut command = emulator.command(project_root().join("target/emulator-venv/bin/python"));
    command
        .current_dir(&run_dir)
        .arg(&script)
        .arg("--users")
        .args(users);
    let log = |ext: &str| std::fs::File::create(run_dir.join(format!("script.{ext}")));
    eprintln!(
        "    run the app's script (v3.0.0) on {} users ...",
        users.len()
    );
    let done = probe::run_measured(command, log("stdout")?, log("stderr")?, None)?;
    anyhow::ensure!(
        done.code == Some(0),
        "the app's script failed ({:?}); see {}",
        done.code,
        run_dir.join("script.stderr").display()
    );
    let stderr = std::fs::read_to_string(run_dir.join("script.stderr"))?;
    let migration_secs = stderr
        .lines()
        .find_map(|l| {
            l.split_once("Migration completed in ")?
                .1
                .strip_suffix(" seconds")?
                .parse::<f64>()
                .ok()
        })
        .context("the script logged no \"Migration completed in N seconds\"")?;
    let report = script_report(&run_dir)?;
    let summary = &report["summary"];
    let reported: u64 = [
        "total_bots",
        "total_aliases",
        "total_conversations",
        "total_related_documents",
    ]
    .iter()
    .map(|k| summary[k].as_u64().unwrap_or(0))
    .sum();
    Ok(json!({
        "users": users.len(),
        "items_reported": reported,
        "migration_secs": migration_secs,
        "wall_secs": done.wall_secs,
        "peak_rss_mb": done.peak_rss_mb,
        "failed_users": summary["failed_users"],
        "verification_success": report["verification"]["success"],
    }))
}

/// The script's `migration_report_<time>.json` (its `summary` counts the converted lists, not
/// what was written: the caller holds them to the emulator's own count).
fn script_report(dir: &Path) -> anyhow::Result<Value> {
    let path = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("migration_report_"))
        })
        .context("the script wrote no migration_report_*.json")?;
    Ok(serde_json::from_str(&std::fs::read_to_string(&path)?)?)
}
