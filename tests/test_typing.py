"""The type stubs (src/hashtable.pyi, copied next to the module by the build).

`mypy --strict` must accept an example that uses every part of the module
(and the same example must run, so the stubs describe what really happens),
and must reject obviously wrong uses, each with the error expected on its line.
"""
import fcntl
import os
import re
import subprocess
import sys

import pytest

from conftest import _build

pytest.importorskip("mypy", reason="mypy is in tests/requirements.txt")

REFLEAKS_RUN_ONCE = "mypy, stubtest and pip run in child processes"

GOOD = '''\
import copy
import pickle
import sys
import types
from collections.abc import Mapping, MutableMapping
from typing import AbstractSet, Any, Dict, List, Optional, Tuple, Union

import hashtable
from hashtable import HashTable

Key = Union[int, float, str]


def fill(m: "MutableMapping[Key, Any]", n: int) -> int:
    for i in range(n):
        m[i] = str(i)
    return len(m)


def my_hash(key: Key) -> int:
    return len(str(key))


h: HashTable[Key, Any] = HashTable(8, 0.75, hash_func=hash)
naive: HashTable[int, int] = HashTable(hash_func=None)
custom: HashTable[Key, int] = HashTable(size=2, hash_func=my_hash)
lam: HashTable[str, str] = HashTable(hash_func=lambda key: 3)
same: HashTable[Key, Any] = h.set("a", 1).set(2, [1]).set(2.5, None)
assert same is h
small: HashTable[str, int] = HashTable()
small["a"] = 1
assert small.keys() == {"a"} and small.items() == {("a", 1)}
anything: Any = h.get("a")
fallback: Any = h.get("missing", 0)
popped: Any = h.pop("a")
missing: Any = h.pop("b", None)
h["k"] = 1
del h["k"]
n: int = len(h)
present: bool = "k" in h and 2 in h.keys() and None in h.values()
for key in h:
    k: Key = key
for key, value in h.items():
    pair: Tuple[Key, Any] = (key, value)
size: int = h.size
load: int = h.load
max_load: float = h.max_load
func = custom.hash_func
if func is not None:
    hashed: int = func("xyz")
h.update({"x": 1})
h.update([("y", 2), (3, 4)])
# Keywords only where the keys are str, as typeshed types dict.update.
named: HashTable[str, int] = HashTable()
named.update(z=3)
named.update({"w": 0}, v=5)
copied: HashTable[Key, Any] = h.copy()
default: Any = h.setdefault("new", [])
item: Tuple[Key, Any] = h.popitem()
equal: bool = h == {"x": 1} or h != copied


class Sub(HashTable[str, int]):
    def __missing__(self, key: str) -> int:
        return -1


sub: Sub = Sub.fromkeys(["a", "b"], 0)
base: HashTable[int, None] = HashTable.fromkeys(range(3))
fallen: int = sub["not there"]
# Construction from data, the views as sets, reversed, |, |=, pickle and copy.
from_map: HashTable[str, int] = HashTable({"a": 1, "b": 2}, size=8)
from_pairs = HashTable([("a", 1), ("c", 3)], max_load=0.75)
pair_value: Optional[int] = from_pairs.get("c")
common: AbstractSet[str] = from_map.keys() & {"a"}
joined: AbstractSet[Union[str, int]] = from_map.keys() | [1]
pairs_left: AbstractSet[Tuple[str, int]] = from_map.items() - from_pairs.items()
subset: bool = from_map.keys() <= {"a", "b"} and from_map.items() == from_pairs.items()
disjoint: bool = from_map.keys().isdisjoint(["q"])
proxy: Mapping[str, int] = from_map.keys().mapping
backwards: List[str] = list(reversed(from_map)) + list(reversed(from_map.keys()))
last_values: List[int] = list(reversed(from_map.values()))
merged: HashTable[str, int] = from_map | {"c": 3}
merged_right: HashTable[str, int] = {"c": 3} | from_map
widened: HashTable[Union[str, int], int] = from_map | HashTable({1: 1})
from_map |= {"d": 4}
from_map |= [("e", 5)]
restored: HashTable[str, int] = pickle.loads(pickle.dumps(from_map))
deep: HashTable[str, int] = copy.deepcopy(from_map)
alias: types.GenericAlias = HashTable.__class_getitem__((str, int))
nbytes: int = sys.getsizeof(from_map) + from_map.__sizeof__()
stats = h.stats()
longest: int = stats["longest_chain"]
histogram: List[int] = stats["histogram"]
as_dict: Dict[str, Any] = dict(stats)
previous = hashtable.set_trace("off")
hashtable.set_trace(previous)
naive_hash: int = hashtable.naive_hash(3.5) + hashtable.naive_hash("abc")
bugs: Tuple[str, ...] = hashtable.BUGS
filled: int = fill(HashTable(), 10)
h.clear()
print("ran", filled, len(sub), naive_hash)
'''

