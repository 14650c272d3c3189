#!/usr/bin/env python3
r"""Regenerate every output shown in the docs by running the commands that make it.

    python3 tools/regen_docs.py                 README.md and docs/*.md
    python3 tools/regen_docs.py docs/x.md ...   only these files
    python3 tools/regen_docs.py --check         exit 1 if a stable part would change

In a Markdown file, an output block is a marker line followed by a fenced
code block:

    <!-- output: python3 examples/its_usable.py -->
    ```text
    (replaced)
    ```

The tool runs the command with the shell, from the repository root, and
replaces the block's content with `$ COMMAND` and the command's combined
stdout and stderr. The line after the closing fence notes the interpreter
that produced it, "(produced by tools/regen_docs.py with Python X.Y.Z)";
the tool adds or updates that line itself.

So that the note tells the truth, `python` and `python3` in a command mean
the interpreter running this tool: `python3.12 tools/regen_docs.py` shows
3.12's output. To keep the docs stable from run to run, commands run with
PYTHONHASHSEED=0 and PYTHONUNBUFFERED=1, and object addresses in reprs
(`<function f at 0x7f...>`) are shown as `0x...`. A command that exits
non-zero or times out is an error and its file is left as it was; to show a
failure on purpose, end the command with `; echo "exit status $?"`.

Some output is not meant to be the same twice: timings, a race's losses,
whether freed memory makes a process hang or crash. Lines between the
marker and the fence say which parts of that block vary:

    <!-- output: python3 examples/06_gil_callback_race.py -->
    <!-- varies: h\.load = \d+, lost [1-9]\d* -->
    ```text

Each is a Python regular expression (multi-line mode; `(?s)` lets `.`
cross lines): every match, or each group of a match when it has groups, is
hidden. `<!-- varies: numbers -->` hides every number, and the spacing that
aligns columns: for blocks of measurements, whose words (the rows, the
verdicts) stay. --check compares the blocks with those parts hidden, so it
fails only on a difference that is meant not to happen, and prints the
differences as compared. Regenerating rewrites every block whole.

Commands that draw pictures for the docs (examples/explore.py) write them
into $HASHTABLE_DOCS_IMG: docs/img when regenerating, a scratch directory
under --check, which changes no file. Standard library only.

Some commands print something else when a tool they use is missing (the
pictures need matplotlib; lessons 3, 4 and 13 a debug interpreter's venv,
.venvs/3.X-dbg, and print "skipped" without one), which --check would
report as a change. So before running any block the tool looks at what the
blocks it will run need (NEEDS), says what is missing, and makes it:
`pip install -r requirements-extras.txt` into this interpreter when it is a
venv's, and the debug venv from /usr/bin/python3.X-dbg (what `make test`
makes). What it cannot make stops it before any command runs.
"""
import argparse
import difflib
import glob
import os
import platform
import re
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARKER = re.compile(r"^<!-- output: (.+?) -->\s*$")
VARIES = re.compile(r"^<!-- varies: (.+?) -->\s*$")
NUMBER = re.compile(r"[-+]?\d[\d.,:]*(?:e[-+]?\d+)?")
FENCE = re.compile(r"^(`{3,}|~{3,})")
NOTE = re.compile(r"^\(produced by tools/regen_docs\.py with .*\)\s*$")
ADDRESS = re.compile(r"(\bat 0x)[0-9a-fA-F]+")


def python_version():
    debug = " (debug build)" if hasattr(sys, "gettotalrefcount") else ""
    return f"Python {platform.python_version()}{debug}"


def command_env(bin_dir, img_dir):
    """os.environ with `python`/`python3` wrappers for this interpreter first
    on PATH, and HASHTABLE_DOCS_IMG naming where pictures go."""
    for name in ("python", "python3"):
        path = os.path.join(bin_dir, name)
        with open(path, "w") as f:
            f.write(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
        os.chmod(path, 0o755)
    return dict(os.environ, PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""),
                PYTHONHASHSEED="0", PYTHONUNBUFFERED="1", HASHTABLE_DOCS_IMG=img_dir)


