//! The record `deploy` writes before it executes the v3 upgrade: which table was the v2
//! conversation table. After the upgrade the stack no longer names it (the table leaves the
//! stack, and the output `DatabaseConversationTableName...` keeps its id but names the v3 table:
//! `docs/bedrock-chat-v3-tables.md`, section 1), so this is how `migrate-tables` finds its source
//! without a flag.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::state::{self, StateError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TablesSource {
    pub stack: String,
    /// The v2 conversation table's physical name.
    pub source_table: String,
    /// Its logical id in the old template.
    pub logical_id: String,
    /// The change set that moved the app to the v3 tables.
    pub change_set_id: String,
    pub at: String,
}

/// Writes the record (0600, never overwriting), before the change set is executed.
pub fn write(state_dir: &Path, record: &TablesSource) -> Result<std::path::PathBuf, StateError> {
    let path = state::stack_dir(state_dir, &record.stack)
        .join(state::tables_source_name(&state::utc_stamp()));
    let bytes = serde_json::to_vec_pretty(record).expect("a record serializes");
    state::write_private_file(&path, &bytes)?;
    Ok(path)
}

/// The newest record of `stack`, if any.
pub fn latest(state_dir: &Path, stack: &str) -> Result<Option<TablesSource>, StateError> {
    let dir = state::stack_dir(state_dir, stack);
    let io = |source| StateError::Io {
        path: dir.clone(),
        source,
    };
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(e)),
    };
    let newest = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(state::is_tables_source_name)
        })
        .max();
    let Some(path) = newest else {
        return Ok(None);
    };
    let text = std::fs::read(&path).map_err(|source| StateError::Io {
        path: path.clone(),
        source,
    })?;
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|e| StateError::Io {
            path,
            source: std::io::Error::other(e),
        })
}
