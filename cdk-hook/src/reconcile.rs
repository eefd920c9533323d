//! Merges the change set's verdicts with the template comparison's into one plan. The change
//! set is CloudFormation's own statement and wins when it speaks; the template comparison fills
//! what it leaves open (`unknown`, missing causes, missing policy action) and every
//! disagreement is kept visible in `sources`.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use crate::CdkHookError;
use crate::classify::{classify, link_consequences};
use crate::describe::{ReviewedChangeSet, assemble, parse_describe_json};
use crate::guard::GuardConfig;
use crate::plan::{Action, Replacement, ReplacementPlan, ResourceVerdict, ReviewSources, Witness};
use crate::replacement_table::ReplacementTable;
use crate::template_diff::{compare_templates, parse_template};
use crate::template_resource::{TemplateComparison, cluster_of, template_fate};

/// The deployed (`old`) and synthesized (`new`) root templates, when both are at hand.
#[derive(Debug, Clone, Copy)]
pub struct Templates<'a> {
    pub old: &'a Value,
    pub new: &'a Value,
}

/// The plan for a reviewed change set, with the template comparison as second opinion.
pub fn plan_from_change_set(
    reviewed: &ReviewedChangeSet,
    templates: Option<Templates<'_>>,
    guards: &GuardConfig,
    table: &ReplacementTable,
) -> ReplacementPlan {
    let mut verdicts = classify(&reviewed.changes, guards);
    let sources = match templates {
        Some(t) => {
            let comparison = compare_templates(t.old, t.new, guards, table);
            verdicts = merge(verdicts, comparison, t);
            ReviewSources::both()
        }
        None => ReviewSources::only(
            true,
            "template comparison skipped: the deployed or the new template is missing or not \
             a JSON template; classified from the change set alone",
        ),
    };
    ReplacementPlan::new(
        reviewed.stack_name.clone(),
        reviewed.change_set_id.clone(),
        verdicts,
    )
    .with_sources(sources)
}

/// The plan from two templates alone (`check --template-diff`).
pub fn plan_from_templates(
    stack: &str,
    old: &Value,
    new: &Value,
    guards: &GuardConfig,
    table: &ReplacementTable,
) -> ReplacementPlan {
    let comparison = compare_templates(old, new, guards, table);
    ReplacementPlan::new(stack.to_owned(), None, comparison.verdicts).with_sources(
        ReviewSources::only(
            false,
            "no change set (--template-diff): the templates alone",
        ),
    )
}

/// Reads and classifies saved `describe-change-set` output (one file per page or nested change
/// set). `None` when the change set ended FAILED for having no changes.
pub fn plan_from_describe_files(
    paths: &[impl AsRef<Path>],
    guards: &GuardConfig,
) -> Result<(ReplacementPlan, Option<String>), CdkHookError> {
    let mut pages = Vec::with_capacity(paths.len());
    for path in paths {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| CdkHookError::io(path, e))?;
        pages.push(parse_describe_json(path, &text)?);
    }
    let no_changes = pages
        .iter()
        .find(|p| p.status.as_deref() == Some("FAILED"))
        .and_then(|p| p.status_reason.clone())
        .filter(|r| crate::changeset::means_no_changes(r));
    let reviewed = assemble(pages);
    let plan = ReplacementPlan::new(
        reviewed.stack_name.clone(),
        reviewed.change_set_id.clone(),
        classify(&reviewed.changes, guards),
    )
    .with_sources(ReviewSources::only(
        true,
        "no template comparison (--describe-file): the change set alone",
    ));
    Ok((plan, no_changes))
}

/// Reads two template files for `--template-diff`; errors name the offending file.
pub fn read_template(path: &Path) -> Result<Value, CdkHookError> {
    let text = std::fs::read_to_string(path).map_err(|e| CdkHookError::io(path, e))?;
    parse_template(path, &text)
}

