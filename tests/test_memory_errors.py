"""Allocation failure: MemoryError and an unchanged table, never an abort.

The standard is dict's. When memory runs out in the middle of an operation,
the operation raises MemoryError and the table is as it was before (or, for
an operation that adds several entries, holds a prefix of them), and the
process goes on. `_testcapi.set_nomemory(i, i + 1)` makes allocation
number i from then on fail, counting from 0, in every one of Python's
allocator domains; the module routes its Rust allocations through
PyMem_RawMalloc (src/module/alloc.rs), so they fail too. Each test below
repeats one operation on a fresh table with i = 0, 1, 2, ... (the 1st,
2nd, 3rd, ... allocation failing) until the operation has gone through
untouched several times in a row: every allocation it makes has then failed
once. It runs in a child interpreter, so an abort ("memory
allocation of N bytes failed") fails one test instead of the run.
"""
import sys
import textwrap

import pytest

try:
    import _testcapi
    HAVE_NOMEMORY = hasattr(_testcapi, "set_nomemory")
except ImportError:
    HAVE_NOMEMORY = False

pytestmark = pytest.mark.skipif(
    not HAVE_NOMEMORY, reason="this interpreter has no _testcapi.set_nomemory")

REFLEAKS_RUN_ONCE = "each case runs in a child interpreter: nothing to measure here"

PRELUDE = """\
import sys, _testcapi
import hashtable
hashtable.set_trace("off")
HT = hashtable.HashTable

def consistent(h):
    keys = list(h)
    assert len(keys) == len(h) == h.load, (len(keys), len(h), h.load)
    assert [k for k, _ in h.items()] == keys
    if h.size <= 64:
        assert repr(h).count("*") == h.load

def inject(make, op, on_dict, level, expected=(), several=False, max_index=600):
    '''Runs op(make()) with allocation i failing, for i = 0, 1, 2, ...
    on_dict(d) does to a dict what op does to a table (None: op changes
    nothing); `expected` is the exception the operation itself raises (its
    error path is what is tested). Returns how many runs raised MemoryError.'''
    quiet = raised = 0
    i = -1
    while quiet < 25:
        i += 1
        assert i < max_index, "the operation still fails after %d allocations" % i
        h = make()
        before = dict(h.items())
        after = dict(before)
        if on_dict is not None:
            on_dict(after)
        hashtable.set_trace(level)
        error = None
        _testcapi.set_nomemory(i, i + 1)
        try:
            op(h)
        except BaseException as e:   # classified below, once memory is back
            error = e
        finally:
            _testcapi.remove_mem_hooks()
            hashtable.set_trace("off")
        assert error is None or isinstance(error, (MemoryError,) + expected), (i, repr(error))
        consistent(h)
        now = dict(h.items())
        if not isinstance(error, MemoryError):
            quiet += 1
            assert now == after, (i, now, after)
        else:
            quiet = 0
            raised += 1
            if several:
                assert all(before.get(k, after.get(k)) == v or after.get(k) == v
                           for k, v in now.items()), (i, now)
                assert set(before) <= set(now), (i, now)
            else:
                assert now == before, (i, now, before)
    return raised
"""

FORBIDDEN = ("Fatal Python error", "memory allocation of", "panicked", "SystemError",
             "Segmentation fault", "Aborted")


def run(child, body):
    code = PRELUDE + textwrap.dedent(body) + '\nprint("ok")\n'
    done = child(code, check=False)
    assert done.returncode == 0, "child exited with %d\n%s\n%s" % (
        done.returncode, done.stdout[-3000:], done.stderr[-3000:])
    # "ok" need not be the last line: a trace line whose write to sys.stdout
    # failed for want of memory goes to C's stdout instead (PySys_WriteStdout's
    # fallback), whose buffer is written at exit.
    assert "ok" in done.stdout.splitlines(), done.stdout[-2000:]
    for text in FORBIDDEN:
        assert text not in done.stderr, done.stderr[-3000:]
    return done


def filled(n=20):
    return "lambda: HT.fromkeys(range(%d), 'v')" % n


