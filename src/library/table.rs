//! The chained hash table: the talk's C library, in Rust.
//!
//! An array of buckets; each bucket is a chain of entries (separate chaining).
//! The caller computes the hash and passes it in; the bucket is the hash
//! modulo the bucket count, never negative. Before a new key is added, if
//! `(load + 1) / buckets` would exceed `max_load`, the bucket array doubles
//! and every entry moves to its new chain. Hashes are stored with the
//! entries, so a resize never needs the caller's hash function again.
//!
//! Entries live in one contiguous slab and chains link them by index, so an
//! add allocates nothing but the key's own bytes (and only when the slab
//! grows), and a lookup allocates nothing at all.
//!
//! The table never drops a value while it is still reachable through the
//! table: `insert` hands an overwritten value back, `remove` hands the
//! removed one back, and only dropping the whole table drops what is left.
//! The module layer relies on this: dropping one of its values runs Python
//! code (`__del__`), which may use the table again.

use std::sync::atomic::{AtomicU64, Ordering};

use super::key::{Key, KeyAllocError, KeyRef};
use super::trace::{Level, Origin};
use crate::trace;

/// No entry: the end of a chain, or an empty bucket.
const NIL: u32 = u32::MAX;

/// Why an operation could not be done; the table is unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableError {
    /// The allocator refused the memory.
    OutOfMemory,
    /// More buckets or entries than this table can index.
    TooLarge,
    /// `buckets` was zero or `max_load` not a finite number above zero.
    InvalidArgument,
}

impl From<KeyAllocError> for TableError {
    fn from(_: KeyAllocError) -> Self {
        TableError::OutOfMemory
    }
}

/// One key-value pair with its hash and the index of the next entry in its chain.
#[derive(Debug)]
struct Entry<V> {
    hash: i64,
    next: u32,
    key: Key,
    value: V,
}

#[derive(Debug)]
enum Slot<V> {
    Occupied(Entry<V>),
    /// A removed entry's place, on the free list.
    Vacant {
        next_free: u32,
    },
}

/// Summary numbers for `HashTable.stats()`.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    pub buckets: usize,
    pub load: usize,
    pub max_load: f64,
    pub resizes: u64,
    pub empty_buckets: usize,
    pub longest_chain: usize,
    /// `histogram[n]` buckets have a chain of length `n`.
    pub histogram: Vec<usize>,
    /// Keys that share their bucket with at least one other key.
    pub colliding_keys: usize,
}

#[derive(Debug)]
pub struct Table<V> {
    /// First entry of each bucket's chain, or NIL.
    heads: Vec<u32>,
    slots: Vec<Slot<V>>,
    free_head: u32,
    /// Every occupied slot lies below this index, so `pop_any` starts its
    /// search here instead of at the end of a slab whose tail it has emptied.
    occupied_end: usize,
    load: usize,
    max_load: f64,
    /// The largest load the current bucket count allows (`load / buckets <=
    /// max_load`), so that adding a key compares integers, not a division.
    grow_above: usize,
    resizes: u64,
    /// Bumped whenever a key is added or removed, so iterators can tell.
    version: u64,
}

/// Each table's versions start at a multiple of 2**32 handed out here, so two
/// tables never share a version (an iterator can tell a replaced table from
/// the one it started on).
static NEXT_VERSION_BASE: AtomicU64 = AtomicU64::new(0);

fn try_vec<T: Clone>(len: usize, fill: T) -> Result<Vec<T>, TableError> {
    let mut v = Vec::new();
    v.try_reserve_exact(len)
        .map_err(|_| TableError::OutOfMemory)?;
    v.resize(len, fill);
    Ok(v)
}

