//! The words for what a deploy does to the data: one finding per gating resource (what, why,
//! the data's fate, what to do), shared by the terminal view and the pull-request comment. The
//! fate comes from the plan's `data_fate`, so nothing here guesses: a known fate is said as it is.

use cdk_hook::{Action, DataFate, Fate, GuardClass, Replacement, ReplacementPlan, ResourceVerdict};

use super::cells::cause_text;
use super::guides::{self, Guidance};

/// Bedrock Chat's conversation table (construct `Database/ConversationTable`): it holds every
/// conversation and every bot definition.
const CONVERSATION_TABLE: &str = "DatabaseConversationTable";

/// The conversation table's construct id: the name the app's migration guides use for it.
const CONVERSATION_CONSTRUCT: &str = "ConversationTable";

/// One gating resource, in words.
#[derive(Debug, Clone)]
pub struct Finding<'a> {
    pub verdict: &'a ResourceVerdict,
    /// `REPLACEMENT` (the vector store replaced), `DATA LOSS`, `SNAPSHOT ONLY`, `ORPHANED`,
    /// `UNKNOWN`.
    pub headline: &'static str,
    /// "will be replaced", "is destroyed", "is orphaned", ...
    pub verb: String,
    /// Why: the causes, or "removed from the template".
    pub why: String,
    /// What happens to the data.
    pub fate: String,
    /// What to do about it (may be empty).
    pub todo: String,
}

impl Finding<'_> {
    /// The one-line sentence the terminal prints.
    pub fn sentence(&self) -> String {
        let v = self.verdict;
        let mut s = format!(
            "{}: {} ({}) {} ({}): {}.",
            self.headline, v.logical_id, v.resource_type, self.verb, self.why, self.fate
        );
        if !self.todo.is_empty() {
            s.push(' ');
            s.push_str(&self.todo);
        }
        s
    }
}

/// `guidance.next_step` is what re-embeds the vector store when the new stack can (check: run
/// migrate; deploy: it runs by itself).
pub fn findings<'a>(plan: &'a ReplacementPlan, guidance: &Guidance<'_>) -> Vec<Finding<'a>> {
    plan.gating().map(|v| finding(plan, v, guidance)).collect()
}

fn finding<'a>(
    plan: &'a ReplacementPlan,
    v: &'a ResourceVerdict,
    guidance: &Guidance<'_>,
) -> Finding<'a> {
    let trigger = v.guard == GuardClass::MigrationTrigger;
    let headline = match (v.data_fate, v.fate) {
        (DataFate::Replaced, _) if trigger => "REPLACEMENT",
        (DataFate::Replaced, Some(Fate::Retained)) | (DataFate::Orphaned, _) => "ORPHANED",
        (DataFate::DestroyedWithSnapshot, _) | (DataFate::Replaced, Some(Fate::Snapshotted)) => {
            "SNAPSHOT ONLY"
        }
        (DataFate::Unknown, _) => "UNKNOWN",
        _ => "DATA LOSS",
    };
    let todo = if trigger {
        vector_store_todo(plan, v, guidance.next_step)
    } else if v.logical_id.starts_with(CONVERSATION_TABLE) {
        conversation_todo(plan, v, guidance)
    } else {
        generic_todo(v.data_fate)
    };
    Finding {
        verdict: v,
        headline,
        verb: verb(v),
        why: why(v),
        fate: fate_text(v, trigger),
        todo,
    }
}

fn verb(v: &ResourceVerdict) -> String {
    let may = v.replacement == Replacement::May;
    let verb = match v.data_fate {
        DataFate::Replaced if may => "may be replaced",
        DataFate::Replaced => "will be replaced",
        DataFate::Destroyed => "is destroyed",
        DataFate::DestroyedWithSnapshot => "is destroyed with a final snapshot",
        DataFate::Orphaned => "is orphaned",
        DataFate::New => "is new",
        DataFate::Unchanged | DataFate::FollowsCluster => "is unchanged",
        DataFate::Unknown => "may be replaced or removed",
    };
    match &v.renamed_to {
        Some(new) => format!("{verb} (its logical id moves to {new}, a new resource)"),
        None => verb.to_owned(),
    }
}

fn why(v: &ResourceVerdict) -> String {
    if v.action == Action::Remove && v.renamed_to.is_none() {
        return "removed from the template".to_owned();
    }
    let text = cause_text(v);
    match (v.data_fate, text.is_empty()) {
        (DataFate::Unknown, true) => {
            "the change set does not say; compare the templates with `--template-diff`".to_owned()
        }
        (DataFate::Unknown, false) => format!("{text}; whether it replaces is not known"),
        (_, true) => "no cause given".to_owned(),
        (_, false) => text,
    }
}

