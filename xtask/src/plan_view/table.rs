//! The resource changes at a terminal. A table, one line per resource, when it fits the
//! terminal's width (and always when the output is not a terminal, so a log keeps one line per
//! resource). When it does not fit, a table would cut logical ids, types and property names in
//! the middle (the real v0.4.10 -> v1.0.0 plan at 100 columns did), so each resource becomes a
//! short block instead: its name, type and verdict on one line, what happens to its data and why
//! on the next, wrapped between words.

use cdk_hook::ResourceVerdict;

use super::cells::{cause_text, data_word, replacement_text, resource_name, wrap};
use comfy_table::{ContentArrangement, Table, presets};

const HEADER: [&str; 6] = ["RESOURCE", "TYPE", "ACTION", "REPLACEMENT", "DATA", "CAUSE"];
/// How far a block's second line is indented under its resource.
const INDENT: &str = "    ";

pub fn render(rows: &[&ResourceVerdict], width: Option<usize>) -> String {
    let table = one_line_each(rows);
    let widest = table.lines().map(console::measure_text_width).max();
    match width {
        Some(w) if widest.is_some_and(|widest| widest > w) => blocks(rows, w),
        _ => table,
    }
}

fn one_line_each(rows: &[&ResourceVerdict]) -> String {
    let mut table = Table::new();
    table
        .load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(HEADER);
    for v in rows.iter() {
        table.add_row([
            resource_name(v),
            v.resource_type.clone(),
            format!("{:?}", v.action),
            replacement_text(v),
            data_word(v),
            cause_text(v),
        ]);
    }
    for column in table.column_iter_mut() {
        column.set_padding((0, 2));
    }
    // comfy-table pads every cell; trailing blanks only cost width in a log.
    table
        .lines()
        .map(|l| l.trim_end().to_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// `NAME  TYPE  ACTION, replacement WORD` then, indented, `data ...; cause ...`.
fn blocks(rows: &[&ResourceVerdict], width: usize) -> String {
    let mut lines = Vec::new();
    for v in rows {
        let head = format!(
            "{}  {}  {:?}, replacement {}",
            resource_name(v),
            v.resource_type,
            v.action,
            replacement_text(v)
        );
        lines.extend(wrap(&head, Some(width)));
        let mut detail = format!("data {}", data_word(v));
        let cause = cause_text(v);
        if !cause.is_empty() {
            detail.push_str(&format!("; cause {cause}"));
        }
        let inner = width.saturating_sub(INDENT.len()).max(20);
        lines.extend(
            wrap(&detail, Some(inner))
                .into_iter()
                .map(|line| format!("{INDENT}{line}")),
        );
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(logical_id: &str, resource_type: &str) -> ResourceVerdict {
        serde_json::from_value(serde_json::json!({
            "logical_id": logical_id,
            "resource_type": resource_type,
            "action": "Modify",
            "replacement": "will",
            "data_fate": "replaced",
            "fate": "snapshotted",
            "guard": "stateful",
            "causes": [{"property": "StorageEncrypted", "requires_recreation": "Always"}],
            "sources": {"disagree": false},
        }))
        .expect("a verdict")
    }

    #[test]
    fn a_table_when_it_fits_blocks_that_never_cut_a_word_when_it_does_not() {
        let long = "VectorStoreClusterSecurityGroupfromBedrockChatStackEmbeddingTaskSecurityGroup";
        let rows = [
            verdict("VectorStoreClusterEFE7D2F8", "AWS::RDS::DBCluster"),
            verdict(long, "AWS::EC2::SecurityGroupIngress"),
        ];
        let rows: Vec<&ResourceVerdict> = rows.iter().collect();
        let wide = render(&rows, Some(300));
        assert_eq!(wide.lines().count(), 3, "a header and a line each:\n{wide}");
        assert_eq!(wide, render(&rows, None), "unbounded as in a log");

        let narrow = render(&rows, Some(100));
        assert!(!narrow.contains("RESOURCE"), "{narrow}");
        for word in [long, "AWS::EC2::SecurityGroupIngress", "StorageEncrypted"] {
            assert!(narrow.contains(word), "{word} whole in:\n{narrow}");
        }
        assert!(narrow.lines().all(|l| l.chars().count() <= 100), "{narrow}");
        assert!(
            narrow.contains("\n    data replaced (old snapshotted); cause StorageEncrypted"),
            "{narrow}"
        );
    }
}
