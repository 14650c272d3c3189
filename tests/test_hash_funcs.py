"""Hash functions: the naive one, user functions that raise, return non-ints or
huge ints, and user functions that mutate or drop the table they hash for."""
import math

import pytest

from conftest import bucket, hashtable

HashTable = hashtable.HashTable


def chains(t):
    return [len(line) - 2 for line in repr(t).split("\n")]


# The talk's naive hash

@pytest.mark.parametrize("key, expected", [
    (5, 5), (0, 0), (-7, -7), (True, 1), (False, 0),
    (3.7, 3), (-3.5, -4), (2.0, 2), (-0.0, 0),
    ("abc", 3), ("", 0), ("𝄞", 1), ("日本", 2),
])
def test_naive_hash(key, expected):
    assert hashtable.naive_hash(key) == expected
    assert type(hashtable.naive_hash(key)) is int


def test_naive_hash_equal_keys_hash_equal():
    assert hashtable.naive_hash(2**100) == hashtable.naive_hash(2.0**100)
    assert hashtable.naive_hash(-(2**70)) == hashtable.naive_hash(-(2.0**70))
    assert hashtable.naive_hash(1) == hashtable.naive_hash(1.0) == hashtable.naive_hash(True)


@pytest.mark.parametrize("key", [[1], (1, 2), None, b"x", 1j])
def test_naive_hash_is_defined_for_int_float_and_str_only(key):
    with pytest.raises(TypeError) as info:
        hashtable.naive_hash(key)
    assert type(key).__name__ in str(info.value)
    assert "int, float and str" in str(info.value)
    t = HashTable(hash_func=None)
    with pytest.raises(TypeError, match="int, float and str"):
        t[key] = 1
    assert len(t) == 0


def test_naive_hash_of_nan_and_infinities():
    """NaN has no floor: it hashes to 0 (and, as in dict, each NaN object is
    its own key, since NaN != NaN); the infinities as CPython hashes them."""
    assert hashtable.naive_hash(math.nan) == 0
    assert hashtable.naive_hash(math.inf) == hash(math.inf)
    assert hashtable.naive_hash(-math.inf) == hash(-math.inf)
    t = HashTable(hash_func=None)
    a, b = float("nan"), float("nan")
    t[a] = 1
    t[b] = 2
    assert len(t) == 2 and t[a] == 1 and t[b] == 2


def test_hash_func_none_uses_the_naive_hash():
    t = HashTable(size=8, hash_func=None)
    t.set(5, "a")
    t.set(3.7, "b")
    assert chains(t) == [0, 0, 0, 1, 0, 1, 0, 0]


def test_equal_length_strings_collide_in_one_chain():
    t = HashTable(size=16, max_load=1.0, hash_func=None)
    for word in ("cat", "dog", "owl", "emu", "yak"):
        t.set(word, word.upper())
    assert chains(t) == [0, 0, 0, 5] + [0] * 12
    assert t.get("owl") == "OWL"
    assert t.pop("dog") == "DOG"
    assert chains(t)[3] == 4


def test_builtin_hash_by_default_matches_hash():
    t = HashTable(size=8)
    t.set(-1, "x")  # hash(-1) == -2: bucket 6
    assert chains(t) == [0, 0, 0, 0, 0, 0, 1, 0]
    assert hash(-1) == -2


# User hash functions

def test_user_hash_func_is_called_with_the_key():
    seen = []

    def hash_func(key):
        seen.append(key)
        return 0

    t = HashTable(hash_func=hash_func)
    t.set("a", 1)
    t.get("a")
    t.pop("a")
    t.get(2.5)
    assert seen == ["a", "a", "a", 2.5]


def test_user_hash_func_decides_the_bucket():
    t = HashTable(size=8, hash_func=lambda key: 5)
    for key in ("a", 1, 2.5):
        t.set(key, key)
    assert chains(t) == [0, 0, 0, 0, 0, 3, 0, 0]
    assert [t.get(k) for k in ("a", 1, 2.5)] == ["a", 1, 2.5]


class Boom(Exception):
    pass


@pytest.mark.parametrize("method", ["set", "get", "pop"])
def test_exception_from_hash_func_propagates_unchanged(method):
    raised = Boom("from the hash function")

    def hash_func(key):
        raise raised

    t = HashTable(hash_func=hash_func)
    args = ("key", 1) if method == "set" else ("key",)
    with pytest.raises(Boom) as info:
        getattr(t, method)(*args)
    assert info.value is raised
    assert type(info.value) is Boom
    assert t.load == 0


