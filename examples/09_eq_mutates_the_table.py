"""Lesson 9: an __eq__ that changes the table during a lookup (beyond the talk).

The classic crash of hand-written C containers. A lookup walks a chain and
compares the key it looks for with each stored key of the same hash. For
most keys `==` is Python code (a class's __eq__), and Python code can do
anything to the very table being walked: clear it, make it grow, free it.
A walk that compares in place, holding pointers into the table, goes on
reading memory that the comparison freed or moved.

CPython's dict never compares while it holds such pointers: it keeps its
own reference to the stored key, compares, then checks that the table is
still the one it was walking, laid out as before, and restarts the lookup
if not. This module does the same: the library stops its walk where a
comparison would run Python code (Lookup::Ask), and access.rs compares
with no borrow of the table alive, then resumes or restarts.

The `compare-in-place` build compares right inside the library's walk
(src/module/access.rs, find, under `LESSON(compare-in-place)`):

    #[cfg(not(feature = "compare-in-place"))]
    let found = (*table).lookup(&search, |k| quick_eq(k, &hashed.probe));
    #[cfg(feature = "compare-in-place")]
    let found = (*table).try_lookup(&search, |k| eq_in_place(k, &hashed.probe));

where eq_in_place (src/module/keys.rs) calls PyObject_RichCompareBool, and
so the key's __eq__, while `lookup` holds `&self`. That is undefined
behaviour in Rust even when nothing crashes: a `&` promises that nothing
changes the table while it lives. The correct build cannot break that
promise: no `&` of the table is alive while Python code runs.

Three keys that hash alike share one chain, and `t.get(Key('c'))` first
compares the chain's head, Key('a'), with Key('c'). That __eq__ clears the
table, makes it grow, deletes every key, or deletes the table (`del t`). Each session runs in a
child, on a dict and then on a HashTable, with PYTHONMALLOC=debug, which
fills freed memory with 0xDD bytes, so reading freed memory gives the same
wrong numbers every time. Then the same sessions run with the default
allocator, where freed memory holds whatever the allocator left there.

    python examples/09_eq_mutates_the_table.py     (HASHTABLE_QUICK=1: fewer runs)
"""
import re

import _lesson

VARIANT = "compare-in-place"

# The child: the same session on a dict, then on a HashTable. Three keys
# whose == is Python code share one chain; a lookup of the last one compares
# it with the first, and that comparison changes the table (argv[1] says how).
EQ_MUTATES = '''
SCENARIO = sys.argv[1]
MUTATE = []     # what the next comparison does to the table (once)


class Key:
    """A key whose == is Python code. Every Key hashes alike, so all of them
    share one chain, and a lookup compares the key it looks for with each."""

    def __init__(self, name):
        self.name = name

    def __hash__(self):
        return 42

    def __eq__(self, other):
        if MUTATE:
            what, change = MUTATE.pop()
            print("    %r == %r runs __eq__, which %s" % (self, other, what))
            change()
        return isinstance(other, Key) and self.name == other.name

    def __repr__(self):
        return "Key(%r)" % self.name


def drop():
    global t
    del t


CHANGES = {
    "clear": ("clears the table", lambda: t.clear()),
    "grow": ("adds 40 keys: the table grows", lambda: t.update((i, i) for i in range(40))),
    "delete": ("deletes every key, Key('a') too", lambda: [t.pop(k) for k in list(t)]),
    "drop": ("deletes the table: del t, its only name", drop),
}


def session(make):
    """The session on a new table of type `make`: what t.get(Key('c'))
    answered (or raised), and the keys left in t (None: t is gone)."""
    global t
    t = make()
    for name in "abc":
        t[Key(name)] = name
    MUTATE.append(CHANGES[SCENARIO])
    print("  >>> t.get(Key('c'))")
    try:
        found = repr(t.get(Key("c")))
    except Exception as e:
        found = "%s: %s" % (type(e).__name__, e)
    return found, [repr(k) for k in t] if "t" in globals() else None


def show(found, keys):
    if keys is None:
        return "got %s; t is gone" % found
    more = ", ... %d more" % (len(keys) - 4) if len(keys) > 4 else ""
    return "got %s; t has %d keys: [%s%s]" % (found, len(keys), ", ".join(keys[:4]), more)


print("dict:")
on_dict = session(dict)
print("  " + show(*on_dict))
print("HashTable:")
on_table = session(hashtable.HashTable)
print("  " + show(*on_table))
print("HashTable == dict (what get answered, the keys left, in order):", on_table == on_dict)
'''

SCENARIOS = {
    "clear": "__eq__ clears the table",
    "grow": "__eq__ makes the table grow",
    "delete": "__eq__ deletes every key",
    "drop": "__eq__ deletes the table",
}

