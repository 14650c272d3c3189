"""The exploration the talk promised: how the hash function, the maximum load
and the initial size change what a chained hash table costs.

For each hash function (the builtin `hash`, the talk's naive hash, the talk's
home-made Python hash and a constant one), each max_load from 0.25 to 4 and
a few initial sizes, it fills a HashTable with the same keys, times inserting
and looking them all up (timeit, median of a few repeats, per key), and
reads the chain statistics from `h.stats()`. Two kinds of keys: shuffled
ints, and strings that all have the same length (the naive hash of a string
is its length, so all of those land in one bucket).

    python examples/explore.py                 full run (about a minute), PNGs into build/explore/
    python examples/explore.py --quick         a few seconds (also: HASHTABLE_QUICK=1), PNGs not kept
    python examples/explore.py --out DIR       PNGs into DIR
    python examples/explore.py --docs          PNGs into docs/img/, the pictures docs/performance.md shows

tools/regen_docs.py runs it with HASHTABLE_DOCS_IMG naming where the docs'
pictures go (docs/img/ when it regenerates them, a scratch directory when it
only checks), which is the default then.

With matplotlib installed (pip install -r requirements-extras.txt) it draws:

    cost_vs_max_load.png   insert and lookup cost against max_load, one line per hash function
    chain_lengths.png      chain-length histograms of the equal-length strings, per hash function
    longest_chain.png      the longest chain against max_load, per hash function
    initial_size.png       insert cost against max_load for each initial size

and prints a summary table; without matplotlib it prints every result as a
table instead. tqdm, when installed, draws the progress bar.
"""
import argparse
import os
import random
import statistics
import sys
import tempfile
import timeit

os.environ.setdefault("HASHTABLE_TRACE", "off")  # no lifecycle lines at import
import _build  # noqa: E402

hashtable = _build.load()
hashtable.set_trace("off")
HashTable = hashtable.HashTable

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
from _talk_hash import talk_hash  # noqa: E402


def constant_hash(key):
    """Every key in one bucket: the worst a hash function can do."""
    return 42


# name -> hash_func argument (None is the talk's naive hash, computed natively)
HASH_FUNCS = {
    "builtin hash": hash,
    "naive (int: itself, str: length)": None,
    "talk's Python hash": talk_hash,
    "constant": constant_hash,
}
SHORT = {"builtin hash": "builtin", "naive (int: itself, str: length)": "naive",
         "talk's Python hash": "talk", "constant": "constant"}


def make_keys(kind, n):
    rng = random.Random(2024)
    if kind == "int":
        keys = list(range(n))
    else:  # equal-length strings
        keys = [f"key{i:06d}" for i in range(n)]
    rng.shuffle(keys)
    return keys


def progress_bar(total, enabled):
    """tqdm when installed, else a plain counter; only on a terminal (so that
    captured output, as in the docs, has no progress lines)."""
    enabled = enabled and sys.stderr.isatty()
    try:
        from tqdm import tqdm
        return tqdm(total=total, disable=not enabled, unit="run", leave=False)
    except ImportError:
        pass

    class Plain:
        done = 0

        def update(self, k=1):
            self.done += k
            if enabled:
                width = 30
                filled = width * self.done // total
                sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{total}")
                sys.stderr.flush()

        def close(self):
            if enabled:
                sys.stderr.write("\r" + " " * 50 + "\r")

    return Plain()


def measure(keys, hash_func, max_load, size, repeat):
    """ns per insert, ns per lookup, and the stats of the filled table."""
    n = len(keys)
    namespace = {"keys": keys, "HashTable": HashTable, "hash_func": hash_func,
                 "max_load": max_load, "size": size}
    make = "h = HashTable(size, max_load, hash_func)"
    insert = timeit.Timer("for k in keys: h[k] = None", make, globals=namespace)
    lookup = timeit.Timer("for k in keys: h[k]",
                          make + "\nfor k in keys: h[k] = None", globals=namespace)
    ins = statistics.median(insert.repeat(repeat=repeat, number=1)) / n * 1e9
    look = statistics.median(lookup.repeat(repeat=repeat, number=1)) / n * 1e9
    h = HashTable(size, max_load, hash_func)
    for k in keys:
        h[k] = None
    return ins, look, h.stats()


def run(n, max_loads, sizes, repeat, show_progress):
    results = []  # dicts: hash, keys, max_load, size, insert, lookup, stats
    kinds = ["int", "str"]
    total = len(kinds) * len(HASH_FUNCS) * len(max_loads) * len(sizes)
    bar = progress_bar(total, show_progress)
    for kind in kinds:
        keys = make_keys(kind, n)
        for name, func in HASH_FUNCS.items():
            for max_load in max_loads:
                for size in sizes:
                    ins, look, stats = measure(keys, func, max_load, size, repeat)
                    results.append({"hash": name, "keys": kind, "max_load": max_load,
                                    "size": size, "insert": ins, "lookup": look,
                                    "stats": stats})
                    bar.update(1)
    bar.close()
    return results


