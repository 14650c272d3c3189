"""Lesson 13: the leak, traced to its line.

Lesson 3 showed the forgotten Py_DECREF(hash_func) leak, knowing where it
was. Here it is found as one finds a leak nobody planted, with three tools:

1. sys.gettotalrefcount() (debug interpreters only: python3.11-dbg): the
   sum of all reference counts, measured around each call of a function.
   It grows by one per call: one reference is never given back.
2. tracemalloc: two snapshots, compared by traceback. The memory that
   survives points at the line of *your* script that allocated it: here the
   line that makes each table's hash function (a lambda). Those objects are
   alive with nobody holding them (gc.get_referrers finds no referrer): the
   reference that keeps them is one native code forgot to release.
3. The table's own memory is visible to tracemalloc too: the module's Rust
   code allocates through Python's raw allocator, PyMem_RawMalloc
   (src/module/alloc.rs is its global allocator), which tracemalloc traces.
   A leak of tables would show at the line that filled them.

The tracemalloc parts run this file itself in a child (`--child ...`), so
the lines shown are lines of this file.

    python examples/13_leak_traced.py        (HASHTABLE_QUICK=1: fewer tables)
"""
import gc
import inspect
import linecache
import os
import re
import sys
import tracemalloc

import _lesson

TABLES = 200 if _lesson.QUICK else 2000
CALLS = 5
CHILD = "--child"


# --- what the child runs: the learner's script ------------------------------

def make_table(hashtable, salt):
    """A table with its own hash function, as a program with salted tables would make."""
    return hashtable.HashTable(hash_func=lambda key: hash((salt, key)))  # the hash function


def line_of(function, text):
    """The line number, in this file, of the first line of `function` holding `text`."""
    lines, first = inspect.getsourcelines(function)
    return first + next(i for i, line in enumerate(lines) if text in line)


LAMBDA_LINE = line_of(make_table, "lambda key")


def use_tables(hashtable, count):
    for i in range(count):
        table = make_table(hashtable, i)
        table.set("key", i)


def leaked_lambdas():
    """The hash functions of make_table still alive (found through the GC)."""
    return [o for o in gc.get_objects()
            if getattr(o, "__qualname__", "") == "make_table.<locals>.<lambda>"]


def trace_leak(hashtable, tables):
    """Snapshots around `tables` tables made and dropped: the top differences."""
    hashtable.set_trace("off")
    tracemalloc.start(5)
    use_tables(hashtable, 10)  # warm up: caches, specialised code
    gc.collect()
    first = tracemalloc.take_snapshot()
    use_tables(hashtable, tables)
    gc.collect()
    second = tracemalloc.take_snapshot()
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__)]
    stats = second.filter_traces(ignore).compare_to(first.filter_traces(ignore), "traceback")
    print("%d tables made and dropped; top differences, by traceback:" % tables)
    for stat in [s for s in stats if s.size_diff > 0][:2]:
        print("LEAK: +%d B in +%d blocks, allocated at:" % (stat.size_diff, stat.count_diff))
        for line in stat.traceback.format(most_recent_first=True)[:4]:
            print("    " + _lesson.portable(line))
    alive = leaked_lambdas()
    print("hash functions of make_table still alive: %d (of %d tables, with the warm-up's)"
          % (len(alive), tables + 10))
    if alive:
        one = alive[0]
        del alive
        print("gc.get_referrers(one of them): %d referrers" % len(gc.get_referrers(one)))


def table_memory(hashtable, entries):
    """tracemalloc around filling one table with `entries` ints made before."""
    hashtable.set_trace("off")
    keys = list(range(entries))  # made before the first snapshot: not counted
    tracemalloc.start()
    first = tracemalloc.take_snapshot()
    table = hashtable.HashTable()
    for key in keys:
        table.set(key, None)  # the table's buckets and entries, allocated in Rust
    filled = tracemalloc.take_snapshot()
    del table
    freed = tracemalloc.take_snapshot()
    for title, snapshot in (("filled", filled), ("deleted", freed)):
        at_fill = [stat for stat in snapshot.compare_to(first, "lineno")
                   if stat.traceback[0].filename == __file__
                   and stat.traceback[0].lineno == FILL_LINE]
        size, count = (at_fill[0].size_diff, at_fill[0].count_diff) if at_fill else (0, 0)
        print("TABLE %s: %+d B in %+d blocks at %s:%d" % (
            title, size, count, _lesson.portable(__file__), FILL_LINE))
        if title == "filled":
            print("    " + linecache.getline(__file__, FILL_LINE).strip())
            print("    %.1f bytes per entry" % (size / entries))


