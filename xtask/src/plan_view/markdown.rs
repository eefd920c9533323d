//! The plan as a pull-request comment (GitHub-flavoured Markdown): the verdict first, one row
//! per gating resource (what, why, the data's fate, what to do), and the full table folded in a
//! `<details>` block, as reviewers know it from `cdk diff` comments. Every cell is escaped: a `|`
//! would split the row and a `<` open an HTML tag.

use std::io::Write;

use cdk_hook::ReplacementPlan;

use super::cells::{cause_text, data_word, replacement_text, resource_name};
use super::guides::Guidance;
use super::words;

/// The comment's text.
pub fn markdown(plan: &ReplacementPlan, guidance: &Guidance<'_>) -> String {
    let mut out = String::new();
    let found = words::findings(plan, guidance);
    if found.is_empty() {
        out.push_str(&format!(
            "### :white_check_mark: `{}`: no guarded resource is replaced or removed\n\n{} resource changes; nothing gates this deploy.\n",
            escape(&plan.stack),
            plan.resources.len()
        ));
    } else {
        out.push_str(&format!(
            "### :no_entry: `{}`: gated (exit 3), {} guarded resource{} replaced or removed\n\n",
            escape(&plan.stack),
            found.len(),
            if found.len() == 1 { " is" } else { "s are" },
        ));
        out.push_str("| | resource | why | what happens to the data | what to do |\n");
        out.push_str("|---|---|---|---|---|\n");
        for f in &found {
            let v = f.verdict;
            out.push_str(&row(&[
                &format!("**{}**", f.headline),
                &format!("{} ({})", resource_name(v), v.resource_type),
                &f.why,
                &format!("{}: {}", f.verb, f.fate),
                &f.todo,
            ]));
        }
    }
    if !plan.resources.is_empty() {
        out.push_str(&format!(
            "\n<details><summary>All {} resource changes</summary>\n\n",
            plan.resources.len()
        ));
        out.push_str("| resource | type | action | replacement | data | cause |\n");
        out.push_str("|---|---|---|---|---|---|\n");
        for v in &plan.resources {
            out.push_str(&row(&[
                &resource_name(v),
                &v.resource_type,
                &format!("{:?}", v.action),
                &replacement_text(v),
                &data_word(v),
                &cause_text(v),
            ]));
        }
        out.push_str("\n</details>\n");
    }
    out
}

fn row<S: AsRef<str>>(cells: &[S]) -> String {
    let cells: Vec<String> = cells.iter().map(|c| escape(c.as_ref())).collect();
    format!("| {} |\n", cells.join(" | "))
}

/// A table cell's text: `&`, `<` and `>` as entities, `|` escaped, no line breaks.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
        .replace(['\r', '\n'], " ")
}

/// Appends the comment to `$GITHUB_STEP_SUMMARY` when GitHub Actions sets it (the job's summary
/// page). A failure to write is a warning: the review itself stands.
pub fn append_step_summary(plan: &ReplacementPlan, guidance: &Guidance<'_>) {
    let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) else {
        return;
    };
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| writeln!(f, "{}", markdown(plan, guidance)));
    if let Err(e) = written {
        eprintln!(
            "warning: could not append the plan to GITHUB_STEP_SUMMARY ({}): {e}",
            std::path::Path::new(&path).display()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn cells_are_escaped() {
        assert_eq!(
            escape("a|b <img src=x> & c\nd"),
            "a\\|b &lt;img src=x&gt; &amp; c d"
        );
    }
}
