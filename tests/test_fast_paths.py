"""The performance work's fast paths give exactly what the general paths give.

- ints and strs with the builtin hash skip `hash()` (an int's hash is
  computed from its value, a str's read from its cache); a subclass key is
  hashed by its own __hash__, as dict hashes it;
- exact strs are compared by their characters, read in place (keys.rs,
  `str_eq`), exact ints and floats by value, without calling `==`: equal
  keys must be found and unequal ones told apart, for every kind of str.
"""
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hashtable
from conftest import bucket

EDGE_INTS = [0, 1, -1, -2, 2**31, -2**31, 2**61 - 2, 2**61 - 1, 2**61, -(2**61 - 1), -2**61,
             2**62, -2**62, 2**63 - 1, -2**63, 2**63, -2**63 - 1, 2**64, 10**30,
             # CPython's digits are 30 bits: one, two and three digits (keys.rs
             # reads ints of up to two digits from the object itself).
             2**30 - 1, 2**30, 2**30 + 1, -(2**30 - 1), -(2**30), -(2**30 + 1),
             2**60 - 1, 2**60, 2**60 + 1, -(2**60 - 1), -(2**60), -(2**60 + 1)]


def assert_bucket_is_hash_of(n):
    """n is chained in the bucket its hash(n) picks (conftest's `bucket`): a
    probe key known to land there (a small int, whose hash is itself) shares
    its chain."""
    size = 2**20
    h = hashtable.HashTable(size=size)
    h[n] = "v"
    probe = bucket(hash(n), size)
    h[probe] = "p"
    assert h[n] == ("p" if probe == n else "v")
    assert h.stats()["longest_chain"] == (1 if probe == n else 2)


@pytest.mark.parametrize("n", EDGE_INTS)
def test_int_keys_land_where_hash_puts_them(n):
    assert_bucket_is_hash_of(n)


@given(st.integers(min_value=-2**70, max_value=2**70))
@settings(max_examples=300, deadline=None)
def test_int_hash_fast_path_matches_hash(n):
    assert_bucket_is_hash_of(n)


@given(st.text(max_size=30))
@settings(max_examples=200, deadline=None)
def test_str_hash_fast_path_matches_hash(key):
    assert_bucket_is_hash_of(key)


class MyInt(int):
    def __hash__(self):
        calls.append(int(self))
        return 7


class MyStr(str):
    def __hash__(self):
        calls.append(str(self))
        return 7


calls = []


def test_subclass_keys_are_hashed_by_their_own_hash_as_dict_hashes_them():
    """The table keeps the key object itself, so a subclass key is hashed by
    its own __hash__ (the builtin hash gives every key type its own), it is
    the object iteration gives back, and it is found by the value it equals
    only where its hash agrees, exactly as in a dict."""
    calls.clear()
    h = hashtable.HashTable(size=8, max_load=100)
    d = {}
    for m in (h, d):
        m[MyInt(12345)] = "a"
        m[MyStr("spam")] = "b"
    assert calls == [12345, "spam"] * 2
    assert [type(k) for k in h] == [MyInt, MyStr]
    # hash(MyInt(12345)) == 7 != hash(12345): neither finds the other's entry.
    assert h.get(12345) is None and d.get(12345) is None
    h[12345] = d[12345] = "A"
    assert len(h) == len(d) == 3
    assert list(h.items()) == list(d.items())
    assert h == d


def test_bools_hash_as_ints():
    h = hashtable.HashTable()
    h[True] = "t"
    h[0] = "z"
    assert h[1] == "t" and h[1.0] == "t" and h[False] == "z"
    assert list(h) == [True, 0]


@pytest.mark.parametrize("length", [0, 1, 21, 22, 23, 24, 100])
@pytest.mark.parametrize("char", ["a", "é", "€", "𝄞", "\udc80"])
def test_strings_around_the_inline_limit_round_trip(length, char):
    key = char * length
    h = hashtable.HashTable()
    h[key] = length
    h[key + "x"] = -1
    assert h[key] == length
    assert h.get(key[:-1] if key else "y") is None
    (first, second) = list(h)
    assert first == key and type(first) is str
    assert second == key + "x"
    assert h.pop(key) == length
    assert key not in h


@given(st.text(max_size=40))
@settings(max_examples=300, deadline=None)
def test_any_string_round_trips(key):
    h = hashtable.HashTable()
    h[key] = 1
    assert list(h.keys()) == [key]
    assert h[key] == 1
    assert h[str(key)] == 1
    assert h.stats()["load"] == 1


def test_str_subclass_keys_compare_with_their_own_eq():
    """An exact str is compared by its characters without calling ==; a
    subclass's own __eq__ (a case-insensitive key) is called, as by dict."""
    class S(str):
        pass

    class CI(str):
        def __eq__(self, other):
            return isinstance(other, str) and self.lower() == other.lower()

        def __hash__(self):
            return hash(self.lower())
    h = hashtable.HashTable()
    h[S("hello")] = 1
    h[S("h\u00e9llo")] = 2
    assert h["hello"] == 1 and h["h\u00e9llo"] == 2
    h[CI("Key")] = "ci"
    d = {CI("Key"): "ci"}
    # The stored key's __eq__ answers (it is asked first, as dict asks it).
    for probe in (CI("KEY"), "key", "KEY", "other"):
        assert h.get(probe) == d.get(probe), probe
    assert h[CI("KEY")] == "ci"


@given(st.text(max_size=20), st.text(max_size=20))
@settings(max_examples=300, deadline=None)
def test_exact_strs_equal_exactly_when_python_says(a, b):
    """Two different str objects with the same characters are one key; a
    colliding hash (here every key hashes alike) never makes two strs equal."""
    h = hashtable.HashTable(hash_func=lambda k: 0)
    h[a] = "a"
    h["".join(list(b))] = "b"      # a new object, not the literal
    assert (len(h) == 1) == (a == b)
    assert h[a] == ("b" if a == b else "a")


def test_stats_has_every_field_its_docstring_names():
    h = hashtable.HashTable(size=8, max_load=2, hash_func=lambda k: k % 3)
    for k in range(10):
        h[k] = k
    s = h.stats()
    assert set(s) >= {"buckets", "load", "load_factor", "max_load", "resizes", "empty_buckets",
                      "longest_chain", "mean_chain", "histogram", "colliding_keys"}
    assert (s["buckets"], s["load"], s["max_load"], s["resizes"]) == (8, 10, 2.0, 0)
    assert s["load_factor"] == 10 / 8
    # Hashes 0, 1, 2 only: chains of 4, 3 and 3, five empty buckets.
    assert s["empty_buckets"] == 5
    assert s["longest_chain"] == 4
    assert s["mean_chain"] == 10 / 3
    assert s["histogram"] == [5, 0, 0, 2, 1]
    assert s["colliding_keys"] == 10
