"""dict's protocol on HashTable, each point checked against what dict itself does.

The reference is always the real dict of the running interpreter: where a
message is compared, it is dict's message (with "dictionary" read as
"HashTable" where dict names itself), never a string typed here.
"""
import collections.abc
import gc
import weakref

import pytest

from conftest import hashtable

HashTable = hashtable.HashTable


def both(items=()):
    """A dict and a HashTable holding the same items."""
    d = dict(items)
    h = HashTable()
    for k, v in d.items():
        h[k] = v
    return d, h


def raised(func, *args, **kwargs):
    """The exception func(*args, **kwargs) raises (the test fails if none)."""
    with pytest.raises(Exception) as info:
        func(*args, **kwargs)
    return info.value


def as_hashtable(message):
    """dict's message with dict's name for itself read as "HashTable"."""
    return message.replace("dictionary", "HashTable").replace(" dict ", " HashTable ")


def same_error(on_dict, on_table):
    """Both calls raise the same exception type with the same message and
    notes (3.14+ adds a note naming a bad update element), up to the
    container's name."""
    expected = raised(on_dict)
    got = raised(on_table)
    assert type(got) is type(expected)
    assert str(got) == as_hashtable(str(expected)), (str(got), str(expected))
    notes = [as_hashtable(n) for n in getattr(expected, "__notes__", [])]
    assert getattr(got, "__notes__", []) == notes
    return got


# ---------------------------------------------------------------------------
# The basic protocol
# ---------------------------------------------------------------------------

def test_subscript_len_contains_bool_iter_like_dict():
    d, h = both({1: "a", "two": 2, 3.5: None})
    assert len(h) == len(d) == 3
    assert bool(h) and not bool(HashTable())
    for k in d:
        assert h[k] is d[k]
        assert k in h
    assert "missing" not in h and 99 not in h
    assert sorted(map(repr, iter(h))) == sorted(map(repr, iter(d)))
    h["two"] = d["two"] = "replaced"
    assert h["two"] == "replaced" and len(h) == 3
    del h[1], d[1]
    assert 1 not in h and len(h) == len(d) == 2


@pytest.mark.parametrize("key", [0, "nope", 2.5, 2**80, -(2**64)])
def test_missing_key_errors_are_dicts(key):
    d, h = both({1: 1})
    for op in (lambda m: m[key], lambda m: m.__delitem__(key), lambda m: m.pop(key)):
        expected = raised(op, d)
        got = raised(op, h)
        assert type(got) is type(expected) is KeyError
        assert got.args == expected.args == (key,)


def test_popitem_on_empty_raises_key_error_as_dict():
    expected = raised({}.popitem)
    got = raised(HashTable().popitem)
    assert type(got) is type(expected) is KeyError
    assert "popitem" in str(got) and "empty" in str(got)


def test_popitem_empties_the_table_returning_every_pair_once():
    d, h = both({i: str(i) for i in range(20)})
    popped = {}
    while h:
        k, v = h.popitem()
        assert k not in popped
        popped[k] = v
    assert popped == d
    assert len(h) == 0 and h.load == 0


def test_get_setdefault_like_dict():
    d, h = both({1: "one"})
    assert h.get(1) == d.get(1)
    assert h.get(2) is d.get(2) is None
    assert h.get(2, "x") == d.get(2, "x")
    assert h.setdefault(1, "other") == d.setdefault(1, "other") == "one"
    assert h.setdefault(2) is d.setdefault(2) is None
    marker = object()
    assert h.setdefault(3, marker) is d.setdefault(3, marker) is marker
    assert h == d


def test_views_behave_like_dicts_for_len_in_iteration():
    d, h = both({1: "a", "b": 2.0, 3.25: [3]})
    for view_name in ("keys", "values", "items"):
        dv, hv = getattr(d, view_name)(), getattr(h, view_name)()
        assert len(hv) == len(dv)
        assert sorted(map(repr, hv)) == sorted(map(repr, dv))
        for element in dv:
            assert element in hv
        assert repr(hv).startswith("hashtable_" + view_name + "(")
    assert (1, "a") in h.items() and (1, "b") not in h.items() and 1 not in h.items()
    assert [3] in h.values() and "zz" not in h.values()
    assert "b" in h.keys() and "zz" not in h.keys()
    # Views are live, as dict's are.
    keys = h.keys()
    h["new"] = 1
    assert len(keys) == 4 and "new" in keys


