"""Lesson 1: reference counts seen from Python.

The talk's first demo: `sys.getrefcount` says how many references an object
has, `gc.get_referrers` says who holds them. A second name adds one and the
holder is the module's namespace dict; passing the object to a function adds
one per call level. Before Python 3.11 each level's frame object showed up
among the referrers; since 3.11 frames are created lazily and
`gc.get_referrers` no longer sees them, while `sys.getrefcount` still counts
the references that the running calls hold. Since 3.14 a call passes its
local variables on as borrowed references, and the count no longer rises
per level at all. This script shows all of it.

    python examples/01_refcounts.py
"""
import gc
import sys

import _build

hashtable = None  # the module, loaded by main()

MODULE_DICT = globals()


def describe(referrer):
    """A short description of one referrer."""
    if referrer is MODULE_DICT:
        return "the module's namespace dict (globals of %s)" % __name__
    if type(referrer).__name__ == "frame":
        return "a frame object: %s(), line %d" % (referrer.f_code.co_name, referrer.f_lineno)
    if isinstance(referrer, hashtable.HashTable):
        return "a hashtable.HashTable holding it as a value"
    return "a %s" % type(referrer).__name__


def show_ref_counts(obj, times_to_call=1, show_referrers=False):
    """The talk's helper: calls itself `times_to_call` levels deep, then prints
    sys.getrefcount(obj) and the number of gc.get_referrers(obj) (and who
    they are, if show_referrers). Returns both numbers."""
    if times_to_call > 1:
        return show_ref_counts(obj, times_to_call - 1, show_referrers)
    count = sys.getrefcount(obj)
    referrers = gc.get_referrers(obj)
    print("    sys.getrefcount(obj) = %d    len(gc.get_referrers(obj)) = %d"
          % (count, len(referrers)))
    if show_referrers:
        kinds = {}
        for r in referrers:
            kinds[describe(r)] = kinds.get(describe(r), 0) + 1
        for kind, n in kinds.items():
            print("      %s%s" % ("%d x " % n if n > 1 else "", kind))
    return count, len(referrers)


def running_frame_is_tracked():
    return gc.is_tracked(sys._getframe())


SINCE_3_14 = """
The talk (Python 2) saw one frame object per call level among the referrers,
and one more reference per level. Here there is neither:

- gc.get_referrers(x) asks only the objects the collector tracks, and a
  running call's frame is not one of them (False above). Since 3.11 a call
  has no frame object at all unless something asks for one.
- Since 3.14 the interpreter does not count every reference it puts on its
  evaluation stack. Loading a local variable that outlives the use
  (LOAD_FAST_BORROW in dis) pushes a borrowed reference, with no Py_INCREF;
  passing it to a call gives the callee that borrowed reference. So the 100
  deeper levels add nothing, and getrefcount's own argument is borrowed too:
  inside the call the count is the namespace dict's reference plus the one
  the outermost call took when it loaded the global obj.
- (Measured: 3.7 to 3.10 count two references per level, 3.11 to 3.13 one,
  3.14 and 3.15 none. A reference count is an implementation detail: compare
  differences on one interpreter, never numbers across versions.)"""

SINCE_3_11 = """
The talk (Python 2) saw one frame object per call level among the referrers.
Here there are none, while getrefcount still rises by one per level:

- gc.get_referrers(x) does not search memory: it asks every object the
  collector tracks whether it refers to x. Only GC-tracked containers can be
  found, and a running call's frame is not one of them (False above).
- Since 3.11 a call does not even have a frame object: its arguments and
  locals live in an internal _PyInterpreterFrame on a per-thread stack, and
  a frame object is made lazily, only when something asks for one
  (sys._getframe, a traceback, a debugger). The references those locals
  hold are real, so they are in ob_refcnt and getrefcount counts them.
- (Measured with pyenv's interpreters: 2.7 and 3.6 list a frame per level;
  3.7 to 3.10 already do not, since a running frame is untracked there too,
  and count two references per level: the caller's stack and the callee's
  local. 3.11 moves the argument into the new frame: one per level.)"""

BEFORE_3_11 = """
The talk (Python 2) saw one frame object per call level among the referrers.
Python %d.%d makes a frame object per call but does not GC-track it while the
call runs (False above), and gc.get_referrers only asks GC-tracked objects:
no frames listed, while getrefcount rises by two per level (the argument on
the caller's value stack and the callee's local). Since 3.11 frames are made
lazily: a running call has no frame object at all unless something asks for
one (sys._getframe, a traceback), and getrefcount rises by one per level.
(Measured with pyenv's interpreters: 2.7 and 3.6 list a frame per level;
3.7 onwards do not.)"""


def main():
    global hashtable
    # Module-level names, as in the talk's REPL session: their referrer is the
    # module's namespace dict.
    global obj, another, value, table
    hashtable = _build.load()
    hashtable.set_trace("off")

    print("Python", sys.version.split()[0])
    print("An object() is used, not an int, a str or None: their counts say little.")
    print("Since 3.12 None, True, False, the small ints (-5 to 256) and the strings the")
    print("interpreter interns for itself are immortal: the count is a fixed marker.")
    print("(Strings interned at run time were immortal on 3.12 only; on 3.11 the small")
    print("ints are static objects whose count starts near 10**9.)")

    obj = object()
    print("\n>>> obj = object()")
    print("  sys.getrefcount(obj) = %d   (the name obj, plus getrefcount's own argument)"
          % sys.getrefcount(obj))
    before = sys.getrefcount(obj)

    another = obj
    print("\n>>> another = obj")
    print("  sys.getrefcount(obj) = %d   (one more: a second name)" % sys.getrefcount(obj))
    referrers = gc.get_referrers(obj)
    print("  gc.get_referrers(obj): %d referrer: %s" % (len(referrers), describe(referrers[0])))
    print("  Both names live in that one dict: two references from one referrer.")
    del referrers, another

    print("\n>>> show_ref_counts(obj, times_to_call=1, show_referrers=True)")
    one_count, one_refs = show_ref_counts(obj, 1, True)
    print("  the call holds the object: getrefcount rose from %d to %d" % (before, one_count))

    print("\n>>> show_ref_counts(obj, times_to_call=101)")
    deep_count, deep_refs = show_ref_counts(obj, 101)
    print("  100 more levels: getrefcount rose by %d (%g per level), gc.get_referrers by %d."
          % (deep_count - one_count, (deep_count - one_count) / 100.0, deep_refs - one_refs))
    print("\n>>> gc.is_tracked(sys._getframe()) inside a running call")
    print(" ", running_frame_is_tracked())

    if sys.version_info >= (3, 14):
        print(SINCE_3_14)
    elif sys.version_info >= (3, 11):
        print(SINCE_3_11)
    else:
        print(BEFORE_3_11 % sys.version_info[:2])

    print("\nA value stored in a HashTable: the table owns a reference to it.")
    value = object()
    count_before = sys.getrefcount(value)
    table = hashtable.HashTable()
    table.set("key", value)
    print(">>> table.set('key', value)")
    print("  sys.getrefcount(value): %d -> %d" % (count_before, sys.getrefcount(value)))
    print("  gc.get_referrers(value): %s"
          % ", ".join(sorted(describe(r) for r in gc.get_referrers(value))))
    print("The HashTable type supports the GC (traverse), so get_referrers sees it (lesson 5).")


if __name__ == "__main__":
    main()
