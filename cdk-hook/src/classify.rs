//! Change-set resource changes -> verdicts. The rules of docs/change-sets.md; the guarded types
//! come from `GuardConfig`, never from a literal here.

use std::collections::HashMap;

use crate::describe::{ResourceChangeRecord, ScopedChange};
use crate::guard::GuardConfig;
use crate::plan::{
    Action, Cause, DataFate, Evaluation, Fate, Replacement, RequiresRecreation, ResourceVerdict,
    Sources, Witness,
};

/// Classifies every resource change of a reviewed change set (pages and nested stacks already
/// flattened) and links consequences to their root cause. Renames are not paired here: a change
/// set lists no properties, so it holds no evidence that a Remove and an Add are one resource
/// (the template comparison pairs them, see `renames`).
pub fn classify(changes: &[ScopedChange], guards: &GuardConfig) -> Vec<ResourceVerdict> {
    let mut verdicts: Vec<ResourceVerdict> = changes.iter().map(|c| verdict(c, guards)).collect();
    link_consequences(&mut verdicts);
    verdicts
}

fn verdict(scoped: &ScopedChange, guards: &GuardConfig) -> ResourceVerdict {
    let rc: &ResourceChangeRecord = &scoped.change;
    // An action we do not know is treated like a Modify: its Replacement field still speaks.
    let action = rc
        .action
        .as_deref()
        .and_then(Action::parse)
        .unwrap_or(Action::Modify);
    let replacement = match action {
        Action::Add | Action::Import | Action::Remove => Replacement::No,
        Action::Modify | Action::Dynamic => match rc.replacement.as_deref() {
            Some("True") => Replacement::Will,
            Some("Conditional") => Replacement::May,
            Some("False") => Replacement::No,
            _ => Replacement::Unknown,
        },
    };
    let fate = if replacement.is_replacing() || action == Action::Remove {
        Some(
            rc.policy_action
                .as_deref()
                .and_then(Fate::from_policy_action)
                .unwrap_or(Fate::Unknown),
        )
    } else if replacement == Replacement::Unknown {
        // The old resource may go away; without a policy action we cannot tell how.
        rc.policy_action
            .as_deref()
            .and_then(Fate::from_policy_action)
    } else {
        None
    };
    let causes: Vec<Cause> = rc.details.iter().map(cause).collect();
    let member_of = cluster_member(&rc.resource_type, &causes);
    ResourceVerdict {
        logical_id: rc.logical_resource_id.clone(),
        physical_id: rc.physical_resource_id.clone(),
        resource_type: rc.resource_type.clone(),
        nested_stack: scoped.nested_stack.clone(),
        action,
        replacement,
        guard: guards.class_of(&rc.resource_type),
        causes,
        fate,
        caused_by: None,
        member_of,
        data_fate: DataFate::Unchanged,
        renamed_to: None,
        renamed_from: None,
        successors: Vec::new(),
        sources: Sources {
            change_set: Some(replacement),
            followed: Some(Witness::ChangeSet),
            ..Sources::default()
        },
    }
}

/// An instance whose `DBClusterIdentifier` changes through a reference (its cluster is
/// replaced), or had a value before, is an Aurora cluster member: it holds no data.
fn cluster_member(resource_type: &str, causes: &[Cause]) -> Option<String> {
    if resource_type != "AWS::RDS::DBInstance" {
        return None;
    }
    causes
        .iter()
        .filter(|c| c.property.as_deref() == Some("DBClusterIdentifier"))
        .find_map(|c| {
            c.causing_logical_id()
                .map(str::to_owned)
                .or_else(|| c.before.clone())
        })
}

fn cause(d: &crate::describe::ChangeDetail) -> Cause {
    let t = d.target.as_ref();
    let attribute = t.and_then(|t| t.attribute.clone());
    Cause {
        property: t.and_then(|t| t.name.clone()).or_else(|| attribute.clone()),
        attribute,
        requires_recreation: t
            .and_then(|t| t.requires_recreation.as_deref())
            .and_then(RequiresRecreation::parse),
        evaluation: d.evaluation.as_deref().and_then(Evaluation::parse),
        change_source: d.change_source.clone(),
        causing_entity: d.causing_entity.clone(),
        before: t.and_then(|t| t.before_value.clone()),
        after: t.and_then(|t| t.after_value.clone()),
    }
}

/// A replacement whose recreating causes are all dynamic references to another replaced
/// resource in the same stack is a consequence of it (the writer instance of a replaced
/// cluster, through `DBClusterIdentifier`).
pub(crate) fn link_consequences(verdicts: &mut [ResourceVerdict]) {
    let replaced: HashMap<(Option<String>, String), ()> = verdicts
        .iter()
        .filter(|v| v.loses_old())
        .map(|v| ((v.nested_stack.clone(), v.logical_id.clone()), ()))
        .collect();
    for v in verdicts.iter_mut() {
        if !v.replacement.is_replacing() || v.caused_by.is_some() {
            continue;
        }
        let mut root: Option<&str> = None;
        let mut all_follow = true;
        for c in v.causes.iter().filter(|c| c.recreates()) {
            let dynamic = c.evaluation == Some(Evaluation::Dynamic)
                || matches!(
                    c.change_source.as_deref(),
                    Some("ResourceReference" | "ResourceAttribute")
                );
            match c.causing_logical_id().filter(|e| *e != v.logical_id) {
                Some(e)
                    if dynamic
                        && replaced.contains_key(&(v.nested_stack.clone(), e.to_owned())) =>
                {
                    root.get_or_insert(e);
                }
                _ => all_follow = false,
            }
        }
        let root = root.filter(|_| all_follow).map(str::to_owned);
        if root.is_some() {
            v.caused_by = root;
        }
    }
}
