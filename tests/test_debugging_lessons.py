"""Lessons 12 to 15 (finding the bugs yourself), proved on this interpreter.

Each test imports a lesson (examples/12_*.py ... 15_*.py) and runs the very
functions its main() prints around: gdb on the forget-incref crash,
gettotalrefcount and tracemalloc on the forget-decref leak, valgrind on the
decref-borrowed read of freed memory, and the profile of the talk's Python
hash function. A lesson whose tool is missing (gdb, valgrind, perf, a debug
interpreter) is skipped, saying which tool. Every bug runs in a child.
"""
import glob
import importlib
import os
import re
import shutil
import sys

import pytest

import _lesson

REFLEAKS_RUN_ONCE = ("every bug runs in a child under gdb, valgrind or tracemalloc; lesson 15's "
                     "timings and profiles would only be repeated")

EXAMPLES = os.path.join(_lesson.REPO, "examples")
DEBUG_INTERPRETER = hasattr(sys, "gettotalrefcount")
needs_gdb = pytest.mark.skipif(shutil.which("gdb") is None, reason="gdb is not installed")
needs_valgrind = pytest.mark.skipif(shutil.which("valgrind") is None,
                                    reason="valgrind is not installed")


def lesson(number):
    """The lesson script examples/<number>_*.py, imported (its main() does not run)."""
    (path,) = glob.glob(os.path.join(EXAMPLES, "%02d_*.py" % number))
    return importlib.import_module(os.path.basename(path)[:-3])


def explain(fate):
    return "child: %s\n--- stdout\n%s\n--- stderr\n%s" % (fate.summary(), fate.stdout,
                                                           fate.stderr[-3000:])


def section(out, title):
    """The part of lesson 12's gdb output from the "@@@ <title>" line to the next."""
    start = out.index("@@@ " + title)
    end = out.find("\n@@@ ", start + 1)
    return out[start:] if end < 0 else out[start:end]


# --- lesson 12: the crash, in gdb --------------------------------------------

@needs_gdb
def test_gdb_walks_back_from_the_crash_to_set_impl():
    twelve = lesson(12)
    out, scripts = twelve.run_gdb("forget-incref")
    if twelve.not_run(out):
        pytest.skip(twelve.not_run(out))  # a container without ptrace, say
    # The native frames name the Rust functions and their lines (debug = 1).
    assert re.search(r"#0  hashtable::module::hashtable_type::set_impl \(\) at "
                     r"src/module/hashtable_type\.rs:\d+", out), out
    assert re.search(r"hashtable::module::hashtable_type::hashtable_set \(\) at "
                     r"src/module/hashtable_type\.rs:\d+", out), out
    freed = section(out, "stop 2")
    assert re.search(r"#0  hashtable::module::hashtable_type::hashtable_dealloc \(\) at "
                     r"src/module/hashtable_type\.rs:\d+", freed), out
    crash = section(out, "continue: the dealloc ends")
    assert re.search(r"Program received signal SIG(SEGV|BUS|ABRT)", crash), out
    # The table died before the crash, while h was still bound.
    assert crash.index("Module: dealloc") < crash.index("Program received signal")
    # set returned self with the count it came in with: no reference added.
    counts = twelve.refcounts(out)
    if twelve.REGISTERS.get(twelve.platform.machine()):
        assert counts["ob_refcnt of what set returns"] == counts["ob_refcnt of self on entry"], out
    if not scripts:
        assert 'Undefined command: "py-bt"' in out
        pytest.skip("python-gdb.py not found for %s: py-bt not checked" % sys.executable)
    if not twelve.py_bt_worked(out):
        pytest.skip("py-bt found no Python frame (no debug info for %s?)" % sys.executable)
    # py-bt: the line whose call dropped the last reference, then the crashing line.
    assert re.search(r'File ".*12_crash_in_gdb\.py", line \d+, in the_bug\n +h\.set\(1, 1\)',
                     freed), out
    assert re.search(r'File ".*12_crash_in_gdb\.py", line \d+, in the_bug\n +h\.set\(2, 2\)',
                     crash), out


@needs_gdb
def test_gdb_fixed_build_returns_self_with_one_more_reference():
    twelve = lesson(12)
    if not twelve.REGISTERS.get(twelve.platform.machine()):
        pytest.skip("the lesson reads registers of x86_64 and aarch64 only")
    out, _scripts = twelve.run_gdb(None)
    if twelve.not_run(out):
        pytest.skip(twelve.not_run(out))
    counts = twelve.refcounts(out)
    assert counts["ob_refcnt of what set returns"] == counts["ob_refcnt of self on entry"] + 1, out
    assert "Program received signal" not in out, out


def test_python_gdb_scripts_are_found_where_they_exist():
    for script in lesson(12).python_gdb_scripts():
        assert script.endswith("-gdb.py") and os.path.exists(script)


# --- lesson 13: the leak, traced to its line ---------------------------------

