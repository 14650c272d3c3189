#!/usr/bin/env python3
"""The lessons' numbers on every interpreter within reach: one table.

    python3 tools/versions.py                  the table (docs/walkthrough.md shows it)
    python3 tools/versions.py --json           the same, as JSON
    python3 tools/versions.py --python PATH    only that interpreter (repeatable)

Runs tools/version_probe.py on pyenv's 2.7 (the talk's Python) and 3.10 to
3.13, on Debian's /usr/bin/python3.11-dbg, and on 3.14, 3.15 and 3.15-dbg
inside the sid chroot through tools/sid-chroot (only if the chroot is already
there: this script never builds it; `tools/sid-chroot ensure` or `make test`
does). An interpreter it cannot run is listed as "not available here", never
guessed. Standard library only.
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROBE = os.path.join(REPO, "tools", "version_probe.py")
SID_CHROOT = os.path.join(REPO, "tools", "sid-chroot")

# (column, where it comes from): pyenv's minor version, a path, or the chroot's interpreter.
INTERPRETERS = [
    ("2.7", ("pyenv", "2.7")),
    ("3.10", ("pyenv", "3.10")),
    ("3.11", ("pyenv", "3.11")),
    ("3.11-dbg", ("path", "/usr/bin/python3.11-dbg")),
    ("3.12", ("pyenv", "3.12")),
    ("3.13", ("pyenv", "3.13")),
    ("3.14", ("sid", "/usr/bin/python3.14")),
    ("3.15", ("sid", "/usr/bin/python3.15")),
    ("3.15-dbg", ("sid", "/usr/bin/python3.15-dbg")),
]


def yes_no(value):
    return "yes" if value else "no"


def number(value):
    return "%g" % value


# (row label, what it shows); the walkthrough explains each row.
ROWS = [
    ("getrefcount rise per call level", lambda r: number(r["rise_per_call_level"])),
    ("frames in get_referrers per level", lambda r: number(r["frames_per_call_level"])),
    ("a running frame is GC-tracked", lambda r: yes_no(r["running_frame_tracked"])),
    ("getrefcount(obj), obj a global", lambda r: str(r["getrefcount_global_object"])),
    ("  ... in show_ref_counts(obj)", lambda r: str(r["getrefcount_in_first_call"])),
    ("  ... obj a local variable", lambda r: str(r["getrefcount_local_object"])),
    ("getrefcount(hash) at start (lesson 3)", lambda r: str(r["getrefcount_hash"])),
    ("immortal: None and small ints", lambda r: yes_no(r["immortal_none"] and r["immortal_small_int"])),
    ("immortal: '__name__'", lambda r: yes_no(r["immortal_startup_str"])),
    ("immortal: str interned at run time", lambda r: yes_no(r["immortal_runtime_str"])),
    ("getrefcount(None)", lambda r: str(r["getrefcount_none"])),
    ("getrefcount(1)", lambda r: str(r["getrefcount_small_int"])),
    ("borrowed loads (LOAD_FAST_BORROW)", lambda r: yes_no(r["borrowed_loads"])),
    ("faulthandler shows the C stack", lambda r: yes_no(r["faulthandler_c_stack"])),
]


def pyenv_python(minor):
    """pyenv's newest X.Y.Z of this minor version, or None."""
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    pattern = re.compile(re.escape(minor) + r"\.\d+$")
    found = [d for d in glob.glob(os.path.join(root, "versions", minor + ".*"))
             if pattern.search(os.path.basename(d))]
    found.sort(key=lambda d: [int(n) for n in os.path.basename(d).split(".")])
    for d in reversed(found):
        python = os.path.join(d, "bin", "python" + minor)
        if os.access(python, os.X_OK):
            return python
    return None


def probe(command):
    """The probe's result with `command` (a list), or (None, why not)."""
    try:
        done = subprocess.run(command + [PROBE], cwd=REPO, capture_output=True, text=True,
                              timeout=120)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, str(e)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        why = (done.stderr.strip().splitlines() or ["exit status %d" % done.returncode])[-1]
        return None, why
    return json.loads(lines[-1]), None


def sid_chroot_reason():
    """None if the chroot runs commands, else why not."""
    if not os.access(SID_CHROOT, os.X_OK):
        return "no tools/sid-chroot"
    try:
        done = subprocess.run([SID_CHROOT, "run", "true"], capture_output=True, text=True,
                              timeout=120)
    except (OSError, subprocess.TimeoutExpired) as e:
        return str(e)
    if done.returncode != 0:
        return (done.stderr.strip().splitlines() or ["exit status %d" % done.returncode])[-1]
    return None


def measure(interpreters):
    """{column: result}, and {column: why it is not available}."""
    results, missing = {}, {}
    chroot_problem = None
    chroot_checked = False
    for column, (kind, where) in interpreters:
        if kind == "pyenv":
            python = pyenv_python(where)
            if python is None:
                missing[column] = "no CPython %s in pyenv" % where
                continue
            command = [python]
        elif kind == "sid":
            if not chroot_checked:
                chroot_problem, chroot_checked = sid_chroot_reason(), True
            if chroot_problem:
                missing[column] = chroot_problem
                continue
            command = [SID_CHROOT, "run", where]
        else:
            if not os.access(where, os.X_OK):
                missing[column] = "no " + where
                continue
            command = [where]
        result, why = probe(command)
        if result is None:
            missing[column] = why
        else:
            results[column] = result
    return results, missing


def table(results, missing):
    columns = list(results)
    out = []
    if columns:
        heads = [[c for c in columns],
                 [r["version"] + ("d" if r["debug"] else "") for r in results.values()]]
        body = [[label] + [show(results[c]) for c in columns] for label, show in ROWS]
        label_width = max(len(row[0]) for row in body)
        widths = [max(len(h[i]) for h in heads + [row[1:] for row in body])
                  for i in range(len(columns))]

        def line(first, cells):
            return ("%-*s" % (label_width, first) + "".join(
                " %*s" % (w, c) for w, c in zip(widths, cells))).rstrip()

        out.append(line("Python", heads[0]))
        out.append(line("(version; d: debug build)", heads[1]))
        out += [line(row[0], row[1:]) for row in body]
        out.append("")
        out.append("dict's message for d[[]], a list as key:")
        messages = {}
        for c in columns:
            messages.setdefault(results[c]["dict_message"], []).append(c)
        for message, where in messages.items():
            out.append("  %s: %s" % (", ".join(where), message))
    for column, why in missing.items():
        out.append("%s: not available here (%s)" % (column, why))
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    parser.add_argument("--python", action="append", metavar="PATH",
                        help="probe only this interpreter (repeatable)")
    args = parser.parse_args()
    interpreters = INTERPRETERS
    if args.python:
        interpreters = [(p, ("path", p)) for p in args.python]
    results, missing = measure(interpreters)
    if args.json:
        print(json.dumps({"results": results, "not available here": missing}, indent=1,
                         sort_keys=True))
    else:
        print(table(results, missing))
    return 0 if results else 1


if __name__ == "__main__":
    sys.exit(main())
