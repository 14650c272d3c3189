#!/usr/bin/env python3
"""Instructions per operation of hashtable.HashTable and dict, counted by callgrind.

    python3 benchmarks/instructions.py              10**5 keys (a few minutes)
    python3 benchmarks/instructions.py --quick      10**4 keys
    python3 benchmarks/instructions.py --n 50000    another key count
    python3 benchmarks/instructions.py --jobs 2     two valgrind children at a time
    python3 benchmarks/instructions.py --markdown   the table as Markdown

Times on a shared machine move from run to run; instruction counts do not.
For each operation, structure and workload, a child interpreter runs under
`valgrind --tool=callgrind` twice, with the same setup: 2N keys made (int
keys in order, or shuffled str keys like bench.py's, hashes cached), the
structure made, and filled with all 2N keys for the operations on a filled
table. One run then does the operation over the first N keys, the other
over all 2N, and (Ir(2N) - Ir(N)) / N, from the "summary:" or "totals:" line
of callgrind's output file, is the cost of one loop iteration: the operation
and the loop's own instructions (the "empty loop" line shows those), without
start-up, setup or teardown. The loop runs in a function with the garbage
collector off, as in timeit, and the child leaves with os._exit right after
it, so freeing the structure is not counted either. An insert's count
includes its share of the resizes between N and 2N entries.

The children run the interpreter running this script (without site, -S) and
import the hashtable module built for it (examples/_build.py rebuilds it when it
is missing or older than any of its sources). Needs valgrind (exit status 2
without it). Standard library only.
"""
import argparse
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "examples"))

import _build  # noqa: E402

WORKLOADS = ["int, in order", "str"]

# (name, statement in `for k in keys: STATEMENT`, with h the HashTable or the
#  dict, whether the structure starts filled with all 2N keys)
OPERATIONS = [
    ("lookup h[k]", "h[k]", True),
    ("get hit h.get(k)", "h.get(k)", True),
    ("insert h[k] = v", "h[k] = v", False),
    ("delete del h[k]", "del h[k]", True),
]

# The child: argv is LIB STRUCTURE WORKLOAD STATEMENT FILLED TOTAL HALF|ALL.
CHILD = r'''
import gc, os, sys
lib, structure, workload, statement, filled, total, which = sys.argv[1:]
sys.path.insert(0, lib)
import hashtable
hashtable.set_trace("off")
if not hashtable.__file__.startswith(lib + os.sep):
    sys.exit("imported %s, not the build in %s" % (hashtable.__file__, lib))
total = int(total)
if workload == "str":
    KNUTH = 2654435761  # a prime: i * KNUTH % total permutes range(total)
    keys = ["key%d" % (i * KNUTH % total) for i in range(total)]
else:
    keys = list(range(total))
for k in keys:
    hash(k)
# Both lists in both runs, so that the setup is the same.
lists = {"half": keys[:total // 2], "all": keys}
v = None
if structure == "HashTable":
    h = hashtable.HashTable()
elif structure == "dict":
    h = {}
else:
    h = None  # the empty loop
if filled == "1":
    for k in keys:
        h[k] = v
namespace = {}
exec("def loop(h, keys, v):\n    for k in keys: %s\n" % statement, namespace)
loop = namespace["loop"]
gc.collect()
gc.disable()
loop(h, lists[which], v)
sys.stdout.flush()
os._exit(0)  # no teardown: freeing the structure would count for 2N or N entries
'''

TOTAL = re.compile(r"^(?:summary|totals):\s*(\d+)", re.M)