# (name, make, op on the table, the same op on a dict or None, adds several[,
# the error the operation itself raises: its error path is what is tested])
CASES = [
    ("construction", "lambda: HT()", "lambda h: HT(size=8, max_load=0.75)", None, False),
    # (The hash function is made once, outside the failing allocations: on
    # 3.13.0 a function whose allocation fails is released twice, CPython's
    # gh-122752 in MAKE_FUNCTION, and the child crashes a few runs later.)
    ("construction, a Python hash function", "lambda: HT()",
     "lambda h, one=lambda k: 1: HT(hash_func=one)", None, False),
    ("construction then dealloc", "lambda: HT()", "lambda h: HT.fromkeys('abc') and None",
     None, False),
    ("re-initialisation", filled(), "lambda h: h.__init__(size=2)", "lambda d: d.clear()", False),
    ("bad constructor argument", "lambda: HT()", "lambda h: HT(size=-1)", None, False,
     "ValueError"),
    ("set, new key", filled(), "lambda h: h.set('new', 1)", "lambda d: d.update(new=1)", False),
    ("set, new key and a resize", filled(24), "lambda h: h.set(10**30, 1)",
     "lambda d: d.__setitem__(10**30, 1)", False),
    ("set, existing key", filled(), "lambda h: h.set(3, 'w')", "lambda d: d.__setitem__(3, 'w')",
     False),
    ("setitem, Python hash function",
     "lambda: HT(hash_func=lambda k: hash(k) + 1)", "lambda h: h.__setitem__('x', [1])",
     "lambda d: d.__setitem__('x', [1])", False),
    ("get, found", filled(), "lambda h: h.get(5)", None, False),
    ("get, missing", filled(), "lambda h: h.get('missing', 0)", None, False),
    ("getitem, missing (KeyError)", filled(), "lambda h: h['missing']", None, False, "KeyError"),
    ("contains", filled(), "lambda h: 'x' in h or 5 in h", None, False),
    ("pop, found", filled(), "lambda h: h.pop(7)", "lambda d: d.pop(7)", False),
    ("pop, missing", filled(), "lambda h: h.pop('missing', None)", None, False),
    ("delitem", filled(), "lambda h: h.__delitem__(9)", "lambda d: d.__delitem__(9)", False),
    ("popitem", filled(), "lambda h: h.popitem()", "lambda d: d.popitem()", False),
    ("setdefault", filled(), "lambda h: h.setdefault('sd', 1)", "lambda d: d.setdefault('sd', 1)",
     False),
    ("update from a dict", filled(), "lambda h: h.update({'a': 1, 'b': 2, 3.5: 3})",
     "lambda d: d.update({'a': 1, 'b': 2, 3.5: 3})", True),
    ("update from pairs and keywords", filled(), "lambda h: h.update([('p', 1)], kw=2)",
     "lambda d: d.update([('p', 1)], kw=2)", True),
    ("fromkeys", "lambda: HT()", "lambda h: HT.fromkeys(range(30))", None, False),
    ("copy", filled(), "lambda h: h.copy()", None, False),
    ("clear", filled(), "lambda h: h.clear()", "lambda d: d.clear()", False),
    ("repr", filled(), "lambda h: repr(h)", None, False),
    ("repr of a large table", filled(200), "lambda h: repr(h)", None, False),
    ("stats", filled(), "lambda h: h.stats()", None, False),
    ("iteration", filled(), "lambda h: (list(h), list(h.values()), list(h.items()))", None, False),
    ("iteration over big-int keys", "lambda: HT.fromkeys([2**70 + i for i in range(5)])",
     "lambda h: list(h)", None, False),
    ("views", filled(), "lambda h: (len(h.keys()), 3 in h.keys(), (3, 'v') in h.items(), "
     "'v' in h.values(), repr(h.items()))", None, False),
    ("equality", filled(), "lambda h: (h == dict.fromkeys(range(20), 'v'), h == h.copy())",
     None, False),
    ("unhashable key (TypeError)", filled(), "lambda h: h.get([])", None, False, "TypeError"),
    ("a key the naive hash cannot hash (TypeError)", "lambda: HT(hash_func=None)",
     "lambda h: h.get((1, 2))", None, False, "TypeError"),
    ("wrong argument count", filled(), "lambda h: h.get()", None, False, "TypeError"),
    # The rest of dict's protocol (tests/test_dict_protocol.py).
    ("construction from data", "lambda: HT()", "lambda h: HT({'a': 1, 'b': 2}, size=2)", None,
     False),
    ("|", filled(), "lambda h: h | {'a': 1}", None, False),
    ("reflected |", filled(), "lambda h: {'a': 1} | h", None, False),
    ("|=", filled(), "lambda h: h.__ior__([('a', 1), ('b', 2)])",
     "lambda d: d.update([('a', 1), ('b', 2)])", True),
    ("view set operations", filled(), "lambda h: (h.keys() & {1, 'x'}, [(1, 'v')] ^ h.items(), "
     "h.keys() - [2], h.keys() | {'y'}, h.items().isdisjoint([(3, 'v')]))", None, False),
    ("view comparisons", filled(), "lambda h: (h.keys() == set(range(20)), h.items() <= set())",
     None, False),
    ("reversed", filled(), "lambda h: (list(reversed(h)), list(reversed(h.items())))", None,
     False),
    ("pickle round trip", filled(), "lambda h: __import__('pickle').loads("
     "__import__('pickle').dumps(h))", None, False),
    ("iterator pickling", filled(), "lambda h: (iter(h.items()).__reduce__(), "
     "reversed(h).__length_hint__())", None, False),
    ("__sizeof__ and GenericAlias", filled(), "lambda h: (h.__sizeof__(), HT[str, int])", None,
     False),
]


