//! The table's tests. A child module of `table`, so it can check the
//! private invariants (`check`) that every public operation must keep.

use super::*;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::ptr::NonNull;
use std::rc::Rc;

/// Every invariant of the table's storage, checked from scratch.
fn check<K, V>(t: &Table<K, V>) {
    assert_eq!(t.entries.len(), t.nexts.len(), "entries and nexts in step");
    let live = t.entries.iter().filter(|e| e.is_some()).count();
    assert_eq!(live, t.load, "load counts the live entries");
    assert!(t.load <= t.grow_above, "load bound");
    assert!(t.load as f64 / t.heads.len() as f64 <= t.max_load);
    assert_eq!(t.mask, mask_for(t.heads.len()));
    let mut linked = 0;
    for (bucket, &head) in t.heads.iter().enumerate() {
        let mut i = head;
        let mut prev: Option<u32> = None;
        while i != NIL {
            let e = t.entries[i as usize]
                .as_ref()
                .expect("chains link live entries");
            assert_eq!(t.bucket_of(e.hash), bucket, "entry in its bucket's chain");
            assert!(prev.is_none_or(|p| p < i), "chains in insertion order");
            prev = Some(i);
            linked += 1;
            i = t.nexts[i as usize];
        }
    }
    assert_eq!(linked, t.load, "every live entry in exactly one chain");
}

fn collect<K: Clone, V: Clone>(t: &Table<K, V>) -> Vec<(K, V)> {
    t.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn keys<K: Clone, V>(t: &Table<K, V>) -> Vec<K> {
    t.iter().map(|(k, _)| k.clone()).collect()
}

/// The order in which a lookup for an absent key meets the keys of `hash`'s chain.
fn chain_of(t: &Table<i64, i64>, hash: i64) -> Vec<i64> {
    let mut seen = Vec::new();
    let search = Search {
        hash,
        key: &"absent",
        purpose: Purpose::Get,
    };
    let result = t.lookup(&search, |k| {
        seen.push(*k);
        Verdict::Different
    });
    assert!(matches!(result, Lookup::Missing(_)));
    seen
}

// --- The talk's table ---------------------------------------------------

#[test]
fn add_lookup_remove() {
    let mut t = Table::new(4, 0.5).unwrap();
    assert_eq!(t.insert(1, "one".to_string(), "1").unwrap(), None);
    assert_eq!(t.insert(2, "pi".to_string(), "3.14").unwrap(), None);
    assert_eq!(t.get(1, "one"), Some(&"1"));
    assert_eq!(t.get(2, "pi"), Some(&"3.14"));
    assert_eq!(t.get(2, "tau"), None);
    assert!(t.contains(1, "one") && !t.contains(1, "pi"));
    assert_eq!(t.len(), 2);
    assert_eq!(t.remove(2, "pi"), Some(("pi".to_string(), "3.14")));
    assert_eq!(t.remove(2, "pi"), None);
    assert_eq!(t.len(), 1);
    check(&t);
}

/// A key with an identity (`tag`) apart from its value, as a Python object has.
#[derive(Debug, Clone)]
struct Tagged {
    value: i64,
    tag: &'static str,
}

impl PartialEq for Tagged {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl Eq for Tagged {}

impl fmt::Display for Tagged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.value)
    }
}

#[test]
fn setting_an_existing_key_replaces_its_value_and_keeps_the_first_key() {
    let mut t = Table::new(4, 0.5).unwrap();
    let one = |tag| Tagged { value: 1, tag };
    t.insert(1, one("int"), 10).unwrap();
    // 1.0 and True are the same key as 1 in Python: the first key object stays.
    assert_eq!(t.insert(1, one("float"), 20).unwrap(), Some(10));
    assert_eq!(t.insert(1, one("bool"), 30).unwrap(), Some(20));
    assert_eq!(t.len(), 1);
    let (k, v) = t.iter().next().unwrap();
    assert_eq!((k.tag, *v), ("int", 30));
}

#[test]
fn the_third_key_doubles_a_default_table() {
    let mut t = Table::new(4, 0.5).unwrap();
    t.insert(0, 0i64, ()).unwrap();
    t.insert(1, 1, ()).unwrap();
    assert_eq!(t.buckets(), 4, "2/4 does not exceed 0.5");
    t.insert(2, 2, ()).unwrap();
    assert_eq!(t.buckets(), 8, "3/4 exceeds 0.5");
    assert_eq!(t.resizes(), 1);
    for i in 0..3 {
        assert!(t.contains(i, &i));
    }
    check(&t);
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
    t.insert(5, 5i64, ()).unwrap();
    assert_eq!(t.buckets(), 16, "1/16 <= 0.1 < 1/8");
    assert_eq!(t.resizes(), 1);
}

