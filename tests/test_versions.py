"""tools/versions.py, the table of docs/walkthrough.md's "Your Python is not
the talk's": what it reports for the running interpreter is what the lessons
print and assert here."""
import json
import os
import re
import subprocess
import sys

import _lesson

# What sys.getrefcount gains per call level, as in test_lessons.py.
REFS_PER_CALL_LEVEL = 2 if sys.version_info < (3, 11) else 1 if sys.version_info < (3, 14) else 0

REFLEAKS_RUN_ONCE = "runs the probe and the lessons in child processes"
VERSIONS = os.path.join(_lesson.REPO, "tools", "versions.py")


def probe():
    """The probe's result for this interpreter, through tools/versions.py."""
    done = subprocess.run([sys.executable, VERSIONS, "--json", "--python", sys.executable],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)["results"][sys.executable]


def test_probe_follows_the_version_rules_the_docs_state(ht):
    r = probe()
    assert r["version"] == sys.version.split()[0]
    assert r["debug"] == hasattr(sys, "gettotalrefcount")
    assert r["rise_per_call_level"] == REFS_PER_CALL_LEVEL
    assert r["frames_per_call_level"] == 0 and r["running_frame_tracked"] is False
    immortal = sys.version_info >= (3, 12)
    assert r["immortal_none"] is r["immortal_small_int"] is r["immortal_startup_str"] is immortal
    # 3.12 made every interned string immortal; 3.13 only those of the interpreter's own.
    assert r["immortal_runtime_str"] is (sys.version_info[:2] == (3, 12))
    assert r["borrowed_loads"] is (sys.version_info >= (3, 14))
    try:
        {}[[]]
    except TypeError as e:
        assert r["dict_message"] == str(e)
    # The module mirrors the dict of the interpreter it runs on.
    try:
        ht.HashTable()[[]]
    except TypeError as e:
        assert str(e) == r["dict_message"].replace("a dict key", "a HashTable key")


def test_probe_agrees_with_lesson_1():
    r = probe()
    done = subprocess.run([sys.executable, os.path.join(_lesson.HERE, "01_refcounts.py")],
                          cwd=_lesson.REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    out = done.stdout

    def first(pattern):
        match = re.search(pattern, out)
        assert match, (pattern, out)
        return match.group(1)

    assert int(first(r">>> obj = object\(\)\n  sys.getrefcount\(obj\) = (\d+)")) \
        == r["getrefcount_global_object"]
    assert int(first(r"show_ref_counts\(obj, times_to_call=1, show_referrers=True\)\n"
                     r"    sys.getrefcount\(obj\) = (\d+)")) == r["getrefcount_in_first_call"]
    assert float(first(r"getrefcount rose by -?\d+ \((-?[\d.]+) per level\)")) \
        == r["rise_per_call_level"]


def test_probe_agrees_with_lesson_3():
    """Lesson 3's first line, in a lesson's child with the normal build."""
    r = probe()
    fate = _lesson.run_child('print("sys.getrefcount(hash) =", sys.getrefcount(hash))',
                             trace="off")
    assert fate.ok, fate.stderr
    assert fate.stdout.strip() == "sys.getrefcount(hash) = %d" % r["getrefcount_hash"]
