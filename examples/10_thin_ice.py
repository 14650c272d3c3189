"""Lesson 10: thin ice, a borrowed reference kept across a call (beyond the talk).

CPython's "Extending" tutorial calls it thin ice: a borrowed reference is
safe only while its owner keeps the object alive, and any call that can run
Python code can make the owner let go. The table owns its hash function
(`hash_func`); `call_hash_func` (src/module/hashing.rs) borrows it from the
table and calls it. The hash function is Python code, and Python code can
re-initialise the very table it hashes for (`h.__init__()`), which releases
the table's reference to the old hash function. If that was the last one,
the function is freed when the call returns, and the borrowed pointer
points at freed memory. The correct code takes its own reference for the
duration of the call:

    // LESSON(thin-ice): ...
    #[cfg(not(feature = "thin-ice"))]
    let func = unsafe { Strong::from_borrowed(func) };

The `thin-ice` build leaves that line out. The child's hash function
re-initialises the table and returns a str instead of an int; the error
message that follows names the hash function (`Repr(func.as_ptr())`), and
so reads it after the call. The child runs with PYTHONMALLOC=debug, whose
allocator fills freed memory with 0xDD bytes: reading the freed object then
crashes every time.

    python examples/10_thin_ice.py
"""
import _lesson

# The hash function prints when it is called and when it is freed (__del__):
# the order of those lines against the error is the lesson.
CHILD = '''
class ReInit:
    """A hash function that re-initialises the table it hashes for."""
    def __call__(self, key):
        print("Python: hashing %r; h.__init__() drops the table's hash_func" % (key,))
        h.__init__()
        return "not an int"

    def __del__(self):
        print("Python: the ReInit hash function is freed")

h = hashtable.HashTable(hash_func=ReInit())   # the table holds the only reference
try:
    h.set("key", 1)
except TypeError as e:
    print("TypeError:", e)
print("h.hash_func is now", h.hash_func)
'''


def run(variant):
    """CHILD on `variant` (None: the fixed build): the child's Fate."""
    _lesson.prepare(variant)
    return _lesson.run_child(CHILD, variant=variant, env={"PYTHONMALLOC": "debug"},
                             trace="off", timeout=60)


def main():
    _lesson.prepare("thin-ice")
    _lesson.heading("the thin-ice build: hash_func borrowed across the call (%s)"
                    % _lesson.version())
    fate = run("thin-ice")
    fate.report()
    if fate.crashed:
        print("The hash function was freed as soon as its call returned (its __del__")
        print("printed), and the error message then read it through the borrowed")
        print("pointer: %s." % fate.signal_name)
    else:
        print("The child did not crash (%s): see its output above." % fate.summary())

    _lesson.prepare(None)
    _lesson.heading("the fixed build: our own reference for the call")
    run(None).report()
    print("The same program: the error names the hash function, which our reference")
    print("kept alive; it is freed after the message, when that reference is dropped.")


if __name__ == "__main__":
    main()