/// What happens to the data, for the data fate and the old resource's policy.
fn fate_text(v: &ResourceVerdict, trigger: bool) -> String {
    let data = if trigger {
        "all vector items in the Aurora cluster"
    } else {
        "its data"
    };
    let old = match v.fate.unwrap_or(Fate::Unknown) {
        Fate::Deleted => "the old one is deleted with no snapshot (UpdateReplacePolicy Delete)",
        Fate::Snapshotted => {
            "the old one is deleted after a final snapshot (UpdateReplacePolicy Snapshot)"
        }
        Fate::Retained => {
            "the old one stays in the account with its data (UpdateReplacePolicy Retain), unused"
        }
        Fate::Unknown => "what happens to the old one is unknown",
    };
    match v.data_fate {
        DataFate::Replaced if v.replacement == Replacement::May => {
            format!(
                "if it is, a new, empty one takes its place and {data} stay with the old one; {old}"
            )
        }
        DataFate::Replaced => {
            format!("a new, empty one takes its place and {data} stay with the old one; {old}")
        }
        DataFate::Destroyed => {
            format!("it is deleted and {data} with it, no snapshot (DeletionPolicy Delete)")
        }
        DataFate::DestroyedWithSnapshot => format!(
            "it is deleted after a final snapshot (DeletionPolicy Snapshot): {data} are kept only in that snapshot"
        ),
        DataFate::Orphaned => format!(
            "it stays in the account with {data} (DeletionPolicy Retain), but the stack no longer manages or uses it"
        ),
        DataFate::Unknown => format!("{data} may go with it; how is unknown"),
        DataFate::New => "it starts empty: the deploy creates it".to_owned(),
        DataFate::Unchanged | DataFate::FollowsCluster => "nothing happens to the data".to_owned(),
    }
}

fn generic_todo(fate: DataFate) -> String {
    match fate {
        DataFate::Replaced | DataFate::Destroyed | DataFate::Unknown => {
            "Back up what it holds before deploying if you need it.".to_owned()
        }
        DataFate::DestroyedWithSnapshot => {
            "Restore the final snapshot when you need the data again.".to_owned()
        }
        DataFate::Orphaned => {
            "Move what the app still needs out of it first; delete it yourself when done."
                .to_owned()
        }
        DataFate::Unchanged | DataFate::New | DataFate::FollowsCluster => String::new(),
    }
}

/// Re-embedding only when the new stack has something to re-embed into.
fn vector_store_todo(plan: &ReplacementPlan, v: &ResourceVerdict, next_step: &str) -> String {
    if plan.migration_needed {
        return next_step.to_owned();
    }
    let final_snapshot = v.data_fate == DataFate::DestroyedWithSnapshot
        || (v.data_fate == DataFate::Replaced && v.fate == Some(Fate::Snapshotted));
    let kept = if final_snapshot {
        "The vectors are kept in the final snapshot CloudFormation takes (a manual snapshot of \
         the cluster: `aws rds describe-db-cluster-snapshots --snapshot-type manual`)."
    } else if v.data_fate == DataFate::Orphaned {
        "The vectors stay in the old cluster, which keeps running (and billing) outside the stack."
    } else {
        "Nothing keeps the vectors unless a manual snapshot is taken first (`cargo xtask deploy` \
         takes one when asked)."
    };
    let missing = if plan.re_embed_target_removed.contains(&v.logical_id) {
        "vector store"
    } else {
        "embedding task definition"
    };
    format!(
        "The new stack has no {missing} ({} removed): there is nothing to re-embed into. {kept} \
         To get the data back out, restore a snapshot with `cargo xtask restore --snapshot ID` \
         (it needs the stack's cluster for its network; once it is gone, \
         `aws rds restore-db-cluster-from-snapshot`).",
        plan.re_embed_target_removed.join(", ")
    )
}

/// The conversation table holds every conversation and bot: say where the app's data goes (only
/// as far as the plan shows it), what to do first, and the app's guide when there is one.
fn conversation_todo(
    plan: &ReplacementPlan,
    v: &ResourceVerdict,
    guidance: &Guidance<'_>,
) -> String {
    let (to, new_tables) = destination(plan, v);
    let kept = v.data_fate == DataFate::Orphaned
        || (v.data_fate == DataFate::Replaced && v.fate == Some(Fate::Retained));
    // A policy nobody could read is not said to delete: it may.
    let deleted = match v.fate {
        Some(Fate::Deleted | Fate::Snapshotted) if v.data_fate != DataFate::Unknown => "is",
        _ => "may be",
    };
    let convert = if changes_key(v) {
        ", converted to its new key schema"
    } else {
        ""
    };
    let first = match (kept, new_tables) {
        // Bedrock Chat's v2 -> v3 upgrade, recognised by the app's construct ids: this tool
        // copies the data itself.
        (true, Some(tables)) if cdk_hook::tables_move::v3_tables_move(plan).is_some() => format!(
            "The old table keeps them: before users come back, copy its data to {tables}, with \
             the app's own transforms. `cargo xtask deploy` does it after the update (`cargo \
             xtask migrate-tables` after a plain `cdk deploy`)."
        ),
        (true, Some(tables)) => {
            format!("The old table keeps them: before users come back, copy its data to {tables}.")
        }
        (true, None) => "The old table keeps them, outside the stack.".to_owned(),
        (false, Some(tables)) => format!(
            "The old table {deleted} deleted with them: first take an on-demand backup (or \
             export it), then copy the data to {tables}{convert}."
        ),
        (false, None) => format!(
            "The old table {deleted} deleted with them: first take an on-demand backup (or \
             export it)."
        ),
    };
    let guide =
        guides::look(guidance.app_dir, CONVERSATION_CONSTRUCT).sentence(CONVERSATION_CONSTRUCT);
    format!(
        "Conversations and bots: {to}, so after the deploy users see none of theirs. {first} {guide}"
    )
}