#[test]
fn colliding_keys_share_one_chain() {
    let mut t = Table::new(8, 100.0).unwrap();
    for i in 0..20i64 {
        t.insert(42, i, i).unwrap();
    }
    let lengths: Vec<usize> = t.chain_lengths().collect();
    assert_eq!(lengths.iter().sum::<usize>(), 20);
    assert_eq!(*lengths.iter().max().unwrap(), 20);
    for i in (0..20).step_by(3) {
        assert_eq!(t.remove(42, &i).map(|(_, v)| v), Some(i));
    }
    for i in 0..20 {
        assert_eq!(t.get(42, &i).is_some(), i % 3 != 0);
    }
    let s = t.stats().unwrap();
    assert_eq!(s.longest_chain, 13);
    assert_eq!(s.colliding_keys, 13);
    assert_eq!(s.empty_buckets, 7);
    assert_eq!(s.histogram, [7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    assert_eq!((s.buckets, s.load, s.resizes), (8, 13, 0));
    check(&t);
}

// --- Buckets: the talk's rule, and the fold of large hashes ---------------

#[test]
fn buckets_are_hash_mod_size_and_never_negative() {
    // 3 buckets: not a power of two, so the division path is used.
    let mut t = Table::new(3, 100.0).unwrap();
    let hashes = [-7i64, -1, 0, 1, 5, i64::MIN, i64::MAX];
    for h in hashes {
        t.insert(h, h, h).unwrap();
    }
    let lengths: Vec<usize> = t.chain_lengths().collect();
    let mut expected = [0usize; 3];
    for h in hashes {
        expected[bucket_of(h, 3, mask_for(3))] += 1;
    }
    assert_eq!(lengths, expected);
    for h in hashes {
        assert!(bucket_of(h, 3, mask_for(3)) < 3);
    }
}

#[test]
fn hashes_in_the_talks_range_keep_the_talks_buckets() {
    let edges = [
        -(1i64 << 31),
        -(1 << 31) + 1,
        -112_105,
        -2,
        -1,
        0,
        1,
        2,
        112_105,
        (1 << 31) - 1,
        1 << 31,
        2_654_435_761,
        (1 << 32) - 1,
    ];
    let stride = (-(1i64 << 31)..(1 << 32)).step_by(65_537);
    let counts = [
        1usize,
        2,
        3,
        4,
        5,
        6,
        7,
        8,
        12,
        16,
        24,
        1000,
        1024,
        1 << 20,
        (1 << 20) + 1,
        3 << 20,
    ];
    for buckets in counts {
        let mask = mask_for(buckets);
        for h in edges.iter().copied().chain(stride.clone()) {
            assert_eq!(
                bucket_of(h, buckets, mask),
                h.rem_euclid(buckets as i64) as usize,
                "hash {h}, {buckets} buckets"
            );
        }
    }
}

#[test]
fn other_hashes_are_folded_to_32_bits_first() {
    assert_eq!(fmix32(0), 0);
    let fold = |h: i64| (h as u32) ^ fmix32((h as u64 >> 32) as u32);
    for h in [
        1i64 << 32,
        -(1 << 31) - 1,
        i64::MIN,
        i64::MAX,
        -1 << 40,
        0x1234_5678_9abc_def0,
    ] {
        for buckets in [1usize, 3, 8, 1000, 1024] {
            assert_eq!(
                bucket_of(h, buckets, mask_for(buckets)),
                (u64::from(fold(h)) % buckets as u64) as usize,
                "hash {h}, {buckets} buckets"
            );
        }
    }
    // fmix32 is a bijection: distinct high halves stay distinct.
    let mut seen: Vec<u32> = (0..10_000).map(fmix32).collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 10_000);
}

#[test]
fn hashes_that_differ_only_in_high_bits_spread() {
    type Pattern = (&'static str, fn(i64) -> i64);
    let patterns: [Pattern; 4] = [
        ("i << 32", |i| i << 32),
        ("i << 40", |i| i << 40),
        ("i << 48", |i| i << 48),
        ("-(i << 33)", |i| -(i << 33)),
    ];
    for (name, hash) in patterns {
        let mut t = Table::new(4, 0.5).unwrap();
        for i in 0..20_000i64 {
            t.insert(hash(i), i, ()).unwrap();
        }
        let s = t.stats().unwrap();
        assert_eq!(s.buckets, 65_536);
        assert!(
            s.longest_chain <= 8,
            "{name}: longest chain {}",
            s.longest_chain
        );
        assert!(
            s.empty_buckets < 50_000,
            "{name}: {} empty",
            s.empty_buckets
        );
        check(&t);
    }
}

// --- Storage: entry size, insertion order, tombstones, compaction --------

#[test]
fn an_entry_takes_24_bytes_with_pointer_sized_keys_and_values() {
    // hash 8 + key 8 + value 8; a tombstone (None) lives in a niche of the
    // key or of the value, and the chain link in `nexts`.
    assert_eq!(size_of::<Option<Entry<Box<u8>, Box<u8>>>>(), 24);
    assert_eq!(size_of::<Option<Entry<NonNull<u8>, NonNull<u8>>>>(), 24);
    assert_eq!(size_of::<Option<Entry<i64, NonNull<u8>>>>(), 24);
    assert_eq!(size_of::<Option<Entry<NonNull<u8>, i64>>>(), 24);
    assert_eq!(size_of::<u32>(), 4, "a chain link");
}

#[test]
fn iteration_follows_insertion_order_across_removes_resizes_and_compaction() {
    let mut t = Table::new(1, 0.75).unwrap();
    let mut expected = Vec::new();
    for i in 0..100i64 {
        t.insert(i % 7, i, i).unwrap();
        expected.push(i);
    }
    for i in (0..100).step_by(2) {
        t.remove(i % 7, &i).unwrap();
    }
    expected.retain(|i| i % 2 == 1);
    assert_eq!(keys(&t), expected);
    check(&t);
    let (layout, resizes) = (t.layout(), t.resizes());
    for i in 100..300 {
        t.insert(i % 7, i, i).unwrap();
        expected.push(i);
        check(&t);
    }
    assert!(t.resizes() > resizes && t.layout() != layout);
    assert_eq!(
        t.entry_count(),
        t.len(),
        "the tombstones were compacted away"
    );
    assert_eq!(keys(&t), expected);
    // Replacing a value keeps the key's place.
    t.insert(1, 1, -1).unwrap(); // key 1, hash 1 % 7
    assert_eq!(keys(&t), expected);
    assert_eq!(t.iter().next(), Some((&1, &-1)));
}

#[test]
fn new_keys_go_to_the_tail_of_their_chain() {
    let mut t = Table::new(4, 100.0).unwrap();
    for i in 0..20i64 {
        t.insert(5, i, 0).unwrap();
    }
    assert_eq!(chain_of(&t, 5), (0..20).collect::<Vec<_>>());
    t.remove(5, &3).unwrap();
    t.remove(5, &19).unwrap();
    t.insert(5, 3, 0).unwrap();
    let mut expected: Vec<i64> = (0..20).filter(|&i| i != 3 && i != 19).collect();
    expected.push(3);
    assert_eq!(chain_of(&t, 5), expected);
    // A resize relinks in insertion order too.
    let mut big = Table::new(1, 0.5).unwrap();
    for i in 0..50i64 {
        big.insert(i % 2, i, 0).unwrap();
    }
    assert!(big.resizes() > 0);
    assert_eq!(chain_of(&big, 1), (1..50).step_by(2).collect::<Vec<_>>());
}

#[test]
fn pop_last_pops_in_reverse_insertion_order_and_trims_tombstones() {
    let mut t = Table::new(2, 1.0).unwrap();
    for i in 0..10i64 {
        t.insert(i % 3, i, i * 10).unwrap();
    }
    assert_eq!(t.pop_last(), Some((9, 90)));
    // Remove the entries now last and third to last: pop_last skips the tombstones.
    t.remove(8 % 3, &8).unwrap();
    t.remove(6 % 3, &6).unwrap();
    assert_eq!(t.entry_count(), 9, "remove leaves tombstones");
    assert_eq!(t.pop_last(), Some((7, 70)));
    assert_eq!(t.entry_count(), 6, "and pop_last trims the ones at the end");
    assert_eq!(t.pop_last(), Some((5, 50)));
    check(&t);
    let mut rest = Vec::new();
    while let Some((k, _)) = t.pop_last() {
        rest.push(k);
        check(&t);
    }
    assert_eq!(rest, [4, 3, 2, 1, 0]);
    assert!(t.is_empty() && t.entry_count() == 0);
    assert!(t.chain_lengths().all(|n| n == 0));
    assert_eq!(t.pop_last(), None);
}

#[test]
fn pop_last_finds_entries_added_between_pops() {
    let mut t = Table::new(4, 0.75).unwrap();
    let mut model: Vec<i64> = (0..50).collect();
    for &i in &model {
        t.insert(i, i, i).unwrap();
    }
    for round in 0..40 {
        for _ in 0..2 {
            assert_eq!(t.pop_last().map(|(k, _)| k), model.pop());
        }
        let k = 1000 + round;
        t.insert(k, k, k).unwrap();
        model.push(k);
    }
    assert_eq!(keys(&t), model);
    check(&t);
}

#[test]
fn positions_walk_forwards_and_backwards_over_tombstones() {
    let mut t = Table::new(4, 1.0).unwrap();
    for i in 0..8i64 {
        t.insert(i, i, i).unwrap();
    }
    for i in [0, 3, 4, 7] {
        t.remove(i, &i).unwrap();
    }
    let mut forwards = Vec::new();
    let mut pos = 0;
    while let Some((next, k, _)) = t.next_entry(pos) {
        forwards.push(*k);
        pos = next;
    }
    assert_eq!(forwards, [1, 2, 5, 6]);
    let mut backwards = Vec::new();
    let mut pos = t.entry_count();
    while let Some((prev, k, _)) = t.prev_entry(pos) {
        backwards.push(*k);
        pos = prev;
    }
    assert_eq!(backwards, [6, 5, 2, 1]);
    assert!(t.next_entry(100).is_none() && t.prev_entry(0).is_none());
    assert_eq!(t.prev_entry(100).map(|(_, k, _)| *k), Some(6));
}

#[test]
fn a_full_entries_array_with_many_tombstones_is_compacted_in_place() {
    let mut t = Table::new(64, 1.0).unwrap();
    for i in 0..4i64 {
        t.insert(i, i, ()).unwrap();
    }
    assert_eq!(t.entries.capacity(), MIN_ENTRIES);
    t.remove(1, &1).unwrap();
    t.remove(2, &2).unwrap();
    let (version, layout) = (t.version(), t.layout());
    t.insert(9, 9, ()).unwrap();
    assert_eq!(
        t.entries.capacity(),
        MIN_ENTRIES,
        "compaction alone made room"
    );
    assert_eq!(t.entry_count(), 3);
    assert_eq!(keys(&t), [0, 3, 9]);
    assert!(t.layout() != layout && t.version() > version + 1);
    check(&t);
}

#[test]
fn inserting_and_removing_in_turn_keeps_the_entries_array_small() {
    let mut t = Table::new(1 << 16, 1.0).unwrap();
    for i in 0..4i64 {
        t.insert(i, i, ()).unwrap();
    }
    for i in 4..10_000i64 {
        t.insert(i, i, ()).unwrap();
        t.remove(i - 4, &(i - 4)).unwrap();
    }
    assert_eq!(t.len(), 4);
    assert!(t.entries.capacity() <= 9, "{}", t.entries.capacity());
    check(&t);
}

#[test]
fn the_entries_array_grows_by_half() {
    let mut t = Table::new(1, 1e9).unwrap();
    let mut capacities = vec![t.entries.capacity()];
    for i in 0..100i64 {
        t.insert(i, i, ()).unwrap();
        if t.entries.capacity() != *capacities.last().unwrap() {
            capacities.push(t.entries.capacity());
        }
        assert_eq!(t.nexts.capacity(), t.entries.capacity());
    }
    assert_eq!(capacities, [0, 4, 6, 9, 13, 19, 28, 42, 63, 94, 141]);
}

/// A pointer-sized key or value that owns nothing, for the memory numbers.
#[derive(Clone, Copy)]
struct Ptr(NonNull<u8>);

impl fmt::Display for Ptr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:p}", self.0)
    }
}

