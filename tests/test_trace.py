"""Trace lines, as in the talk's final demo: levels, prefixes, order, set_trace,
HASHTABLE_TRACE, and tracing at interpreter shutdown."""
import pytest

from conftest import hashtable

HashTable = hashtable.HashTable

ALLOCATED = "Library: allocated a table of 4 buckets (max load 0.5)"


def index_of(lines, prefix, start=0):
    """Index of the first line at or after `start` that starts with `prefix`."""
    for i in range(start, len(lines)):
        if lines[i].startswith(prefix):
            return i
    raise AssertionError("no line starting with %r after line %d in:\n%s"
                         % (prefix, start, "\n".join(lines)))


def test_off_prints_nothing(traced):
    with traced("off") as lines:
        t = HashTable(hash_func=None)
        t.set(1, 1).set(2, 2).set(3, 3)
        t.get(1)
        t.pop(1)
        del t
    assert lines == []


def test_lifecycle_prints_allocation_then_dealloc_before_free(traced):
    with traced("lifecycle") as created:
        t = HashTable()
        t.set(1, "a").set(2, "b").set(3, "c")
        t.get(1)
    assert created == [ALLOCATED]
    with traced("lifecycle") as died:
        del t
    assert len(died) == 2, died
    assert died[0].startswith("Module: dealloc")
    assert died[1] == "Library: freed a table of 8 buckets and 3 entries"


@pytest.mark.parametrize("n, counted", [(0, "0 values"), (1, "1 value"), (3, "3 values")])
def test_the_dealloc_line_counts_the_values(traced, n, counted):
    t = HashTable()
    for i in range(n):
        t[i] = i
    with traced("lifecycle") as died:
        del t
    assert died[0] == "Module: dealloc: releasing hash_func and " + counted


def test_lifecycle_lines_of_other_sizes(traced):
    with traced("lifecycle") as lines:
        t = HashTable(size=16, max_load=0.75, hash_func=None)
        del t
    assert lines[0] == "Library: allocated a table of 16 buckets (max load 0.75)"
    assert lines[-1] == "Library: freed a table of 16 buckets and 0 entries"


def test_calls_set_add_and_resize(traced):
    with traced("calls") as lines:
        t = HashTable()
        t.set(1, "a").set(2, "b").set(3, "c")
    assert ALLOCATED in lines
    assert all(line.startswith(("Module: ", "Library: ")) for line in lines), lines
    assert sum(line.startswith("Module: set(") for line in lines) == 3
    # Each set: the hash, then (for the third key, after the resize) the add.
    i = 0
    for key in (1, 2, 3):
        i = index_of(lines, "Module: hash", i)
        assert lines[i].endswith("-> %d" % key), lines[i]
        if key == 3:
            resize = index_of(lines, "Library: resize", i)
            assert lines[resize] == "Library: resize from 4 to 8 buckets (2 entries moved)"
            i = index_of(lines, "Library: add", resize)
        else:
            i = index_of(lines, "Library: add", i)
    assert sum(line.startswith("Library: resize") for line in lines) == 1
    assert sum(line.startswith("Library: add") for line in lines) == 3


def test_calls_replace_get_pop(traced):
    t = HashTable(hash_func=None)
    t.set(5, "a")
    with traced("calls") as replace:
        t.set(5, "b")
    with traced("calls") as get:
        t.get(5)
    with traced("calls") as pop:
        t.pop(5)
    for lines, call, step in ((replace, "Module: set(", "Library: replace"),
                              (get, "Module: get(", "Library: lookup"),
                              (pop, "Module: pop(", "Library: remove")):
        index_of(lines, call)
        hash_line = index_of(lines, "Module: hash")
        assert lines[hash_line].endswith("-> 5"), lines[hash_line]
        index_of(lines, step, hash_line)
    assert not any(line.startswith("Library: add") for line in replace)


def test_calls_show_the_user_hash_and_python_prints_in_order(traced):
    # The talk's final demo: the Python hash function prints, then the
    # module reports the hash it got, then the library adds.
    def hash_func(key):
        print("Python: -> now hashing", key)
        return 1000 + key

    with traced("calls") as lines:
        t = HashTable(hash_func=hash_func)
        t.set(7, "seven")
    index_of(lines, "Module: set(")
    i = index_of(lines, "Python: -> now hashing 7")
    i = index_of(lines, "Module: hash", i)
    assert lines[i].endswith("-> 1007"), lines[i]
    index_of(lines, "Library: add", i)


def test_lifecycle_does_not_show_calls(traced):
    t = HashTable()
    with traced("lifecycle") as lines:
        for i in range(10):
            t.set(i, i)
        t.get(1)
        t.pop(1)
    assert lines == []