/// The replacement's cause is the key schema: the items do not fit the new table as they are.
fn changes_key(v: &ResourceVerdict) -> bool {
    v.causes
        .iter()
        .any(|c| c.property.as_deref() == Some("KeySchema"))
}

/// Where the app moves, in words, and the noun for "copy to ..." when the plan names a place.
/// Only what the plan shows: the table that replaces it under its logical id, a rename, or the
/// successors the template comparison found (same key shape, its references moved there). An
/// added table without that evidence is not named (Bedrock Chat's websocket session table
/// arrived beside the conversation table, not in its place).
fn destination(plan: &ReplacementPlan, v: &ResourceVerdict) -> (String, Option<String>) {
    if let Some(new) = &v.renamed_to {
        return (
            format!("the app moves to {new}, a new, empty table"),
            Some(new.clone()),
        );
    }
    if v.action != Action::Remove {
        let to = if v.replacement == Replacement::Will {
            "the app moves to the new, empty table that replaces it (the same logical id)"
        } else {
            "if it is replaced, the app moves to a new, empty table under the same logical id"
        };
        return (to.to_owned(), Some("the new table".to_owned()));
    }
    match v.successors.as_slice() {
        [] if plan.sources.template => (
            "the app stops using it, and no table in the new template is shown to take its \
             place (no added table with its key took over what referred to it)"
                .to_owned(),
            None,
        ),
        [] => (
            "the app stops using it; where the app keeps them now is not shown (no template \
             was compared)"
                .to_owned(),
            None,
        ),
        [one] => (
            format!(
                "the app moves to a new, empty table ({one}: it has the old table's key, and what \
                 referred to the old table refers to it now)"
            ),
            Some(format!("the new table ({one})")),
        ),
        many => (
            format!(
                "the app moves to new, empty tables ({}: each has the old table's key, and what \
                 referred to the old table refers to them now)",
                many.join(", ")
            ),
            Some("the new tables".to_owned()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The v2 conversation table leaving the stack under `policy`, with `successors`.
    fn removed_table(policy: Option<&str>, successors: &[&str]) -> ResourceVerdict {
        serde_json::from_value(serde_json::json!({
            "logical_id": "DatabaseConversationTable03F3FD7A",
            "resource_type": "AWS::DynamoDB::Table",
            "action": "Remove",
            "replacement": "no",
            "data_fate": match policy {
                Some("retained") => "orphaned",
                Some("deleted") => "destroyed",
                _ => "unknown",
            },
            "fate": policy,
            "guard": "stateful",
            "causes": [],
            "successors": successors,
            "sources": {"disagree": false},
        }))
        .expect("a verdict")
    }

    fn todo_of(v: ResourceVerdict, templates_compared: bool) -> String {
        let mut plan = ReplacementPlan::new("BedrockChatStack".to_owned(), None, vec![v]);
        plan.sources.template = templates_compared;
        let guidance = Guidance {
            next_step: "",
            app_dir: None,
        };
        findings(&plan, &guidance)[0].todo.clone()
    }

    #[test]
    fn a_destination_is_named_only_from_the_plan() {
        let orphaned = todo_of(removed_table(Some("retained"), &["V3Conv"]), true);
        assert!(
            orphaned.starts_with(
                "Conversations and bots: the app moves to a new, empty table (V3Conv: it has the \
                 old table's key, and what referred to the old table refers to it now), so after \
                 the deploy users see none of theirs. The old table keeps them: before users come \
                 back, copy its data to the new table (V3Conv)."
            ),
            "{orphaned}"
        );
        let no_evidence = todo_of(removed_table(Some("deleted"), &[]), true);
        assert!(
            no_evidence.starts_with(
                "Conversations and bots: the app stops using it, and no table in the new \
                 template is shown to take its place (no added table with its key took over what \
                 referred to it), so after the deploy users see none of theirs. The old table is \
                 deleted with them: first take an on-demand backup (or export it). "
            ),
            "{no_evidence}"
        );
        let change_set_only = todo_of(removed_table(None, &[]), false);
        assert!(
            change_set_only
                .contains("where the app keeps them now is not shown (no template was compared)")
                && change_set_only.contains("The old table may be deleted with them"),
            "{change_set_only}"
        );
        for todo in [orphaned, no_evidence, change_set_only] {
            assert!(
                todo.ends_with(
                    "(pass --app-dir to have the review read them for ConversationTable)."
                ),
                "{todo}"
            );
        }
    }
}