/// Bytes the table holds: entries, links and heads, capacity counted.
fn table_bytes<K, V>(t: &Table<K, V>) -> usize {
    t.entries.capacity() * size_of::<Option<Entry<K, V>>>()
        + t.nexts.capacity() * size_of::<u32>()
        + t.heads.capacity() * size_of::<u32>()
}

#[test]
fn memory_per_entry_at_a_million_and_just_past_a_doubling() {
    // The numbers docs/architecture.md quotes; dict takes about 42 bytes per
    // entry at both sizes (int keys).
    for (n, expected) in [(1_000_000usize, 37.78), ((1 << 20) + 1, 44.03)] {
        let mut t = Table::new(4, 0.5).unwrap();
        let p = Ptr(NonNull::dangling());
        let search = |hash| Search {
            hash,
            key: &"",
            purpose: Purpose::Set,
        };
        for i in 0..n as i64 {
            let Lookup::Missing(m) = t.lookup(&search(i), |_| Verdict::Different) else {
                unreachable!()
            };
            t.insert_new(i, p, p, m).map_err(|r| r.error).unwrap();
        }
        let per_entry = table_bytes(&t) as f64 / n as f64;
        println!("{n} entries: {per_entry:.2} bytes per entry");
        assert!((per_entry - expected).abs() < 0.01, "{n}: {per_entry}");
    }
}

