"""A signpost, not the module: `import hashtable` from the repository's root.

The module is compiled: `python setup.py build` puts it in
build/lib.<platform>-<interpreter>/ (the talk imported it from there:
`cd "$(python examples/_build.py)"`). Imported from the root, this file
finds it for you: first anywhere else on sys.path (an installed copy), then
in this interpreter's build directory, and loads it in its own place, so
`hashtable` is the compiled module from then on. Without a build it says how
to make one; with a build older than the sources it says so.

This file is not installed. (A child process started from the root with
`python -c` meets it first on sys.path, as the tests' children do; it hands
them the compiled module they would have found without it.)
"""
import importlib.machinery
import importlib.util
import os
import sys

_ROOT = os.path.dirname(os.path.realpath(__file__))


def _builder():
    """examples/_build.py, loaded without putting examples/ on sys.path."""
    spec = importlib.util.spec_from_file_location(
        "_hashtable_build", os.path.join(_ROOT, "examples", "_build.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _find_compiled():
    """The spec of the compiled module: elsewhere on sys.path, else in this
    interpreter's build directory (with a note when it is stale)."""
    elsewhere = [p for p in sys.path if os.path.realpath(p or os.curdir) != _ROOT]
    spec = importlib.machinery.PathFinder.find_spec(__name__, elsewhere)
    if spec is not None and isinstance(spec.loader, importlib.machinery.ExtensionFileLoader):
        return spec
    build = _builder()
    path = build.built_module()
    if path is None:
        raise ModuleNotFoundError(
            "hashtable is not built for this Python (%s). It is a compiled module: build it "
            "with `%s setup.py build` (it goes to build/lib.*/), then import it again, or "
            "`cd \"$(python examples/_build.py)\"` first, as the talk did."
            % (sys.version.split()[0], os.path.basename(sys.executable)), name=__name__)
    if not build.is_fresh():
        print("hashtable: %s is older than the sources; `python setup.py build` rebuilds it"
              % os.path.relpath(path, _ROOT), file=sys.stderr)
    return importlib.util.spec_from_file_location(__name__, path)


_spec = _find_compiled()
_module = importlib.util.module_from_spec(_spec)
sys.modules[__name__] = _module  # the import statement returns what is here
_spec.loader.exec_module(_module)
