//! Identifiers of the temporary cluster and its writer, and the tags that mark it as this tool's.

/// Which stack a temporary cluster was restored for (the tool tag says who made it).
pub const STACK_TAG_KEY: &str = "cdk-hook:stack";
/// Why the tool made it, so that other tool-made clusters (none today) are never mistaken for it.
pub const PURPOSE_TAG_KEY: &str = "cdk-hook:purpose";
pub const PURPOSE_RESTORE: &str = "restore";
/// The snapshot it was restored from.
pub const SOURCE_SNAPSHOT_TAG_KEY: &str = "cdk-hook:source-snapshot";

const PREFIX: &str = "xtask";
const WRITER_SUFFIX: &str = "-writer";
/// RDS allows 63 characters; the writer's identifier is the cluster's plus `-writer`, and must
/// fit too.
const MAX_CLUSTER_LEN: usize = 63 - WRITER_SUFFIX.len();

/// Lower case (RDS stores identifiers lower-cased), letters and digits, single hyphens between.
fn words(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().map(|c| c.to_ascii_lowercase()) {
        let c = if c.is_ascii_alphanumeric() { c } else { '-' };
        if !(c == '-' && (out.is_empty() || out.ends_with('-'))) {
            out.push(c);
        }
    }
    out.trim_end_matches('-').to_owned()
}

/// `xtask-<stack>-<utc>` as a valid cluster identifier: starts with a letter, letters, digits and
/// single hyphens, no trailing hyphen, short enough for the writer's name. A long stack name is
/// shortened, never the time stamp, so two restores never collide.
pub fn temporary_identifier(stack: &str, utc_stamp: &str) -> String {
    let mut stamp = words(utc_stamp);
    stamp.truncate(MAX_CLUSTER_LEN - PREFIX.len() - 1);
    let room = MAX_CLUSTER_LEN.saturating_sub(PREFIX.len() + 2 + stamp.len());
    let mut stack = words(stack);
    stack.truncate(room);
    let stack = stack.trim_end_matches('-');
    [PREFIX, stack, stamp.trim_end_matches('-')]
        .into_iter()
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// The temporary cluster's serverless v2 writer.
pub fn writer_identifier(cluster: &str) -> String {
    format!("{cluster}{WRITER_SUFFIX}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_valid(id: &str) {
        assert!(id.len() <= 63, "{id}: longer than 63");
        assert!(id.starts_with(|c: char| c.is_ascii_lowercase()), "{id}");
        assert!(!id.ends_with('-') && !id.contains("--"), "{id}");
        assert!(
            id.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{id}"
        );
    }

    #[test]
    fn temporary_identifiers_are_valid_rds_names_and_keep_the_stamp() {
        let id = temporary_identifier("BedrockChatStack", "20261122T101500Z");
        assert_eq!(id, "xtask-bedrockchatstack-20261122t101500z");
        assert_valid(&id);
        assert_valid(&writer_identifier(&id));

        let long = temporary_identifier(&"Stack".repeat(40), "20261122T101500Z");
        assert!(long.ends_with("-20261122t101500z"), "{long}");
        assert_valid(&long);
        assert_valid(&writer_identifier(&long));

        let odd = temporary_identifier("--My_Stack..v2--", "20261122T101500Z");
        assert_eq!(odd, "xtask-my-stack-v2-20261122t101500z");

        // A cut that lands on a hyphen leaves none at the end of the stack part.
        let cut = temporary_identifier(&format!("{}-b", "a".repeat(32)), "20261122T101500Z");
        assert_valid(&cut);
        assert_valid(&temporary_identifier("", ""));
        assert_valid(&temporary_identifier("9lives", &"9".repeat(80)));
    }
}
