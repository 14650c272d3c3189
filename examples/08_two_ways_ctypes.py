"""Lesson 8: two ways into one library: the C API and ctypes.

The classic first ctypes example calls a C function straight out of a
shared library (here the C library's printf):

    libc = ctypes.CDLL("libc.so.6")
    libc.printf(b"Hello from C!\\n")

The .so that Python imports as `hashtable` is such a library too. Besides
PyInit_hashtable it exports a small C ABI of the table library
(src/module/c_abi.rs): hashtable_c_create, _set, _get, _len, _free, for
int64 keys and values, hashed with the talk's naive hash. No Python object
crosses that boundary: ctypes converts every argument and result.

This lesson loads the module's own file with ctypes, checks that both ways
give the same answers, then measures the cost of one call each way in one
run (timeit, the median of several repeats) and prints the ratio.

    python examples/08_two_ways_ctypes.py       (HASHTABLE_QUICK=1: fewer timing loops)
"""
import ctypes
import os
import statistics
import sys
import timeit

import _lesson

NUMBER, REPEAT = (20000, 5) if _lesson.QUICK else (200000, 7)


def c_abi(path, loader=ctypes.PyDLL):
    """The C ABI of the module's .so at `path`, loaded by `loader` (PyDLL: the
    GIL is kept during each call), with its C signatures declared."""
    lib = loader(path)
    table = ctypes.c_void_p
    lib.hashtable_c_create.argtypes = [ctypes.c_size_t, ctypes.c_double]
    lib.hashtable_c_create.restype = table
    lib.hashtable_c_set.argtypes = [table, ctypes.c_int64, ctypes.c_int64]
    lib.hashtable_c_set.restype = ctypes.c_int
    lib.hashtable_c_get.argtypes = [table, ctypes.c_int64, ctypes.POINTER(ctypes.c_int64)]
    lib.hashtable_c_get.restype = ctypes.c_int
    lib.hashtable_c_len.argtypes = [table]
    lib.hashtable_c_len.restype = ctypes.c_size_t
    lib.hashtable_c_free.argtypes = [table]
    lib.hashtable_c_free.restype = None
    return lib


def per_call_ns(stmt, namespace):
    times = timeit.repeat(stmt, globals=namespace, number=NUMBER, repeat=REPEAT)
    return statistics.median(times) / NUMBER * 1e9


WHY = """
Both calls end in the same Rust code; the difference is the way in. A C-API
method is found by the interpreter in the type's method table and called with
the Python objects as they are (METH_FASTCALL: no tuple). A ctypes call goes
through a foreign-function object: each Python int is converted by the
argtypes to a C int64, the call is made through libffi, and the result is
converted back (get also fills an out-parameter). That glue is paid on every
call, which is why modules wrap libraries instead of having every caller use
ctypes; and why ctypes is still the quickest way to try one out."""


def main():
    hashtable = _lesson.load()
    print("Python %s; the module: %s"
          % (sys.version.split()[0], os.path.relpath(hashtable.__file__, _lesson.REPO)))

    # PyDLL keeps the GIL during each call (CDLL releases it): the library's
    # trace lines go through sys.stdout, in order with Python's own output.
    lib = c_abi(hashtable.__file__, ctypes.PyDLL)

    _lesson.heading("the same keys both ways")
    print(">>> t = lib.hashtable_c_create(4, 0.5)            # ctypes")
    t = lib.hashtable_c_create(4, 0.5)
    print(">>> h = hashtable.HashTable(hash_func=None)      # the C API, the same naive hash")
    h = hashtable.HashTable(hash_func=None)
    hashtable.set_trace("off")

    keys = [-3, 0, 1, 2, 7, 10, 2**40, -(2**60)] + list(range(100, 140))
    for k in keys:
        assert lib.hashtable_c_set(t, k, k * 3 + 1) == 0
        h.set(k, k * 3 + 1)

    value = ctypes.c_int64()
    same = 0
    for k in keys + [5, 99, 10**12]:
        found = lib.hashtable_c_get(t, k, ctypes.byref(value))
        via_ctypes = value.value if found else None
        via_module = h.get(k)
        same += via_ctypes == via_module
        if k in (-3, 2**40, 5):
            print("key %d: ctypes -> %r, module -> %r" % (k, via_ctypes, via_module))
    print("%d of %d lookups agree (%d keys set, 3 missing); lengths: ctypes %d, module %d"
          % (same, len(keys) + 3, len(keys), lib.hashtable_c_len(t), len(h)))
    assert same == len(keys) + 3 and lib.hashtable_c_len(t) == len(h)

    _lesson.heading("the cost of one call (%s)" % _lesson.version())
    cdll = c_abi(hashtable.__file__, ctypes.CDLL)
    namespace = {
        "h_set": h.set, "h_get": h.get,
        "c_set": lib.hashtable_c_set, "c_get": lib.hashtable_c_get,
        "cdll_set": cdll.hashtable_c_set,
        "t": t, "out": ctypes.byref(value),
    }
    rows = [
        ("set", "C-API method h.set(k, v)", "h_set(123, 456)"),
        ("set", "ctypes.PyDLL hashtable_c_set", "c_set(t, 123, 456)"),
        ("set", "ctypes.CDLL hashtable_c_set (releases the GIL)", "cdll_set(t, 123, 456)"),
        ("get", "C-API method h.get(k)", "h_get(123)"),
        ("get", "ctypes.PyDLL hashtable_c_get", "c_get(t, 123, out)"),
    ]
    results = {}
    print("median of %d repeats of %d calls:" % (REPEAT, NUMBER))
    for op, label, stmt in rows:
        results[label] = per_call_ns(stmt, namespace)
        print("  %-48s %7.0f ns per call" % (label, results[label]))
    set_ratio = results[rows[1][1]] / results[rows[0][1]]
    get_ratio = results[rows[4][1]] / results[rows[3][1]]
    print("ctypes / C API: set %.1fx, get %.1fx" % (set_ratio, get_ratio))
    print("(this machine, this run: the ratios depend on the CPU, the interpreter and")
    print("the load; ctypes slower by about an order of magnitude is what holds)")

    lib.hashtable_c_free(t)

    print(WHY)


if __name__ == "__main__":
    main()
