"""The rest of dict's protocol, each point compared with dict on the same
operations: views that are sets, reversed(), |, |=, construction from data,
pickle and copy, iterators' __length_hint__ and pickling, __sizeof__,
__class_getitem__, __missing__, and fromkeys on a subclass."""
import collections.abc
import copy
import operator
import pickle
import sys
import types

import pytest

import hashtable
from hashtable import HashTable

from conftest import KeysGive

DATA = [("a", 1), ("b", 2), (3, "c"), (4.5, None)]


def both(data=DATA):
    return dict(data), HashTable(data)


def outcome(call):
    """What a call gives: ("ok", result) or ("raised", type, message), the
    message with dict's type names put in HashTable's terms."""
    try:
        return ("ok", call())
    except Exception as e:  # noqa: BLE001 - any outcome is compared
        text = str(e).replace("hashtable.hashtable_", "hashtable_")
        for theirs, ours in [("dict_keys", "hashtable_keys"), ("dict_items", "hashtable_items"),
                             ("dict_values", "hashtable_values"), ("dictionary", "HashTable"),
                             ("'dict'", "'hashtable.HashTable'"),
                             # 3.14+: "cannot use 'list' as a dict key (...)"
                             (" as a dict key ", " as a HashTable key ")]:
            text = text.replace(theirs, ours)
        return ("raised", type(e), text)


def same(dict_call, table_call):
    expected, got = outcome(dict_call), outcome(table_call)
    assert got == expected
    return got


# ---------------------------------------------------------------------------
# Views: comparisons, set operations, isdisjoint, ABCs, .mapping, hash
# ---------------------------------------------------------------------------

OPS = [operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge]

# Things a view may be compared with, made from the dict (so that a dict's
# view of the same data is among them).
OTHERS = {
    "equal set": lambda d, view: set(view(d)),
    "subset": lambda d, view: set(list(view(d))[:2]),
    "superset": lambda d, view: set(view(d)) | {("zz", 0)},
    "disjoint frozenset": lambda d, view: frozenset({"nope"}),
    "dict's view": lambda d, view: view(d),
    "dict's smaller view": lambda d, view: view(dict(list(d.items())[:1])),
    "list": lambda d, view: list(view(d)),
    "None": lambda d, view: None,
}

KEYS_ITEMS = {"keys": lambda m: m.keys(), "items": lambda m: m.items()}


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.__name__)
@pytest.mark.parametrize("other", OTHERS)
@pytest.mark.parametrize("view", KEYS_ITEMS)
def test_views_compare_as_dicts_do(view, other, op):
    d, h = both()
    make = KEYS_ITEMS[view]
    theirs = OTHERS[other](d, make)
    same(lambda: op(make(d), theirs), lambda: op(make(h), theirs))
    same(lambda: op(theirs, make(d)), lambda: op(theirs, make(h)))


def test_views_compare_with_views_of_the_same_kind():
    d, h = both()
    assert h.keys() == h.keys() and h.items() == h.items()
    assert h.keys() == d.keys() and d.keys() == h.keys()
    assert h.items() == d.items() and d.items() == h.items()
    assert HashTable(DATA[:2]).keys() < h.keys() and not h.keys() < h.keys()
    assert h.keys() != h.items()
    # The values view compares by identity, as dict's.
    assert (h.values() == h.values()) == (d.values() == d.values()) is False
    v = h.values()
    assert v == v


SET_OPS = [operator.and_, operator.or_, operator.sub, operator.xor]

OPERANDS = {
    "set": lambda d, view: {"a", ("a", 1), "x", ("x", 0)},
    "list": lambda d, view: ["a", ("a", 1), "x", ("x", 0), "a"],
    "tuple of keys": lambda d, view: tuple(d),
    "dict's view": lambda d, view: view(d),
    "a dict": lambda d, view: {"a": 0, "y": 1},
    "generator": lambda d, view: (k for k in ["a", "y"]),
    "int": lambda d, view: 5,
    "unhashable items": lambda d, view: [["a"]],
}


