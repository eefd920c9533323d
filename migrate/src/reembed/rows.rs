//! The report's per-bot rows, streamed to disk as each becomes final: a run holds the counts and the
//! first few rows that did not end well, never a row per bot.

use std::io;

use serde::ser::{Error as _, SerializeSeq};
use serde::{Serialize, Serializer};

use super::outcome::{BotRow, Counts, Outcome};
use super::spill::{Spill, SpillWriter};

/// How many rows that did not end well a report keeps in memory for the terminal; the report file
/// has every row.
pub const NOTABLE_ROWS: usize = 100;

/// Collects rows during a run.
#[derive(Debug, Default)]
pub(crate) struct RowSink {
    /// Created at the first row: a run without rows needs no file.
    spill: Option<SpillWriter>,
    counts: Counts,
    notable: Vec<BotRow>,
    /// The first write error; the run goes on (the journal, not the report, is what resume needs)
    /// and the error surfaces when the report is built.
    error: Option<io::Error>,
}

impl RowSink {
    pub(crate) fn push(&mut self, row: BotRow, outcome: &Outcome) {
        self.counts.add(outcome);
        if !matches!(outcome, Outcome::Skipped | Outcome::Malformed { .. }) {
            self.counts.to_embed += 1;
        }
        if self.error.is_none() {
            let written = match &mut self.spill {
                Some(spill) => spill.push(&row),
                None => SpillWriter::new().and_then(|mut spill| {
                    spill.push(&row)?;
                    self.spill = Some(spill);
                    Ok(())
                }),
            };
            if let Err(e) = written {
                self.error = Some(e);
            }
        }
        if !ends_well(outcome) && self.notable.len() < NOTABLE_ROWS {
            self.notable.push(row);
        }
    }

    pub(crate) fn finish(self) -> io::Result<(BotRows, Counts)> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let spill = self.spill.map(SpillWriter::seal).transpose()?;
        Ok((
            BotRows {
                spill,
                notable: self.notable,
            },
            self.counts,
        ))
    }
}

fn ends_well(outcome: &Outcome) -> bool {
    matches!(
        outcome,
        Outcome::Succeeded | Outcome::Skipped | Outcome::Planned
    )
}

/// Every row of a report, kept in a temporary file; serializes as the report's `bots` array.
#[derive(Debug, Default)]
pub struct BotRows {
    spill: Option<Spill>,
    notable: Vec<BotRow>,
}

impl BotRows {
    pub fn len(&self) -> u64 {
        self.spill.as_ref().map_or(0, Spill::len)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first [`NOTABLE_ROWS`] rows that did not end well (neither succeeded, skipped nor
    /// planned), in report order.
    pub fn notable(&self) -> &[BotRow] {
        &self.notable
    }

    /// Every row from disk, in report order: settled bots first (skipped, kept from the journal,
    /// planned), then launched ones as they ended, then those still running or never launched,
    /// then malformed items.
    pub fn iter(&self) -> impl Iterator<Item = io::Result<BotRow>> + '_ {
        self.spill.iter().flat_map(|spill| spill.iter())
    }
}

impl Serialize for BotRows {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(usize::try_from(self.len()).ok())?;
        for row in self.iter() {
            seq.serialize_element(&row.map_err(S::Error::custom)?)?;
        }
        seq.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(i: usize, outcome: &Outcome) -> BotRow {
        BotRow::new(
            Some(format!("u{i}")),
            Some(format!("u{i}#BOT#b{i}")),
            Some(format!("b{i}")),
            outcome,
            Some(format!("arn:task/c/{i}")),
        )
    }

    #[test]
    fn every_row_is_on_disk_and_only_a_few_in_memory() {
        let mut sink = RowSink::default();
        let failed = Outcome::Failed {
            reason: "boom".into(),
        };
        for i in 0..5_000 {
            let outcome = if i % 2 == 0 {
                Outcome::Succeeded
            } else {
                failed.clone()
            };
            sink.push(row(i, &outcome), &outcome);
        }
        sink.push(row(5_000, &Outcome::Skipped), &Outcome::Skipped);
        let (rows, counts) = sink.finish().unwrap();
        assert_eq!(rows.len(), 5_001);
        assert_eq!(
            (
                counts.succeeded,
                counts.failed,
                counts.skipped,
                counts.to_embed
            ),
            (2_500, 2_500, 1, 5_000)
        );
        assert_eq!(rows.notable().len(), NOTABLE_ROWS);
        assert!(rows.notable().iter().all(|r| r.outcome == "failed"));
        assert_eq!(rows.notable()[0], row(1, &failed));
        let back: Vec<BotRow> = rows.iter().map(Result::unwrap).collect();
        assert_eq!(back.len(), 5_001);
        assert!(back.iter().enumerate().all(|(i, r)| *r
            == row(
                i,
                match i {
                    5_000 => &Outcome::Skipped,
                    i if i % 2 == 0 => &Outcome::Succeeded,
                    _ => &failed,
                }
            )));
    }

    #[test]
    fn serializes_as_a_json_array() {
        let mut sink = RowSink::default();
        for i in 0..3 {
            sink.push(row(i, &Outcome::Planned), &Outcome::Planned);
        }
        let (rows, _) = sink.finish().unwrap();
        let json: serde_json::Value = serde_json::to_value(&rows).unwrap();
        assert_eq!(json.as_array().unwrap().len(), 3);
        assert_eq!(json[2]["sk"], "u2#BOT#b2");
        assert_eq!(json[2]["outcome"], "planned");

        let (empty, counts) = RowSink::default().finish().unwrap();
        assert!(empty.is_empty());
        assert_eq!(counts, Counts::default());
        assert_eq!(serde_json::to_string(&empty).unwrap(), "[]");
    }
}
