//! The scan phase: what a run would act on, before anything is launched.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::events::{Event, EventSink};
use crate::options::{Clients, MigrateError, MigrationOptions};
use crate::scan::{BotRecord, MalformedItem, ScanItem, ScanStats, scan_bots};
use crate::target::MigrationTarget;

/// The scan's result: what a run would act on.
#[derive(Debug, Clone)]
pub struct Plan {
    pub target: MigrationTarget,
    /// Sorted by key, so reports and launch order are reproducible.
    pub bots: Vec<BotRecord>,
    pub malformed: Vec<MalformedItem>,
    pub scan: ScanStats,
    pub scan_secs: f64,
}

impl Plan {
    pub fn wants_task(bot: &BotRecord, all_bots: bool) -> bool {
        bot.needs_embedding || all_bots
    }

    /// (found, to embed, skipped, malformed), the summary shown before confirming.
    pub fn summary(&self, all_bots: bool) -> (u64, u64, u64, u64) {
        let to_embed = self
            .bots
            .iter()
            .filter(|b| Self::wants_task(b, all_bots))
            .count() as u64;
        let bots = self.bots.len() as u64;
        let malformed = self.malformed.len() as u64;
        (bots + malformed, to_embed, bots - to_embed, malformed)
    }
}

/// Scans the table and classifies the bots; launches nothing.
pub async fn plan_migration(
    clients: &Clients,
    target: &MigrationTarget,
    options: &MigrationOptions,
    events: Arc<dyn EventSink>,
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
    while let Some(item) = rx.recv().await {
        match item {
            ScanItem::Bot(b) => bots.push(b),
            ScanItem::Malformed(m) => malformed.push(m),
        }
    }
    let stats = scan
        .await
        .map_err(|e| MigrateError::Worker(e.to_string()))??;
    bots.sort_by(|a, b| a.key.cmp(&b.key));
    // Parallel segments never overlap, but a retried page could repeat items.
    bots.dedup_by(|a, b| a.key == b.key);
    let plan = Plan {
        target: target.clone(),
        bots,
        malformed,
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
