#!/usr/bin/env python3
"""Per-operation cost of hashtable.HashTable against dict and a pure-Python chained table.

    python3 benchmarks/bench.py                  10**6 keys, every workload and operation
    python3 benchmarks/bench.py --quick          10**5 keys, fewer repeats (a minute or so)
    python3 benchmarks/bench.py --n 200000       another key count
    python3 benchmarks/bench.py --scaling        ns/op at 10**4 ... 10**7 keys (takes a while)
    python3 benchmarks/bench.py --scaling --sizes 10000,100000   other key counts
    python3 benchmarks/bench.py --workloads str  a subset: int-ordered,int-shuffled,str,tuple,int-high
    python3 benchmarks/bench.py --no-pure --no-memory   skip the slow parts
    python3 benchmarks/bench.py --memory-only    only bytes per entry (no timing)
    python3 benchmarks/bench.py --markdown       the same results as Markdown (docs/performance.md)
    python3 benchmarks/instructions.py           instructions per operation (callgrind)

Every number comes from one run, on the same keys for the three structures:

  * timing: `timeit`, one statement per operation that loops over all the
    keys (`for k in keys: h[k] = v`), the same statement for dict and for the
    pure-Python table; a fresh structure per repeat (built in timeit's
    setup, which is not timed); the median of the repeats, divided by the
    number of keys. The loop's own cost is in every number, for every
    structure alike (the "empty loop" line shows it). "vs pure Python" is
    pure-Python time / HashTable time, "pure / dict" the same for dict:
    dict's own lead over the pure-Python table.
  * memory: a child process per structure builds it from keys made on the
    fly, and reports what tracemalloc traces (both keep their key objects
    alive, so the key objects count on both sides; the table's own arrays are
    allocated through PyMem_RawMalloc, so tracemalloc sees them), and the
    growth of its resident set size (/proc/self/statm) as a cross-check.
    Measured at n keys and just past a doubling (the smallest power of two
    >= n, plus one: the table's bucket array has just doubled, its worst
    point).
  * the Python hash function's overhead: `h[k] = v` with the talk's hash
    function written in Python, minus calling that function alone, at n
    keys and at 10**4 keys (in the caches; more repeats). The talk's hash
    scatters in-order ints across the buckets, so part of that overhead is
    cache misses; `py_hash` (`return hash(k) & (2**60 - 1)`: the builtin
    hash's buckets) isolates the cost of calling a Python function from the
    module.
  * scaling (--scaling): the same statements at 10**4 ... 10**7 keys, for
    HashTable and dict only, with more repeats for the small sizes.

Each target the table set out to meet (docs/performance.md) is printed with
PASS or FAIL computed from this run, or NOISE when the measurement is one
the quantity cannot have (an overhead below zero: the noise of the machine
was larger than the overhead), which neither holds nor misses the target.
The machine's noise affects the structures alike, so ratios from one run are
what count. Standard library only.
"""
import argparse
import gc
import json
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import textwrap
import timeit

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "examples"))
os.environ.setdefault("HASHTABLE_TRACE", "off")  # no lifecycle lines while measuring

import _build  # noqa: E402

hashtable = _build.load()
hashtable.set_trace("off")
HashTable = hashtable.HashTable

from _talk_hash import KNUTH, talk_hash  # noqa: E402


_MISSING = object()


