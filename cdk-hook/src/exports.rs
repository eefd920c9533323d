//! Exports that another stack imports and the new template removes or changes. CloudFormation
//! refuses such an update ("You can't modify or remove an output value that is referenced by
//! another stack": AWS CloudFormation User Guide, "Get exported outputs from a deployed
//! CloudFormation stack"), after the deploy has begun; Bedrock Chat's published APIs
//! (`ApiPublishmentStack<id>`) import the app's table exports, and v3 moves
//! `BedrockClaudeChatConversationTableName` to the new table (`docs/bedrock-chat-v3-tables.md`,
//! section 1). The review names the importing stacks before anything runs (ListImports: AWS
//! CloudFormation API Reference, "ListImports").

use std::collections::BTreeMap;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::CdkHookError;
use migrate::error_text::AwsFailure as _;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportChange {
    /// No output of the new template exports the name.
    Removed,
    /// An output of the new template exports the name with another value.
    ValueChanged,
}

/// An export of the deployed stack that the new template removes or changes, with the stacks
/// that import it (empty: nothing imports it, and CloudFormation lets the change through).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportInUse {
    pub export_name: String,
    /// The output that exports it in the deployed template.
    pub output: String,
    pub change: ExportChange,
    pub importers: Vec<String>,
}

/// An export name as the template writes it, resolved where only the stack name is needed (a
/// plain string, `Fn::Sub` or `Fn::Join` over `AWS::StackName`); `None` otherwise.
fn resolve_name(name: &Value, stack: &str) -> Option<String> {
    match name {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) if o.len() == 1 => {
            let (function, args) = o.iter().next()?;
            match function.as_str() {
                "Fn::Sub" => {
                    let text = args.as_str()?.replace("${AWS::StackName}", stack);
                    (!text.contains("${")).then_some(text)
                }
                "Fn::Join" => {
                    let [sep, parts] = args.as_array()?.as_slice() else {
                        return None;
                    };
                    let parts = parts
                        .as_array()?
                        .iter()
                        .map(|p| match p {
                            Value::Object(r) if r.get("Ref") == Some(&"AWS::StackName".into()) => {
                                Some(stack.to_owned())
                            }
                            other => resolve_name(other, stack),
                        })
                        .collect::<Option<Vec<_>>>()?;
                    Some(parts.join(sep.as_str()?))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// Export name -> (output logical id, value as written) of a template.
fn exports_of(template: &Value, stack: &str) -> BTreeMap<String, (String, Value)> {
    let Some(outputs) = template.get("Outputs").and_then(Value::as_object) else {
        return BTreeMap::new();
    };
    outputs
        .iter()
        .filter_map(|(id, output)| {
            let name = resolve_name(output.get("Export")?.get("Name")?, stack)?;
            let value = output.get("Value").cloned().unwrap_or(Value::Null);
            Some((name, (id.clone(), value)))
        })
        .collect()
}

/// Every export of `old` that `new` removes or gives another value (the value compared as the
/// template writes it: a `Ref` to another resource is another value).
pub fn changed_exports(old: &Value, new: &Value, stack: &str) -> Vec<ExportInUse> {
    let after = exports_of(new, stack);
    exports_of(old, stack)
        .into_iter()
        .filter_map(|(name, (output, value))| {
            let change = match after.get(&name) {
                None => ExportChange::Removed,
                Some((_, new_value)) if *new_value != value => ExportChange::ValueChanged,
                Some(_) => return None,
            };
            Some(ExportInUse {
                export_name: name,
                output,
                change,
                importers: Vec::new(),
            })
        })
        .collect()
}

/// The stacks that import `export_name` (every page of ListImports).
pub async fn importers(cfn: &Client, export_name: &str) -> Result<Vec<String>, CdkHookError> {
    let mut stacks = Vec::new();
    let mut pages = cfn
        .list_imports()
        .export_name(export_name)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        match page {
            Ok(page) => stacks.extend(page.imports().iter().cloned()),
            // "Export '<name>' is not imported by any stack.": nothing to refuse the update.
            Err(e)
                if e.code() == Some("ValidationError")
                    && e.message().is_some_and(|m| m.contains("not imported")) =>
            {
                break;
            }
            Err(e) => return Err(CdkHookError::aws("ListImports", e)),
        }
    }
    Ok(stacks)
}

/// The changed exports of the deployed `old` template that other stacks import.
pub async fn exports_in_use(
    cfn: &Client,
    old: &Value,
    new: &Value,
    stack: &str,
) -> Result<Vec<ExportInUse>, CdkHookError> {
    let mut in_use = Vec::new();
    for mut export in changed_exports(old, new, stack) {
        export.importers = importers(cfn, &export.export_name).await?;
        if !export.importers.is_empty() {
            in_use.push(export);
        }
    }
    Ok(in_use)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_moved_or_removed_export_is_a_change_and_a_kept_one_is_not() {
        let old = json!({"Outputs": {
            "ConversationTableName": {"Value": {"Ref": "DatabaseConversationTable03F3FD7A"},
                "Export": {"Name": "BedrockClaudeChatConversationTableName"}},
            "TableAccessRoleArn": {"Value": {"Fn::GetAtt": ["Role", "Arn"]},
                "Export": {"Name": "BedrockClaudeChatTableAccessRoleArn"}},
            "Gone": {"Value": "x", "Export": {"Name": {"Fn::Sub": "${AWS::StackName}-gone"}}}
        }});
        let new = json!({"Outputs": {
            "ConversationTableNameV3": {"Value": {"Ref": "DatabaseConversationTableV3C1D85773"},
                "Export": {"Name": "BedrockClaudeChatConversationTableName"}},
            "TableAccessRoleArn": {"Value": {"Fn::GetAtt": ["Role", "Arn"]},
                "Export": {"Name": "BedrockClaudeChatTableAccessRoleArn"}}
        }});
        let changed = changed_exports(&old, &new, "S");
        let names: Vec<(&str, ExportChange)> = changed
            .iter()
            .map(|e| (e.export_name.as_str(), e.change))
            .collect();
        assert_eq!(
            names,
            [
                (
                    "BedrockClaudeChatConversationTableName",
                    ExportChange::ValueChanged
                ),
                ("S-gone", ExportChange::Removed)
            ]
        );
    }

    #[test]
    fn names_over_the_stack_name_are_resolved() {
        let join = json!({"Fn::Join": ["-", [{"Ref": "AWS::StackName"}, "x"]]});
        assert_eq!(resolve_name(&join, "S").as_deref(), Some("S-x"));
        let other = json!({"Fn::Sub": "${AWS::Region}-x"});
        assert_eq!(resolve_name(&other, "S"), None);
    }
}
