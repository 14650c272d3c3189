"""set / get / pop, keys, the resize rule and the picture (repr)."""
import math

import pytest
from hypothesis import given, settings, strategies as st

from conftest import hashtable

HashTable = hashtable.HashTable


def picture(t):
    """repr(t) as a list of chain lengths, checking the format of every line."""
    lines = repr(t).split("\n")
    for line in lines:
        assert line.startswith("[]") and set(line[2:]) <= {"*"}, repr(line)
    return [len(line) - 2 for line in lines]


def constant_hash(n):
    """A hash function that puts every key in the bucket of hash value n."""
    def hash_func(key):
        return n
    return hash_func


# set / get / pop

def test_set_returns_the_table_itself():
    t = HashTable()
    assert t.set("a", 1) is t
    assert t.set("a", 2) is t  # overwrite too
    assert t.set("b", 3).set("c", 4) is t
    assert t.load == 3


def test_get():
    t = HashTable()
    t.set("pi", 3.14)
    assert t.get("pi") == 3.14
    assert t.get("tau") is None
    marker = object()
    assert t.get("tau", marker) is marker
    assert t.get("pi", marker) == 3.14


def test_values_are_stored_by_identity():
    t = HashTable()
    value = [1, 2]
    t.set(1, value)
    assert t.get(1) is value
    assert t.pop(1) is value


def test_none_as_value_and_as_default():
    t = HashTable()
    t.set(1, None)
    assert t.load == 1
    assert t.get(1, "x") is None
    assert t.pop(1, "x") is None
    assert t.load == 0


def test_set_overwrites():
    t = HashTable()
    t.set("k", 1)
    t.set("k", 2)
    assert t.get("k") == 2
    assert t.load == 1


def test_pop():
    t = HashTable()
    t.set("a", 1).set("b", 2)
    assert t.pop("a") == 1
    assert t.load == 1
    assert t.get("a") is None
    assert t.get("b") == 2


def test_pop_missing_key_raises_key_error_with_the_key():
    t = HashTable()
    with pytest.raises(KeyError) as info:
        t.pop("missing")
    assert info.value.args == ("missing",)
    t.set(1, 1)
    t.pop(1)
    with pytest.raises(KeyError) as info:
        t.pop(1)
    assert info.value.args == (1,)


def test_pop_default():
    t = HashTable()
    marker = object()
    assert t.pop("missing", marker) is marker
    assert t.pop("missing", None) is None
    t.set("a", 1)
    assert t.pop("a", marker) == 1
    assert t.load == 0


def test_methods_take_positional_arguments_only():
    t = HashTable()
    with pytest.raises(TypeError):
        t.set(1)
    with pytest.raises(TypeError):
        t.set(1, 2, 3)
    with pytest.raises(TypeError):
        t.get()
    with pytest.raises(TypeError):
        t.get(1, 2, 3)
    with pytest.raises(TypeError):
        t.pop()
    with pytest.raises(TypeError):
        t.pop(1, 2, 3)
    with pytest.raises(TypeError):
        t.get(1, default=2)
    with pytest.raises(TypeError):
        t.set(key=1, value=2)
    assert t.load == 0


# Keys

def test_one_and_one_point_zero_and_true_are_one_key():
    t = HashTable()
    t.set(1, "int")
    t.set(1.0, "float")
    t.set(True, "bool")
    assert t.load == 1
    assert t.get(1) == t.get(1.0) == t.get(True) == "bool"
    assert t.pop(1.0) == "bool"
    assert t.load == 0


def test_zero_false_and_negative_zero_are_one_key():
    t = HashTable()
    t.set(0, "a").set(False, "b").set(0.0, "c").set(-0.0, "d")
    assert t.load == 1
    assert t.get(0) == "d"


@pytest.mark.parametrize("key", [2**64, -(2**64), 2**100, 2**63, -(2**63), 2**63 - 1, 10**400])
def test_big_int_keys(key):
    t = HashTable()
    t.set(key, "big")
    assert t.get(key) == "big"
    assert t.get(key + 1) is None
    assert t.get(-key) is None
    assert t.pop(key) == "big"
    assert t.load == 0


def test_big_ints_do_not_collide_as_keys():
    keys = [2**64, -(2**64), 2**100, 2**64 + 1, 2**64 + 2**61 - 1, 2**61 - 1, 0]
    t = HashTable()
    for i, key in enumerate(keys):
        t.set(key, i)
    assert t.load == len(keys)
    assert [t.get(k) for k in keys] == list(range(len(keys)))


def test_integral_floats_and_ints_are_one_key():
    t = HashTable()
    t.set(2**70, "int")
    t.set(2.0**70, "float")
    assert t.load == 1
    assert t.get(2**70) == "float"
    t.set(-(2.0**80), "neg")
    assert t.get(-(2**80)) == "neg"
    assert t.load == 2


