//! The copy: one worker per scan segment of the source (a parallel scan, no per-user loop), each
//! page classified, transformed, written in batches per target table, then checkpointed in the
//! journal before the next page is read. A page is the unit of resume: a run cut inside one
//! writes that page again with conditional puts, which never overwrite what is there.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use futures_util::{StreamExt, TryStreamExt};
use tokio::task::JoinSet;

use crate::error_text::AwsError;
use crate::events::EventSink;
use crate::interrupt::Interrupt;
use crate::tables::TablesError;
use crate::tables::TablesEvent;
use crate::tables::counts::{KindCounts, Note, NoteKind};
use crate::tables::item::{Item, SourceKey};
use crate::tables::journal::{ResumeKey, TablesEntry, TablesJournal};
use crate::tables::kinds::{self, Kind, Step, TargetTable};
use crate::tables::write::{BATCH_ITEMS, Pending, TableWriter, Written};

/// The writers of the two target tables.
#[derive(Debug)]
pub struct Writers {
    pub conversations: TableWriter,
    pub bots: TableWriter,
}

impl Writers {
    pub fn of(&self, table: TargetTable) -> &TableWriter {
        match table {
            TargetTable::Conversations => &self.conversations,
            TargetTable::Bots => &self.bots,
        }
    }
}

/// The owners of public bots, by public bot id, as the source's `PublicBotIdIndex` answers:
/// asked once per bot, whatever the number of its aliases.
#[derive(Debug, Default)]
pub struct Owners {
    known: Mutex<HashMap<String, Option<String>>>,
}

/// Far more public bots than any deployment has; past it, answers are asked again, not kept.
const OWNERS_KEPT: usize = 100_000;

impl Owners {
    async fn owner(
        &self,
        client: &Client,
        source: &str,
        bot_id: &str,
    ) -> Result<Option<String>, TablesError> {
        if let Some(found) = self.known.lock().expect("owners lock").get(bot_id) {
            return Ok(found.clone());
        }
        let answer = client
            .query()
            .table_name(source)
            .index_name("PublicBotIdIndex")
            .key_condition_expression("#id = :id")
            .expression_attribute_names("#id", "PublicBotId")
            .expression_attribute_values(":id", AttributeValue::S(bot_id.to_owned()))
            .limit(1)
            .send()
            .await
            .map_err(|e| TablesError::Source {
                table: source.to_owned(),
                source: AwsError::new("Query", e),
            })?;
        let owner = answer
            .items()
            .first()
            .and_then(|item| item.get("PK"))
            .and_then(|v| v.as_s().ok())
            .cloned();
        let mut known = self.known.lock().expect("owners lock");
        if known.len() < OWNERS_KEPT {
            known.insert(bot_id.to_owned(), owner.clone());
        }
        Ok(owner)
    }
}

/// What every segment worker shares.
pub struct Shared {
    pub client: Client,
    pub source: String,
    pub total_segments: u32,
    pub writers: Writers,
    pub owners: Owners,
    pub journal: TablesJournal,
    pub interrupt: Interrupt,
    pub events: Arc<dyn EventSink<TablesEvent>>,
    /// Every write is a conditional put (the target held items when the run began).
    pub all_conditional: bool,
}

/// One page's outcome, as journaled.
#[derive(Debug, Default)]
struct PageOutcome {
    counts: BTreeMap<Kind, KindCounts>,
    notes: Vec<Note>,
}

impl PageOutcome {
    fn record(&mut self, key: SourceKey, kind: Kind, what: NoteKind, reason: Option<String>) {
        self.counts.entry(kind).or_default().count(what);
        if what != NoteKind::Written {
            self.notes.push(Note {
                key,
                kind: Some(kind),
                what,
                reason,
            });
        }
    }
}

