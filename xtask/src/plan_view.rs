//! How a `ReplacementPlan` is shown. At a terminal: the guarded resources' changes in a table
//! fitted to the terminal's width, the other changes counted per kind (listed with `--verbose`),
//! then one finding per gating resource saying what happens to its data and what to do. As
//! Markdown (`check --format markdown`, and `$GITHUB_STEP_SUMMARY`): the pull-request comment.

mod exports;
mod guides;
mod markdown;
mod table;
mod words;

use std::path::Path;

use cdk_hook::{Action, DataFate, Fate, Replacement, ReplacementPlan, ResourceVerdict};
use console::style;

pub use exports::exports_in_use;
pub use markdown::{append_step_summary, markdown};

/// What the findings may point to beyond the plan itself.
#[derive(Debug, Clone, Copy)]
pub struct Guidance<'a> {
    /// Ends the finding about a replaced vector store that can be re-embedded: what the user
    /// does about it.
    pub next_step: &'a str,
    /// The CDK app directory (`--app-dir`), whose repository's `docs/migration/` holds the app's
    /// own guides; counted only when it holds `cdk.json` (a review of saved templates may run
    /// anywhere).
    pub app_dir: Option<&'a Path>,
}

/// `verbose` lists every change, not only the guarded ones.
pub fn print_plan(plan: &ReplacementPlan, guidance: &Guidance<'_>, verbose: bool) {
    if plan.resources.is_empty() {
        println!("{}: no resource changes", plan.stack);
        return;
    }
    let width = terminal_width();
    let (guarded, other): (Vec<&ResourceVerdict>, Vec<&ResourceVerdict>) =
        plan.resources.iter().partition(|v| v.guard.is_guarded());
    if !guarded.is_empty() {
        println!("{}", table::render(&guarded, width));
    }
    if verbose && !other.is_empty() {
        println!("{}", style("other changes").bold());
        println!("{}", table::render(&other, width));
    } else if !other.is_empty() {
        for line in wrap(&other_changes_summary(&other), width) {
            println!("{line}");
        }
    }
    println!();
    for sentence in disagreements(plan) {
        for line in wrap(&sentence, width) {
            println!("{line}");
        }
    }
    for (headline, rest) in sentences(plan, guidance) {
        let text = format!("{headline}{rest}");
        for (i, line) in wrap(&text, width).into_iter().enumerate() {
            // The headline in colour, on the first line (a headline is shorter than any width).
            match line.strip_prefix(headline.as_str()) {
                Some(tail) if i == 0 && !headline.is_empty() => {
                    println!("{}{tail}", style(&headline).red().bold())
                }
                _ => println!("{line}"),
            }
        }
    }
}

/// The findings as `(headline with its colon, the rest)`; one sentence when nothing gates.
fn sentences(plan: &ReplacementPlan, guidance: &Guidance<'_>) -> Vec<(String, String)> {
    let mut sentences: Vec<(String, String)> = words::findings(plan, guidance)
        .iter()
        .map(|f| {
            let s = f.sentence();
            let cut = f.headline.len() + 1;
            (s[..cut].to_owned(), s[cut..].to_owned())
        })
        .collect();
    if !plan.exports_in_use.is_empty() {
        sentences.push((
            "EXPORT IN USE:".to_owned(),
            format!(" {}.", exports_in_use(&plan.exports_in_use)),
        ));
    }
    if sentences.is_empty() {
        sentences.push((String::new(), no_gate_sentence(plan)));
    }
    sentences
}

fn no_gate_sentence(plan: &ReplacementPlan) -> String {
    format!(
        "no guarded resource is replaced or removed ({} resource changes)",
        plan.resources.len()
    )
}

/// The terminal's width when stdout is a terminal; `None` (no wrapping) in pipes and logs.
fn terminal_width() -> Option<usize> {
    let term = console::Term::stdout();
    term.is_term()
        .then(|| term.size_checked().map(|(_, cols)| usize::from(cols)))
        .flatten()
        .filter(|&w| w >= 40)
}

/// "other changes (not guarded): 15 Add, 22 Modify (9 replaced), 4 Remove; --verbose lists them"
fn other_changes_summary(other: &[&ResourceVerdict]) -> String {
    let mut parts = Vec::new();
    for action in [
        Action::Add,
        Action::Modify,
        Action::Remove,
        Action::Import,
        Action::Dynamic,
    ] {
        let of_kind: Vec<&&ResourceVerdict> = other.iter().filter(|v| v.action == action).collect();
        if of_kind.is_empty() {
            continue;
        }
        let replaced = of_kind
            .iter()
            .filter(|v| v.replacement.is_replacing())
            .count();
        parts.push(if replaced > 0 && action != Action::Remove {
            format!("{} {action:?} ({replaced} replaced)", of_kind.len())
        } else {
            format!("{} {action:?}", of_kind.len())
        });
    }
    format!(
        "{} other changes (not guarded): {}; `--verbose` or `--json` lists them",
        other.len(),
        parts.join(", ")
    )
}

