//! The table of resource changes, fitted to the terminal's width by comfy-table (long logical
//! ids and causes wrap inside their column); unbounded when the output is not a terminal, so a
//! log keeps one line per resource.

use cdk_hook::ResourceVerdict;
use comfy_table::{ContentArrangement, Table, presets};

const HEADER: [&str; 6] = ["RESOURCE", "TYPE", "ACTION", "REPLACEMENT", "DATA", "CAUSE"];

pub fn render(rows: &[&ResourceVerdict], width: Option<usize>) -> String {
    let mut table = Table::new();
    table.load_preset(presets::NOTHING).set_header(HEADER);
    match width {
        Some(w) => {
            table
                .set_content_arrangement(ContentArrangement::Dynamic)
                .set_width(u16::try_from(w).unwrap_or(u16::MAX));
        }
        None => {
            table.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    for v in rows {
        table.add_row([
            super::resource_name(v),
            v.resource_type.clone(),
            format!("{:?}", v.action),
            super::replacement_text(v),
            super::data_word(v),
            super::cause_text(v),
        ]);
    }
    // comfy-table pads every cell; trailing blanks only cost width in a log.
    table
        .lines()
        .map(|l| l.trim_end().to_owned())
        .collect::<Vec<_>>()
        .join("\n")
}