class PyChainedTable:
    """The talk's chained table in plain Python: a list of buckets, each a list
    of [key, value] pairs; doubles before the load proportion exceeds max_load."""

    def __init__(self, size=4, max_load=0.5, hash_func=hash):
        self.buckets = [[] for _ in range(size)]
        self.load = 0
        self.max_load = max_load
        self.hash_func = hash_func

    def _resize(self, size):
        buckets = [[] for _ in range(size)]
        hash_func = self.hash_func
        for bucket in self.buckets:
            for pair in bucket:
                buckets[hash_func(pair[0]) % size].append(pair)
        self.buckets = buckets

    def set(self, key, value):
        buckets = self.buckets
        bucket = buckets[self.hash_func(key) % len(buckets)]
        for pair in bucket:
            if pair[0] == key:
                pair[1] = value
                return self
        if (self.load + 1) / len(buckets) > self.max_load:
            self._resize(2 * len(buckets))
            bucket = self.buckets[self.hash_func(key) % len(self.buckets)]
        bucket.append([key, value])
        self.load += 1
        return self

    def get(self, key, default=None):
        buckets = self.buckets
        for pair in buckets[self.hash_func(key) % len(buckets)]:
            if pair[0] == key:
                return pair[1]
        return default

    def pop(self, key, default=_MISSING):
        buckets = self.buckets
        bucket = buckets[self.hash_func(key) % len(buckets)]
        for i, pair in enumerate(bucket):
            if pair[0] == key:
                del bucket[i]
                self.load -= 1
                return pair[1]
        if default is _MISSING:
            raise KeyError(key)
        return default

    def __getitem__(self, key):
        buckets = self.buckets
        for pair in buckets[self.hash_func(key) % len(buckets)]:
            if pair[0] == key:
                return pair[1]
        raise KeyError(key)

    __setitem__ = set

    def __delitem__(self, key):
        self.pop(key)

    def __iter__(self):
        for bucket in self.buckets:
            for pair in bucket:
                yield pair[0]

    def __len__(self):
        return self.load


STRUCTURES = {"HashTable": "HashTable()", "dict": "{}", "pure Python": "PyChainedTable()"}

# (name, statement for HashTable and the pure-Python table, statement for dict,
#  keys the loop runs over, whether the structure starts filled, target)
# Targets are HashTable/dict ratios; str keys get the stricter str target.
OPERATIONS = [
    ("insert h.set(k, v)", "for k in keys: h.set(k, v)", "for k in keys: d[k] = v", "keys", False, "insert"),
    ("insert h[k] = v", "for k in keys: h[k] = v", "for k in keys: d[k] = v", "keys", False, "insert"),
    ("get hit h.get(k)", "for k in keys: h.get(k)", "for k in keys: d.get(k)", "keys", True, "get"),
    ("get miss h.get(k)", "for k in misses: h.get(k)", "for k in misses: d.get(k)", "misses", True, "get"),
    ("lookup h[k]", "for k in keys: h[k]", "for k in keys: d[k]", "keys", True, "subscript"),
    ("pop all h.pop(k)", "for k in keys: h.pop(k)", "for k in keys: d.pop(k)", "keys", True, "pop"),
    ("delete all del h[k]", "for k in keys: del h[k]", "for k in keys: del d[k]", "keys", True, "pop"),
    ("iterate for k in h", "for k in h: pass", "for k in d: pass", "keys", True, "iterate"),
]
# Ratio targets HashTable / dict, by operation; tuple keys (whose == and
# hash are the tuple's own, through the C API) have TUPLE_TARGET for all.
TARGETS = {"insert": 1.3, "get": 1.3, "subscript": 1.3, "pop": 1.3, "iterate": 1.5}
TUPLE_TARGET = 1.5
PURE_SPEEDUP = 10.0
SCALING_TARGET = 2.0
HASH_OVERHEAD_NS = 50.0
CACHED_N = 10**4  # key count of the in-cache hash function measurement


HIGH_BITS = "int << 32"
WORKLOAD_NAMES = {"int-ordered": "int, in order", "int-shuffled": "int, shuffled", "str": "str",
                  "tuple": "tuple", "int-high": HIGH_BITS}


def make_keys(workload, n, with_misses=True):
    """The keys and the missing keys of a workload, as fresh objects with their hash cached.
    with_misses=False: no misses (None); the keys are the same."""
    misses = None
    if workload == "int, in order":
        keys = list(range(n))
        if with_misses:
            misses = list(range(n, 2 * n))
    elif workload == "int, shuffled":
        rng = random.Random(42)
        keys = list(range(n))
        rng.shuffle(keys)
        if with_misses:
            misses = list(range(n, 2 * n))
            rng.shuffle(misses)
    elif workload == "str":
        rng = random.Random(43)
        order = list(range(n))
        rng.shuffle(order)
        keys = [f"key{i}" for i in order]
        if with_misses:
            misses = [f"miss{i}" for i in order]
    elif workload == "tuple":
        rng = random.Random(44)
        order = list(range(n))
        rng.shuffle(order)
        keys = [(i, str(i)) for i in order]
        if with_misses:
            misses = [(i, str(i)) for i in range(n, 2 * n)]
    elif workload == HIGH_BITS:
        # Keys whose hashes differ only above bit 32 (hash(i << 32) == i << 32):
        # the bucket is chosen by every bit of the hash, not only the low ones.
        keys = [i << 32 for i in range(n)]
        if with_misses:
            misses = [i << 32 for i in range(n, 2 * n)]
    else:
        raise ValueError(workload)
    for some in (keys, misses or ()):
        for k in some:
            hash(k)  # str objects cache their hash: every structure gets it for free
    return keys, misses


