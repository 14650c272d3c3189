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
import sys

from setuptools import setup
from setuptools_rust import Binding, RustExtension

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
    zip_safe=False,
)