@pytest.mark.parametrize("op", SET_OPS, ids=lambda op: op.__name__)
@pytest.mark.parametrize("operand", OPERANDS)
@pytest.mark.parametrize("view", KEYS_ITEMS)
def test_view_set_operations_as_dicts(view, operand, op):
    d, h = both()
    make = KEYS_ITEMS[view]
    r = same(lambda: op(make(d), OPERANDS[operand](d, make)),
             lambda: op(make(h), OPERANDS[operand](d, make)))
    if r[0] == "ok":
        assert type(r[1]) is set
    same(lambda: op(OPERANDS[operand](d, make), make(d)),
         lambda: op(OPERANDS[operand](d, make), make(h)))


@pytest.mark.parametrize("view", KEYS_ITEMS)
def test_view_with_view_set_operations(view):
    d, h = both()
    e, g = both(DATA[1:] + [("new", 0)])
    make = KEYS_ITEMS[view]
    for op in SET_OPS:
        assert op(make(h), make(g)) == op(make(d), make(e))
        assert op(make(h), make(e)) == op(make(d), make(e))
        assert op(make(e), make(h)) == op(make(e), make(d))


@pytest.mark.parametrize("operand", ["set", "list", "dict's view", "int", "unhashable items"])
@pytest.mark.parametrize("view", KEYS_ITEMS)
def test_isdisjoint_as_dicts(view, operand):
    d, h = both()
    make = KEYS_ITEMS[view]
    same(lambda: make(d).isdisjoint(OPERANDS[operand](d, make)),
         lambda: make(h).isdisjoint(OPERANDS[operand](d, make)))
    k = make(h)
    assert k.isdisjoint(k) is False
    assert make(HashTable()).isdisjoint(make(HashTable())) is True
    assert k.isdisjoint(["never"]) is True


def test_views_are_registered_with_collections_abc():
    d, h = both()
    for view, abc in [(h.keys(), collections.abc.KeysView),
                      (h.values(), collections.abc.ValuesView),
                      (h.items(), collections.abc.ItemsView)]:
        assert isinstance(view, abc)
    assert isinstance(h.keys(), collections.abc.Set)
    assert not isinstance(h.values(), collections.abc.Set)


def test_views_hash_as_dicts():
    d, h = both()
    same(lambda: hash(d.keys()), lambda: hash(h.keys()))
    same(lambda: hash(d.items()), lambda: hash(h.items()))
    v, dv = h.values(), d.values()
    assert hash(v) == object.__hash__(v) and hash(dv) == object.__hash__(dv)


def test_view_mapping_is_a_read_only_live_proxy():
    d, h = both()
    for view in (h.keys(), h.values(), h.items()):
        proxy = view.mapping
        assert type(proxy) is types.MappingProxyType
        assert proxy == d
        h["late"] = 1
        assert proxy["late"] == 1
        del h["late"]
        with pytest.raises(TypeError):
            proxy["x"] = 1  # type: ignore[index]


# ---------------------------------------------------------------------------
# reversed()
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("make", [lambda m: m, lambda m: m.keys(), lambda m: m.values(),
                                  lambda m: m.items()], ids=["table", "keys", "values", "items"])
def test_reversed_as_dicts(make):
    d, h = both()
    del d["b"], h["b"]
    d["b"] = h["b"] = 7
    assert list(reversed(make(h))) == list(reversed(make(d)))
    assert list(reversed(make(HashTable()))) == []
    it = reversed(make(h))
    next(it)
    h["new"] = 1
    with pytest.raises(RuntimeError, match="changed size during iteration"):
        next(it)


# ---------------------------------------------------------------------------
# |, |=
# ---------------------------------------------------------------------------

def test_or_as_dicts():
    d, h = both()
    other = {"b": 20, "new": 30}
    assert list((h | other).items()) == list((d | other).items())
    assert list((other | h).items()) == list((other | d).items())
    assert list((h | HashTable(other)).items()) == list((d | other).items())
    assert type(h | other) is HashTable and type(other | h) is HashTable
    assert list(h.items()) == list(d.items())  # unchanged


