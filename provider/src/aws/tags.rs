//! Tag reconciliation shared by every child: which tags to set and which to remove so a
//! resource's tags become exactly `tags_all`.

use std::collections::{BTreeMap, HashMap};

/// Tags to (re)set and keys to remove to turn `current` into `desired`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagChanges {
    pub set: BTreeMap<String, String>,
    pub remove: Vec<String>,
}

impl TagChanges {
    pub fn between(
        current: &BTreeMap<String, String>,
        desired: &BTreeMap<String, String>,
    ) -> TagChanges {
        TagChanges {
            set: desired
                .iter()
                .filter(|(k, v)| current.get(*k) != Some(*v))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            remove: current
                .keys()
                .filter(|k| !desired.contains_key(*k))
                .cloned()
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.remove.is_empty()
    }
}

/// The SDKs' `HashMap` as the ordered map state uses.
pub fn ordered(map: Option<&HashMap<String, String>>) -> BTreeMap<String, String> {
    map.map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

/// The ordered map as the SDKs' `HashMap`.
pub fn hashed(map: &BTreeMap<String, String>) -> HashMap<String, String> {
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn changes_between_tag_sets() {
        let cases = [
            (map(&[]), map(&[]), map(&[]), vec![]),
            (map(&[("a", "1")]), map(&[("a", "1")]), map(&[]), vec![]),
            (map(&[]), map(&[("a", "1")]), map(&[("a", "1")]), vec![]),
            (map(&[("a", "1")]), map(&[]), map(&[]), vec!["a"]),
            (
                map(&[("a", "1"), ("b", "2")]),
                map(&[("a", "9"), ("c", "3")]),
                map(&[("a", "9"), ("c", "3")]),
                vec!["b"],
            ),
        ];
        for (current, desired, set, remove) in cases {
            let changes = TagChanges::between(&current, &desired);
            assert_eq!(changes.set, set, "{current:?} -> {desired:?}");
            assert_eq!(changes.remove, remove, "{current:?} -> {desired:?}");
            assert_eq!(changes.is_empty(), current == desired);
        }
    }

    #[test]
    fn map_conversions_round_trip() {
        let m = map(&[("k", "v"), ("a", "b")]);
        assert_eq!(ordered(Some(&hashed(&m))), m);
        assert_eq!(ordered(None), map(&[]));
    }
}
