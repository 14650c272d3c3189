"""Build the `hashtable` extension: `python setup.py build`.

setuptools-rust runs `cargo build` for the crate and copies the shared object
into build/lib.*/, exactly where the talk imported its C module from. No
binding framework is involved (Binding.NoBinding): the crate exports
PyInit_hashtable itself.

Deliberate bugs for the lessons are Cargo features, chosen with the
HASHTABLE_BUGS environment variable (comma-separated), e.g.

    HASHTABLE_BUGS=forget-incref python setup.py build -b build/variants/forget-incref

Without -b, such a build goes to build/variants/<bugs>/ anyway, so that it
never replaces the normal build in build/lib.*. The known bugs are the
features of Cargo.toml; an unknown name stops the build with their list.
"""
import os
import re
import shutil
import sys

from setuptools import setup

try:
    from setuptools.command.build import build
except ImportError:  # setuptools < 62.4
    from distutils.command.build import build
from setuptools_rust import Binding, RustExtension
from setuptools_rust.build import build_rust

HERE = os.path.dirname(os.path.abspath(__file__))
STUBS = os.path.join(HERE, "src", "hashtable.pyi")

# The interpreter the crate is built for, named the same way however it was
# started: setuptools-rust passes sys.executable to cargo as PYO3_PYTHON, and
# `python setup.py` and `python3 setup.py` (two names of one interpreter)
# would differ, which makes cargo rebuild pyo3-ffi and the crate each time.
os.environ.setdefault("PYO3_PYTHON", os.path.realpath(sys.executable))


def known_bugs():
    """The deliberate bugs: the features of Cargo.toml's [features] table,
    where each is declared (read by hand: tomllib is 3.11+)."""
    with open(os.path.join(HERE, "Cargo.toml")) as f:
        features = f.read().split("\n[features]\n", 1)[1].split("\n[", 1)[0]
    return tuple(re.findall(r"^([a-z][a-z0-9-]*)\s*=", features, re.M))


KNOWN_BUGS = known_bugs()


def requested_bugs():
    names = [n.strip() for n in os.environ.get("HASHTABLE_BUGS", "").split(",") if n.strip()]
    unknown = [n for n in names if n not in KNOWN_BUGS]
    if unknown:
        sys.exit(
            "HASHTABLE_BUGS: unknown bug(s) %s; known bugs are: %s"
            % (", ".join(unknown), ", ".join(KNOWN_BUGS))
        )
    # In Cargo.toml's order, so a set of bugs always has the same name.
    return [n for n in KNOWN_BUGS if n in names]


BUGS = requested_bugs()


class build_keeping_variants_apart(build):
    """`build`, except that a build with deliberate bugs and no -b goes to
    build/variants/<bugs>/ instead of over the normal build in build/lib.*."""

    def finalize_options(self):
        if BUGS and self.build_base == "build":
            self.build_base = os.path.join("build", "variants", ",".join(BUGS))
            print("HASHTABLE_BUGS=%s: building into %s" % (",".join(BUGS), self.build_base))
        super().finalize_options()


class build_rust_with_stubs(build_rust):
    """build_rust, then the type stubs (src/hashtable.pyi), twice: as
    hashtable.pyi next to the shared object, which mypy finds when that
    directory is on MYPYPATH or is the current one (the talk's way of working),
    and as the stub-only package hashtable-stubs/ (PEP 561), which mypy finds
    in site-packages once `pip install .` has put the module there."""

    def run(self):
        super().run()
        if self.inplace:
            # `pip install -e .`: setuptools sees a src layout and builds the
            # module into src/, where src/hashtable.pyi already is beside it.
            return
        dest = self.get_finalized_command("build_ext").build_lib
        os.makedirs(dest, exist_ok=True)
        shutil.copyfile(STUBS, os.path.join(dest, "hashtable.pyi"))
        package = os.path.join(dest, "hashtable-stubs")
        os.makedirs(package, exist_ok=True)
        shutil.copyfile(STUBS, os.path.join(package, "__init__.pyi"))


setup(
    name="hashtable",
    version="0.1.0",
    rust_extensions=[
        RustExtension(
            "hashtable",
            path="Cargo.toml",
            binding=Binding.NoBinding,
            features=BUGS,
            debug=False,
        )
    ],
    cmdclass={"build": build_keeping_variants_apart, "build_rust": build_rust_with_stubs},
    zip_safe=False,
)