def test_or_keeps_the_tables_parameters():
    h = HashTable([(1, 1)], size=16, max_load=0.75, hash_func=None)
    for result in (h | {2: 2}, {2: 2} | h):
        assert (result.size, result.max_load, result.hash_func) == (16, 0.75, None)


@pytest.mark.parametrize("other", [1, [("x", 1)], None, "ab"])
def test_or_errors_as_dicts(other):
    d, h = both()
    expected = outcome(lambda: d | other)
    got = outcome(lambda: h | other)
    assert got[:2] == expected[:2]
    assert got == ("raised", TypeError,
                   f"unsupported operand type(s) for |: 'hashtable.HashTable' and "
                   f"'{type(other).__name__}'")
    assert outcome(lambda: other | h)[:2] == outcome(lambda: other | d)[:2]


@pytest.mark.parametrize("other", [{"b": 9, "z": 1}, [("z", 1), ("a", 0)], HashTable([("q", 1)]),
                                   1, [1], [(1, 2, 3)], None])
def test_inplace_or_as_dicts(other):
    d, h = both()
    before = h

    def ior(m):
        m |= other
        return m

    r = same(lambda: list(ior(d).items()), lambda: list(ior(h).items()))
    if r[0] == "ok":
        h2 = HashTable(DATA)
        h2 |= other
        assert h2 is not None
    assert before is h


# ---------------------------------------------------------------------------
# Construction from data; keywords
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("data", [
    {"a": 1, "b": 2},
    [("a", 1), ("b", 2), ("a", 3)],
    iter([(1, 2)]),
    "",
    ["ab", "cd"],
    [[1, 2]],
    collections.OrderedDict([(2, 1), (1, 2)]),
    types.MappingProxyType({"m": 1}),
    # Errors: dict's types and messages.
    [1],
    [(1, 2, 3)],
    ["abc"],
    None,
    2.5,
    [([], 1)],
])
def test_construction_from_data_as_dict(data):
    if isinstance(data, type(iter([]))):
        items = list(data)
        same(lambda: list(dict(iter(items)).items()), lambda: list(HashTable(iter(items)).items()))
        return
    same(lambda: list(dict(data).items()), lambda: list(HashTable(data).items()))


def test_construction_from_a_hashtable_keeps_order():
    h = HashTable(DATA)
    assert list(HashTable(h).items()) == DATA


def test_an_int_positional_stays_the_talks_size():
    assert HashTable(16).size == 16
    assert len(HashTable(16)) == 0
    assert HashTable(8, 2.0, None).max_load == 2.0
    h = HashTable({"a": 1}, size=32, max_load=0.75, hash_func=None)
    assert (h.size, h.max_load, h.hash_func, dict(h)) == (32, 0.75, None, {"a": 1})


def test_data_takes_the_numbers_as_keywords_only():
    with pytest.raises(TypeError, match="keywords then"):
        HashTable({"a": 1}, 8)


def test_unknown_keyword_names_the_accepted_ones():
    with pytest.raises(TypeError, match="unexpected keyword argument 'bucket_count'; "
                                        "it takes size, max_load and hash_func"):
        HashTable(bucket_count=4)
    with pytest.raises(TypeError, match="keywords must be strings"):
        HashTable(**{1: 2})


def test_update_refuses_non_string_keywords_as_dict():
    d, h = both()
    same(lambda: d.update(**{1: 2}), lambda: h.update(**{1: 2}))
    assert dict(h) == dict(DATA)  # nothing was set


class IterRaises:
    def __iter__(self):
        raise ValueError("no iterating me")


class IterNotAnIterator:
    def __iter__(self):
        return 5


@pytest.mark.parametrize("keys", [5, None, IterRaises(), IterNotAnIterator(), ["a", "b"]],
                         ids=["int", "None", "__iter__ raises", "__iter__ gives an int", "list"])
def test_a_mapping_whose_keys_are_not_iterable_as_dict(keys):
    mapping = KeysGive(keys)

    def inplace(m):
        m |= mapping
        return m

    for on_dict, on_table in [(lambda: dict(mapping), lambda: HashTable(mapping)),
                              (lambda: {}.update(mapping), lambda: HashTable().update(mapping)),
                              (lambda: inplace({}), lambda: inplace(HashTable()))]:
        expected, got = outcome(on_dict), outcome(lambda: dict(on_table() or {}))
        if expected[0] == "ok":
            expected = ("ok", dict(expected[1] or {}))
        assert got == expected


