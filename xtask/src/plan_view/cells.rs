//! A verdict's texts, as every view shows them (the terminal's table and blocks, the findings,
//! the pull-request comment): its name, its replacement, its data's fate, its cause, and the
//! word wrap the terminal's blocks use.

use cdk_hook::{DataFate, Fate, Replacement, ResourceVerdict};

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
