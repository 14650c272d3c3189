"""Find, build and import the `hashtable` extension for the running interpreter.

Examples, lessons, tests, benchmarks and tools all use this instead of an
installed package, as the talk did: `python setup.py build`, then import
from build/lib.*/.

    import _build
    hashtable = _build.load()                   # the normal build
    hashtable = _build.load("forget-incref")    # a build with a deliberate bug
    subprocess.run([sys.executable, "demo.py"], env=_build.env_for("forget-incref"))

    python examples/_build.py                   # prints the build/lib.* directory
    python examples/_build.py forget-incref     # builds the variant if needed, prints its

One rule for all of them: the module is (re)built when it is missing or
older than any of its sources (src/, Cargo.toml, Cargo.lock, build.rs,
setup.py), so no one ever runs an old build of code they just edited; a
build that fails raises, showing the compiler's output. Building takes a
while the first time; a line on stderr says so when stderr is a terminal.

Only one build can be imported per process (one module name, one static type),
so lessons that compare builds run each one in a child process with env_for().
Standard library only.
"""
import glob
import importlib
import os
import subprocess
import sys
import sysconfig

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCES = ("src", "Cargo.toml", "Cargo.lock", "build.rs", "setup.py")


def build_base(variant=None):
    """build/ for the normal build, build/variants/<variant> for a bug variant."""
    if not variant:
        return os.path.join(REPO, "build")
    return os.path.join(REPO, "build", "variants", variant)


def _ext_suffix(python):
    """EXT_SUFFIX of `python`, e.g. .cpython-311d-x86_64-linux-gnu.so for python3.11-dbg."""
    if python == sys.executable:
        return sysconfig.get_config_var("EXT_SUFFIX")
    code = "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))"
    return subprocess.run([python, "-c", code], check=True, capture_output=True,
                          text=True).stdout.strip()


def built_module(variant=None, python=sys.executable):
    """The built module file of `python` for `variant`, or None.

    Several interpreters share one build base (3.11 and 3.11-dbg even share one
    lib.* directory: their file names differ by suffix), and setuptools has
    named the directory both lib.<plat>-3.9 and lib.<plat>-cpython-39, so look
    for the file itself and take the newest.
    """
    name = "hashtable" + _ext_suffix(python)
    found = glob.glob(os.path.join(build_base(variant), "lib.*", name))
    return max(found, key=os.path.getmtime) if found else None


def lib_dir(variant=None, python=sys.executable):
    """The build/lib.* directory holding this interpreter's hashtable module, or None."""
    path = built_module(variant, python)
    return os.path.dirname(path) if path else None


def sources_mtime():
    """The newest modification time of the files a build is made from (not
    what `pip install -e .` builds into src/: the module, its egg-info)."""
    newest = 0.0
    for name in SOURCES:
        path = os.path.join(REPO, name)
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs[:] = [d for d in dirs if not d.endswith(".egg-info")]
                for file in files:
                    if not file.endswith((".so", ".pyd")):
                        newest = max(newest, os.path.getmtime(os.path.join(root, file)))
        elif os.path.exists(path):
            newest = max(newest, os.path.getmtime(path))
    return newest


def is_fresh(variant=None, python=sys.executable):
    """True when the module is built and no source is newer than it."""
    path = built_module(variant, python)
    return path is not None and os.path.getmtime(path) >= sources_mtime()


def build(variant=None, force=False):
    """Runs `python setup.py build` (quietly) unless the module is fresh."""
    if not force and is_fresh(variant):
        return
    if sys.stderr.isatty():
        print("(building %s: HASHTABLE_BUGS=%s python setup.py build -b %s)"
              % (variant or "the normal build", variant or "",
                 os.path.relpath(build_base(variant), REPO)), file=sys.stderr, flush=True)
    env = dict(os.environ, HASHTABLE_BUGS=variant or "")
    if variant:
        # A separate cargo target directory per variant: switching features in
        # one directory would rebuild the crate every time.
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
        env["CARGO_TARGET_DIR"] = os.path.join(target, "variants", variant)
    cmd = [sys.executable, "setup.py", "build", "-b", build_base(variant)]
    done = subprocess.run(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    if done.returncode != 0 or not built_module(variant):
        raise RuntimeError("%s failed (exit %d):\n%s"
                           % (" ".join(cmd), done.returncode, done.stdout[-5000:]))


def load(variant=None):
    """Builds if needed, then imports `hashtable` from its build directory.
    A process that has already imported one (tools/valgrind-check imports its
    own build first) keeps it."""
    if "hashtable" in sys.modules:
        return sys.modules["hashtable"]
    build(variant)
    path = lib_dir(variant)
    if path not in sys.path:
        sys.path.insert(0, path)
    return importlib.import_module("hashtable")


def env_for(variant=None):
    """A copy of os.environ whose PYTHONPATH finds this build, for child processes."""
    build(variant)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [lib_dir(variant)] + [p for p in [env.get("PYTHONPATH")] if p])
    return env


def main(argv):
    """`python examples/_build.py [VARIANT]`: prints the build/lib.* directory
    of this interpreter's module, for `cd "$(...)"` or PYTHONPATH=. The normal
    build must exist already (the README builds it first); a variant is built
    when missing or stale, since nobody else builds it for a learner."""
    variant = argv[0] if argv else None
    if variant:
        try:
            build(variant)
        except RuntimeError as e:
            sys.exit(str(e))
    path = lib_dir(variant)
    if path is None:
        sys.exit("hashtable is not built for this Python: run python setup.py build")
    print(path)


if __name__ == "__main__":
    # The README's walkthrough: cd "$(python examples/_build.py)"; a lesson's
    # try-it: PYTHONPATH="$(python examples/_build.py forget-incref)" python
    main(sys.argv[1:])
