//! A neutral, owned copy of `DescribeChangeSet` answers. Two doors lead in: the SDK's types
//! (`From`) and the JSON that `aws cloudformation describe-change-set` prints (serde, PascalCase
//! keys). Both feed the same classification, so the live path and `--describe-file` cannot drift.
//! Enumerations stay strings here: a value AWS adds tomorrow must not fail a review.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_cloudformation::types as sdk;
use serde::{Deserialize, Serialize};

use crate::CdkHookError;

/// One page of one change set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChangeSetDescription {
    #[serde(default)]
    pub change_set_id: Option<String>,
    #[serde(default)]
    pub change_set_name: Option<String>,
    #[serde(default)]
    pub stack_id: Option<String>,
    #[serde(default)]
    pub stack_name: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub status_reason: Option<String>,
    #[serde(default)]
    pub execution_status: Option<String>,
    #[serde(default)]
    pub parent_change_set_id: Option<String>,
    #[serde(default)]
    pub root_change_set_id: Option<String>,
    #[serde(default)]
    pub next_token: Option<String>,
    #[serde(default)]
    pub changes: Vec<Change>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Change {
    #[serde(default, rename = "Type")]
    pub change_type: Option<String>,
    #[serde(default)]
    pub resource_change: Option<ResourceChangeRecord>,
}

/// `Changes[].ResourceChange`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResourceChangeRecord {
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub logical_resource_id: String,
    #[serde(default)]
    pub physical_resource_id: Option<String>,
    #[serde(default)]
    pub resource_type: String,
    /// `True` | `False` | `Conditional`; absent on Add/Remove, and always absent from moto.
    #[serde(default)]
    pub replacement: Option<String>,
    #[serde(default)]
    pub policy_action: Option<String>,
    #[serde(default)]
    pub scope: Vec<String>,
    #[serde(default)]
    pub details: Vec<ChangeDetail>,
    /// On an `AWS::CloudFormation::Stack` change: the nested stack's change set.
    #[serde(default)]
    pub change_set_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChangeDetail {
    #[serde(default)]
    pub target: Option<ChangeTarget>,
    #[serde(default)]
    pub evaluation: Option<String>,
    #[serde(default)]
    pub change_source: Option<String>,
    #[serde(default)]
    pub causing_entity: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChangeTarget {
    #[serde(default)]
    pub attribute: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub requires_recreation: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub before_value: Option<String>,
    #[serde(default)]
    pub after_value: Option<String>,
}

/// A resource change with the nested-stack path it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct ScopedChange {
    /// Logical ids of the enclosing nested stacks joined by `/`; `None` for the root stack.
    pub nested_stack: Option<String>,
    pub change: ResourceChangeRecord,
}

/// Every page of a change set and of its nested change sets, flattened.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewedChangeSet {
    pub stack_name: String,
    pub change_set_id: Option<String>,
    pub changes: Vec<ScopedChange>,
}

fn owned(s: Option<&str>) -> Option<String> {
    s.map(str::to_owned)
}

impl From<&sdk::ResourceChange> for ResourceChangeRecord {
    fn from(rc: &sdk::ResourceChange) -> Self {
        Self {
            action: rc.action().map(|a| a.as_str().to_owned()),
            logical_resource_id: rc.logical_resource_id().unwrap_or_default().to_owned(),
            physical_resource_id: owned(rc.physical_resource_id()),
            resource_type: rc.resource_type().unwrap_or_default().to_owned(),
            replacement: rc.replacement().map(|r| r.as_str().to_owned()),
            policy_action: rc.policy_action().map(|p| p.as_str().to_owned()),
            scope: rc.scope().iter().map(|s| s.as_str().to_owned()).collect(),
            details: rc.details().iter().map(ChangeDetail::from).collect(),
            change_set_id: owned(rc.change_set_id()),
        }
    }
}

impl From<&sdk::ResourceChangeDetail> for ChangeDetail {
    fn from(d: &sdk::ResourceChangeDetail) -> Self {
        Self {
            target: d.target().map(|t| ChangeTarget {
                attribute: t.attribute().map(|a| a.as_str().to_owned()),
                name: owned(t.name()),
                requires_recreation: t.requires_recreation().map(|r| r.as_str().to_owned()),
                path: owned(t.path()),
                before_value: owned(t.before_value()),
                after_value: owned(t.after_value()),
            }),
            evaluation: d.evaluation().map(|e| e.as_str().to_owned()),
            change_source: d.change_source().map(|c| c.as_str().to_owned()),
            causing_entity: owned(d.causing_entity()),
        }
    }
}

