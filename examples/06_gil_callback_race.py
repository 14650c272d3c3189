"""Lesson 6: the GIL, and a race through a Python callback.

Native code runs with the GIL held, and the GIL changes hands between
bytecodes or where C code releases it around a blocking call
(Py_BEGIN_ALLOW_THREADS), so a stretch of native code that runs no Python
code and releases nothing is atomic for every other Python thread. The
catch: calling a Python function (our hash_func) runs bytecodes, and the
GIL may be handed to another thread in the middle of it. State read before
the call may be stale after it.

The `callback-race` build does exactly that in insert: it reads the table's
`load` member, calls the hash function, inserts, then writes back the load it
computed before the call. The table itself stays correct (len(h) counts the
entries), but `h.load` loses every update another thread made meanwhile.
Only a plain integer goes stale: no pointer, no undefined behaviour.

The lines (src/module/access.rs, insert, under `LESSON(callback-race)`):

    #[cfg(feature = "callback-race")]
    let load_before = unsafe { (*obj).load };      // read before the callback
    let result = unsafe {
        open(obj, call, key, value, |Opened { arg, hash, table }| {
                                                   // open hashed first: Python code, the GIL may move
            (*table).insert(
    ...
    unsafe { after_change(obj) };                  // the correct build: load from the table
    #[cfg(feature = "callback-race")]
    if matches!(result, Ok(None)) {
        unsafe { (*obj).load = load_before + 1 };  // ... written after it: stale
    }

Several threads set disjoint keys through a hash function written in Python.
The child shrinks sys.setswitchinterval so that the GIL changes hands often,
inside the callback too. A race is a matter of timing: a run may lose nothing
(rarely, with these settings), so the lesson makes several runs.

    python examples/06_gil_callback_race.py      (HASHTABLE_QUICK=1: fewer runs)
"""
import re

import _lesson

RACE = '''
import threading
hashtable.set_trace("off")
RUNS, THREADS, KEYS = (int(a) for a in sys.argv[1:4])
sys.setswitchinterval(1e-6)         # ask for a GIL handoff as often as possible

def py_hash(key):
    """The talk's string hash (each character's code point as three digits),
    applied to str(key): Python bytecodes, so the GIL can change hands here."""
    digits = 0
    for ch in str(key):
        digits = digits * 1000 + ord(ch)
    return digits

for run in range(1, RUNS + 1):
    h = hashtable.HashTable(hash_func=py_hash)
    start = threading.Barrier(THREADS)

    def work(t):
        start.wait()
        for i in range(t * KEYS, (t + 1) * KEYS):   # disjoint keys per thread
            h.set(i, i)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("run %d: %d threads set %d distinct keys: len(h) = %d, h.load = %d, lost %d"
          % (run, THREADS, THREADS * KEYS, len(h), h.load, len(h) - h.load))
'''

RUNS, THREADS, KEYS = (3, 4, 20000) if _lesson.QUICK else (5, 4, 20000)

WHY = """
Why the correct build loses nothing: insert calls the hash function first,
before it looks at the table at all. Once the hash is known, the rest (find
the bucket, insert, maybe resize, update size and load) is one native step
that runs no Python code: no bytecode runs, so the GIL cannot move, and no
other thread can see or change the table in the middle. Whatever happened
during the callback happened before the step began.

The same rule holds for anything that can run Python code: a __hash__ or
__eq__ of a key, a __del__ of a released value, a write to a redirected
sys.stdout. The module never holds a borrow of the table across such a call,
and never releases the GIL in the middle of the step."""


def race(variant, runs=RUNS, threads=THREADS, keys=KEYS):
    """RACE on `variant` (None: the correct build): the child's Fate."""
    _lesson.prepare(variant)
    return _lesson.run_child(RACE, variant=variant, args=[str(runs), str(threads), str(keys)],
                             timeout=120)


def runs_of(fate):
    """(len(h), h.load) of each run the child printed."""
    return [tuple(int(n) for n in re.search(r"len\(h\) = (\d+), h\.load = (\d+)", line).groups())
            for line in fate.stdout.splitlines() if line.startswith("run ")]


def main():
    for variant, title in (("callback-race", "the callback-race build: load read before the callback"),
                           (None, "the correct build: hash first, then one native step")):
        _lesson.prepare(variant)
        _lesson.heading("%s (%s)" % (title, _lesson.version()))
        race(variant).report()
    print(WHY)


if __name__ == "__main__":
    main()
