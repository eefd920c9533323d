//! Bedrock Chat's v2 -> v3 upgrade as a plan shows it: the v2 conversation table leaves the stack
//! and the two v3 tables are added. Recognised by the app's own construct ids (its
//! `cdk/lib/constructs/database.ts` at v2.10.0 and v3.0.0: `Database/ConversationTable`,
//! `Database/ConversationTableV3`, `Database/BotTableV3`; `docs/bedrock-chat-v3-tables.md`,
//! section 1), whose logical ids carry a construct hash after these names.

use crate::plan::{Action, DataFate, ReplacementPlan, ResourceVerdict};

const TABLE: &str = "AWS::DynamoDB::Table";
const V2_CONVERSATIONS: &str = "DatabaseConversationTable";
const V3_CONVERSATIONS: &str = "DatabaseConversationTableV3";
const V3_BOTS: &str = "DatabaseBotTableV3";

/// The v2 table and the v3 tables of the upgrade, by logical id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TablesMove {
    /// The v2 conversation table, removed from the stack.
    pub old_table: String,
    /// Whether it stays in the account (`Orphaned`, DeletionPolicy Retain, as from v2.10.0) or
    /// is deleted with every conversation and bot (from below v2.10.0).
    pub old_fate: DataFate,
    pub conversations: String,
    pub bots: String,
}

impl TablesMove {
    /// The old table keeps its data after the deploy, so the migration can copy it.
    pub fn source_survives(&self) -> bool {
        self.old_fate == DataFate::Orphaned
    }
}

fn table(
    plan: &ReplacementPlan,
    action: Action,
    matches: impl Fn(&str) -> bool,
) -> Option<&ResourceVerdict> {
    plan.resources.iter().find(|r| {
        r.resource_type == TABLE
            && r.action == action
            && r.nested_stack.is_none()
            && matches(&r.logical_id)
    })
}

/// The upgrade, when `plan` is it.
pub fn v3_tables_move(plan: &ReplacementPlan) -> Option<TablesMove> {
    let old = table(plan, Action::Remove, |id| {
        id.starts_with(V2_CONVERSATIONS) && !id.starts_with(V3_CONVERSATIONS)
    })?;
    let conversations = table(plan, Action::Add, |id| id.starts_with(V3_CONVERSATIONS))?;
    let bots = table(plan, Action::Add, |id| id.starts_with(V3_BOTS))?;
    Some(TablesMove {
        old_table: old.logical_id.clone(),
        old_fate: old.data_fate,
        conversations: conversations.logical_id.clone(),
        bots: bots.logical_id.clone(),
    })
}
