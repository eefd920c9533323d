//! The finding for exports in use: which export, which stacks import it, and what to do. Bedrock
//! Chat's published APIs are the stacks `ApiPublishmentStack<id>` (its `cdk/bin/api-publish.ts`;
//! `docs/bedrock-chat-v3-tables.md`, section 1), and its v2-to-v3 guide has them deleted first.

use cdk_hook::exports::{ExportChange, ExportInUse};

/// The published-API stacks of Bedrock Chat, by the id its `api-publish.ts` gives them.
const PUBLISHED_API_STACK: &str = "ApiPublishmentStack";

pub fn exports_in_use(exports: &[ExportInUse]) -> String {
    let each: Vec<String> = exports
        .iter()
        .map(|e| {
            format!(
                "{} (output {}) is imported by {}, and this update {} it",
                e.export_name,
                e.output,
                e.importers.join(", "),
                match e.change {
                    ExportChange::Removed => "removes",
                    ExportChange::ValueChanged => "gives another value to",
                }
            )
        })
        .collect();
    let published = exports
        .iter()
        .flat_map(|e| &e.importers)
        .any(|s| s.starts_with(PUBLISHED_API_STACK));
    format!(
        "{}: CloudFormation refuses to change or remove an export another stack imports, so the \
         update would fail part-way. Delete or update the importing stacks first, then deploy{}",
        each.join("; "),
        if published {
            " (ApiPublishmentStack... are Bedrock Chat's published APIs: its v2-to-v3 guide has \
             every published API deleted before the upgrade)"
        } else {
            ""
        }
    )
}
