//! One resource of a template, as the template comparison reads it: its type, the references it
//! holds, the fate its policies give the old resource, and the verdict and causes built for it.
//! The comparison (`template_diff.rs`) and its passes (`template_refs.rs`, `renames.rs`,
//! `successors.rs`) all stand on these; none of them is imported back.

use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::guard::GuardConfig;
use crate::plan::{
    Action, Cause, DataFate, Fate, Replacement, RequiresRecreation, ResourceVerdict, Sources,
    Witness,
};
use crate::replacement_table::Causes;

/// The comparison of two templates.
#[derive(Debug, Clone, Default)]
pub struct TemplateComparison {
    /// One verdict per added, removed or changed resource of the root template.
    pub verdicts: Vec<ResourceVerdict>,
    /// Logical ids present in both templates with nothing changed: a change set's `unknown` on
    /// one of them is settled as `no`.
    pub unchanged: HashSet<String>,
}

pub(crate) fn resources(template: &Value) -> &Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    template
        .get("Resources")
        .and_then(Value::as_object)
        .unwrap_or_else(|| EMPTY.get_or_init(Map::new))
}

pub(crate) fn resource_type(resource: &Value) -> &str {
    resource
        .get("Type")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

pub(crate) fn verdict(
    id: &str,
    ty: &str,
    action: Action,
    replacement: Replacement,
    causes: Vec<Cause>,
    fate: Option<Fate>,
    guards: &GuardConfig,
) -> ResourceVerdict {
    ResourceVerdict {
        logical_id: id.to_owned(),
        physical_id: None,
        resource_type: ty.to_owned(),
        nested_stack: None,
        action,
        replacement,
        guard: guards.class_of(ty),
        causes,
        fate,
        caused_by: None,
        member_of: None,
        data_fate: DataFate::Unchanged,
        renamed_to: None,
        renamed_from: None,
        successors: Vec::new(),
        sources: Sources {
            template: Some(replacement),
            followed: Some(Witness::Template),
            ..Sources::default()
        },
    }
}

/// The fate of the old resource under the old template's policy, with CloudFormation's
/// defaults: `Delete`, except `DeletionPolicy` of a cluster and of an instance outside a cluster.
pub fn policy_fate(old_resource: &Value, policy: &str) -> Fate {
    if let Some(p) = old_resource.get(policy).and_then(Value::as_str) {
        return Fate::from_template_policy(p).unwrap_or(Fate::Unknown);
    }
    let ty = resource_type(old_resource);
    let standalone_instance = ty == "AWS::RDS::DBInstance"
        && old_resource
            .pointer("/Properties/DBClusterIdentifier")
            .is_none();
    if policy == "DeletionPolicy" && (ty == "AWS::RDS::DBCluster" || standalone_instance) {
        Fate::Snapshotted
    } else {
        Fate::Deleted
    }
}

/// The cluster an `AWS::RDS::DBInstance` of `template` is a member of (`DBClusterIdentifier`:
/// the referenced logical id, or the literal identifier); `None` for a standalone instance or
/// another type.
pub(crate) fn cluster_of(template: &Value, logical_id: &str) -> Option<String> {
    let r = resources(template).get(logical_id)?;
    if resource_type(r) != "AWS::RDS::DBInstance" {
        return None;
    }
    match r.pointer("/Properties/DBClusterIdentifier")? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(
            references(other)
                .first()
                .map_or_else(|| other.to_string(), |(id, _)| (*id).to_owned()),
        ),
    }
}

/// The fate of a logical id of the old template when it is replaced (`replaced`) or removed.
pub fn template_fate(old_template: &Value, logical_id: &str, replaced: bool) -> Option<Fate> {
    let r = resources(old_template).get(logical_id)?;
    Some(policy_fate(
        r,
        if replaced {
            "UpdateReplacePolicy"
        } else {
            "DeletionPolicy"
        },
    ))
}

pub(crate) fn recreation(level: Option<Causes>) -> RequiresRecreation {
    match level {
        Some(Causes::Yes) => RequiresRecreation::Always,
        Some(Causes::Maybe) => RequiresRecreation::Conditionally,
        None => RequiresRecreation::Never,
    }
}

/// `(logical id, attribute)` of every `Ref`, `Fn::GetAtt` and `Fn::Sub` `${X}` in a value.
pub(crate) fn references(value: &Value) -> Vec<(&str, Option<&str>)> {
    let mut found = Vec::new();
    walk(value, &mut found);
    found
}

fn walk<'a>(value: &'a Value, found: &mut Vec<(&'a str, Option<&'a str>)>) {
    match value {
        Value::Object(map) => {
            if let (1, Some(Value::String(target))) = (map.len(), map.get("Ref")) {
                found.push((target, None));
                return;
            }
            match map.get("Fn::GetAtt") {
                Some(Value::Array(parts)) if map.len() == 1 => {
                    if let (Some(t), attr) = (
                        parts.first().and_then(Value::as_str),
                        parts.get(1).and_then(Value::as_str),
                    ) {
                        found.push((t, attr));
                    }
                    return;
                }
                Some(Value::String(dotted)) if map.len() == 1 => {
                    let (t, attr) = dotted
                        .split_once('.')
                        .map_or((dotted.as_str(), None), |(t, a)| (t, Some(a)));
                    found.push((t, attr));
                    return;
                }
                _ => {}
            }
            if let Some(sub) = map.get("Fn::Sub") {
                let text = match sub {
                    Value::String(s) => Some(s.as_str()),
                    Value::Array(parts) => parts.first().and_then(Value::as_str),
                    _ => None,
                };
                if let Some(text) = text {
                    sub_references(text, found);
                }
            }
            map.values().for_each(|v| walk(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| walk(v, found)),
        _ => {}
    }
}

fn sub_references<'a>(text: &'a str, found: &mut Vec<(&'a str, Option<&'a str>)>) {
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        rest = &rest[start + 2..];
        let Some(end) = rest.find('}') else { break };
        let name = &rest[..end];
        rest = &rest[end + 1..];
        if name.starts_with('!') || name.starts_with("AWS::") {
            continue;
        }
        found.push(
            name.split_once('.')
                .map_or((name, None), |(t, a)| (t, Some(a))),
        );
    }
}