// --- Lookups: the caller's equality, and the Ask protocol ----------------

/// A key as the module sees one: an object (`id`, its identity) and the
/// value Python's `==` compares.
#[derive(Debug)]
struct Obj {
    id: u32,
    value: i64,
}

impl fmt::Display for Obj {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "obj{}={}", self.id, self.value)
    }
}

type ObjTable = Table<Obj, &'static str>;

/// Adds `Obj { id, value }` under `hash` as the module would: a lookup by
/// identity only, then `insert_new`.
fn add(t: &mut ObjTable, hash: i64, id: u32, value: i64) -> Slot {
    let search = Search {
        hash,
        key: &id,
        purpose: Purpose::Set,
    };
    let Lookup::Missing(m) = t.lookup(&search, |k| {
        if k.id == id {
            Verdict::Equal
        } else {
            Verdict::Different
        }
    }) else {
        panic!("{id} is already there")
    };
    t.insert_new(hash, Obj { id, value }, "v", m)
        .map_err(|r| r.error)
        .unwrap()
}

/// Removes the object `id` under `hash`.
fn del(t: &mut ObjTable, hash: i64, id: u32) {
    let search = Search {
        hash,
        key: &id,
        purpose: Purpose::Remove,
    };
    let Lookup::Found(slot) = t.lookup(&search, |k| {
        if k.id == id {
            Verdict::Equal
        } else {
            Verdict::Different
        }
    }) else {
        panic!("{id} is not there")
    };
    t.remove_at(slot);
}

/// The module's lookup, written as the module layer will write it: identity
/// decides at once; anything else is `Ask`, and `compare` (Python's `==`)
/// runs with no borrow of the table alive, so it gets the table to change as
/// it likes. Returns the result and the ids compared, in order.
fn find(
    t: &mut ObjTable,
    hash: i64,
    probe: &Obj,
    mut compare: impl FnMut(&mut ObjTable, u32),
) -> (Lookup, Vec<u32>) {
    let search = Search {
        hash,
        key: probe,
        purpose: Purpose::Get,
    };
    let quick = |k: &Obj| {
        if k.id == probe.id {
            Verdict::Equal
        } else {
            Verdict::Ask
        }
    };
    let mut compared = Vec::new();
    let mut result = t.lookup(&search, quick);
    while let Lookup::Ask { slot } = result {
        // What the module keeps across the comparison: the layout, and a
        // new reference to the key (here its id and value).
        let layout = t.layout();
        let start = t.key_at(slot).map(|k| (k.id, k.value)).unwrap();
        compared.push(start.0);
        compare(t, start.0); // Python code: may change the table
        let equal = start.1 == probe.value;
        let unchanged = t.layout() == layout && t.key_at(slot).is_some_and(|k| k.id == start.0);
        result = if unchanged {
            t.resume(&search, slot, equal, quick)
        } else {
            t.lookup(&search, quick)
        };
    }
    (result, compared)
}

fn id_at(t: &ObjTable, result: Lookup) -> Option<u32> {
    match result {
        Lookup::Found(slot) => t.key_at(slot).map(|k| k.id),
        _ => None,
    }
}

#[test]
fn an_equal_key_inserted_during_a_comparison_is_found_when_the_search_goes_on() {
    let mut t = Table::new(64, 1.0).unwrap();
    add(&mut t, 7, 1, 10);
    add(&mut t, 7, 2, 20);
    let probe = Obj { id: 99, value: 30 };
    let (result, compared) = find(&mut t, 7, &probe, |t, id| {
        if id == 1 {
            add(t, 7, 3, 30); // equal to the probe, at the tail of the chain
        }
    });
    assert_eq!(compared, [1, 2, 3]);
    assert_eq!(id_at(&t, result), Some(3));
    check(&t);
}

