"""Build the `hashtable` extension: `python setup.py build`.

setuptools-rust runs `cargo build` for the crate and copies the shared object
into build/lib.*/, exactly where the talk imported its C module from. No
binding framework is involved (Binding.NoBinding): the crate exports
PyInit_hashtable itself.

Deliberate bugs for the lessons are Cargo features, chosen with the
HASHTABLE_BUGS environment variable (comma-separated), e.g.

    HASHTABLE_BUGS=forget-incref python setup.py build -b build/variants/forget-incref
"""
import os
import shutil
import sys

from setuptools import setup
from setuptools_rust import Binding, RustExtension
from setuptools_rust.build import build_rust

STUBS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "src", "hashtable.pyi")

KNOWN_BUGS = (
    "forget-incref",
    "forget-decref",
    "decref-borrowed",
    "no-gc",
    "callback-race",
)


def requested_bugs():
    names = [n.strip() for n in os.environ.get("HASHTABLE_BUGS", "").split(",") if n.strip()]
    unknown = [n for n in names if n not in KNOWN_BUGS]
    if unknown:
        sys.exit(
            "HASHTABLE_BUGS: unknown bug(s) %s; known bugs are: %s"
            % (", ".join(unknown), ", ".join(KNOWN_BUGS))
        )
    return names


class build_rust_with_stubs(build_rust):
    """build_rust, then the type stubs (src/hashtable.pyi), twice: as
    hashtable.pyi next to the shared object, which mypy finds when that
    directory is on MYPYPATH or is the current one (the talk's way of working),
    and as the stub-only package hashtable-stubs/ (PEP 561), which mypy finds
    in site-packages once `pip install .` has put the module there."""

    def run(self):
        super().run()
        build_ext = self.get_finalized_command("build_ext")
        dest = os.path.dirname(os.path.abspath(__file__)) if self.inplace else build_ext.build_lib
        os.makedirs(dest, exist_ok=True)
        shutil.copyfile(STUBS, os.path.join(dest, "hashtable.pyi"))
        if not self.inplace:
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
            features=requested_bugs(),
            debug=False,
        )
    ],
    cmdclass={"build_rust": build_rust_with_stubs},
    zip_safe=False,
)
