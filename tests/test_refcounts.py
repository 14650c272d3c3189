"""Reference counts (the talk's two bugs) and garbage collection.

Counts are asserted as deltas on objects that are not immortal (object(),
fresh callables, strings and ints built at run time), never as absolute
values: those differ between Python versions. Two traps of measuring:
a loop variable still bound after its loop holds one reference, and pytest's
rewritten assert holds the result of an attribute access (`builtins.hash`)
while calling sys.getrefcount on it: bind such objects to local names first.
"""
import builtins
import contextlib
import gc
import io
import sys

import pytest

from conftest import KeysGive, hashtable

HashTable = hashtable.HashTable

rc = sys.getrefcount


class Hasher:
    """A fresh callable object: its count is ours alone to watch."""

    def __call__(self, key):
        return hash(key)


def fresh_keys():
    """Keys built at run time, so none is immortal, interned or cached."""
    return ["".join(["ke", "y", str(i)]) for i in range(3)] + [int("1" * 30), float("2.5")]


def test_value_counts_after_set_overwrite_pop_and_death():
    t = HashTable(hash_func=Hasher())
    v, w = object(), object()
    v0, w0 = rc(v), rc(w)
    assert t.set("k", v) is t
    assert rc(v) == v0 + 1  # the table owns one reference
    t.set("k", v)  # overwrite with the same value
    assert rc(v) == v0 + 1
    t.set("k", w)  # overwrite: v released, w owned
    assert (rc(v), rc(w)) == (v0, w0 + 1)
    got = t.get("k")
    assert rc(w) == w0 + 2
    del got
    popped = t.pop("k")
    assert popped is w and rc(w) == w0 + 1
    del popped
    assert rc(w) == w0
    t.set("a", v).set("b", v).set("c", w)
    assert (rc(v), rc(w)) == (v0 + 2, w0 + 1)
    del t
    assert (rc(v), rc(w)) == (v0, w0)


def test_defaults_are_returned_without_leaking():
    t = HashTable()
    d = object()
    d0 = rc(d)
    for _ in range(10):
        assert t.get("missing", d) is d
        assert t.pop("missing", d) is d
    assert rc(d) == d0
    t.set("here", 1)
    for _ in range(10):
        t.get("here", d)
        t.pop("here", d)
        t.set("here", 1)
    assert rc(d) == d0


@pytest.mark.parametrize("hash_func", [Hasher, lambda: hash, lambda: None])
def test_key_counts_unchanged(hash_func):
    keys = fresh_keys()
    before = [rc(k) for k in keys]
    t = HashTable(hash_func=hash_func())
    for k in keys:
        t.set(k, 1)
        t.set(k, 2)
        t.get(k)
    for k in keys[:2]:
        t.pop(k)
        try:
            t.pop(k)
        except KeyError:
            pass
        t.pop(k, None)
    del t, k
    assert [rc(k) for k in keys] == before


def test_key_error_holds_the_key_only_while_alive():
    key = "".join(["mis", "sing"])
    k0 = rc(key)
    t = HashTable()
    try:
        t.pop(key)
    except KeyError as e:
        assert e.args[0] is key
    assert rc(key) == k0


def test_hash_func_count_while_alive_and_after_death():
    h = Hasher()
    h0 = rc(h)
    t = HashTable(hash_func=h)
    assert rc(h) == h0 + 1  # the table owns one reference
    for i in range(20):  # calls and resizes take nothing
        t.set(i, i)
        t.get(i)
    t.pop(3)
    assert t.hash_func is h
    assert rc(h) == h0 + 1
    del t
    assert rc(h) == h0


def test_builtin_hash_count_returns_to_its_start():
    # The talk's leak demo: three tables with hash_func=hash, each dying.
    def make_table(**kwargs):
        t = HashTable(**kwargs)
        t.set("pi", 3.14)

    builtin_hash = builtins.hash
    start = rc(builtin_hash)
    for _ in range(3):
        make_table(hash_func=builtin_hash)
    assert rc(builtin_hash) == start
    for _ in range(3):
        make_table()
    assert rc(builtin_hash) == start


def test_builtins_dict_count_unchanged_by_default_tables():
    # The original decref'd the borrowed builtins dict once per default table.
    builtins_dict = builtins.__dict__
    start = rc(builtins_dict)
    for _ in range(100):
        HashTable()
    assert rc(builtins_dict) == start


def test_many_default_tables_do_not_free_builtins(child):
    child("""
        import hashtable
        for i in range(5000):
            hashtable.HashTable().set(i, i)
        print(len(dir(__builtins__)))
    """, env={"HASHTABLE_TRACE": "off"})


