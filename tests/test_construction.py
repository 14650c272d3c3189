"""HashTable(size=4, max_load=0.5, hash_func=hash): defaults, validation,
read-only attributes, the uninitialised table, docstrings, module attributes."""
import builtins
import inspect
import math
import pydoc

import pytest

from conftest import hashtable

HashTable = hashtable.HashTable


def test_type_name_and_module():
    assert HashTable.__name__ == "HashTable"
    assert HashTable.__module__ == "hashtable"
    assert HashTable.__qualname__ == "HashTable"


def test_defaults():
    t = HashTable()
    assert t.size == 4
    assert t.max_load == 0.5
    assert type(t.max_load) is float
    assert t.hash_func is builtins.hash
    assert t.load == 0
    assert type(t.size) is int and type(t.load) is int


def test_arguments_by_keyword_and_by_position():
    def f(key):
        return 0

    t = HashTable(size=16, max_load=0.75, hash_func=f)
    assert (t.size, t.max_load, t.hash_func, t.load) == (16, 0.75, f, 0)
    t = HashTable(8, 2.0, None)
    assert (t.size, t.max_load, t.hash_func) == (8, 2.0, None)


def test_max_load_accepts_an_int_and_stores_a_float():
    t = HashTable(max_load=1)
    assert t.max_load == 1.0 and type(t.max_load) is float


def test_max_load_is_the_tables_own_through_clear_and_init_again():
    """max_load is read from the table (stored once): clear() keeps it, a
    second __init__ replaces it, and a failed one leaves the old table's."""
    t = HashTable(max_load=0.75)
    t.clear()
    assert t.max_load == 0.75
    t.__init__(max_load=2)
    assert t.max_load == 2.0 and type(t.max_load) is float
    with pytest.raises(ValueError):
        t.__init__(max_load=0)
    assert t.max_load == 2.0


def test_read_only_attributes_say_so_when_written():
    t = HashTable()
    for name in ("size", "load", "max_load", "hash_func"):
        with pytest.raises(AttributeError, match="readonly|not writable"):
            setattr(t, name, 1)


def test_max_load_above_one_is_allowed():
    t = HashTable(size=2, max_load=3.0)
    for key in range(6):
        t.set(key, key)
    assert t.size == 2 and t.load == 6


@pytest.mark.parametrize("size, given", [(0, "0"), (-1, "-1"), (-(2**70), str(-(2**70)))])
def test_size_must_be_positive(size, given):
    with pytest.raises(ValueError) as info:
        HashTable(size=size)
    assert "size" in str(info.value)
    assert given in str(info.value)


@pytest.mark.parametrize("size, type_name", [(2.5, "float"), (4.0, "float"), ("4", "str"), (None, "NoneType")])
def test_size_must_be_an_int(size, type_name):
    with pytest.raises(TypeError) as info:
        HashTable(size=size)
    assert "size" in str(info.value)
    assert type_name in str(info.value)


@pytest.mark.parametrize("max_load", [0, 0.0, -0.5, -1, math.nan, math.inf, -math.inf])
def test_max_load_must_be_finite_and_positive(max_load):
    with pytest.raises(ValueError) as info:
        HashTable(max_load=max_load)
    assert "max_load" in str(info.value)


@pytest.mark.parametrize("max_load, type_name", [("0.5", "str"), (None, "NoneType"), ([0.5], "list")])
def test_max_load_must_be_a_number(max_load, type_name):
    with pytest.raises(TypeError) as info:
        HashTable(max_load=max_load)
    assert "max_load" in str(info.value)
    assert type_name in str(info.value)


@pytest.mark.parametrize("hash_func, type_name", [(5, "int"), ("hash", "str"), ([], "list")])
def test_hash_func_must_be_callable_or_none(hash_func, type_name):
    with pytest.raises(TypeError) as info:
        HashTable(hash_func=hash_func)
    assert "hash_func" in str(info.value)
    assert type_name in str(info.value)


def test_hash_func_none_and_callables_are_kept_as_given():
    class Hasher:
        def __call__(self, key):
            return 1

    h = Hasher()
    assert HashTable(hash_func=None).hash_func is None
    assert HashTable(hash_func=h).hash_func is h
    assert HashTable(hash_func=len).hash_func is len


def test_bad_arguments_are_rejected_like_any_python_function():
    with pytest.raises(TypeError):
        HashTable(bucket_count=4)
    with pytest.raises(TypeError):
        HashTable(4, 0.5, hash, "extra")
    with pytest.raises(TypeError):
        HashTable(4, size=4)


def test_huge_size_raises_memory_error():
    with pytest.raises(MemoryError):
        HashTable(size=10**15)


def test_size_beyond_py_ssize_t():
    with pytest.raises((OverflowError, ValueError)):
        HashTable(size=10**30)


@pytest.mark.parametrize("name, value", [("size", 8), ("load", 1), ("max_load", 0.75), ("hash_func", len)])
def test_attributes_are_read_only(name, value):
    t = HashTable()
    before = getattr(t, name)
    with pytest.raises(AttributeError):
        setattr(t, name, value)
    with pytest.raises((AttributeError, TypeError)):
        delattr(t, name)
    assert getattr(t, name) == before


