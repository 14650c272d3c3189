"""Type stubs for the `hashtable` extension module (written in Rust on the C API).

`python setup.py build` copies this file next to the shared object in
build/lib.*/ and, as the stub-only package hashtable-stubs/ (PEP 561), into
what `pip install .` installs, so IDEs and `mypy --strict` see the module's
real signatures. tests/test_typing.py type-checks an example that uses it and
compares it with the module (mypy's stubtest).
"""
from types import GenericAlias, MappingProxyType
from typing import (Any, Callable, ClassVar, Generic, ItemsView, Iterable, Iterator, KeysView, Literal,
                    MutableMapping, Optional, Tuple, TypedDict, TypeVar, Union, ValuesView,
                    final, overload)

from _typeshed import SupportsKeysAndGetItem
from typing_extensions import Self, disjoint_base

# Names that exist only here, for the annotations below (hence the underscore).
# Keys are any hashable objects, compared as dict compares them (1, 1.0 and
# True are one key), so the key type is as free as dict's.
_KT = TypeVar("_KT")
_VT = TypeVar("_VT")
_KT_co = TypeVar("_KT_co", covariant=True)
_VT_co = TypeVar("_VT_co", covariant=True)
_T1 = TypeVar("_T1")
_T2 = TypeVar("_T2")
_HashFunc = Callable[[Any], int]
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

# What keys(), values() and items() return: live views, registered with
# collections.abc's KeysView, ValuesView and ItemsView as dict's are; the
# keys and items views are sets (comparisons, &, |, -, ^, isdisjoint), as
# typeshed types dict's views (dict_keys and friends).
@final
class _KeysView(KeysView[_KT_co], Generic[_KT_co, _VT_co]):
    # a set: compares with sets and views by contents, and is unhashable
    def __eq__(self, value: object, /) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]
    def __reversed__(self) -> Iterator[_KT_co]: ...
    @property
    def mapping(self) -> MappingProxyType[_KT_co, _VT_co]: ...

@final
class _ValuesView(ValuesView[_VT_co], Generic[_KT_co, _VT_co]):
    def __reversed__(self) -> Iterator[_VT_co]: ...
    @property
    def mapping(self) -> MappingProxyType[_KT_co, _VT_co]: ...

@final
class _ItemsView(ItemsView[_KT_co, _VT_co]):
    # a set: compares with sets and views by contents, and is unhashable
    def __eq__(self, value: object, /) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]
    def __reversed__(self) -> Iterator[Tuple[_KT_co, _VT_co]]: ...
    @property
    def mapping(self) -> MappingProxyType[_KT_co, _VT_co]: ...

