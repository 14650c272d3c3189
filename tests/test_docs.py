"""The docs quote the source as it is.

docs/*.md and README.md show excerpts of the Rust code in ```rust blocks
(the buggy line next to the right one, for the lessons). An excerpt may skip
lines with a line that is only "..."; every run of lines between those must
appear, verbatim and in one piece, in a file under src/.
"""
import glob
import os
import re

import pytest

REFLEAKS_RUN_ONCE = "reads files; runs no module code"

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = sorted(glob.glob(os.path.join(REPO, "docs", "*.md"))) + [os.path.join(REPO, "README.md")]


def _excerpts():
    for path in DOCS:
        with open(path) as f:
            text = f.read()
        for match in re.finditer(r"^```rust\n(.*?)^```", text, re.S | re.M):
            line = text[:match.start()].count("\n") + 1
            yield pytest.param(match.group(1), id="%s:%d" % (os.path.relpath(path, REPO), line))


def _sources():
    texts = []
    for path in sorted(glob.glob(os.path.join(REPO, "src", "**", "*.rs"), recursive=True)):
        with open(path) as f:
            texts.append(f.read())
    return texts


SOURCES = _sources()


def test_the_docs_quote_rust_code():
    assert len(list(_excerpts())) >= 5


@pytest.mark.parametrize("excerpt", list(_excerpts()))
def test_rust_excerpt_is_in_the_source(excerpt):
    chunks = re.split(r"^\s*\.\.\.\s*\n", excerpt, flags=re.M)
    for chunk in chunks:
        if chunk.strip():
            assert any(chunk in source for source in SOURCES), "not in src/:\n" + chunk


