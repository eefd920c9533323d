//! The part of the template comparison that follows references: a resource whose own template
//! is unchanged is still replaced when a replacing property points at a replaced resource.

use serde_json::{Map, Value};

use crate::guard::GuardConfig;
use crate::plan::{Action, Cause, Evaluation, Replacement};
use crate::replacement_table::{Causes, ReplacementTable};
use crate::template_resource::{
    TemplateComparison, policy_fate, recreation, references, resource_type, verdict,
};

/// Resources whose template did not change can still be replaced: a replacing property holding a
/// `Ref`/`Fn::GetAtt` of a replaced resource gets a new value (the writer instance's
/// `DBClusterIdentifier` when the cluster is replaced). Repeats until nothing more follows.
pub(crate) fn propagate_references(
    out: &mut TemplateComparison,
    old_res: &Map<String, Value>,
    new_res: &Map<String, Value>,
    guards: &GuardConfig,
    table: &ReplacementTable,
) {
    for _round in 0..new_res.len().max(1) {
        let replaced: std::collections::HashMap<String, Replacement> = out
            .verdicts
            .iter()
            .filter(|v| v.replacement.is_replacing() && v.action == Action::Modify)
            .map(|v| (v.logical_id.clone(), v.replacement))
            .collect();
        let mut grew = false;
        for (id, new_r) in new_res {
            if !old_res.contains_key(id) || replaced.get(id) == Some(&Replacement::Will) {
                continue;
            }
            let ty = resource_type(new_r);
            let Some(props) = new_r.get("Properties").and_then(Value::as_object) else {
                continue;
            };
            for (key, value) in props {
                for (target, attr) in references(value) {
                    let Some(&target_repl) = replaced.get(target).filter(|_| target != id) else {
                        continue;
                    };
                    let entity =
                        attr.map_or_else(|| target.to_owned(), |a| format!("{target}.{a}"));
                    if add_dynamic_cause(
                        out,
                        id,
                        ty,
                        key,
                        &entity,
                        target_repl,
                        guards,
                        table,
                        old_res,
                    ) {
                        grew = true;
                    }
                }
            }
        }
        if !grew {
            break;
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn add_dynamic_cause(
    out: &mut TemplateComparison,
    id: &str,
    ty: &str,
    key: &str,
    entity: &str,
    target_repl: Replacement,
    guards: &GuardConfig,
    table: &ReplacementTable,
    old_res: &Map<String, Value>,
) -> bool {
    let level = table.lookup(ty, key);
    let pos = match out.verdicts.iter().position(|v| v.logical_id == id) {
        Some(p) => p,
        None => {
            out.unchanged.remove(id);
            out.verdicts.push(verdict(
                id,
                ty,
                Action::Modify,
                Replacement::No,
                Vec::new(),
                None,
                guards,
            ));
            out.verdicts.len() - 1
        }
    };
    let v = &mut out.verdicts[pos];
    if v.causes
        .iter()
        .any(|c| c.property.as_deref() == Some(key) && c.causing_entity.as_deref() == Some(entity))
    {
        return false;
    }
    let source = if entity.contains('.') {
        "ResourceAttribute"
    } else {
        "ResourceReference"
    };
    v.causes.push(Cause {
        requires_recreation: Some(recreation(level)),
        evaluation: Some(Evaluation::Dynamic),
        change_source: Some(source.to_owned()),
        causing_entity: Some(entity.to_owned()),
        ..Cause::property(key)
    });
    let follows = match (level, target_repl) {
        (Some(Causes::Yes), Replacement::Will) => Replacement::Will,
        (Some(_), _) => Replacement::May,
        (None, _) => Replacement::No,
    };
    if follows.is_replacing() && (v.replacement == Replacement::No || follows < v.replacement) {
        let was_replacing = v.replacement.is_replacing();
        v.replacement = follows;
        v.sources.template = Some(follows);
        if !was_replacing {
            v.caused_by = entity.split('.').next().map(str::to_owned);
        }
        v.fate = old_res
            .get(id)
            .map(|r| policy_fate(r, "UpdateReplacePolicy"));
    }
    true
}
