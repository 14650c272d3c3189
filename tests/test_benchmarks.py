"""The benchmark scripts run to the end on tiny inputs and print their tables.

Smoke tests only: the numbers of a tiny run mean nothing (most targets fail
at 2000 keys), so these check that every measurement runs and every table
and target line is printed, not what they say. The full benchmark is
benchmarks/bench.py without arguments (docs/performance.md).
"""
import os
import re
import shutil
import subprocess
import sys

import pytest

REFLEAKS_RUN_ONCE = "runs the benchmark scripts in child interpreters: nothing to measure here"

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCHMARKS = os.path.join(REPO, "benchmarks")


def run_script(script, *args, env=None, timeout=180):
    """Runs benchmarks/`script` with this interpreter from the repository root;
    HASHTABLE_TRACE and HASHTABLE_QUICK unset, so the script's own defaults apply."""
    full_env = dict(os.environ)
    full_env.pop("HASHTABLE_TRACE", None)
    full_env.pop("HASHTABLE_QUICK", None)
    full_env.update(env or {})
    done = subprocess.run([sys.executable, os.path.join(BENCHMARKS, script)] + list(args),
                          cwd=REPO, env=full_env, capture_output=True, text=True,
                          timeout=timeout)
    return done


def explain(done):
    return "exit %d\n--- stdout\n%s\n--- stderr\n%s" % (done.returncode, done.stdout[-5000:],
                                                       done.stderr[-5000:])


def assert_targets_table(out):
    assert "== Targets ==" in out
    assert re.search(r"^target +measured +limit +result$", out, re.M), out
    held = re.search(r"^(\d+) of (\d+) targets hold"
                     r"(?:; (\d+) measured as noise, neither held nor missed)?\.$", out, re.M)
    assert held, out
    assert int(held.group(2)) > 0
    results = re.findall(r" (PASS|FAIL|NOISE)$", out, re.M)
    assert len(results) == int(held.group(2))
    assert results.count("PASS") == int(held.group(1))
    assert results.count("NOISE") == int(held.group(3) or 0)


def test_bench_runs_every_measurement():
    done = run_script("bench.py", "--n", "2000", "--repeat", "1", "--workloads", "int-ordered")
    assert done.returncode == 0, explain(done)
    out = done.stdout
    assert_targets_table(out)
    assert re.search(r"^Machine: .*; source \S+;", out, re.M), out
    assert "Module:" not in out  # no trace lines
    # The operations table with dict's own lead over the pure-Python table.
    assert re.search(r"^operation .* vs pure Python +pure / dict$", out, re.M), out
    assert re.search(r"^lookup h\[k\] .* [\d.]+x +[\d.]+x$", out, re.M), out
    # The hash function at n and at 10**4 keys, with the py_hash decomposition.
    assert "The talk's Python hash function, 2000 and 10000 keys" in out
    assert "calling from C" in out
    for size in (2000, 10000):
        assert f"int, in order, {size} keys: h[k] = v with talk_hash" in out
    # Memory at n and just past a doubling (2**11 + 1).
    assert "Memory per entry, 2000 keys and 2049 (just past a doubling)" in out
    for size in (2000, 2049):
        for how in ("tracemalloc", "RSS"):
            assert (f"int, in order, {size} keys: memory per entry, HashTable / dict ({how})"
                    in out)


def test_bench_scaling_runs_every_workload_and_operation():
    done = run_script("bench.py", "--scaling", "--sizes", "1000,2000", "--repeat", "1")
    assert done.returncode == 0, explain(done)
    out = done.stdout
    assert_targets_table(out)
    assert "pure-Python" not in out  # the header tells the rule of this mode
    assert "repeats: 100 at 1000 keys, 100 at 2000 keys" in out
    for workload in ("int, in order", "int, shuffled", "str"):
        for op in ("insert h[k] = v", "lookup h[k]", "get hit h.get(k)", "pop all h.pop(k)"):
            assert f"scaling, {workload}: {op}: HashTable at 2000 / at 1000 keys" in out


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
@pytest.mark.skipif(hasattr(sys, "gettotalrefcount"),
                    reason="a debug build's counts say nothing of a release build's "
                           "(and 36 children under callgrind take minutes)")
def test_instructions_counts_are_plausible():
    # A small N: the children's start-up under valgrind is most of the time.
    done = run_script("instructions.py", "--n", "2000", "--jobs", "2", timeout=900)
    assert done.returncode == 0, explain(done)
    rows = re.findall(r"^(int, in order|str): (.+?) +(-?\d+) +(-?\d+) +(\d+\.\d+)$",
                      done.stdout, re.M)
    assert len(rows) == 8, done.stdout
    for workload, operation, ours, d, ratio in rows:
        ours, d = int(ours), int(d)
        # An operation and its loop: more than the empty loop's few dozen
        # instructions, far fewer than thousands.
        assert 100 < ours < 5000 and 100 < d < 5000, (workload, operation, ours, d)
        assert abs(float(ratio) - ours / d) < 0.01
    assert {op for _, op, *_ in rows} == {"lookup h[k]", "get hit h.get(k)",
                                          "insert h[k] = v", "delete del h[k]"}


def test_instructions_without_valgrind_says_so(tmp_path):
    """No valgrind on PATH (an empty directory): exit status 2 and a message."""
    done = run_script("instructions.py", "--quick", env={"PATH": str(tmp_path)})
    assert done.returncode == 2, explain(done)
    assert "valgrind is not installed" in done.stderr
    assert done.stdout == ""


def test_an_overhead_below_zero_is_noise_not_a_pass():
    """Calling a hash function from the module cannot cost less than calling it
    alone: a negative difference is the machine's noise, and says nothing
    about the target."""
    sys.path.insert(0, BENCHMARKS)
    try:
        import bench
    finally:
        sys.path.remove(BENCHMARKS)
    rep = bench.Report(markdown=False)
    rep.check("overhead", -12.5, "<=", 50.0, " ns", floor=0.0)
    rep.check("overhead", 12.5, "<=", 50.0, " ns", floor=0.0)
    rep.check("overhead", 62.5, "<=", 50.0, " ns", floor=0.0)
    assert [c[3] for c in rep.checks] == ["NOISE", "PASS", "FAIL"]
    assert rep.summary() == "1 of 3 targets hold; 1 measured as noise, neither held nor missed."


def test_memory_only_measures_memory_and_nothing_else():
    done = run_script("bench.py", "--memory-only", "--workloads", "int-ordered,tuple",
                      "--n", "2000")
    assert done.returncode == 0, explain(done)
    out = done.stdout
    assert "memory only." in out.splitlines()[0]
    assert "== Memory per entry, 2000 keys and 2049 (just past a doubling)" in out
    for workload in ("int, in order", "tuple"):
        for n in (2000, 2049):
            assert re.search(r"^%s +%d +\d+\.\d +\d+\.\d +\d+\.\d +\d+\.\d$"
                             % (re.escape(workload), n), out, re.M), out
    assert "ns/op" not in out and "empty loop" not in out
    assert_targets_table(out)
    assert len(re.findall(r"memory per entry, HashTable / dict", out)) == 8