def test_copy_has_same_size_max_load_hash_func_and_is_independent():
    def hf(key):
        return 3

    h = HashTable(size=16, max_load=0.75, hash_func=hf)
    for i in range(5):
        h[i] = [i]
    c = h.copy()
    assert type(c) is HashTable
    assert (c.size, c.max_load, c.hash_func, c.load) == (h.size, h.max_load, h.hash_func, h.load)
    assert repr(c) == repr(h)
    assert c == h
    c[99] = 1
    del c[0]
    assert 99 not in h and 0 in h
    assert c[1] is h[1]  # a shallow copy, like dict.copy


def test_clear_goes_back_to_the_initial_size():
    h = HashTable(size=2)
    for i in range(40):
        h[i] = i
    assert h.size > 2
    assert h.clear() is None
    assert (len(h), h.load, h.size) == (0, 0, 2)
    h[1] = 1
    assert h[1] == 1


# ---------------------------------------------------------------------------
# update
# ---------------------------------------------------------------------------

class KeysOnly:
    """Not a Mapping, but has keys() and __getitem__: dict.update accepts it."""

    def keys(self):
        return ["k1", "k2"]

    def __getitem__(self, key):
        return key.upper()


class ReadOnlyMapping(collections.abc.Mapping):
    def __init__(self, data):
        self._data = dict(data)

    def __getitem__(self, key):
        return self._data[key]

    def __iter__(self):
        return iter(self._data)

    def __len__(self):
        return len(self._data)


@pytest.mark.parametrize("args, kwargs", [
    (({1: "a", "b": 2},), {}),
    (([(1, "a"), ("b", 2)],), {}),
    ((((k, v) for k, v in [(1, "a"), (2.5, "c")]),), {}),
    (([[1, "x"], "ab"],), {}),          # any 2-sequence is a pair, as for dict
    ((), {"x": 1, "y": 2}),
    (({1: "a"},), {"x": 1}),
    (([("x", "from pairs")],), {"x": "from kwargs"}),   # kwargs win
    ((KeysOnly(),), {}),
    ((ReadOnlyMapping({"m": 1, 7: 8}),), {}),
    ((), {}),
])
def test_update_forms_like_dict(args, kwargs):
    d, h = both({1: "old", "keep": 0})
    # Generators are single-use: give each side its own materialised copy.
    args_d = tuple(list(a) if not hasattr(a, "keys") and not isinstance(a, dict) else a for a in args)
    assert h.update(*args_d, **kwargs) is None
    d.update(*args_d, **kwargs)
    assert h == d and dict(h.items()) == d


def test_update_from_a_hashtable_and_from_itself():
    d, h = both({1: 1, 2: 2})
    other = HashTable()
    other["o"] = "o"
    h.update(other)
    d.update({"o": "o"})
    assert h == d
    h.update(h)
    assert h == d


@pytest.mark.parametrize("bad", [
    (1,),                 # not iterable
    ([1],),               # element not a sequence
    ([(1, 2, 3)],),       # wrong length
    (["abc"],),           # a str of length 3
    ({}, {}),             # too many arguments
])
def test_update_errors_like_dict(bad):
    same_error(lambda: {}.update(*bad), lambda: HashTable().update(*bad))


def test_update_stops_at_the_first_bad_key_keeping_earlier_ones():
    d, h = both()
    expected = raised(d.update, [(1, "a"), ([2], "bad"), (3, "c")])
    got = raised(h.update, [(1, "a"), ([2], "bad"), (3, "c")])
    assert type(got) is type(expected) is TypeError
    assert str(got) == as_hashtable(str(expected))
    assert h == d == {1: "a"}