def test_builtin_exceptions_propagate_unchanged():
    def hash_func(key):
        raise KeyError("not a missing key")

    t = HashTable(hash_func=hash_func)
    with pytest.raises(KeyError) as info:
        t.pop("a", None)  # a default must not swallow the hash function's KeyError
    assert info.value.args == ("not a missing key",)


def test_exception_during_overwrite_keeps_the_old_value():
    fail = []

    def hash_func(key):
        if fail:
            raise Boom()
        return 1

    t = HashTable(hash_func=hash_func)
    t.set("a", "old")
    fail.append(True)
    with pytest.raises(Boom):
        t.set("a", "new")
    fail.clear()
    assert t.get("a") == "old" and t.load == 1


def test_unhashable_key_with_builtin_hash():
    t = HashTable()
    with pytest.raises(TypeError):
        t.set([], 1)


@pytest.mark.parametrize("result, type_name", [
    ("7", "str"), (7.0, "float"), (None, "NoneType"), ([7], "list"), (object(), "object"),
])
def test_non_int_result_raises_type_error_naming_the_function_and_type(result, type_name):
    def my_hash_function(key):
        return result

    t = HashTable(hash_func=my_hash_function)
    with pytest.raises(TypeError) as info:
        t.set("a", 1)
    message = str(info.value)
    assert "my_hash_function" in message
    assert type_name in message
    with pytest.raises(TypeError):
        t.get("a")
    with pytest.raises(TypeError):
        t.pop("a", None)
    assert t.load == 0


@pytest.mark.parametrize("result", [
    2**64, -(2**64), 2**100, -(2**100), 10**400, 2**63 - 1, -(2**63), 2**63, 2**61 - 1, -1, True,
])
def test_any_int_result_is_accepted_and_reduced_like_hash(result):
    t = HashTable(size=8, hash_func=lambda key: result)
    t.set("a", 1).set("b", 2)
    assert t.get("a") == 1 and t.get("b") == 2
    expected = [0] * 8
    expected[bucket(hash(result), 8)] = 2
    assert chains(t) == expected
    assert t.pop("a") == 1


def test_int_subclass_result_is_accepted():
    class MyInt(int):
        pass

    t = HashTable(size=8, hash_func=lambda key: MyInt(3))
    t.set("a", 1)
    assert chains(t)[3] == 1


def test_builtin_callables_and_callable_objects_as_hash_func():
    class Hasher:
        def __call__(self, key):
            return 2

    for hash_func in (len, Hasher(), str.__len__):
        t = HashTable(size=8, hash_func=hash_func)
        t.set("ab", 1)
        assert chains(t)[2] == 1, hash_func


def test_resize_does_not_call_the_hash_function_again():
    calls = []

    def hash_func(key):
        calls.append(key)
        return hash(key)

    t = HashTable(hash_func=hash_func)
    for i in range(20):
        t.set(i, i)
    assert t.size == 64
    assert calls == list(range(20))


# Hash functions that mutate or drop the table. They run in a child process:
# a module that touches the table before hashing would crash here.

def test_hash_func_that_sets_other_keys(child):
    child("""
        import hashtable
        t = None
        def hash_func(key):
            if key == "x":
                for i in range(10):  # enough to resize the table under set("x")
                    t.set(i, i)
            return hash(key)
        t = hashtable.HashTable(hash_func=hash_func)
        assert t.set("x", "X") is t
        assert t.load == 11, t.load
        assert t.get(5) == 5
        assert t.size == 32, t.size
        stars = repr(t).count("*")
        assert stars == 11, repr(t)
    """)


def test_hash_func_that_clears_the_table(child):
    child("""
        import hashtable
        t = None
        def hash_func(key):
            if key == "clear":
                for k in list(range(6)):
                    t.pop(k, None)
            return hash(key)
        t = hashtable.HashTable(hash_func=hash_func)
        for i in range(6):
            t.set(i, i)
        assert t.load == 6 and t.size == 16
        t.set("clear", "done")
        assert t.load == 1, t.load
        assert t.get("clear") == "done"
        assert t.get(3) is None
        assert repr(t).count("*") == 1
    """)


