"""Lesson 15: where the time goes (cProfile, and perf).

The talk's exploration asked what makes a table fast: its size, its
max_load, its hash function. With the talk's home-made hash function,
written in Python (examples/_talk_hash.py), one question comes first: how
much of each `set` is that Python function, and how much the table?

Three ways to answer, from the least to the most intrusive:

1. Timing alone: the same sets with the Python hash function and with the
   builtin `hash` (a C function: calling it costs next to nothing). The
   difference is what the Python function costs.
2. cProfile: counts every call of a Python function and of a builtin one
   (`set` is a method of a C type: cProfile sees it as a builtin), with the
   time spent inside (tottime) and below (cumtime). It adds its own cost to
   every call, so it overstates the share of small Python functions.
3. perf, Linux's sampling profiler: it stops the process about a thousand
   times a second and notes where it is, at no cost per call. It sees
   native code (the share spent in the module's .so against the
   interpreter's); from 3.12 on, `python -X perf` also names Python
   functions (py::talk_hash) in perf's call chains.

    python examples/15_where_the_time_goes.py    (HASHTABLE_QUICK=1: fewer keys)
"""
import cProfile
import io
import os
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import time

import _lesson
from _talk_hash import talk_hash

KEYS = 20000 if _lesson.QUICK else 200000
REPEATS = 3 if _lesson.QUICK else 5


def fill(hashtable, hash_func, keys):
    """One new table, every key set in it: what is timed and profiled."""
    table = hashtable.HashTable(hash_func=hash_func)
    for key in keys:
        table.set(key, key)
    return table


def key_sets(count):
    """The two kinds of keys the talk's hash function treats differently."""
    return {"int": list(range(count)), "str": ["key%d" % i for i in range(count)]}