/// Copies every segment that is not done yet; `start` says where each goes on (`None` inside:
/// done; a segment absent from it starts at the beginning). `careful`: the segments whose first
/// page may be half written by a cut run.
pub async fn copy_segments(
    shared: Arc<Shared>,
    start: BTreeMap<u32, Option<ResumeKey>>,
    careful: bool,
) -> Result<(), TablesError> {
    let mut workers = JoinSet::new();
    for segment in 0..shared.total_segments {
        let from = match start.get(&segment) {
            Some(None) => continue,
            Some(Some(key)) => Some(key.clone()),
            None => None,
        };
        let first_careful = careful;
        workers.spawn(copy_segment(shared.clone(), segment, from, first_careful));
    }
    while let Some(joined) = workers.join_next().await {
        joined.map_err(TablesError::Worker)??;
    }
    Ok(())
}

fn to_resume_key(key: &HashMap<String, AttributeValue>) -> ResumeKey {
    key.iter()
        .filter_map(|(k, v)| v.as_s().ok().map(|s| (k.clone(), s.clone())))
        .collect()
}

fn from_resume_key(key: &ResumeKey) -> HashMap<String, AttributeValue> {
    key.iter()
        .map(|(k, v)| (k.clone(), AttributeValue::S(v.clone())))
        .collect()
}

async fn copy_segment(
    shared: Arc<Shared>,
    segment: u32,
    mut from: Option<ResumeKey>,
    mut careful: bool,
) -> Result<(), TablesError> {
    loop {
        if shared.interrupt.is_stopping() {
            return Ok(());
        }
        let page = shared
            .client
            .scan()
            .table_name(&shared.source)
            .segment(segment as i32)
            .total_segments(shared.total_segments as i32)
            .set_exclusive_start_key(from.as_ref().map(from_resume_key))
            .send()
            .await
            .map_err(|e| TablesError::Source {
                table: shared.source.clone(),
                source: AwsError::new("Scan", e),
            })?;
        let next = page.last_evaluated_key().map(to_resume_key);
        let items = page.items.unwrap_or_default();
        let read = items.len() as u64;
        let outcome = copy_page(&shared, items, careful || shared.all_conditional).await?;
        let written = outcome.counts.values().map(|c| c.written).sum::<u64>();
        shared.journal.append(
            &TablesEntry::Page {
                segment,
                next: next.clone(),
                counts: outcome.counts,
                notes: outcome.notes,
            },
            true,
        )?;
        shared.events.emit(TablesEvent::Page { read, written });
        careful = false;
        match next {
            Some(key) => from = Some(key),
            None => return Ok(()),
        }
    }
}

/// Classifies and writes one page of source items. An alias is always a conditional put: the v3
/// app writes a user's alias of a shared bot the first time the user opens that bot
/// (`store_alias` in its `usecases/chat.py` and `usecases/bot.py` at v3.0.0), perhaps before the
/// copy reaches the v2 alias, and the app's is the newer one.
async fn copy_page(
    shared: &Shared,
    items: Vec<Item>,
    conditional: bool,
) -> Result<PageOutcome, TablesError> {
    let mut outcome = PageOutcome::default();
    // By table and by whether the writes must be conditional puts.
    let mut batches: HashMap<(TargetTable, bool), Vec<Pending>> = HashMap::new();
    let mut kinds_of: HashMap<SourceKey, Kind> = HashMap::new();
    for (key, kind, step) in steps_of(shared, items, &mut outcome).await? {
        outcome.counts.entry(kind).or_default().read += 1;
        match step {
            Step::Write(table, new) => {
                kinds_of.insert(key.clone(), kind);
                let careful = conditional || kind == Kind::Alias;
                batches.entry((table, careful)).or_default().push(Pending {
                    source: key,
                    item: new,
                });
            }
            Step::Skip(reason) => outcome.record(key, kind, NoteKind::Skipped, Some(reason)),
            Step::Malformed(reason) => outcome.record(key, kind, NoteKind::Malformed, Some(reason)),
            Step::ResolveAlias { .. } => unreachable!("resolve answers aliases"),
        }
    }
    // One order every page: the bots (what users open first), then the conversations, then the
    // conditional puts. A page cut part-way is redone whatever the order; a fixed one makes a
    // run repeatable.
    let mut batches: Vec<_> = batches.into_iter().collect();
    batches.sort_by_key(|((table, careful), _)| (*careful, *table != TargetTable::Bots));
    for ((table, careful), pending) in batches {
        let writer = shared.writers.of(table);
        for (key, written) in write_all(writer, pending, careful).await? {
            let kind = kinds_of.get(&key).copied().unwrap_or(Kind::Other);
            let (what, reason) = match written {
                Written::Written => (NoteKind::Written, None),
                Written::AlreadyThere => (NoteKind::AlreadyThere, None),
                Written::Unwritten(r) => (NoteKind::Unwritten, Some(r)),
                Written::Rejected(r) => (NoteKind::Rejected, Some(r)),
            };
            outcome.record(key, kind, what, reason);
        }
    }
    Ok(outcome)
}