/// Greedy word wrap to `width` display columns; a word longer than a line is cut.
pub(crate) fn wrap(text: &str, width: Option<usize>) -> Vec<String> {
    let Some(width) = width else {
        return vec![text.to_owned()];
    };
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let mut word = word.to_owned();
        loop {
            let used = console::measure_text_width(&line);
            let need = console::measure_text_width(&word) + usize::from(used > 0);
            if used + need <= width {
                if used > 0 {
                    line.push(' ');
                }
                line.push_str(&word);
                break;
            }
            if used > 0 {
                lines.push(std::mem::take(&mut line));
                continue;
            }
            // A word wider than the line: cut it at the width.
            let cut = word
                .char_indices()
                .nth(width)
                .map_or(word.len(), |(i, _)| i);
            lines.push(word[..cut].to_owned());
            word = word[cut..].to_owned();
            if word.is_empty() {
                break;
            }
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

pub(crate) fn replacement_word(r: Replacement) -> &'static str {
    match r {
        Replacement::Will => "will",
        Replacement::May => "may",
        Replacement::No => "no",
        Replacement::Unknown => "unknown",
    }
}

/// The data fate in the plan's JSON spelling, with the old resource's fate for a replacement.
pub(crate) fn data_word(v: &ResourceVerdict) -> String {
    let word = match v.data_fate {
        DataFate::Unchanged => "unchanged",
        DataFate::New => "new (empty)",
        DataFate::Replaced => "replaced",
        DataFate::Destroyed => "destroyed",
        DataFate::DestroyedWithSnapshot => "destroyed with snapshot",
        DataFate::Orphaned => "orphaned",
        DataFate::FollowsCluster => "follows cluster",
        DataFate::Unknown => "unknown",
    };
    match (v.data_fate, v.fate) {
        (DataFate::Replaced, Some(f)) => format!("{word} (old {})", fate_word(f)),
        _ => word.to_owned(),
    }
}

fn fate_word(f: Fate) -> &'static str {
    match f {
        Fate::Deleted => "deleted",
        Fate::Retained => "retained",
        Fate::Snapshotted => "snapshotted",
        Fate::Unknown => "unknown",
    }
}

/// The replacement verdict, with the template's opinion when it disagrees and a rename.
pub(crate) fn replacement_text(v: &ResourceVerdict) -> String {
    let mut replacement = replacement_word(v.replacement).to_owned();
    if v.sources.disagree
        && let (Some(cs), Some(t)) = (v.sources.change_set, v.sources.template)
    {
        replacement = format!(
            "{replacement} (change set: {}, template: {})",
            replacement_word(cs),
            replacement_word(t)
        );
    }
    if v.renamed_to.is_some() {
        replacement.push_str(" (rename)");
    }
    replacement
}

pub(crate) fn resource_name(v: &ResourceVerdict) -> String {
    match &v.nested_stack {
        Some(n) => format!("{n}/{}", v.logical_id),
        None => v.logical_id.clone(),
    }
}

pub(crate) fn cause_text(v: &ResourceVerdict) -> String {
    if let Some(new) = &v.renamed_to {
        return format!("logical id renamed to {new}");
    }
    let recreating: Vec<&cdk_hook::Cause> = v
        .causes
        .iter()
        .filter(|c| {
            c.requires_recreation
                .is_some_and(|r| r != cdk_hook::plan::RequiresRecreation::Never)
        })
        .collect();
    let shown = if recreating.is_empty() {
        v.causes.iter().collect()
    } else {
        recreating
    };
    let mut names: Vec<String> = shown.iter().filter_map(|c| c.property.clone()).collect();
    names.dedup();
    let mut text = match names.len() {
        0 => String::new(),
        1..=3 => names.join(", "),
        n => format!("{}, +{} more", names[..3].join(", "), n - 3),
    };
    if let Some(root) = &v.caused_by {
        text = if text.is_empty() {
            format!("follows {root}")
        } else {
            format!("{text} (follows {root})")
        };
    }
    text
}

/// One sentence per resource on which the change set and the template comparison disagree:
/// both answers, the one the plan followed, and why.
fn disagreements(plan: &ReplacementPlan) -> Vec<String> {
    let word = |r: Option<Replacement>| r.map_or("(silent)", replacement_word);
    plan.resources
        .iter()
        .filter(|v| v.sources.disagree)
        .map(|v| {
            let followed = match v.sources.followed {
                Some(cdk_hook::Witness::Template) => "the template comparison",
                _ => "the change set",
            };
            format!(
                "{}: {}: the change set says {}, the template comparison says {}; the plan follows {followed}: {}",
                style("WITNESSES DISAGREE").yellow().bold(),
                v.logical_id,
                word(v.sources.change_set),
                word(v.sources.template),
                v.sources.why.as_deref().unwrap_or("")
            )
        })
        .collect()
}

/// A review with one opinion missing says so: under the table, or on stderr when stdout is the
/// JSON (whose `sources.degraded` says it too). A degraded review must not look like a full one.
pub fn print_review_sources(plan: &ReplacementPlan, json: bool) {
    let Some(why) = &plan.sources.degraded else {
        return;
    };
    let line = format!("{} {why}", style("degraded review:").yellow().bold());
    if json {
        eprintln!("{line}");
    } else {
        println!("{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn wrap_fits_the_width_and_cuts_long_words() {
        let long = "x".repeat(25);
        let lines = wrap(&format!("a bb {long} ccc"), Some(10));
        assert!(lines.iter().all(|l| l.chars().count() <= 10), "{lines:?}");
        assert_eq!(lines.concat().replace(' ', ""), format!("abb{long}ccc"));
        assert_eq!(wrap("a b", None), ["a b"]);
    }
}
