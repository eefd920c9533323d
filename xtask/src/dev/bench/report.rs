//! The benchmark's report file, `target/bench/report.json`: each kind of run writes its own keys.

use serde_json::json;

/// Writes `part`'s keys into `report.json`, keeping the keys of the other kind of run.
pub(super) fn write_report(dir: &std::path::Path, part: serde_json::Value) -> anyhow::Result<()> {
    let path = dir.join("report.json");
    let mut report = std::fs::read_to_string(&path)
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .filter(serde_json::Value::is_object)
        .unwrap_or_else(|| json!({}));
    if let Some(part) = part.as_object() {
        for (key, value) in part {
            report[key] = value.clone();
        }
    }
    std::fs::write(&path, serde_json::to_string_pretty(&report)? + "\n")?;
    println!("report {}", path.display());
    Ok(())
}