# ---------------------------------------------------------------------------
# pickle, copy, deepcopy
# ---------------------------------------------------------------------------

def module_level_hash(key):
    return hash(key) // 3


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
@pytest.mark.parametrize("hash_func", [hash, None, module_level_hash])
def test_pickle_keeps_contents_order_size_max_load_and_hash_func(protocol, hash_func):
    h = HashTable(size=2, max_load=0.75, hash_func=hash_func)
    for k, v in DATA + [("x", [1, 2])]:
        h[k] = v
    del h["a"]
    h["a"] = "again"
    h2 = pickle.loads(pickle.dumps(h, protocol))
    assert list(h2.items()) == list(h.items())
    assert (h2.size, h2.max_load, h2.hash_func) == (h.size, h.max_load, h.hash_func)
    # clear() starts over at the size __init__ was given, in both.
    h.clear(), h2.clear()
    assert h2.size == h.size == 2


def test_pickle_of_an_unpicklable_hash_func_is_pickles_own_error():
    f = lambda key: 1  # noqa: E731
    h = HashTable(hash_func=f)
    with pytest.raises(Exception) as direct:
        pickle.dumps(f)
    with pytest.raises(type(direct.value)) as ours:
        pickle.dumps(h)
    assert "lambda" in str(ours.value)


def test_copy_and_deepcopy():
    h = HashTable([("k", [1]), ("j", 2)], size=16, max_load=0.75, hash_func=None)
    shallow, deep = copy.copy(h), copy.deepcopy(h)
    for c in (shallow, deep):
        assert type(c) is HashTable
        assert list(c.items()) == list(h.items())
        assert (c.size, c.max_load, c.hash_func) == (16, 0.75, None)
    assert shallow["k"] is h["k"]
    assert deep["k"] is not h["k"] and deep["k"] == h["k"]


def test_a_table_holding_itself_survives_pickle_and_deepcopy():
    h = HashTable()
    h["me"] = h
    for c in (pickle.loads(pickle.dumps(h)), copy.deepcopy(h)):
        assert c["me"] is c


class Sub(HashTable):
    def __init__(self, needed, **kw):
        super().__init__(**kw)
        self.needed = needed


def test_a_subclass_pickles_with_its_attributes_without_calling_init():
    s = Sub("yes", size=8, max_load=0.75, hash_func=None)
    s["a"] = 1
    s.extra = [1]
    for c in (pickle.loads(pickle.dumps(s)), copy.copy(s), copy.deepcopy(s)):
        assert type(c) is Sub
        assert (c.needed, c.extra, dict(c), c.size) == ("yes", [1], {"a": 1}, 8)
        assert (c.max_load, c.hash_func) == (0.75, None)


# The same class bodies on dict and on HashTable, compared through pickle
# (every protocol), copy.copy and copy.deepcopy. Each pair is made by
# subclasses() and named at module level, where pickle finds classes.
SETITEM_CALLS = []


def _log_setitem(self, key, value):
    SETITEM_CALLS.append((key, "<self>" if value is self else
                          "<another>" if isinstance(value, (dict, HashTable)) else value))
    type(self).__mro__[-2].__setitem__(self, key, value)  # dict's or HashTable's


def _own_getstate(self):
    return {"x": self.x, "length then": len(self)}


def _own_setstate(self, state):
    # len(self) shows whether the pairs came before the state (pickle) or
    # after it (copy), as for dict.
    self.restored = (state, len(self))


def _setstate_only(self, state):
    self.got = state


def _getstate_slots(self):
    return (None, {"a": self.a, "seen": len(self)})