def print_table(results, sizes_shown=None):
    header = ["keys", "hash", "max_load", "size", "insert ns", "lookup ns", "buckets",
              "resizes", "longest", "mean chain", "colliding"]
    rows = []
    for r in results:
        if sizes_shown and r["size"] not in sizes_shown:
            continue
        s = r["stats"]
        rows.append([r["keys"], SHORT[r["hash"]], f"{r['max_load']:g}", str(r["size"]),
                     f"{r['insert']:.0f}", f"{r['lookup']:.0f}", str(s["buckets"]),
                     str(s["resizes"]), str(s["longest_chain"]), f"{s['mean_chain']:.2f}",
                     str(s["colliding_keys"])])
    widths = [max(len(x) for x in col) for col in zip(header, *rows)]
    line = lambda r: "  ".join(x.rjust(w) if i >= 2 else x.ljust(w)  # noqa: E731
                               for i, (x, w) in enumerate(zip(r, widths)))
    print(line(header))
    print(line(["-" * w for w in widths]))
    for r in rows:
        print(line(r))


def select(results, **kw):
    return [r for r in results if all(r[k] == v for k, v in kw.items())]


def plot(results, n, max_loads, sizes, out_dir, plt):
    os.makedirs(out_dir, exist_ok=True)
    # naive and constant coincide for equal-length strings: the constant line
    # is drawn thicker underneath, so both stay visible.
    styles = {name: style for name, style in zip(HASH_FUNCS, ["o-", "s--", "^-.", "x:"])}

    def line_width(name):
        if name == "constant":
            return {"lw": 4, "ms": 10, "alpha": 0.5, "zorder": 1}
        return {"lw": 1.5, "zorder": 2}
    size = sizes[0]
    paths = []

    # 1. Cost against max_load, per hash function (default initial size).
    fig, axes = plt.subplots(2, 2, figsize=(10, 7), sharex=True)
    for row, kind in enumerate(["int", "str"]):
        for col, op in enumerate(["insert", "lookup"]):
            ax = axes[row][col]
            for name in HASH_FUNCS:
                rs = select(results, hash=name, keys=kind, size=size)
                ax.plot([r["max_load"] for r in rs], [r[op] for r in rs], styles[name],
                        label=SHORT[name], **line_width(name))
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xticks(max_loads)
            ax.set_xticklabels([f"{m:g}" for m in max_loads])
            what = "shuffled ints" if kind == "int" else "equal-length strings"
            ax.set_title(f"{op}, {what}", fontsize=10)
            ax.grid(True, which="both", alpha=0.3)
            if col == 0:
                ax.set_ylabel("ns per key (log)")
            if row == 1:
                ax.set_xlabel("max_load")
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"Cost per key against max_load ({n} keys, initial size {size})")
    fig.tight_layout()
    paths.append(os.path.join(out_dir, "cost_vs_max_load.png"))
    fig.savefig(paths[-1], dpi=80)
    plt.close(fig)

    # 2. Chain-length histograms for equal-length strings, at max_load 1.
    ml = 1.0 if 1.0 in max_loads else max_loads[len(max_loads) // 2]
    fig, axes = plt.subplots(1, len(HASH_FUNCS), figsize=(12, 3.4))
    for ax, name in zip(axes, HASH_FUNCS):
        (r,) = select(results, hash=name, keys="str", size=size, max_load=ml)
        hist = r["stats"]["histogram"]
        nonzero = [(length, count) for length, count in enumerate(hist) if count]
        ax.bar([str(length) for length, _ in nonzero], [c for _, c in nonzero], color="tab:blue")
        ax.set_yscale("log")
        ax.set_title(f"{SHORT[name]}: longest chain {r['stats']['longest_chain']}", fontsize=9)
        ax.set_xlabel("chain length")
        ax.tick_params(axis="x", labelsize=7)
    axes[0].set_ylabel("buckets (log)")
    fig.suptitle(f"Chain lengths, {n} strings of equal length, max_load {ml:g}: "
                 "the naive hash (the length) puts every key in one bucket", fontsize=10)
    fig.tight_layout()
    paths.append(os.path.join(out_dir, "chain_lengths.png"))
    fig.savefig(paths[-1], dpi=80)
    plt.close(fig)

    # 3. Longest chain against max_load.
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    for ax, kind in zip(axes, ["int", "str"]):
        for name in HASH_FUNCS:
            rs = select(results, hash=name, keys=kind, size=size)
            ax.plot([r["max_load"] for r in rs], [r["stats"]["longest_chain"] for r in rs],
                    styles[name], label=SHORT[name], **line_width(name))
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(max_loads)
        ax.set_xticklabels([f"{m:g}" for m in max_loads])
        ax.set_xlabel("max_load")
        ax.set_title("shuffled ints" if kind == "int" else "equal-length strings", fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("longest chain (log)")
    axes[0].legend(fontsize=8)
    fig.suptitle(f"Longest chain after {n} inserts (initial size {size})", fontsize=10)
    fig.tight_layout()
    paths.append(os.path.join(out_dir, "longest_chain.png"))
    fig.savefig(paths[-1], dpi=80)
    plt.close(fig)
    # 4. The initial size: fewer resizes, same chains.
    if len(sizes) > 1:
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
        for ax, name in zip(axes, ["builtin hash", "talk's Python hash"]):
            for sz, style in zip(sizes, ["o-", "s--", "^-.", "x:"]):
                rs = select(results, hash=name, keys="int", size=sz)
                ax.plot([r["max_load"] for r in rs], [r["insert"] for r in rs], style,
                        label=f"initial size {sz} ({rs[0]['stats']['resizes']} to "
                              f"{rs[-1]['stats']['resizes']} resizes)")
            ax.set_xscale("log", base=2)
            ax.set_xticks(max_loads)
            ax.set_xticklabels([f"{m:g}" for m in max_loads])
            ax.set_xlabel("max_load")
            ax.set_title(f"insert, shuffled ints, {SHORT[name]} hash", fontsize=10)
            ax.set_ylim(bottom=0)
            ax.grid(True, alpha=0.3)
            ax.legend(fontsize=7)
        axes[0].set_ylabel("ns per key")
        fig.suptitle(f"Initial size against insert cost ({n} keys)", fontsize=10)
        fig.tight_layout()
        paths.append(os.path.join(out_dir, "initial_size.png"))
        fig.savefig(paths[-1], dpi=80)
        plt.close(fig)
    return paths


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a few seconds: fewer keys, max_loads and sizes (also HASHTABLE_QUICK=1)")
    parser.add_argument("--n", type=int, help="number of keys (default 4000, 500 with --quick)")
    parser.add_argument("--out", help="directory for the PNGs (default build/explore; with --quick "
                                      "none are kept)")
    parser.add_argument("--docs", action="store_true",
                        help="write the PNGs into docs/img, for docs/performance.md")
    parser.add_argument("--no-plots", action="store_true", help="print the table even with matplotlib")
    args = parser.parse_args()
    quick = args.quick or os.environ.get("HASHTABLE_QUICK") == "1"

    if quick:
        n, max_loads, sizes, repeat = args.n or 500, [0.25, 1.0, 4.0], [4], 1
    else:
        n, max_loads, sizes, repeat = args.n or 4000, [0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4], [4, 1024, 16384], 3
    max_loads = [float(m) for m in max_loads]

    plt = None
    if not args.no_plots:
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            print("matplotlib is not installed (pip install -r requirements-extras.txt): "
                  "printing the results as a table instead of drawing them.")

    print(f"{n} keys per table; max_load {', '.join(f'{m:g}' for m in max_loads)}; "
          f"initial sizes {', '.join(map(str, sizes))}; ns per key, median of {repeat}.")
    results = run(n, max_loads, sizes, repeat, show_progress=not quick)

    if plt is None:
        print_table(results)
        return
    print_table(results, sizes_shown=[sizes[0]])
    # A quick run's plots never go to the docs unless --docs asks for them.
    if args.docs:
        docs_img = os.path.join(REPO, "docs", "img")
    else:
        docs_img = None if quick else os.environ.get("HASHTABLE_DOCS_IMG")
    if quick and not (args.out or docs_img):
        # A quick run checks that the plots draw, and keeps none of them.
        with tempfile.TemporaryDirectory(prefix="explore-") as out_dir:
            paths = plot(results, n, max_loads, sizes, out_dir, plt)
        print(f"drew {len(paths)} plots (quick run: not kept; --out DIR keeps them)")
        return
    out_dir = args.out or docs_img or os.path.join(REPO, "build", "explore")
    os.makedirs(out_dir, exist_ok=True)
    for path in plot(results, n, max_loads, sizes, out_dir, plt):
        print("wrote", os.path.relpath(path, REPO) if path.startswith(REPO + os.sep) else path)


if __name__ == "__main__":
    main()
