"""A HashTable and a dict, side by side, through random sequences of every operation.

Hypothesis drives a RuleBasedStateMachine: each rule applies one operation to
both and compares the results (return values, exceptions); after every step
the invariant compares the whole contents, len, load, the resize rule and the
picture's totals (load == number of '*' in repr up to 64 buckets, else the
numbers of stats()). One machine per hash function: the builtin hash, None
(the talk's naive hash), a Python function, and a constant one that puts
every key in one chain.

Keys are of mixed types, as dict's are: ints, floats, strs, tuples, None,
and a class with its own __eq__ and __hash__ whose hashes collide with each
other and with small ints, so that lookups compare keys with Python code.
The naive hash is defined for int, float and str keys only, so its machine
draws those.

Run time is bounded for CI by the "ci" profile; for a longer hunt:

    HYPOTHESIS_PROFILE=long python -m pytest tests/test_stateful.py
"""
import collections
import copy
import math
import operator
import os
import pickle

import pytest
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant, precondition,
                                 rule)

from conftest import hashtable

HashTable = hashtable.HashTable

# For tests/refleak_plugin.py: hypothesis' own caches grow a little with every
# run of a state machine, for dozens of runs, which -R style repetition reads
# as a leak. tools/leakcheck.py runs the same operations in a loop instead.
REFLEAKS_RUN_ONCE = "hypothesis state machines fill hypothesis' caches on every run"