SUBCLASS_BODIES = {
    "slots": {"__slots__": ("a", "b")},
    "slots and __dict__": {"__slots__": ("a", "__dict__")},
    "__dict__": {},
    "own __getstate__ and __setstate__": {"__getstate__": _own_getstate,
                                          "__setstate__": _own_setstate},
    "own __getstate__ only": {"__getstate__": _own_getstate},
    "own __setstate__ only": {"__setstate__": _setstate_only},
    "slots, own __getstate__": {"__slots__": ("a", "seen"), "__getstate__": _getstate_slots},
    "own __setitem__": {"__setitem__": _log_setitem},
}


def subclasses(name):
    """(the dict subclass, the HashTable subclass) with SUBCLASS_BODIES[name]."""
    pair = []
    for base in (dict, HashTable):
        cls_name = "_%s_%s" % ("".join(c if c.isalnum() else "_" for c in name), base.__name__)
        if cls_name not in globals():
            cls = type(cls_name, (base,), dict(SUBCLASS_BODIES[name]))
            cls.__module__ = __name__
            globals()[cls_name] = cls
        pair.append(globals()[cls_name])
    return pair


def filled(cls, holding_itself=True):
    obj = cls()
    for k, v in DATA:
        obj[k] = v
    if holding_itself:
        obj["me"] = obj
    for attr, value in [("a", [1, 2]), ("x", ["x"]), ("extra", {"e": 1})]:
        try:
            setattr(obj, attr, value)
        except AttributeError:  # not a slot, and no __dict__
            pass
    return obj


def picture(original, obj):
    """What a copy holds, in terms that do not depend on the base class: its
    class's name without the base's, its pairs (itself as "<self>", the
    original as "<the original>"), its
    slots and __dict__, and whether each attribute is the original's."""
    base = type(obj).__mro__[-2] if isinstance(obj, (dict, HashTable)) else object
    name = type(obj).__name__
    items = [(k, "<self>" if v is obj else "<the original>" if v is original else v)
             for k, v in obj.items()]
    attrs = {}
    for cls in type(obj).__mro__:
        for slot in cls.__dict__.get("__slots__", ()):
            if slot != "__dict__" and hasattr(obj, slot):
                attrs[slot] = getattr(obj, slot)
    attrs.update(getattr(obj, "__dict__", {}))
    same_objects = sorted(a for a, v in attrs.items()
                          if v is getattr(original, a, None) and not isinstance(v, (int, str)))
    return (name[:-len(base.__name__)] if name.endswith(base.__name__) else name, items, attrs,
            same_objects)


COPIERS = {"copy.copy": copy.copy, "copy.deepcopy": copy.deepcopy}
COPIERS.update(("pickle protocol %d" % p, lambda obj, p=p: pickle.loads(pickle.dumps(obj, p)))
               for p in range(pickle.HIGHEST_PROTOCOL + 1))


OLD_PROTOCOLS = ("pickle protocol 0", "pickle protocol 1")


@pytest.mark.parametrize("copier", COPIERS)
@pytest.mark.parametrize("body", SUBCLASS_BODIES)
def test_a_subclass_pickles_and_copies_as_a_dict_subclass(body, copier):
    dict_cls, table_cls = subclasses(body)
    # copyreg's reduction of a dict subclass for protocols 0 and 1 puts the
    # pairs in the arguments of its constructor, which cannot hold the object
    # itself (RecursionError); HashTable's can (tested below).
    holding_itself = copier not in OLD_PROTOCOLS

    def result(cls, copier):
        original = filled(cls, holding_itself)
        SETITEM_CALLS.clear()
        got = outcome(lambda: picture(original, COPIERS[copier](original)))
        calls = list(SETITEM_CALLS)
        SETITEM_CALLS.clear()
        return got, calls

    expected, got = result(dict_cls, copier), result(table_cls, copier)
    if copier in OLD_PROTOCOLS and "slots" in body and "__getstate__" not in body:
        # That reduction cannot save slots either (TypeError).
        assert expected[0][:2] == ("raised", TypeError) and "__slots__" in expected[0][2]
        expected = result(dict_cls, "pickle protocol 2")
    elif copier in OLD_PROTOCOLS and body == "own __setitem__":
        # And it sets the pairs with dict.__init__, not the class's __setitem__.
        assert expected[1] == []
        expected = result(dict_cls, "pickle protocol 2")
    assert got == expected
    assert got[0][0] == "ok"


