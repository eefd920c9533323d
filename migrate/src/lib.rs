//! Bedrock Chat's migrations, one folder each, on a floor they share.
//!
//! - [`reembed`]: after v0 -> v1 replaced the vector store, one embedding task per bot, each
//!   followed to the bot's own verdict.
//! - [`tables`]: the v2 -> v3 move of conversations and bots to the new tables.
//! - [`copy`]: the copy-back, the vectors copied from a restored snapshot instead of re-embedded.
//!
//! The floor: the state directory ([`state`]) and its lock ([`lock`]), the journal files
//! ([`journal_file`]), the interrupt switch ([`interrupt`]), progress events ([`events`]), pacing
//! and backoff ([`ratelimit`]), the ECS task ([`ecs_task`]), how errors read ([`error_text`]) and
//! the secret type ([`secret`]).
//!
//! The library never prints: progress goes to an [`EventSink`], each outcome to a report value.

pub mod ecs_task;
pub mod error_text;
pub mod events;
pub mod interrupt;
pub mod journal_file;
pub mod lock;
pub mod ratelimit;
pub mod secret;
pub mod state;

pub mod copy;
pub mod reembed;
pub mod tables;

pub use events::{EventSink, NoEvents};
pub use interrupt::Interrupt;