def test_set_returns_an_owned_reference_to_the_table(child):
    # The talk's first bug: without Py_INCREF(self) the table dies while bound.
    out = child("""
        import sys
        import hashtable
        t = hashtable.HashTable()
        before = sys.getrefcount(t)
        for i in range(10):
            t.set(i, i)
            t.set(i, i * i)
        print(sys.getrefcount(t) - before)
        print(t.get(9), t.load)
    """, env={"HASHTABLE_TRACE": "off"}).stdout.splitlines()
    assert out == ["0", "81 10"]


def test_reference_counts_on_error_paths():
    v = object()
    ret = object()
    v0, ret0 = rc(v), rc(ret)

    def returns_object(key):
        return ret

    def raises(key):
        raise ValueError("no")

    for hash_func in (returns_object, raises):
        t = HashTable(hash_func=hash_func)
        for method in (t.set, t.get, t.pop):
            try:
                method("a", v)
            except (TypeError, ValueError):
                pass
        del t, method
    t = HashTable()
    for bad in ([1], float("nan")):
        try:
            t.set(bad, v)
        except (TypeError, ValueError):
            pass
    del t
    assert (rc(v), rc(ret)) == (v0, ret0)


# The GC: HashTable is GC-tracked and traverses what it owns.

def test_table_is_tracked_and_traverses_its_references():
    h, v = Hasher(), object()
    t = HashTable(hash_func=h)
    t.set("v", v)
    assert gc.is_tracked(t)
    referents = gc.get_referents(t)
    assert any(r is h for r in referents)
    assert any(r is v for r in referents)
    assert any(r is t for r in gc.get_referrers(v))


def collected_in_child(child, setup):
    """Runs `setup` (which builds a cycle, registers finalizers and deletes its
    names) in a child with the GC disabled, then gc.collect(). Returns the
    lines printed by the collection and the names finalized by it."""
    out = child("""
        import gc, weakref
        import hashtable
        gc.disable()
        finalized = []
        class Hasher:
            def __call__(self, key):
                return hash(key)
        class Value:
            pass
    """ + setup + """
        print("-- collect")
        gc.collect()
        print("-- finalized", *finalized)
    """, env={"HASHTABLE_TRACE": "lifecycle"}).stdout.splitlines()
    start = out.index("-- collect")
    assert out[-1].startswith("-- finalized"), out
    return out[start + 1:-1], out[-1].split()[2:]


def test_cycle_through_hash_func_is_collected(child):
    lines, finalized = collected_in_child(child, """
        h = Hasher()
        weakref.finalize(h, finalized.append, "hash_func")
        t = hashtable.HashTable(hash_func=h)
        h.table = t
        t.set(1, "one")
        del h, t
    """)
    assert finalized == ["hash_func"]
    dealloc = [i for i, line in enumerate(lines) if line.startswith("Module: dealloc")]
    assert len(dealloc) == 1, lines
    assert "Library: freed a table of 4 buckets and 1 entry" in lines[dealloc[0]:]


def test_cycle_through_a_stored_value_is_collected(child):
    lines, finalized = collected_in_child(child, """
        v = Value()
        weakref.finalize(v, finalized.append, "value")
        t = hashtable.HashTable()
        t.set("v", v)
        v.table = t
        del v, t
    """)
    assert finalized == ["value"]
    assert any(line.startswith("Module: dealloc") for line in lines), lines


def test_table_stored_in_itself_is_collected(child):
    out = child("""
        import gc
        import hashtable
        gc.disable()
        t = hashtable.HashTable(hash_func=None)
        t.set("me", t)
        del t
        print("-- collect")
        gc.collect()
        print("-- done")
    """, env={"HASHTABLE_TRACE": "lifecycle"}).stdout.splitlines()
    between = out[out.index("-- collect") + 1:out.index("-- done")]
    assert any(line.startswith("Module: dealloc") for line in between), out
    assert "Library: freed a table of 4 buckets and 1 entry" in between


def test_in_process_cycle_is_collected(trace_level):
    gc.collect()
    h = Hasher()
    t = HashTable(hash_func=h)
    h.table = t
    t.set("t", t)
    h0 = rc(Hasher)
    del h, t
    out = io.StringIO()
    with trace_level("lifecycle"), contextlib.redirect_stdout(out):
        gc.collect()
    lines = out.getvalue().splitlines()
    assert any(line.startswith("Module: dealloc") for line in lines), lines
    assert rc(Hasher) == h0 - 1  # the Hasher instance died too


# On a debug interpreter: sys.gettotalrefcount over loops (no per-call leak).

def leak_per_iteration(body, n=2000):
    previous = hashtable.set_trace("off")
    try:
        body()  # warm up caches
        gc.collect()
        before = sys.gettotalrefcount()
        for _ in range(n):
            body()
        gc.collect()
        return (sys.gettotalrefcount() - before) / n
    finally:
        hashtable.set_trace(previous)