def test_ints_and_floats_compare_exactly():
    # 2**53 + 1 is not representable as a float: float(2**53 + 1) == 2**53.
    d = {2**53 + 1: "int", 2.0**53: "float"}
    t = HashTable()
    t.set(2**53 + 1, "int").set(2.0**53, "float")
    assert t.load == len(d) == 2
    assert t.get(2**53) == d[2**53] == "float"
    assert t.get(2**53 + 1) == "int"
    t.set(0.5, "half")
    assert t.get(0) is None
    assert t.load == 3


@pytest.mark.parametrize("key", [0.1, -2.5, 1e300, -1e-300, 5e-324, math.inf, -math.inf])
def test_float_keys(key):
    t = HashTable()
    t.set(key, "f")
    assert t.get(key) == "f"
    assert t.get(-key) is None
    assert t.pop(key) == "f"


@pytest.mark.parametrize("key", ["", "a", "pi", "é", "𝄞", "日本語", "a\x00b", "x" * 10000])
def test_str_keys(key):
    t = HashTable()
    t.set(key, "s")
    assert t.get(key) == "s"
    assert t.get(key + "!") is None
    assert t.pop(key) == "s"
    assert t.load == 0


def test_str_keys_are_compared_by_value():
    t = HashTable(hash_func=None)  # equal lengths: all in one chain
    t.set("ab", 1).set("ba", 2).set("a\x00", 3).set("é", 4).set("e\u0301", 5)
    assert t.load == 5
    assert t.get("".join(["a", "b"])) == 1
    assert t.get("ba") == 2
    assert t.get("a\x00") == 3
    assert t.get("é") == 4 and t.get("e\u0301") == 5
    assert t.get("a") is None


def test_str_and_number_keys_are_distinct():
    t = HashTable(hash_func=constant_hash(1))
    t.set("1", "str").set(1, "int").set(1.5, "float")
    assert t.load == 3
    assert (t.get("1"), t.get(1), t.get(1.5)) == ("str", "int", "float")


def test_lone_surrogate_str_key_like_dict():
    key = "\ud800"
    d = {key: 1}
    t = HashTable()
    t.set(key, 1)
    assert t.get(key) == d[key]


def test_subclasses_of_int_and_str_as_keys_like_dict():
    class MyInt(int):
        pass

    class MyStr(str):
        pass

    t = HashTable()
    t.set(MyInt(7), "int").set(MyStr("seven"), "str")
    assert t.get(7) == "int"
    assert t.get("seven") == "str"
    assert t.load == 2


def test_nan_keys_behave_as_in_dict():
    """NaN != NaN: a NaN key is found through the very object stored (the
    identity check comes first), and each NaN object is a key of its own."""
    t, d = HashTable(), {}
    a, b = float("nan"), float("nan")
    for m in (t, d):
        m[a] = 1
        m[b] = 2
        m[math.nan] = 3
    assert list(t.items()) == list(d.items()) and len(t) == 3
    assert t.get(a) == 1 and t.get(float("nan")) is None and float("nan") not in t
    assert t.pop(b) == d.pop(b) == 2


@pytest.mark.parametrize("key", [(1, 2), None, b"abc", object(), 1j, frozenset({1}), -0.0])
@pytest.mark.parametrize("method", ["set", "get", "pop"])
def test_any_hashable_key_is_stored_as_the_object_itself(method, key):
    t = HashTable()
    t.set(key, "value")
    assert t.load == 1
    if method == "set":
        assert t.set(key, "again") is t and t.get(key) == "again"
    elif method == "get":
        assert t.get(key) == "value"
    else:
        assert t.pop(key) == "value" and t.load == 0
    assert all(k is key for k in t)


@pytest.mark.parametrize("key, type_name", [
    ([1], "list"), ({1: 2}, "dict"), ({1}, "set"), (bytearray(b"x"), "bytearray"),
])
@pytest.mark.parametrize("method", ["set", "get", "pop"])
def test_unhashable_keys_raise_type_error_naming_the_type(method, key, type_name):
    t = HashTable()
    args = (key, 1) if method == "set" else (key,)
    with pytest.raises(TypeError) as info:
        getattr(t, method)(*args)
    assert repr(type_name) in str(info.value)
    assert t.load == 0


def test_a_hash_func_decides_what_it_hashes():
    """A hash function of one's own may hash keys the builtin hash refuses
    (a list): the table only needs an int from it, and == for the keys."""
    t = HashTable(hash_func=constant_hash(0))
    t.set([1, 2], "a")
    t.set((1, 2), "b")
    assert t.get([1, 2]) == "a" and t.get((1, 2)) == "b" and t.load == 2


# The resize rule and the picture

def test_third_key_resizes_a_default_table():
    t = HashTable()
    t.set(1, "a")
    assert t.size == 4
    t.set(2, "b")
    assert t.size == 4  # (1 + 1) / 4 = 0.5 does not exceed 0.5
    t.set(3, "c")
    assert t.size == 8  # (2 + 1) / 4 > 0.5: doubled before adding
    lines = repr(t).split("\n")
    assert len(lines) == 8
    assert sum(line.count("*") for line in lines) == 3


