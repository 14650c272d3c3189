#!/usr/bin/env python3
"""Leak check: a long loop of mixed HashTable operations, and create/fill/drop cycles.

    python3.11-dbg tools/leakcheck.py            # 1,000,000 operations (debug interpreter)
    python3.11-dbg tools/leakcheck.py --quick    # 100,000 operations, fewer cycles (CI)
    python3 tools/leakcheck.py --quick           # tracemalloc part only on a release build

1. Mixed operations: every operation of the module (set/get/pop, the mapping
   protocol, dict's methods, views and iterators, copy, ==, repr, stats,
   re-initialisation, and the error paths: missing keys, bad key types, NaN,
   a hash function that raises or returns a non-int) on tables using each
   kind of hash function (builtin, naive, Python, constant), chosen by a
   seeded random generator. The operations run in chunks; after each chunk
   every table is cleared and garbage is collected, so the live objects are
   the same at every measuring point. sys.gettotalrefcount() (debug
   interpreter only) must not grow from chunk to chunk after the first
   (warm-up) chunk, and neither must sys.getallocatedblocks().
2. tracemalloc (any interpreter): tables are created, filled with every key
   type and dropped, over and over; the traced memory (which includes the
   Rust side: our global allocator goes through PyMem_RawMalloc) after each
   cycle must not grow once the first cycles have warmed up.

Prints one line per measurement and a verdict; exits 1 on growth.
"""
import argparse
import array
import gc
import os
import random
import sys
import tracemalloc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "examples"))
import _build  # noqa: E402

hashtable = HashTable = None  # loaded by main(): the normal build or --variant
DEBUG = hasattr(sys, "gettotalrefcount")


class Boom(Exception):
    pass


def python_hash(key):
    return hash(key) * 7 + 1


def constant_hash(key):
    return 5


def raising_hash(key):
    if key == "boom":
        raise Boom(key)
    if key == "bad":
        return "not an int"
    return hash(key)


HASH_FUNCS = [hash, None, python_hash, constant_hash, raising_hash]
KEYS = list(range(-5, 40)) + [2**64, -2**70, 0.5, -1.25, 1e300, "", "a", "bb", "ccc",
                              "\U0001F600", "\u00e9", "boom", "bad", True]
BAD_KEYS = [(1,), b"x", None, [1], {}, float("nan")]


def one_operation(rng, tables):
    """One random operation on one random table; exceptions are the expected ones."""
    h = rng.choice(tables)
    key = rng.choice(KEYS)
    op = rng.randrange(28)
    try:
        if op < 5:
            h[key] = [op, key]                      # a fresh value each time
        elif op == 5:
            h.set(key, str(op)).set(rng.choice(KEYS), op)
        elif op == 6:
            h.get(key, None)
        elif op == 7:
            h[key]
        elif op == 8:
            h.pop(key, None)
        elif op == 9:
            h.pop(key)
        elif op == 10:
            del h[key]
        elif op == 11:
            key in h
        elif op == 12:
            h.setdefault(key, [key])
        elif op == 13:
            h.popitem()
        elif op == 14:
            h.update({key: op, rng.choice(KEYS): [op]}, x=1)
        elif op == 15:
            h.update([(key, op)])
        elif op == 16:
            for _ in h.items():
                pass
        elif op == 17:
            list(h.keys()), list(h.values()), len(h.values()), (key, 1) in h.items()
        elif op == 18:
            it = iter(h)
            next(it, None)
            h[rng.choice(KEYS)] = 0
            next(it, None)                          # may raise RuntimeError
        elif op == 19:
            c = h.copy()
            c == h, c != {}, c == {key: 1}
        elif op == 20:
            repr(h), h.stats(), repr(h.keys())
        elif op == 21:
            h[rng.choice(BAD_KEYS)] = 1
        elif op == 22:
            rng.choice(BAD_KEYS) in h
        elif op == 23:
            HashTable.fromkeys([key, rng.choice(KEYS)], [0])
        elif op == 24:
            h.set(key)                              # wrong argument count
        elif op == 25:
            HashTable(size=rng.choice([0, -1, 2**70, "4"]))
        elif op == 26:
            h.setdefault(rng.choice(BAD_KEYS))
        else:
            value = HashTable(hash_func=rng.choice(HASH_FUNCS))
            value[key] = value                      # a cycle, for the collector
            h[key] = value
    except (KeyError, TypeError, ValueError, RuntimeError, OverflowError, MemoryError, Boom):
        pass


def clear_internal_caches():
    (getattr(sys, "_clear_internal_caches", None) or sys._clear_type_cache)()


