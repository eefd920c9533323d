//! What the migration acts on: plain values, so the target can come from stack outputs, flags or a file.

use serde::{Deserialize, Serialize};

/// The resources one migration run touches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrationTarget {
    /// The DynamoDB conversation table holding the bot items.
    pub table: String,
    /// The ECS cluster the embedding tasks run in.
    pub cluster: String,
    /// The embedding task definition (family, family:revision or ARN).
    pub task_definition: String,
    /// The container whose command is overridden.
    pub container: String,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    /// Only for subnets without a NAT route; the private subnets of Bedrock Chat have one.
    #[serde(default)]
    pub assign_public_ip: bool,
}

/// The vector store a run embeds into: the Aurora cluster the embedding tasks write to. A journal
/// names it, so that a journal of a replaced cluster is never resumed into its successor (the ECS
/// names in the fingerprint stay the same across a replacement on AWS).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VectorStore {
    /// The DB cluster's identifier (its physical id in the stack).
    pub cluster_identifier: String,
    /// The cluster's endpoint, when the stack says it.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// The change set of the `deploy` that replaced the cluster and then ran this migration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced_by: Option<String>,
}

impl VectorStore {
    /// Whether two journals' stores are one store: identifier and endpoint decide, not who ran it.
    pub fn same(a: Option<&Self>, b: Option<&Self>) -> bool {
        let key = |s: Option<&Self>| s.map(|s| (s.cluster_identifier.clone(), s.endpoint.clone()));
        key(a) == key(b)
    }
}

impl std::fmt::Display for VectorStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DB cluster {}", self.cluster_identifier)?;
        if let Some(endpoint) = &self.endpoint {
            write!(f, " ({endpoint})")?;
        }
        if let Some(change_set) = &self.replaced_by {
            write!(f, ", replaced by the deploy of change set {change_set}")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("incomplete migration target: {}", .missing.join(", "))]
pub struct TargetError {
    pub missing: Vec<&'static str>,
}

impl MigrationTarget {
    pub fn validate(&self) -> Result<(), TargetError> {
        let mut missing = Vec::new();
        for (name, value) in [
            ("table", &self.table),
            ("cluster", &self.cluster),
            ("task_definition", &self.task_definition),
            ("container", &self.container),
        ] {
            if value.trim().is_empty() {
                missing.push(name);
            }
        }
        if self.subnets.iter().all(|s| s.trim().is_empty()) {
            missing.push("subnets");
        }
        if self.security_groups.iter().all(|s| s.trim().is_empty()) {
            missing.push("security_groups");
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(TargetError { missing })
        }
    }

    /// Identifies "the same migration" across runs so a journal is only resumed against its own
    /// target. Only what decides which bots are embedded where goes in: networking flags may change
    /// between an interrupted run and its resume without making it another migration.
    pub fn fingerprint(&self) -> String {
        let canonical = [
            self.table.as_str(),
            self.cluster.as_str(),
            self.task_definition.as_str(),
            self.container.as_str(),
        ]
        .join("\u{1f}");
        format!("{:016x}", fnv1a64(canonical.as_bytes()))
    }
}

/// FNV-1a: tiny and, unlike `DefaultHasher`, guaranteed stable across Rust releases, which matters
/// for values written to disk and read back by a later build.
pub(crate) fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> MigrationTarget {
        MigrationTarget {
            table: "ConversationTable".into(),
            cluster: "EmbeddingCluster".into(),
            task_definition: "EmbeddingTask:3".into(),
            container: "Container".into(),
            subnets: vec!["subnet-a".into(), "subnet-b".into()],
            security_groups: vec!["sg-1".into()],
            assign_public_ip: false,
        }
    }

    #[test]
    fn fingerprint_is_stable_and_ignores_networking() {
        let a = sample();
        // A change here would orphan every journal written by an older build.
        assert_eq!(a.fingerprint(), a.clone().fingerprint());
        assert_eq!(a.fingerprint().len(), 16);
        let mut b = a.clone();
        b.subnets.reverse();
        b.assign_public_ip = true;
        assert_eq!(a.fingerprint(), b.fingerprint());
        let mut c = a.clone();
        c.table = "Other".into();
        assert_ne!(a.fingerprint(), c.fingerprint());
    }

    #[test]
    fn fnv_known_vector() {
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
    }

    #[test]
    fn validate_lists_missing_values() {
        let mut t = sample();
        t.cluster.clear();
        t.subnets.clear();
        assert_eq!(
            t.validate().unwrap_err().missing,
            vec!["cluster", "subnets"]
        );
        assert!(sample().validate().is_ok());
    }
}
