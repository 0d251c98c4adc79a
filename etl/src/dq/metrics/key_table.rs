//! `KeyTable`: an exact, compact set of byte strings — the storage behind every distinct-value
//! count, reference key set and join index of the engine.
//!
//! Keys are Arrow row-format encodings (see [`arrow::row`]), so one table serves any column
//! type and any number of key columns, and two keys are equal exactly when their values are
//! (hashes only pick the bucket; equality always compares the bytes). Each distinct key is
//! stored once, back to back in one arena, and the hash table holds only a 4-byte entry index.
//!
//! Memory per distinct key: the encoded key (1 byte per column for nullness plus the value:
//! 8 bytes for an `Int64`, string length + a few bytes for a string), an 8-byte end offset, an
//! 8-byte cached hash, and about 5–10 bytes of hash-table slot (4-byte index + 1 control byte at
//! 50–87 % load). Roughly **key bytes + 25 bytes**; an `Int64` key costs about 35 bytes, so one
//! million distinct ids take about 35 MB. Nothing is stored per row.

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

/// An exact set of byte-string keys, each with a dense index `0..len()` in insertion order.
#[derive(Debug)]
pub struct KeyTable {
    hasher: ahash::RandomState,
    table: HashTable<u32>,
    arena: Vec<u8>,
    /// `ends[i]` is where key `i` ends in `arena`; it starts where key `i - 1` ends.
    ends: Vec<usize>,
    /// Cached hashes, so growing the table never re-reads keys.
    hashes: Vec<u64>,
}

impl Default for KeyTable {
    fn default() -> Self {
        KeyTable {
            hasher: ahash::RandomState::with_seeds(SEEDS[0], SEEDS[1], SEEDS[2], SEEDS[3]),
            table: HashTable::new(),
            arena: Vec::new(),
            ends: Vec::new(),
            hashes: Vec::new(),
        }
    }
}

impl KeyTable {
    /// Number of distinct keys.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether no key was inserted.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The bytes of key `index`.
    pub fn key(&self, index: usize) -> &[u8] {
        let start = if index == 0 { 0 } else { self.ends[index - 1] };
        &self.arena[start..self.ends[index]]
    }

    /// Inserts `key` if absent; returns its index and whether it was new.
    pub fn insert(&mut self, key: &[u8]) -> Result<(usize, bool), DqError> {
        let hash = self.hasher.hash_one(key);
        let KeyTable {
            table,
            arena,
            ends,
            hashes,
            ..
        } = self;
        let entry = table.entry(
            hash,
            |&i| key_at(arena, ends, i as usize) == key,
            |&i| hashes[i as usize],
        );
        match entry {
            Entry::Occupied(found) => Ok((*found.get() as usize, false)),
            Entry::Vacant(slot) => {
                let index = u32::try_from(ends.len()).map_err(|_| {
                    DqError::Ruleset(
                        "more than 4 294 967 295 distinct keys in one data-quality table".into(),
                    )
                })?;
                arena.extend_from_slice(key);
                ends.push(arena.len());
                hashes.push(hash);
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

    /// Approximate heap bytes held (arena, offsets, hashes and table slots).
    pub fn heap_bytes(&self) -> usize {
        self.arena.capacity()
            + self.ends.capacity() * std::mem::size_of::<usize>()
            + self.hashes.capacity() * std::mem::size_of::<u64>()
            + self.table.capacity() * (std::mem::size_of::<u32>() + 1)
    }
}

fn key_at<'a>(arena: &'a [u8], ends: &[usize], index: usize) -> &'a [u8] {
    let start = if index == 0 { 0 } else { ends[index - 1] };
    &arena[start..ends[index]]
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