# The cases whose operation allocates whatever the trace level (a table, a
# str, a dict, an object): their test fails if no failure was injected, so the
# harness cannot silently test nothing. (The others may allocate nothing at
# all: lookups and changes that need no new memory.)
MUST_RAISE = {"construction", "construction, a Python hash function", "re-initialisation",
              "fromkeys", "copy", "clear", "repr", "repr of a large table", "stats",
              "update from a dict", "views", "equality", "construction from data", "|",
              "reflected |", "view set operations", "reversed", "pickle round trip",
              "iterator pickling"}


@pytest.mark.parametrize("level", ["off", "lifecycle", "calls"])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_allocation_failure_raises_memory_error_and_keeps_the_table(child, case, level):
    name, make, op, on_dict, several = case[:5]
    expected = "(%s,)" % case[5] if len(case) > 5 else "()"
    run(child, """
        raised = inject(%(make)s, %(op)s, %(on_dict)s, %(level)r, expected=%(expected)s,
                        several=%(several)r)
        print("raised MemoryError", raised, "times")
        assert raised > 0 or not %(must_raise)r, "no allocation failed: the case proves nothing"
    """ % dict(op=op, make=make, on_dict=on_dict, level=level, several=several,
               expected=expected, must_raise=name in MUST_RAISE))


@pytest.mark.parametrize("level", ["off", "lifecycle", "calls"])
def test_the_first_allocation_of_a_wrong_argument_count_fails(child, level):
    """The sweep above covers `h.get()`; here the first allocation of each
    kind of wrong argument count fails (too few, for get and pop; too many),
    which is the TypeError's message: TypeError or MemoryError, never an
    abort."""
    run(child, """
        h = HT.fromkeys([1, 2], "v")
        for call in (lambda: h.get(), lambda: h.pop(), lambda: h.get(1, 2, 3)):
            hashtable.set_trace(%r)
            error = None
            _testcapi.set_nomemory(0, 1)
            try:
                call()
            except (TypeError, MemoryError) as e:
                error = e
            finally:
                _testcapi.remove_mem_hooks()
                hashtable.set_trace("off")
            assert isinstance(error, (TypeError, MemoryError)), repr(error)
            assert dict(h.items()) == {1: "v", 2: "v"}
    """ % level)


@pytest.mark.parametrize("level", ["off", "lifecycle", "calls"])
def test_popitem_keeps_the_entry_when_its_result_tuple_fails(child, level):
    """popitem() makes its (key, value) tuple before it removes the entry.
    With no free 2-tuple left (the sweep's own set_nomemory call frees one,
    which the result would reuse) and every allocation failing, it raises
    MemoryError and the table is unchanged. Keys beyond 64 bits are stored
    as objects, so popping one makes nothing else.

    Everything between set_nomemory and remove_mem_hooks runs in a function:
    at module level `except MemoryError as e` binds a new global, and
    growing the module's dict for it fails too, a MemoryError outside the
    try that ends the child (with "lost sys.stderr", as its report fails
    too)."""
    run(child, """
        import gc
        gc.disable()

        def pop_with_no_memory(pop):
            keep = [(j, j) for j in range(3000)]   # no free 2-tuple left
            _testcapi.set_nomemory(0)              # one argument: a 1-tuple
            try:
                return pop()
            except MemoryError as e:
                return e
            finally:
                _testcapi.remove_mem_hooks()

        hashtable.set_trace(%r)
        for keys in ([1, 2, 3], ["a", "b", "c"], [2**70, -2**70 - 1, 2**64]):
            h = HT.fromkeys(keys, "v")
            before = dict(h.items())
            result = pop_with_no_memory(h.popitem)
            assert isinstance(result, MemoryError), repr(result)
            assert dict(h.items()) == before, (dict(h.items()), before)
            assert h.popitem() == (keys[-1], "v")    # and it still works
        hashtable.set_trace("off")
    """ % level)
