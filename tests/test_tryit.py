"""Every "try it" block of docs/walkthrough.md does what its answer says.

A try-it is a ```sh block of one command that starts `python` (on the
lesson's build: PYTHONPATH="$(python examples/_build.py VARIANT)"), then a
```python block of the lines a learner types into it. Above them, one or
more lines state what must happen:

    <!-- try-it: crashes -->             killed by a signal
    <!-- try-it: prints REGEX -->        REGEX (multi-line) found in the output
    <!-- try-it: lacks TEXT -->          TEXT nowhere in the output
    <!-- try-it: aborts-if-debug -->     a debug interpreter may stop with SIGABRT
                                         (its collector's check of the counts)
    <!-- try-it: normal-prints REGEX -->  the answer's claim about the normal build:
                                         the same lines on plain `python -q` print
                                         REGEX, and do not crash

The test runs the command as written, from the repository's root, with
`python` meaning this interpreter and `-i` added, so that the lines are
read as the REPL reads them (each expression's value echoed and kept in
`_`); anything else exits 0 when the input ends.
"""
import os
import re
import subprocess
import sys

import pytest

REFLEAKS_RUN_ONCE = "runs the try-its in child processes: nothing to measure here"
DEBUG_INTERPRETER = hasattr(sys, "gettotalrefcount")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WALKTHROUGH = os.path.join(REPO, "docs", "walkthrough.md")
BLOCK = re.compile(r"((?:^<!-- try-it: [^\n]+ -->\n)+)```sh\n([^\n]+)\n```\n```python\n(.*?)^```",
                   re.M | re.S)
EXPECT = re.compile(r"^<!-- try-it: (crashes|prints|lacks|aborts-if-debug|normal-prints)"
                    r"(?: (.+?))? -->$", re.M)


def _blocks():
    with open(WALKTHROUGH) as f:
        text = f.read()
    for match in BLOCK.finditer(text):
        line = text[:match.start()].count("\n") + 1
        section = re.findall(r"^## (\d+)\.", text[:match.start()], re.M)
        expect = EXPECT.findall(match.group(1))
        yield pytest.param(match.group(2), match.group(3), expect,
                           id="lesson%s-line%d" % (section[-1] if section else "?", line))


BLOCKS = list(_blocks())


def test_every_lesson_has_a_try_it():
    with open(WALKTHROUGH) as f:
        lessons = set(re.findall(r"^## (\d+)\.", f.read(), re.M))
    tried = {param.id.split("-")[0][len("lesson"):] for param in BLOCKS}
    assert lessons <= tried, sorted(lessons - tried, key=int)
    assert all(param.values[2] for param in BLOCKS), "a try-it without an expectation"


def run(tmp_path, command, lines):
    """`command -i` with `lines` as its input, `python` being this interpreter."""
    python = tmp_path / "python"
    python.write_text('#!/bin/sh\nexec "%s" "$@"\n' % sys.executable)
    python.chmod(0o755)
    env = dict(os.environ, PATH="%s%s%s" % (tmp_path, os.pathsep, os.environ["PATH"]))
    env.pop("HASHTABLE_TRACE", None)
    env.pop("PYTHONPATH", None)
    # A learner's terminal gets each line as it is printed; a pipe gets
    # Python's buffer, which a crash loses: unbuffered, like the terminal.
    env["PYTHONUNBUFFERED"] = "1"
    done = subprocess.run(["bash", "-c", command + " -i"], cwd=REPO, env=env, input=lines,
                          capture_output=True, text=True, timeout=1200)
    # bash reports a child killed by signal N as 128 + N (or the child's -N
    # when it exec'd it).
    crashed = done.returncode < 0 or done.returncode > 128
    report = "%s\nexit %d\n--- stdout\n%s\n--- stderr\n%s" % (
        command, done.returncode, done.stdout[-3000:], done.stderr[-3000:])
    return done, crashed, report


@pytest.mark.parametrize("command, lines, expect", BLOCKS)
def test_try_it(tmp_path, command, lines, expect):
    assert re.search(r"\bpython -q$", command), command
    done, crashed, report = run(tmp_path, command, lines)
    output = done.stdout + done.stderr
    kinds = [kind for kind, _ in expect]
    aborted = done.returncode in (-6, 128 + 6)
    if DEBUG_INTERPRETER and "aborts-if-debug" in kinds and aborted:
        assert "refcount is too small" in done.stderr, report
    else:
        assert crashed == ("crashes" in kinds), report
        if not crashed:
            assert done.returncode == 0, report
        for kind, what in expect:
            if kind == "prints":
                assert re.search(what, output, re.M), "%r not printed\n%s" % (what, report)
            elif kind == "lacks":
                assert what not in output, "%r printed\n%s" % (what, report)
    normal = [what for kind, what in expect if kind == "normal-prints"]
    if normal:
        done, crashed, report = run(tmp_path, "python -q", lines)
        assert done.returncode == 0, report
        for what in normal:
            assert re.search(what, done.stdout + done.stderr, re.M), "%r not printed\n%s" % (
                what, report)
