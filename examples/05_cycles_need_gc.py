"""Lesson 5: cycles need the garbage collector (beyond the talk).

Reference counting cannot free a cycle: a table that holds itself as a
value, or whose hash function holds the table, keeps its own count above
zero after the last name is gone. CPython's cycle collector finds such
garbage, but only among objects it knows: a type must say it holds
references (Py_TPFLAGS_HAVE_GC), let the collector see them (tp_traverse)
and drop them on request (tp_clear).

The lines (src/module/hashtable_type.rs, under `LESSON(no-gc)`):
hashtable_traverse, and the type object's tp_traverse and tp_clear, under
#[cfg(not(feature = "no-gc"))], and the flags:

    #[cfg(not(feature = "no-gc"))]
    const TYPE_FLAGS = ... | ffi::Py_TPFLAGS_HAVE_GC | ...;
    #[cfg(feature = "no-gc")]
    const TYPE_FLAGS = ... ;   // no HAVE_GC: the collector never sees a table

    python examples/05_cycles_need_gc.py
"""
import _lesson

CYCLES = '''
import gc, weakref

class Witness:
    """A value inside the cycle: its weak reference says whether it was freed."""

class Hasher:
    """A hash function object that keeps a reference to its table."""
    def __call__(self, key):
        return hash(key)

print("HashTable supports GC:", bool(hashtable.HashTable.__flags__ & (1 << 14)))

print("-- cycle 1: the table stores itself as a value")
h = hashtable.HashTable()
witness = Witness()
freed = weakref.ref(witness)
h.set("witness", witness)
h.set("me", h)
print("gc.get_referrers(witness) sees the table:",
      any(r is h for r in gc.get_referrers(witness)))
del h, witness
print("del h; gc.collect()")
gc.collect()
print("cycle 1 freed:", freed() is None)

print("-- cycle 2: the hash function holds the table")
hasher = Hasher()
h = hashtable.HashTable(hash_func=hasher)
hasher.table = h
witness = Witness()
freed2 = weakref.ref(witness)
h.set("witness", witness)
del h, hasher, witness
print("del h; gc.collect()")
gc.collect()
print("cycle 2 freed:", freed2() is None)
print("-- exit")
'''

WHAT_HAPPENED = """
Without GC support the collector does not know a HashTable exists: gc.collect()
cannot find the cycles, the dealloc and free lines never print, not even at
exit, and gc.get_referrers() cannot see that the table holds the witness
(it asks only the objects the collector tracks). With HAVE_GC, traverse lets
the collector count the references a table holds; finding that nothing
outside the cycle refers to it, the collector calls tp_clear, which drops
hash_func and the values, and the counts fall to zero: dealloc runs. (In
cycle 1 the free line comes before the dealloc line: tp_clear freed the table
and its values, and dealloc found nothing left to release.)"""


def cycles(variant):
    """CYCLES on `variant` (None: the fixed build): the child's Fate."""
    _lesson.prepare(variant)
    return _lesson.run_child(CYCLES, variant=variant, trace="lifecycle")


def main():
    for variant, title in (("no-gc", "the no-gc build (no HAVE_GC, traverse or clear)"),
                           (None, "the fixed build (HAVE_GC, traverse, clear)")):
        _lesson.prepare(variant)
        _lesson.heading("%s on %s" % (title, _lesson.version()))
        cycles(variant).report()
    print(WHAT_HAPPENED)


if __name__ == "__main__":
    main()