settings.register_profile("ci", max_examples=40, stateful_step_count=40, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("long", max_examples=2000, stateful_step_count=100, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
PROFILE = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# How much was checked, per hash function: shown with `pytest -s`.
COUNTS = collections.defaultdict(collections.Counter)


def python_hash(key):
    """A Python hash function (a different spread from the builtin's)."""
    return hash(key) * 1_000_003 ^ 0x5DEECE66D


def constant_hash(key):
    """Every key in one chain."""
    return 42


HASH_FUNCS = {"builtin": hash, "naive": None, "python": python_hash, "constant": constant_hash}



class Sub(HashTable):
    """A subclass with a slot and a __dict__, pickled as dict's would be."""
    __slots__ = ("slot", "__dict__")


class Colliding:
    """A key whose == and hash are Python code: equal by value, hash = value
    % 4, so keys of this class share chains with each other and with the
    ints 0 to 3 (which hash to themselves), and a lookup compares them with
    __eq__. A new object per draw: identity does not decide."""

    def __init__(self, value):
        self.value = value

    def __hash__(self):
        return self.value % 4

    def __eq__(self, other):
        return isinstance(other, Colliding) and self.value == other.value

    def __repr__(self):
        return "Colliding(%d)" % self.value


# Few distinct keys, so that sets overwrite, pops find something and 1 / 1.0 /
# True meet; plus big ints, awkward floats and non-ASCII strings: the keys
# the naive hash accepts.
basic_keys = st.one_of(
    st.integers(-3, 12),
    st.sampled_from([True, False, 0.0, -0.0, 1.0, 2.5, -7.25, 1e300, math.inf, -math.inf,
                     2**64, -2**64, 2**63, 10**30]),
    st.floats(allow_nan=False, width=32),
    st.sampled_from(["", "a", "b", "ab", "\U0001F600", "\u00e9t\u00e9", "\U0010FFFF"]),
    st.text(max_size=3),
)
# Every other hashable key dict takes, mixed with those: tuples (whose
# equality makes (1,), (1.0,) and (True,) one key), None, and Colliding.
mixed_keys = st.one_of(
    basic_keys,
    st.none(),
    st.tuples(),
    st.tuples(st.integers(-2, 3), st.sampled_from(["a", "b"])),
    st.tuples(st.sampled_from([1, 1.0, True, 2, None, "a"])),
    st.tuples(st.integers(0, 2), st.tuples(st.sampled_from([0, 0.0, "x"]))),
    st.builds(Colliding, st.integers(0, 12)),
)
values = st.one_of(st.integers(), st.none(), st.text(max_size=2),
                   st.lists(st.integers(), max_size=2))
identifiers = st.dictionaries(st.sampled_from(["x", "y", "size", "key", "self"]), values,
                              max_size=3)


def outcome(func, *args, **kwargs):
    """("ok", result) or ("raised", exception type)."""
    try:
        return ("ok", func(*args, **kwargs))
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        return ("raised", type(e))


def side_by_side(keys):
    """The machine's class, its rules drawing keys from `keys`."""
    pairs = st.lists(st.tuples(keys, values), max_size=6)

    class SideBySide(RuleBasedStateMachine):
        hash_func = hash

        def __init__(self):
            super().__init__()
            self.h = None
            self.d = {}
            self.size = 0
            self.max_load = 0.5

        @initialize(size=st.integers(1, 20), max_load=st.sampled_from([0.25, 0.5, 0.75, 1.0, 3.0]))
        def make(self, size, max_load):
            self.h = HashTable(size, max_load, self.hash_func)
            COUNTS[self.hash_func]["sequences"] += 1
            self.initial = self.size = size
            self.max_load = max_load

        def grow_for(self, key):
            """The talk's resize rule: before an add would exceed max_load, double."""
            if key not in self.d:
                while (len(self.d) + 1) / self.size > self.max_load:
                    self.size *= 2

        def same(self, on_table, on_dict):
            got, expected = on_table(), on_dict()
            assert got == expected, (got, expected)
            return got

        # -- adding and replacing ------------------------------------------------

        @rule(key=keys, value=values)
        def setitem(self, key, value):
            self.grow_for(key)
            self.h[key] = value
            self.d[key] = value

        @rule(key=keys, value=values)
        def set(self, key, value):
            self.grow_for(key)
            assert self.h.set(key, value) is self.h
            self.d[key] = value

        @rule(key=keys, default=values)
        def setdefault(self, key, default):
            self.grow_for(key)
            self.same(lambda: self.h.setdefault(key, default),
                      lambda: self.d.setdefault(key, default))

        @rule(items=pairs, kwargs=identifiers,
              form=st.sampled_from(["dict", "pairs", "table", "kw"]))
        def update(self, items, kwargs, form):
            # Keys are added in this order (the argument's, then the keywords'):
            # placeholders in d make the size arithmetic follow; update overwrites them.
            for key, _ in (items if form != "kw" else []):
                self.grow_for(key)
                self.d.setdefault(key, None)
            for key in kwargs:
                self.grow_for(key)
                self.d.setdefault(key, None)
            if form == "dict":
                arg = dict(items)
            elif form == "table":
                arg = HashTable()
                for k, v in items:
                    arg[k] = v
            else:
                arg = items
            if form == "kw":
                self.h.update(**kwargs)
                self.d.update(**kwargs)
            else:
                self.h.update(arg, **kwargs)
                self.d.update(dict(items), **kwargs)

        @rule(keys_=st.lists(keys, max_size=5), value=values)
        def fromkeys_then_update(self, keys_, value):
            t = HashTable.fromkeys(keys_, value)
            assert t == dict.fromkeys(keys_, value)
            for key in t:
                self.grow_for(key)
                self.d[key] = value
            self.h.update(t)

        # -- reading -------------------------------------------------------------

        @rule(key=keys)
        def getitem(self, key):
            self.same(lambda: outcome(lambda: self.h[key]), lambda: outcome(lambda: self.d[key]))

        @rule(key=keys, default=values)
        def get(self, key, default):
            self.same(lambda: self.h.get(key, default), lambda: self.d.get(key, default))
            self.same(lambda: self.h.get(key), lambda: self.d.get(key))

        @rule(key=keys)
        def contains(self, key):
            self.same(lambda: key in self.h, lambda: key in self.d)
            self.same(lambda: key in self.h.keys(), lambda: key in self.d.keys())

        @rule(key=keys)
        def item_in_items(self, key):
            item = (key, self.d.get(key))
            self.same(lambda: item in self.h.items(), lambda: item in self.d.items())

        @rule()
        def iterate(self):
            for h_view, d_view in ((iter(self.h), iter(self.d)), (self.h.keys(), self.d.keys()),
                                   (self.h.values(), self.d.values()),
                                   (self.h.items(), self.d.items())):
                got, expected = list(h_view), list(d_view)
                assert len(got) == len(expected)
                assert sorted(map(repr, got)) == sorted(map(repr, expected)) or \
                    all(g in expected for g in got)

        @rule()
        def compare(self):
            assert self.h == self.d and not (self.h != self.d)
            assert self.d == self.h
            other = dict(self.d)
            other["not there"] = 1
            assert self.h != other and not (self.h == other)

        @rule(other=st.lists(keys, max_size=6), other_pairs=pairs,
              op=st.sampled_from([operator.and_, operator.or_, operator.sub, operator.xor]),
              reflected=st.booleans(), as_set=st.booleans())
        def view_set_operations(self, other, other_pairs, op, reflected, as_set):
            for view, operand in (("keys", other), ("items", other_pairs)):
                h_view, d_view = getattr(self.h, view)(), getattr(self.d, view)()
                if as_set:
                    operand = outcome(set, operand)
                    if operand[0] != "ok":
                        continue  # unhashable values: no set to start with
                    operand = operand[1]

                def apply(v):
                    return outcome(lambda: op(operand, v) if reflected else op(v, operand))
                self.same(lambda: apply(h_view), lambda: apply(d_view))
                self.same(lambda: outcome(h_view.isdisjoint, operand),
                          lambda: outcome(d_view.isdisjoint, operand))
            COUNTS[self.hash_func]["view set operations"] += 1

        @rule(other=st.lists(keys, max_size=6), whole=st.booleans())
        def view_comparisons(self, other, whole):
            other = set(other) | (set(self.d) if whole else set())
            for op in (operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge):
                self.same(lambda: op(self.h.keys(), other), lambda: op(self.d.keys(), other))
                self.same(lambda: op(other, self.h.keys()), lambda: op(other, self.d.keys()))
            assert self.h.items() == self.d.items() and self.d.items() == self.h.items()

        @rule(items=pairs, form=st.sampled_from(["dict", "pairs", "table"]))
        def inplace_or(self, items, form):
            for key, _ in items:
                self.grow_for(key)
                self.d.setdefault(key, None)
            arg = {"dict": dict, "pairs": list, "table": HashTable}[form](items)
            before = self.h
            self.h |= arg
            assert self.h is before
            self.d |= dict(items)

        @rule(items=pairs, reflected=st.booleans())
        def or_(self, items, reflected):
            other = dict(items)
            if reflected:
                got, expected = other | self.h, other | self.d
            else:
                got, expected = self.h | other, self.d | other
            assert type(got) is HashTable
            assert list(got.items()) == list(expected.items())
            assert (got.max_load, got.hash_func) == (self.h.max_load, self.h.hash_func)

        @rule()
        def reversed_(self):
            for make in (lambda m: m, lambda m: m.keys(), lambda m: m.values(), lambda m: m.items()):
                assert list(reversed(make(self.h))) == list(reversed(make(self.d)))

        @rule(protocol=st.integers(0, pickle.HIGHEST_PROTOCOL))
        def pickle_round_trip(self, protocol):
            h = pickle.loads(pickle.dumps(self.h, protocol))
            assert list(h.items()) == list(self.h.items())
            assert (h.size, h.max_load, h.hash_func) == (self.h.size, self.h.max_load,
                                                          self.h.hash_func)
            # Carry on with the copy (clear() must still go back to the initial
            # size); the dict takes the copy's objects, which are equal, not the same.
            self.h = h
            self.d = dict(h.items())
            COUNTS[self.hash_func]["pickle round trips"] += 1

        @rule(copier=st.sampled_from(["copy", "deepcopy"] + list(
            range(pickle.HIGHEST_PROTOCOL + 1))))
        def subclass_round_trip(self, copier):
            # The same table as a subclass with slots and a __dict__: made by
            # _rebuild (as unpickling makes it) with the table's parameters.
            s = hashtable._rebuild(Sub, self.initial, self.h.size, self.h.max_load,
                                   self.h.hash_func)
            s.update(self.h)
            s.slot, s.attribute = [1], {"a": 2}
            if copier in ("copy", "deepcopy"):
                c = getattr(copy, copier)(s)
            else:
                c = pickle.loads(pickle.dumps(s, copier))
            assert type(c) is Sub and (c.slot, c.attribute) == ([1], {"a": 2})
            assert (c.slot is s.slot) == (copier == "copy")
            assert list(c.items()) == list(self.h.items())
            assert (c.size, c.max_load, c.hash_func) == (self.h.size, self.h.max_load,
                                                          self.h.hash_func)
            # Carry on with the subclass (clear() must still go back to the
            # initial size).
            self.h = c
            self.d = dict(c.items())
            COUNTS[self.hash_func]["pickle round trips"] += 1

        # -- removing ------------------------------------------------------------

        @rule(key=keys)
        def pop(self, key):
            self.same(lambda: outcome(self.h.pop, key), lambda: outcome(self.d.pop, key))

        @rule(key=keys, default=values)
        def pop_default(self, key, default):
            self.same(lambda: self.h.pop(key, default), lambda: self.d.pop(key, default))

        @rule(key=keys)
        def delitem(self, key):
            self.same(lambda: outcome(self.h.__delitem__, key),
                      lambda: outcome(self.d.__delitem__, key))

        @rule()
        def popitem(self):
            got = outcome(self.h.popitem)
            if not self.d:
                assert got == ("raised", KeyError)
                return
            assert got[0] == "ok"
            key, value = got[1]
            assert key in self.d and self.d[key] is value
            del self.d[key]

        @precondition(lambda self: len(self.d) > 0)
        @rule()
        def clear(self):
            assert self.h.clear() is None
            self.d.clear()
            self.size = self.initial

        # -- copying -------------------------------------------------------------

        @rule()
        def copy(self):
            c = self.h.copy()
            assert (c.size, c.max_load, c.hash_func, c.load) == (self.h.size, self.h.max_load,
                                                                  self.h.hash_func, self.h.load)
            assert c == self.h and repr(c) == repr(self.h)
            self.h = c  # carry on with the copy: the original must not matter any more

        # -- after every step ----------------------------------------------------

        @invariant()
        def agree(self):
            if self.h is None:
                return
            COUNTS[self.hash_func]["checks"] += 1
            h, d = self.h, self.d
            for key in d:
                COUNTS[self.hash_func][type(key).__name__] += 1
            assert len(h) == h.load == len(d)
            assert bool(h) == bool(d)
            assert h.size == self.size, (h.size, self.size)
            assert h.max_load == self.max_load
            assert h.hash_func is self.hash_func
            assert dict(h.items()) == d
            assert h == d
            stats = h.stats()
            assert stats["load"] == len(d) and stats["buckets"] == self.size
            assert sum(stats["histogram"]) == self.size
            assert sum(n * count for n, count in enumerate(stats["histogram"])) == len(d)
            if h.size <= 64:
                lines = repr(h).split("\n")
                assert len(lines) == h.size
                assert repr(h).count("*") == h.load
                assert max(len(line) - 2 for line in lines) == stats["longest_chain"]
            else:
                assert repr(h).startswith("<hashtable.HashTable")
            if self.hash_func is constant_hash and d:
                assert stats["longest_chain"] == len(d)

    return SideBySide


def machine_for(name):
    func = HASH_FUNCS[name]
    base = side_by_side(basic_keys if func is None else mixed_keys)
    cls = type("SideBySide_" + name, (base,),
               {"hash_func": staticmethod(func) if func is not None else None})
    cls.TestCase.settings = PROFILE
    return cls


# Made once: hypothesis caches per machine class, so a class made per run
# would look like a leak to the refleak plugin.
MACHINES = {name: machine_for(name) for name in HASH_FUNCS}


@pytest.mark.parametrize("name", sorted(HASH_FUNCS))
def test_side_by_side_with_dict(name):
    counts = COUNTS[HASH_FUNCS[name]]
    counts.clear()
    MACHINES[name].TestCase("runTest").runTest()
    assert counts["sequences"] > 0 and counts["checks"] > counts["sequences"]
    # The tables held keys of every type drawn (the naive hash: int, float, str).
    kinds = {"int", "float", "str"} | ({"tuple", "NoneType", "Colliding"} if name != "naive"
                                       else set())
    steps = ("sequences", "checks", "pickle round trips", "view set operations")
    held = {kind for kind in counts if kind not in steps}
    assert held == kinds | ({"bool"} & held), counts
    print("\nside by side with dict, hash_func %s: %d random sequences, %d steps checked "
          "(%d pickle round trips, %d view set operation steps); "
          "keys held after a step, by type: %s"
          % (name, counts["sequences"], counts["checks"], counts["pickle round trips"],
             counts["view set operations"],
             ", ".join("%s %d" % (kind, counts[kind]) for kind in sorted(held))))
