"""A daemon thread ended inside the module at shutdown must not abort the process.

Before 3.14, CPython ends a daemon thread that wants the GIL back after
shutdown has begun with pthread_exit, a forced unwind of the thread's stack.
Reaching a Rust frame that called the C API as `extern "C"`, that unwind
aborted the whole process (SIGABRT, nothing on stderr). src/module/callout.rs
makes every call from which Python code can run a `C-unwind` call with a guard
that parks the thread instead (see its header).

Each scenario gets a daemon thread into one such call, where Python code
(a hash function, a __del__, a write to sys.stdout, ...) then sleeps in a
loop. The main script ends. Shutdown sets the finalizing flag, then its last
garbage collection runs `Finalizer.__del__`, whose sleep releases the GIL:
the daemon thread wakes, wants the GIL back and is ended by the interpreter
right there, inside the module. The finalizer then reads /proc: the daemon
thread must still exist, asleep (parked by the guard), and the process must
exit 0.
"""
import os
import re
import sys
import textwrap

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULE_DIR = os.path.join(REPO, "src", "module")
REFLEAKS_RUN_ONCE = "each scenario runs in a child interpreter: nothing to measure here"

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="reads the daemon thread's state from /proc")

PRELUDE = """\
import gc, os, sys, threading, time
import hashtable
hashtable.set_trace("off")
HT = hashtable.HashTable
gc.disable()    # the finalizer below must wait for shutdown's own collection

inside = threading.Event()
daemon_tid = []

def loop_here():
    # Called from Python code that runs inside a module call: tell the main
    # thread, then give up the GIL over and over until shutdown ends us.
    daemon_tid.append(threading.get_native_id())
    inside.set()
    while True:
        time.sleep(0.001)

class Finalizer:
    # Collected by shutdown's last collection, after the finalizing flag is
    # set. Its sleep releases the GIL, so the daemon thread is ended then.
    # Late in shutdown builtins are gone: everything it uses comes in as a default.
    def __del__(self, os=os, time=time, daemon_tid=daemon_tid, OSError=OSError):
        time.sleep(0.3)
        try:
            fd = os.open("/proc/self/task/%d/stat" % daemon_tid[0], os.O_RDONLY)
            stat = os.read(fd, 4096).decode()
            os.close(fd)
            state = stat.rsplit(")", 1)[1].split()[0]
        except OSError:
            state = "gone"
        os.write(1, ("daemon thread state: %s\\n" % state).encode())

f = Finalizer()
f.cycle = f
del f

def daemon():
"""

EPILOGUE = """
threading.Thread(target=daemon, daemon=True).start()
assert inside.wait(30), "the daemon thread never got inside the module"
print("main done")
"""