/// The largest load `n` with `n as f64 / buckets as f64 <= max_load` (the
/// test the table doubles by), capped at `u32::MAX`: more entries than a
/// `u32` index can reach are refused anyway. Below the cap every `n` and the
/// quotient are exact enough for the search to settle in a step or two.
fn max_load_for(buckets: usize, max_load: f64) -> usize {
    const CAP: usize = u32::MAX as usize;
    let fits = |n: usize| n as f64 / buckets as f64 <= max_load;
    let estimate = (max_load * buckets as f64).floor();
    let mut n = if estimate >= CAP as f64 {
        CAP
    } else {
        estimate as usize
    };
    while n > 0 && !fits(n) {
        n -= 1;
    }
    while n < CAP && fits(n + 1) {
        n += 1;
    }
    n
}

impl<V> Table<V> {
    /// A table with `buckets` empty chains that doubles before its load
    /// proportion would exceed `max_load`.
    pub fn new(buckets: usize, max_load: f64) -> Result<Self, TableError> {
        if buckets == 0 || !(max_load.is_finite() && max_load > 0.0) {
            return Err(TableError::InvalidArgument);
        }
        let table = Table {
            heads: try_vec(buckets, NIL)?,
            slots: Vec::new(),
            free_head: NIL,
            occupied_end: 0,
            load: 0,
            max_load,
            grow_above: max_load_for(buckets, max_load),
            resizes: 0,
            version: NEXT_VERSION_BASE.fetch_add(1 << 32, Ordering::Relaxed),
        };
        trace!(
            Level::Lifecycle,
            Origin::Library,
            "allocated a table of {buckets} buckets (max load {max_load})"
        );
        Ok(table)
    }

    pub fn buckets(&self) -> usize {
        self.heads.len()
    }

    pub fn len(&self) -> usize {
        self.load
    }

    pub fn is_empty(&self) -> bool {
        self.load == 0
    }

    pub fn max_load(&self) -> f64 {
        self.max_load
    }

    pub fn resizes(&self) -> u64 {
        self.resizes
    }

    /// Changes whenever a key is added or removed (not when a value is replaced).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The bucket a hash maps to: hash mod buckets, never negative. A
    /// power-of-two bucket count lets a mask do the division's work (for two's
    /// complement the two agree).
    #[inline]
    fn bucket_of(hash: i64, buckets: usize) -> usize {
        if buckets.is_power_of_two() {
            (hash as u64 as usize) & (buckets - 1)
        } else {
            hash.rem_euclid(buckets as i64) as usize
        }
    }

    #[inline]
    fn entry(&self, index: u32) -> &Entry<V> {
        match &self.slots[index as usize] {
            Slot::Occupied(e) => e,
            Slot::Vacant { .. } => unreachable!("chain links to a vacant slot"),
        }
    }

    #[inline]
    fn entry_mut(&mut self, index: u32) -> &mut Entry<V> {
        match &mut self.slots[index as usize] {
            Slot::Occupied(e) => e,
            Slot::Vacant { .. } => unreachable!("chain links to a vacant slot"),
        }
    }

    /// The index of the entry for `key`, if present.
    #[inline(always)]
    fn find(&self, hash: i64, key: KeyRef<'_>) -> Option<u32> {
        let mut i = self.heads[Self::bucket_of(hash, self.heads.len())];
        while i != NIL {
            let e = self.entry(i);
            if e.hash == hash && e.key.matches(key) {
                return Some(i);
            }
            i = e.next;
        }
        None
    }

    #[inline(always)]
    pub fn get(&self, hash: i64, key: KeyRef<'_>) -> Option<&V> {
        let found = self.find(hash, key);
        trace!(
            Level::Calls,
            Origin::Library,
            "lookup {key} (hash {hash}) in bucket {}: {}",
            Self::bucket_of(hash, self.heads.len()),
            if found.is_some() { "found" } else { "missing" }
        );
        found.map(|i| &self.entry(i).value)
    }

    pub fn contains(&self, hash: i64, key: KeyRef<'_>) -> bool {
        self.find(hash, key).is_some()
    }