def many_repeats(n, repeat):
    """Repeats for n keys: at least `repeat`, and enough (up to 100) for each
    number to cover 10**6 operations; max(3, repeat // 2) from 10**7 keys."""
    if n >= 10**7:
        return max(3, repeat // 2)
    return max(repeat, min(100, 10**6 // n))


def time_per_op(stmt, setup, namespace, n, repeat):
    """Median seconds per key of `stmt` (one pass over n keys), a fresh setup per repeat."""
    timer = timeit.Timer(stmt, setup, globals=namespace)
    times = []
    for _ in range(repeat):
        times.append(timer.timeit(number=1))
        gc.collect()
    return statistics.median(times) / n


def fill_setup(make, filled):
    setup = f"h = {make}"
    if filled:
        setup += "\nfor k in keys: h[k] = v"
    return setup


def bench_operations(workloads, n, repeat, pure_repeat, progress, structures=STRUCTURES):
    """{(workload, operation, structure): ns/op}, plus the empty loop per workload."""
    results = {}
    for workload in workloads:
        keys, misses = make_keys(workload, n)
        namespace = {"keys": keys, "misses": misses, "v": None,
                     "HashTable": HashTable, "PyChainedTable": PyChainedTable}
        results[(workload, "empty loop", "-")] = 1e9 * time_per_op(
            "for k in keys: pass", "pass", namespace, n, repeat)
        for name, stmt, dict_stmt, _, filled, _ in OPERATIONS:
            for structure, make in structures.items():
                if structure == "pure Python" and workload == HIGH_BITS:
                    # Every hash is a multiple of 2**32 and the pure table
                    # files keys by `hash % len(buckets)`, a power of two: all
                    # in bucket 0, one chain, quadratic time (hours at 10**6).
                    continue
                progress(f"{workload}: {name}: {structure}")
                if structure == "dict":
                    # "h = {}" -> "d = {}" (no other "h" in a dict setup)
                    this_stmt, setup = dict_stmt, fill_setup(make, filled).replace("h", "d")
                else:
                    this_stmt, setup = stmt, fill_setup(make, filled)
                reps = pure_repeat if structure == "pure Python" else repeat
                results[(workload, name, structure)] = 1e9 * time_per_op(
                    this_stmt, setup, namespace, n, reps)
        del keys, misses, namespace
        gc.collect()
    return results


PY_HASH_MASK = 2**60 - 1


def py_hash(k):
    """A Python hash function that files every key where the builtin hash does.

    The table reduces the int a hash function returns the way hash() of an
    int does (modulo 2**61 - 1), so a plain `return hash(k)` would move str
    keys, whose hashes use all 64 bits, to other buckets (ints hash to
    themselves below 2**61 - 1, already reduced). The low 60 bits are kept
    as they are by the reduction, and a power-of-two bucket array picks the
    bucket from the low bits: the same bucket, chain and order for every key.
    """
    return hash(k) & PY_HASH_MASK


def hash_overhead_sizes(n):
    """n keys, and CACHED_N keys (in the caches) unless n is that already."""
    return [n] if n == CACHED_N else [n, CACHED_N]


def bench_hash_overhead(workloads, n, repeat, progress):
    """{(workload, key count): {"talk": ns per insert with talk_hash, "talk alone":
    ns per talk_hash call, "builtin": ns per insert with the builtin hash, "py":
    ns per insert with py_hash, "py alone": ns per py_hash call, "empty": ns per
    empty loop iteration}}, at n keys and at CACHED_N keys (more repeats)."""
    out = {}
    for workload in workloads:
        for size in hash_overhead_sizes(n):
            keys, _ = make_keys(workload, size, with_misses=False)
            reps = repeat if size == n else many_repeats(size, repeat)
            namespace = {"keys": keys, "v": None, "talk_hash": talk_hash, "py_hash": py_hash,
                         "HashTable": HashTable}
            row = {}
            for name, stmt, setup in [
                    ("talk", "for k in keys: h[k] = v", "h = HashTable(hash_func=talk_hash)"),
                    ("talk alone", "for k in keys: talk_hash(k)", "pass"),
                    ("builtin", "for k in keys: h[k] = v", "h = HashTable()"),
                    ("py", "for k in keys: h[k] = v", "h = HashTable(hash_func=py_hash)"),
                    ("py alone", "for k in keys: py_hash(k)", "pass"),
                    ("empty", "for k in keys: pass", "pass")]:
                progress(f"{workload}: Python hash function, {size} keys: {name}")
                row[name] = 1e9 * time_per_op(stmt, setup, namespace, size, reps)
            out[(workload, size)] = row
            del keys, namespace
            gc.collect()
    return out


# --- memory: one child process per structure -------------------------------

def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def memory_child(structure, workload, n, mode):
    """Builds one structure and prints its bytes per entry as JSON: what
    tracemalloc traces (mode "traced"), or the resident set's growth (mode
    "rss", without tracemalloc, whose own bookkeeping per traced block would
    count against the structure with the most blocks)."""
    import tracemalloc
    # The keys are made on the fly (no key list to drop), in the workload's order.
    if workload == "str":
        gen = (f"key{i}" for i in range(n))
    elif workload == "tuple":
        gen = ((i, str(i)) for i in range(n))
    elif workload == "int, shuffled":
        gen = ((i * KNUTH) % n for i in range(n))  # a permutation of range(n)
    elif workload == HIGH_BITS:
        gen = (i << 32 for i in range(n))
    else:
        gen = iter(range(n))
    gc.collect()
    gc.disable()
    if mode == "traced":
        tracemalloc.start()
    rss0 = rss_bytes()
    traced0 = tracemalloc.get_traced_memory()[0]
    if structure == "dict":
        s = {}
    else:
        s = HashTable()
    for k in gen:
        s[k] = None
    del gen
    traced = tracemalloc.get_traced_memory()[0] - traced0
    rss = rss_bytes() - rss0
    tracemalloc.stop()
    value = traced if mode == "traced" else rss
    print(json.dumps({mode: value / n, "len": len(s)}))


def memory_sizes(n):
    """n, and just past a doubling: the smallest power of two >= n, plus one
    (the table's bucket array and entry slab have both just doubled there)."""
    return [n, (1 << (n - 1).bit_length()) + 1]


def bench_memory(workloads, n, progress):
    """{(workload, key count, structure): {"traced": B/entry, "rss": B/entry}}
    for each key count of memory_sizes(n)."""
    out = {}
    env = dict(_build.env_for(), HASHTABLE_TRACE="off")
    for workload in workloads:
        for size in memory_sizes(n):
            for structure in ("HashTable", "dict"):
                out[(workload, size, structure)] = {}
                for mode in ("traced", "rss"):
                    progress(f"{workload}: memory, {size} keys ({mode}): {structure}")
                    done = subprocess.run(
                        [sys.executable, os.path.abspath(__file__), "--memory-child",
                         structure, workload, str(size), mode],
                        check=True, capture_output=True, text=True, env=env)
                    out[(workload, size, structure)].update(
                        json.loads(done.stdout.splitlines()[-1]))
    return out


# --- scaling -----------------------------------------------------------------

SCALING_SIZES = [10**4, 10**5, 10**6, 10**7]
SCALING_OPS = [
    ("insert h[k] = v", "for k in keys: h[k] = v", "for k in keys: d[k] = v", False),
    ("lookup h[k]", "for k in keys: h[k]", "for k in keys: d[k]", True),
    ("get hit h.get(k)", "for k in keys: h.get(k)", "for k in keys: d.get(k)", True),
    ("pop all h.pop(k)", "for k in keys: h.pop(k)", "for k in keys: d.pop(k)", True),
]


SCALING_WORKLOADS = ["int, in order", "int, shuffled", "str"]


def bench_scaling(sizes, repeat, progress):
    """{(workload, size, operation, structure): ns/op}."""
    out = {}
    for workload in SCALING_WORKLOADS:
        for n in sizes:
            keys, _ = make_keys(workload, n, with_misses=False)
            namespace = {"keys": keys, "v": None, "HashTable": HashTable}
            # Small sizes: more repeats, so each number covers more operations.
            reps = many_repeats(n, repeat)
            for name, stmt, dict_stmt, filled in SCALING_OPS:
                for structure, make, this in (("HashTable", "HashTable()", stmt),
                                              ("dict", "{}", dict_stmt)):
                    progress(f"scaling {workload} {n}: {name}: {structure}")
                    setup = f"h = {make}" + ("\nfor k in keys: h[k] = v" if filled else "")
                    if structure == "dict":
                        setup = setup.replace("h", "d")
                    out[(workload, n, name, structure)] = 1e9 * time_per_op(
                        this, setup, namespace, n, reps)
            del keys, namespace
            gc.collect()
    return out


# --- reporting -----------------------------------------------------------------

class Report:
    def __init__(self, markdown):
        self.markdown = markdown
        self.lines = []
        self.checks = []

    def heading(self, text):
        self.lines += ["", f"#### {text}" if self.markdown else f"== {text} ==", ""]

    def table(self, header, rows):
        rows = [[str(c) for c in r] for r in rows]
        if self.markdown:
            self.lines.append("| " + " | ".join(header) + " |")
            self.lines.append("|" + "|".join("---" if i == 0 else "---:"
                                            for i in range(len(header))) + "|")
            for r in rows:
                self.lines.append("| " + " | ".join(r) + " |")
        else:
            widths = [max(len(x) for x in col) for col in zip(header, *rows)]
            fmt = lambda r: "  ".join(x.ljust(w) if i == 0 else x.rjust(w)  # noqa: E731
                                      for i, (x, w) in enumerate(zip(r, widths)))
            self.lines.append(fmt(header))
            self.lines.append(fmt(["-" * w for w in widths]))
            self.lines += [fmt(r) for r in rows]

    def check(self, what, value, op, limit, unit="", floor=None):
        """A target line: PASS or FAIL, or NOISE when `value` is below `floor`,
        a value the quantity cannot have (an overhead below zero)."""
        if floor is not None and value < floor:
            verdict = "NOISE"
        else:
            ok = value <= limit if op == "<=" else value >= limit
            verdict = "PASS" if ok else "FAIL"
        self.checks.append([what, f"{value:.2f}{unit}", f"{op} {limit:g}{unit}", verdict])

    def summary(self):
        """'N of M targets hold.', and how many were noise, if any."""
        held = sum(1 for c in self.checks if c[3] == "PASS")
        noise = sum(1 for c in self.checks if c[3] == "NOISE")
        return (f"{held} of {len(self.checks)} targets hold"
                + (f"; {noise} measured as noise, neither held nor missed" if noise else "")
                + ".")

    def text(self, line=""):
        self.lines.append(line)

    def render(self):
        return "\n".join(self.lines).strip("\n")


def machine_note():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (f"{platform.python_implementation()} {platform.python_version()} on "
            f"{platform.machine()} {platform.system()}, {cpu}, {os.cpu_count()} CPUs; "
            f"source {source_revision()}")


def source_revision():
    """The commit measured (e.g. c1d7523), "-modified" when the code differs
    from it, or "unknown". Only what is built or run counts: the docs change
    while tools/regen_docs.py pastes this very output into them."""
    def git(*args):
        return subprocess.run(["git", "-C", REPO, *args], capture_output=True, text=True,
                              timeout=30)
    try:
        head = git("rev-parse", "--short", "HEAD")
        code = git("diff", "--quiet", "HEAD", "--", ".", ":(exclude)docs", ":(exclude)README.md")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if head.returncode != 0 or not head.stdout.strip():
        return "unknown"
    return head.stdout.strip() + ("-modified" if code.returncode != 0 else "")


def report_operations(rep, results, workloads, n):
    rep.heading(f"Time per operation, {n} keys (ns/op, median; ratio = HashTable / dict)")
    for workload in workloads:
        rep.text(f"{workload} keys (empty loop `for k in keys: pass`: "
                 f"{results[(workload, 'empty loop', '-')]:.1f} ns/op)")
        rep.text()
        rows = []
        for name, _, dict_stmt, _, _, target in OPERATIONS:
            ours = results[(workload, name, "HashTable")]
            d = results[(workload, name, "dict")]
            pure = results.get((workload, name, "pure Python"), math.nan)
            limit = (TUPLE_TARGET if workload == "tuple" else TARGETS[target]) if target else None
            no_pure = math.isnan(pure)
            rows.append([name, f"{ours:.1f}", f"{d:.1f}", "-" if no_pure else f"{pure:.1f}",
                         f"{ours / d:.2f}", f"<= {limit:g}" if limit else "-",
                         "-" if no_pure else f"{pure / ours:.1f}x",
                         "-" if no_pure else f"{pure / d:.1f}x"])
            if limit:
                rep.check(f"{workload}: {name} vs `{dict_stmt.split(': ')[1]}`",
                          ours / d, "<=", limit)
            if not math.isnan(pure):
                rep.check(f"{workload}: {name}: pure-Python table / HashTable",
                          pure / ours, ">=", PURE_SPEEDUP, "x")
        rep.table(["operation", "HashTable", "dict", "pure Python", "ratio", "target",
                   "vs pure Python", "pure / dict"], rows)
        rep.text()


def report_memory(rep, mem, workloads, n):
    sizes = memory_sizes(n)
    rep.heading(f"Memory per entry, {sizes[0]} keys and {sizes[1]} (just past a doubling) "
                f"(bytes; keys made on the fly, values all None)")
    rows = []
    for workload in workloads:
        for size in sizes:
            ours, d = mem[(workload, size, "HashTable")], mem[(workload, size, "dict")]
            rows.append([workload, str(size), f"{ours['traced']:.1f}", f"{d['traced']:.1f}",
                         f"{ours['rss']:.1f}", f"{d['rss']:.1f}"])
            rep.check(f"{workload}, {size} keys: memory per entry, HashTable / dict (tracemalloc)",
                      ours["traced"] / d["traced"], "<=", 1.0)
            rep.check(f"{workload}, {size} keys: memory per entry, HashTable / dict (RSS)",
                      ours["rss"] / d["rss"], "<=", 1.0)
    rep.table(["keys", "key count", "HashTable traced", "dict traced", "HashTable RSS",
               "dict RSS"], rows)


def report_hash_overhead(rep, over, workloads, n):
    sizes = hash_overhead_sizes(n)
    rep.heading(f"The talk's Python hash function, {' and '.join(map(str, sizes))} keys "
                f"(ns per key)")
    rows = []
    for workload in workloads:
        for size in sizes:
            o = over[(workload, size)]
            overhead = o["talk"] - o["talk alone"]
            from_c = (o["py"] - o["builtin"]) - (o["py alone"] - o["empty"])
            rows.append([workload, str(size), f"{o['talk']:.1f}", f"{o['talk alone']:.1f}",
                         f"{overhead:.1f}", f"{o['builtin']:.1f}", f"{o['py']:.1f}",
                         f"{o['py alone']:.1f}", f"{o['empty']:.1f}", f"{from_c:.1f}"])
            rep.check(f"{workload}, {size} keys: h[k] = v with talk_hash, "
                      f"minus talk_hash(k) alone", overhead, "<=", HASH_OVERHEAD_NS, " ns",
                      floor=0.0)
    rep.table(["keys", "key count", "h[k] = v, hash_func=talk_hash", "talk_hash(k) alone",
               "overhead", "h[k] = v, builtin hash", "h[k] = v, hash_func=py_hash",
               "py_hash(k) alone", "empty loop", "calling from C"], rows)
    rep.text()
    for line in textwrap.wrap(
            "overhead (the target) = \"hash_func=talk_hash\" - \"talk_hash(k) alone\". "
            "py_hash is `def py_hash(k): return hash(k) & (2**60 - 1)`: it files every key "
            "where the builtin hash does (same buckets, same memory traffic; a plain "
            "`return hash(k)` would not for str keys, as the table reduces the int returned "
            "modulo 2**61 - 1). calling from C = (\"hash_func=py_hash\" - \"builtin hash\") - "
            "(\"py_hash(k) alone\" - \"empty loop\"): the extra cost of calling a Python hash "
            "function from the module rather than from Python code, free of the cache misses "
            "that the talk's hash adds by scattering in-order ints across the buckets.", 100):
        rep.text(line)


def report_scaling(rep, scaling, sizes):
    rep.heading("Scaling: ns/op by number of keys")
    rows = []
    first, last = sizes[0], sizes[-1]
    for workload in SCALING_WORKLOADS:
        for name, *_ in SCALING_OPS:
            for structure in ("HashTable", "dict"):
                at = lambda n: scaling[(workload, n, name, structure)]  # noqa: E731
                rows.append([f"{workload}: {name}: {structure}"] +
                            [f"{at(n):.1f}" for n in sizes] + [f"{at(last) / at(first):.2f}"])
                if structure == "HashTable":
                    rep.check(f"scaling, {workload}: {name}: HashTable at {last} / at {first} keys",
                              at(last) / at(first), "<=", SCALING_TARGET)
    rep.table(["keys: operation: structure"] + [f"{n} keys" for n in sizes] +
              [f"{last} / {first}"], rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, help="number of keys (default 10**6, 10**5 with --quick)")
    parser.add_argument("--quick", action="store_true", help="fewer keys and repeats")
    parser.add_argument("--repeat", type=int, help="repeats per measurement (default 7, 3 with --quick)")
    parser.add_argument("--scaling", action="store_true",
                        help="only the scaling measurement (10**4 to 10**7 keys)")
    parser.add_argument("--sizes", help="comma-separated key counts for --scaling")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument("--workloads",
                        help="comma-separated subset: " + ",".join(WORKLOAD_NAMES))
    parser.add_argument("--no-pure", action="store_true",
                        help="skip the pure-Python table (the slow part of a run)")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory measurement")
    parser.add_argument("--memory-only", action="store_true",
                        help="only the memory measurement (tracemalloc and RSS need no quiet machine)")
    parser.add_argument("--memory-child", nargs=4, metavar=("STRUCTURE", "WORKLOAD", "N", "MODE"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        structure, workload, n, mode = args.memory_child
        memory_child(structure, workload, int(n), mode)
        return 0

    quick = args.quick or os.environ.get("HASHTABLE_QUICK") == "1"
    n = args.n or (10**5 if quick else 10**6)
    repeat = args.repeat or (3 if quick else 7)
    pure_repeat = max(1, min(3, repeat))
    workloads = ([WORKLOAD_NAMES[w] for w in args.workloads.split(",")] if args.workloads
                 else list(WORKLOAD_NAMES.values()))

    def progress(text):
        if sys.stderr.isatty():
            sys.stderr.write(f"\r\033[K{text}")
            sys.stderr.flush()

    rep = Report(args.markdown)
    if args.scaling:
        sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else SCALING_SIZES
        counts = ", ".join(f"{many_repeats(s, repeat)} at {s} keys" for s in sizes)
        rep.text(f"Machine: {machine_note()}; hashtable built from this tree; repeats: "
                 f"{counts} (max({repeat}, min(100, 10**6 // keys)); from 10**7 keys "
                 f"max(3, {repeat} // 2) = {many_repeats(10**7, repeat)}), median; "
                 f"HashTable and dict only.")
        scaling = bench_scaling(sizes, repeat, progress)
        report_scaling(rep, scaling, sizes)
    elif args.memory_only:
        rep.text(f"Machine: {machine_note()}; hashtable built from this tree; memory only.")
        report_memory(rep, bench_memory(workloads, n, progress), workloads, n)
    else:
        cached = ("" if n == CACHED_N else f"; {many_repeats(CACHED_N, repeat)} for the "
                  f"hash function at {CACHED_N} keys")
        rep.text(f"Machine: {machine_note()}; hashtable built from this tree; "
                 f"{repeat} repeats ({pure_repeat} for the pure-Python table{cached}), median.")
        structures = {k: v for k, v in STRUCTURES.items()
                      if not (args.no_pure and k == "pure Python")}
        results = bench_operations(workloads, n, repeat, pure_repeat, progress, structures)
        # The talk's hash function knows ints, floats and strs only.
        talk_workloads = [w for w in workloads if w in ("int, in order", "int, shuffled", "str")]
        over = bench_hash_overhead(talk_workloads, n, repeat, progress)
        report_operations(rep, results, workloads, n)
        report_hash_overhead(rep, over, talk_workloads, n)
        if not args.no_memory:
            report_memory(rep, bench_memory(workloads, n, progress), workloads, n)
    progress("")
    rep.heading("Targets")
    rep.table(["target", "measured", "limit", "result"], rep.checks)
    rep.text()
    rep.text(rep.summary())
    print(rep.render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