def hide_varying(content, varies):
    """`content` with the parts that `varies` (the block's varies lines) name
    replaced by "…"."""
    for spec in varies:
        if spec == "numbers":
            content = NUMBER.sub("…", content)
            content = re.sub(r"[ \t]+", " ", content)
            content = re.sub(r"-{3,}", "---", content)
            continue
        pattern = re.compile(spec, re.M)

        def hide(match):
            if not pattern.groups:
                return "…"
            text, start = match.group(0), match.start()
            for i in range(pattern.groups, 0, -1):  # from the end: offsets stay valid
                if match.start(i) >= 0:
                    text = text[:match.start(i) - start] + "…" + text[match.end(i) - start:]
            return text
        content = pattern.sub(hide, content)
    return content


def run(command, env, timeout):
    """The command's output, or raises RuntimeError."""
    try:
        done = subprocess.run(command, shell=True, cwd=REPO, env=env, timeout=timeout,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"timed out after {timeout}s: {command}")
    output = done.stdout.decode("utf-8", "replace")
    if done.returncode != 0:
        raise RuntimeError(f"exit status {done.returncode}: {command}\n{output}")
    return ADDRESS.sub(r"\g<1>...", output).rstrip()


def in_venv():
    return sys.prefix != sys.base_prefix


def has_module(python, module):
    return subprocess.run([python, "-c", "import " + module], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


def debug_venv():
    minor = "%d.%d" % sys.version_info[:2]
    return minor, os.path.join(REPO, ".venvs", minor + "-dbg", "bin", "python")


def has_matplotlib():
    return has_module(sys.executable, "matplotlib")


def make_matplotlib():
    """Installs the extras into this interpreter, if it is a venv's; or an
    error message."""
    if not in_venv():
        return (f"{sys.executable} is not a venv's interpreter: install matplotlib into it "
                "(pip install -r requirements-extras.txt), or run this tool with a venv's "
                "(.venvs/3.11/bin/python after `make test`)")
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-r",
                           os.path.join(REPO, "requirements-extras.txt")])
    return None if done.returncode == 0 else "pip install -r requirements-extras.txt failed"


def has_debug_venv():
    _minor, python = debug_venv()
    return os.path.exists(python) and has_module(python, "setuptools_rust")


def make_debug_venv():
    """Makes .venvs/3.X-dbg as tools/test-all does (a venv of Debian's debug
    interpreter with tests/requirements.txt); or an error message."""
    minor, python = debug_venv()
    system = f"/usr/bin/python{minor}-dbg"
    if not os.path.exists(system):
        return (f"{system} is missing (Debian/Ubuntu: apt-get install python{minor}-dbg; "
                "`make test` installs it and makes the venv)")
    venv = os.path.dirname(os.path.dirname(python))
    for command in ([system, "-m", "venv", venv],
                    [python, "-m", "pip", "install", "-q", "-r",
                     os.path.join(REPO, "tests", "requirements.txt")]):
        if subprocess.run(command).returncode != 0:
            return "failed: " + " ".join(command)
    return None


# What some commands need besides this interpreter and its build of the
# module: (commands, what, whether it is there, how to make it).
NEEDS = [
    (re.compile(r"tools/draw_ownership\.py|examples/explore\.py"),
     "matplotlib (requirements-extras.txt), to draw the pictures", has_matplotlib,
     make_matplotlib),
    (re.compile(r"examples/(03|04|13)_"),
     "a debug interpreter's venv, .venvs/%s-dbg" % debug_venv()[0], has_debug_venv,
     make_debug_venv),
]


def commands(text, only=None):
    """The commands of a Markdown file's output blocks that would run."""
    found = [m.group(1) for m in map(MARKER.match, text.split("\n")) if m]
    return [c for c in found if only is None or only.search(c)]


def provide(needed):
    """Makes what the commands `needed` need and is missing. 0, or 1 after
    saying what could not be made."""
    status = 0
    for pattern, what, present, make in NEEDS:
        users = [c for c in needed if pattern.search(c)]
        if not users or present():
            continue
        verb = "needs" if len(users) == 1 else "need"
        print(f"regen_docs: {', '.join(users)} {verb} {what}, which is missing: making it",
              file=sys.stderr)
        error = make()
        if error is None and not present():
            error = "made, but still not usable"
        if error:
            print(f"regen_docs: cannot make {what}: {error}", file=sys.stderr)
            status = 1
    return status


