"""Hostile use, the second round: attacks that reach past the hash function.

Deep object graphs through `hash_func`, Python code running at every
call-out (a replaced `sys.stdout` at trace level "calls", finalizers run by
a collection inside an allocation), re-initialisation from inside a hash
function, subclasses that answer for missing keys, errors raised where the
module looks up an attribute, and keys whose hashes differ only in their
high bits. Each scenario runs in a child interpreter, as in test_hostile.py,
so a crash fails one test instead of the run. Allocation failure has its own
file, test_memory_errors.py.
"""
import sys

import pytest

from test_hostile import run

REFLEAKS_RUN_ONCE = "each scenario runs in a child interpreter: nothing to measure here"


# ---------------------------------------------------------------------------
# Freeing: long chains of tables linked through hash_func
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("link", ["operator.itemgetter(t)", "types.MethodType(f, t)"])
def test_a_long_chain_of_tables_through_hash_func_frees_without_overflow(child, link):
    """Each table's hash_func holds the previous table. Releasing the last
    one releases the whole chain: with one C frame per table, 500,000 tables
    overflow the C stack. dicts linked the same way free fine."""
    run(child, """
        import operator, types
        def f(self, key):
            return 0
        class Sub(HT): pass          # (HashTable, like dict, has no weakref slot)
        t = Sub()
        first = weakref.ref(t)
        for _ in range(500_000):
            t = HT(hash_func=%s)
        del t
        assert first() is None
    """ % link)


@pytest.mark.parametrize("link", ["operator.itemgetter(t)", "types.MethodType(f, t)"])
def test_a_long_ring_of_tables_through_hash_func_is_collected_without_overflow(child, link):
    run(child, """
        import operator, types
        def f(self, key):
            return 0
        class Sub(HT): pass          # (HashTable, like dict, has no weakref slot)
        first = t = Sub()
        probe = weakref.ref(first)
        for _ in range(500_000):
            t = HT(hash_func=%s)
        first.__init__(hash_func=%s)     # closes the ring: first -> ... -> t -> first
        del first, t
        gc.collect()
        assert probe() is None
    """ % (link, link))


# ---------------------------------------------------------------------------
# Re-initialisation and other Python code between the steps of an operation
# ---------------------------------------------------------------------------

def test_copy_reads_the_hash_function_and_entries_of_one_moment(child):
    """copy() writes a trace line, and making the copy allocates: both can
    run Python code (here a replaced sys.stdout) that re-initialises the
    original with another hash function. The copy must then find every key it
    holds: its entries and its hash function come from the same moment."""
    run(child, """
        for moment in range(6):
            h = HT(hash_func=lambda k: hash(k))
            for i in range(20): h[i] = str(i)
            writes = [0]
            class Out:
                def write(self, s):
                    writes[0] += 1
                    if writes[0] == moment:
                        h.__init__(size=3, hash_func=lambda k: 12345)
                    return len(s)
                def flush(self): pass
            hashtable.set_trace("calls")
            sys.stdout = Out()
            try:
                c = h.copy()
            finally:
                sys.stdout = sys.__stdout__
                hashtable.set_trace("off")
            keys = list(c)
            assert all(k in c for k in keys), (moment, keys)
            assert all(c[k] == v for k, v in c.items()), moment
            assert len(keys) in (0, 20), (moment, keys)
            consistent(c)
    """)


# The seven keyed operations of the two stale-hash tests, as the statement
# each child runs; the last four look "key" up, and find it only if it was
# filed under the current hash function.
STALE_HASH_OPS = {
    "set": 'h.set("key", 1)',
    "setitem": 'h["key"] = 1',
    "setdefault": 'h.setdefault("key", 1)',
    "get": 'assert h.get("key") == "there"',
    "contains": 'assert "key" in h',
    "pop": 'assert h.pop("key") == "there"',
    "delitem": 'del h["key"]',
}
LOOKUP_OPS = ("get", "contains", "pop", "delitem")


@pytest.mark.parametrize("op", list(STALE_HASH_OPS))
def test_init_inside_the_hash_function_never_files_under_a_stale_hash(child, op):
    """The hash function re-initialises its own table (a new hash function,
    new buckets) while the module waits for its result. The key must not be
    filed (or looked up) under the old function's hash: either the table
    hashes again with its current function, or the call raises RuntimeError."""
    run(child, """
        lookup = %r
        def second(k):
            return 2
        def first(k):
            # The table's hash function until it runs: it installs another
            # one (and, for a lookup, files "key" under that one's hash),
            # then returns a hash of the old function.
            h.__init__(size=7, hash_func=second)
            if lookup:
                h["key"] = "there"
            return 1
        h = HT(hash_func=first)
        try:
            %s
        except RuntimeError as e:
            print("raised:", e)
        assert h.hash_func is second
        for k in list(h):
            assert k in h, (k, list(h))        # every listed key is found
        assert ("key" in h) == ("key" in list(h))
        h["key"] = "again"
        assert list(h).count("key") == 1
        consistent(h)
    """ % (op in LOOKUP_OPS, STALE_HASH_OPS[op]))