def callgrind_ir(args, lib, workdir):
    """Instructions executed by one child (args: STRUCTURE WORKLOAD STATEMENT
    FILLED TOTAL HALF|ALL), from callgrind's output file."""
    fd, out = tempfile.mkstemp(prefix="callgrind.", dir=workdir)
    os.close(fd)
    cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
           sys.executable, "-S", "-c", CHILD, lib] + list(args)
    env = dict(os.environ, HASHTABLE_TRACE="off", PYTHONHASHSEED="0")
    done = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True)
    try:
        with open(out) as f:
            found = TOTAL.search(f.read())
    except OSError:
        found = None
    finally:
        if os.path.exists(out):
            os.unlink(out)
    if done.returncode != 0 or not found:
        raise RuntimeError("callgrind child %s: exit status %d, %s\n%s" % (
            " ".join(args), done.returncode,
            "total %s" % found.group(1) if found else "no total in its output file",
            done.stderr[-3000:]))
    return int(found.group(1))


def measure(n, lib, jobs, progress):
    """{(workload, operation name, structure): Ir per loop iteration}; the
    empty loop as (workload, "empty loop", "-")."""
    specs = []  # (key, structure, workload, statement, filled)
    for workload in WORKLOADS:
        specs.append(((workload, "empty loop", "-"), "-", workload, "pass", False))
        for name, statement, filled in OPERATIONS:
            for structure in ("HashTable", "dict"):
                specs.append(((workload, name, structure), structure, workload, statement,
                              filled))
    runs = [(spec, which) for spec in specs for which in ("half", "all")]
    counts = {}
    with tempfile.TemporaryDirectory(prefix="instructions.") as workdir, \
            concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {}
        for (key, structure, workload, statement, filled), which in runs:
            args = [structure, workload, statement, "1" if filled else "0", str(2 * n), which]
            futures[pool.submit(callgrind_ir, args, lib, workdir)] = (key, which)
        for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
            counts[futures[future]] = future.result()
            progress(f"{done}/{len(runs)} callgrind runs")
    return {key: (counts[(key, "all")] - counts[(key, "half")]) / n for key, *_ in specs}


def valgrind_version():
    done = subprocess.run(["valgrind", "--version"], capture_output=True, text=True)
    return done.stdout.strip() or "valgrind"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, help="N (default 10**5, 10**4 with --quick)")
    parser.add_argument("--quick", action="store_true", help="N = 10**4")
    parser.add_argument("--jobs", type=int, default=1,
                        help="valgrind children at a time (default 1)")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        print("instructions.py: valgrind is not installed (or not on PATH); it counts the "
              "instructions. Install it (Debian/Ubuntu: apt-get install valgrind) and rerun.",
              file=sys.stderr)
        return 2
    quick = args.quick or os.environ.get("HASHTABLE_QUICK") == "1"
    n = args.n or (10**4 if quick else 10**5)

    # bench.py's report and machine note; importing it also builds and loads
    # the module for this interpreter, which the children then import.
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import bench
    lib = _build.lib_dir()

    def progress(text):
        if sys.stderr.isatty():
            sys.stderr.write(f"\r\033[K{text}")
            sys.stderr.flush()

    ir = measure(n, lib, max(1, args.jobs), progress)
    progress("")
    rep = bench.Report(args.markdown)
    rep.text(f"Machine: {bench.machine_note()}; hashtable built from this tree; "
             f"{valgrind_version()} --tool=callgrind; Ir per loop iteration = "
             f"(Ir(2N) - Ir(N)) / N with N = {n}.")
    rep.heading(f"Instructions per operation, N = {n} (Ir per loop iteration; "
                f"ratio = HashTable / dict)")
    rows = []
    for workload in WORKLOADS:
        for name, *_ in OPERATIONS:
            ours, d = ir[(workload, name, "HashTable")], ir[(workload, name, "dict")]
            rows.append([f"{workload}: {name}", f"{ours:.0f}", f"{d:.0f}",
                         f"{ours / d:.2f}"])
    rep.table(["operation", "HashTable Ir/op", "dict Ir/op", "ratio"], rows)
    rep.text()
    rep.text("Every number includes the loop's own instructions (the dict column does "
             "`d[k]`, `d.get(k)`, ... in the same loop); the empty loop "
             "`for k in keys: pass`: " +
             ", ".join(f"{ir[(w, 'empty loop', '-')]:.0f} Ir ({w})" for w in WORKLOADS) + ".")
    print(rep.render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
