#!/usr/bin/env python3
"""Regenerate every output shown in the docs by running the commands that make it.

    python3 tools/regen_docs.py                 README.md and docs/*.md
    python3 tools/regen_docs.py docs/x.md ...   only these files
    python3 tools/regen_docs.py --check         exit 1 if anything would change

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

Commands that draw pictures for the docs (examples/explore.py) write them
into $HASHTABLE_DOCS_IMG: docs/img when regenerating, a scratch directory
under --check, which changes no file. Standard library only.
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


def regenerate(text, env, timeout):
    """The new text of one Markdown file."""
    lines = text.split("\n")
    out = []
    i = 0
    while i < len(lines):
        marker = MARKER.match(lines[i])
        out.append(lines[i])
        i += 1
        if not marker:
            continue
        fence = FENCE.match(lines[i]) if i < len(lines) else None
        if not fence:
            raise RuntimeError(f"line {i}: an output marker must be followed by a fence")
        opening, ticks = lines[i], fence.group(1)
        closing = re.compile(re.escape(ticks) + re.escape(ticks[0]) + r"*\s*$")
        i += 1
        while i < len(lines) and not closing.match(lines[i]):  # the old content
            i += 1
        if i == len(lines):
            raise RuntimeError(f"unclosed fence after: {marker.group(0)}")
        i += 1
        if i < len(lines) and NOTE.match(lines[i]):  # the old note
            i += 1
        command = marker.group(1)
        content = "\n".join(filter(None, [f"$ {command}", run(command, env, timeout)]))
        while ticks in content:  # a longer fence when the output holds one
            ticks += ticks[0]
        out.append(opening.replace(fence.group(1), ticks, 1))
        out += content.split("\n")
        out.append(ticks)
        out.append(f"(produced by tools/regen_docs.py with {python_version()})")
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="*", help="Markdown files (default: README.md docs/*.md)")
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if regenerating would change a file")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per command")
    args = parser.parse_args()
    files = args.files or [os.path.join(REPO, "README.md")] + sorted(
        glob.glob(os.path.join(REPO, "docs", "*.md")))

    status = 0
    with tempfile.TemporaryDirectory() as bin_dir, tempfile.TemporaryDirectory() as scratch:
        img_dir = scratch if args.check else os.path.join(REPO, "docs", "img")
        env = command_env(bin_dir, img_dir)
        for path in files:
            with open(path, encoding="utf-8") as f:
                old = f.read()
            try:
                new = regenerate(old, env, args.timeout)
            except RuntimeError as e:
                print(f"{path}: {e}", file=sys.stderr)
                status = 1
                continue
            if new == old:
                print(f"{path}: up to date")
            elif args.check:
                sys.stdout.writelines(difflib.unified_diff(
                    old.splitlines(True), new.splitlines(True), path, path + " (regenerated)"))
                print(f"{path}: would change")
                status = 1
            else:
                with open(path, "w", encoding="utf-8") as f:
                    f.write(new)
                print(f"{path}: regenerated")
    return status


if __name__ == "__main__":
    sys.exit(main())