def test_the_readme_walkthrough_cds_into_this_interpreters_build(tmp_path):
    """The README's `cd` line, run as written (with `python` being
    this interpreter), lands in the directory this build imports from, also
    when builds for other interpreters sit beside it."""
    import subprocess
    import sys

    from conftest import _build

    with open(os.path.join(REPO, "README.md")) as f:
        readme = f.read()
    walkthrough = readme.split("## The talk's REPL walkthrough", 1)[1]
    block = re.search(r"^```sh\n(.*?)^```", walkthrough, re.S | re.M).group(1)
    (cd_line,) = [line for line in block.splitlines() if line.startswith("cd ")]
    python = tmp_path / "python"
    python.write_text('#!/bin/sh\nexec "%s" "$@"\n' % sys.executable)
    python.chmod(0o755)
    env = dict(os.environ, PATH="%s%s%s" % (tmp_path, os.pathsep, os.environ["PATH"]))
    done = subprocess.run(["bash", "-c", cd_line + " && pwd"], cwd=REPO, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert os.path.realpath(done.stdout.strip()) == os.path.realpath(_build.lib_dir())


RUST_LINE = re.compile(r"(ffi::|callout::|#\[cfg\(|\bunsafe\b|\blet\b.*;|^\s*fn )")


def test_the_lessons_quote_rust_lines_that_exist():
    """The lesson scripts quote the line in question in their docstrings,
    indented (as code in a docstring is), sometimes with a comment of their
    own. The code of each quoted Rust line (without indentation and `//`
    comment) must be the code of a line of src/ (a line holding "..." is a
    paraphrase and is skipped)."""
    def code(line):
        return line.split("//")[0].strip()

    source_lines = {code(line) for text in SOURCES for line in text.splitlines()}
    checked = 0
    for path in sorted(glob.glob(os.path.join(REPO, "examples", "[0-9][0-9]_*.py"))):
        with open(path) as f:
            docstring = f.read().split('"""')[1]
        for line in docstring.splitlines():
            quoted = line.startswith("    ") and not line.strip().startswith("python")
            if quoted and RUST_LINE.search(line) and "..." not in line:
                checked += 1
                assert code(line) in source_lines, "%s quotes a line not in src/: %s" % (
                    os.path.relpath(path, REPO), line.strip())
    assert checked >= 5


def _output_blocks():
    marker = re.compile(r"^<!-- output: ([^\n]+?) -->\n(?:<!-- varies: [^\n]+ -->\n)*"
                        r"(`{3,})text\n(.*?)^\2$", re.S | re.M)
    for path in DOCS:
        with open(path) as f:
            text = f.read()
        for match in marker.finditer(text):
            line = text[:match.start()].count("\n") + 1
            yield pytest.param(match.group(1), match.group(3),
                               id="%s:%d" % (os.path.relpath(path, REPO), line))


@pytest.mark.parametrize("command, block", list(_output_blocks()))
def test_output_block_was_made_by_its_marker(command, block):
    """tools/regen_docs.py writes `$ command` and the output under each
    `<!-- output: command -->` marker. A marker whose command was edited, or a
    block never regenerated, shows here (the output itself is not rerun: it
    holds timings and addresses)."""
    lines = block.splitlines()
    assert lines and lines[0] == "$ " + command, "rerun tools/regen_docs.py: %r" % lines[:1]
    assert len(lines) > 1, "no output under the command: rerun tools/regen_docs.py"


def _regen_docs():
    import importlib.util
    spec = importlib.util.spec_from_file_location("regen_docs",
                                                  os.path.join(REPO, "tools", "regen_docs.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_varies_line_is_a_pattern_the_check_can_use():
    regen = _regen_docs()
    found = 0
    for path in DOCS:
        with open(path) as f:
            for line in f:
                match = regen.VARIES.match(line)
                if match and match.group(1) != "numbers":
                    re.compile(match.group(1), re.M)
                    found += 1
    assert found >= 3


def test_the_check_hides_what_varies_and_nothing_else():
    regen = _regen_docs()
    race = ["h\\.load = (\\d+), lost ([1-9]\\d*)"]
    one = regen.hide_varying("run 1: len(h) = 80, h.load = 21, lost 59\nlost 0", race)
    two = regen.hide_varying("run 1: len(h) = 80, h.load = 37, lost 43\nlost 0", race)
    assert one == two == "run 1: len(h) = 80, h.load = …, lost …\nlost 0"
    assert regen.hide_varying("h.load = 80, lost 0", race) == "h.load = 80, lost 0"
    table_a = "insert   60.6  46.8  PASS\n------  ----"
    table_b = "insert  160.6   6.8  PASS\n------  -----"
    assert regen.hide_varying(table_a, ["numbers"]) == regen.hide_varying(table_b, ["numbers"])
    assert regen.hide_varying(table_a, ["numbers"]) != regen.hide_varying(
        table_a.replace("PASS", "FAIL"), ["numbers"])


def _c_blocks():
    for path in DOCS:
        with open(path) as f:
            text = f.read()
        for match in re.finditer(r"^```(c|diff)\n(.*?)^```", text, re.S | re.M):
            line = text[:match.start()].count("\n") + 1
            yield pytest.param(match.group(1), match.group(2),
                               id="%s:%d" % (os.path.relpath(path, REPO), line))


def _c_api_names():
    """Every `Py...` name that this interpreter's headers declare, and those
    that docs/ownership.md lists (it names what newer versions added)."""
    import sysconfig

    include = sysconfig.get_paths()["include"]
    headers = glob.glob(os.path.join(include, "**", "*.h"), recursive=True)
    if not headers:
        pytest.skip("no C headers for this interpreter under %s" % include)
    names = set()
    for path in headers + [os.path.join(REPO, "docs", "ownership.md")]:
        with open(path, errors="replace") as f:
            names |= set(re.findall(r"\b_?Py\w+", f.read()))
    return names


@pytest.mark.parametrize("kind, block", list(_c_blocks()))
def test_the_c_in_the_docs_uses_real_c_api_names(kind, block):
    """The C beside the Rust (the talk's, CPython's) is not compiled, so a
    misspelt or invented C-API name would go unnoticed: every `Py...` name in
    a ```c or ```diff block must be one that CPython declares (or the
    module's own init function), and a diff's lines must be a diff's."""
    if kind == "diff":
        for line in block.splitlines():
            assert line == "" or line[0] in " +-", "not a diff line: %r" % line
        assert re.search(r"^[-+]", block, re.M), "a diff with no change"
    known = _c_api_names() | {"PyInit_hashtable"}
    unknown = sorted(set(re.findall(r"\b_?Py\w+", block)) - known)
    assert not unknown, "no such C-API name in CPython's headers: %s" % unknown


def test_the_c_check_catches_an_invented_name():
    names = _c_api_names()
    assert "PyObject_RichCompareBool" in names and "Py_INCREF" in names
    assert "PyObject_RichCompareBoool" not in names