@pytest.mark.parametrize("op", list(STALE_HASH_OPS))
def test_init_from_another_thread_while_hashing_never_files_under_a_stale_hash(child, op):
    """The hash function releases the GIL (it waits on an Event) and, in the
    meantime, another thread re-initialises the table with another hash
    function (and, for a lookup, files "key" under that one's hash). Two
    Events order the steps, so the interleaving is the same on every run.
    The key must then be findable, or the call raise RuntimeError: never
    filed (or looked up) under the old function's hash."""
    run(child, """
        op, lookup = %r, %r
        hashing, reinitialised = threading.Event(), threading.Event()
        def second(k):
            return 2
        def first(k):
            # Lets the main thread in (Event.wait releases the GIL) and
            # returns a hash of the function that was current when it began.
            hashing.set()
            assert reinitialised.wait(60), "the main thread never re-initialised"
            return 1
        h = HT(hash_func=first)
        outcome = []
        def worker():
            try:
                %s
                outcome.append("done")
            except RuntimeError as e:
                outcome.append("raised: %%s" %% e)
            except BaseException as e:
                outcome.append(e)
        t = threading.Thread(target=worker)
        t.start()
        assert hashing.wait(60), "the hash function never ran"
        h.__init__(size=7, hash_func=second)      # while first() waits
        if lookup:
            h["key"] = "there"
        reinitialised.set()
        t.join(60)
        assert not t.is_alive()
        assert len(outcome) == 1 and isinstance(outcome[0], str), outcome
        print(outcome[0])
        assert h.hash_func is second
        for k in list(h):
            assert k in h, (k, list(h))        # every listed key is found
        if op in ("set", "setitem", "setdefault") and outcome[0] == "done":
            assert h["key"] == 1, list(h.items())
        if op in ("pop", "delitem") and outcome[0] == "done":
            assert "key" not in h and "key" not in list(h), list(h.items())
        assert ("key" in h) == ("key" in list(h))
        h["key"] = "again"
        assert list(h).count("key") == 1
        consistent(h)
    """ % (op, op in LOOKUP_OPS, STALE_HASH_OPS[op]))


def test_equality_reads_a_subclass_own_entries_not_its_getitem(child):
    """A HashTable subclass whose __getitem__ answers for missing keys (as a
    defaultdict does) is unequal to a table with other keys, as dict says of
    a dict subclass with __missing__."""
    run(child, """
        class Answering(HT):
            def __getitem__(self, k):
                try:
                    return super().__getitem__(k)
                except KeyError:
                    return 0
        class D(dict):
            def __missing__(self, k):
                return 0
        a, b = HT(), Answering()
        a["x"] = 0
        b["y"] = 0
        assert ({"x": 0} == D(y=0)) is False       # dict's answer
        assert (a == b) is False and (b == a) is False
        assert (a != b) is True
        # Where the subclass's own == does not run first: HashTable's
        # __eq__ itself, and a plain subclass on the left.
        class Plain(HT):
            pass
        p = Plain()
        p["x"] = 0
        assert HT.__eq__(a, b) is False and (p == b) is False
        b2 = Answering()
        b2["x"] = 0
        assert a == b2 and b2 == a
    """)


@pytest.mark.parametrize("error", ["ValueError", "KeyboardInterrupt", "RuntimeError"])
def test_update_propagates_errors_raised_while_looking_up_keys(child, error):
    """Only AttributeError means "other has no keys method, so it is an
    iterable of pairs"; any other error raised by the lookup propagates, as
    dict.update lets it."""
    run(child, """
        class ByProperty:
            @property
            def keys(self):
                raise %(error)s("keys")
            def __iter__(self):
                return iter([(1, 2)])
        class ByGetattr:
            def __getattr__(self, name):
                raise %(error)s(name)
            def __iter__(self):
                return iter([(1, 2)])
        for other in (ByProperty(), ByGetattr()):
            for target in ({}, HT()):
                e = raises(%(error)s, target.update, other)
                assert str(e) == "keys", e
                assert len(target) == 0
        class NoKeys:
            def __getattr__(self, name):
                raise AttributeError(name)
            def __iter__(self):
                return iter([(1, 2)])
        h = HT()
        h.update(NoKeys())
        assert dict(h.items()) == {1: 2}
    """ % {"error": error})


