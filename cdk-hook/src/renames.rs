//! Renames only on evidence. A logical id that leaves the template while another of the same
//! type arrives is usually two resources (v3 of Bedrock Chat removes its conversation table and
//! adds two new tables with other key schemas). The pair is the same resource under a new id only
//! when the templates show it: the same construct path (`aws:cdk:path` metadata, which is how
//! `cdk refactor` matches resources), or the same properties apart from physical names and
//! references that moved along with it. A change set alone (no properties) is never evidence.

use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::plan::{Action, Cause, Evaluation, Replacement, RequiresRecreation, ResourceVerdict};
use crate::template_resource::resource_type;

/// Properties that are a resource's physical name: a renamed resource may carry a new one.
const NAME_PROPERTIES: &[(&str, &str)] = &[
    ("AWS::DynamoDB::Table", "TableName"),
    ("AWS::DynamoDB::GlobalTable", "TableName"),
    ("AWS::S3::Bucket", "BucketName"),
    ("AWS::RDS::DBCluster", "DBClusterIdentifier"),
    ("AWS::RDS::DBInstance", "DBInstanceIdentifier"),
    ("AWS::Cognito::UserPool", "UserPoolName"),
];

/// Pairs each guarded Remove with the first guarded Add (in logical-id order) that is the same
/// resource: the Remove is reported as replaced by a rename, both carry the other's id.
pub(crate) fn pair_renames(
    verdicts: &mut [ResourceVerdict],
    old_res: &Map<String, Value>,
    new_res: &Map<String, Value>,
) {
    let candidates = |action: Action| -> Vec<usize> {
        let mut found: Vec<usize> = (0..verdicts.len())
            .filter(|&i| verdicts[i].action == action && verdicts[i].guard.is_guarded())
            .filter(|&i| verdicts[i].nested_stack.is_none())
            .collect();
        found.sort_by(|&a, &b| verdicts[a].logical_id.cmp(&verdicts[b].logical_id));
        found
    };
    let (removed, mut added) = (candidates(Action::Remove), candidates(Action::Add));
    let moved = Moved { old_res, new_res };
    for i in removed {
        let Some(old_r) = old_res.get(&verdicts[i].logical_id) else {
            continue;
        };
        let Some(pos) = added.iter().position(|&j| {
            new_res
                .get(&verdicts[j].logical_id)
                .is_some_and(|new_r| moved.same_resource(old_r, new_r))
        }) else {
            continue;
        };
        let j = added.remove(pos);
        let (old, new) = (
            verdicts[i].logical_id.clone(),
            verdicts[j].logical_id.clone(),
        );
        verdicts[j].renamed_from = Some(old.clone());
        mark_renamed(&mut verdicts[i], old, new);
    }
}

fn mark_renamed(removed: &mut ResourceVerdict, old: String, new: String) {
    removed.replacement = Replacement::Will;
    removed.sources.template = Some(Replacement::Will);
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

/// The two resource maps, to tell a reference that moved with a rename from one that changed.
struct Moved<'a> {
    old_res: &'a Map<String, Value>,
    new_res: &'a Map<String, Value>,
}

impl Moved<'_> {
    fn same_resource(&self, old_r: &Value, new_r: &Value) -> bool {
        let ty = resource_type(old_r);
        if ty != resource_type(new_r) {
            return false;
        }
        if let (Some(a), Some(b)) = (cdk_path(old_r), cdk_path(new_r))
            && a == b
        {
            return true;
        }
        let names: HashSet<&str> = NAME_PROPERTIES
            .iter()
            .filter(|(t, _)| *t == ty)
            .map(|(_, p)| *p)
            .collect();
        let props = |r: &Value| -> Map<String, Value> {
            let mut m = r
                .get("Properties")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            m.retain(|k, _| !names.contains(k.as_str()));
            m
        };
        let (a, b) = (props(old_r), props(new_r));
        // Two resources with nothing but defaults are alike, not the same.
        !a.is_empty() && self.same_value(&Value::Object(a), &Value::Object(b))
    }

    fn same_value(&self, a: &Value, b: &Value) -> bool {
        if let (Some(ra), Some(rb)) = (reference(a), reference(b)) {
            return ra.1 == rb.1 && self.same_target(ra.0, rb.0);
        }
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                x.len() == y.len()
                    && x.iter()
                        .all(|(k, v)| y.get(k).is_some_and(|w| self.same_value(v, w)))
            }
            (Value::Array(x), Value::Array(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(v, w)| self.same_value(v, w))
            }
            _ => a == b,
        }
    }

    /// The same logical id, or an id that left the template and one of the same type that
    /// arrived (a reference that moved with a rename).
    fn same_target(&self, old_id: &str, new_id: &str) -> bool {
        old_id == new_id
            || (!self.new_res.contains_key(old_id)
                && !self.old_res.contains_key(new_id)
                && match (self.old_res.get(old_id), self.new_res.get(new_id)) {
                    (Some(a), Some(b)) => resource_type(a) == resource_type(b),
                    _ => false,
                })
    }
}

fn cdk_path(resource: &Value) -> Option<&str> {
    resource.pointer("/Metadata/aws:cdk:path")?.as_str()
}

/// `(logical id, attribute)` of a `Ref` or `Fn::GetAtt` value.
fn reference(v: &Value) -> Option<(&str, Option<&str>)> {
    let map = v.as_object().filter(|m| m.len() == 1)?;
    if let Some(Value::String(id)) = map.get("Ref") {
        return Some((id, None));
    }
    match map.get("Fn::GetAtt")? {
        Value::Array(parts) => Some((parts.first()?.as_str()?, parts.get(1)?.as_str())),
        Value::String(dotted) => Some(
            dotted
                .split_once('.')
                .map_or((dotted.as_str(), None), |(t, a)| (t, Some(a))),
        ),
        _ => None,
    }
}