# The body of `daemon()` for each way Python code can run inside a module call.
SCENARIOS = {
    "a Python hash function (PyObject_CallOneArg)": """
        h = HT(hash_func=lambda k: loop_here())
        h[1] = 1
    """,
    "== with a dict whose key's __eq__ runs (PyDict_GetItemWithError)": """
        class K:
            def __hash__(self): return hash(1)
            def __eq__(self, other): loop_here()
        h = HT()
        h[1] = 1
        h == {K(): 1}
    """,
    "__del__ of an overwritten value (Py_DECREF)": """
        class Value:
            def __del__(self): loop_here()
        h = HT()
        h[1] = Value()
        h[1] = 2
    """,
    "__del__ of a value when clear() frees the table": """
        class Value:
            def __del__(self): loop_here()
        h = HT()
        h[1] = Value()
        h.clear()
    """,
    "__del__ of a value when the table is deallocated": """
        class Value:
            def __del__(self): loop_here()
        h = HT()
        h[1] = Value()
        del h
    """,
    "__del__ of a hash function's int result": """
        class Big(int):
            def __del__(self): loop_here()
        HT(hash_func=lambda k: Big(7))[1] = 1
    """,
    "a trace line written to a Python sys.stdout (PySys_WriteStdout)": """
        real = sys.stdout
        me = threading.get_ident()
        class Slow:
            def write(self, text):
                if threading.get_ident() == me: loop_here()
                return real.write(text)
            def flush(self): real.flush()
        sys.stdout = Slow()
        hashtable.set_trace("calls")
        HT()[1] = 1
    """,
    "update() from a generator (PyIter_Next)": """
        def pairs():
            loop_here()
            yield (1, 1)
        HT().update(pairs())
    """,
    "update() from a mapping's keys() (PyObject_CallNoArgs)": """
        class M:
            def keys(self): loop_here()
            def __getitem__(self, k): return k
        HT().update(M())
    """,
    "update() from a mapping's __getitem__ (PyObject_GetItem)": """
        class M:
            def keys(self): return [1]
            def __getitem__(self, k): loop_here()
        HT().update(M())
    """,
    "== with a value's __eq__ (PyObject_RichCompareBool)": """
        class V:
            def __eq__(self, other): loop_here()
        h = HT()
        h[1] = V()
        h == {1: 2}
    """,
    "== with another mapping's __class__ (PyObject_IsInstance)": """
        class Other:
            @property
            def __class__(self): loop_here()
        HT() == Other()
    """,
    "in values() with a value's __eq__ (PySequence_Contains)": """
        class V:
            def __eq__(self, other): loop_here()
        h = HT()
        h[1] = V()
        2 in h.values()
    """,
    "repr() of a view with a value's __repr__ (PyObject_Repr)": """
        class V:
            def __repr__(self): loop_here()
        h = HT()
        h[1] = V()
        repr(h.values())
    """,
    "the repr of a hash function in an error message": """
        class F:
            def __call__(self, k): return "not an int"
            def __repr__(self): loop_here()
        HT(hash_func=F())[1] = 1
    """,
    "__del__ of a local of a KeyError's traceback, cleared by == (PyErr_Clear)": """
        import collections.abc
        class Dies:
            def __del__(self): loop_here()
        class M(collections.abc.Mapping):
            def __len__(self): return 1
            def __iter__(self): return iter([1])
            def __contains__(self, k): return True
            def __getitem__(self, k):
                local = Dies()
                raise KeyError(k)
        h = HT()
        h[1] = 1
        h == M()
    """,
    "max_load of an int subclass whose __float__ runs Python (PyFloat_AsDouble)": """
        class Load(int):
            def __float__(self): loop_here()
        HT(max_load=Load(1))
    """,
    "fromkeys() on a subclass whose __init__ runs Python (PyObject_CallNoArgs)": """
        class Sub(HT):
            def __init__(self): loop_here()
        Sub.fromkeys([1])
    """,
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_daemon_thread_ended_inside_the_module_at_shutdown(child, scenario):
    body = textwrap.indent(textwrap.dedent(SCENARIOS[scenario]).strip(), "    ")
    done = child(PRELUDE + body + "\n" + EPILOGUE, check=False)
    assert done.returncode == 0, "exit status %d\n--- stdout\n%s\n--- stderr\n%s" % (
        done.returncode, done.stdout, done.stderr)
    lines = done.stdout.splitlines()
    assert "main done" in lines, done.stdout
    # Parked: still there, asleep. Ended by pthread_exit it would be gone.
    assert "daemon thread state: S" in lines, done.stdout + done.stderr


def _callout_functions():
    """The C-API functions src/module/callout.rs declares `C-unwind`."""
    with open(os.path.join(MODULE_DIR, "callout.rs")) as f:
        source = f.read()
    blocks = re.findall(r'unsafe extern "C-unwind" \{(.*?)\n\s*\}', source, re.S)
    names = set()
    for block in blocks:
        names.update(re.findall(r"\bfn ([A-Za-z_][A-Za-z0-9_]*)\(", block))
    # The macro's extern block names its functions through `$name`: read the
    # functions listed in the `callouts! { ... }` invocation instead.
    invocation = source.split("callouts! {", 1)[1].split("\n}\n", 1)[0]
    names.update(re.findall(r"^\s*fn ([A-Za-z_][A-Za-z0-9_]*)\(", invocation, re.M))
    return names


def test_callout_declares_the_functions_it_guards():
    names = _callout_functions()
    assert {"PyObject_VectorcallDict", "PyObject_Hash", "Py_DecRef", "PySys_WriteStdout"} <= names


def test_module_calls_callout_functions_only_through_callout():
    """Rule 1 of callout.rs: a pyo3-ffi (`extern "C"`, nounwind) use of one of
    these symbols anywhere in the crate would strip the guard from every call
    of it, so no other file may name them as `ffi::...`. The same holds for
    Py_DECREF and Py_XDECREF, which must release through callout."""
    names = _callout_functions() | {"Py_DECREF", "Py_XDECREF", "PyObject_CallOneArg",
                                    "PyObject_CallNoArgs", "PyObject_CallMethod"}
    pattern = re.compile(r"\bffi::(%s)\b" % "|".join(sorted(names)))
    offenders = []
    for name in sorted(os.listdir(MODULE_DIR)):
        if not name.endswith(".rs") or name == "callout.rs":
            continue
        with open(os.path.join(MODULE_DIR, name)) as f:
            for number, line in enumerate(f, 1):
                if pattern.search(line):
                    offenders.append("src/module/%s:%d: %s" % (name, number, line.strip()))
    assert not offenders, "call these through callout::\n" + "\n".join(offenders)