    /// Sets `key` to `value`. Returns the value it replaced, if the key was
    /// present (the key itself is kept, as dict keeps the first key object).
    /// On error nothing changed and `value` is handed back.
    pub fn insert(
        &mut self,
        hash: i64,
        key: KeyRef<'_>,
        value: V,
    ) -> Result<Option<V>, (TableError, V)> {
        if let Some(i) = self.find(hash, key) {
            trace!(
                Level::Calls,
                Origin::Library,
                "replace the value of {key} (hash {hash}) in bucket {}",
                Self::bucket_of(hash, self.heads.len())
            );
            return Ok(Some(std::mem::replace(&mut self.entry_mut(i).value, value)));
        }
        match self.add_new(hash, key, value) {
            Ok(()) => Ok(None),
            Err((e, v)) => Err((e, v)),
        }
    }

    fn add_new(&mut self, hash: i64, key: KeyRef<'_>, value: V) -> Result<(), (TableError, V)> {
        if let Err(e) = self.reserve_one() {
            return Err((e, value));
        }
        let owned = match key.to_owned() {
            Ok(k) => k,
            Err(e) => return Err((e.into(), value)),
        };
        let bucket = Self::bucket_of(hash, self.heads.len());
        let entry = Entry {
            hash,
            next: self.heads[bucket],
            key: owned,
            value,
        };
        let index = if self.free_head != NIL {
            let index = self.free_head;
            match self.slots[index as usize] {
                Slot::Vacant { next_free } => self.free_head = next_free,
                Slot::Occupied(_) => unreachable!("free list links to an occupied slot"),
            }
            self.slots[index as usize] = Slot::Occupied(entry);
            index
        } else {
            // reserve_one made room, so this push does not reallocate.
            self.slots.push(Slot::Occupied(entry));
            (self.slots.len() - 1) as u32
        };
        self.heads[bucket] = index;
        self.occupied_end = self.occupied_end.max(index as usize + 1);
        self.load += 1;
        self.version += 1;
        trace!(
            Level::Calls,
            Origin::Library,
            "add {key} (hash {hash}) to bucket {bucket}, load {}/{}",
            self.load,
            self.heads.len()
        );
        Ok(())
    }

    /// Makes room for one more entry: grows the bucket array if the new load
    /// proportion would exceed max_load, and the slab if it is full.
    fn reserve_one(&mut self) -> Result<(), TableError> {
        if self.load >= NIL as usize - 1 {
            return Err(TableError::TooLarge);
        }
        let buckets = self.heads.len();
        // Same as `(self.load + 1) as f64 / buckets as f64 > self.max_load`.
        if self.load + 1 > self.grow_above {
            // Double until the new load fits: once is enough unless max_load
            // is below 1 / buckets (see docs/architecture.md).
            let mut target = buckets;
            while (self.load + 1) as f64 / target as f64 > self.max_load {
                target = target.checked_mul(2).ok_or(TableError::TooLarge)?;
            }
            self.resize(target)?;
        }
        if self.free_head == NIL && self.slots.len() == self.slots.capacity() {
            self.slots
                .try_reserve(1)
                .map_err(|_| TableError::OutOfMemory)?;
        }
        Ok(())
    }

    /// Moves every entry to a bucket array of `buckets` chains.
    fn resize(&mut self, buckets: usize) -> Result<(), TableError> {
        let mut heads = try_vec(buckets, NIL)?;
        for (index, slot) in self.slots.iter_mut().enumerate() {
            if let Slot::Occupied(e) = slot {
                let b = Self::bucket_of(e.hash, buckets);
                e.next = heads[b];
                heads[b] = index as u32;
            }
        }
        trace!(
            Level::Calls,
            Origin::Library,
            "resize from {} to {buckets} buckets ({} entries moved)",
            self.heads.len(),
            self.load
        );
        self.heads = heads;
        self.grow_above = max_load_for(buckets, self.max_load);
        self.resizes += 1;
        Ok(())
    }

