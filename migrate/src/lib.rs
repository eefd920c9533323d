//! The post-deploy migration of Bedrock Chat's vector store: scan the conversation table for bots,
//! launch one embedding task per bot that has knowledge, track each task to the bot's own verdict,
//! journal everything for resume, and report.
//!
//! The library never prints: progress goes to an [`EventSink`], the outcome to a
//! [`MigrationReport`]. It knows nothing of CloudFormation: it takes a plain [`MigrationTarget`].
//!
//! Entry points: [`plan_migration`] (scan only) then [`execute_plan`], or [`run_migration`] for both.

pub mod bot;
pub mod concurrent;
pub mod copy;
mod ctx;
pub mod error_text;
pub mod events;
mod existing;
pub mod journal;
mod journal_read;
pub mod launch;
pub mod lock;
mod options;
mod plan;
pub mod preflight;
pub mod ratelimit;
pub mod report;
pub mod resume;
pub mod rows;
mod run;
pub mod scan;
pub mod secret;
mod spill;
pub mod state;
pub mod tables;
pub mod target;
pub mod track;

pub use bot::{BotKey, PackedKey};
pub use events::{Event, EventSink, NoEvents};
pub use options::{Clients, Interrupt, MigrateError, MigrationOptions, Resume};
pub use plan::{MALFORMED_KEPT, Plan, PlannedBot, plan_migration};
pub use report::{BotRow, Counts, MigrationReport, Outcome, OutcomeKind, Timings};
pub use rows::{BotRows, NOTABLE_ROWS};
pub use run::{execute_plan, run_migration};
pub use scan::{BotRecord, KnowledgeCounts, MalformedItem, ScanItem};
pub use target::{MigrationTarget, VectorStore};
