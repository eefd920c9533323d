//! The second opinion: compare the deployed template with the synthesized one, property by
//! property, against the generated replacement table. It settles `unknown` (emulators send no
//! `Replacement`), names the cause when the change set gives none, and runs with no AWS at all
//! (`check --template-diff OLD NEW`).

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{Map, Value};

use crate::CdkHookError;
use crate::classify::link_consequences;
use crate::guard::GuardConfig;
use crate::plan::{Action, Cause, Evaluation, Replacement, RequiresRecreation};
use crate::replacement_table::ReplacementTable;
use crate::template_resource::{
    TemplateComparison, cluster_of, policy_fate, recreation, resource_type, resources, verdict,
};

/// Resource attributes besides `Properties` whose change is an in-place update of the stack.
const OTHER_ATTRIBUTES: &[&str] = &[
    "Metadata",
    "DependsOn",
    "Condition",
    "DeletionPolicy",
    "UpdateReplacePolicy",
    "UpdatePolicy",
    "CreationPolicy",
];

/// Parses a template file; the error names the file and says what it is instead.
pub fn parse_template(path: &Path, text: &str) -> Result<Value, CdkHookError> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| CdkHookError::bad_input(path, format!("not valid JSON: {e}")))?;
    check_template(path, &value)?;
    Ok(value)
}

pub(crate) fn check_template(path: &Path, value: &Value) -> Result<(), CdkHookError> {
    match value.get("Resources") {
        Some(Value::Object(_)) => Ok(()),
        _ if value.get("Changes").is_some() => Err(CdkHookError::bad_input(
            path,
            "this is describe-change-set output, not a template; classify it with --describe-file",
        )),
        _ => Err(CdkHookError::bad_input(
            path,
            "not a CloudFormation template (no `Resources` object)",
        )),
    }
}

/// Compares the root templates `old` (deployed) and `new` (synthesized).
pub fn compare_templates(
    old: &Value,
    new: &Value,
    guards: &GuardConfig,
    table: &ReplacementTable,
) -> TemplateComparison {
    let (old_res, new_res) = (resources(old), resources(new));
    let mut out = TemplateComparison::default();
    for (id, new_r) in new_res {
        let ty = resource_type(new_r);
        let Some(old_r) = old_res.get(id) else {
            out.verdicts.push(verdict(
                id,
                ty,
                Action::Add,
                Replacement::No,
                Vec::new(),
                None,
                guards,
            ));
            continue;
        };
        let causes = if resource_type(old_r) != ty {
            vec![Cause {
                requires_recreation: Some(RequiresRecreation::Always),
                ..Cause::property("Type")
            }]
        } else {
            changed(ty, old_r, new_r, table)
        };
        if causes.is_empty() {
            out.unchanged.insert(id.clone());
            continue;
        }
        // CDK's own bookkeeping resource is absent from the spec and never replaced in earnest.
        let replacement = overall(&causes, table.knows(ty) || ty == "AWS::CDK::Metadata");
        let fate = replacement
            .is_replacing()
            .then(|| policy_fate(old_r, "UpdateReplacePolicy"));
        out.verdicts.push(verdict(
            id,
            ty,
            Action::Modify,
            replacement,
            causes,
            fate,
            guards,
        ));
    }
    for (id, old_r) in old_res {
        if !new_res.contains_key(id) {
            let fate = Some(policy_fate(old_r, "DeletionPolicy"));
            out.verdicts.push(verdict(
                id,
                resource_type(old_r),
                Action::Remove,
                Replacement::No,
                Vec::new(),
                fate,
                guards,
            ));
        }
    }
    crate::template_refs::propagate_references(&mut out, old_res, new_res, guards, table);
    for v in &mut out.verdicts {
        v.member_of = [new, old]
            .into_iter()
            .find_map(|t| cluster_of(t, &v.logical_id));
    }
    crate::renames::pair_renames(&mut out.verdicts, old_res, new_res);
    crate::successors::find_successors(&mut out.verdicts, old_res, new_res);
    link_consequences(&mut out.verdicts);
    out
}

fn overall(causes: &[Cause], type_known: bool) -> Replacement {
    let any = |r: RequiresRecreation| causes.iter().any(|c| c.requires_recreation == Some(r));
    if any(RequiresRecreation::Always) {
        Replacement::Will
    } else if any(RequiresRecreation::Conditionally) {
        Replacement::May
    } else if !type_known
        && causes
            .iter()
            .any(|c| c.attribute.as_deref() == Some("Properties"))
    {
        Replacement::Unknown
    } else {
        Replacement::No
    }
}

fn render(v: Option<&Value>) -> Option<String> {
    let mut s = serde_json::to_string(v?).ok()?;
    if s.len() > 200 {
        let cut = (0..=200)
            .rev()
            .find(|&i| s.is_char_boundary(i))
            .unwrap_or(0);
        s.truncate(cut);
        s.push('…');
    }
    Some(s)
}

fn changed(ty: &str, old_r: &Value, new_r: &Value, table: &ReplacementTable) -> Vec<Cause> {
    let (old_p, new_p) = (properties(old_r), properties(new_r));
    let keys: BTreeSet<&String> = old_p
        .iter()
        .chain(new_p.iter())
        .flat_map(|m| m.keys())
        .collect();
    let mut causes = Vec::new();
    for key in keys {
        let (o, n) = (
            old_p.and_then(|m| m.get(key)),
            new_p.and_then(|m| m.get(key)),
        );
        if o == n {
            continue;
        }
        let (path, level) = match table.lookup(ty, key) {
            Some(level) => (key.clone(), Some(level)),
            None => table
                .nested(ty, key)
                .find(|(sub, _)| nested_differs(o, n, sub))
                .map(|(sub, level)| (format!("{key}.{sub}"), Some(level)))
                .unwrap_or_else(|| (key.clone(), None)),
        };
        causes.push(Cause {
            requires_recreation: Some(recreation(level)),
            evaluation: Some(Evaluation::Static),
            change_source: Some("DirectModification".to_owned()),
            before: render(o),
            after: render(n),
            ..Cause::property(&path)
        });
    }
    for attr in OTHER_ATTRIBUTES {
        if old_r.get(attr) != new_r.get(attr) {
            causes.push(Cause {
                property: Some((*attr).to_owned()),
                attribute: Some((*attr).to_owned()),
                requires_recreation: Some(RequiresRecreation::Never),
                evaluation: Some(Evaluation::Static),
                change_source: Some("DirectModification".to_owned()),
                causing_entity: None,
                before: render(old_r.get(attr)),
                after: render(new_r.get(attr)),
            });
        }
    }
    causes
}

fn properties(resource: &Value) -> Option<&Map<String, Value>> {
    resource.get("Properties").and_then(Value::as_object)
}

/// Whether sub-property `sub` differs, looking through arrays element by element.
fn nested_differs(old: Option<&Value>, new: Option<&Value>, sub: &str) -> bool {
    fn field<'v>(v: Option<&'v Value>, sub: &str) -> Option<&'v Value> {
        v.and_then(|v| v.get(sub))
    }
    match (old, new) {
        (Some(Value::Array(a)), Some(Value::Array(b))) => {
            a.len() != b.len() || a.iter().zip(b).any(|(x, y)| x.get(sub) != y.get(sub))
        }
        _ => field(old, sub) != field(new, sub),
    }
}
