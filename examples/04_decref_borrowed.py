"""Lesson 4: Py_DECREF of a borrowed reference (beyond the talk).

The original module's real bug, which the talk did not show. To find the
builtin `hash` when no hash function is given, it asked for the builtins
dict and looked `hash` up in it, then released the dict:

    builtins = PyEval_GetBuiltins();                   /* borrowed */
    hash = PyDict_GetItemString(builtins, "hash");     /* borrowed */
    Py_DECREF(builtins);                               /* the bug: not ours */

Every table made with the default hash takes one reference away from the
builtins dict that somebody else owns. Nothing happens for a while; after as
many tables as the dict had references, the count reaches zero, the dict is
freed while the interpreter still uses it, and the program dies far from the
cause (or hangs, depending on the version and on what reuses the memory).

A debug interpreter (python3.11-dbg) checks reference counts in its garbage
collector: when a collection finds that an object has fewer references than
the containers pointing at it hold, it stops with "refcount is too small" and
prints the object. That catches the bug right after the first few tables.

The line (src/module/hashing.rs, default_hash_func):

    let builtins = unsafe { ffi::PyEval_GetBuiltins() }; // borrowed
    ...
    let found = unsafe { callout::PyDict_GetItemStringRef(builtins, c"hash".as_ptr(), &mut hash) };
    // LESSON(decref-borrowed): ...
    #[cfg(feature = "decref-borrowed")]
    ...
        callout::Py_DECREF(builtins)

    python examples/04_decref_borrowed.py       (HASHTABLE_QUICK=1: a shorter hang timeout)
"""
import _lesson

# The same program for both interpreters: tables with the default hash
# function, a gc.collect() every ten tables as a long-running program would
# have, and the builtins dict's reference count along the way.
MAKE_TABLES = '''
import builtins, gc
hashtable.set_trace("off")
TABLES = int(sys.argv[1])
start = sys.getrefcount(builtins.__dict__)
# Who holds the dict at the start: every function (its __builtins__) and
# every module namespace (its "__builtins__" entry), so the number depends
# on what the interpreter, site and the venv's .pth files have loaded.
functions = sum(1 for o in gc.get_objects()
                if type(o).__name__ == "function" and o.__builtins__ is builtins.__dict__)
modules = len({id(m.__dict__) for m in list(sys.modules.values())  # os.path is posixpath
               if getattr(m, "__dict__", {}).get("__builtins__") is builtins.__dict__})
print("held by functions: %d, module namespaces: %d, others: %d (%d modules loaded)"
      % (functions, modules, start - 1 - functions - modules, len(sys.modules)))
print("tables made: 0, sys.getrefcount(builtins.__dict__) = %d" % start)
for made in range(1, TABLES + 1):
    h = hashtable.HashTable()          # default hash_func: looks up builtins.hash
    count = sys.getrefcount(builtins.__dict__)
    if made <= 3 or made % 100 == 0 or count <= 3:
        print("tables made: %d, sys.getrefcount(builtins.__dict__) = %d" % (made, count))
    if made % 10 == 0:
        gc.collect()
print("survived %d tables" % TABLES)
'''

TIMEOUT = 10 if _lesson.QUICK else 20


def make_tables(variant, tables, python=None, timeout=TIMEOUT):
    """MAKE_TABLES with `tables` tables on `variant` (None: the fixed build),
    with `python` (default: this interpreter): the child's Fate."""
    _lesson.prepare(variant, python)
    return _lesson.run_child(MAKE_TABLES, variant=variant, python=python, timeout=timeout,
                             args=[str(tables)])


def main():
    _lesson.prepare("decref-borrowed")
    _lesson.heading("the decref-borrowed build on %s" % _lesson.version())
    fate = make_tables("decref-borrowed", 100000)
    fate.report(stdout_tail=8)
    if fate.hung:
        print("The dict was freed while still in use, and the interpreter went on with")
        print("freed memory: it is stuck, not crashed. No error, no traceback: nothing")
        print("points at the bad line. (Whether it hangs or crashes depends on the")
        print("version and on what reuses the memory; both happen.)")
    elif fate.crashed:
        print("It died long after the first wrong DECREF: every table took one reference,")
        print("and only the last one freed the dict; the crash is wherever the freed dict")
        print("was used next (faulthandler's traceback above), not at the bad line.")
    else:
        print("It did not fail (%s)." % fate.summary())

    python = _lesson.debug_python_or_skip("decref-borrowed", "the decref-borrowed build")
    if python is not None:
        _lesson.heading("the decref-borrowed build on %s" % _lesson.version(python))
        dbg = make_tables("decref-borrowed", 100000, python=python)
        dbg.report(stdout_tail=8)
        if dbg.crashed:
            print("The debug interpreter stopped at the first gc.collect(): the collector")
            print("counted more references to the builtins dict from the containers it")
            print("tracks than the dict's own count allows, and aborted with the object.")

    _lesson.prepare(None)
    _lesson.heading("the fixed build on %s" % _lesson.version())
    make_tables(None, 3000).report(stdout_tail=3, stdout_head=3)



if __name__ == "__main__":
    main()
