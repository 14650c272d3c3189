"""The performance work's fast paths give exactly what the general paths give.

- ints and strs with the builtin hash skip `hash()` (an int's hash is
  computed from its value, a str's read from its cache); a subclass key is
  hashed as its value too, even if it overrides __hash__, since the table
  stores and gives back the value;
- strings of up to 22 UTF-8 bytes are stored inline in the key, longer ones
  in their own allocation; both must round-trip and compare the same;
- compact ASCII strs are read in place, others through their UTF-8.
"""
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hashtable

EDGE_INTS = [0, 1, -1, -2, 2**31, -2**31, 2**61 - 2, 2**61 - 1, 2**61, -(2**61 - 1), -2**61,
             2**62, -2**62, 2**63 - 1, -2**63, 2**63, -2**63 - 1, 2**64, 10**30,
             # CPython's digits are 30 bits: one, two and three digits (keys.rs
             # reads ints of up to two digits from the object itself).
             2**30 - 1, 2**30, 2**30 + 1, -(2**30 - 1), -(2**30), -(2**30 + 1),
             2**60 - 1, 2**60, 2**60 + 1, -(2**60 - 1), -(2**60), -(2**60 + 1)]


def assert_bucket_is_hash_of(n):
    """n is chained in bucket hash(n) % size: a probe key known to land there
    (a small int, whose hash is itself) shares its chain."""
    size = 2**20
    h = hashtable.HashTable(size=size)
    h[n] = "v"
    probe = hash(n) % size
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


def test_subclass_keys_are_hashed_as_their_value():
    """The table keeps the value, not the object: with the builtin hash a
    subclass's own __hash__ is not called, and the entry is the value's, so
    what iteration gives back finds it again (`for k in h: h[k]`), as dict's
    keys do. For a subclass that hashes equal values alike, as Python
    requires, that is exactly hash(key)."""
    calls.clear()
    h = hashtable.HashTable(size=8, max_load=100)
    h[MyInt(12345)] = "a"
    h[MyStr("spam")] = "b"
    assert calls == []
    assert h.get(12345) == "a" and h.get("spam") == "b"
    h[12345] = "A"
    assert len(h) == 2 and h[MyInt(12345)] == "A"
    assert {k: h[k] for k in h} == {12345: "A", "spam": "b"}
    assert h == h and dict(h) == {12345: "A", "spam": "b"}
    assert calls == []


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


def test_non_compact_strs_are_read_through_utf8():
    # A str subclass instance is not compact; its UTF-8 comes from the C API.
    class S(str):
        pass
    h = hashtable.HashTable()
    h[S("hello")] = 1
    h[S("h\u00e9llo")] = 2
    assert h["hello"] == 1 and h["h\u00e9llo"] == 2


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