# ---------------------------------------------------------------------------
# fromkeys and subclasses
# ---------------------------------------------------------------------------

class Sub(HashTable):
    pass


class SubWithInit(HashTable):
    def __init__(self, size=8, hash_func=None):
        super().__init__(size=size, hash_func=hash_func)
        self.note = "initialised"


def test_fromkeys_like_dict():
    keys = [1, "a", 2.5, 1]
    h = HashTable.fromkeys(keys)
    assert type(h) is HashTable
    assert h == dict.fromkeys(keys)
    marker = object()
    h = HashTable.fromkeys(iter(keys), marker)
    assert h == dict.fromkeys(keys, marker) and h["a"] is marker
    same_error(lambda: dict.fromkeys(1), lambda: HashTable.fromkeys(1))


@pytest.mark.parametrize("cls", [Sub, SubWithInit])
def test_fromkeys_on_a_subclass_returns_the_subclass(cls):
    h = cls.fromkeys("abc", 0)
    assert type(h) is cls
    assert h == dict.fromkeys("abc", 0)
    if cls is SubWithInit:
        assert h.note == "initialised" and h.hash_func is None and h.size == 8


def test_a_dict_subclass_and_a_hashtable_subclass_agree():
    class DSub(dict):
        pass

    assert type(DSub.fromkeys([1])) is DSub and type(Sub.fromkeys([1])) is Sub


def test_subclass_instance_attributes_and_methods():
    s = SubWithInit()
    s["k"] = 1
    s.extra = [1, 2]
    assert isinstance(s, HashTable) and isinstance(s, collections.abc.MutableMapping)
    assert s == {"k": 1} and s.extra == [1, 2]
    assert type(s.copy()) is HashTable  # as dict.copy on a dict subclass


@pytest.mark.parametrize("through", ["attribute", "value", "hash_func", "attribute and value"])
def test_subclass_cycle_is_collected(through):
    """A cycle through a subclass attribute, a stored value, or the hash
    function: gc.collect() frees it (traverse visits, clear breaks, dealloc
    frees; a missed visit leaves the weakref alive)."""
    gc.collect()

    class Holder:
        pass

    s = Sub(hash_func=(lambda key, _s=None: 0) if through != "hash_func" else None)
    if through == "hash_func":
        holder = Holder()
        holder.table = s

        def hash_func(key, holder=holder):
            return 1

        s.__init__(hash_func=hash_func)
    if "attribute" in through:
        s.me = s
    if "value" in through:
        s["self"] = s
        s[2] = [s]
    ref = weakref.ref(s)
    del s
    if through == "hash_func":
        del holder, hash_func
    assert ref() is not None  # only the cycle keeps it alive
    gc.collect()
    assert ref() is None


def test_subclass_deallocates_without_gc_when_no_cycle():
    finalized = []

    class Value:
        def __del__(self):
            finalized.append(True)

    s = Sub()
    s[1] = Value()
    s.attr = Value()
    ref = weakref.ref(s)
    del s
    assert ref() is None and finalized == [True, True]


def test_subclass_with_slots_and_cycle():
    class Slotted(HashTable):
        __slots__ = ("other",)

    a, b = Slotted(), Slotted()
    a.other, b.other = b, a
    a[1] = b
    gc.collect()
    # A slots class without __weakref__: count live instances via gc instead.
    del a, b
    gc.collect()
    assert not [o for o in gc.get_objects() if type(o) is Slotted]


# ---------------------------------------------------------------------------
# Mutation during iteration
# ---------------------------------------------------------------------------

def _iterators(m):
    return {
        "iter": lambda: iter(m),
        "keys": lambda: iter(m.keys()),
        "values": lambda: iter(m.values()),
        "items": lambda: iter(m.items()),
    }


