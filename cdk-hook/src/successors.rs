//! Where a removed table's data would go, only on evidence. A table added in the same deploy is
//! not, by being new, where the app moves: Bedrock Chat added its websocket session table beside
//! the conversation table, and later replaced the conversation table with two tables of its own.
//! An added table is the removed one's successor when the templates show both that it takes the
//! removed table's role (a resource that referred to the removed table refers to it instead: the
//! app's functions, their environment and their policies) and that it has the same key shape
//! (the same key attributes, key types and attribute types). A change set alone (no properties)
//! is never evidence.

use serde_json::{Map, Value};

use crate::plan::{Action, ResourceVerdict};
use crate::template_resource::{references, resource_type};

/// The table types whose key shape the evidence compares.
const TABLE_TYPES: &[&str] = &["AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable"];

/// Sets `successors` on each removed table of the root template (not a rename: a renamed table
/// is the same resource under its new id).
pub(crate) fn find_successors(
    verdicts: &mut [ResourceVerdict],
    old_res: &Map<String, Value>,
    new_res: &Map<String, Value>,
) {
    let added: Vec<&str> = verdicts
        .iter()
        .filter(|v| v.action == Action::Add && v.nested_stack.is_none())
        .filter(|v| TABLE_TYPES.contains(&v.resource_type.as_str()))
        .map(|v| v.logical_id.as_str())
        .collect();
    let mut found: Vec<(usize, Vec<String>)> = Vec::new();
    for (i, v) in verdicts.iter().enumerate() {
        let removed_table = v.action == Action::Remove
            && v.nested_stack.is_none()
            && v.renamed_to.is_none()
            && TABLE_TYPES.contains(&v.resource_type.as_str());
        let Some(old_r) = old_res.get(&v.logical_id).filter(|_| removed_table) else {
            continue;
        };
        let takers = takers_of(&v.logical_id, old_res, new_res);
        let mut successors: Vec<String> = added
            .iter()
            .filter(|id| takers.contains(*id))
            .filter(|id| new_res.get(**id).is_some_and(|n| same_key_shape(old_r, n)))
            .map(|id| (*id).to_owned())
            .collect();
        successors.sort();
        found.push((i, successors));
    }
    for (i, successors) in found {
        verdicts[i].successors = successors;
    }
}

/// The logical ids that the resources which referred to `removed` (and are in both templates)
/// refer to in the new template.
fn takers_of<'a>(
    removed: &str,
    old_res: &Map<String, Value>,
    new_res: &'a Map<String, Value>,
) -> Vec<&'a str> {
    let mut takers = Vec::new();
    for (id, old_r) in old_res {
        let Some(new_r) = new_res.get(id) else {
            continue;
        };
        let referred = old_r
            .get("Properties")
            .is_some_and(|p| references(p).iter().any(|(target, _)| *target == removed));
        if referred && let Some(props) = new_r.get("Properties") {
            takers.extend(references(props).into_iter().map(|(target, _)| target));
        }
    }
    takers.sort_unstable();
    takers.dedup();
    takers
}

/// The table's key: `(attribute name, key type, attribute type)` per key attribute, in key order.
fn key_shape(table: &Value) -> Option<Vec<(&str, &str, &str)>> {
    let props = table.get("Properties")?;
    let types: Vec<(&str, &str)> = props
        .get("AttributeDefinitions")?
        .as_array()?
        .iter()
        .filter_map(|d| {
            let name = d.get("AttributeName")?.as_str()?;
            Some((name, d.get("AttributeType")?.as_str()?))
        })
        .collect();
    let mut shape: Vec<(&str, &str, &str)> = Vec::new();
    for key in props.get("KeySchema")?.as_array()? {
        let name = key.get("AttributeName")?.as_str()?;
        let key_type = key.get("KeyType")?.as_str()?;
        let &(_, ty) = types.iter().find(|(n, _)| *n == name)?;
        shape.push((name, key_type, ty));
    }
    // HASH before RANGE whatever the template's order.
    shape.sort_by_key(|&(_, key_type, _)| key_type != "HASH");
    Some(shape)
}

/// Both are tables of one type and their keys are known and the same.
fn same_key_shape(old_r: &Value, new_r: &Value) -> bool {
    resource_type(old_r) == resource_type(new_r)
        && matches!((key_shape(old_r), key_shape(new_r)), (Some(a), Some(b)) if a == b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guard::GuardConfig;
    use crate::replacement_table::ReplacementTable;
    use crate::template_diff::compare_templates;
    use serde_json::json;

    fn table(hash: &str, range: &str) -> Value {
        json!({"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Retain", "Properties": {
            "KeySchema": [
                {"AttributeName": hash, "KeyType": "HASH"},
                {"AttributeName": range, "KeyType": "RANGE"}],
            "AttributeDefinitions": [
                {"AttributeName": hash, "AttributeType": "S"},
                {"AttributeName": range, "AttributeType": "S"}]}})
    }

    fn function(env: Value) -> Value {
        json!({"Type": "AWS::Lambda::Function",
               "Properties": {"Environment": {"Variables": env}}})
    }

    fn successors_of(old: Value, new: Value, id: &str) -> Vec<String> {
        let plan = compare_templates(
            &old,
            &new,
            &GuardConfig::default(),
            ReplacementTable::embedded(),
        );
        let v = plan.verdicts.iter().find(|v| v.logical_id == id).unwrap();
        v.successors.clone()
    }

    /// Bedrock Chat v3's shape: the function's table reference moves from the old table to two
    /// new ones with its key; a third added table with another key is beside it, not a successor.
    #[test]
    fn a_successor_takes_the_references_and_has_the_key() {
        let old = json!({"Resources": {
            "Old": table("PK", "SK"),
            "Fn": function(json!({"TABLE_NAME": {"Ref": "Old"}}))}});
        // Other properties than the old table's (as v3's indexes are): not a rename.
        let other = |mut t: Value| {
            t["Properties"]["BillingMode"] = json!("PAY_PER_REQUEST");
            t
        };
        let new = json!({"Resources": {
            "Conv": other(table("PK", "SK")),
            "Bot": other(table("PK", "SK")),
            "Sessions": table("ConnectionId", "MessagePartId"),
            "Fn": function(json!({
                "CONVERSATION_TABLE_NAME": {"Ref": "Conv"},
                "BOT_TABLE_NAME": {"Fn::GetAtt": ["Bot", "Arn"]},
                "SESSIONS": {"Ref": "Sessions"}}))}});
        assert_eq!(successors_of(old, new, "Old"), ["Bot", "Conv"]);
    }

    /// An added table of the same key that nothing moved to is not named; neither is one that
    /// took the references under another key shape.
    #[test]
    fn no_successor_without_both_kinds_of_evidence() {
        let old = json!({"Resources": {
            "Old": table("PK", "SK"),
            "Fn": function(json!({"TABLE_NAME": {"Ref": "Old"}}))}});
        let new = json!({"Resources": {
            "Alike": table("PK", "SK"),
            "Other": table("UserId", "ConversationId"),
            "Fn": function(json!({"TABLE_NAME": {"Ref": "Other"}})),
            "Unrelated": function(json!({"T": {"Ref": "Alike"}}))}});
        assert!(successors_of(old, new, "Old").is_empty());
    }
}