#[test]
fn the_entry_after_slot_removed_during_a_comparison_is_skipped() {
    let mut t = Table::new(64, 1.0).unwrap();
    for (id, value) in [(1, 10), (2, 20), (3, 30)] {
        add(&mut t, 7, id, value);
    }
    let probe = Obj { id: 99, value: 30 };
    let (result, compared) = find(&mut t, 7, &probe, |t, id| {
        if id == 1 {
            del(t, 7, 2);
        }
    });
    assert_eq!(
        compared,
        [1, 3],
        "the next entry is read after the comparison"
    );
    assert_eq!(id_at(&t, result), Some(3));
    check(&t);
}

#[test]
fn a_resize_during_a_comparison_restarts_the_search() {
    let mut t = Table::new(4, 0.5).unwrap();
    add(&mut t, 7, 1, 10);
    add(&mut t, 7, 2, 30);
    let probe = Obj { id: 99, value: 30 };
    let buckets = t.buckets();
    let mut first = true;
    let (result, compared) = find(&mut t, 7, &probe, |t, _| {
        if std::mem::take(&mut first) {
            for id in 10..20 {
                add(t, i64::from(id), id, -1);
            }
        }
    });
    assert!(t.buckets() > buckets);
    assert_eq!(compared, [1, 1, 2], "restarted from the head of the chain");
    assert_eq!(id_at(&t, result), Some(2));
    check(&t);
}

#[test]
fn a_compared_entry_removed_during_its_comparison_restarts_the_search() {
    let mut t = Table::new(64, 1.0).unwrap();
    for (id, value) in [(1, 10), (2, 20), (3, 30)] {
        add(&mut t, 7, id, value);
    }
    let probe = Obj { id: 99, value: 10 };
    let (result, compared) = find(&mut t, 7, &probe, |t, id| {
        if id == 1 {
            del(t, 7, 1);
        }
    });
    // The comparison said "equal", but the entry is gone: not found.
    assert_eq!(compared, [1, 2, 3]);
    assert!(matches!(result, Lookup::Missing(_)));
    // The Missing is fresh: it can be used to insert.
    let Lookup::Missing(m) = result else {
        unreachable!()
    };
    t.insert_new(7, probe, "v", m).map_err(|r| r.error).unwrap();
    check(&t);
}

#[test]
fn another_key_in_the_same_slot_restarts_the_search() {
    // pop_last trims the slot, and the next key added takes it again: the
    // layout is the same, only the key's identity tells.
    let mut t = Table::new(64, 1.0).unwrap();
    add(&mut t, 7, 1, 10);
    let slot = add(&mut t, 7, 2, 30);
    let probe = Obj { id: 99, value: 30 };
    let mut first = true;
    let (result, compared) = find(&mut t, 7, &probe, |t, id| {
        if id == 2 && std::mem::take(&mut first) {
            t.pop_last().unwrap();
            assert_eq!(add(t, 7, 5, 50), slot);
        }
    });
    assert_eq!(compared, [1, 2, 1, 5]);
    assert!(matches!(result, Lookup::Missing(_)));
}

#[test]
fn resume_restarts_by_itself_from_a_slot_that_no_longer_holds_the_hash() {
    let mut t = Table::new(64, 1.0).unwrap();
    let gone = add(&mut t, 7, 1, 10);
    add(&mut t, 7, 2, 20);
    del(&mut t, 7, 1);
    let search = Search {
        hash: 7,
        key: &"x",
        purpose: Purpose::Get,
    };
    let by_value = |k: &Obj| {
        if k.value == 20 {
            Verdict::Equal
        } else {
            Verdict::Different
        }
    };
    let fresh = t.lookup(&search, by_value);
    assert!(matches!(fresh, Lookup::Found(_)));
    assert_eq!(t.resume(&search, gone, true, by_value), fresh);
    assert_eq!(t.resume(&search, Slot(1000), false, by_value), fresh);
}

#[test]
fn try_lookup_stops_at_the_first_error() {
    let mut t = Table::new(4, 1.0).unwrap();
    for i in 0..3i64 {
        t.insert(0, i, i).unwrap();
    }
    let search = Search {
        hash: 0,
        key: &"k",
        purpose: Purpose::Get,
    };
    let mut calls = 0;
    let r: Result<Lookup, &str> = t.try_lookup(&search, |k| {
        calls += 1;
        if *k == 1 { Err("== raised") } else { Ok(false) }
    });
    assert_eq!((r, calls), (Err("== raised"), 2));
    let r: Result<Lookup, ()> = t.try_lookup(&search, |k| Ok(*k == 2));
    assert!(matches!(r, Ok(Lookup::Found(slot)) if t.value_at(slot) == Some(&2)));
    let r: Result<Lookup, ()> = t.try_lookup(&search, |_| Ok(false));
    let Ok(Lookup::Missing(m)) = r else {
        panic!("{r:?}")
    };
    t.insert_new(0, 3, 3, m).map_err(|r| r.error).unwrap();
    assert_eq!(keys(&t), [0, 1, 2, 3]);
}

#[test]
fn only_stored_keys_with_the_searched_hash_are_compared() {
    let mut t = Table::new(1, 100.0).unwrap();
    for i in 0..10i64 {
        t.insert(i % 2, i, i).unwrap();
    }
    assert_eq!(t.buckets(), 1);
    assert_eq!(chain_of(&t, 1), [1, 3, 5, 7, 9]);
}