    /// Removes `key`; returns the stored key and its value.
    #[inline(always)]
    pub fn remove(&mut self, hash: i64, key: KeyRef<'_>) -> Option<(Key, V)> {
        let bucket = Self::bucket_of(hash, self.heads.len());
        let mut prev = NIL;
        let mut i = self.heads[bucket];
        while i != NIL {
            let e = self.entry(i);
            if e.hash == hash && e.key.matches(key) {
                break;
            }
            prev = i;
            i = e.next;
        }
        trace!(
            Level::Calls,
            Origin::Library,
            "remove {key} (hash {hash}) from bucket {bucket}: {}",
            if i == NIL { "missing" } else { "removed" }
        );
        if i == NIL {
            return None;
        }
        Some(self.unlink(bucket, prev, i))
    }

    fn unlink(&mut self, bucket: usize, prev: u32, index: u32) -> (Key, V) {
        let slot = std::mem::replace(
            &mut self.slots[index as usize],
            Slot::Vacant {
                next_free: self.free_head,
            },
        );
        let Slot::Occupied(e) = slot else {
            unreachable!("unlinking a vacant slot")
        };
        if prev == NIL {
            self.heads[bucket] = e.next;
        } else {
            self.entry_mut(prev).next = e.next;
        }
        self.free_head = index;
        self.load -= 1;
        self.version += 1;
        (e.key, e.value)
    }

    /// Removes and returns some entry (the one last in slab order), or None.
    ///
    /// Draining a table with it costs time linear in its size: each search
    /// starts where the previous one ended (`occupied_end`).
    pub fn pop_any(&mut self) -> Option<(Key, V)> {
        let found = self.slots[..self.occupied_end]
            .iter()
            .rposition(|s| matches!(s, Slot::Occupied(_)));
        self.occupied_end = found.unwrap_or(0);
        let index = found? as u32;
        let hash = self.entry(index).hash;
        let bucket = Self::bucket_of(hash, self.heads.len());
        let mut prev = NIL;
        let mut i = self.heads[bucket];
        while i != index {
            prev = i;
            i = self.entry(i).next;
        }
        trace!(
            Level::Calls,
            Origin::Library,
            "remove {} (hash {hash}) from bucket {bucket}: popped",
            self.entry(index).key.as_ref()
        );
        Some(self.unlink(bucket, prev, index))
    }

    /// The entry at slab position `pos` or the first one after it, with the
    /// position to continue from. Iteration in slab order stays valid across
    /// resizes, since a resize only relinks chains.
    pub fn next_entry(&self, pos: usize) -> Option<(usize, &Key, &V)> {
        self.slots
            .get(pos..)?
            .iter()
            .enumerate()
            .find_map(|(offset, slot)| match slot {
                Slot::Occupied(e) => Some((pos + offset + 1, &e.key, &e.value)),
                Slot::Vacant { .. } => None,
            })
    }

    /// All entries, in slab order.
    pub fn iter(&self) -> impl Iterator<Item = (&Key, &V)> {
        self.slots.iter().filter_map(|slot| match slot {
            Slot::Occupied(e) => Some((&e.key, &e.value)),
            Slot::Vacant { .. } => None,
        })
    }

    /// All entries with their stored hashes, in slab order (for copies that
    /// must not call the hash function again).
    pub fn iter_hashed(&self) -> impl Iterator<Item = (i64, &Key, &V)> {
        self.slots.iter().filter_map(|slot| match slot {
            Slot::Occupied(e) => Some((e.hash, &e.key, &e.value)),
            Slot::Vacant { .. } => None,
        })
    }

