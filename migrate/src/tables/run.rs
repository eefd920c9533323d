//! One table migration start to end: the tables described and checked, the journal opened (or
//! resumed), what an earlier run left unwritten written first, every segment copied, then the
//! verification and the report.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;

use crate::error_text::AwsError;
use crate::events::EventSink;
use crate::interrupt::Interrupt;
use crate::ratelimit::Backoff;
use crate::state;
use crate::tables::TablesError;
use crate::tables::TablesEvent;
use crate::tables::capacity::{self, TableFacts};
use crate::tables::copy::{self, Owners, Shared, Writers};
use crate::tables::counts::{KindCounts, NoteKind};
use crate::tables::journal::{self, TableRef, TableSet, TablesEntry, TablesJournal};
use crate::tables::kinds::{self, Step};
use crate::tables::pace::WritePace;
use crate::tables::report::{PaceReport, TablePace, TablesReport};
use crate::tables::verify;
use crate::tables::write::{TableWriter, Written};

/// The three tables, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TablesTarget {
    /// The v2 conversation table (read only).
    pub source: String,
    /// The v3 conversation table.
    pub conversations: String,
    /// The v3 bot table.
    pub bots: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TablesResume {
    #[default]
    Fresh,
    /// Continue this journal; it must name the same three tables.
    Journal(PathBuf),
}

#[derive(Debug, Clone)]
pub struct TablesOptions {
    pub stack: String,
    pub state_dir: PathBuf,
    pub segments: u32,
    pub resume: TablesResume,
    /// BatchWriteItem (or PutItem) attempts per item before it is reported unwritten.
    pub max_attempts: u32,
    pub backoff: Backoff,
    /// Write units a second for each target table, instead of what DescribeTable says.
    pub write_units_per_second: Option<f64>,
    /// One item in this many is compared field by field in the verification.
    pub sample_every: u64,
    pub verify: bool,
}

impl Default for TablesOptions {
    fn default() -> Self {
        Self {
            stack: "BedrockChatStack".into(),
            state_dir: PathBuf::from(".xtask"),
            segments: 8,
            resume: TablesResume::Fresh,
            max_attempts: 10,
            backoff: Backoff {
                base: Duration::from_millis(100),
                max: Duration::from_secs(10),
            },
            write_units_per_second: None,
            sample_every: 100,
            verify: true,
        }
    }
}

async fn describe_checked(
    client: &Client,
    table: &str,
    role: &'static str,
) -> Result<TableFacts, TablesError> {
    let facts = capacity::describe(client, table).await?;
    if facts.partition_key != "PK" || facts.sort_key.as_deref() != Some("SK") {
        return Err(TablesError::KeySchema {
            table: table.to_owned(),
            role,
            found: format!(
                "{}/{}",
                facts.partition_key,
                facts.sort_key.as_deref().unwrap_or("(no sort key)")
            ),
        });
    }
    Ok(facts)
}

fn table_ref(facts: &TableFacts) -> TableRef {
    TableRef {
        name: facts.name.clone(),
        table_id: facts.table_id.clone(),
    }
}

fn writer(client: &Client, facts: &TableFacts, options: &TablesOptions) -> TableWriter {
    let ceiling = options
        .write_units_per_second
        .unwrap_or_else(|| facts.capacity.write_units_per_second());
    TableWriter {
        client: client.clone(),
        table: facts.name.clone(),
        partition_key: facts.partition_key.clone(),
        sort_key: facts.sort_key.clone(),
        pace: Arc::new(WritePace::new(ceiling)),
        backoff: options.backoff,
        max_attempts: options.max_attempts.max(1),
    }
}

/// Whether `table` holds any item (one Scan of at most one item).
async fn holds_items(client: &Client, table: &str) -> Result<bool, TablesError> {
    let page = client
        .scan()
        .table_name(table)
        .limit(1)
        .send()
        .await
        .map_err(|e| TablesError::Verify {
            source: AwsError::new("Scan", e),
        })?;
    Ok(!page.items().is_empty())
}

