//! How a `ReplacementPlan` is shown. At a terminal: the guarded resources' changes in a table
//! fitted to the terminal's width, the other changes counted per kind (listed with `--verbose`),
//! then one finding per gating resource saying what happens to its data and what to do. As
//! Markdown (`check --format markdown`, and `$GITHUB_STEP_SUMMARY`): the pull-request comment.

mod cells;
mod exports;
mod guides;
mod markdown;
mod table;
mod words;

use cdk_hook::{Action, Replacement, ReplacementPlan, ResourceVerdict};
use console::style;

use cells::{replacement_word, wrap};
pub use exports::exports_in_use;
pub use guides::Guidance;
pub use markdown::{append_step_summary, markdown};

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