fn merge(
    change_set: Vec<ResourceVerdict>,
    comparison: TemplateComparison,
    templates: Templates<'_>,
) -> Vec<ResourceVerdict> {
    let old = templates.old;
    let mut from_template: HashMap<String, ResourceVerdict> = comparison
        .verdicts
        .into_iter()
        .map(|v| (v.logical_id.clone(), v))
        .collect();
    let mut template_order: Vec<String> = from_template.keys().cloned().collect();
    template_order.sort();
    let mut merged = Vec::with_capacity(change_set.len() + from_template.len());
    for mut v in change_set {
        // The template comparison covers the root stack only.
        let t = if v.nested_stack.is_none() {
            from_template.remove(&v.logical_id)
        } else {
            None
        };
        match t {
            Some(t) => adopt(&mut v, t),
            None if v.nested_stack.is_none() && comparison.unchanged.contains(&v.logical_id) => {
                settle_unchanged(&mut v)
            }
            None => {}
        }
        if v.member_of.is_none() && v.nested_stack.is_none() {
            v.member_of = [templates.new, old]
                .into_iter()
                .find_map(|t| cluster_of(t, &v.logical_id));
        }
        if v.fate == Some(crate::plan::Fate::Unknown) && v.nested_stack.is_none() {
            let replaced = v.action != Action::Remove;
            if let Some(f) = template_fate(old, v.logical_id.as_ref(), replaced) {
                v.fate = Some(f);
            }
        }
        merged.push(v);
    }
    // What only the template comparison saw (an emulator's change set that omits the writer
    // instance dragged along by its cluster).
    for id in template_order {
        if let Some(mut t) = from_template.remove(&id) {
            t.sources.why = Some("the change set does not list it".to_owned());
            merged.push(t);
        }
    }
    link_consequences(&mut merged);
    merged
}

/// How much of the old resource a verdict loses: the order in which a disagreement is settled.
fn severity(r: Replacement) -> u8 {
    match r {
        Replacement::No => 0,
        Replacement::Unknown => 1,
        Replacement::May => 2,
        Replacement::Will => 3,
    }
}

const CAUTIOUS: &str = "the witnesses disagree; the plan takes the verdict that loses more (a guard does not pass on one witness's word)";

/// A change set lists a resource whose template did not change at all.
fn settle_unchanged(v: &mut ResourceVerdict) {
    v.sources.template = Some(Replacement::No);
    if v.replacement == Replacement::Unknown {
        v.replacement = Replacement::No;
        v.fate = None;
        v.sources.followed = Some(Witness::Template);
        v.sources.why = Some("the change set does not say; the template did not change".to_owned());
    }
    v.sources.disagree = v
        .sources
        .change_set
        .is_some_and(|c| c != Replacement::Unknown && c != Replacement::No);
    if v.sources.disagree {
        v.sources.why = Some(format!("{CAUTIOUS}: the change set's"));
    }
}

fn adopt(v: &mut ResourceVerdict, t: ResourceVerdict) {
    let t_repl = t.replacement;
    v.sources.template = Some(t_repl);
    let cs = v.sources.change_set.unwrap_or(Replacement::Unknown);
    let comparable = cs != Replacement::Unknown && v.action == t.action;
    let deferred =
        deferred_reference(v).filter(|_| cs == Replacement::May && t_repl == Replacement::Will);
    v.sources.disagree = comparable && cs != t_repl && deferred.is_none();
    let take_template =
        cs == Replacement::Unknown || (comparable && severity(t_repl) > severity(cs));
    if take_template {
        v.sources.followed = Some(Witness::Template);
        v.sources.why = Some(match (&deferred, cs) {
            (Some(property), _) => format!(
                "the change set leaves {property} to deploy time (Evaluation Dynamic); the template comparison resolves its reference to a resource that is replaced"
            ),
            (None, Replacement::Unknown) => {
                "the change set does not say (no Replacement)".to_owned()
            }
            (None, _) => format!("{CAUTIOUS}: the template comparison's"),
        });
        v.replacement = t_repl;
        if v.fate.is_none() || v.fate == Some(crate::plan::Fate::Unknown) {
            v.fate = t.fate;
        }
        if t_repl.is_replacing() && v.caused_by.is_none() {
            v.caused_by = t.caused_by;
        }
    } else if v.sources.disagree {
        v.sources.why = Some(format!("{CAUTIOUS}: the change set's"));
    }
    if v.fate.is_none() && v.loses_old() {
        v.fate = t.fate;
    }
    if v.causes.is_empty() {
        v.causes = t.causes;
    }
    if v.successors.is_empty() {
        v.successors = t.successors;
    }
    if v.renamed_to.is_none() && v.renamed_from.is_none() {
        v.renamed_to = t.renamed_to;
        v.renamed_from = t.renamed_from;
        if v.renamed_to.is_some() && v.action == Action::Remove {
            v.replacement = Replacement::Will;
        }
    }
}

/// The property whose Dynamic evaluation is the change set's only reason for a `may`: every
/// recreating cause is a reference CloudFormation resolves at deploy time.
fn deferred_reference(v: &ResourceVerdict) -> Option<String> {
    let recreating: Vec<&crate::plan::Cause> = v.causes.iter().filter(|c| c.recreates()).collect();
    let all_dynamic = !recreating.is_empty()
        && recreating.iter().all(|c| {
            c.evaluation == Some(crate::plan::Evaluation::Dynamic) && c.causing_entity.is_some()
        });
    all_dynamic.then(|| recreating[0].property.clone().unwrap_or_default())
}