FILL_LINE = line_of(table_memory, "table.set(key, None)")


def child(mode, variant, count):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import _build
    hashtable = _build.load(variant or None)
    if mode == "trace":
        trace_leak(hashtable, count)
    else:
        table_memory(hashtable, count)


# --- the lesson --------------------------------------------------------------

TOTAL_PER_CALL = '''
hashtable.set_trace("off")
CALLS = int(sys.argv[1])

def make_table():
    h = hashtable.HashTable(hash_func=hash)

def measure():
    deltas = []
    # Bound first, to an int made at run time, so that the first measured
    # call stores into the variables just as the later ones do (bound to the
    # constant 0 at module level instead, the debug interpreters' first call
    # counted one reference more: [2, 1, 1, 1, 1]).
    before = after = sys.gettotalrefcount()
    for _ in range(CALLS):
        before = sys.gettotalrefcount()
        make_table()
        after = sys.gettotalrefcount()
        deltas.append(after - before)
    return deltas

for _ in range(100):      # warm up: caches, interned names, specialised code
    make_table()
print("sys.gettotalrefcount() after each call minus before:", measure())
'''


def total_per_call(variant, python, calls=CALLS):
    """TOTAL_PER_CALL on `variant` with the debug interpreter `python`: its Fate."""
    _lesson.prepare(variant, python)
    return _lesson.run_child(TOTAL_PER_CALL, variant=variant, python=python, args=[str(calls)])


def run_self(mode, variant, count):
    """This file's child `mode` on `variant`: the child's Fate."""
    _lesson.prepare(variant)
    path = os.path.abspath(__file__)
    code = ("import runpy; sys.argv = %r; runpy.run_path(%r, run_name='__main__')"
            % ([path, CHILD, mode, variant or "", str(count)], path))
    return _lesson.run_child(code, variant=variant, trace="off", timeout=300)


def leaks(fate):
    """[(bytes, blocks, [traceback lines])] from the LEAK lines of a trace child."""
    found = []
    for match in re.finditer(r"^LEAK: \+(\d+) B in \+(\d+) blocks, allocated at:\n((?:    .*\n?)*)",
                             fate.stdout, re.M):
        found.append((int(match.group(1)), int(match.group(2)), match.group(3).splitlines()))
    return found


def main():
    for variant, title in (("forget-decref", "the forget-decref build"), (None, "the fixed build")):
        python = _lesson.debug_python_or_skip(variant, title)
        if python is None:
            continue
        _lesson.heading("1. %s on %s" % (title, _lesson.version(python)))
        total_per_call(variant, python).report()
    print("""
One reference per call of make_table is never given back. Which object? The
count does not say; tracemalloc can, when the leaked objects hold memory.""")

    for variant, title in (("forget-decref", "the forget-decref build"), (None, "the fixed build")):
        _lesson.heading("2. %s: tracemalloc, snapshots compared (%s)" % (title, _lesson.version()))
        run_self("trace", variant, TABLES).report()
    print("""
With the bug, the memory that survives points at the lambda that each table
gets as its hash function (line %d of this file: two blocks per table, the
function and its closure), and at the cell each lambda keeps for `salt`
(made as make_table starts, so shown at its caller's line). Those functions
are alive, yet no Python object refers to them: the reference that keeps
each one is owned by native code, which forgot to release it.
What releases a table's hash function? Its tp_clear/tp_dealloc: in
src/module/hashtable_type.rs, hashtable_clear, the line under
LESSON(forget-decref).""" % LAMBDA_LINE)

    _lesson.heading("3. the table's own memory, seen by tracemalloc (%s)" % _lesson.version())
    run_self("table", None, 10000 if _lesson.QUICK else 100000).report()
    print("""
The keys were made before the first snapshot and the values are None, so
what the set line allocated is the table itself: buckets and entries,
allocated by the Rust library through PyMem_RawMalloc (src/module/alloc.rs).
Deleting the table gives it all back. A module that allocated with plain
malloc would show nothing here, and its leaks would be invisible to
tracemalloc.""")


if __name__ == "__main__":
    if CHILD in sys.argv:
        at = sys.argv.index(CHILD)
        child(sys.argv[at + 1], sys.argv[at + 2], int(sys.argv[at + 3]))
    else:
        main()
