"""Lesson 11: error paths, where hand-written C leaks (beyond the talk).

Every C-API call that returns a new reference gives the caller a duty: one
Py_DECREF on every path out of the function, the error paths included. The
most common leak in hand-written C is an early `return NULL;` (or -1) that
forgets it. The talk's original `get_hash` had exactly that: when the hash
function returned something other than an int, it raised and returned,
leaving the result object with a reference nobody owns.

In our code the result is a `Strong` (src/module/hashing.rs,
call_hash_func): its Drop is the Py_DECREF, so every `return` and every `?`
releases it, and no path can forget. The `leak-on-error` build does what the
C did, on the error path only:

    // LESSON(leak-on-error): ...
    #[cfg(feature = "leak-on-error")]
    let _leaked = result.into_raw();
    return error;

The child's hash function returns the same list every time (a list is not
an int); each failed set then leaves one reference to it behind with the
bug, none without.

    python examples/11_error_paths.py       (HASHTABLE_QUICK=1: fewer failed sets)
"""
import _lesson

SETS = 100 if _lesson.QUICK else 1000

CHILD = '''
RESULT = []                       # what the hash function returns: not an int

def bad_hash(key):
    return RESULT

h = hashtable.HashTable(hash_func=bad_hash)
SETS = int(sys.argv[1])
start = sys.getrefcount(RESULT)
for i in range(SETS):
    try:
        h.set(i, i)
    except TypeError as e:
        error = e
print("every set raised:", error)
print("sys.getrefcount(RESULT): %d before %d failed sets, %d after: %+d"
      % (start, SETS, sys.getrefcount(RESULT), sys.getrefcount(RESULT) - start))
'''


def failed_sets(variant, sets=SETS):
    """CHILD on `variant` (None: the fixed build): the child's Fate."""
    _lesson.prepare(variant)
    return _lesson.run_child(CHILD, variant=variant, trace="off", args=[str(sets)])


def main():
    _lesson.prepare("leak-on-error")
    _lesson.heading("the leak-on-error build: an early return without Py_DECREF (%s)"
                    % _lesson.version())
    failed_sets("leak-on-error").report()
    _lesson.prepare(None)
    _lesson.heading("the fixed build: the result is a Strong, released on every path")
    failed_sets(None).report()


if __name__ == "__main__":
    main()
