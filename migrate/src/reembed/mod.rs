//! The re-embed, the first migration: after the v0 -> v1 upgrade replaced the vector store, scan
//! the conversation table for bots, start one embedding task per bot that has knowledge
//! (`run_task.rs`), follow each to the bot's own verdict (`verdict.rs`), journal everything for
//! resume, and report.
//!
//! Entry points: [`plan_migration`] (scan only) then [`execute_plan`], or [`run_migration`] for
//! both. It knows nothing of CloudFormation: it takes a plain [`MigrationTarget`].

pub mod bot;
pub mod concurrent;
mod ctx;
pub mod events;
mod existing;
pub mod journal;
pub mod journal_state;
pub mod launch;
mod options;
pub mod outcome;
mod plan;
pub mod preflight;
pub mod report;
pub mod resume;
pub mod rows;
mod run;
pub mod run_task;
pub mod scan;
mod spill;
pub mod target;
pub mod track;
pub mod verdict;

pub use bot::{BotKey, PackedKey};
pub use events::Event;
pub use options::{Clients, MigrateError, MigrationOptions, Resume};
pub use outcome::{BotRow, Counts, Outcome, OutcomeKind};
pub use plan::{MALFORMED_KEPT, Plan, PlannedBot, plan_migration};
pub use report::{MigrationReport, Timings};
pub use rows::{BotRows, NOTABLE_ROWS};
pub use run::{execute_plan, run_migration};
pub use scan::{BotRecord, KnowledgeCounts, MalformedItem, ScanItem};
pub use target::{MigrationTarget, VectorStore};