def test_subclass():
    class Sub(HashTable):
        pass

    t = Sub(size=8)
    assert isinstance(t, HashTable)
    assert t.size == 8
    assert t.set("a", 1) is t
    assert t.get("a") == 1


def test_type_docstring_states_the_constructor():
    assert "HashTable(size=4, max_load=0.5, hash_func=hash)" in HashTable.__doc__


@pytest.mark.parametrize("method, params", [
    ("set", ["key", "value"]),
    ("get", ["key", "default"]),
    ("pop", ["key", "default"]),
])
def test_methods_have_signatures_and_docstrings(method, params):
    unbound = getattr(HashTable, method)
    assert unbound.__doc__ and unbound.__doc__.strip()
    sig = inspect.signature(unbound)
    assert list(sig.parameters) == ["self"] + params
    bound = inspect.signature(getattr(HashTable(), method))
    assert list(bound.parameters) == params
    kinds = [p.kind for p in bound.parameters.values()]
    if method == "pop":
        # pop's default has no default value to show: dict.pop's text
        # signature (default=<unrepresentable>) is not parsed by inspect
        # before 3.13, so `*default` is an honest alternative.
        assert kinds[0] is inspect.Parameter.POSITIONAL_ONLY
        assert kinds[1] in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.VAR_POSITIONAL)
    else:
        assert kinds == [inspect.Parameter.POSITIONAL_ONLY] * 2


def test_get_default_is_none_in_the_signature():
    sig = inspect.signature(HashTable.get)
    assert sig.parameters["default"].default is None
    assert sig.parameters["key"].default is inspect.Parameter.empty


def test_help_shows_the_docstrings():
    text = pydoc.render_doc(HashTable, renderer=pydoc.plaintext)
    assert "HashTable(size=4, max_load=0.5, hash_func=hash)" in text
    for line in ("set(self, key, value, /)", "get(self, key, default=None, /)"):
        assert line in text
    assert "pop(self, key" in text


def test_bugs_is_empty_in_the_normal_build():
    assert hashtable.BUGS == ()


def test_module_functions():
    assert callable(hashtable.naive_hash)
    assert callable(hashtable.set_trace)


# The uninitialised table: HashTable.__new__(HashTable) without __init__.
# A broken module would crash on it, so these run in a child interpreter.

def test_uninitialised_table_never_crashes(child):
    child("""
        import gc
        import hashtable
        t = hashtable.HashTable.__new__(hashtable.HashTable)
        assert repr(t) == "<hashtable.HashTable (uninitialised)>", repr(t)
        assert t.size == 0 and t.load == 0 and t.hash_func is None
        assert t.max_load == 0.0 and type(t.max_load) is float, t.max_load
        for call in (lambda: t.set(1, 2), lambda: t.get(1), lambda: t.get(1, 2),
                     lambda: t.pop(1), lambda: t.pop(1, 2)):
            try:
                call()
            except RuntimeError:
                pass
            else:
                raise AssertionError("no RuntimeError")
        del t
        gc.collect()
        print("survived")
    """)


def test_uninitialised_subclass_instance_never_crashes(child):
    child("""
        import gc
        import hashtable
        class Sub(hashtable.HashTable):
            pass
        t = Sub.__new__(Sub)
        try:
            t.set("a", 1)
        except RuntimeError:
            pass
        else:
            raise AssertionError("no RuntimeError")
        repr(t)
        del t
        gc.collect()
    """)


def test_failed_init_then_dealloc_does_not_crash(child):
    child("""
        import gc
        import hashtable
        for bad in ({"size": 0}, {"size": "x"}, {"max_load": 0}, {"hash_func": 3}, {"size": 10**15}):
            try:
                hashtable.HashTable(**bad)
            except (TypeError, ValueError, MemoryError):
                pass
            else:
                raise AssertionError(bad)
        gc.collect()
    """)


def test_max_load_too_large_for_a_float_names_the_argument():
    with pytest.raises(OverflowError) as e:
        HashTable(max_load=10**400)
    assert str(e.value) == "max_load is too large to be a float"


def test_max_load_of_an_int_subclass_is_its_float():
    """An int subclass's __float__ is Python code, called for max_load (as
    float() calls it); what it raises is raised, not reworded."""
    class Load(int):
        def __float__(self):
            return 0.75

    class Broken(int):
        def __float__(self):
            raise ZeroDivisionError("from __float__")

    assert HashTable(max_load=Load(3)).max_load == 0.75
    with pytest.raises(ZeroDivisionError, match="from __float__"):
        HashTable(max_load=Broken(1))


def test_only_the_main_interpreter_imports_the_module(child):
    """The type is a static PyTypeObject, shared by the whole process: a
    subinterpreter (also a legacy one, sharing the GIL, where 3.12's
    Py_mod_multiple_interpreters slot does not apply) gets ImportError."""
    done = child("""
        import _testcapi
        status = _testcapi.run_in_subinterp(
            "import sys\\n"
            "try:\\n"
            "    import hashtable\\n"
            "except ImportError as e:\\n"
            "    print('ImportError:', e)\\n")
        import hashtable
        print("main", hashtable.HashTable.__name__, status)
    """)
    lines = done.stdout.splitlines()
    assert any(l.startswith("ImportError: hashtable can only be imported in the main interpreter")
               for l in lines), done.stdout + done.stderr
    assert lines[-1] == "main HashTable 0", done.stdout