@pytest.mark.parametrize("copier", COPIERS)
@pytest.mark.parametrize("body", SUBCLASS_BODIES)
def test_a_subclass_holding_itself_comes_back_holding_itself(body, copier):
    original = filled(subclasses(body)[1])
    c = COPIERS[copier](original)
    SETITEM_CALLS.clear()  # what an own __setitem__ logged (a list that would grow)
    assert c["me"] is (original if copier == "copy.copy" else c)
    assert list(c.keys()) == list(original.keys())


@pytest.mark.parametrize("copier", COPIERS)
def test_a_subclass_keeps_the_tables_parameters(copier):
    table_cls = subclasses("slots")[1]
    original = table_cls(size=2, max_load=0.75, hash_func=module_level_hash)
    for k, v in DATA:
        original[k] = v
    original.a = 1
    c = COPIERS[copier](original)
    assert type(c) is table_cls and c.a == 1
    assert list(c.items()) == list(original.items())
    assert (c.size, c.max_load, c.hash_func) == (original.size, 0.75, module_level_hash)
    c.clear()
    assert c.size == 2


def test_the_state_is_the_objects_own_as_for_a_dict_subclass():
    """__reduce__ gives what dict.__reduce_ex__(2) gives a dict subclass,
    except the first two items: the table's parameters travel there."""
    for body in ("slots", "__dict__", "own __getstate__ and __setstate__"):
        dict_cls, table_cls = subclasses(body)
        d, h = filled(dict_cls), filled(table_cls)
        dr, hr = d.__reduce_ex__(2), h.__reduce_ex__(2)
        assert hr[0] is hashtable._rebuild
        assert hr[1] == (table_cls, 4, h.size, 0.5, hash)
        assert (outcome(lambda: hr[2]) == outcome(lambda: dr[2]))
        assert hr[3] is dr[3] is None
        assert [(k, v is h) for k, v in hr[4]] == [(k, v is d) for k, v in dr[4]]
    assert HashTable().__reduce__()[2] is None
    assert not hasattr(HashTable, "__setstate__")


def test_rebuild_checks_its_arguments():
    rebuild = hashtable._rebuild
    with pytest.raises(TypeError, match="cls must be HashTable or a subclass of it, not "
                                        "<class 'dict'>"):
        rebuild(dict, 4, 4, 0.5, None)
    with pytest.raises(TypeError, match="cls must be HashTable or a subclass of it, not 3"):
        rebuild(3, 4, 4, 0.5, None)
    with pytest.raises(ValueError, match="size must be a positive int"):
        rebuild(HashTable, 0, 4, 0.5, None)
    with pytest.raises(TypeError, match="size must be a positive int, not str"):
        rebuild(HashTable, 4, "4", 0.5, None)
    with pytest.raises(ValueError, match="max_load must be a finite number > 0"):
        rebuild(HashTable, 4, 4, -1.0, None)
    with pytest.raises(TypeError, match="hash_func must be callable or None"):
        rebuild(HashTable, 4, 4, 0.5, 5)
    with pytest.raises(TypeError, match="_rebuild expected 5 arguments, got 4"):
        rebuild(HashTable, 4, 4, 0.5)
    h = rebuild(HashTable, 2, 8, 0.75, None)
    assert (type(h), len(h), h.size, h.max_load, h.hash_func) == (HashTable, 0, 8, 0.75, None)
    h.clear()
    assert h.size == 2


class NewGivesADict(HashTable):
    def __new__(cls, *args, **kwargs):
        return {}


def test_rebuild_returns_what_new_made_as_copyreg_newobj():
    assert hashtable._rebuild(NewGivesADict, 4, 4, 0.5, None) == {}
    h = HashTable.__new__(NewGivesADict)
    HashTable.__init__(h, DATA)
    assert copy.copy(h) == dict(DATA)


# ---------------------------------------------------------------------------
# Iterators: __length_hint__, pickling
# ---------------------------------------------------------------------------

ITERATORS = {
    "iter": lambda m: iter(m),
    "keys": lambda m: iter(m.keys()),
    "values": lambda m: iter(m.values()),
    "items": lambda m: iter(m.items()),
    "reversed": lambda m: reversed(m),
    "reversed items": lambda m: reversed(m.items()),
}


