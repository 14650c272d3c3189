//! The chained hash table: the talk's C library, in Rust.
//!
//! An array of buckets; each bucket is a chain of entries (separate
//! chaining). The caller computes the hash and passes it in. Before a new key
//! is added, if `(load + 1) / buckets` would exceed `max_load`, the bucket
//! array doubles and every entry is relinked into its new chain. Hashes are
//! stored with the entries, so a resize never needs the caller's hash
//! function again.
//!
//! **Order lives in how entries are stored, chaining in how they are found.**
//! Entries sit in one array in insertion order, as in CPython's compact dict:
//! iterating is reading that array. Each bucket holds the index of the first
//! entry of its chain (`heads`), and each entry the index of the next one
//! (`nexts`, a parallel array, so that an entry is only its hash, key and
//! value: 24 bytes for pointer-sized keys and values). A new key goes at the
//! end of the array and at the *tail* of its chain, so every chain is in
//! insertion order too. A removed entry leaves a tombstone, so the others keep
//! their order; tombstones are compacted away when the array must grow, and
//! the ones at the end are trimmed by [`Table::pop_last`].
//!
//! **Lookups can be interrupted.** The table compares no keys itself: the
//! caller's closure says, for each stored key with the searched hash, whether
//! it is the key ([`Verdict`]). When it cannot tell without running code that
//! may change the table (Python's `==`), it answers [`Verdict::Ask`], the
//! lookup stops and returns [`Lookup::Ask`] with the entry's [`Slot`], and the
//! caller compares with no borrow of the table alive, then checks that the
//! table still holds what it compared ([`Table::layout`], [`Table::key_at`])
//! and continues ([`Table::resume`]) or restarts ([`Table::lookup`]). This is
//! what CPython's dict does after every comparison.
//!
//! **The table never drops a key or a value that is still reachable through
//! it.** Every removal hands the pair back, [`Table::replace_value`] hands the
//! old value back, and only dropping the whole table drops what is left. The
//! module layer relies on this: dropping one of its keys or values runs Python
//! code (`__del__`), which may use the table again.
//!
//! **Nothing aborts when memory is short.** Every allocation is a
//! `try_reserve`; on failure the operation reports a [`TableError`], leaves the
//! table as it was, and hands the key and value back ([`Rejected`]).

use std::borrow::Borrow;
use std::fmt::Display;
use std::sync::atomic::{AtomicU64, Ordering};

use super::trace::{self, Count, Level, Origin};
use crate::trace;

/// No entry: the end of a chain, or an empty bucket.
const NIL: u32 = u32::MAX;

/// The most entries (tombstones included) the entries array holds: every
/// index must be below [`NIL`].
const MAX_ENTRIES: usize = NIL as usize;

/// The entries array's first capacity: the talk's default table has 4 buckets.
const MIN_ENTRIES: usize = 4;

/// `mask` of a table whose bucket count is not a power of two.
const NOT_POW2: u64 = u64::MAX;

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

/// An insertion that failed: why, and the key and value it was given, handed
/// back so the caller decides when to drop them.
#[derive(Debug)]
pub struct Rejected<K, V> {
    pub error: TableError,
    pub key: K,
    pub value: V,
}

/// One key-value pair with its full hash. Its chain link lives in
/// `Table::nexts`, so that an `Option<Entry>` (a tombstone is `None`) costs
/// no more than the entry when the key or the value has a niche.
#[derive(Debug)]
struct Entry<K, V> {
    hash: i64,
    key: K,
    value: V,
}

/// Where an entry lives in the entries array. It stays valid until the entry
/// is removed or the layout changes ([`Table::layout`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot(u32);

/// What the caller's equality says about one stored key whose hash equals
/// the searched one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// It is the key searched for.
    Equal,
    /// It is not.
    Different,
    /// Deciding needs code that may change the table: stop, and let the
    /// caller compare with no borrow of the table alive.
    Ask,
}

/// What the caller will do with a lookup's result. It only decides the trace
/// line: a lookup for `Set` prints nothing (the add or the replacement that
/// follows prints), one for `Remove` prints "missing" when the key is absent
/// (the removal prints otherwise), one for `Get` prints "found" or "missing".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Get,
    Set,
    Remove,
}