def mixed_operations(total, chunks, seed):
    rng = random.Random(seed)
    tables = [HashTable(size=rng.choice([1, 4, 16]), hash_func=f) for f in HASH_FUNCS]
    per_chunk = total // chunks
    # Preallocated arrays of machine integers, filled in place: the
    # bookkeeping itself must not keep an object per measurement.
    refs, blocks = array.array("q", [0] * chunks), array.array("q", [0] * chunks)
    for chunk in range(chunks):
        for _ in range(per_chunk):
            one_operation(rng, tables)
        for h in tables:
            h.clear()
        # The interpreter's own caches (the type cache, and from 3.13 on the
        # specializer's): on 3.15 they keep filling for some 200,000
        # operations, which would look like a leak. CPython's -R clears them too.
        clear_internal_caches()
        gc.collect()
        gc.collect()
        refs[chunk] = sys.gettotalrefcount() if DEBUG else 0
        blocks[chunk] = sys.getallocatedblocks()
    done = per_chunk * chunks
    # After the warm-up chunk, the reference count must stay flat: no net
    # growth, and not growing on most chunks (a leak of one reference per
    # few thousand operations still grows on every chunk).
    ok = True
    if DEBUG:
        steady = refs[1:]
        growth = steady[-1] - steady[0]
        growing = sum(1 for a, b in zip(steady, steady[1:]) if b > a)
        ok = growth <= 0 or growing < (len(steady) - 1) * 3 // 4
        print("sys.gettotalrefcount() after each of %d chunks of %d operations: %s ... %s; "
              "growth after warm-up %+d (%d of %d chunks grew): %s"
              % (chunks, per_chunk, refs[:2].tolist(), refs[-2:].tolist(), growth, growing,
                 len(steady) - 1,
                 "ok" if ok else "GROWS"))
    else:
        print("sys.gettotalrefcount() not available (not a debug interpreter): "
              "run this script with python3.11-dbg for the reference count check")
    # Allocated blocks also count objects parked in the interpreter's caches,
    # which fill slowly over a long run (the deltas shrink towards zero while
    # the reference count stays flat): shown, not judged.
    deltas = [b - a for a, b in zip(blocks[1:], blocks[2:])]
    print("sys.getallocatedblocks() deltas per chunk after warm-up (informational): %s"
          % deltas)
    print("mixed operations: %d done on %d tables (hash functions: %s)"
          % (done, len(tables), ", ".join(getattr(f, "__name__", "None") for f in HASH_FUNCS)))
    return ok


def tracemalloc_cycles(cycles, entries):
    tracemalloc.start()
    # Machine integers in a preallocated array: a list would keep one int
    # object per cycle, itself a growth of traced memory.
    sizes = array.array("q", [0] * cycles)
    funcs = HASH_FUNCS[:4]
    for cycle in range(cycles):
        for hash_func in funcs:
            h = HashTable(hash_func=hash_func)
            for i in range(entries):
                h[i] = i
                h["key %d" % i] = [i]
                h[i + 0.5] = None
                h[2**64 + i] = "big"
            for i in range(0, entries, 2):
                del h[i]
            c = h.copy()
            h.clear()
            del h, c
        gc.collect()
        sizes[cycle] = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    warm = cycles // 4 or 1
    steady = sizes[warm:]
    growth = steady[-1] - steady[0]
    per_cycle = growth / max(1, len(steady) - 1)
    # Tolerate a few hundred bytes (tracemalloc's own and the interpreter's
    # free lists); a leak of even one key or table per cycle is far bigger.
    ok = per_cycle < 64
    print("tracemalloc: %d create/fill/drop cycles of 4 tables x %d entries; traced bytes after "
          "cycles %d..%d: %d ... %d; growth %+d bytes (%+.1f per cycle): %s"
          % (cycles, 4 * entries, warm, cycles - 1, steady[0], steady[-1], growth, per_cycle,
             "ok" if ok else "GROWS"))
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100,000 operations, 20 cycles")
    parser.add_argument("--operations", type=int, help="number of mixed operations")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--variant", help="a build with a deliberate bug (e.g. forget-decref), "
                                          "to see the check fail")
    args = parser.parse_args()
    global hashtable, HashTable
    hashtable = _build.load(args.variant)
    hashtable.set_trace("off")
    HashTable = hashtable.HashTable
    total = args.operations or (100_000 if args.quick else 1_000_000)
    chunks = 10 if args.quick else 20
    print("interpreter: %s %s (debug: %s); module: %s%s"
          % (os.path.basename(sys.executable), sys.version.split()[0], DEBUG,
             os.path.basename(hashtable.__file__),
             " (bugs: %s)" % ", ".join(hashtable.BUGS) if hashtable.BUGS else ""))
    ok = mixed_operations(total, chunks, args.seed)
    ok &= tracemalloc_cycles(20 if args.quick else 60, 500 if args.quick else 2000)
    print("leakcheck: %s" % ("no growth" if ok else "GROWTH FOUND"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