    /// The length of every bucket's chain, in bucket order: the talk's picture.
    pub fn chain_lengths(&self) -> impl Iterator<Item = usize> + '_ {
        self.heads.iter().map(move |&head| {
            let mut n = 0;
            let mut i = head;
            while i != NIL {
                n += 1;
                i = self.entry(i).next;
            }
            n
        })
    }

    pub fn stats(&self) -> Stats {
        let mut histogram = vec![0usize; 1];
        for n in self.chain_lengths() {
            if n >= histogram.len() {
                histogram.resize(n + 1, 0);
            }
            histogram[n] += 1;
        }
        let colliding_keys = histogram
            .iter()
            .enumerate()
            .skip(2)
            .map(|(n, c)| n * c)
            .sum();
        Stats {
            buckets: self.heads.len(),
            load: self.load,
            max_load: self.max_load,
            resizes: self.resizes,
            empty_buckets: histogram[0],
            longest_chain: histogram.len() - 1,
            histogram,
            colliding_keys,
        }
    }
}

impl<V> Drop for Table<V> {
    fn drop(&mut self) {
        let (buckets, entries) = (self.heads.len(), self.load);
        // Entries first (each value's own drop runs here), then the buckets.
        drop(std::mem::take(&mut self.slots));
        drop(std::mem::take(&mut self.heads));
        trace!(
            Level::Lifecycle,
            Origin::Library,
            "freed a table of {buckets} buckets and {entries} entries"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn int(i: i64) -> KeyRef<'static> {
        KeyRef::Int(i)
    }

    fn str_key(s: &str) -> KeyRef<'_> {
        KeyRef::Str(s.as_bytes())
    }