/// What a lookup searches for: the hash, the key as trace lines show it, and
/// the purpose. Built once, and passed again to [`Table::resume`].
#[derive(Clone, Copy)]
pub struct Search<'a> {
    pub hash: i64,
    /// Only for trace lines; its `Display` must not touch the table.
    pub key: &'a dyn Display,
    pub purpose: Purpose,
}

/// Where a missing key's entry would go: the end of its bucket's chain.
/// Only valid until the table changes ([`Table::version`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Missing {
    hash: i64,
    /// The last entry of the hash's chain, or NIL for an empty bucket.
    tail: u32,
    version: u64,
}

/// The result of a lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// The key is at this slot.
    Found(Slot),
    /// The key is absent; pass this to [`Table::insert_new`] to add it.
    Missing(Missing),
    /// The closure answered [`Verdict::Ask`] for the key at `slot`.
    Ask { slot: Slot },
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

/// The chained hash table, generic over keys `K` and values `V`, which it
/// only moves: it never clones, compares, hashes or drops one while the table
/// can still reach it (see the file's header).
#[derive(Debug)]
pub struct Table<K, V> {
    /// Every entry ever added and not yet compacted away, in insertion
    /// order; `None` is a removed entry's tombstone.
    entries: Vec<Option<Entry<K, V>>>,
    /// `nexts[i]`: the entry after entry `i` in its chain, or NIL. Same
    /// length as `entries`; meaningless for a tombstone.
    nexts: Vec<u32>,
    /// First entry of each bucket's chain, or NIL.
    heads: Vec<u32>,
    /// `buckets - 1` when the bucket count is a power of two, else NOT_POW2.
    mask: u64,
    /// Live entries: distinct keys.
    load: usize,
    max_load: f64,
    /// The largest load the current bucket count allows (`load / buckets <=
    /// max_load`), so that adding a key compares integers, not a division.
    grow_above: usize,
    resizes: u64,
    /// Changes whenever a key is added or removed, and on compaction.
    version: u64,
    /// Changes whenever entries move or chains are rebuilt.
    layout: u64,
}

/// Each table's versions start at a multiple of 2**32 handed out here, so two
/// tables never share a version (an iterator can tell a replaced table from
/// the one it started on).
static NEXT_VERSION_BASE: AtomicU64 = AtomicU64::new(0);

/// Every layout of every table gets a number of its own, so a caller that
/// finds the same layout number knows it is looking at the same table, laid
/// out as before (even if another table now lives at the same address).
static NEXT_LAYOUT: AtomicU64 = AtomicU64::new(0);

fn fresh_layout() -> u64 {
    NEXT_LAYOUT.fetch_add(1, Ordering::Relaxed)
}

/// A vector of `len` copies of `fill`, or an error instead of an abort.
fn try_vec<T: Clone>(len: usize, fill: T) -> Result<Vec<T>, TableError> {
    let bytes = len.checked_mul(size_of::<T>());
    if bytes.is_none_or(|b| b > isize::MAX as usize) {
        return Err(TableError::TooLarge);
    }
    let mut v = Vec::new();
    v.try_reserve_exact(len)
        .map_err(|_| TableError::OutOfMemory)?;
    v.resize(len, fill);
    Ok(v)
}