def test_set_trace_returns_the_previous_level(trace_level):
    with trace_level("off"):
        assert hashtable.set_trace("calls") == "off"
        assert hashtable.set_trace("lifecycle") == "calls"
        assert hashtable.set_trace("off") == "lifecycle"
        assert hashtable.set_trace("off") == "off"


@pytest.mark.parametrize("bad, error", [
    ("verbose", ValueError), ("", ValueError), ("CALLS", ValueError), ("off ", ValueError),
    (2, TypeError), (None, TypeError), (b"calls", TypeError),
])
def test_set_trace_rejects_bad_levels(trace_level, bad, error):
    with trace_level("calls"):
        with pytest.raises(error):
            hashtable.set_trace(bad)
        assert hashtable.set_trace("calls") == "calls"  # unchanged


def test_default_level_at_import_is_lifecycle(child):
    out = child("""
        import hashtable
        t = hashtable.HashTable()
        del t
        print("level", hashtable.set_trace("off"))
    """).stdout.splitlines()
    assert out[-1] == "level lifecycle"
    allocated = out.index(ALLOCATED)
    assert any(line.startswith("Module: ") for line in out[:allocated]), out  # the import line
    assert out[allocated + 1].startswith("Module: dealloc")
    assert out[allocated + 2] == "Library: freed a table of 4 buckets and 0 entries"


@pytest.mark.parametrize("level", ["off", "lifecycle", "calls"])
def test_hashtable_trace_environment_variable(child, level):
    out = child("""
        import hashtable
        t = hashtable.HashTable()
        t.set(1, 1)
        del t
        print("level", hashtable.set_trace("off"))
    """, env={"HASHTABLE_TRACE": level}).stdout.splitlines()
    assert out[-1] == "level " + level
    traces = out[:-1]
    if level == "off":
        assert traces == []
    else:
        assert ALLOCATED in traces
        assert any(line.startswith("Module: dealloc") for line in traces)
        has_calls = any(line.startswith("Library: add") for line in traces)
        assert has_calls == (level == "calls")


SHUTDOWN = """
    import sys
    import hashtable
    hashtable.set_trace("calls")
    kept = hashtable.HashTable(hash_func=lambda key: hash(key))
    kept.set("x", kept)                      # a cycle, left for shutdown
    class Holder:
        pass
    holder = Holder()
    holder.table = hashtable.HashTable(hash_func=None).set(1, holder)
    {extra}
"""


@pytest.mark.parametrize("extra", [
    "",
    "sys.stdout.flush()\nsys.stdout = None",
    "sys.stdout.close()",
    "del sys.stdout",
    "import atexit\natexit.register(lambda: hashtable.HashTable().set(2, 2))",
])
def test_tracing_at_interpreter_shutdown_never_crashes(child, extra):
    done = child(SHUTDOWN.format(extra=extra.replace("\n", "\n    ")), check=False)
    assert done.returncode == 0, done.stderr
    assert "Fatal" not in done.stderr
    assert "Traceback" not in done.stderr


def test_calls_shows_every_module_call(traced):
    t = HashTable()
    for i in range(3):
        t[i] = i
    calls = [
        (lambda: len(t), "Module: len()"),
        (lambda: iter(t), "Module: iter()"),
        (lambda: t.keys(), "Module: keys()"),
        (lambda: t.values(), "Module: values()"),
        (lambda: t.items(), "Module: items()"),
        (lambda: repr(t), "Module: repr()"),
        (lambda: t == {}, "Module: __eq__(<dict>)"),
        (lambda: t != {}, "Module: __ne__(<dict>)"),
        (lambda: t.stats(), "Module: stats()"),
        (lambda: t.copy(), "Module: copy()"),
        (lambda: t.setdefault(9), "Module: setdefault(9)"),
        (lambda: 1 in t, "Module: __contains__(1)"),
        (lambda: t[1], "Module: __getitem__(1)"),
        (lambda: t.update({5: 5}), "Module: update(5, <int>)"),
        (lambda: HashTable.fromkeys([6]), "Module: fromkeys(6, <NoneType>)"),
        (lambda: t.popitem(), "Module: popitem()"),
        (lambda: t.clear(), "Module: clear()"),
    ]
    for call, expected in calls:
        with traced("calls") as lines:
            call()
        assert expected in lines, (expected, lines)


def test_calls_shows_the_library_step_of_popitem(traced):
    t = HashTable(hash_func=None)
    t[7] = 7
    with traced("calls") as lines:
        t.popitem()
    i = index_of(lines, "Module: popitem()")
    assert lines[i + 1] == "Library: remove 7 (hash 7) from bucket 3: popped", lines


def test_an_empty_hashtable_trace_means_the_default(child):
    out = child("""
        import hashtable
        print("level", hashtable.set_trace("off"))
    """, env={"HASHTABLE_TRACE": ""}).stdout.splitlines()
    assert out[-1] == "level lifecycle"