def test_overwriting_does_not_resize():
    t = HashTable()
    t.set(1, 1).set(2, 2)
    t.set(2, 3).set(1, 4)
    assert t.size == 4 and t.load == 2


def test_picture_of_an_empty_table():
    assert repr(HashTable()) == "\n".join(["[]"] * 4)
    assert repr(HashTable(size=1)) == "[]"


def test_picture_puts_each_key_in_bucket_hash_mod_size():
    t = HashTable()  # builtin hash: hash(n) == n for small ints
    t.set(1, "a").set(2, "b")
    assert repr(t) == "[]\n[]*\n[]*\n[]"
    t.set(3, "c")
    assert repr(t) == "\n".join(["[]", "[]*", "[]*", "[]*", "[]", "[]", "[]", "[]"])
    t.set(9, "d")  # 9 % 8 == 1: chained after 1
    assert picture(t) == [0, 2, 1, 1, 0, 0, 0, 0]
    t.pop(1)
    assert picture(t) == [0, 1, 1, 1, 0, 0, 0, 0]


def test_negative_hashes_go_to_non_negative_buckets():
    t = HashTable(size=4, hash_func=constant_hash(-3))
    t.set("a", 1)
    assert picture(t) == [0, 1, 0, 0]  # -3 % 4 == 1, as in Python
    t = HashTable(size=8, hash_func=None)
    t.set(-1, 1).set(-6, 2)
    assert picture(t) == [0, 0, 1, 0, 0, 0, 0, 1]


def test_stars_count_the_load():
    t = HashTable(size=2, max_load=0.75)
    for i in range(48):  # 48 / 64 == 0.75: the picture stays under 64 buckets
        t.set("k%d" % i, i)
        assert sum(picture(t)) == t.load == i + 1
        assert len(picture(t)) == t.size
    assert t.size == 64
    for i in range(0, 48, 3):
        t.pop("k%d" % i)
        assert sum(picture(t)) == t.load


def test_size_never_shrinks():
    t = HashTable()
    for i in range(10):
        t.set(i, i)
    size = t.size
    for i in range(10):
        t.pop(i)
    assert t.size == size and t.load == 0
    assert repr(t) == "\n".join(["[]"] * size)


def test_big_table_repr_is_a_summary():
    t = HashTable(size=64)
    assert len(repr(t).split("\n")) == 64
    t = HashTable(size=65)
    text = repr(t)
    assert "\n" not in text
    assert text.startswith("<hashtable.HashTable")
    assert "buckets" in text and "load" in text
    t = HashTable(size=1_000_000)
    for i in range(10):
        t.set(i, i)
    text = repr(t)
    assert "\n" not in text and len(text) < 1000
    assert "buckets" in text and "load" in text


def test_growing_into_a_big_table_switches_to_the_summary():
    t = HashTable()
    for i in range(40):
        t.set(i, i)
    assert t.size == 128
    assert repr(t).startswith("<hashtable.HashTable")


# Compared with dict, and with the resize rule, on random operations.

keys = st.one_of(
    st.integers(),
    st.integers(min_value=-(2**130), max_value=2**130),
    st.floats(allow_nan=False),
    st.sampled_from([0, 1, -1, 0.0, 1.0, -0.0, True, False, 2**64, 2.0**64, 0.5]),
    st.text(max_size=4),
)
operations = st.lists(st.tuples(st.sampled_from(["set", "get", "pop"]), keys, st.integers()), max_size=60)
hash_funcs = st.sampled_from([hash, None, lambda key: 7, lambda key: hash(key) % 3 - 1,
                              lambda key: hash(key) * 2**70])


@settings(max_examples=150, deadline=None)
@given(size=st.integers(1, 16), max_load=st.sampled_from([0.5, 0.75, 1.0, 1.5, 2.0]),
       hash_func=hash_funcs, ops=operations)
def test_behaves_like_dict(size, max_load, hash_func, ops):
    t = HashTable(size=size, max_load=max_load, hash_func=hash_func)
    d = {}
    expected_size = size
    for op, key, value in ops:
        if op == "set":
            if key not in d and (len(d) + 1) / expected_size > max_load:
                expected_size *= 2
            assert t.set(key, value) is t
            d[key] = value
        elif op == "get":
            assert t.get(key, "missing") == d.get(key, "missing")
        elif key in d:
            assert t.pop(key) == d.pop(key)
        else:
            with pytest.raises(KeyError):
                t.pop(key)
        assert t.load == len(d)
        assert t.size == expected_size
    for key, value in d.items():
        assert t.get(key) == value
    if t.size <= 64:
        chains = picture(t)
        assert len(chains) == t.size and sum(chains) == t.load