    #[test]
    fn add_lookup_remove() {
        let mut t = Table::new(4, 0.5).unwrap();
        assert_eq!(t.insert(1, int(1), "one").unwrap(), None);
        assert_eq!(t.insert(2, str_key("pi"), "pi").unwrap(), None);
        assert_eq!(t.get(1, int(1)), Some(&"one"));
        assert_eq!(t.get(2, str_key("pi")), Some(&"pi"));
        assert_eq!(t.get(2, str_key("tau")), None);
        assert_eq!(t.len(), 2);
        let (k, v) = t.remove(2, str_key("pi")).unwrap();
        assert!(k.as_ref().equals(str_key("pi")));
        assert_eq!(v, "pi");
        assert!(t.remove(2, str_key("pi")).is_none());
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn setting_an_existing_key_replaces_its_value_and_keeps_the_load() {
        let mut t = Table::new(4, 0.5).unwrap();
        t.insert(1, int(1), 10).unwrap();
        // 1.0 and True are the same key as 1.
        assert_eq!(t.insert(1, KeyRef::Float(1.0), 20).unwrap(), Some(10));
        assert_eq!(t.insert(1, KeyRef::Bool(true), 30).unwrap(), Some(20));
        assert_eq!(t.len(), 1);
        assert_eq!(t.get(1, int(1)), Some(&30));
    }

    #[test]
    fn the_third_key_doubles_a_default_table() {
        let mut t = Table::new(4, 0.5).unwrap();
        t.insert(0, int(0), ()).unwrap();
        t.insert(1, int(1), ()).unwrap();
        assert_eq!(t.buckets(), 4, "2/4 does not exceed 0.5");
        t.insert(2, int(2), ()).unwrap();
        assert_eq!(t.buckets(), 8, "3/4 exceeds 0.5");
        assert_eq!(t.resizes(), 1);
        for i in 0..3 {
            assert!(t.contains(i, int(i)));
        }
    }

    #[test]
    fn an_entry_takes_48_bytes() {
        // hash 8 + key 24 + value 8 + next 4, padded; a vacant slot's tag
        // lives in the key's unused tag values.
        assert_eq!(std::mem::size_of::<Slot<Box<u8>>>(), 48);
    }

    #[test]
    fn the_growth_threshold_is_the_division_test() {
        for buckets in [1usize, 3, 4, 7, 8, 1000, 1 << 20, 3 << 40] {
            for max_load in [
                0.1,
                0.25,
                0.3,
                0.5,
                0.7,
                0.75,
                1.0,
                1.0 / 3.0,
                2.0,
                4.0,
                1e-9,
                1e30,
            ] {
                let n = max_load_for(buckets, max_load);
                let fits = |n: usize| n as f64 / buckets as f64 <= max_load;
                assert!(n == 0 || fits(n), "{buckets} {max_load} {n}");
                assert!(
                    n == u32::MAX as usize || !fits(n + 1),
                    "{buckets} {max_load} {n}"
                );
            }
        }
    }

    #[test]
    fn a_tiny_max_load_doubles_until_the_load_fits() {
        let mut t = Table::new(1, 0.1).unwrap();
        t.insert(5, int(5), ()).unwrap();
        assert_eq!(t.buckets(), 16, "1/16 <= 0.1 < 1/8");
        assert_eq!(t.resizes(), 1);
    }

    #[test]
    fn buckets_are_hash_mod_size_and_never_negative() {
        // 3 buckets: not a power of two, so the division path is used.
        let mut t = Table::new(3, 100.0).unwrap();
        for h in [-7i64, -1, 0, 1, 5, i64::MIN, i64::MAX] {
            t.insert(h, int(h), h).unwrap();
        }
        let lengths: Vec<usize> = t.chain_lengths().collect();
        let mut expected = [0usize; 3];
        for h in [-7i64, -1, 0, 1, 5, i64::MIN, i64::MAX] {
            expected[h.rem_euclid(3) as usize] += 1;
        }
        assert_eq!(lengths, expected);
        // The mask path agrees with rem_euclid for negative hashes.
        for h in [-7i64, -1, i64::MIN] {
            assert_eq!(Table::<()>::bucket_of(h, 8), h.rem_euclid(8) as usize);
        }
    }

    #[test]
    fn colliding_keys_share_one_chain() {
        let mut t = Table::new(8, 100.0).unwrap();
        for i in 0..20 {
            t.insert(42, int(i), i).unwrap();
        }
        let lengths: Vec<usize> = t.chain_lengths().collect();
        assert_eq!(lengths.iter().sum::<usize>(), 20);
        assert_eq!(*lengths.iter().max().unwrap(), 20);
        for i in (0..20).step_by(3) {
            assert_eq!(t.remove(42, int(i)).map(|(_, v)| v), Some(i));
        }
        for i in 0..20 {
            assert_eq!(t.get(42, int(i)).is_some(), i % 3 != 0);
        }
        let s = t.stats();
        assert_eq!(s.longest_chain, 13);
        assert_eq!(s.colliding_keys, 13);
        assert_eq!(s.empty_buckets, 7);
    }

    #[test]
    fn invalid_arguments_and_impossible_sizes_are_errors_not_aborts() {
        assert_eq!(
            Table::<()>::new(0, 0.5).unwrap_err(),
            TableError::InvalidArgument
        );
        assert_eq!(
            Table::<()>::new(4, f64::NAN).unwrap_err(),
            TableError::InvalidArgument
        );
        assert_eq!(
            Table::<()>::new(4, 0.0).unwrap_err(),
            TableError::InvalidArgument
        );
        assert_eq!(
            Table::<()>::new(4, f64::INFINITY).unwrap_err(),
            TableError::InvalidArgument
        );
        assert_eq!(
            Table::<()>::new(1 << 60, 0.5).unwrap_err(),
            TableError::OutOfMemory
        );
    }

    #[test]
    fn removed_slots_are_reused_and_iteration_sees_every_entry() {
        let mut t = Table::new(4, 0.75).unwrap();
        for i in 0..100 {
            t.insert(i, int(i), i).unwrap();
        }
        for i in 0..50 {
            t.remove(i, int(i)).unwrap();
        }
        for i in 100..150 {
            t.insert(i, int(i), i).unwrap();
        }
        assert_eq!(t.slots.len(), 100, "freed slots were reused");
        let mut seen: Vec<i64> = t.iter().map(|(_, v)| *v).collect();
        seen.sort();
        assert_eq!(seen, (50..150).collect::<Vec<_>>());
        let mut by_position = Vec::new();
        let mut pos = 0;
        while let Some((next, _, v)) = t.next_entry(pos) {
            by_position.push(*v);
            pos = next;
        }
        by_position.sort();
        assert_eq!(by_position, seen);
    }

    #[test]
    fn pop_any_empties_the_table() {
        let mut t = Table::new(2, 1.0).unwrap();
        for i in 0..10 {
            t.insert(i % 3, int(i), i).unwrap();
        }
        let mut popped = Vec::new();
        while let Some((_, v)) = t.pop_any() {
            popped.push(v);
        }
        popped.sort();
        assert_eq!(popped, (0..10).collect::<Vec<_>>());
        assert!(t.is_empty());
        assert!(t.chain_lengths().all(|n| n == 0));
    }

    #[test]
    fn pop_any_finds_entries_added_between_pops() {
        // Slots freed by pops are reused by adds, below and above where the
        // previous search ended: nothing may be missed or popped twice.
        let mut t = Table::new(4, 0.75).unwrap();
        let mut expected: Vec<i64> = (0..50).collect();
        for i in 0..50 {
            t.insert(i, int(i), i).unwrap();
        }
        let mut popped = Vec::new();
        for round in 0..40 {
            popped.push(t.pop_any().unwrap().1);
            popped.push(t.pop_any().unwrap().1);
            let k = 1000 + round;
            t.insert(k, int(k), k).unwrap();
            expected.push(k);
        }
        while let Some((_, v)) = t.pop_any() {
            popped.push(v);
        }
        popped.sort();
        assert_eq!(popped, expected);
        assert!(t.is_empty() && t.pop_any().is_none());
    }

    #[test]
    fn two_tables_never_share_a_version() {
        let a = Table::<()>::new(4, 0.5).unwrap();
        let b = Table::<()>::new(4, 0.5).unwrap();
        assert_ne!(a.version(), b.version());
    }

    #[test]
    fn version_changes_on_add_and_remove_only() {
        let mut t = Table::new(4, 0.5).unwrap();
        let v0 = t.version();
        t.insert(1, int(1), 1).unwrap();
        let v1 = t.version();
        assert_ne!(v0, v1);
        t.insert(1, int(1), 2).unwrap();
        assert_eq!(t.version(), v1);
        t.remove(1, int(1));
        assert_ne!(t.version(), v1);
    }

    /// A small deterministic random walk against std's HashMap.
    #[test]
    fn agrees_with_std_hashmap() {
        let mut t = Table::new(1, 0.75).unwrap();
        let mut m = HashMap::new();
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let k = (x % 500) as i64;
            let h = k % 37; // plenty of collisions
            match x % 3 {
                0 | 1 => assert_eq!(t.insert(h, int(k), x).unwrap(), m.insert(k, x)),
                _ => assert_eq!(t.remove(h, int(k)).map(|(_, v)| v), m.remove(&k)),
            }
            assert_eq!(t.len(), m.len());
            assert!(t.len() as f64 / t.buckets() as f64 <= 0.75);
        }
        for (k, v) in &m {
            assert_eq!(t.get(k % 37, int(*k)), Some(v));
        }
        assert_eq!(t.chain_lengths().sum::<usize>(), m.len());
    }

    #[test]
    fn dropping_the_table_drops_every_value() {
        use std::rc::Rc;
        let token = Rc::new(());
        {
            let mut t = Table::new(4, 0.5).unwrap();
            for i in 0..10 {
                t.insert(i, int(i), Rc::clone(&token)).unwrap();
            }
            let old = t.insert(3, int(3), Rc::clone(&token)).unwrap();
            assert!(old.is_some());
            drop(old);
            assert_eq!(Rc::strong_count(&token), 11);
        }
        assert_eq!(Rc::strong_count(&token), 1);
    }
}