MUTATIONS = {
    "add": lambda m: m.__setitem__("new key", 1),
    "delete": lambda m: m.__delitem__(0),
    "pop": lambda m: m.pop(1),
    "popitem": lambda m: m.popitem(),
    "clear": lambda m: m.clear(),
    "update": lambda m: m.update({"a": 1, "b": 2}),
    "setdefault new": lambda m: m.setdefault("fresh"),
}


@pytest.mark.parametrize("iterator", ["iter", "keys", "values", "items"])
@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_mutation_during_iteration_raises_runtime_error_like_dict(iterator, mutation):
    d, h = both({i: i for i in range(10)})
    results = []
    for m in (d, h):
        it = _iterators(m)[iterator]()
        next(it)
        MUTATIONS[mutation](m)
        results.append(raised(next, it))
    expected, got = results
    assert type(got) is type(expected) is RuntimeError
    assert str(got) == "HashTable changed size during iteration"
    # The iterator is finished after the error, as dict's is.
    it_after = _iterators(h)[iterator]()
    list(it_after)


@pytest.mark.parametrize("iterator", ["iter", "keys", "values", "items"])
def test_overwriting_values_during_iteration_is_allowed_like_dict(iterator):
    d, h = both({i: i for i in range(10)})
    seen = {}
    for m, out in ((d, []), (h, [])):
        for element in _iterators(m)[iterator]():
            m[3] = "overwritten"
            out.append(element)
        seen[m is h] = out
    assert len(seen[True]) == len(seen[False]) == 10


def test_iterator_exhausted_stays_exhausted():
    h = HashTable()
    h[1] = 1
    it = iter(h)
    assert list(it) == [1]
    h[2] = 2
    assert list(it) == []  # as a dict iterator: no error once exhausted


# ---------------------------------------------------------------------------
# Key types
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("key", [(1, 2), b"bytes", None, frozenset({1}), object(), 1j,
                                 range(3), hashtable.naive_hash, ("a", (1, 2.5))])
def test_any_hashable_key_works_as_in_dict(key):
    d, h = both()
    for m in (d, h):
        assert key not in m and m.get(key, "d") == "d" and m.pop(key, 0) == 0
        m[key] = 1
        assert m.setdefault(key, 2) == 1
        m.update([(key, 3)])
    assert list(h.items()) == list(d.items()) == [(key, 3)]
    assert next(iter(h)) is key
    assert dict(HashTable.fromkeys([key], 5).items()) == dict.fromkeys([key], 5)
    del h[key]
    assert len(h) == 0 and key not in h.keys()


@pytest.mark.parametrize("key", [[1], {1: 2}, {1}, bytearray(b"x"), HashTable()])
def test_unhashable_keys_get_dicts_message(key):
    h = HashTable()
    for op_d, op_h in ((lambda: {}[key], lambda: h[key]),
                       (lambda: {}.__setitem__(key, 1), lambda: h.__setitem__(key, 1)),
                       (lambda: key in {}, lambda: key in h),
                       (lambda: {}.get(key), lambda: h.get(key))):
        expected = raised(op_d)
        got = raised(op_h)
        assert type(got) is type(expected) is TypeError
        # Up to 3.13 the hash's own message; from 3.14 on dict's "cannot use
        # 'T' as a dict key (...)", where the table says "HashTable key".
        assert str(got) == as_hashtable(str(expected))


def test_hashtable_itself_is_unhashable_like_dict():
    expected = raised(hash, {})
    got = raised(hash, HashTable())
    assert type(got) is type(expected) is TypeError
    # The interpreter names a static type by its tp_name, as for any error it raises.
    assert str(got) == str(expected).replace("'dict'", "'hashtable.HashTable'")


# ---------------------------------------------------------------------------
# == and !=
# ---------------------------------------------------------------------------

def test_registered_as_mutable_mapping():
    assert issubclass(HashTable, collections.abc.MutableMapping)
    assert isinstance(HashTable(), collections.abc.Mapping)
    assert not isinstance(HashTable(), collections.abc.Sequence)


