"""Type stubs for the `hashtable` extension module (written in Rust on the C API).

`python setup.py build` copies this file next to the shared object in
build/lib.*/ and, as the stub-only package hashtable-stubs/ (PEP 561), into
what `pip install .` installs, so IDEs and `mypy --strict` see the module's
real signatures. tests/test_typing.py type-checks an example that uses it and
compares it with the module (mypy's stubtest).
"""
from typing import (Any, Callable, ClassVar, Iterable, Iterator, Literal, MutableMapping,
                    Optional, Tuple, TypedDict, Union, final, overload)

from _typeshed import SupportsKeysAndGetItem
from typing_extensions import Self, disjoint_base

# Names that exist only here, for the annotations below (hence the underscore).
# 1, 1.0 and True are one key; NaN raises ValueError; other types TypeError.
_Key = Union[int, float, str]
_HashFunc = Callable[[_Key], int]
_TraceLevel = Literal["off", "lifecycle", "calls"]

class _Stats(TypedDict):
    buckets: int
    load: int
    load_factor: float
    max_load: float
    resizes: int
    empty_buckets: int
    longest_chain: int
    mean_chain: float
    histogram: list[int]
    colliding_keys: int

# What keys(), values() and items() return: live views with len, `in` and
# iteration. Unlike dict's they have no set operations, so they are not
# typed as KeysView and friends (mypy then rejects `h.keys() & {1}`, which
# would fail at runtime).
@final
class _KeysView:
    def __len__(self) -> int: ...
    def __contains__(self, key: object, /) -> bool: ...
    def __iter__(self) -> Iterator[_Key]: ...

@final
class _ValuesView:
    def __len__(self) -> int: ...
    def __contains__(self, value: object, /) -> bool: ...
    def __iter__(self) -> Iterator[Any]: ...

@final
class _ItemsView:
    def __len__(self) -> int: ...
    def __contains__(self, item: object, /) -> bool: ...
    def __iter__(self) -> Iterator[Tuple[_Key, Any]]: ...

@disjoint_base  # a C type with fields of its own (PEP 800)
class HashTable(MutableMapping[_Key, Any]):
    """A chained hash table: the one of the talk "Peeking into Python's C API".

    Registered as a collections.abc.MutableMapping (not inherited from it).
    The views returned by keys(), values() and items() support len, `in` and
    iteration; unlike dict's, they have no set operations.
    """

    def __init__(self, size: int = 4, max_load: float = 0.5,
                 hash_func: Optional[_HashFunc] = ...) -> None: ...
    # Read-only attributes.
    @property
    def size(self) -> int: ...
    @property
    def load(self) -> int: ...
    @property
    def max_load(self) -> float: ...
    @property
    def hash_func(self) -> Optional[_HashFunc]: ...
    # The talk's methods.
    def set(self, key: _Key, value: Any, /) -> Self: ...
    def get(self, key: _Key, default: Any = None, /) -> Any: ...
    @overload
    def pop(self, key: _Key, /) -> Any: ...
    @overload
    def pop(self, key: _Key, default: Any, /) -> Any: ...
    # The mapping protocol.
    def __getitem__(self, key: _Key, /) -> Any: ...
    def __setitem__(self, key: _Key, value: Any, /) -> None: ...
    def __delitem__(self, key: _Key, /) -> None: ...
    def __len__(self) -> int: ...
    def __contains__(self, key: object, /) -> bool: ...
    def __iter__(self) -> Iterator[_Key]: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __ne__(self, other: object, /) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]  # unhashable, as dict
    # Narrower than MutableMapping's views (see _KeysView).
    def keys(self) -> _KeysView: ...  # type: ignore[override]
    def values(self) -> _ValuesView: ...  # type: ignore[override]
    def items(self) -> _ItemsView: ...  # type: ignore[override]
    def setdefault(self, key: _Key, default: Any = None, /) -> Any: ...
    def popitem(self) -> Tuple[_Key, Any]: ...
    # As typeshed's MutableMapping.update: keyword arguments only with str keys.
    @overload
    def update(self, other: SupportsKeysAndGetItem[_Key, Any], /) -> None: ...
    @overload
    def update(self, other: SupportsKeysAndGetItem[str, Any], /, **kwargs: Any) -> None: ...
    @overload
    def update(self, other: Iterable[Tuple[_Key, Any]], /) -> None: ...
    @overload
    def update(self, other: Iterable[Tuple[str, Any]], /, **kwargs: Any) -> None: ...
    @overload
    def update(self, /, **kwargs: Any) -> None: ...
    def clear(self) -> None: ...
    def copy(self) -> HashTable: ...
    @classmethod
    def fromkeys(cls, iterable: Iterable[_Key], value: Any = None, /) -> Self: ...
    def stats(self) -> _Stats: ...

def naive_hash(key: _Key, /) -> int:
    """The talk's hash: int -> itself, float -> floor, str -> its length."""

def set_trace(level: _TraceLevel, /) -> _TraceLevel:
    """Sets the trace level; returns the previous one."""

# The deliberate bugs compiled in (empty for a normal build).
BUGS: Tuple[str, ...]
# (name, value seen from C, value seen from Rust) for each layout fact checked.
_LAYOUT: Tuple[Tuple[str, int, int], ...]
