//! The table of resource changes, fitted to the terminal's width by comfy-table (long logical
//! ids and causes wrap inside their column); unbounded when the output is not a terminal, so a
//! log keeps one line per resource.

use cdk_hook::ResourceVerdict;
use comfy_table::{ColumnConstraint, ContentArrangement, Table, Width, presets};

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
    for v in rows.iter() {
        table.add_row([
            super::resource_name(v),
            v.resource_type.clone(),
            format!("{:?}", v.action),
            super::replacement_text(v),
            super::data_word(v),
            super::cause_text(v),
        ]);
    }
    fit_columns(&mut table);
    // comfy-table pads every cell; trailing blanks only cost width in a log.
    table
        .lines()
        .map(|l| l.trim_end().to_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// What gives way when the width is short: every column that can wrap keeps a share of the
/// width (so a type is not cut in two while a short word has room to spare); the action and the
/// replacement verdict, a word or two, stay whole. The shares leave room for those two and the
/// padding down to 80 columns.
fn fit_columns(table: &mut Table) {
    let share = |percent| ColumnConstraint::LowerBoundary(Width::Percentage(percent));
    let constraints = [
        share(25),
        share(18),
        ColumnConstraint::ContentWidth,
        ColumnConstraint::ContentWidth,
        share(10),
        share(10),
    ];
    for (column, constraint) in table.column_iter_mut().zip(constraints) {
        column.set_constraint(constraint);
        column.set_padding((0, 2));
    }
}