#[cfg(debug_assertions)]
#[test]
#[should_panic(expected = "changed since the lookup")]
fn insert_new_with_a_stale_missing_is_caught_in_debug_builds() {
    let mut t = Table::new(4, 1.0).unwrap();
    let search = Search {
        hash: 1,
        key: &1,
        purpose: Purpose::Set,
    };
    let Lookup::Missing(m) = t.lookup(&search, |_| Verdict::Different) else {
        unreachable!()
    };
    t.insert(2, 2i64, ()).unwrap();
    let _ = t.insert_new(1, 1, (), m);
}

#[cfg(not(debug_assertions))]
#[test]
fn insert_new_with_a_stale_missing_keeps_the_chains_sound_in_release_builds() {
    let mut t = Table::new(4, 1.0).unwrap();
    let search = Search {
        hash: 1,
        key: &1,
        purpose: Purpose::Set,
    };
    let Lookup::Missing(m) = t.lookup(&search, |_| Verdict::Different) else {
        unreachable!()
    };
    t.insert(1, 2i64, ()).unwrap(); // same chain: m's tail is stale
    t.insert_new(1, 1, (), m).map_err(|r| r.error).unwrap();
    let Lookup::Missing(m) = t.lookup(&search, |_| Verdict::Different) else {
        unreachable!()
    };
    t.insert_new(5, 5, (), m).map_err(|r| r.error).unwrap(); // another hash
    check(&t);
    assert_eq!(keys(&t), [2, 1, 5]);
}

// --- Versions and layouts -------------------------------------------------

#[test]
fn two_tables_never_share_a_version_or_a_layout() {
    let a = Table::<i64, ()>::new(4, 0.5).unwrap();
    let b = Table::<i64, ()>::new(4, 0.5).unwrap();
    assert_ne!(a.version(), b.version());
    assert_ne!(a.layout(), b.layout());
}

#[test]
fn the_version_changes_on_add_remove_pop_and_compaction_only() {
    let mut t = Table::new(64, 1.0).unwrap();
    let mut last = t.version();
    let mut changed = |t: &Table<i64, i64>| {
        let now = t.version();
        let changed = now != last;
        last = now;
        changed
    };
    t.insert(1, 1i64, 1).unwrap();
    assert!(changed(&t));
    t.insert(1, 1, 2).unwrap();
    assert!(!changed(&t), "replacing a value");
    assert!(t.get(1, &1).is_some() && !changed(&t));
    t.remove(1, &1);
    assert!(changed(&t));
    t.remove(1, &1);
    assert!(!changed(&t), "removing a missing key");
    t.insert(2, 2, 2).unwrap();
    t.pop_last();
    assert!(changed(&t));
    assert!(t.pop_last().is_none() && !changed(&t));
}

#[test]
fn the_layout_changes_on_resize_and_compaction_only() {
    let mut t = Table::new(4, 0.5).unwrap();
    let layout = t.layout();
    t.insert(1, 1i64, ()).unwrap();
    t.insert(2, 2, ()).unwrap();
    t.remove(1, &1).unwrap();
    t.insert(2, 2, ()).unwrap();
    t.pop_last().unwrap();
    assert_eq!(t.layout(), layout, "adds, removes and pops move no entry");
    for i in 0..3 {
        t.insert(i, i, ()).unwrap();
    }
    assert_ne!(t.layout(), layout, "a resize");
}

// --- Failure: errors, not aborts; ownership handed back -------------------

#[test]
fn invalid_arguments_and_impossible_sizes_are_errors_not_aborts() {
    type T = Table<i64, ()>;
    assert_eq!(T::new(0, 0.5).unwrap_err(), TableError::InvalidArgument);
    assert_eq!(
        T::new(4, f64::NAN).unwrap_err(),
        TableError::InvalidArgument
    );
    assert_eq!(T::new(4, 0.0).unwrap_err(), TableError::InvalidArgument);
    assert_eq!(T::new(4, -1.0).unwrap_err(), TableError::InvalidArgument);
    assert_eq!(
        T::new(4, f64::INFINITY).unwrap_err(),
        TableError::InvalidArgument
    );
    // 2**62 bytes of buckets: more than any address space.
    assert_eq!(T::new(1 << 60, 0.5).unwrap_err(), TableError::OutOfMemory);
    // More bytes than a Vec can describe.
    assert_eq!(
        T::new(usize::MAX / 2, 0.5).unwrap_err(),
        TableError::TooLarge
    );
}

#[test]
fn a_failed_insert_hands_the_key_and_value_back_and_changes_nothing() {
    let value = Rc::new(());
    for (max_load, error) in [
        // The first key needs 2**50 buckets: 4 PiB.
        (1.0 / (1u64 << 50) as f64, TableError::OutOfMemory),
        // The first key needs more than 2**64 buckets.
        (1e-300, TableError::TooLarge),
    ] {
        let mut t = Table::new(1, max_load).unwrap();
        let (version, layout) = (t.version(), t.layout());
        let rejected = t.insert(5, 5i64, Rc::clone(&value)).unwrap_err();
        assert_eq!(rejected.error, error);
        assert_eq!(rejected.key, 5);
        assert!(Rc::ptr_eq(&rejected.value, &value));
        assert_eq!((t.len(), t.buckets(), t.resizes()), (0, 1, 0));
        assert_eq!((t.version(), t.layout()), (version, layout));
        assert_eq!(t.entry_count(), 0);
        check(&t);
    }
}

#[test]
fn stats_report_failure_instead_of_aborting() {
    // Nothing to provoke here; the signature is the point: a histogram is
    // an allocation.
    let t = Table::<i64, ()>::new(3, 1.0).unwrap();
    assert_eq!(t.stats().unwrap().histogram, [3]);
}