def test_equality_against_dict():
    d, h = both({1: "a", "b": [2], 2.5: None})
    assert h == d and d == h and not (h != d) and not (d != h)
    assert h != {1: "a"} and {1: "a"} != h
    assert h != {1: "a", "b": [2], 2.5: "other"}
    assert h != {1: "a", "b": [2], 3.5: None}  # same length, another key
    assert HashTable() == {} and not (HashTable() != {})


def test_equality_against_hashtables_with_other_hash_funcs():
    a = HashTable(hash_func=None)
    b = HashTable(size=64, hash_func=lambda key: 0)
    for k in (1, "x", 2.5):
        a[k] = b[k] = str(k)
    assert a == b and b == a and not (a != b)
    b["x"] = "changed"
    assert a != b and not (a == b)


def test_equality_against_a_custom_mapping():
    d, h = both({1: "a", "b": 2})
    assert h == ReadOnlyMapping(d) and ReadOnlyMapping(d) == h
    assert h != ReadOnlyMapping({1: "a"})
    assert not (h == ReadOnlyMapping({1: "a", "b": 3}))


def test_equality_uses_value_eq_like_dict():
    nan = float("nan")
    d, h = both({1: nan})
    # Identity first, as dict (PyObject_RichCompareBool): same NaN object is equal.
    assert (h == {1: nan}) == (d == {1: nan}) == True  # noqa: E712
    assert (h == {1: float("nan")}) == (d == {1: float("nan")}) == False  # noqa: E712


@pytest.mark.parametrize("other", [[(1, "a")], {1}, 1, None, "a", (1,), object()])
def test_equality_against_non_mappings_is_false_as_for_dict(other):
    d, h = both({1: "a"})
    assert (h == other) is (d == other) is False
    assert (h != other) is (d != other) is True


def test_ordering_is_not_supported_like_dict():
    expected = raised(lambda: {} < {})
    got = raised(lambda: HashTable() < HashTable())
    assert type(got) is type(expected) is TypeError
    assert str(got) == str(expected).replace("'dict'", "'hashtable.HashTable'")


def test_equality_against_dict_subclasses_reads_the_dict_itself_like_dict():
    """dict's == reads the other dict's own entries: a Counter or defaultdict
    answers, or even inserts, for a missing key through __missing__, and
    must not be taken at its word."""
    d, h = both({"a": 0, "b": 0})
    others = [collections.Counter({"a": 0, "c": 0}),
              collections.defaultdict(int, a=0, c=0),
              collections.Counter({"a": 0, "b": 0})]
    for other in others:
        before = dict(other)
        assert (h == other) is (d == other)
        assert (h != other) is (d != other)
        assert dict(other) == before, "== changed the other mapping"


def test_equality_against_a_mapping_with_a_getitem_fallback():
    class Fallback(collections.UserDict):
        def __missing__(self, key):
            return 0
    d, h = both({"a": 0, "b": 0})
    other = Fallback(a=0, c=0)
    assert (h == other) is (d == other) is False


def test_update_lets_non_type_errors_of_a_pair_through():
    class Pair:
        def __iter__(self):
            raise KeyboardInterrupt
    for target in ({}, HashTable()):
        with pytest.raises(KeyboardInterrupt):
            target.update([Pair()])


def test_view_repr_of_a_view_inside_itself_like_dict():
    d, h = both()
    d[1] = d.values()
    h[1] = h.values()
    assert repr(h.values()) == repr(d.values()).replace("dict_values", "hashtable_values")


def test_iteration_says_what_changed_like_dict():
    """Another length: "changed size". The same length with other keys:
    "keys changed", where dict notices it (a HashTable always does)."""
    for m, name in zip(both({1: 1, 2: 2}), ("dictionary", "HashTable")):
        it = iter(m)
        next(it)
        del m[1]
        m[3] = 3
        with pytest.raises(RuntimeError) as same_size:
            list(it)
        it = iter(m)
        m[4] = 4
        with pytest.raises(RuntimeError) as other_size:
            next(it)
        assert str(same_size.value) == name + " keys changed during iteration"
        assert str(other_size.value) == name + " changed size during iteration"
