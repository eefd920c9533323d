//! The scan phase: what a run would act on, before anything is launched.
//!
//! Memory: the plan is the one structure that holds every bot, so a bot costs only its packed key
//! and a flag (about 25 bytes plus the SK, ~100 bytes for Bedrock Chat's UUID user ids and ULID bot
//! ids: ~10 MB for 100,000 bots). Keeping the keys rather than spilling them is what lets the run
//! sort them for a reproducible launch order and look bots up during resume; an external sort would
//! only pay off two orders of magnitude later. Malformed items past the first few go to disk.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::bot::PackedKey;
use super::events::Event;
use super::options::{Clients, MigrateError, MigrationOptions};
use super::scan::{MalformedItem, ScanItem, ScanStats, scan_bots};
use super::spill::{Spill, SpillWriter};
use super::target::MigrationTarget;
use crate::events::EventSink;

/// Malformed items a plan keeps in memory (for display); all of them reach the report.
pub const MALFORMED_KEPT: usize = 1000;

/// What the run needs of a scanned bot: its key, and whether it has anything to embed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedBot {
    pub key: PackedKey,
    /// A bot with empty knowledge lists has nothing to embed: a task for it only costs money.
    pub needs_embedding: bool,
}

/// The scan's result: what a run would act on.
#[derive(Debug)]
pub struct Plan {
    pub target: MigrationTarget,
    /// Sorted by key, so reports and launch order are reproducible.
    pub bots: Vec<PlannedBot>,
    /// The first [`MALFORMED_KEPT`] malformed items; [`Plan::all_malformed`] has every one.
    pub malformed: Vec<MalformedItem>,
    /// Those past the first [`MALFORMED_KEPT`].
    malformed_overflow: Option<Spill>,
    pub scan: ScanStats,
    pub scan_secs: f64,
}

impl Plan {
    pub fn wants_task(bot: &PlannedBot, all_bots: bool) -> bool {
        bot.needs_embedding || all_bots
    }

    pub fn malformed_count(&self) -> u64 {
        self.malformed.len() as u64 + self.malformed_overflow.as_ref().map_or(0, Spill::len)
    }

    /// Every malformed item, in scan order (the later ones are read back from disk).
    pub fn all_malformed(&self) -> impl Iterator<Item = std::io::Result<MalformedItem>> + '_ {
        self.malformed.iter().cloned().map(Ok).chain(
            self.malformed_overflow
                .iter()
                .flat_map(|spill| spill.iter()),
        )
    }

    /// (found, to embed, skipped, malformed), the summary shown before confirming.
    pub fn summary(&self, all_bots: bool) -> (u64, u64, u64, u64) {
        let to_embed = self
            .bots
            .iter()
            .filter(|b| Self::wants_task(b, all_bots))
            .count() as u64;
        let bots = self.bots.len() as u64;
        let malformed = self.malformed_count();
        (bots + malformed, to_embed, bots - to_embed, malformed)
    }
}

/// Scans the table and classifies the bots; launches nothing.
pub async fn plan_migration(
    clients: &Clients,
    target: &MigrationTarget,
    options: &MigrationOptions,
    events: Arc<dyn EventSink<Event>>,
) -> Result<Plan, MigrateError> {
    target.validate()?;
    let started = Instant::now();
    let (tx, mut rx) = mpsc::channel(options.scan_buffer.max(1));
    let scan = tokio::spawn(scan_bots(
        clients.dynamodb.clone(),
        target.table.clone(),
        options.segments,
        tx,
        events.clone(),
    ));
    let mut bots = Vec::new();
    let mut malformed = Vec::new();
    let mut overflow: Option<SpillWriter> = None;
    while let Some(item) = rx.recv().await {
        match item {
            ScanItem::Bot(b) => bots.push(PlannedBot {
                key: PackedKey::from(&b.key),
                needs_embedding: b.needs_embedding,
            }),
            ScanItem::Malformed(m) if malformed.len() < MALFORMED_KEPT => malformed.push(m),
            ScanItem::Malformed(m) => {
                let spill = match &mut overflow {
                    Some(spill) => spill,
                    None => overflow.insert(SpillWriter::new().map_err(MigrateError::Spill)?),
                };
                spill.push(&m).map_err(MigrateError::Spill)?;
            }
        }
    }
    let stats = scan.await.map_err(MigrateError::Worker)??;
    bots.sort_by(|a, b| a.key.cmp(&b.key));
    // Parallel segments never overlap, but a retried page could repeat items.
    bots.dedup_by(|a, b| a.key == b.key);
    bots.shrink_to_fit();
    let plan = Plan {
        target: target.clone(),
        bots,
        malformed,
        malformed_overflow: overflow
            .map(SpillWriter::seal)
            .transpose()
            .map_err(MigrateError::Spill)?,
        scan: stats,
        scan_secs: started.elapsed().as_secs_f64(),
    };
    let (found, to_embed, skipped, malformed) = plan.summary(options.all_bots);
    events.emit(Event::ScanDone {
        found,
        to_embed,
        skipped,
        malformed,
    });
    Ok(plan)
}
