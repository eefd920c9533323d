//! An item as the table migration handles it: its attributes, the key of the source item it
//! comes from, and its size in write units.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

pub type Item = HashMap<String, AttributeValue>;

/// The key of an item of the v2 conversation table (`PK`, `SK`): what the journal and the report
/// name an item by (never its content).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SourceKey {
    pub pk: String,
    pub sk: String,
}

impl SourceKey {
    /// Whether the verification compares this item field by field, one in `every`: chosen by the
    /// key (FNV-1a), so the copy's journal keeps only the sampled keys it must know about.
    pub fn sampled(&self, every: u64) -> bool {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in self.pk.bytes().chain([0]).chain(self.sk.bytes()) {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        hash.is_multiple_of(every.max(1))
    }
}

impl std::fmt::Display for SourceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PK={} SK={}", self.pk, self.sk)
    }
}

/// An item's size as DynamoDB counts it ("Item sizes and formats", DynamoDB Developer Guide):
/// each attribute's name in UTF-8 bytes plus its value; a number about one byte per two digits
/// plus one; a list or map 3 bytes plus one per element on top of its elements.
pub fn item_bytes(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + value_bytes(v)).sum()
}

fn value_bytes(v: &AttributeValue) -> usize {
    match v {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => n.len().div_ceil(2) + 1,
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(set) => set.iter().map(String::len).sum(),
        AttributeValue::Ns(set) => set.iter().map(|n| n.len().div_ceil(2) + 1).sum(),
        AttributeValue::Bs(set) => set.iter().map(|b| b.as_ref().len()).sum(),
        AttributeValue::L(list) => 3 + list.iter().map(|v| 1 + value_bytes(v)).sum::<usize>(),
        AttributeValue::M(map) => {
            3 + map
                .iter()
                .map(|(k, v)| 1 + k.len() + value_bytes(v))
                .sum::<usize>()
        }
        _ => 0,
    }
}

/// Write units one PutItem of `item` costs: one per started kilobyte.
pub fn write_units(item: &Item) -> f64 {
    item_bytes(item).div_ceil(1024).max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_items_cost_one_unit_and_large_ones_one_per_kilobyte() {
        let mut item = Item::new();
        item.insert("PK".into(), AttributeValue::S("u1".into()));
        assert_eq!(item_bytes(&item), 4);
        assert_eq!(write_units(&item), 1.0);
        item.insert("Body".into(), AttributeValue::S("x".repeat(2_000)));
        assert_eq!(write_units(&item), 2.0);
        item.insert(
            "List".into(),
            AttributeValue::L(vec![AttributeValue::N("12345".into())]),
        );
        assert_eq!(item_bytes(&item), 4 + 2_004 + 4 + 3 + 1 + 4);
    }
}