@pytest.mark.parametrize("error", ["ValueError", "KeyboardInterrupt", "ZeroDivisionError"])
def test_max_load_float_conversion_errors_propagate(child, error):
    """An int subclass as max_load is converted with its own __float__ (Python
    code, run through the call-out guard); what it raises propagates
    unchanged. Only an int too large for a float is reworded, naming max_load."""
    run(child, """
        class I(int):
            def __float__(self):
                raise %(error)s("float")
        e = raises(%(error)s, HT, max_load=I(1))
        assert str(e) == "float", e
        class Half(int):
            def __float__(self):
                return 0.5
        assert HT(max_load=Half(1)).max_load == 0.5
        e = raises(OverflowError, HT, max_load=10**400)
        assert "max_load" in str(e), e
    """ % {"error": error})


def test_a_custom_builtins_hash_that_is_not_callable_is_refused(child):
    run(child, """
        for value in (5, None, "hash"):
            g = {"__builtins__": {"hash": value}, "HT": HT}
            e = raises(TypeError, exec, "HT()", g)
            assert "hash" in str(e) and "callable" in str(e), e
        g = {"__builtins__": {"hash": lambda k: 3}, "HT": HT}
        exec("h = HT(); h[1] = 1; h[2] = 2", g)
        assert g["h"].stats()["longest_chain"] == 2
        g = {"__builtins__": {}, "HT": HT}
        e = raises(RuntimeError, exec, "HT()", g)
        assert "hash" in str(e), e
    """)


@pytest.mark.skipif(sys.version_info >= (3, 12),
                    reason="from 3.12 on a collection never runs inside an allocation")
def test_a_fresh_iterator_reads_the_version_after_allocating(child):
    """Up to 3.11, allocating the iterator can start a collection whose
    finalizers mutate the table; the iterator must take the table's version
    after its allocation, as dict's does, so its first next() succeeds."""
    run(child, """
        def failures(container, add):
            class Mutator:
                def __init__(self):
                    self.me = self            # a cycle: only a collection frees it
                def __del__(self):
                    add(container, len(container))
            gc.collect()
            old = gc.get_threshold()
            gc.set_threshold(1)
            failed = 0
            try:
                for trial in range(100):
                    Mutator()
                    it = iter(container)
                    try:
                        next(it)
                    except RuntimeError:
                        failed += 1
            finally:
                gc.set_threshold(*old)
            return failed
        def add(c, i): c["k%d" % i] = i
        d = {"first": 0}
        h = HT()
        h["first"] = 0
        from_dict, from_table = failures(d, add), failures(h, add)
        assert from_dict == 0 and from_table == 0, (from_dict, from_table)
    """)


# ---------------------------------------------------------------------------
# Tracing
# ---------------------------------------------------------------------------

def test_long_trace_lines_keep_their_newline(ht, traced):
    """PySys_WriteStdout cuts its output at 1000 bytes, newline included: a
    trace line about a big-int key would be glued to the next one."""
    h = ht.HashTable()
    with traced("calls") as lines:
        h[10**1500] = 1
        h[2] = 2
        h.pop(10**1500)
    assert lines
    for line in lines:
        assert line.startswith(("Module: ", "Library: ")), line[:80]
        assert line.count("Module: ") + line.count("Library: ") == 1, line[:200]


# ---------------------------------------------------------------------------
# Keys whose hashes differ only in their high bits
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("shift", [32, 40, 48, 56])
def test_keys_differing_only_in_high_hash_bits_spread_over_the_buckets(ht, shift):
    """The bucket is chosen by every bit of the hash, not only the low ones:
    20,000 keys i << shift (hash(i << 32) == i << 32) do not all chain in one
    bucket. (How fast this is, against dict, is benchmarks/bench.py's job.)"""
    h = ht.HashTable()
    for i in range(20_000):
        h[i << shift] = i
    stats = h.stats()
    assert stats["longest_chain"] <= 12, stats["longest_chain"]
    assert all(h[i << shift] == i for i in range(0, 20_000, 97))


def test_small_hashes_keep_the_buckets_of_the_talks_pictures(ht):
    """Hashes in [-2**31, 2**32) go to hash mod size, as the talk's library
    put them, so the pictures in the docs stay as they were."""
    for size in (4, 8, 16, 3, 5, 7):
        for hashes in ([0, 1, 2], [5, 9, 13], [2**32 - 1, 2**31, 7], [-1, -5, -(2**31)]):
            h = ht.HashTable(size=size, max_load=10.0, hash_func=lambda k: k)
            for v in hashes:
                h[v] = v
            chains = [line.count("*") for line in repr(h).splitlines()]
            expected = [0] * size
            for v in hashes:
                expected[hash(v) % size] += 1   # (hash(-1) == -2)
            assert chains == expected, (size, hashes, chains)
