"""Lesson 14: memory errors with valgrind (memcheck).

Lesson 4's bug, Py_DECREF of a borrowed reference, takes one reference from
the builtins dict per table made with the default hash function. The
program goes on as if nothing happened until the dict is freed, and then
fails far from the cause, or hangs. valgrind's memcheck finds it at the
first read of the freed dict, and names both ends: the stack of the read,
and the stack of the `free` that released the block, which runs through the
line of the bug.

memcheck sees every `malloc` and `free`; Python's own allocator (pymalloc)
hands out memory from its arenas without them, so the child runs with
PYTHONMALLOC=malloc: every object is then a malloc block that memcheck
tracks. Debian's suppression file for Python (/usr/lib/valgrind/python3.supp,
from the python3 package) and tools/valgrind-extra.supp hide CPython's
known false positives.

    python examples/14_valgrind_memcheck.py    (needs valgrind; HASHTABLE_QUICK=1: bug build only)

On your own program: PYTHONMALLOC=malloc valgrind --tool=memcheck
--suppressions=/usr/lib/valgrind/python3.supp python yourscript.py; read
the first "Invalid read" or "Invalid write" record (the later ones are
often its consequences), and in it the frames of your module: the module
built with debug info (here `debug = 1` in Cargo.toml's release profile)
shows file:line.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import _lesson

SUPPRESSIONS = [path for path in ("/usr/lib/valgrind/python3.supp",
                                  os.path.join(_lesson.REPO, "tools", "valgrind-extra.supp"))
                if os.path.exists(path)]

# The tables, until a few after the builtins dict would have no reference
# left. The collector stays off: a debug interpreter's would stop at its
# first run ("refcount is too small", lesson 4) before any freed memory is
# read. os._exit skips the interpreter's shutdown, which would walk the
# freed dict and add hundreds of records after the first.
MAKE_TABLES = '''
import builtins, gc, os
gc.disable()
hashtable.set_trace("off")
start = sys.getrefcount(builtins.__dict__)
print("the builtins dict has %d references; making %d tables" % (start, start + 10))
for made in range(start + 10):
    h = hashtable.HashTable()          # default hash_func: looks up builtins.hash
os.write(1, b"made them all\\n")
os._exit(0)
'''

RECORD_START = re.compile(r"^==\d+== (Invalid (read|write|free)|Mismatched free)")
PREFIX = re.compile(r"^==\d+== ?")
CODE_ADDRESS = re.compile(r"0x[0-9A-Fa-f]+: ")


def memcheck(variant, python=sys.executable, timeout=900):
    """MAKE_TABLES on `variant` under valgrind memcheck: (the child's Fate,
    memcheck's log), or None when valgrind is missing."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return None
    _lesson.prepare(variant, python)
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "memcheck.log")
        cmd = ([valgrind, "--tool=memcheck", "--num-callers=16", "--log-file=" + log]
               + ["--suppressions=" + path for path in SUPPRESSIONS]
               + [python, "-c", _lesson.prelude(variant) + MAKE_TABLES])
        env = dict(os.environ, PYTHONMALLOC="malloc", PYTHONUNBUFFERED="1")
        env.pop("HASHTABLE_TRACE", None)
        start = time.monotonic()
        try:
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
            fate = _lesson.Fate(cmd, done.returncode, done.stdout, done.stderr, False, timeout,
                                time.monotonic() - start)
        except subprocess.TimeoutExpired:
            fate = _lesson.Fate(cmd, None, "", "", True, timeout, time.monotonic() - start)
        with open(log, errors="replace") as f:
            return fate, f.read()


def records(log):
    """memcheck's invalid-access records in `log`: each a list of lines, without
    the ==pid== prefix and code addresses, up to "Block was alloc'd at"."""
    found = []
    current = None
    for line in log.splitlines():
        if RECORD_START.match(line):
            current = []
            found.append(current)
        elif current is not None and (PREFIX.sub("", line).strip() == ""
                                      or "Block was alloc'd" in line):
            current = None
        if current is not None:
            current.append(_lesson.portable(CODE_ADDRESS.sub("", PREFIX.sub("", line))))
    return found


OURS = re.compile(r"hashtable|\.rs:\d+")


def trimmed(record):
    """`record` with each stack cut after the first frame below the module's."""
    kept = []
    stack = []

    def flush():
        ours = [i for i, line in enumerate(stack) if OURS.search(line)]
        end = ours[-1] + 2 if ours else 3
        kept.extend(stack[:end])
        if len(stack) > end:
            kept.append("     ... (%d more frames)" % (len(stack) - end))
        stack.clear()

    for line in record:
        if re.match(r"^ +(at|by) ", line):
            stack.append(line)
        else:
            flush()
            kept.append(re.sub(r"Address 0x[0-9a-fA-F]+", "Address 0x...", line))
    flush()
    return kept


def main():
    if shutil.which("valgrind") is None:
        _lesson.heading("valgrind: not found")
        print("This lesson needs valgrind (Debian/Ubuntu: apt install valgrind). Nothing was run.")
        return
    print("valgrind suppressions: %s" % (", ".join(_lesson.portable(s) for s in SUPPRESSIONS)
                                         or "none found"))
    for variant, title in (("decref-borrowed", "the decref-borrowed build"),
                           (None, "the fixed build")):
        if variant is None and _lesson.QUICK:
            _lesson.heading("the fixed build: left out in quick mode")
            print("(tests/test_debugging_lessons.py runs it: no record at all)")
            continue
        _lesson.heading("%s under memcheck (%s, PYTHONMALLOC=malloc)" % (title, _lesson.version()))
        fate, log = memcheck(variant)
        fate.report(show_stdout=True)
        found = records(log)
        print("invalid reads, writes and frees: %d records" % len(found))
        if found:
            print("the first one:")
            for line in trimmed(found[0]):
                print("  " + line)
    print("""
The count of references each child prints is sys.getrefcount() of the
builtins dict: every module namespace and every Python function refers to
it, so the count depends on what the interpreter loaded at startup and
differs from machine to machine and version to version. The child makes ten
tables more than that, so that the bug takes the dict's last reference
whatever the count.

Read the first record from the top: the invalid read happened in
_Py_dict_lookup, called from our module's default_hash_func (hashing.rs),
which looked `hash` up in the builtins dict: the dict had already been
freed. The second stack says who freed it: dict_dealloc, called from
Py_DECREF in default_hash_func, a few lines further down in the same
function, when a previous table was made. That Py_DECREF is the bug: the
dict was borrowed (PyEval_GetBuiltins), not ours to release; the line
under LESSON(decref-borrowed) in src/module/hashing.rs. The fixed build makes
as many tables without a single record. (A debug interpreter goes on to
abort at the next Py_DECREF of the freed dict, "negative ref count": after
memcheck's record, which names the cause.)""")


if __name__ == "__main__":
    main()
