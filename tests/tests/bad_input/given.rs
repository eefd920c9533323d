//! What is in the state directory before a row of the bad-input table runs: files a user may
//! really have there, written as the tool writes its own (0700 directory, 0600 files).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::json;
use tests::STACK;

/// Files a user may have in the state directory when they run the command.
#[derive(Clone, Copy)]
pub enum Given {
    Nothing,
    /// `foreign-state/<stack>/journal-*.jsonl`, unfinished, written for another stack's target.
    ForeignJournal,
    /// `taken-state/<stack>/credentials-<utc>.json` for every second of the next 15 minutes: the
    /// record another deploy wrote in the very second this one writes its own (two deploys of
    /// the stack in the same second with one state directory, as two CI jobs started together
    /// have). Every second is taken so the row does not depend on which one the deploy hits.
    CredentialFilesTaken,
}

pub const FOREIGN_STATE: &str = "foreign-state";
pub const TAKEN_STATE: &str = "taken-state";

/// Puts the files of `given` in place; returns every file of its state directory with its bytes.
pub fn given(given: Given, dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    match given {
        Given::Nothing => {}
        Given::ForeignJournal => {
            let journal = dir
                .join(FOREIGN_STATE)
                .join(STACK)
                .join("journal-20260101T000000Z.jsonl");
            let header = json!({
                "type": "header", "version": 1, "run_id": "foreign-run", "stack": "OtherStack",
                "fingerprint": "0123456789abcdef",
                "target": {
                    "table": "OtherStack-Table", "cluster": "OtherStack-Cluster",
                    "task_definition": "OtherStackEmbedding", "container": "Container",
                    "subnets": ["subnet-other"], "security_groups": ["sg-other"],
                },
                "at": "2026-01-01T00:00:00Z",
            });
            let intent = json!({
                "type": "intent", "pk": "user-other", "sk": "user-other#BOT#bot-other",
                "started_by": "xtask-foreign-run-0000",
            });
            write_private(&journal, format!("{header}\n{intent}\n").as_bytes());
        }
        Given::CredentialFilesTaken => {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs();
            for second in now - 5..now + 15 * 60 {
                let name = format!("credentials-{}.json", utc_stamp(second));
                let planted = json!({"planted_for": name, "by": "another deploy"});
                write_private(
                    &dir.join(TAKEN_STATE).join(STACK).join(&name),
                    planted.to_string().as_bytes(),
                );
            }
        }
    }
    state_files(given, dir)
}

pub fn state_files(given: Given, dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let state = match given {
        Given::Nothing => return BTreeMap::new(),
        Given::ForeignJournal => FOREIGN_STATE,
        Given::CredentialFilesTaken => TAKEN_STATE,
    };
    std::fs::read_dir(dir.join(state).join(STACK))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                // The lock file names the last command that held it: a run's trace, not state.
                .filter(|e| e.file_name() != "lock")
                .map(|e| (e.path(), std::fs::read(e.path()).unwrap()))
                .collect()
        })
        .unwrap_or_default()
}

/// As the tool writes its state files: the directory 0700, the file 0600.
fn write_private(path: &Path, bytes: &[u8]) {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path.parent().unwrap())
        .unwrap();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .unwrap();
    std::io::Write::write_all(&mut file, bytes).unwrap();
}

/// `20261122T053000Z`, the tool's file-name stamp, for a Unix time (days to a civil date as in
/// Howard Hinnant's `civil_from_days`).
fn utc_stamp(unix: u64) -> String {
    let (days, rest) = (unix / 86_400, unix % 86_400);
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[test]
fn utc_stamps_match_the_tools() {
    assert_eq!(utc_stamp(0), "19700101T000000Z");
    assert_eq!(utc_stamp(1_795_328_044), "20261122T061404Z");
    assert_eq!(utc_stamp(951_782_400), "20000229T000000Z");
}