# Each line: wrong code, then a fragment mypy's message for that line must
# contain (alternatives separated by "|": wording differs between mypy versions).
BAD = [
    ('h.set("a")', 'Missing positional argument "value"|Too few arguments for "set"'),
    ('h.size = 3', 'read-only'),
    ('h.load += 1', 'read-only'),
    ('h.hash_func = None', 'read-only'),
    ('h[(1, 2)] = 3', 'Invalid index type'),
    ('h.get(key="a")', 'Unexpected keyword argument "key"|No overload variant of "get"'),
    ('HashTable(size="4")', 'No overload variant of "HashTable" matches argument type "str"'),
    ('HashTable(hash_func=str)', 'Argument "hash_func" to "HashTable" has incompatible type|'
                                 'No overload variant of "HashTable" matches argument type'),
    ('hashtable.set_trace("verbose")', 'Argument 1 to "set_trace" has incompatible type'),
    ('hashtable.naive_hash(b"x")', 'Argument 1 to "naive_hash" has incompatible type "bytes"'),
    ('x: str = h.stats()["load"]', 'Incompatible types in assignment'),
    ('h.update(1)', 'No overload variant of "update"'),
    ('hashtable.no_such_function()', 'has no attribute "no_such_function"'),
    # The views are sets of anything iterable: not of an int.
    ('h.keys() & 1', 'Unsupported operand types for &'),
    # | takes a HashTable or a dict (a list is a TypeError at runtime), |= any pairs.
    ('h | [("a", 1)]', 'Unsupported operand types for ||No overload variant of "__or__"'),
    ('h |= 1', 'No overload variant of "__ior__"|Unsupported operand types for |'),
    ('h.keys().mapping["x"] = 1', 'Unsupported target for indexed assignment'),
    ('HashTable({"a": 1}, 8)', 'No overload variant of "HashTable"'),
]


def run_mypy(tmp_path, source):
    path = tmp_path / "example.py"
    path.write_text(source)
    env = dict(os.environ, MYPYPATH=_build.lib_dir())
    env.pop("PYTHONPATH", None)
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-color-output", "--show-error-codes",
         "--cache-dir", str(tmp_path / ".mypy_cache"), str(path)],
        env=env, capture_output=True, text=True, timeout=600)


def test_stubs_are_shipped_next_to_the_module():
    repo_stub = os.path.join(_build.REPO, "src", "hashtable.pyi")
    with open(repo_stub) as source:
        expected = source.read()
    for stub in (os.path.join(_build.lib_dir(), "hashtable.pyi"),
                 os.path.join(_build.lib_dir(), "hashtable-stubs", "__init__.pyi")):
        assert os.path.isfile(stub), stub
        with open(stub) as built:
            assert built.read() == expected, "rebuild: %s is stale" % stub


def test_stubs_name_everything_the_module_has():
    import hashtable
    with open(os.path.join(_build.lib_dir(), "hashtable.pyi")) as f:
        stub = f.read()
    for name in dir(hashtable):
        if not name.startswith("__"):
            assert re.search(r"^(def |class )?%s\b" % re.escape(name), stub, re.M), name
    for name in dir(hashtable.HashTable):
        if not name.startswith("_"):
            assert re.search(r"def %s\b" % re.escape(name), stub), name


def test_stubtest_finds_the_stubs_true_to_the_module():
    """mypy's stubtest imports the module and compares every name, signature
    and class in the stubs with it (stub-only helper names are private)."""
    env = dict(os.environ, MYPYPATH=_build.lib_dir(), PYTHONPATH=_build.lib_dir())
    done = subprocess.run([sys.executable, "-m", "mypy.stubtest", "hashtable"], env=env,
                          cwd=_build.lib_dir(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr


def test_pip_installed_module_is_typed_for_mypy(tmp_path):
    """`pip install .` puts the stub-only package hashtable-stubs/ (PEP 561)
    beside the module, so mypy finds the types with nothing on MYPYPATH."""
    target = tmp_path / "site"
    # pip builds in the source tree (build/bdist.*, src/hashtable.egg-info),
    # shared by every interpreter: one install at a time, since tools/test-all
    # tests the chroot's interpreters beside the host's.
    with open(os.path.join(_build.REPO, "build", "pip-install.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        install = subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
             "--disable-pip-version-check", "--target", str(target), _build.REPO],
            capture_output=True, text=True, timeout=1200)
    assert install.returncode == 0, install.stdout + install.stderr
    assert (target / "hashtable-stubs" / "__init__.pyi").is_file()
    assert not (target / "hashtable.py").exists()  # the root's signpost is not shipped
    example = tmp_path / "example.py"
    example.write_text("import hashtable\nsize: str = hashtable.HashTable().size\n")
    env = dict(os.environ, PYTHONPATH=str(target))
    env.pop("MYPYPATH", None)
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-color-output", "--python-executable",
         sys.executable, "--cache-dir", str(tmp_path / ".mypy_cache"), str(example)],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    # Found: the one error is the wrong annotation, not a missing module.
    assert 'variable has type "str"' in done.stdout, done.stdout + done.stderr
    assert "Cannot find implementation or library stub" not in done.stdout, done.stdout


def test_mypy_strict_accepts_an_example_and_the_example_runs(tmp_path, child):
    done = run_mypy(tmp_path, GOOD)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success" in done.stdout
    ran = child(GOOD)
    assert "ran 10 2" in ran.stdout


def test_mypy_strict_reports_wrong_uses(tmp_path):
    prelude = ("import hashtable\nfrom hashtable import HashTable\n"
               "h: HashTable[str, int] = HashTable()\n")
    source = prelude + "".join(code + "\n" for code, _ in BAD)
    done = run_mypy(tmp_path, source)
    assert done.returncode == 1, done.stdout + done.stderr
    first = prelude.count("\n") + 1
    for offset, (code, expected) in enumerate(BAD):
        line = first + offset
        messages = [m for m in done.stdout.splitlines() if m.split(":")[1:2] == [str(line)]]
        assert any(e in m for m in messages for e in expected.split("|")), (
            code, expected, messages, done.stdout)