def best_time(hashtable, hash_func, keys, repeats=REPEATS):
    """The best of `repeats` fills, in seconds."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fill(hashtable, hash_func, keys)
        best = min(best, time.perf_counter() - start)
    return best


def timing_shares(hashtable, count=KEYS):
    """{kind: (ns per set with talk_hash, ns with hash, the Python function's share)}."""
    shares = {}
    for kind, keys in key_sets(count).items():
        python = best_time(hashtable, talk_hash, keys) / len(keys) * 1e9
        builtin = best_time(hashtable, hash, keys) / len(keys) * 1e9
        shares[kind] = (python, builtin, max(0.0, (python - builtin) / python))
    return shares


def profile(hashtable, keys):
    """cProfile over one fill with talk_hash: (the pstats text, talk_hash's
    cumulative seconds, set's cumulative seconds)."""
    profiler = cProfile.Profile()
    profiler.runcall(fill, hashtable, talk_hash, keys)
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("cumulative").print_stats(6)
    hash_time = set_time = 0.0
    for (_file, _line, name), (_cc, _nc, _tt, cumtime, _callers) in stats.stats.items():
        if name == "talk_hash":
            hash_time += cumtime
        elif "method 'set'" in name and "HashTable" in name:
            set_time += cumtime
    return text.getvalue(), hash_time, set_time


# perf records a child that fills tables with talk_hash, nothing else, for
# sys.argv[1] seconds: at 999 samples a second, enough samples to count.
PERF_CHILD = '''
import time
sys.path.insert(0, %r)
from _talk_hash import talk_hash
hashtable.set_trace("off")
keys = list(range(10000))
deadline = time.perf_counter() + float(sys.argv[1])
while time.perf_counter() < deadline:
    table = hashtable.HashTable(hash_func=talk_hash)
    for key in keys:
        table.set(key, key)
''' % _lesson.HERE
PERF_SECONDS = 1 if _lesson.QUICK else 3


def frame_pointers(python=sys.executable):
    """Whether `python` was compiled keeping frame pointers (its CFLAGS say so)."""
    code = ("import sysconfig; "
            "print('-fno-omit-frame-pointer' in (sysconfig.get_config_var('CFLAGS') or ''))")
    done = subprocess.run([python, "-c", code], capture_output=True, text=True)
    return done.stdout.strip() == "True"


def perf_shares(seconds=PERF_SECONDS):
    """perf's samples of PERF_CHILD (`seconds` long) by shared object: ({dso: percent}, the
    Python function's inclusive percent or None, a note), or (None, None,
    why not) when perf is missing or not allowed."""
    perf = shutil.which("perf")
    if perf is None:
        return None, None, "perf: not found (Debian: apt install linux-perf)"
    python = sys.executable
    _lesson.prepare(None)
    py_perf = sys.version_info >= (3, 12)
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "perf.data")
        cmd = [perf, "record", "-q", "-F", "999", "-o", data] + (["-g"] if py_perf else []) + [
            "--", python] + (["-X", "perf"] if py_perf else []) + [
            "-c", _lesson.prelude(None) + PERF_CHILD, str(seconds)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if done.returncode != 0 or not os.path.exists(data):
            return None, None, "perf record failed here (exit %d): %s" % (
                done.returncode, (done.stderr.strip().splitlines() or [""])[-1][:200])
        report = subprocess.run([perf, "report", "-i", data, "--stdio", "--no-children",
                                 "--sort", "dso", "-g", "none"],
                                capture_output=True, text=True, timeout=600).stdout
        shares = {}
        for percent, dso in re.findall(r"^\s+([\d.]+)%\s+(\S+)\s*$", report, re.M):
            shares[dso] = shares.get(dso, 0.0) + float(percent)
        python_share = None
        note = "python -X perf needs 3.12+: this is %d.%d" % sys.version_info[:2]
        if py_perf:
            children = subprocess.run([perf, "report", "-i", data, "--stdio", "--children",
                                       "--sort", "sym", "-g", "none"],
                                      capture_output=True, text=True, timeout=600).stdout
            found = re.search(r"^\s+([\d.]+)%\s+[\d.]+%\s+\[.\] py::talk_hash:", children, re.M)
            python_share = float(found.group(1)) if found else 0.0
            note = "python -X perf: py::talk_hash is in %.1f%% of the call chains" % python_share
            if not frame_pointers(python):
                note += (".\nperf follows frame pointers, and this interpreter was built without"
                         " them\n(no -fno-omit-frame-pointer in its CFLAGS): its chains stop in"
                         " the interpreter's\nframes, before the trampoline that names the"
                         " Python function. CPython's\nperf how-to asks for a build with"
                         " -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer.")
        if os.environ.get("HASHTABLE_KEEP_PERF"):
            print(report)
        return shares, python_share, note


# The interpreter's own code: libpython, or a python binary linked statically.
INTERPRETER = re.compile(r"^(libpython|python\d)")


def main():
    hashtable = _lesson.load()
    hashtable.set_trace("off")

    _lesson.heading("1. timing: talk_hash against the builtin hash (%s)" % _lesson.version())
    print("%d keys, best of %d fills; ns per set:" % (KEYS, REPEATS))
    for kind, (python, builtin, share) in timing_shares(hashtable).items():
        print("  %s keys: %6.0f ns with talk_hash, %6.0f ns with hash: the Python function"
              " is %2.0f%% of a set" % (kind, python, builtin, 100 * share))

    _lesson.heading("2. cProfile, one fill with talk_hash")
    for kind, keys in key_sets(KEYS).items():
        text, hash_time, set_time = profile(hashtable, keys)
        print("%s keys:" % kind)
        body = [line for line in text.splitlines() if line.strip()]
        start = next(i for i, line in enumerate(body) if "ncalls" in line)
        for line in body[start:]:
            print("  " + _lesson.portable(line))
        print("  talk_hash: %.0f%% of the time inside set (cumtime %.3f s of %.3f s)"
              % (100 * hash_time / set_time, hash_time, set_time))
    print("""
cProfile's shares differ from the timing's: it adds its own bookkeeping to
every call it records (two per set: set and talk_hash) and charges it to
both. The timing is the better number; cProfile is the better map: who
calls what, how often (talk_hash once per set, and for str keys a generator
step per character).""")

    _lesson.heading("3. perf: samples by shared object (int keys, talk_hash)")
    shares, python_share, note = perf_shares()
    if shares is None:
        print(note)
    else:
        module = sum(p for dso, p in shares.items() if dso.startswith("hashtable"))
        interpreter = sum(p for dso, p in shares.items() if INTERPRETER.match(dso))
        print("  %5.1f%%  the interpreter (%s): Python code: the loop and talk_hash" % (
            interpreter, ", ".join(sorted(d for d in shares if INTERPRETER.match(d)))))
        print("  %5.1f%%  the module (hashtable*.so): the table and its glue" % module)
        print("  %5.1f%%  the rest (the kernel, libc, the loader)" % (
            sum(shares.values()) - module - interpreter))
        print(note)
    print("""
The answer: with the talk's Python hash function most of a set is the
Python function, and the table itself, the part the talk's knobs (size,
max_load) tune, is a small part; a hash function in C (the builtin hash, or
the module's default) makes the table's own work visible.""")


if __name__ == "__main__":
    main()
