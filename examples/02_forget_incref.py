"""Lesson 2: forgetting Py_INCREF(self) before returning self.

The talk's first bug. `set` returns the table itself, so the REPL echoes the
table's picture after every set. A C function must return a reference the
caller owns (a *new* reference); returning `self` without Py_INCREF(self)
hands the caller a reference nobody paid for. The REPL releases it after
echoing, the count drops to zero while the name `h` is still bound, the
dealloc and free lines print, and the next use of `h` reads freed memory.

The line (src/module/hashtable_type.rs, set_impl; `grep -rn LESSON src`
lists every lesson's line):

    // LESSON(forget-incref): ...
    #[cfg(not(feature = "forget-incref"))]
    ffi::Py_INCREF(slf);
    Some(slf)

The session runs in a child Python, typed into a real interactive console
(the `code` module, as the REPL does: each result echoed and kept in `_`),
with PYTHONMALLOC=debug so that freed memory is overwritten with 0xDD bytes:
the crash is then certain instead of depending on what reuses the memory.
faulthandler prints the Python traceback of the crash.

    python examples/02_forget_incref.py
"""
import _lesson

# h.set(1, 1) returns h without the INCREF: the REPL's `_` and the name h now
# share one counted reference. Echoing h.get(1) replaces `_`, which releases
# it: the count hits zero while h is still bound. h.set(2, 2) then uses a
# freed object.
SESSION = """\
h = HashTable()
h.set(1, 1)
h.get(1)
h.set(2, 2)
h.get(2)
"""

FIXED_SESSION = SESSION + """\
import math
h.set("pi", math.pi)
for i in range(3, 7): _ = h.set(i, i * i)

h.size
h.set("a string", "of any length")
h.get("pi")
"""


# The sidebar: a C function ending in `return Py_None;` (no Py_INCREF), as a
# much-copied example does. Each call hands out a reference to None that
# nobody paid for, and the caller releases it: one Py_DECREF of None per
# call, which is what this child does, through ctypes, until None's count
# would be gone.
NONE_SIDEBAR = """
import ctypes
decref = ctypes.pythonapi.Py_DecRef
decref.argtypes = [ctypes.py_object]
start = sys.getrefcount(None)
print("sys.getrefcount(None) = %d" % start)
# Enough calls to use up a counted None; an immortal one's "count" is a
# marker in the billions, so stop at 100000 there.
for call in range(1, min(start, 100000) + 100):
    decref(None)                  # what the caller does with the returned None
    if call % 1000 == 0 and call <= 5000:
        print("after %d calls: sys.getrefcount(None) = %d" % (call, sys.getrefcount(None)))
print("survived %d calls: sys.getrefcount(None) = %d" % (call, sys.getrefcount(None)))
"""


def none_sidebar():
    """NONE_SIDEBAR on the normal build (it needs no bug build): its Fate."""
    _lesson.prepare(None)
    return _lesson.run_child(NONE_SIDEBAR, trace="off", timeout=60)


def crash():
    """SESSION on the forget-incref build: the child's Fate."""
    _lesson.prepare("forget-incref")
    return _lesson.run_child(_lesson.repl_code(SESSION), variant="forget-incref",
                             env={"PYTHONMALLOC": "debug"}, timeout=60)


def survive():
    """FIXED_SESSION (SESSION and more) on the fixed build: the child's Fate."""
    _lesson.prepare(None)
    return _lesson.run_child(_lesson.repl_code(FIXED_SESSION), env={"PYTHONMALLOC": "debug"},
                             timeout=60)


def main():
    _lesson.prepare("forget-incref")
    _lesson.heading("the forget-incref build: %s, PYTHONMALLOC=debug" % _lesson.version())
    fate = crash()
    fate.report()
    if fate.crashed:
        print("The dealloc and free lines printed while `h` was still bound: the only")
        print("counted reference was the one set returned, kept by the REPL in `_`, and")
        print("echoing the next result replaced `_`. The next use of `h` touched freed")
        print("memory: %s." % fate.signal_name)
    else:
        print("The child did not crash (%s): see its output above." % fate.summary())

    _lesson.prepare(None)
    _lesson.heading("the fixed build: Py_INCREF(self) before returning self")
    survive().report()
    print("Same session and more: pi, squares, resizes, a string; no crash. The table is")
    print("freed once, at exit, when its last references (h and _) go.")

    _lesson.heading("sidebar: `return Py_None;` without Py_INCREF, once per call")
    fate = none_sidebar()
    fate.report(stdout_tail=4)
    if fate.crashed:
        print("None's count ran out: CPython refuses to deallocate None and aborts.")
    else:
        print("None is immortal here (3.12+): its count is a marker that no DECREF")
        print("changes, so the missing INCREF does no harm; on 3.11 and before it aborts.")


if __name__ == "__main__":
    main()