def regenerate(text, env, timeout, compared=None, only=None):
    """The new text of one Markdown file. With `compared` (a list), also
    appends (old block, new block) pairs with their varying parts hidden.
    With `only` (a compiled regex), a block whose command it does not match
    is kept as it is."""
    lines = text.split("\n")
    out = []
    i = 0
    while i < len(lines):
        marker = MARKER.match(lines[i])
        out.append(lines[i])
        i += 1
        if not marker:
            continue
        varies = []
        while i < len(lines) and VARIES.match(lines[i]):
            varies.append(VARIES.match(lines[i]).group(1))
            out.append(lines[i])
            i += 1
        fence = FENCE.match(lines[i]) if i < len(lines) else None
        if not fence:
            raise RuntimeError(f"line {i}: an output marker must be followed by a fence")
        opening, ticks = lines[i], fence.group(1)
        closing = re.compile(re.escape(ticks) + re.escape(ticks[0]) + r"*\s*$")
        i += 1
        start = i
        while i < len(lines) and not closing.match(lines[i]):  # the old content
            i += 1
        if i == len(lines):
            raise RuntimeError(f"unclosed fence after: {marker.group(0)}")
        old_content = "\n".join(lines[start:i])
        i += 1
        old_note = ""
        if i < len(lines) and NOTE.match(lines[i]):  # the old note
            old_note = lines[i]
            i += 1
        command = marker.group(1)
        if only is not None and not only.search(command):
            out += lines[start - 1:i]  # the fence, the old content, the note
            continue
        content = "\n".join(filter(None, [f"$ {command}", run(command, env, timeout)]))
        note = f"(produced by tools/regen_docs.py with {python_version()})"
        if compared is not None:
            compared.append((marker.group(0),
                             hide_varying(old_content, varies) + "\n" + old_note,
                             hide_varying(content, varies) + "\n" + note))
        while ticks in content:  # a longer fence when the output holds one
            ticks += ticks[0]
        out.append(opening.replace(fence.group(1), ticks, 1))
        out += content.split("\n")
        out.append(ticks)
        out.append(note)
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="*", help="Markdown files (default: README.md docs/*.md)")
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if regenerating would change a part of a "
                             "block that is not marked as varying")
    # The longest commands (the scaling benchmark, hypothesis' long profile,
    # valgrind) take minutes, several times longer on a busy machine.
    parser.add_argument("--timeout", type=float, default=3600,
                        help="seconds per command (default 3600)")
    parser.add_argument("--only", metavar="REGEX", type=re.compile,
                        help="regenerate only the blocks whose command matches REGEX "
                             "(e.g. --only 05_cycles); the others stay as they are")
    args = parser.parse_args()
    files = args.files or [os.path.join(REPO, "README.md")] + sorted(
        glob.glob(os.path.join(REPO, "docs", "*.md")))

    needed = []
    for path in files:
        with open(path, encoding="utf-8") as f:
            needed += commands(f.read(), args.only)
    if provide(needed):
        return 1

    status = 0
    with tempfile.TemporaryDirectory() as bin_dir, tempfile.TemporaryDirectory() as scratch:
        img_dir = scratch if args.check else os.path.join(REPO, "docs", "img")
        env = command_env(bin_dir, img_dir)
        for path in files:
            with open(path, encoding="utf-8") as f:
                old = f.read()
            compared = [] if args.check else None
            try:
                new = regenerate(old, env, args.timeout, compared, args.only)
            except RuntimeError as e:
                print(f"{path}: {e}", file=sys.stderr)
                status = 1
                continue
            if args.check:
                status |= report_check(path, compared)
            elif new == old:
                print(f"{path}: up to date")
            else:
                with open(path, "w", encoding="utf-8") as f:
                    f.write(new)
                print(f"{path}: regenerated")
    return status


def report_check(path, compared):
    """Prints the differences of the compared blocks; 1 if there are any."""
    changed = [(marker, old, new) for marker, old, new in compared if old != new]
    varying = sum(1 for marker, old, new in compared if "…" in old + new)
    for marker, old, new in changed:
        sys.stdout.writelines(difflib.unified_diff(
            old.splitlines(True), new.splitlines(True), f"{path}: {marker}",
            f"{path}: {marker} (rerun)"))
        print()
    if changed:
        notes = {line for _m, old, _n in changed for line in old.splitlines() if NOTE.match(line)}
        made_by = " or ".join(sorted(notes))
        if made_by and python_version() not in made_by:
            print(f"{path}: the docs were {made_by[1:-1].replace('produced', 'made')}; "
                  f"this is {python_version()}: check with that interpreter")
        print(f"{path}: {len(changed)} of {len(compared)} blocks would change")
        return 1
    print(f"{path}: up to date ({len(compared)} blocks; {varying} with parts that vary, "
          "compared without them)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