SAME_AS_DICT = "HashTable == dict (what get answered, the keys left, in order): True"

# Runs with the default allocator, per build and scenario.
PLAIN_RUNS = 3 if _lesson.QUICK else 10

# In the child's stderr: Rust's panic message, without the backtrace.
PANIC = re.compile(r"panicked at [^\n]*:\n(.*)")
FREED = 0xDDDDDDDD  # four bytes of freed memory under PYTHONMALLOC=debug

WHAT_HAPPENED = """
Each child ran the same session on a dict first, then on a HashTable.

The compare-in-place build compared inside the library's walk, and the walk
had read where the table's entries and links live before calling the
comparison (a `&` of the table promises that nothing changes them
meanwhile). clear() freed the whole table, growing moved its arrays to new
memory: the walk then read the index of the next entry from freed memory.
%s Deleting every key left the table's memory in place but unlinked
the entries: the walk followed a stale link to a removed one. In
each case Rust's checks (a bounds check, the table's own assertion) turned
the wild read into a panic, and a panic cannot unwind out of the module's
extern "C" functions: the process aborts. In C nothing would check: the
walk would follow the link wherever it pointed, and crash, or find a key of
another table, or put a new key into freed memory, far from the cause.

`del t` did no harm, in either build: the running call holds its own
reference to the table (the interpreter keeps `t` on its stack until
get returns), so the table is freed only once get has returned (the
dealloc lines). The module still takes its own reference before comparing,
so that it never depends on its caller for that.

The correct build answered exactly as dict did: it compared on its own
reference to the stored key with no borrow of the table alive, then looked
at the table again, and started the lookup over when the table or the
entry had changed, as dict does."""

FREED_NOTE = """The index in the panic, 3722304989, is 0xDDDDDDDD: the debug allocator's
mark of freed memory."""
NO_FREED_NOTE = "Freed memory holds whatever the allocator left there."

WHY = """
Why the correct build cannot have this bug: no `&` of the table is alive
while Python code runs. Every call out to Python (hash, ==, __del__ through
a release, a write to sys.stdout) happens between borrows, and the table is
looked up again from the object after it."""


def eq_mutates(variant, scenario, malloc="debug"):
    """EQ_MUTATES for `scenario` on `variant` (None: the correct build), in a
    child with PYTHONMALLOC=`malloc` (None: the default allocator)."""
    _lesson.prepare(variant)
    env = {"RUST_BACKTRACE": "0"}
    if malloc:
        env["PYTHONMALLOC"] = malloc
    return _lesson.run_child(EQ_MUTATES, variant=variant, args=[scenario], env=env,
                             trace="lifecycle", timeout=60)


def panic_message(fate):
    """The Rust panic's message in the child's stderr, or None."""
    match = PANIC.search(fate.stderr)
    return match.group(1) if match else None


def plain_runs(variant, scenario, runs=PLAIN_RUNS):
    """The fates of `runs` children with the default allocator."""
    return [eq_mutates(variant, scenario, malloc=None) for _ in range(runs)]


def tally(fates):
    """'10 of 10 killed by SIGABRT' and the like, most common first."""
    counts = {}
    for fate in fates:
        what = "killed by %s" % fate.signal_name if fate.crashed else fate.summary()
        counts[what] = counts.get(what, 0) + 1
    return ", ".join("%d of %d %s" % (n, len(fates), what)
                     for what, n in sorted(counts.items(), key=lambda item: -item[1]))


def main():
    freed_seen = False
    for variant, build in ((VARIANT, "the compare-in-place build"), (None, "the correct build")):
        _lesson.prepare(variant)
        for scenario, title in SCENARIOS.items():
            _lesson.heading("%s, %s (%s, PYTHONMALLOC=debug)"
                            % (build, title, _lesson.version()))
            fate = eq_mutates(variant, scenario)
            fate.report()
            freed_seen |= str(FREED) in (panic_message(fate) or "")
    print(WHAT_HAPPENED % (FREED_NOTE if freed_seen else NO_FREED_NOTE))

    _lesson.heading("the same sessions with the default allocator, %d runs each" % PLAIN_RUNS)
    for variant, build in ((VARIANT, "compare-in-place"), (None, "correct")):
        for scenario in SCENARIOS:
            fates = plain_runs(variant, scenario)
            agree = sum(SAME_AS_DICT in fate.stdout for fate in fates)
            print("  %-16s %-6s: %s; the same as dict in %d"
                  % (build, scenario, tally(fates), agree))
    print(WHY)


if __name__ == "__main__":
    main()
