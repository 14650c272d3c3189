"""The refleak plugin (tests/refleak_plugin.py) finds what it claims to find.

Each test runs the plugin in a child pytest on a small test file of its own:
a test that keeps one more reference every run must fail, and tests that
only make garbage, cycles included, must pass. That the clean ones pass
matters as much: the plugin freezes the objects alive before a test
(gc.freeze) so that its collections are cheap, and a cycle the test makes
must still be collected between runs.
"""
import os
import subprocess
import sys
import textwrap

import pytest

REFLEAKS_RUN_ONCE = "runs the plugin in a child pytest"

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SAMPLE = '''
import gc
import weakref

KEPT = []


def test_keeps_one_reference_per_run():
    KEPT.append(object())


def test_makes_garbage_only():
    [object() for _ in range(100)]


def test_makes_a_garbage_cycle():
    a = {"me": None}
    a["me"] = a


class Node:
    pass


def test_makes_cycles_with_finalizers_and_weakrefs():
    a, b = Node(), Node()
    a.other, b.other = b, a
    a.__dict__["ref"] = weakref.ref(b, lambda r: None)
    gc.collect()
'''


def run_plugin(tmp_path, *options):
    sample = tmp_path / "test_sample.py"
    sample.write_text(textwrap.dedent(SAMPLE))
    # From tmp_path, with the repository on the path for `tests.refleak_plugin`.
    env = dict(os.environ, PYTHONPATH=REPO)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "-p", "tests.refleak_plugin", sample.name, *options],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        timeout=300)


@pytest.mark.skipif(not hasattr(sys, "gettotalrefcount"), reason="needs a debug interpreter")
def test_fails_the_test_that_keeps_a_reference_and_only_that_one(tmp_path):
    done = run_plugin(tmp_path, "--refleaks")
    out = done.stdout
    assert done.returncode == 1, out
    assert "1 failed, 3 passed" in out, out
    assert "FAILED test_sample.py::test_keeps_one_reference_per_run" in out, out
    assert "reference leak: sys.gettotalrefcount() grew by [1, 1, 1] in the last 3 runs" in out, out
    assert "refleaks: 4 tests each run 3+3 times" in out, out


@pytest.mark.skipif(hasattr(sys, "gettotalrefcount"), reason="needs a release interpreter")
def test_on_a_release_interpreter_it_says_what_it_needs(tmp_path):
    done = run_plugin(tmp_path, "--refleaks")
    assert done.returncode == 4, done.stdout
    assert "--refleaks needs a debug interpreter" in done.stdout, done.stdout


def test_without_the_option_it_does_nothing(tmp_path):
    done = run_plugin(tmp_path)
    assert done.returncode == 0, done.stdout
    assert "4 passed" in done.stdout and "refleaks:" not in done.stdout, done.stdout
