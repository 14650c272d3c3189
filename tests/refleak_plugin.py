"""A pytest plugin that hunts reference leaks per test, as CPython's `-R` does.

On a debug interpreter (sys.gettotalrefcount exists, e.g. Debian's
python3.11-dbg), from the repository root:

    python -m pytest -p tests.refleak_plugin --refleaks tests
    python -m pytest -p tests.refleak_plugin --refleaks=3:3 tests/test_mapping.py

`--refleaks=W:R` (default 3:3, CPython's default) runs each test W times to
warm up (caches, interned strings, lazily created objects) and then R times
more, each time collecting garbage and clearing the interpreter's caches, and
recording the change of sys.gettotalrefcount() over each run. A test fails
when every one of the R deltas is positive (a leak grows with every
repetition; noise does not): the rule of CPython's
Lib/test/libregrtest/refleak.py. The change of sys.getallocatedblocks() is
recorded too (in the test report's user_properties) but not judged: the
module's own memory goes through PyMem_RawMalloc, which that count does not
see, while hypothesis' caches add a few blocks per run; tools/leakcheck.py
checks memory with tracemalloc instead, which sees both.

The test body is repeated; fixtures are set up once around all the runs (as
-R repeats a test method, not its module). Tests marked `no_refleaks`, and
the tests of a module that sets `REFLEAKS_RUN_ONCE = "reason"`, run once
(the plugin registers the marker; tests/conftest.py does too, for runs
without it). Without --refleaks the plugin does nothing.
"""
import gc
import sys

import pytest


def pytest_addoption(parser):
    group = parser.getgroup("refleaks", "reference leak hunting (debug interpreter)")
    group.addoption("--refleaks", action="store", nargs="?", const="3:3", default=None,
                    metavar="WARMUPS:RUNS",
                    help="run each test WARMUPS+RUNS times and fail it if "
                         "sys.gettotalrefcount() grows on every one of the last RUNS (default 3:3)")


def _parse(value):
    try:
        warmups, runs = (int(n) for n in value.split(":"))
    except ValueError:
        raise pytest.UsageError("--refleaks expects WARMUPS:RUNS, e.g. 3:3, not %r" % value)
    if warmups < 1 or runs < 1:
        raise pytest.UsageError("--refleaks: WARMUPS and RUNS must be at least 1")
    return warmups, runs


def pytest_configure(config):
    config.addinivalue_line("markers", "no_refleaks: run once even under --refleaks")
    value = config.getoption("refleaks")
    if value is None:
        return
    if not hasattr(sys, "gettotalrefcount"):
        raise pytest.UsageError("--refleaks needs a debug interpreter (sys.gettotalrefcount), "
                                "e.g. python3.11-dbg")
    config._refleaks = _parse(value)


def _clear_caches():
    """What libregrtest's dash_R_cleanup clears that tests commonly fill."""
    import collections.abc
    import re
    for name in collections.abc.__all__:
        abc = getattr(collections.abc, name)
        if hasattr(abc, "_abc_caches_clear"):
            abc._abc_caches_clear()
            for sub in abc.__subclasses__():
                if hasattr(sub, "_abc_caches_clear"):
                    sub._abc_caches_clear()
    re.purge()
    try:
        import typing
        for cleanup in getattr(typing, "_cleanups", []):
            cleanup()
    except ImportError:  # pragma: no cover
        pass
    # 3.13 deprecated _clear_type_cache for this: its DeprecationWarning,
    # recorded by pytest on every run, would itself look like a leak.
    (getattr(sys, "_clear_internal_caches", None) or sys._clear_type_cache)()
    gc.collect()
    gc.collect()


def _repeat(item, runtest, warmups, runs):
    """Runs the test warmups + runs times; returns the (refs, blocks) deltas of the last runs."""
    total = warmups + runs
    # Preallocated and updated in place, as libregrtest does, so that the
    # bookkeeping itself costs the same number of references every time.
    rc_deltas = [0] * total
    alloc_deltas = [0] * total
    # Every object alive now (pytest's, hypothesis', the test module's) goes
    # to the permanent generation, which gc.collect() does not traverse: the
    # collections between runs then look only at what the test made, instead
    # of some 40,000 objects each time (about 0.05 s a collection on
    # python3.11-dbg: most of the suite's time). A cycle the test makes is
    # still collected; one that runs through an older object was kept alive
    # by it anyway, and older garbage stays as it is until the test ends
    # (gc.unfreeze()).
    gc.freeze()
    try:
        _clear_caches()
        rc_before = sys.gettotalrefcount()
        alloc_before = sys.getallocatedblocks()
        for i in range(total):
            runtest()
            _clear_caches()
            rc_after = sys.gettotalrefcount()
            alloc_after = sys.getallocatedblocks()
            rc_deltas[i] = rc_after - rc_before
            alloc_deltas[i] = alloc_after - alloc_before
            rc_before, alloc_before = rc_after, alloc_after
    finally:
        gc.unfreeze()
    return rc_deltas[warmups:], alloc_deltas[warmups:]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item):
    """Replaces the item's runtest (which pytest's own pytest_runtest_call
    calls next) with the repeating, measuring version."""
    settings = getattr(item.config, "_refleaks", None)
    if settings is None or "runtest" in vars(item) or item.get_closest_marker("no_refleaks"):
        return
    once = getattr(getattr(item, "module", None), "REFLEAKS_RUN_ONCE", None)
    if once:
        item.user_properties.append(("refleaks", "run once: " + once))
        return
    warmups, runs = settings
    original = item.runtest

    def repeated():
        rc, blocks = _repeat(item, original, warmups, runs)
        item.user_properties.append(("refleaks", {"refs": rc, "blocks": blocks}))
        if all(d >= 1 for d in rc):
            pytest.fail("reference leak: sys.gettotalrefcount() grew by %s in the last %d runs "
                        "(after %d warm-ups), sum %d" % (rc, runs, warmups, sum(rc)),
                        pytrace=False)

    item.runtest = repeated


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    settings = getattr(config, "_refleaks", None)
    if settings is None:
        return
    checked = 0
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) == "call" and any(
                    name == "refleaks" and isinstance(value, dict)
                    for name, value in getattr(report, "user_properties", ())):
                checked += 1
    terminalreporter.write_line("refleaks: %d tests each run %d+%d times, checked for growth of "
                                "sys.gettotalrefcount()"
                                % (checked, settings[0], settings[1]))
