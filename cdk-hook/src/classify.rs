//! Change-set resource changes -> verdicts. The rules of docs/change-sets.md; the guarded types
//! come from `GuardConfig`, never from a literal here.

use std::collections::HashMap;

use crate::describe::{ResourceChangeRecord, ScopedChange};
use crate::guard::GuardConfig;
use crate::plan::{
    Action, Cause, Evaluation, Fate, Replacement, RequiresRecreation, ResourceVerdict, Sources,
    Witness,
};

/// Classifies every resource change of a reviewed change set (pages and nested stacks already
/// flattened), pairs renames and links consequences to their root cause.
pub fn classify(changes: &[ScopedChange], guards: &GuardConfig) -> Vec<ResourceVerdict> {
    let mut verdicts: Vec<ResourceVerdict> = changes.iter().map(|c| verdict(c, guards)).collect();
    pair_renames(&mut verdicts);
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
    ResourceVerdict {
        logical_id: rc.logical_resource_id.clone(),
        physical_id: rc.physical_resource_id.clone(),
        resource_type: rc.resource_type.clone(),
        nested_stack: scoped.nested_stack.clone(),
        action,
        replacement,
        guard: guards.class_of(&rc.resource_type),
        causes: rc.details.iter().map(cause).collect(),
        fate,
        caused_by: None,
        renamed_to: None,
        renamed_from: None,
        sources: Sources {
            change_set: Some(replacement),
            followed: Some(Witness::ChangeSet),
            ..Sources::default()
        },
    }
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

/// A guarded resource whose logical id changed shows as Remove old + Add new of the same type
/// in the same stack: the old one is lost all the same, so the Remove is reported as a
/// replacement by its new id. Pairs in change-set order when several candidates exist.
pub(crate) fn pair_renames(verdicts: &mut [ResourceVerdict]) {
    let mut adds: HashMap<(Option<String>, String), Vec<usize>> = HashMap::new();
    for (i, v) in verdicts.iter().enumerate().rev() {
        if v.action == Action::Add && v.guard.is_guarded() {
            adds.entry((v.nested_stack.clone(), v.resource_type.clone()))
                .or_default()
                .push(i);
        }
    }
    for i in 0..verdicts.len() {
        let v = &verdicts[i];
        if v.action != Action::Remove || !v.guard.is_guarded() || v.renamed_to.is_some() {
            continue;
        }
        let Some(j) = adds
            .get_mut(&(v.nested_stack.clone(), v.resource_type.clone()))
            .and_then(Vec::pop)
        else {
            continue;
        };
        let (old, new) = (
            verdicts[i].logical_id.clone(),
            verdicts[j].logical_id.clone(),
        );
        verdicts[j].renamed_from = Some(old.clone());
        let removed = &mut verdicts[i];
        removed.replacement = Replacement::Will;
        removed.renamed_to = Some(new.clone());
        removed.causes.push(Cause {
            property: Some("LogicalResourceId".to_owned()),
            attribute: None,
            requires_recreation: Some(RequiresRecreation::Always),
            evaluation: Some(Evaluation::Static),
            change_source: Some("DirectModification".to_owned()),
            causing_entity: None,
            before: Some(old),
            after: Some(new),
        });
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
