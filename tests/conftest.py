"""Shared set-up: `import hashtable` loads the normal build for this interpreter.

The module is imported from build/lib.*/, the way the talk used it, and built
first (`python setup.py build`) when it is missing or older than any source:
`pytest tests/test_methods.py` right after editing src/ tests the edit. See
examples/_build.py.

Fixtures and helpers:
- `ht`: the module.
- `trace_level`: `with trace_level("calls"): ...` sets the trace level and
  restores the previous one.
- `traced`: `with traced("calls") as lines: ...` also captures the trace lines
  (they go through sys.stdout) into the list `lines`, filled on exit.
- `child`: `child(code, env=None, check=True)` runs `code` in a fresh
  interpreter that finds this build (HASHTABLE_TRACE unset unless `env` sets
  it); returns the CompletedProcess, failing the test on a non-zero exit
  unless check=False. Checks that could crash the interpreter run there, so
  a segfault fails one test instead of killing pytest.
- `@pytest.mark.debug_only`: skipped unless the interpreter is a debug build
  (`sys.gettotalrefcount` exists, e.g. Debian's python3.11-dbg).
"""
import contextlib
import gc
import io
import os
import subprocess
import sys
import textwrap

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "examples"))
import _build  # noqa: E402

hashtable = _build.load()
# Quiet by default: tables that die between tests (garbage collected while
# pytest prints its progress) would print their lifecycle lines into the
# report. Tests of tracing choose their level with `traced`/`trace_level`,
# and the default level at import is tested in a child process.
hashtable.set_trace("off")

DEBUG_INTERPRETER = hasattr(sys, "gettotalrefcount")


def pytest_configure(config):
    config.addinivalue_line("markers", "debug_only: needs a debug interpreter (sys.gettotalrefcount)")
    # tests/refleak_plugin.py's marker, known here too for runs without the plugin.
    config.addinivalue_line("markers", "no_refleaks: run once even under --refleaks")


def pytest_collection_modifyitems(config, items):
    if DEBUG_INTERPRETER:
        return
    skip = pytest.mark.skip(reason="needs a debug interpreter (sys.gettotalrefcount)")
    for item in items:
        if "debug_only" in item.keywords:
            item.add_marker(skip)


def pytest_report_header(config):
    return "hashtable: %s (debug interpreter: %s)" % (hashtable.__file__, DEBUG_INTERPRETER)


@pytest.fixture
def ht():
    return hashtable


@contextlib.contextmanager
def _trace_level(level):
    previous = hashtable.set_trace(level)
    try:
        yield previous
    finally:
        hashtable.set_trace(previous)


@contextlib.contextmanager
def _traced(level):
    lines = []
    gc.collect()  # tables of earlier tests must not print into this capture
    buf = io.StringIO()
    try:
        with _trace_level(level), contextlib.redirect_stdout(buf):
            yield lines
    finally:
        lines.extend(buf.getvalue().splitlines())


@pytest.fixture
def trace_level():
    return _trace_level


@pytest.fixture
def traced():
    return _traced


def run_child(code, env=None, timeout=120):
    """Runs dedented `code` with this interpreter and this build on its path."""
    full_env = _build.env_for()
    full_env.pop("HASHTABLE_TRACE", None)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def check_child(code, env=None, check=True):
    """run_child; unless check=False, fails the test (showing the output) on a non-zero exit."""
    done = run_child(code, env)
    assert not check or done.returncode == 0, "child exited with %d\n--- stdout\n%s\n--- stderr\n%s" % (
        done.returncode, done.stdout, done.stderr)
    return done


@pytest.fixture
def child():
    return check_child


class KeysGive:
    """A mapping whose keys() returns what it was given (a non-iterable, a
    list of keys it then answers for with the key itself)."""

    def __init__(self, keys):
        self.given = keys

    def keys(self):
        return self.given

    def __getitem__(self, key):
        return key


def _fmix32(h):
    """MurmurHash3's 32-bit finalizer (src/library/table.rs, `fmix32`)."""
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    return h ^ (h >> 16)


def bucket(hash_value, size):
    """The bucket a hash lands in among `size` buckets, by the rule of
    src/library/table.rs (`bucket_of`): a hash in [-2**31, 2**32) maps as the
    talk's library mapped it, hash mod size; any other is first folded to 32
    bits, (low 32 bits) XOR fmix32(high 32 bits). Written again here from the
    documented rule, so that a test can tell when the code leaves it."""
    if not -2**31 <= hash_value < 2**32:
        as_u64 = hash_value & (2**64 - 1)
        hash_value = (as_u64 & 0xFFFFFFFF) ^ _fmix32(as_u64 >> 32)
    return hash_value % size