@pytest.mark.parametrize("consumed", [0, 2, 4])
@pytest.mark.parametrize("make", ITERATORS)
def test_iterators_hint_and_pickle_as_dicts(make, consumed):
    d, h = both()
    di, hi = ITERATORS[make](d), ITERATORS[make](h)
    for _ in range(consumed):
        assert next(hi) == next(di)
    assert operator.length_hint(hi) == operator.length_hint(di) == len(DATA) - consumed
    reduced = hi.__reduce__()
    assert reduced[0] is iter and reduced == (iter, (list(di.__reduce__()[1][0]),))
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        assert list(pickle.loads(pickle.dumps(hi, protocol))) == list(
            pickle.loads(pickle.dumps(di, protocol)))
    assert list(hi) == list(di)  # pickling did not move them
    assert operator.length_hint(hi) == operator.length_hint(di) == 0
    assert hi.__reduce__() == (iter, ([],))


def test_iterator_hint_is_zero_after_the_table_changes():
    d, h = both()
    di, hi = iter(d), iter(h)
    d["new"] = h["new"] = 1
    assert operator.length_hint(hi) == operator.length_hint(di) == 0
    with pytest.raises(RuntimeError):
        hi.__reduce__()


# ---------------------------------------------------------------------------
# __sizeof__, __class_getitem__, __missing__, fromkeys on a subclass
# ---------------------------------------------------------------------------

def test_sizeof_grows_with_the_table_as_dicts():
    empty, full = HashTable(), HashTable((i, i) for i in range(1000))
    assert sys.getsizeof(empty) < sys.getsizeof(full)
    assert sys.getsizeof({}) < sys.getsizeof(dict.fromkeys(range(1000)))
    assert empty.__sizeof__() > HashTable.__basicsize__
    # The object, not its keys and values: the same table with bigger values.
    assert full.__sizeof__() == HashTable((i, "x" * 1000) for i in range(1000)).__sizeof__()
    full.clear()
    assert full.__sizeof__() == empty.__sizeof__()


def test_class_getitem_is_a_generic_alias():
    alias = HashTable[str, int]
    assert type(alias) is types.GenericAlias
    assert alias.__origin__ is HashTable and alias.__args__ == (str, int)
    assert type(dict[str, int]) is type(alias)


def test_subclass_missing_is_called_by_getitem_only():
    class D(dict):
        def __missing__(self, key):
            return ("missing", key)

    class H(HashTable):
        def __missing__(self, key):
            return ("missing", key)

    d, h = D(a=1), H({"a": 1})
    for m in (d, h):
        assert m["a"] == 1 and m["zz"] == ("missing", "zz")
        assert m.get("zz") is None and "zz" not in m
    with pytest.raises(KeyError):
        HashTable()["zz"]

    class Raising(HashTable):
        def __missing__(self, key):
            raise LookupError(key)

    with pytest.raises(LookupError):
        Raising()["k"]


def test_instance_missing_is_not_used_as_dict():
    h = type("H", (HashTable,), {})()
    h.__missing__ = lambda key: 0
    with pytest.raises(KeyError):
        h["k"]


def test_fromkeys_on_a_subclass_as_dicts():
    calls = {}

    def make(base):
        class Sub(base):
            def __setitem__(self, key, value):
                calls.setdefault(base, []).append(key)
                super().__setitem__(key, value * 2)
        return Sub

    for base in (dict, HashTable):
        sub = make(base)
        r = sub.fromkeys(["a", "b"], 1)
        assert type(r) is sub and dict(r) == {"a": 2, "b": 2}
    assert calls[dict] == calls[HashTable] == ["a", "b"]

    class Other(HashTable):
        def __new__(cls):
            return {}

    class OtherDict(dict):
        def __new__(cls):
            return HashTable()

    assert Other.fromkeys("ab") == {"a": None, "b": None}
    assert type(Other.fromkeys("ab")) is dict
    assert type(OtherDict.fromkeys("ab")) is HashTable
