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

/// The three tables as DescribeTable answered, each checked for the app's key schema.
struct Described {
    source: TableFacts,
    conversations: TableFacts,
    bots: TableFacts,
}

impl Described {
    async fn read(client: &Client, target: &TablesTarget) -> Result<Self, TablesError> {
        for new in [&target.conversations, &target.bots] {
            if *new == target.source {
                return Err(TablesError::SameTable(new.clone()));
            }
        }
        Ok(Self {
            source: describe_checked(client, &target.source, "v2 conversation table").await?,
            conversations: describe_checked(client, &target.conversations, "v3 conversation table")
                .await?,
            bots: describe_checked(client, &target.bots, "v3 bot table").await?,
        })
    }

    fn table_set(&self) -> TableSet {
        TableSet {
            source: table_ref(&self.source),
            conversations: table_ref(&self.conversations),
            bots: table_ref(&self.bots),
        }
    }
}

/// The run's journal, new or resumed, with what the earlier run left and whether every write is
/// conditional.
struct Opened {
    journal: TablesJournal,
    earlier: Option<journal::TablesJournalState>,
    all_conditional: bool,
}

async fn open_journal(
    client: &Client,
    options: &TablesOptions,
    described: &Described,
    run_id: &str,
) -> Result<Opened, TablesError> {
    let tables = described.table_set();
    match &options.resume {
        TablesResume::Fresh => {
            // A fresh run into tables that already hold items (an earlier run, the app since
            // go-live) never overwrites one: every write is conditional.
            let all_conditional = holds_items(client, &described.conversations.name).await?
                || holds_items(client, &described.bots.name).await?;
            let journal = TablesJournal::create(
                &options.state_dir,
                &options.stack,
                &tables,
                options.segments.max(1),
                all_conditional,
                run_id,
            )?;
            Ok(Opened {
                journal,
                earlier: None,
                all_conditional,
            })
        }
        TablesResume::Journal(path) => {
            // A resume writes as the run it continues: conditional throughout if that run was.
            let (journal, state) = TablesJournal::reopen(path, &tables, run_id)?;
            Ok(Opened {
                journal,
                all_conditional: state.conditional,
                earlier: Some(state),
            })
        }
    }
}

pub async fn run_tables_migration(
    client: &Client,
    target: &TablesTarget,
    options: &TablesOptions,
    interrupt: Interrupt,
    events: Arc<dyn EventSink<TablesEvent>>,
) -> Result<TablesReport, TablesError> {
    let described = Described::read(client, target).await?;
    let run_id = crate::journal_file::new_run_id();
    let started_at = state::utc_now_rfc3339();
    let opened = open_journal(client, options, &described, &run_id).await?;
    let earlier = opened.earlier;
    let segments = earlier
        .as_ref()
        .map_or(options.segments.max(1), |s| s.segments.max(1));
    let shared = Arc::new(Shared {
        client: client.clone(),
        source: described.source.name.clone(),
        total_segments: segments,
        writers: Writers {
            conversations: writer(client, &described.conversations, options),
            bots: writer(client, &described.bots, options),
        },
        owners: Owners::default(),
        journal: opened.journal,
        interrupt: interrupt.clone(),
        events,
        all_conditional: opened.all_conditional,
    });
    let copy_started = Instant::now();
    let written_before = earlier
        .as_ref()
        .map_or(0, |s| KindCounts::sum(s.counts.values()).written);
    if let Some(state) = &earlier {
        retry_unwritten(&shared, state).await?;
    }
    let start = earlier.map(|s| s.progress).unwrap_or_default();
    copy::copy_segments(shared.clone(), start, options.resume != TablesResume::Fresh).await?;
    let copied = Copied {
        seconds: copy_started.elapsed().as_secs_f64(),
        written_before,
        interrupted: interrupt.is_stopping(),
    };
    let finished = verify_and_finish(&shared, options, segments, &copied).await?;
    Ok(report(
        options, &described, &shared, run_id, started_at, &copied, finished,
    ))
}

/// How the copy phase went.
struct Copied {
    seconds: f64,
    /// Items the journal counted written before this run.
    written_before: u64,
    interrupted: bool,
}

/// The journal after the copy (and its counts summed over the kinds), the verification's answer,
/// and whether every page was copied.
struct Finished {
    state: journal::TablesJournalState,
    total: KindCounts,
    verification: Option<verify::Verification>,
    complete: bool,
    verify_seconds: f64,
}

/// Verifies a complete copy (when asked), and finishes the journal only when nothing is left for
/// `--resume`: every page copied, no item unwritten, and the verification run to its end (an
/// error in it leaves the journal open, so `--resume` verifies again without copying anything).
async fn verify_and_finish(
    shared: &Arc<Shared>,
    options: &TablesOptions,
    segments: u32,
    copied: &Copied,
) -> Result<Finished, TablesError> {
    let (mut state, _) = journal::read(shared.journal.path(), Some(options.sample_every))?;
    let complete =
        !copied.interrupted && (0..segments).all(|s| matches!(state.progress.get(&s), Some(None)));
    let verify_started = Instant::now();
    let verification = if complete && options.verify {
        let sampled = std::mem::take(&mut state.kept_sampled);
        Some(
            verify::verify(
                shared.clone(),
                sampled,
                options.sample_every,
                options.backoff,
            )
            .await?,
        )
    } else {
        None
    };
    let total = KindCounts::sum(state.counts.values());
    if complete && total.unwritten == 0 {
        shared.journal.finish()?;
    }
    Ok(Finished {
        state,
        total,
        verification,
        complete,
        verify_seconds: verify_started.elapsed().as_secs_f64(),
    })
}

fn report(
    options: &TablesOptions,
    described: &Described,
    shared: &Shared,
    run_id: String,
    started_at: String,
    copied: &Copied,
    finished: Finished,
) -> TablesReport {
    let total = &finished.total;
    let written_now = total.written - copied.written_before;
    let success = finished.complete
        && total.missing() == 0
        && finished
            .verification
            .as_ref()
            .is_none_or(verify::Verification::agrees);
    TablesReport {
        stack: options.stack.clone(),
        run_id,
        journal: shared.journal.path().display().to_string(),
        tables: described.table_set(),
        notes_total: total.already_there
            + total.skipped
            + total.malformed
            + total.unwritten
            + total.rejected,
        notes: finished.state.listed_notes(),
        counts: finished.state.counts,
        pace: PaceReport {
            conversations: table_pace(&shared.writers.conversations, &described.conversations),
            bots: table_pace(&shared.writers.bots, &described.bots),
            items_per_second: written_now as f64 / copied.seconds.max(1e-3),
            all_conditional: shared.all_conditional,
        },
        verification: finished.verification,
        complete: finished.complete,
        interrupted: copied.interrupted,
        success,
        started_at,
        finished_at: state::utc_now_rfc3339(),
        copy_seconds: copied.seconds,
        verify_seconds: finished.verify_seconds,
    }
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