pub async fn run_tables_migration(
    client: &Client,
    target: &TablesTarget,
    options: &TablesOptions,
    interrupt: Interrupt,
    events: Arc<dyn EventSink<TablesEvent>>,
) -> Result<TablesReport, TablesError> {
    for new in [&target.conversations, &target.bots] {
        if *new == target.source {
            return Err(TablesError::SameTable(new.clone()));
        }
    }
    let source = describe_checked(client, &target.source, "v2 conversation table").await?;
    let conversations =
        describe_checked(client, &target.conversations, "v3 conversation table").await?;
    let bots = describe_checked(client, &target.bots, "v3 bot table").await?;
    let tables = TableSet {
        source: table_ref(&source),
        conversations: table_ref(&conversations),
        bots: table_ref(&bots),
    };
    let run_id = crate::journal_file::new_run_id();
    let started_at = state::utc_now_rfc3339();
    let (journal, earlier, all_conditional) = match &options.resume {
        TablesResume::Fresh => {
            // A fresh run into tables that already hold items (an earlier run, the app since
            // go-live) never overwrites one: every write is conditional.
            let all_conditional = holds_items(client, &conversations.name).await?
                || holds_items(client, &bots.name).await?;
            let journal = TablesJournal::create(
                &options.state_dir,
                &options.stack,
                &tables,
                options.segments.max(1),
                all_conditional,
                &run_id,
            )?;
            (journal, None, all_conditional)
        }
        TablesResume::Journal(path) => {
            // A resume writes as the run it continues: conditional throughout if that run was.
            let (journal, state) = TablesJournal::reopen(path, &tables, &run_id)?;
            let all_conditional = state.conditional;
            (journal, Some(state), all_conditional)
        }
    };
    let segments = earlier
        .as_ref()
        .map_or(options.segments.max(1), |s| s.segments.max(1));
    let shared = Arc::new(Shared {
        client: client.clone(),
        source: source.name.clone(),
        total_segments: segments,
        writers: Writers {
            conversations: writer(client, &conversations, options),
            bots: writer(client, &bots, options),
        },
        owners: Owners::default(),
        journal,
        interrupt: interrupt.clone(),
        events,
        all_conditional,
    });
    let copy_started = Instant::now();
    let before = earlier
        .as_ref()
        .map(|s| s.counts.clone())
        .unwrap_or_default();
    if let Some(state) = &earlier {
        retry_unwritten(&shared, state).await?;
    }
    let start = earlier.map(|s| s.progress).unwrap_or_default();
    copy::copy_segments(shared.clone(), start, options.resume != TablesResume::Fresh).await?;
    let copy_seconds = copy_started.elapsed().as_secs_f64();
    let interrupted = interrupt.is_stopping();
    let (mut state, _) = journal::read(shared.journal.path(), Some(options.sample_every))?;
    let complete =
        !interrupted && (0..segments).all(|s| matches!(state.progress.get(&s), Some(None)));
    let verify_started = Instant::now();
    let verification = if complete && options.verify {
        Some(
            verify::verify(
                shared.clone(),
                std::mem::take(&mut state.kept_sampled),
                options.sample_every,
                options.backoff,
            )
            .await?,
        )
    } else {
        None
    };
    let total = KindCounts::sum(state.counts.values());
    // Finished only when nothing is left for `--resume`: every page copied, no item unwritten,
    // and the verification ran to its end (an error in it leaves the journal open, so `--resume`
    // verifies again without copying anything).
    if complete && total.unwritten == 0 {
        shared.journal.finish()?;
    }
    let written_now = total.written - KindCounts::sum(before.values()).written;
    let success = complete
        && total.missing() == 0
        && verification
            .as_ref()
            .is_none_or(verify::Verification::agrees);
    Ok(TablesReport {
        stack: options.stack.clone(),
        run_id,
        journal: shared.journal.path().display().to_string(),
        tables,
        counts: state.counts.clone(),
        notes_total: total.already_there
            + total.skipped
            + total.malformed
            + total.unwritten
            + total.rejected,
        notes: state.listed_notes(),
        pace: PaceReport {
            conversations: table_pace(&shared.writers.conversations, &conversations),
            bots: table_pace(&shared.writers.bots, &bots),
            items_per_second: written_now as f64 / copy_seconds.max(1e-3),
            all_conditional,
        },
        verification,
        complete,
        interrupted,
        success,
        started_at,
        finished_at: state::utc_now_rfc3339(),
        copy_seconds,
        verify_seconds: verify_started.elapsed().as_secs_f64(),
    })
}

fn table_pace(writer: &TableWriter, facts: &TableFacts) -> TablePace {
    TablePace {
        capacity: facts.capacity,
        ceiling: writer.pace.ceiling(),
        final_rate: writer.pace.rate(),
        throttled: writer.pace.throttles(),
    }
}

/// Writes, with conditional puts, the items an earlier run left unwritten, each read again from
/// the source (it may have changed or gone since).
async fn retry_unwritten(
    shared: &Shared,
    state: &journal::TablesJournalState,
) -> Result<(), TablesError> {
    for note in state.unwritten.values() {
        let key = &note.key;
        let answer = shared
            .client
            .get_item()
            .table_name(&shared.source)
            .key(
                "PK",
                aws_sdk_dynamodb::types::AttributeValue::S(key.pk.clone()),
            )
            .key(
                "SK",
                aws_sdk_dynamodb::types::AttributeValue::S(key.sk.clone()),
            )
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| TablesError::Source {
                table: shared.source.clone(),
                source: AwsError::new("GetItem", e),
            })?;
        let kind = kinds::kind_of(key);
        let what = match answer.item {
            None => NoteKind::Skipped,
            Some(item) => match copy::resolve(shared, kind, key, &item).await? {
                Step::Write(table, new) => match shared.writers.of(table).put(new, true).await? {
                    Written::Written => NoteKind::Written,
                    Written::AlreadyThere => NoteKind::AlreadyThere,
                    Written::Unwritten(_) => continue,
                    Written::Rejected(_) => NoteKind::Rejected,
                },
                Step::Skip(_) => NoteKind::Skipped,
                Step::Malformed(_) | Step::ResolveAlias { .. } => NoteKind::Malformed,
            },
        };
        shared.journal.append(
            &TablesEntry::Retried {
                key: key.clone(),
                kind,
                what,
            },
            true,
        )?;
    }
    Ok(())
}
