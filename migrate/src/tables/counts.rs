//! What happened to the source's items, counted per kind, and the notes that name the items that
//! were not simply written (by key and reason, never by content).

use serde::{Deserialize, Serialize};

use crate::tables::item::SourceKey;
use crate::tables::kinds::Kind;

/// Lists in the report are cut here (the counts are whole).
pub const LISTED: usize = 100;

/// Per kind of item: what the copy did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindCounts {
    /// Items of the kind read from the source.
    pub read: u64,
    pub written: u64,
    /// The target held the item's key already (the app's newer version): left as it is.
    pub already_there: u64,
    /// Not for the new tables, by the app's own rule (an alias of a bot no longer shared).
    pub skipped: u64,
    /// The item is not in the shape the app writes: reported, the rest of its user goes on.
    pub malformed: u64,
    /// Throttled on every attempt: `--resume` writes it.
    pub unwritten: u64,
    /// The service refused the item itself.
    pub rejected: u64,
}

impl KindCounts {
    pub fn add(&mut self, other: &KindCounts) {
        self.read += other.read;
        self.written += other.written;
        self.already_there += other.already_there;
        self.skipped += other.skipped;
        self.malformed += other.malformed;
        self.unwritten += other.unwritten;
        self.rejected += other.rejected;
    }

    /// Counts one item's fate (its `read` is counted when it is read).
    pub fn count(&mut self, what: NoteKind) {
        match what {
            NoteKind::Written => self.written += 1,
            NoteKind::AlreadyThere => self.already_there += 1,
            NoteKind::Skipped => self.skipped += 1,
            NoteKind::Malformed => self.malformed += 1,
            NoteKind::Unwritten => self.unwritten += 1,
            NoteKind::Rejected => self.rejected += 1,
        }
    }

    /// The counts of every kind, added up.
    pub fn sum<'a>(counts: impl IntoIterator<Item = &'a KindCounts>) -> KindCounts {
        let mut total = KindCounts::default();
        counts.into_iter().for_each(|c| total.add(c));
        total
    }

    /// Items that should be in the new tables and are not (yet).
    pub fn missing(&self) -> u64 {
        self.unwritten + self.rejected
    }
}

/// What became of one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoteKind {
    Written,
    AlreadyThere,
    Skipped,
    Malformed,
    Unwritten,
    Rejected,
}

/// An item that was not simply written, by its source key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub key: SourceKey,
    /// `None` for an item whose kind cannot be told.
    pub kind: Option<Kind>,
    pub what: NoteKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