/// Counts how many of its kind were dropped.
#[derive(Debug)]
struct Token {
    id: i64,
    drops: Rc<Cell<usize>>,
}

impl Drop for Token {
    fn drop(&mut self) {
        self.drops.set(self.drops.get() + 1);
    }
}

impl PartialEq for Token {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for Token {}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.id)
    }
}

#[test]
fn the_table_drops_nothing_it_can_still_reach() {
    let drops = Rc::new(Cell::new(0));
    let token = |id| Token {
        id,
        drops: Rc::clone(&drops),
    };
    let mut t = Table::new(1, 0.5).unwrap();
    let mut handed_back = Vec::new();
    // Adds with resizes; removes, pops, replacements; compactions.
    for round in 0..20i64 {
        for i in 0..10 {
            let id = round * 10 + i;
            t.insert(id % 4, token(id), token(-id)).unwrap();
        }
        for i in (0..10).step_by(3) {
            let id = round * 10 + i;
            handed_back.push(t.remove(id % 4, &token(id)).unwrap());
        }
        handed_back.push(t.pop_last().unwrap());
        let search = Search {
            hash: (round * 10 + 1) % 4,
            key: &"",
            purpose: Purpose::Set,
        };
        if let Lookup::Found(slot) = t.lookup(&search, |k| {
            if k.id == round * 10 + 1 {
                Verdict::Equal
            } else {
                Verdict::Different
            }
        }) {
            let old = t.replace_value(slot, token(0));
            handed_back.push((token(-1), old));
        }
    }
    check(&t);
    // The only drops so far: the probe tokens the test made for `remove`.
    let probes = 20 * 4;
    assert_eq!(drops.get(), probes);
    let back = handed_back.len();
    drop(handed_back);
    assert_eq!(drops.get(), probes + 2 * back);
    let left = t.len();
    drop(t);
    assert_eq!(drops.get(), probes + 2 * back + 2 * left);
}

#[test]
fn dropping_the_table_drops_every_key_and_value_once() {
    let drops = Rc::new(Cell::new(0));
    {
        let mut t = Table::new(4, 0.5).unwrap();
        for i in 0..10 {
            let k = Token {
                id: i,
                drops: Rc::clone(&drops),
            };
            t.insert(i, k, Rc::clone(&drops)).unwrap();
        }
        assert_eq!(drops.get(), 0);
    }
    assert_eq!(drops.get(), 10);
    assert_eq!(Rc::strong_count(&drops), 1);
}

// --- Copies ---------------------------------------------------------------

#[test]
fn a_copy_keeps_order_buckets_max_load_and_hashes_without_tombstones() {
    let mut t = Table::new(3, 0.75).unwrap();
    for i in 0..40i64 {
        t.insert(i * 1_000_003 % 97 - 48, i, i * 2).unwrap();
    }
    for i in (0..40).step_by(4) {
        t.remove(i * 1_000_003 % 97 - 48, &i).unwrap();
    }
    let calls = Cell::new(0);
    let copy = t
        .try_clone_with(
            |k| {
                calls.set(calls.get() + 1);
                *k
            },
            |v| *v,
        )
        .unwrap();
    assert_eq!(calls.get(), t.len(), "one clone per key, no hashing");
    assert_eq!(copy.buckets(), t.buckets());
    assert_eq!(copy.max_load(), t.max_load());
    assert_eq!(copy.entry_count(), copy.len(), "no tombstones");
    assert!(t.entry_count() > t.len());
    let hashed = |t: &Table<i64, i64>| -> Vec<(i64, i64, i64)> {
        t.iter_hashed().map(|(h, k, v)| (h, *k, *v)).collect()
    };
    assert_eq!(hashed(&copy), hashed(&t));
    assert_eq!(
        copy.chain_lengths().collect::<Vec<_>>(),
        t.chain_lengths().collect::<Vec<_>>()
    );
    assert_ne!(copy.version(), t.version());
    assert_ne!(copy.layout(), t.layout());
    check(&copy);
    for (h, k, v) in hashed(&t) {
        assert_eq!(copy.get(h, &k), Some(&v));
    }
}

// --- A random walk against a model ----------------------------------------

/// xorshift64: a small deterministic random stream.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Hashes that collide on purpose: half the keys share 13 small hashes, the
/// other half differ only in their high bits (the folded path).
fn model_hash(k: u64) -> i64 {
    if k % 2 == 0 {
        (k % 13) as i64
    } else {
        ((k % 29) << 40) as i64 | 1
    }
}

#[test]
fn agrees_with_an_ordered_model_under_random_operations() {
    for (seed, buckets, max_load) in [
        (0x2545_F491_4F6C_DD1D, 1, 0.75),
        (0x9E37_79B9_7F4A_7C15, 3, 1.0),
        (0xD1B5_4A32_D192_ED03, 4, 0.5),
        (0x0123_4567_89AB_CDEF, 7, 2.0),
    ] {
        let mut rng = Rng(seed);
        let mut t = Table::new(buckets, max_load).unwrap();
        let mut model: Vec<(u64, u64)> = Vec::new();
        for step in 0..6_000 {
            let k = rng.below(300);
            let v = rng.next();
            let h = model_hash(k);
            let at = model.iter().position(|(mk, _)| *mk == k);
            match rng.below(10) {
                0..=4 => {
                    let old = t.insert(h, k, v).map_err(|r| r.error).unwrap();
                    match at {
                        Some(i) => assert_eq!(old, Some(std::mem::replace(&mut model[i].1, v))),
                        None => {
                            assert_eq!(old, None);
                            model.push((k, v));
                        }
                    }
                }
                5..=7 => {
                    let removed = t.remove(h, &k);
                    assert_eq!(removed, at.map(|i| model.remove(i)));
                }
                8 => assert_eq!(t.pop_last(), model.pop()),
                _ => assert_eq!(t.get(h, &k), at.map(|i| &model[i].1)),
            }
            assert_eq!(t.len(), model.len());
            assert_eq!(t.chain_lengths().sum::<usize>(), model.len());
            assert!(t.len() as f64 / t.buckets() as f64 <= max_load);
            if step % 16 == 0 {
                assert_eq!(collect(&t), model, "step {step}");
                check(&t);
            }
        }
        assert_eq!(collect(&t), model);
        check(&t);
    }
}

