"""It's usable: the talk's final demo, end to end.

In the talk this ran in IPython: a hash function written in Python, called
from native code for every key, and every layer printing what it does. Each
line says where it comes from:

    Python:   the hash function below (this script prints it)
    Module:   the C-API layer (src/module/)
    Library:  the table library (src/library/)

Run it with `make demo`, or `python3 examples/its_usable.py` (it builds the
module first if needed).
"""
import math

import _build


def heading(text):
    print()
    print("---", text, "---")


KNUTH = 2654435761  # Knuth's multiplicative constant, about 2**32 / golden ratio


def knuth_hash(key):
    """The talk's home-made hash function."""
    print(f"Python: -> now hashing {key!r}")
    if isinstance(key, int):
        return key * KNUTH % 2**32
    if isinstance(key, float):
        return math.ceil(key * KNUTH % 2**32)
    # A string: each character's code point as three digits, read as one int.
    return int("".join(f"{ord(c):03d}" for c in key))


heading("import hashtable: the module's init prints")
hashtable = _build.load()

heading("Trace level 'calls': every module call and every library step prints")
hashtable.set_trace("calls")

heading("A table that hashes with knuth_hash: the library allocates it")
table = hashtable.HashTable(hash_func=knuth_hash)

heading("Set pi, then the squares of 1 to 5: the buckets double twice")
table.set("pi", math.pi)
for n in range(1, 6):
    table.set(n, n * n)

heading("The picture: one line per bucket, a * per entry in its chain")
print(repr(table))
print(f"size={table.size} load={table.load} max_load={table.max_load}")

heading("A string value, under a float key (the hash's float case)")
table.set(2.5, "two and a half")

heading('get("pi"), pop("pi"), then get("pi") again')
print("get ->", table.get("pi"))
print("pop ->", table.pop("pi"))
print("get ->", table.get("pi"))

heading("del table: the module's dealloc runs, then the library frees the table")
del table

heading("done")