impl From<&DescribeChangeSetOutput> for ChangeSetDescription {
    fn from(o: &DescribeChangeSetOutput) -> Self {
        Self {
            change_set_id: owned(o.change_set_id()),
            change_set_name: owned(o.change_set_name()),
            stack_id: owned(o.stack_id()),
            stack_name: owned(o.stack_name()),
            status: o.status().map(|s| s.as_str().to_owned()),
            status_reason: owned(o.status_reason()),
            execution_status: o.execution_status().map(|s| s.as_str().to_owned()),
            parent_change_set_id: owned(o.parent_change_set_id()),
            root_change_set_id: owned(o.root_change_set_id()),
            next_token: owned(o.next_token()),
            changes: o
                .changes()
                .iter()
                .map(|c| Change {
                    change_type: c.r#type().map(|t| t.as_str().to_owned()),
                    resource_change: c.resource_change().map(ResourceChangeRecord::from),
                })
                .collect(),
        }
    }
}

/// Parses one `describe-change-set` JSON file; the error names the file and says what is wrong.
pub fn parse_describe_json(path: &Path, text: &str) -> Result<ChangeSetDescription, CdkHookError> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| CdkHookError::bad_input(path, format!("not valid JSON: {e}")))?;
    let Some(obj) = value.as_object() else {
        return Err(CdkHookError::bad_input(
            path,
            "not `aws cloudformation describe-change-set` output (expected a JSON object with `Changes`)",
        ));
    };
    if !obj.contains_key("Changes") {
        let hint = if obj.contains_key("Resources") {
            "this is a CloudFormation template; compare templates with --template-diff OLD NEW"
        } else {
            "not `aws cloudformation describe-change-set` output (no `Changes` key)"
        };
        return Err(CdkHookError::bad_input(path, hint));
    }
    serde_json::from_value(value).map_err(|e| {
        CdkHookError::bad_input(path, format!("malformed describe-change-set output: {e}"))
    })
}

const NESTED_STACK_TYPE: &str = "AWS::CloudFormation::Stack";

/// Joins pages (same change set id, in the order given) and nested change sets (reached through
/// the `ChangeSetId` of their parent's `AWS::CloudFormation::Stack` change) into one list.
/// The root is the change set without a parent among the pages.
pub fn assemble(pages: Vec<ChangeSetDescription>) -> ReviewedChangeSet {
    let mut order: Vec<String> = Vec::new();
    let mut by_id: HashMap<String, Vec<ChangeSetDescription>> = HashMap::new();
    for (i, page) in pages.into_iter().enumerate() {
        // A hand-made file may lack the id; each such file is then its own change set.
        let id = page
            .change_set_id
            .clone()
            .unwrap_or_else(|| format!("#file{i}"));
        if !by_id.contains_key(&id) {
            order.push(id.clone());
        }
        by_id.entry(id).or_default().push(page);
    }
    let ids: HashSet<&String> = order.iter().collect();
    let is_root = |id: &String| {
        let first = &by_id[id][0];
        first
            .parent_change_set_id
            .as_ref()
            .is_none_or(|p| !ids.contains(p))
    };
    let roots: Vec<String> = order.iter().filter(|id| is_root(id)).cloned().collect();
    let first_root = roots.first().map(|id| &by_id[id][0]);
    let stack_name = first_root
        .and_then(|p| p.stack_name.clone())
        .unwrap_or_default();
    let change_set_id = first_root.and_then(|p| p.change_set_id.clone());

    let mut changes = Vec::new();
    let mut visited = HashSet::new();
    for root in &roots {
        collect(root, None, &by_id, &mut visited, &mut changes);
    }
    // Nested change sets whose parent's Stack change was not among the files.
    for id in &order {
        if !visited.contains(id) {
            let name = by_id[id][0]
                .stack_name
                .clone()
                .unwrap_or_else(|| id.clone());
            collect(id, Some(name), &by_id, &mut visited, &mut changes);
        }
    }
    ReviewedChangeSet {
        stack_name,
        change_set_id,
        changes,
    }
}

fn collect(
    id: &str,
    scope: Option<String>,
    by_id: &HashMap<String, Vec<ChangeSetDescription>>,
    visited: &mut HashSet<String>,
    out: &mut Vec<ScopedChange>,
) {
    if !visited.insert(id.to_owned()) {
        return;
    }
    for page in &by_id[id] {
        for rc in page
            .changes
            .iter()
            .filter_map(|c| c.resource_change.as_ref())
        {
            out.push(ScopedChange {
                nested_stack: scope.clone(),
                change: rc.clone(),
            });
            let child = rc
                .change_set_id
                .as_deref()
                .filter(|c| by_id.contains_key(*c));
            if let (true, Some(child)) = (rc.resource_type == NESTED_STACK_TYPE, child) {
                let child_scope = match &scope {
                    Some(s) => format!("{s}/{}", rc.logical_resource_id),
                    None => rc.logical_resource_id.clone(),
                };
                collect(child, Some(child_scope), by_id, visited, out);
            }
        }
    }
}

/// The nested change sets a page points to (for the live path's recursion).
pub(crate) fn nested_change_set_ids(page: &ChangeSetDescription) -> Vec<String> {
    page.changes
        .iter()
        .filter_map(|c| c.resource_change.as_ref())
        .filter(|rc| rc.resource_type == NESTED_STACK_TYPE)
        .filter_map(|rc| rc.change_set_id.clone())
        .collect()
}