/// Makes `v`'s capacity at least `capacity`, or reports why not.
fn try_reserve_to<T>(v: &mut Vec<T>, capacity: usize) -> Result<(), TableError> {
    v.try_reserve_exact(capacity.saturating_sub(v.len()))
        .map_err(|_| TableError::OutOfMemory)
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

/// MurmurHash3's 32-bit finalizer: every input bit changes about half the
/// output bits, and `fmix32(0) == 0`.
#[inline]
fn fmix32(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

/// The bucket of `hash` among `buckets` (whose mask is `mask`): which chain
/// an entry with this hash lives in.
///
/// The talk's rule is `hash mod buckets`, made non-negative. With a
/// power-of-two bucket count that reads only the low bits of the hash, so
/// hashes that differ only in their high bits all collide: 20,000 int keys
/// `i << 32` (an int below 2**61 hashes to itself) would make one chain of
/// 20,000 entries. So every bit of the hash takes part, while every picture
/// of the talk stays as it was:
///
/// - a hash in `[-2**31, 2**32)` maps as the talk's rule maps it,
///   `hash.rem_euclid(buckets)`. Everything the talk shows lives there:
///   small ints, the naive hash of floats and strings, and her Knuth hash
///   (taken mod 2**32);
/// - any other hash is first folded to 32 bits, `(low 32 bits) XOR
///   fmix32(high 32 bits)`, and that unsigned value is taken mod `buckets`.
///   `fmix32` (MurmurHash3's finalizer) mixes the high half before the XOR,
///   so that keys such as `(i << 32) | i` do not cancel out to 0.
///
/// The fold costs a few multiplications, on hashes that are large anyway
/// (CPython's str hashes nearly always): an int key's common case takes
/// the first branch. A folded hash reaches at most 2**32 buckets, more than
/// a table of at most 2**32 - 1 entries needs.
#[inline(always)]
fn bucket_of(hash: i64, buckets: usize, mask: u64) -> usize {
    let in_talk_range = (hash as u64).wrapping_add(1 << 31) < 3 << 31;
    let h = if in_talk_range {
        hash
    } else {
        let folded = (hash as u32) ^ fmix32(((hash as u64) >> 32) as u32);
        i64::from(folded)
    };
    if mask != NOT_POW2 {
        // For two's complement, h & (2**k - 1) is h mod 2**k, never negative.
        (h as u64 & mask) as usize
    } else {
        h.rem_euclid(buckets as i64) as usize
    }
}

fn mask_for(buckets: usize) -> u64 {
    if buckets.is_power_of_two() {
        buckets as u64 - 1
    } else {
        NOT_POW2
    }
}

#[cold]
#[inline(never)]
fn broken_chain() -> ! {
    panic!("a chain links to a removed entry")
}

impl<K, V> Table<K, V> {
    /// A table with `buckets` empty chains that doubles before its load
    /// proportion would exceed `max_load`.
    pub fn new(buckets: usize, max_load: f64) -> Result<Self, TableError> {
        if buckets == 0 || !(max_load.is_finite() && max_load > 0.0) {
            return Err(TableError::InvalidArgument);
        }
        let table = Table {
            entries: Vec::new(),
            nexts: Vec::new(),
            heads: try_vec(buckets, NIL)?,
            mask: mask_for(buckets),
            load: 0,
            max_load,
            grow_above: max_load_for(buckets, max_load),
            resizes: 0,
            version: NEXT_VERSION_BASE.fetch_add(1 << 32, Ordering::Relaxed),
            layout: fresh_layout(),
        };
        trace!(
            Level::Lifecycle,
            Origin::Library,
            "allocated a table of {} (max load {max_load})",
            Count(buckets, "bucket", "buckets")
        );
        Ok(table)
    }

    /// The number of buckets (chains).
    pub fn buckets(&self) -> usize {
        self.heads.len()
    }

    /// The load: the number of distinct keys.
    pub fn len(&self) -> usize {
        self.load
    }

    pub fn is_empty(&self) -> bool {
        self.load == 0
    }

    pub fn max_load(&self) -> f64 {
        self.max_load
    }

    /// How many times the bucket array has doubled.
    pub fn resizes(&self) -> u64 {
        self.resizes
    }

    /// Changes on every insertion of a new key, removal, pop and compaction
    /// (not when a value is replaced); two tables never share a version.
    /// Iterators compare it to tell that the table changed under them.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Changes only when entries move or chains are rebuilt (a resize, a
    /// compaction); two tables never share a layout. After a comparison run
    /// outside the table, an unchanged layout and the same key at the slot
    /// mean the comparison is still about that entry, in the same chain.
    pub fn layout(&self) -> u64 {
        self.layout
    }

    /// One past the last position of the entries array (tombstones count):
    /// where [`Table::prev_entry`] starts, and what grows when a key is
    /// added. Iterators compare it with [`Table::len`] to tell "size changed"
    /// from "keys changed".
    pub fn entry_count(&self) -> usize {
        self.entries.len()
    }

    /// The key at `slot`, or `None` if that entry has been removed since.
    #[inline]
    pub fn key_at(&self, slot: Slot) -> Option<&K> {
        self.entries.get(slot.0 as usize)?.as_ref().map(|e| &e.key)
    }

    /// The value at `slot`, or `None` if that entry has been removed since.
    #[inline]
    pub fn value_at(&self, slot: Slot) -> Option<&V> {
        self.entries
            .get(slot.0 as usize)?
            .as_ref()
            .map(|e| &e.value)
    }

    #[inline(always)]
    fn bucket_of(&self, hash: i64) -> usize {
        bucket_of(hash, self.heads.len(), self.mask)
    }

    /// The live entry at `index`: chains only link live entries.
    #[inline(always)]
    fn live(&self, index: u32) -> &Entry<K, V> {
        match &self.entries[index as usize] {
            Some(e) => e,
            None => broken_chain(),
        }
    }

    /// Looks for the key `search.hash` belongs to: walks its bucket's chain
    /// from the head and calls `eq` on each stored key with that hash, in
    /// insertion order, until it answers [`Verdict::Equal`] (`Found`) or
    /// [`Verdict::Ask`] (`Ask`), or the chain ends (`Missing`). `eq` runs
    /// while the table is borrowed: it must not reach the table itself.
    #[inline(always)]
    pub fn lookup(&self, search: &Search<'_>, mut eq: impl FnMut(&K) -> Verdict) -> Lookup {
        let bucket = self.bucket_of(search.hash);
        let result = self.walk(search.hash, self.heads[bucket], NIL, &mut eq);
        self.trace_lookup(search, bucket, result);
        result
    }

    /// Goes on with a lookup that returned `Ask { slot }`, once the caller
    /// has compared the key at `slot` (`equal` is its answer) and checked that
    /// the table still holds that key there in the same layout. If it does
    /// not, call [`Table::lookup`] again instead: the search restarts from the
    /// head of the chain.
    ///
    /// `equal` gives `Found(slot)`. Otherwise the walk continues from the
    /// entry that follows `slot` *now*, read fresh: the one that followed it
    /// before the comparison may have been removed. A key added during the
    /// comparison went to the tail of its chain, so it is still found. If
    /// `slot` no longer holds an entry with the searched hash (the caller
    /// skipped its check), the search restarts instead of following a stale
    /// link.
    #[inline]
    pub fn resume(
        &self,
        search: &Search<'_>,
        slot: Slot,
        equal: bool,
        mut eq: impl FnMut(&K) -> Verdict,
    ) -> Lookup {
        let still_there = matches!(
            self.entries.get(slot.0 as usize),
            Some(Some(e)) if e.hash == search.hash
        );
        if !still_there {
            return self.lookup(search, eq);
        }
        let bucket = self.bucket_of(search.hash);
        let result = if equal {
            Lookup::Found(slot)
        } else {
            let next = self.nexts[slot.0 as usize];
            self.walk(search.hash, next, slot.0, &mut eq)
        };
        self.trace_lookup(search, bucket, result);
        result
    }

    /// A lookup whose equality can fail but never needs to release the
    /// table: the first error stops the walk and is returned. The result is
    /// never `Ask`.
    pub fn try_lookup<E>(
        &self,
        search: &Search<'_>,
        mut eq: impl FnMut(&K) -> Result<bool, E>,
    ) -> Result<Lookup, E> {
        let mut error = None;
        let result = self.lookup(search, |k| match eq(k) {
            Ok(true) => Verdict::Equal,
            Ok(false) => Verdict::Different,
            Err(e) => {
                error = Some(e);
                Verdict::Ask
            }
        });
        match error {
            Some(e) => Err(e),
            None => Ok(result),
        }
    }

    /// Walks a chain from `index` (`prev` is the entry before it, or NIL).
    #[inline(always)]
    fn walk(
        &self,
        hash: i64,
        mut index: u32,
        mut prev: u32,
        eq: &mut impl FnMut(&K) -> Verdict,
    ) -> Lookup {
        while index != NIL {
            let entry = self.live(index);
            if entry.hash == hash {
                match eq(&entry.key) {
                    Verdict::Equal => return Lookup::Found(Slot(index)),
                    Verdict::Ask => return Lookup::Ask { slot: Slot(index) },
                    Verdict::Different => {}
                }
            }
            prev = index;
            index = self.nexts[index as usize];
        }
        Lookup::Missing(Missing {
            hash,
            tail: prev,
            version: self.version,
        })
    }

    /// The `calls`-level line of a lookup. Only the level check is inline:
    /// the line itself is built out of line, from copies of the search's
    /// fields, so that a lookup with tracing off never needs its `Search` in
    /// memory.
    #[inline(always)]
    fn trace_lookup(&self, search: &Search<'_>, bucket: usize, result: Lookup) {
        if trace::enabled(Level::Calls) {
            let found = match result {
                Lookup::Found(_) => true,
                Lookup::Missing(_) => false,
                Lookup::Ask { .. } => return,
            };
            trace_lookup_line(*search, bucket, found);
        }
    }

    /// The last entry of `bucket`'s chain, or NIL.
    fn chain_tail(&self, bucket: usize) -> u32 {
        let mut tail = NIL;
        let mut i = self.heads[bucket];
        while i != NIL {
            tail = i;
            i = self.nexts[i as usize];
        }
        tail
    }

    /// Whether adding one key needs the slow path: a resize, or a full
    /// entries array. Two integer compares (three, counting `nexts`).
    #[inline(always)]
    fn needs_room(&self) -> bool {
        self.load >= self.grow_above
            || self.entries.len() == self.entries.capacity()
            || self.nexts.len() == self.nexts.capacity()
    }

    /// Makes room for one more entry: doubles the bucket array if the new
    /// load proportion would exceed max_load, and makes the entries array
    /// hold one more (compacting it, growing it, or both). Returns whether
    /// the chains were rebuilt. On error nothing has changed: everything
    /// that can fail is allocated before anything moves.
    ///
    /// Growth policy of the entries array: by half its capacity (from 4),
    /// not by doubling. Just past a bucket doubling the bucket array costs
    /// `4 * 4 = 16` bytes per entry at max_load 0.5; an entries array that
    /// doubled at the same moment would add up to `2 * 28 = 56` (entry plus
    /// link) for 72 in all, dict's worst being about 60. Growing by half caps
    /// the entries array's slack at 1.5x (at most 58 bytes per entry in all)
    /// for about one more copy of each entry over the table's growth (two
    /// instead of one; realloc of a large block often moves no bytes at all).
    /// The array never shrinks, as dict's does not between resizes.
    ///
    /// When the array is full and tombstones make up more than an eighth of
    /// it, compacting alone frees enough room; otherwise it grows, and is
    /// compacted at the same time if it has any tombstones. Either way a
    /// constant fraction of it is free afterwards, so inserting and removing
    /// in turn costs amortised O(1).
    #[cold]
    #[inline(never)]
    fn make_room(&mut self) -> Result<bool, TableError> {
        let new_heads = if self.load >= self.grow_above {
            // Double until the new load fits: once is enough unless max_load
            // is below 1 / buckets (see docs/architecture.md).
            let mut target = self.heads.len();
            while (self.load + 1) as f64 / target as f64 > self.max_load {
                target = target.checked_mul(2).ok_or(TableError::TooLarge)?;
            }
            Some(try_vec(target, NIL)?)
        } else {
            None
        };
        let len = self.entries.len();
        let capacity = self.entries.capacity().min(self.nexts.capacity());
        let full = len >= capacity;
        let tombstones = len - self.load;
        if full && tombstones <= capacity / 8 {
            let target = (capacity + capacity / 2).clamp(MIN_ENTRIES, MAX_ENTRIES);
            if target <= self.load {
                return Err(TableError::TooLarge);
            }
            try_reserve_to(&mut self.entries, target)?;
            try_reserve_to(&mut self.nexts, target)?;
        }

        // Nothing below can fail.
        let resized = new_heads.is_some();
        let compact = full && tombstones > 0;
        if compact {
            trace!(
                Level::Calls,
                Origin::Library,
                "compact {} ({} dropped)",
                Count(self.load, "entry", "entries"),
                Count(tombstones, "tombstone", "tombstones")
            );
            if !resized {
                // Clears the heads that relinking will set: the buckets of
                // live entries (every other head is NIL already), so that
                // compacting costs O(entries), not O(buckets).
                for e in self.entries.iter().flatten() {
                    let b = bucket_of(e.hash, self.heads.len(), self.mask);
                    self.heads[b] = NIL;
                }
            }
            self.entries.retain(Option::is_some);
            self.nexts.truncate(self.entries.len());
            self.version += 1;
        }
        if let Some(heads) = new_heads {
            trace!(
                Level::Calls,
                Origin::Library,
                "resize from {} to {} buckets ({} moved)",
                self.heads.len(),
                heads.len(),
                Count(self.load, "entry", "entries")
            );
            self.mask = mask_for(heads.len());
            self.grow_above = max_load_for(heads.len(), self.max_load);
            self.heads = heads;
            self.resizes += 1;
        }
        let relinked = compact || resized;
        if relinked {
            self.relink();
        }
        Ok(relinked)
    }

    /// Rebuilds every chain from the entries array, whose heads must all be
    /// NIL. Walking the array backwards and putting each live entry at the
    /// head of its chain leaves every chain in insertion order.
    fn relink(&mut self) {
        for i in (0..self.entries.len()).rev() {
            let Some(e) = &self.entries[i] else { continue };
            let b = self.bucket_of(e.hash);
            self.nexts[i] = self.heads[b];
            self.heads[b] = i as u32;
        }
        self.layout = fresh_layout();
    }

    /// Unlinks the live entry `index` from its chain and leaves a tombstone.
    fn unlink(&mut self, index: u32) -> (Entry<K, V>, usize) {
        let bucket = self.bucket_of(self.live(index).hash);
        // Chains are in index order: the walk stops at `index`.
        let mut prev = NIL;
        let mut i = self.heads[bucket];
        while i != index {
            if i == NIL {
                broken_chain();
            }
            prev = i;
            i = self.nexts[i as usize];
        }
        let next = self.nexts[index as usize];
        if prev == NIL {
            self.heads[bucket] = next;
        } else {
            self.nexts[prev as usize] = next;
        }
        let Some(entry) = self.entries[index as usize].take() else {
            broken_chain()
        };
        self.load -= 1;
        self.version += 1;
        (entry, bucket)
    }

    /// Drops the tombstones at the end of the entries array.
    fn trim_tombstones(&mut self) {
        while let Some(None) = self.entries.last() {
            self.entries.pop();
            self.nexts.pop();
        }
    }

    /// The live entry at position `pos` or the first one after it, with the
    /// position to continue from. Positions stay valid across resizes (only
    /// chains change); a compaction moves entries, and changes the version.
    pub fn next_entry(&self, pos: usize) -> Option<(usize, &K, &V)> {
        self.entries
            .get(pos..)?
            .iter()
            .enumerate()
            .find_map(|(offset, e)| e.as_ref().map(|e| (pos + offset + 1, &e.key, &e.value)))
    }

    /// The last live entry before position `pos`, with its own position
    /// (where to continue backwards from). Start at [`Table::entry_count`].
    pub fn prev_entry(&self, pos: usize) -> Option<(usize, &K, &V)> {
        let end = pos.min(self.entries.len());
        self.entries[..end]
            .iter()
            .enumerate()
            .rev()
            .find_map(|(i, e)| e.as_ref().map(|e| (i, &e.key, &e.value)))
    }

    /// All entries, in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.entries
            .iter()
            .filter_map(|e| e.as_ref().map(|e| (&e.key, &e.value)))
    }

    /// All entries with their stored hashes, in insertion order.
    pub fn iter_hashed(&self) -> impl Iterator<Item = (i64, &K, &V)> {
        self.entries
            .iter()
            .filter_map(|e| e.as_ref().map(|e| (e.hash, &e.key, &e.value)))
    }

    /// A copy with the same order, bucket count, max_load and stored hashes,
    /// and no tombstones. No hash function runs: the hashes are copied.
    /// `clone_key` and `clone_value` run while this table is borrowed (the
    /// module's take a new reference, which runs no Python code).
    pub fn try_clone_with(
        &self,
        mut clone_key: impl FnMut(&K) -> K,
        mut clone_value: impl FnMut(&V) -> V,
    ) -> Result<Self, TableError> {
        let mut copy = Table::new(self.heads.len(), self.max_load)?;
        try_reserve_to(&mut copy.entries, self.load)?;
        try_reserve_to(&mut copy.nexts, self.load)?;
        for e in self.entries.iter().flatten() {
            copy.entries.push(Some(Entry {
                hash: e.hash,
                key: clone_key(&e.key),
                value: clone_value(&e.value),
            }));
            copy.nexts.push(NIL);
        }
        copy.load = self.load;
        copy.relink();
        Ok(copy)
    }

    /// The bytes this table owns on the heap: the capacity of its entries
    /// array (tombstones and spare room included), of the chain links and of
    /// the buckets. What the keys and values point to is not counted, as
    /// dict's `__sizeof__` does not count its keys and values.
    pub fn heap_bytes(&self) -> usize {
        self.entries.capacity() * size_of::<Option<Entry<K, V>>>()
            + self.nexts.capacity() * size_of::<u32>()
            + self.heads.capacity() * size_of::<u32>()
    }

    /// The length of every bucket's chain, in bucket order: the talk's picture.
    pub fn chain_lengths(&self) -> impl Iterator<Item = usize> + '_ {
        self.heads.iter().map(move |&head| {
            let mut n = 0;
            let mut i = head;
            while i != NIL {
                n += 1;
                i = self.nexts[i as usize];
            }
            n
        })
    }

    /// The numbers behind `HashTable.stats()`.
    pub fn stats(&self) -> Result<Stats, TableError> {
        let mut histogram: Vec<usize> = Vec::new();
        for n in self.chain_lengths() {
            if n >= histogram.len() {
                try_reserve_to(&mut histogram, n + 1)?;
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
        Ok(Stats {
            buckets: self.heads.len(),
            load: self.load,
            max_load: self.max_load,
            resizes: self.resizes,
            empty_buckets: histogram[0],
            longest_chain: histogram.len() - 1,
            histogram,
            colliding_keys,
        })
    }
}

/// Changes by slot. Their trace lines print the stored key, hence `Display`.
impl<K: Display, V> Table<K, V> {
    /// Adds a key that a lookup just reported `Missing`: at the end of the
    /// entries array and at the tail of its chain (found through `missing`,
    /// without walking the chain again). Resizes first if the new load would
    /// exceed max_load. On error the table is unchanged and the key and the
    /// value are handed back.
    ///
    /// Precondition: `missing` came from a lookup of `hash` and nothing
    /// changed since (checked in debug builds). A release build that gets a
    /// stale `missing` walks the chain to its tail instead of trusting it, so
    /// the chains stay sound, but it cannot know whether the key was added in
    /// the meantime.
    #[inline]
    pub fn insert_new(
        &mut self,
        hash: i64,
        key: K,
        value: V,
        missing: Missing,
    ) -> Result<Slot, Rejected<K, V>> {
        debug_assert_eq!(
            missing.version, self.version,
            "insert_new: the table changed since the lookup that said Missing"
        );
        debug_assert_eq!(missing.hash, hash, "insert_new: a Missing for another hash");
        let mut stale = missing.version != self.version || missing.hash != hash;
        if self.needs_room() {
            match self.make_room() {
                Ok(relinked) => stale |= relinked,
                Err(error) => return Err(Rejected { error, key, value }),
            }
        }
        let bucket = self.bucket_of(hash);
        let tail = if stale {
            self.chain_tail(bucket)
        } else {
            missing.tail
        };
        let index = self.entries.len() as u32;
        // make_room reserved the space: these pushes do not allocate.
        self.entries.push(Some(Entry { hash, key, value }));
        self.nexts.push(NIL);
        if tail == NIL {
            self.heads[bucket] = index;
        } else {
            self.nexts[tail as usize] = index;
        }
        self.load += 1;
        self.version += 1;
        trace!(
            Level::Calls,
            Origin::Library,
            "add {} (hash {hash}) to bucket {bucket}, load {}/{}",
            self.live(index).key,
            self.load,
            self.heads.len()
        );
        Ok(Slot(index))
    }

    /// Replaces the value at `slot` (a slot a lookup just found) and returns
    /// the old one; the key stays, as dict keeps the first key object.
    ///
    /// Panics if `slot` holds no entry.
    #[inline]
    pub fn replace_value(&mut self, slot: Slot, value: V) -> V {
        let Some(entry) = self
            .entries
            .get_mut(slot.0 as usize)
            .and_then(Option::as_mut)
        else {
            panic!("replace_value: slot {} holds no entry", slot.0)
        };
        let old = std::mem::replace(&mut entry.value, value);
        trace!(
            Level::Calls,
            Origin::Library,
            "replace the value of {} (hash {}) in bucket {}",
            self.live(slot.0).key,
            self.live(slot.0).hash,
            self.bucket_of(self.live(slot.0).hash)
        );
        old
    }

    /// Removes the entry at `slot` (a slot a lookup just found) and hands its
    /// key and value back. The others keep their order; the entry leaves a
    /// tombstone. O(length of its chain).
    ///
    /// Panics if `slot` holds no entry.
    #[inline]
    pub fn remove_at(&mut self, slot: Slot) -> (K, V) {
        if self.key_at(slot).is_none() {
            panic!("remove_at: slot {} holds no entry", slot.0);
        }
        let (entry, bucket) = self.unlink(slot.0);
        trace!(
            Level::Calls,
            Origin::Library,
            "remove {} (hash {}) from bucket {bucket}: removed",
            entry.key,
            entry.hash
        );
        (entry.key, entry.value)
    }

    /// Removes and hands back the last entry inserted (dict's `popitem`), or
    /// `None` when the table is empty. Tombstones at the end of the entries
    /// array are trimmed, so draining a table this way takes linear time.
    pub fn pop_last(&mut self) -> Option<(K, V)> {
        self.trim_tombstones();
        let index = self.entries.len().checked_sub(1)? as u32;
        // The last entry is the tail of its chain: chains are in index order.
        let (entry, bucket) = self.unlink(index);
        self.trim_tombstones();
        trace!(
            Level::Calls,
            Origin::Library,
            "remove {} (hash {}) from bucket {bucket}: popped",
            entry.key,
            entry.hash
        );
        Some((entry.key, entry.value))
    }
}

/// Conveniences for keys whose equality runs no foreign code and cannot
/// fail (the cargo tests, and the C ABI's `i64` keys).
impl<K: Eq + Display, V> Table<K, V> {
    /// The value of `key`, if present.
    pub fn get<Q>(&self, hash: i64, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Eq + Display + ?Sized,
    {
        match self.lookup_eq(hash, &key, Purpose::Get) {
            Lookup::Found(slot) => self.value_at(slot),
            _ => None,
        }
    }

    pub fn contains<Q>(&self, hash: i64, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Eq + Display + ?Sized,
    {
        self.get(hash, key).is_some()
    }

    /// Sets `key` to `value`. Returns the value it replaced, if the key was
    /// present (the stored key is kept and `key` is dropped). On error the
    /// table is unchanged and both are handed back.
    pub fn insert(&mut self, hash: i64, key: K, value: V) -> Result<Option<V>, Rejected<K, V>> {
        match self.lookup_eq(hash, &&key, Purpose::Set) {
            Lookup::Found(slot) => Ok(Some(self.replace_value(slot, value))),
            Lookup::Missing(missing) => self.insert_new(hash, key, value, missing).map(|_| None),
            Lookup::Ask { .. } => unreachable!("Eq never asks"),
        }
    }

    /// Removes `key`; returns the stored key and its value.
    pub fn remove<Q>(&mut self, hash: i64, key: &Q) -> Option<(K, V)>
    where
        K: Borrow<Q>,
        Q: Eq + Display + ?Sized,
    {
        match self.lookup_eq(hash, &key, Purpose::Remove) {
            Lookup::Found(slot) => Some(self.remove_at(slot)),
            _ => None,
        }
    }

    #[inline]
    fn lookup_eq<Q>(&self, hash: i64, key: &&Q, purpose: Purpose) -> Lookup
    where
        K: Borrow<Q>,
        Q: Eq + Display + ?Sized,
    {
        let search = Search { hash, key, purpose };
        self.lookup(&search, |k| {
            if k.borrow() == *key {
                Verdict::Equal
            } else {
                Verdict::Different
            }
        })
    }
}

impl<K, V> Drop for Table<K, V> {
    fn drop(&mut self) {
        let (buckets, entries) = (self.heads.len(), self.load);
        // Entries first (each key's and value's own drop runs here), then
        // the buckets.
        drop(std::mem::take(&mut self.entries));
        drop(std::mem::take(&mut self.heads));
        trace!(
            Level::Lifecycle,
            Origin::Library,
            "freed a table of {} and {}",
            Count(buckets, "bucket", "buckets"),
            Count(entries, "entry", "entries")
        );
    }
}

/// [`Table::trace_lookup`]'s line: found or missing, and in which bucket.
#[cold]
#[inline(never)]
fn trace_lookup_line(search: Search<'_>, bucket: usize, found: bool) {
    let (key, hash) = (search.key, search.hash);
    let outcome = if found { "found" } else { "missing" };
    match search.purpose {
        Purpose::Get => trace::emit(
            Origin::Library,
            format_args!("lookup {key} (hash {hash}) in bucket {bucket}: {outcome}"),
        ),
        Purpose::Remove if !found => trace::emit(
            Origin::Library,
            format_args!("remove {key} (hash {hash}) from bucket {bucket}: missing"),
        ),
        Purpose::Remove | Purpose::Set => {}
    }
}

#[cfg(test)]
mod tests;
