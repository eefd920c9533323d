//! The table of resource changes, fitted to the terminal's width by comfy-table (long logical
//! ids and causes wrap inside their column); unbounded when the output is not a terminal, so a
//! log keeps one line per resource.

use cdk_hook::ResourceVerdict;
use comfy_table::{
    ColumnConstraint, ContentArrangement, Table, Width, presets,
};

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

/// What gives way when the width is short: the logical id and the cause wrap, with a share kept
/// for each; the short words (action, replacement) and the type stay whole.
fn fit_columns(table: &mut Table) {
    let constraints = [
        ColumnConstraint::LowerBoundary(Width::Percentage(28)),
        ColumnConstraint::ContentWidth,
        ColumnConstraint::ContentWidth,
        ColumnConstraint::ContentWidth,
        ColumnConstraint::LowerBoundary(Width::Fixed(12)),
        ColumnConstraint::LowerBoundary(Width::Fixed(12)),
    ];
    for (column, constraint) in table.column_iter_mut().zip(constraints) {
        column.set_constraint(constraint);
        column.set_padding((0, 2));
    }
}