@pytest.mark.debug_only
def test_no_leak_in_normal_use():
    def body():
        t = HashTable(hash_func=Hasher())
        for i in range(5):
            t.set(i, object())
            t.set("s%d" % i, [i])
        t.set(2**80, 1.5).get(2**80)
        t.pop(1)
        t.pop("missing", None)
        t.get("missing")
        HashTable(hash_func=None).set(1.5, "x")
        HashTable().set("a", "b")

    assert leak_per_iteration(body) < 0.5


@pytest.mark.debug_only
def test_no_leak_on_error_paths():
    def raises(key):
        raise ValueError(key)

    def body():
        for kwargs in ({"size": 0}, {"size": "x"}, {"max_load": -1}, {"hash_func": 1}):
            try:
                HashTable(**kwargs)
            except (TypeError, ValueError):
                pass
        t = HashTable(hash_func=raises)
        u = HashTable(hash_func=lambda key: "not an int")
        for call in (lambda: t.set(1, 1), lambda: t.get(1), lambda: u.set(1, 1),
                     lambda: HashTable().pop("missing"), lambda: HashTable().set([], 1),
                     lambda: HashTable().set(float("nan"), 1)):
            try:
                call()
            except (TypeError, ValueError, KeyError):
                pass

    assert leak_per_iteration(body, n=1000) < 0.5


@pytest.mark.debug_only
def test_no_leak_when_allocation_fails():
    def body():
        try:
            HashTable(size=10**15)
        except MemoryError:
            pass

    assert leak_per_iteration(body, n=200) < 0.5


@pytest.mark.debug_only
def test_no_leak_with_uninitialised_tables():
    def body():
        t = HashTable.__new__(HashTable)
        try:
            t.set(1, 1)
        except RuntimeError:
            pass

    assert leak_per_iteration(body) < 0.5


class Missing(HashTable):
    def __missing__(self, key):
        return key


class Slotted(HashTable):
    """Pickled and copied with its slots and __dict__ (module level, for pickle)."""
    __slots__ = ("a", "__dict__")


def test_the_rest_of_dicts_protocol_keeps_counts():
    """Every operation of tests/test_dict_protocol.py, and its error paths,
    repeated: the key, the value and the hash function end where they began."""
    import copy
    import pickle

    key, value, hf = fresh_keys()[0], object(), Hasher()
    h = HashTable(hash_func=hf)
    h[key] = value
    m = Missing()
    s = Slotted(hash_func=hf)
    s[key] = value
    s.a, s.b = value, key

    def attempt(op):
        with contextlib.suppress(TypeError, ValueError, RuntimeError):
            op()

    ops = [
        lambda: h.keys() & {key}, lambda: {key} & h.keys(), lambda: h.items() | [(key, 1)],
        lambda: [key] - h.keys(), lambda: h.items() ^ {(key, value)},
        lambda: h.keys() == {key}, lambda: h.items() <= {(key, value)}, lambda: h.keys() > set(),
        lambda: h.keys().isdisjoint([key]), lambda: h.items().isdisjoint(h.items()),
        lambda: list(reversed(h)), lambda: list(reversed(h.items())),
        lambda: h | {key: value}, lambda: {key: value} | h, lambda: HashTable([(key, value)]),
        lambda: HashTable({key: value}, hash_func=hf), lambda: h.keys().mapping[key],
        lambda: copy.copy(h), lambda: copy.deepcopy(h), lambda: pickle.loads(pickle.dumps(h)),
        lambda: iter(h.items()).__reduce__(), lambda: pickle.dumps(reversed(h.values())),
        lambda: iter(h).__length_hint__(), lambda: h.__sizeof__(), lambda: HashTable[str, int],
        lambda: m[key], lambda: Missing.fromkeys([key], value),
        lambda: copy.copy(s), lambda: copy.deepcopy(s), lambda: pickle.loads(pickle.dumps(s, 2)),
        lambda: s.__reduce__(), lambda: hashtable._rebuild(Slotted, 4, 4, 0.5, hf),
        # Error paths.
        lambda: h.keys() & 5, lambda: h | 1, lambda: h.update(**{1: value}),
        lambda: HashTable(nope=value), lambda: HashTable([(key, value, 3)]),
        lambda: hashtable._rebuild(HashTable, 0, 4, 0.5, hf),
        lambda: hashtable._rebuild(HashTable, 4, 4, value, hf),
        lambda: hashtable._rebuild(dict, 4, 4, 0.5, hf),
        lambda: HashTable(KeysGive(value)), lambda: HashTable(KeysGive([key])),
    ]

    def inplace():
        t = HashTable(hash_func=hf)
        t |= [(key, value)]
        t |= {key: value}
        return t

    ops.append(inplace)
    for op in ops:
        attempt(op)
    gc.collect()
    before = (rc(key), rc(value), rc(hf))
    for _ in range(20):
        for op in ops:
            attempt(op)
    gc.collect()
    assert (rc(key), rc(value), rc(hf)) == before
