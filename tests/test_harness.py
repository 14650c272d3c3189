"""The harness builds what it tests: one freshness rule (examples/_build.py).

Tests, lessons, benchmarks and tools import the module through
examples/_build.py, which rebuilds it when any source is newer than the
built file. Here the rule runs on a scratch tree, so no real build happens.
"""
import os
import subprocess
import sys

import _build  # examples/, put on sys.path by conftest.py

REFLEAKS_RUN_ONCE = "works on files; runs no module code"


def scratch_tree(tmp_path, monkeypatch):
    """A repository with one source and one built module, in `tmp_path`."""
    monkeypatch.setattr(_build, "REPO", str(tmp_path))
    lib = tmp_path / "build" / "lib.scratch"
    lib.mkdir(parents=True)
    built = lib / ("hashtable" + _build._ext_suffix(sys.executable))
    built.write_text("")
    source = tmp_path / "src" / "module" / "object.rs"
    source.parent.mkdir(parents=True)
    source.write_text("")
    os.utime(source, (1000, 1000))
    os.utime(built, (2000, 2000))
    return built, source


def test_a_source_newer_than_the_built_module_makes_it_stale(tmp_path, monkeypatch):
    built, source = scratch_tree(tmp_path, monkeypatch)
    assert _build.is_fresh()
    os.utime(source, (3000, 3000))
    assert not _build.is_fresh()
    (tmp_path / "setup.py").write_text("")  # not only src/: every file a build reads
    os.utime(source, (1000, 1000))
    assert not _build.is_fresh()


def test_what_pip_install_e_builds_into_src_is_no_source(tmp_path, monkeypatch):
    built, source = scratch_tree(tmp_path, monkeypatch)
    in_place = source.parent.parent / ("hashtable" + _build._ext_suffix(sys.executable))
    in_place.write_text("")
    (source.parent.parent / "hashtable.egg-info").mkdir()
    (source.parent.parent / "hashtable.egg-info" / "PKG-INFO").write_text("")
    assert _build.is_fresh()


def test_a_stale_module_is_rebuilt_and_a_fresh_one_is_not(tmp_path, monkeypatch):
    built, source = scratch_tree(tmp_path, monkeypatch)
    commands = []

    def setup_py_build(cmd, **kwargs):
        commands.append(cmd)
        os.utime(built)  # what the build does: a new file, newer than every source
        return subprocess.CompletedProcess(cmd, 0, stdout="")

    monkeypatch.setattr(_build.subprocess, "run", setup_py_build)
    _build.build()
    assert commands == []
    os.utime(source, (3000, 3000))
    _build.build()
    assert len(commands) == 1 and commands[0][1:3] == ["setup.py", "build"]
    assert _build.is_fresh()


def test_a_failed_build_raises_with_its_output(tmp_path, monkeypatch):
    built, source = scratch_tree(tmp_path, monkeypatch)
    os.utime(source, (3000, 3000))
    monkeypatch.setattr(_build.subprocess, "run", lambda cmd, **kwargs: subprocess.CompletedProcess(
        cmd, 1, stdout="error[E0308]: mismatched types"))
    try:
        _build.build()
    except RuntimeError as e:
        assert "E0308" in str(e)
    else:
        raise AssertionError("a failed build must not fall back to the old module")


def test_import_from_the_root_finds_this_interpreters_build():
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env["HASHTABLE_TRACE"] = "off"
    done = subprocess.run([sys.executable, "-c", "import hashtable; print(hashtable.__file__)"],
                          cwd=_build.REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == _build.built_module()


def test_import_from_the_root_without_a_build_says_how_to_make_one(tmp_path):
    """A clone with no build: hashtable.py explains instead of a bare
    ModuleNotFoundError."""
    (tmp_path / "examples").mkdir()
    for name in ("hashtable.py", os.path.join("examples", "_build.py")):
        with open(os.path.join(_build.REPO, name)) as f:
            (tmp_path / name).write_text(f.read())
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    done = subprocess.run([sys.executable, "-c", "import hashtable"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "ModuleNotFoundError: hashtable is not built for this Python" in done.stderr
    assert "setup.py build" in done.stderr