@pytest.mark.skipif(not DEBUG_INTERPRETER, reason="sys.gettotalrefcount: debug interpreter only")
def test_gettotalrefcount_grows_by_one_per_call_with_the_bug():
    thirteen = lesson(13)
    deltas = re.compile(r"after each call minus before: \[([-\d, ]+)\]")
    buggy = thirteen.total_per_call("forget-decref", sys.executable)
    fixed = thirteen.total_per_call(None, sys.executable)
    assert buggy.ok and fixed.ok, explain(buggy) + explain(fixed)
    assert deltas.search(buggy.stdout).group(1) == ", ".join(["1"] * thirteen.CALLS), explain(buggy)
    assert deltas.search(fixed.stdout).group(1) == ", ".join(["0"] * thirteen.CALLS), explain(fixed)


def test_tracemalloc_points_at_the_line_making_the_leaked_hash_functions():
    thirteen = lesson(13)
    tables = 200
    buggy = thirteen.run_self("trace", "forget-decref", tables)
    assert buggy.ok, explain(buggy)
    size, blocks, traceback = thirteen.leaks(buggy)[0]
    # The top difference: allocated at the lambda's line of the lesson's file.
    assert re.search(r'13_leak_traced\.py", line %d$' % thirteen.LAMBDA_LINE, traceback[0]), \
        explain(buggy)
    assert "lambda key" in traceback[1]
    assert blocks >= tables and size >= 50 * tables, explain(buggy)
    assert "still alive: %d " % (tables + 10) in buggy.stdout, explain(buggy)
    assert "gc.get_referrers(one of them): 0 referrers" in buggy.stdout, explain(buggy)

    fixed = thirteen.run_self("trace", None, tables)
    assert fixed.ok, explain(fixed)
    assert "line %d\n" % thirteen.LAMBDA_LINE not in fixed.stdout, explain(fixed)
    assert "still alive: 0 " in fixed.stdout, explain(fixed)


def test_tracemalloc_sees_the_tables_own_memory_and_its_release():
    thirteen = lesson(13)
    entries = 10000
    fate = thirteen.run_self("table", None, entries)
    assert fate.ok, explain(fate)
    found = dict(re.findall(r"^TABLE (filled|deleted): \+?(-?\d+) B", fate.stdout, re.M))
    # Buckets and entries, allocated by Rust through PyMem_RawMalloc: at least
    # a key's hash and two pointers per entry.
    assert int(found["filled"]) >= 24 * entries, explain(fate)
    assert int(found["deleted"]) == 0, explain(fate)
    assert "table.set(key, None)" in fate.stdout


# --- lesson 14: valgrind memcheck ---------------------------------------------

@needs_valgrind
def test_memcheck_reports_the_read_of_the_dict_freed_by_default_hash_func():
    fourteen = lesson(14)
    fate, log = fourteen.memcheck("decref-borrowed")
    found = fourteen.records(log)
    assert found, explain(fate) + log[-3000:]
    first = "\n".join(found[0])
    assert first.startswith("Invalid read"), first
    read, freed = first.split("free'd", 1)
    # The read: in the dict lookup our default_hash_func makes, from tp_init.
    assert re.search(r"by default_hash_func \(hashing\.rs:\d+\)", read), first
    assert "hashtable_init (hashtable_type.rs:" in read, first
    # The free: dict_dealloc, from the Py_DECREF in default_hash_func.
    assert "dict_dealloc" in freed, first
    assert re.search(r"by default_hash_func \(hashing\.rs:\d+\)", freed), first


@needs_valgrind
def test_memcheck_finds_nothing_in_the_fixed_build():
    fourteen = lesson(14)
    fate, log = fourteen.memcheck(None)
    assert fate.ok and "made them all" in fate.stdout, explain(fate)
    assert fourteen.records(log) == [], log[-3000:]


# --- lesson 15: where the time goes -------------------------------------------

def test_the_python_hash_function_is_most_of_a_set(ht):
    fifteen = lesson(15)
    shares = fifteen.timing_shares(ht, 5000)
    for kind, (python, builtin, share) in shares.items():
        assert python > builtin, (kind, shares)
    # The str case builds a string of digits per key: far more than the table's work.
    assert shares["str"][2] > 0.8, shares


def test_cprofile_counts_one_hash_call_per_set(ht):
    fifteen = lesson(15)
    keys = fifteen.key_sets(2000)["int"]
    text, hash_time, set_time = fifteen.profile(ht, keys)
    set_line = r"^\s+2000\s.*\{method 'set' of 'hashtable\.HashTable' objects\}"
    assert re.search(set_line, text, re.M), text
    assert re.search(r"^\s+2000\s.*_talk_hash\.py:\d+\(talk_hash\)", text, re.M), text
    assert 0 < hash_time <= set_time, text


@pytest.mark.skipif(shutil.which("perf") is None, reason="perf is not installed")
def test_perf_sees_the_module_and_says_when_python_frames_need_312():
    fifteen = lesson(15)
    shares, python_share, note = fifteen.perf_shares(1)
    if shares is None:
        pytest.skip(note)  # perf exists but may not record here (perf_event_paranoid)
    assert any(dso.startswith("hashtable") for dso in shares), shares
    assert any(fifteen.INTERPRETER.match(dso) for dso in shares), shares
    assert sum(shares.values()) > 90, shares
    if sys.version_info < (3, 12):
        assert python_share is None and "needs 3.12+" in note
    else:
        assert python_share is not None and "py::talk_hash" in note
