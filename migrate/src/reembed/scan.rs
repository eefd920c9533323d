//! Parallel scan of the conversation table for bot items, streamed through a bounded channel so
//! the scan itself holds no more than a page per segment. The planner keeps only a packed key and a
//! flag per bot (see `plan.rs`).

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::bot::{BOT_MARKER, BotKey};
use super::events::Event;
use crate::error_text::AwsError;
use crate::events::EventSink;

/// How many entries each knowledge list of a bot has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnowledgeCounts {
    pub source_urls: usize,
    pub sitemap_urls: usize,
    pub filenames: usize,
    pub s3_urls: usize,
}

impl KnowledgeCounts {
    pub fn total(&self) -> usize {
        self.source_urls + self.sitemap_urls + self.filenames + self.s3_urls
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BotRecord {
    pub key: BotKey,
    pub bot_id: String,
    pub knowledge: KnowledgeCounts,
    /// `SyncStatus` at scan time, for the summary only: the outcome is read after the task stops.
    pub sync_status: Option<String>,
    /// A bot with empty knowledge lists has nothing to embed: a task for it only costs money.
    pub needs_embedding: bool,
}

/// An item that looked like a bot but cannot be launched; only its keys are kept (never the item).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MalformedItem {
    pub pk: Option<String>,
    pub sk: Option<String>,
    pub reason: String,
}

/// Why an item that looked like a bot cannot be launched: the `reason` of its report row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Malformation {
    #[error("PK or SK missing or not a string")]
    NoKeys,
    #[error("SK does not follow <PK>{}<bot id>", BOT_MARKER)]
    NotABotKey,
    #[error("Knowledge is not a map")]
    KnowledgeNotAMap,
    #[error("Knowledge.{list} is not a list")]
    NotAList { list: &'static str },
    #[error("Knowledge.{list} holds a non-string")]
    NotStrings { list: &'static str },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanItem {
    Bot(BotRecord),
    Malformed(MalformedItem),
}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("scan of table {table} (segment {segment}) failed: {}", .source.summary())]
    Scan {
        table: String,
        segment: u32,
        #[source]
        source: AwsError,
    },
    #[error("a scan worker stopped unexpectedly: {0}")]
    Worker(#[source] tokio::task::JoinError),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanStats {
    pub pages: u64,
    /// Items DynamoDB examined (before the filter).
    pub scanned: u64,
    /// Items the filter kept.
    pub returned: u64,
}

const KNOWLEDGE_LISTS: [&str; 4] = ["source_urls", "sitemap_urls", "filenames", "s3_urls"];

/// Classifies one scanned item. Never panics: anything unexpected becomes `Malformed`.
pub fn parse_item(item: &HashMap<String, AttributeValue>) -> ScanItem {
    let pk = item.get("PK").and_then(|v| v.as_s().ok()).cloned();
    let sk = item.get("SK").and_then(|v| v.as_s().ok()).cloned();
    let malformed = |reason: Malformation| {
        ScanItem::Malformed(MalformedItem {
            pk: pk.clone(),
            sk: sk.clone(),
            reason: reason.to_string(),
        })
    };
    let (Some(pk_s), Some(sk_s)) = (&pk, &sk) else {
        return malformed(Malformation::NoKeys);
    };
    let key = BotKey::new(pk_s.clone(), sk_s.clone());
    let Some(bot_id) = key.bot_id().map(str::to_owned) else {
        return malformed(Malformation::NotABotKey);
    };
    let knowledge = match item.get("Knowledge") {
        None | Some(AttributeValue::Null(_)) => KnowledgeCounts::default(),
        Some(AttributeValue::M(map)) => match knowledge_counts(map) {
            Ok(counts) => counts,
            Err(reason) => return malformed(reason),
        },
        Some(_) => return malformed(Malformation::KnowledgeNotAMap),
    };
    let sync_status = item.get("SyncStatus").and_then(|v| v.as_s().ok()).cloned();
    ScanItem::Bot(BotRecord {
        key,
        bot_id,
        needs_embedding: knowledge.total() > 0,
        knowledge,
        sync_status,
    })
}

fn knowledge_counts(
    map: &HashMap<String, AttributeValue>,
) -> Result<KnowledgeCounts, Malformation> {
    let mut counts = [0usize; 4];
    for (slot, name) in counts.iter_mut().zip(KNOWLEDGE_LISTS) {
        *slot = match map.get(name) {
            None | Some(AttributeValue::Null(_)) => 0,
            // Some exports store the lists as string sets rather than lists of strings.
            Some(AttributeValue::Ss(set)) => set.len(),
            Some(AttributeValue::L(list)) => {
                if list.iter().any(|v| !v.is_s()) {
                    return Err(Malformation::NotStrings { list: name });
                }
                list.len()
            }
            Some(_) => return Err(Malformation::NotAList { list: name }),
        };
    }
    let [source_urls, sitemap_urls, filenames, s3_urls] = counts;
    Ok(KnowledgeCounts {
        source_urls,
        sitemap_urls,
        filenames,
        s3_urls,
    })
}

/// Scans `table` with `segments` parallel workers and sends every bot item (or malformed one) to
/// `tx`. Returns when the table is read or the receiver is gone; the first failing segment fails
/// the scan and stops the others.
pub async fn scan_bots(
    client: Client,
    table: String,
    segments: u32,
    tx: mpsc::Sender<ScanItem>,
    events: Arc<dyn EventSink<Event>>,
) -> Result<ScanStats, ScanError> {
    let segments = segments.max(1);
    let mut workers = JoinSet::new();
    for segment in 0..segments {
        workers.spawn(scan_segment(
            client.clone(),
            table.clone(),
            segment,
            segments,
            tx.clone(),
            events.clone(),
        ));
    }
    drop(tx);
    let mut total = ScanStats::default();
    while let Some(joined) = workers.join_next().await {
        let stats = joined.map_err(ScanError::Worker)??;
        total.pages += stats.pages;
        total.scanned += stats.scanned;
        total.returned += stats.returned;
    }
    Ok(total)
}

async fn scan_segment(
    client: Client,
    table: String,
    segment: u32,
    total_segments: u32,
    tx: mpsc::Sender<ScanItem>,
    events: Arc<dyn EventSink<Event>>,
) -> Result<ScanStats, ScanError> {
    // Knowledge and SyncStatus are not reserved words, but PK/SK-style names can be in other
    // schemas: names go through placeholders throughout, which costs nothing.
    let mut pages = client
        .scan()
        .table_name(&table)
        .segment(segment as i32)
        .total_segments(total_segments as i32)
        .filter_expression("contains(#sk, :bot)")
        .projection_expression("#pk, #sk, #kn, #ss")
        .expression_attribute_names("#pk", "PK")
        .expression_attribute_names("#sk", "SK")
        .expression_attribute_names("#kn", "Knowledge")
        .expression_attribute_names("#ss", "SyncStatus")
        .expression_attribute_values(":bot", AttributeValue::S(BOT_MARKER.into()))
        .into_paginator()
        .send();
    let mut stats = ScanStats::default();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| ScanError::Scan {
            table: table.clone(),
            segment,
            source: AwsError::new("Scan", e),
        })?;
        let items = page.items.unwrap_or_default();
        stats.pages += 1;
        stats.scanned += page.scanned_count.max(0) as u64;
        stats.returned += items.len() as u64;
        events.emit(Event::ScanPage {
            segment,
            scanned: page.scanned_count.max(0) as u64,
            bots: items.len() as u64,
        });
        for item in &items {
            if tx.send(parse_item(item)).await.is_err() {
                return Ok(stats);
            }
        }
    }
    Ok(stats)
}

#[cfg(test)]
#[path = "scan_tests.rs"]
mod tests;
