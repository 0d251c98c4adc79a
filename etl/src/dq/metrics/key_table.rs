//! `KeyTable`: an exact, compact set of byte strings — the storage behind every distinct-value
//! count, reference key set and join index of the engine.
//!
//! Keys are the bytes of a value (a primitive's little-endian bytes, a string's UTF-8) or, for
//! several columns and other types, Arrow's row format (see [`arrow::row`]); either way two keys
//! are equal exactly when their values are — hashes only pick the bucket, equality always
//! compares the bytes. Each distinct key is stored once, back to back in one arena, and the hash
//! table holds only a 4-byte entry index; hashes are recomputed when the table grows rather than
//! stored.
//!
//! Memory per distinct key: the key bytes, plus (variable-width keys only) an 8-byte end offset,
//! plus about 5–10 bytes of hash-table slot (4-byte index + 1 control byte at 50–87 % load).
//! An `Int64` key costs about 15 bytes, a 10-character string about 25. Nothing is stored per row.

use hashbrown::HashTable;
use hashbrown::hash_table::Entry;

use crate::dq::error::DqError;

/// Fixed seeds: the table is never exposed to untrusted keys chosen to collide on purpose in a
/// way that matters (worst case is slower inserts), and fixed seeds make runs reproducible.
const SEEDS: [u64; 4] = [
    0x243f_6a88_85a3_08d3,
    0x1319_8a2e_0370_7344,
    0xa409_3822_299f_31d0,
    0x082e_fa98_ec4e_6c89,
];

/// How keys are laid out in the arena.
#[derive(Debug, Clone)]
enum Layout {
    /// Keys of any length; `ends[i]` is where key `i` ends (it starts where key `i - 1` ends).
    Variable { ends: Vec<usize> },
    /// Keys of exactly this many bytes: key `i` is at `i * width`.
    Fixed { width: usize },
}

/// An exact set of byte-string keys, each with a dense index `0..len()` in insertion order.
#[derive(Debug)]
pub struct KeyTable {
    hasher: ahash::RandomState,
    table: HashTable<u32>,
    arena: Vec<u8>,
    layout: Layout,
}

impl Default for KeyTable {
    fn default() -> Self {
        KeyTable::with_layout(Layout::Variable { ends: Vec::new() })
    }
}

impl KeyTable {
    /// A table of keys that are all exactly `width` bytes long (`width` ≥ 1).
    pub fn fixed(width: usize) -> Self {
        KeyTable::with_layout(Layout::Fixed {
            width: width.max(1),
        })
    }

    fn with_layout(layout: Layout) -> Self {
        KeyTable {
            hasher: ahash::RandomState::with_seeds(SEEDS[0], SEEDS[1], SEEDS[2], SEEDS[3]),
            table: HashTable::new(),
            arena: Vec::new(),
            layout,
        }
    }

    /// Number of distinct keys.
    pub fn len(&self) -> usize {
        match &self.layout {
            Layout::Variable { ends } => ends.len(),
            Layout::Fixed { width } => self.arena.len() / width,
        }
    }

    /// Whether no key was inserted.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes of key `index`.
    pub fn key(&self, index: usize) -> &[u8] {
        key_at(&self.arena, &self.layout, index)
    }

    /// Inserts `key` if absent; returns its index and whether it was new. A fixed-width table
    /// takes only keys of its width.
    pub fn insert(&mut self, key: &[u8]) -> Result<(usize, bool), DqError> {
        if let Layout::Fixed { width } = self.layout {
            if key.len() != width {
                return Err(DqError::Ruleset(format!(
                    "internal: a {}-byte key in a table of {width}-byte keys",
                    key.len()
                )));
            }
        }
        let hash = self.hasher.hash_one(key);
        let len = self.len();
        let KeyTable {
            hasher,
            table,
            arena,
            layout,
        } = self;
        let entry = table.entry(
            hash,
            |&i| key_at(arena, layout, i as usize) == key,
            |&i| hasher.hash_one(key_at(arena, layout, i as usize)),
        );
        match entry {
            Entry::Occupied(found) => Ok((*found.get() as usize, false)),
            Entry::Vacant(slot) => {
                let index = u32::try_from(len).map_err(|_| {
                    DqError::Ruleset(
                        "more than 4 294 967 295 distinct keys in one data-quality table".into(),
                    )
                })?;
                arena.extend_from_slice(key);
                if let Layout::Variable { ends } = layout {
                    ends.push(arena.len());
                }
                slot.insert(index);
                Ok((index as usize, true))
            }
        }
    }

    /// The index of `key`, if present.
    pub fn find(&self, key: &[u8]) -> Option<usize> {
        let hash = self.hasher.hash_one(key);
        self.table
            .find(hash, |&i| self.key(i as usize) == key)
            .map(|&i| i as usize)
    }

    /// Approximate heap bytes held (arena, offsets and table slots).
    pub fn heap_bytes(&self) -> usize {
        let offsets = match &self.layout {
            Layout::Variable { ends } => ends.capacity() * std::mem::size_of::<usize>(),
            Layout::Fixed { .. } => 0,
        };
        self.arena.capacity() + offsets + self.table.capacity() * (std::mem::size_of::<u32>() + 1)
    }
}

fn key_at<'a>(arena: &'a [u8], layout: &Layout, index: usize) -> &'a [u8] {
    match layout {
        Layout::Variable { ends } => {
            let start = if index == 0 { 0 } else { ends[index - 1] };
            &arena[start..ends[index]]
        }
        Layout::Fixed { width } => &arena[index * width..(index + 1) * width],
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn empty_table_has_no_keys() {
        let table = KeyTable::default();
        assert!(table.is_empty());
        assert_eq!(table.find(b"a"), None);
        assert_eq!(table.find(b""), None);
    }

    #[test]
    fn inserts_are_exact_and_indexed_in_order() {
        let mut table = KeyTable::default();
        assert_eq!(table.insert(b"b").unwrap(), (0, true));
        assert_eq!(table.insert(b"").unwrap(), (1, true));
        assert_eq!(table.insert(b"b").unwrap(), (0, false));
        assert_eq!(table.insert(b"bb").unwrap(), (2, true));
        assert_eq!(table.len(), 3);
        assert_eq!(table.key(0), b"b");
        assert_eq!(table.key(1), b"");
        assert_eq!(table.key(2), b"bb");
        assert_eq!(table.find(b"bb"), Some(2));
        assert_eq!(table.find(b"c"), None);
    }

    #[test]
    fn fixed_width_tables_index_keys_by_position() {
        let mut table = KeyTable::fixed(8);
        assert!(table.is_empty());
        for i in 0u64..50_000 {
            assert_eq!(
                table.insert(&(i * 7).to_le_bytes()).unwrap(),
                (i as usize, true)
            );
        }
        assert_eq!(table.insert(&14u64.to_le_bytes()).unwrap(), (2, false));
        assert_eq!(table.len(), 50_000);
        assert_eq!(table.key(3), 21u64.to_le_bytes());
        assert_eq!(table.find(&21u64.to_le_bytes()), Some(3));
        assert_eq!(table.find(&22u64.to_le_bytes()), None);
        assert!(table.insert(b"abc").is_err());
    }

    #[test]
    fn survives_growth_with_many_keys() {
        let mut table = KeyTable::default();
        for i in 0u32..100_000 {
            assert!(table.insert(&i.to_le_bytes()).unwrap().1);
        }
        for i in 0u32..100_000 {
            assert_eq!(table.find(&i.to_le_bytes()), Some(i as usize));
        }
        assert_eq!(table.len(), 100_000);
        assert!(table.heap_bytes() >= 100_000 * 4);
    }
}