def test_hash_func_that_removes_or_adds_the_very_key(child):
    child("""
        import hashtable
        t = None
        mode = []
        def hash_func(key):
            if mode and key == "k":
                action = mode.pop()
                if action == "pop":
                    t.pop("k", None)
                elif action == "set":
                    t.set("k", "from the hash function")
            return 42
        t = hashtable.HashTable(hash_func=hash_func)
        t.set("k", "old")
        # set: the hash function removes the key, then set adds it back.
        mode.append("pop")
        t.set("k", "new")
        assert t.get("k") == "new" and t.load == 1
        # pop: the hash function removes the key first: KeyError, or the default.
        mode.append("pop")
        assert t.pop("k", "default") == "default"
        assert t.load == 0
        t.set("k", "again")
        mode.append("pop")
        try:
            t.pop("k")
        except KeyError:
            pass
        else:
            raise AssertionError("no KeyError")
        # get: the hash function adds the key first, then get finds it.
        mode.append("set")
        assert t.get("k") == "from the hash function"
        # set over a key the hash function just added: one entry, the last value.
        t.pop("k")
        mode.append("set")
        t.set("k", "last")
        assert t.get("k") == "last" and t.load == 1
        assert repr(t).count("*") == 1
    """)


def test_hash_func_that_drops_the_last_reference(child):
    out = child("""
        import gc
        import hashtable
        hashtable.set_trace("lifecycle")
        holder, armed = [], []
        def hash_func(key):
            if armed:
                armed.clear()
                holder.clear()   # the only name bound to the table
                gc.collect()
            return hash(key)
        holder.append(hashtable.HashTable(hash_func=hash_func))
        armed.append(True)
        result = holder[0].set("a", 1)
        print("set returned", type(result).__name__, result.get("a"), result.load)
        del result
        print("after set")
        holder.append(hashtable.HashTable(hash_func=hash_func))
        holder[0].set("a", 1)
        armed.append(True)
        print("get returned", holder[0].get("a", "missing"))
        print("after get")
        holder.append(hashtable.HashTable(hash_func=hash_func))
        holder[0].set("a", 1)
        armed.append(True)
        print("pop returned", holder[0].pop("a", "missing"))
        print("after pop")
    """).stdout.splitlines()
    assert "set returned HashTable 1 1" in out
    assert "get returned 1" in out
    assert "pop returned 1" in out
    # Each table dies when its caller lets go of it, after the call, not during it.
    deallocs = [i for i, line in enumerate(out) if line.startswith("Module: dealloc")]
    assert len(deallocs) == 3, out
    assert out.index("set returned HashTable 1 1") < deallocs[0] < out.index("after set")
    assert out.index("after set") < deallocs[1] < out.index("after get")
    assert out.index("after get") < deallocs[2] < out.index("after pop")


def test_hash_func_that_drops_a_table_it_owns_through_a_cycle(child):
    child("""
        import gc
        import hashtable
        class Hasher:
            def __call__(self, key):
                self.table = None   # drop the table from inside the call
                gc.collect()
                return 1
        for i in range(20):
            h = Hasher()
            h.table = hashtable.HashTable(hash_func=h)
            t = h.table
            del h
            assert t.set("a", i) is t
            assert t.get("a") == i
            del t
            gc.collect()
        print("ok")
    """)


def test_hash_func_that_raises_after_mutating(child):
    child("""
        import hashtable
        t = None
        def hash_func(key):
            if key == "bad":
                t.set("side effect", 1)
                raise ValueError("bad key")
            return 0
        t = hashtable.HashTable(hash_func=hash_func)
        try:
            t.set("bad", 2)
        except ValueError as e:
            assert str(e) == "bad key"
        assert t.load == 1 and t.get("side effect") == 1
    """)


def test_a_function_bound_to_builtins_hash_is_called():
    """Only the builtins module's own hash is computed without a call: a
    Python function bound to the name builtins.hash is called, also as the
    default hash function (found in builtins when the table is made)."""
    import builtins
    real = builtins.hash
    calls = []

    def traced_hash(key):
        calls.append(key)
        return real(key)

    t = HashTable(hash_func=real)
    t[1] = 1
    assert calls == []
    builtins.hash = traced_hash
    try:
        t = HashTable()
        t["a"] = 1
        assert t.hash_func is traced_hash
        explicit = HashTable(hash_func=traced_hash)
        explicit[2] = 2
    finally:
        builtins.hash = real
    assert calls == ["a", 2]


def test_an_unrepresentable_hash_func_is_named_by_its_type():
    class NoRepr:
        def __call__(self, key):
            return "not an int"

        def __repr__(self):
            raise ValueError("no repr")

    with pytest.raises(TypeError) as e:
        HashTable(hash_func=NoRepr())[1] = 1
    assert str(e.value) == "hash_func <NoRepr object> must return an int, but returned str"