// --- Trace lines ------------------------------------------------------------

thread_local! {
    /// Lines traced by this thread while a test captures them.
    static CAPTURED: RefCell<Option<Vec<String>>> = const { RefCell::new(None) };
}

fn capture_sink(line: &str) {
    CAPTURED.with(|c| {
        if let Some(lines) = c.borrow_mut().as_mut() {
            lines.push(line.to_owned());
        }
    });
}

/// The library's lines traced by `f` at level `calls`. The level is global:
/// one capture at a time, and the level is set back afterwards so that the
/// other tests do not format lines for nothing.
fn traced(f: impl FnOnce()) -> Vec<String> {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    super::trace::set_sink(capture_sink);
    let previous = super::trace::set_level(Level::Calls);
    CAPTURED.with(|c| *c.borrow_mut() = Some(Vec::new()));
    f();
    super::trace::set_level(previous);
    CAPTURED.with(|c| c.borrow_mut().take().unwrap())
}

/// A str key shown as Python's repr shows it, as the module will show one.
#[derive(Debug, PartialEq, Eq)]
struct PyStr(&'static str);

impl fmt::Display for PyStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}'", self.0)
    }
}

#[test]
fn trace_lines_tell_the_talks_story() {
    let lines = traced(|| {
        let mut t = Table::new(4, 0.5).unwrap();
        for (k, h) in [
            ("pi", 112_105),
            ("one", 2_654_435_761),
            ("two", 1_013_904_226),
        ] {
            t.insert(h, PyStr(k), ()).unwrap();
        }
        t.insert(112_105, PyStr("pi"), ()).unwrap();
        t.get(112_105, &PyStr("pi"));
        t.remove(112_105, &PyStr("pi"));
        t.get(112_105, &PyStr("pi"));
        t.remove(112_105, &PyStr("pi"));
        t.pop_last();
        let mut one = Table::new(1, 1.0).unwrap();
        one.insert(3, PyStr("x"), ()).unwrap();
    });
    assert_eq!(
        lines,
        [
            "Library: allocated a table of 4 buckets (max load 0.5)",
            "Library: add 'pi' (hash 112105) to bucket 1, load 1/4",
            "Library: add 'one' (hash 2654435761) to bucket 1, load 2/4",
            "Library: resize from 4 to 8 buckets (2 entries moved)",
            "Library: add 'two' (hash 1013904226) to bucket 2, load 3/8",
            "Library: replace the value of 'pi' (hash 112105) in bucket 1",
            "Library: lookup 'pi' (hash 112105) in bucket 1: found",
            "Library: remove 'pi' (hash 112105) from bucket 1: removed",
            "Library: lookup 'pi' (hash 112105) in bucket 1: missing",
            "Library: remove 'pi' (hash 112105) from bucket 1: missing",
            "Library: remove 'two' (hash 1013904226) from bucket 2: popped",
            "Library: allocated a table of 1 bucket (max load 1)",
            "Library: add 'x' (hash 3) to bucket 0, load 1/1",
            "Library: freed a table of 1 bucket and 1 entry",
            "Library: freed a table of 8 buckets and 1 entry",
        ]
    );
}

#[test]
fn a_compaction_traces_one_line() {
    let lines = traced(|| {
        let mut t = Table::new(64, 1.0).unwrap();
        for i in 0..4i64 {
            t.insert(i, i, ()).unwrap();
        }
        t.remove(0, &0).unwrap();
        t.remove(1, &1).unwrap();
        t.insert(4, 4, ()).unwrap();
        std::mem::forget(t); // no "freed" line
    });
    assert!(
        lines.contains(&"Library: compact 2 entries (2 tombstones dropped)".to_string()),
        "{lines:#?}"
    );
}

#[test]
fn heap_bytes_counts_buckets_links_and_entries_with_their_spare_room() {
    let entry = size_of::<Option<Entry<i64, i64>>>();
    let mut t: Table<i64, i64> = Table::new(8, 0.5).unwrap();
    // No entry yet: the buckets only.
    assert_eq!(t.heap_bytes(), 8 * 4);
    for i in 0..3 {
        t.insert(i, i, i).unwrap();
    }
    let room = t.entries.capacity();
    assert!(room >= 3);
    assert_eq!(t.heap_bytes(), 8 * 4 + room * (entry + 4));
    // It grows with the table, and a removal frees nothing (a tombstone).
    for i in 3..1000 {
        t.insert(i, i, i).unwrap();
    }
    let grown = t.heap_bytes();
    assert_eq!(
        grown,
        t.heads.len() * 4 + t.entries.capacity() * entry + t.nexts.capacity() * 4
    );
    assert!(grown > 1000 * (entry + 4) && grown < 1000 * (entry + 4) * 2 + t.heads.len() * 4);
    t.remove(5, &5).unwrap();
    assert_eq!(t.heap_bytes(), grown);
}
