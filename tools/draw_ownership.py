#!/usr/bin/env python3
"""Draw the walkthrough's two ownership pictures, from measured counts.

    python3 tools/draw_ownership.py            (writes into $HASHTABLE_DOCS_IMG,
                                                 else build/diagrams)

1. ownership_set.png: who holds the key, the value and the table before and
   after `_ = h.set(k, v)` (the REPL keeps a result in `_`), with each
   object's ob_refcnt as read from memory (lesson 0's way), on the normal
   build.
2. forget_incref_timeline.png: the table's ob_refcnt along lesson 2's
   session, on the forget-incref build and on the normal one, measured in a
   child process each (the REPL's `_` played by a variable); where the count
   reaches zero the table is freed, and the next line would use it.

The numbers are printed too, so the script says something without
matplotlib (pip install -r requirements-extras.txt).
"""
import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "examples"))
import _lesson  # noqa: E402

# The counts, measured in a child: ob_refcnt read at the object's address
# (never through a reference the reading itself would hold).
SET_CHILD = '''
import ctypes, json
def rc(address):
    return ctypes.c_ssize_t.from_address(address).value
h = hashtable.HashTable()
k, v = "k" + str(id(h)), object()          # a str made at run time: not immortal
ids = {"h": id(h), "k": id(k), "v": id(v)}
before = {name: rc(a) for name, a in ids.items()}
_ = h.set(k, v)
after = {name: rc(a) for name, a in ids.items()}
print(json.dumps({"before": before, "after": after}))
'''

# Lesson 2's session with the REPL's `_` as a variable. On the bug build the
# table is freed at step 3; the count is then not read (that memory is gone),
# and step 4 (h.set(2, 2), the crash) is not run.
TIMELINE_CHILD = '''
import ctypes, io, json, contextlib
def rc(address):
    return ctypes.c_ssize_t.from_address(address).value
steps = []
h = hashtable.HashTable(); a = id(h)
steps.append(["h = HashTable()", rc(a)])
_ = h.set(1, 1)
steps.append(["h.set(1, 1)  (kept in _)", rc(a)])
out = io.StringIO()
with contextlib.redirect_stdout(out):
    _ = h.get(1)                           # the REPL echoes it: _ replaced
freed = "Module: dealloc" in out.getvalue()
steps.append(["h.get(1)  (replaces _)", 0 if freed else rc(a)])
if not freed:
    _ = h.set(2, 2)
    steps.append(["h.set(2, 2)", rc(a)])
print(json.dumps({"steps": steps, "freed": freed}), flush=True)
import os
os._exit(0)     # no teardown: on the bug build `h` still names the freed table
'''


def measure(code, variant):
    fate = _lesson.run_child(code, variant=variant, trace="lifecycle")
    if not fate.ok:
        fate.report()
        raise SystemExit("the measuring child failed")
    (line,) = [line for line in fate.stdout.splitlines() if line.startswith("{")]
    return json.loads(line)