/// Source items of one page resolved at once (an alias's owner is a Query when not known yet),
/// by the copy and by the verification.
pub(crate) const RESOLVED_AT_ONCE: usize = 16;

/// Each item's key, kind and step, in page order. An alias's owner is a Query: a page's aliases
/// are looked up several at once, not one latency after another.
async fn steps_of(
    shared: &Shared,
    items: Vec<Item>,
    outcome: &mut PageOutcome,
) -> Result<Vec<(SourceKey, Kind, Step)>, TablesError> {
    let mut keyed = Vec::with_capacity(items.len());
    for item in items {
        match kinds::source_key(&item) {
            Some(key) => keyed.push((key, item)),
            // The table's key schema makes this impossible on AWS; say so rather than panic.
            None => outcome.counts.entry(Kind::Other).or_default().malformed += 1,
        }
    }
    futures_util::stream::iter(keyed)
        .map(|(key, item)| async move {
            let kind = kinds::kind_of(&key);
            let step = resolve(shared, kind, &key, &item).await?;
            Ok::<_, TablesError>((key, kind, step))
        })
        .buffered(RESOLVED_AT_ONCE)
        .try_collect()
        .await
}

/// The step for an item, an alias's owner looked up.
pub async fn resolve(
    shared: &Shared,
    kind: Kind,
    key: &SourceKey,
    item: &Item,
) -> Result<Step, TablesError> {
    Ok(match kinds::step(kind, key, item) {
        Step::ResolveAlias { original_bot_id } => {
            let owner = shared
                .owners
                .owner(&shared.client, &shared.source, &original_bot_id)
                .await?;
            kinds::alias_item(key, item, owner.as_deref())
        }
        step => step,
    })
}

/// Conditional puts of one segment in flight at once.
const CONDITIONAL_IN_FLIGHT: usize = 16;

/// Writes `pending` in batches, or one conditional put each.
async fn write_all(
    writer: &TableWriter,
    pending: Vec<Pending>,
    conditional: bool,
) -> Result<Vec<(SourceKey, Written)>, TablesError> {
    if conditional {
        // One item a call: several calls in flight keep the pace from being one latency an item.
        let puts = futures_util::stream::iter(pending)
            .map(|p| async move { (p.source, writer.put(p.item, true).await) })
            .buffer_unordered(CONDITIONAL_IN_FLIGHT)
            .collect::<Vec<_>>()
            .await;
        return puts
            .into_iter()
            .map(|(key, written)| Ok((key, written?)))
            .collect();
    }
    let mut out = Vec::with_capacity(pending.len());
    let mut pending = pending.into_iter().peekable();
    while pending.peek().is_some() {
        let batch: Vec<Pending> = pending.by_ref().take(BATCH_ITEMS).collect();
        out.extend(writer.write_batch(batch).await?);
    }
    Ok(out)
}
