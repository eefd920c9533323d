//! The words for what a deploy does to the data: one finding per gating resource (what, why,
//! the data's fate, what to do), shared by the terminal view and the pull-request comment. The
//! fate comes from the plan's `data_fate`, so nothing here guesses: a known fate is said as it is.

use cdk_hook::{Action, DataFate, Fate, GuardClass, Replacement, ReplacementPlan, ResourceVerdict};

/// Bedrock Chat's conversation table (construct `Database/ConversationTable`): it holds every
/// conversation and every bot definition.
const CONVERSATION_TABLE: &str = "DatabaseConversationTable";

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

/// `next_step` is what re-embeds the vector store when the new stack can (check: run migrate;
/// deploy: it runs by itself).
pub fn findings<'a>(plan: &'a ReplacementPlan, next_step: &str) -> Vec<Finding<'a>> {
    plan.gating().map(|v| finding(plan, v, next_step)).collect()
}

fn finding<'a>(plan: &'a ReplacementPlan, v: &'a ResourceVerdict, next_step: &str) -> Finding<'a> {
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
        vector_store_todo(plan, v, next_step)
    } else if v.logical_id.starts_with(CONVERSATION_TABLE) {
        conversation_todo(plan, v)
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
    let text = super::cause_text(v);
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
        DataFate::Unchanged | DataFate::FollowsCluster => String::new(),
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

/// The conversation table holds every conversation and bot: say where the app's data goes and
/// what to do first.
fn conversation_todo(plan: &ReplacementPlan, v: &ResourceVerdict) -> String {
    let mut new_tables: Vec<&str> = plan
        .resources
        .iter()
        .filter(|r| r.action == Action::Add && r.resource_type == "AWS::DynamoDB::Table")
        .map(|r| r.logical_id.as_str())
        .collect();
    // Sorted, so the sentence reads the same whatever order the review listed them in.
    new_tables.sort_unstable();
    let to = if new_tables.is_empty() {
        "a new, empty table".to_owned()
    } else {
        format!("new, empty tables ({})", new_tables.join(", "))
    };
    let first = if v.data_fate == DataFate::Orphaned {
        "The old table keeps them: before users come back, copy its data to the new tables \
         (Bedrock Chat's migration guide for this release has the script)."
    } else {
        "The old table is deleted with them: first take an on-demand backup (or export it), \
         then copy the data to the new tables (Bedrock Chat's migration guide for this release \
         has the script)."
    };
    format!(
        "Conversations and bots: the app moves to {to}, so after the deploy users see none of \
         theirs. {first}"
    )
}