@disjoint_base  # a C type with fields of its own (PEP 800)
class HashTable(MutableMapping[_KT, _VT]):
    """A chained hash table: the one of the talk "Peeking into Python's C API".

    Registered as a collections.abc.MutableMapping (not inherited from it),
    generic over its keys and values as dict is: HashTable[str, int].
    """

    # An int positional argument is the talk's size (max_load and hash_func
    # may follow it); anything else is data, as dict's one positional
    # argument, and the numbers are keywords.
    @overload
    def __init__(self, size: int = 4, max_load: float = 0.5,
                 hash_func: Optional[_HashFunc] = ...) -> None: ...
    @overload
    def __init__(self, data: SupportsKeysAndGetItem[_KT, _VT], /, *, size: int = 4,
                 max_load: float = 0.5, hash_func: Optional[_HashFunc] = ...) -> None: ...
    @overload
    def __init__(self, data: Iterable[Tuple[_KT, _VT]], /, *, size: int = 4,
                 max_load: float = 0.5, hash_func: Optional[_HashFunc] = ...) -> None: ...
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
    def set(self, key: _KT, value: _VT, /) -> Self: ...
    @overload
    def get(self, key: _KT, default: None = None, /) -> Optional[_VT]: ...
    @overload
    def get(self, key: _KT, default: Union[_VT, _T1], /) -> Union[_VT, _T1]: ...
    @overload
    def pop(self, key: _KT, /) -> _VT: ...
    @overload
    def pop(self, key: _KT, default: Union[_VT, _T1], /) -> Union[_VT, _T1]: ...
    # The mapping protocol.
    def __getitem__(self, key: _KT, /) -> _VT: ...
    def __setitem__(self, key: _KT, value: _VT, /) -> None: ...
    def __delitem__(self, key: _KT, /) -> None: ...
    def __len__(self) -> int: ...
    def __contains__(self, key: object, /) -> bool: ...
    def __iter__(self) -> Iterator[_KT]: ...
    def __reversed__(self) -> Iterator[_KT]: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __ne__(self, other: object, /) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]  # unhashable, as dict
    def keys(self) -> _KeysView[_KT, _VT]: ...
    def values(self) -> _ValuesView[_KT, _VT]: ...
    def items(self) -> _ItemsView[_KT, _VT]: ...
    @overload
    def setdefault(self: HashTable[_KT, Optional[_T1]], key: _KT, default: None = None, /
                   ) -> Optional[_T1]: ...
    @overload
    def setdefault(self, key: _KT, default: _VT, /) -> _VT: ...
    def popitem(self) -> Tuple[_KT, _VT]: ...
    # As typeshed's MutableMapping.update: keyword arguments only with str keys.
    @overload
    def update(self, other: SupportsKeysAndGetItem[_KT, _VT], /) -> None: ...
    @overload
    def update(self: HashTable[str, _VT], other: SupportsKeysAndGetItem[str, _VT], /,
               **kwargs: _VT) -> None: ...
    @overload
    def update(self, other: Iterable[Tuple[_KT, _VT]], /) -> None: ...
    @overload
    def update(self: HashTable[str, _VT], other: Iterable[Tuple[str, _VT]], /,
               **kwargs: _VT) -> None: ...
    @overload
    def update(self: HashTable[str, _VT], /, **kwargs: _VT) -> None: ...
    def clear(self) -> None: ...
    def copy(self) -> HashTable[_KT, _VT]: ...
    @classmethod
    def fromkeys(cls, iterable: Iterable[Any], value: Any = None, /) -> Self: ...
    def stats(self) -> _Stats: ...
    # dict's operators (PEP 584): a HashTable or a dict on either side of |.
    @overload
    def __or__(self, value: Union[HashTable[_KT, _VT], dict[_KT, _VT]], /) -> HashTable[_KT, _VT]: ...
    @overload
    def __or__(self, value: Union[HashTable[_T1, _T2], dict[_T1, _T2]], /
               ) -> HashTable[Union[_KT, _T1], Union[_VT, _T2]]: ...
    @overload
    def __ror__(self, value: Union[HashTable[_KT, _VT], dict[_KT, _VT]], /) -> HashTable[_KT, _VT]: ...
    @overload
    def __ror__(self, value: Union[HashTable[_T1, _T2], dict[_T1, _T2]], /
                ) -> HashTable[Union[_KT, _T1], Union[_VT, _T2]]: ...
    @overload  # type: ignore[misc]
    def __ior__(self, value: SupportsKeysAndGetItem[_KT, _VT], /) -> Self: ...
    @overload
    def __ior__(self, value: Iterable[Tuple[_KT, _VT]], /) -> Self: ...
    def __class_getitem__(cls, item: Any, /) -> GenericAlias: ...
    def __sizeof__(self) -> int: ...
    # pickle, copy.copy and copy.deepcopy: (_rebuild, its arguments, the
    # object's state from its __getstate__, None, an iterator of the pairs).
    def __reduce__(self) -> Tuple[Any, ...]: ...

def naive_hash(key: Union[int, float, str], /) -> int:
    """The talk's hash: int -> itself, float -> floor, str -> its length."""

def set_trace(level: _TraceLevel, /) -> _TraceLevel:
    """Sets the trace level; returns the previous one."""

def _rebuild(cls: type[HashTable[Any, Any]], initial_size: int, buckets: int, max_load: float,
             hash_func: Optional[_HashFunc], /) -> Any:
    """For pickle and copy: cls.__new__(cls), given an empty table with these parameters."""

# The deliberate bugs compiled in (empty for a normal build).
BUGS: Tuple[str, ...]
# (name, value seen from C, value seen from Rust) for each layout fact checked.
_LAYOUT: Tuple[Tuple[str, int, int], ...]