def draw_set(plt, counts, path):
    from matplotlib.patches import FancyBboxPatch
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    names = {"h": (0.1, 0.8), "k": (0.1, 0.5), "v": (0.1, 0.2), "_": (0.1, -0.02)}
    objects = {"h": (0.62, 0.8, "the HashTable"), "k": (0.62, 0.5, "the key (a str)"),
               "v": (0.62, 0.2, "the value (an object())")}
    for ax, when in zip(axes, ("before", "after")):
        ax.set_xlim(0, 1)
        ax.set_ylim(-0.12, 1)
        ax.axis("off")
        ax.set_title("%s  _ = h.set(k, v)" % when)
        shown = ["h", "k", "v"] + (["_"] if when == "after" else [])
        for name in shown:
            x, y = names[name]
            ax.text(x, y, name, ha="center", va="center", family="monospace", fontsize=12,
                    bbox=dict(boxstyle="round", fc="#eeeeee"))
        for key, (x, y, label) in objects.items():
            ax.add_patch(FancyBboxPatch((x - 0.2, y - 0.07), 0.4, 0.14,
                                        boxstyle="round,pad=0.01", fc="#dde8f5"))
            ax.text(x, y, "%s\nob_refcnt = %d" % (label, counts[when][key]), ha="center",
                    va="center", fontsize=9)

        def arrow(start, end, colour, text=None):
            ax.annotate("", xy=end, xytext=start,
                        arrowprops=dict(arrowstyle="->", color=colour, lw=1.5))
        for name in ("h", "k", "v"):
            arrow((names[name][0] + 0.05, names[name][1]), (objects[name][0] - 0.2,
                                                            objects[name][1]), "black")
        if when == "after":
            arrow((0.15, -0.02), (0.42, 0.76), "tab:green")      # _ -> the table
            # the table's own references to its key and value
            arrow((0.8, 0.73), (0.8, 0.57), "tab:red")
            ax.annotate("", xy=(0.84, 0.27), xytext=(0.84, 0.73),
                        arrowprops=dict(arrowstyle="->", color="tab:red", lw=1.5,
                                        connectionstyle="arc3,rad=-0.4"))
            ax.text(0.99, 0.45, "owned by\nthe table", color="tab:red", fontsize=8,
                    ha="right")
            ax.text(0.42, -0.06, "set returned a new reference: _ owns it",
                    color="tab:green", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def draw_timeline(plt, buggy, fixed, path):
    fig, ax = plt.subplots(figsize=(8, 3.6))
    labels = [s[0] for s in fixed["steps"]]
    ax.plot(range(len(fixed["steps"])), [s[1] for s in fixed["steps"]], "o-",
            color="tab:blue", label="normal build: Py_INCREF(self)")
    ax.plot(range(len(buggy["steps"])), [s[1] for s in buggy["steps"]], "s--",
            color="tab:red", label="forget-incref build")
    last = len(buggy["steps"]) - 1
    if buggy["freed"]:
        ax.annotate("count 0 while h is bound:\ndealloc and free run", xy=(last, 0),
                    xytext=(last - 0.9, 0.9), fontsize=8, color="tab:red",
                    arrowprops=dict(arrowstyle="->", color="tab:red"))
        ax.plot([last + 1], [0], "x", color="tab:red", markersize=14, mew=3)
        ax.annotate("h.set(2, 2) uses the freed\ntable: SIGSEGV", xy=(last + 1, 0),
                    xytext=(last + 0.35, 0.9), fontsize=8, color="tab:red",
                    arrowprops=dict(arrowstyle="->", color="tab:red"))
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_ylabel("the table's ob_refcnt")
    ax.set_ylim(-0.3, max(s[1] for s in fixed["steps"]) + 0.8)
    ax.set_yticks(range(0, max(s[1] for s in fixed["steps"]) + 1))
    ax.set_title("Lesson 2: the table's reference count along the session")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main():
    counts = measure(SET_CHILD, None)
    print("_ = h.set(k, v), ob_refcnt before -> after (normal build):")
    for name, label in (("h", "the table"), ("k", "the key"), ("v", "the value")):
        print("  %-10s %d -> %d" % (label, counts["before"][name], counts["after"][name]))
    _lesson.prepare("forget-incref")
    buggy = measure(TIMELINE_CHILD, "forget-incref")
    fixed = measure(TIMELINE_CHILD, None)
    print("the table's ob_refcnt along lesson 2's session:")
    for i, (label, count) in enumerate(fixed["steps"]):
        bug = buggy["steps"][i][1] if i < len(buggy["steps"]) else None
        print("  %-28s normal %d, forget-incref %s" % (
            label, count, "(not run: the table is freed)" if bug is None
            else "%d%s" % (bug, " (freed)" if bug == 0 and buggy["freed"] else "")))
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install -r requirements-extras.txt): no pictures")
        return
    out_dir = os.environ.get("HASHTABLE_DOCS_IMG") or os.path.join(REPO, "build", "diagrams")
    os.makedirs(out_dir, exist_ok=True)
    for name, draw in (("ownership_set.png", lambda p: draw_set(plt, counts, p)),
                       ("forget_incref_timeline.png",
                        lambda p: draw_timeline(plt, buggy, fixed, p))):
        path = os.path.join(out_dir, name)
        draw(path)
        print("drew", name)


if __name__ == "__main__":
    main()
