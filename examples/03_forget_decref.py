"""Lesson 3: forgetting Py_DECREF(self->hash_func) when a table dies.

The talk's second bug. Each table owns a reference to its hash function: it
took one (Py_INCREF) when it stored it, and must give it back when it dies.
Without the Py_DECREF in the dealloc path, every table that ever existed
leaves +1 on its hash function, although its owner is gone: a leak. With
`hash` nobody notices; with a big object as hash function (a bound method of
a large model, say) the memory is never returned.

The line (src/module/hashtable_type.rs, hashtable_clear: tp_clear, which
tp_dealloc calls too):

    // LESSON(forget-decref): ...
    #[cfg(not(feature = "forget-decref"))]
    trashcan_xdecref(hash_func);
    #[cfg(feature = "forget-decref")]
    let _ = hash_func;

Part 1 is the talk's script: sys.getrefcount(hash), three tables made and
dropped inside a function, sys.getrefcount(hash) again. Part 2 counts every
reference in the interpreter with sys.gettotalrefcount(), which only a debug
interpreter has (python3.11-dbg): the leak shows as +1 per table there too.

    python examples/03_forget_decref.py            (HASHTABLE_QUICK=1: fewer tables in part 2)
"""
import _lesson

# The talk made three tables; the tests make more (sys.argv[1]).
TALKS_SCRIPT = '''
TABLES = int(sys.argv[1])

def hash_stuff():
    h = hashtable.HashTable(hash_func=hash)

print("sys.getrefcount(hash) =", sys.getrefcount(hash))
start = sys.getrefcount(hash)
for i in range(TABLES):
    hash_stuff()
    print("after hash_stuff() #%d: sys.getrefcount(hash) = %d" % (i + 1, sys.getrefcount(hash)))
print("RESULT: +%d after %d tables" % (sys.getrefcount(hash) - start, TABLES))
'''

TOTAL_REFCOUNT = '''
hashtable.set_trace("off")
TABLES = int(sys.argv[1])

def hash_stuff():
    h = hashtable.HashTable(hash_func=hash)

for _ in range(100):      # warm up: caches, interned names, specialised code
    hash_stuff()
before = sys.gettotalrefcount()
for _ in range(TABLES):
    hash_stuff()
after = sys.gettotalrefcount()
print("sys.gettotalrefcount(): %d before %d tables, %d after: %+.2f per table"
      % (before, TABLES, after, (after - before) / TABLES))
'''

TABLES = 1000 if _lesson.QUICK else 10000


def talks_script(variant, tables=3, trace="lifecycle"):
    """The talk's script on `variant` (None: the fixed build): the child's Fate."""
    _lesson.prepare(variant)
    return _lesson.run_child(TALKS_SCRIPT, variant=variant, trace=trace, args=[str(tables)])


def total_refcount(variant, python, tables=TABLES):
    """TOTAL_REFCOUNT on `variant` with the debug interpreter `python`: its Fate."""
    # The child builds its own copy for the debug interpreter (once) and imports it.
    _lesson.prepare(variant, python)
    return _lesson.run_child(TOTAL_REFCOUNT, variant=variant, python=python, timeout=300,
                             args=[str(tables)])


def main():
    for variant, title in (("forget-decref", "the forget-decref build"),
                           (None, "the fixed build: Py_XDECREF(hash_func)")):
        _lesson.prepare(variant)
        _lesson.heading("%s, the talk's script (%s)" % (title, _lesson.version()))
        talks_script(variant).report()

    for variant, title in (("forget-decref", "the forget-decref build"),
                           (None, "the fixed build")):
        python = _lesson.debug_python_or_skip(variant, title)
        if python is None:
            continue
        _lesson.heading("%s on %s: sys.gettotalrefcount()" % (title, _lesson.version(python)))
        total_refcount(variant, python).report()



if __name__ == "__main__":
    main()
