"""The talk's home-made hash function, for the scripts that time it.

examples/its_usable.py keeps its own copy on purpose, with the print the
talk's demo showed (`Python: -> now hashing ...`): a learner reads it there.
"""
import math

KNUTH = 2654435761  # Knuth's multiplicative constant, about 2**32 / golden ratio


def talk_hash(key):
    """ints: key * 2654435761 mod 2**32; floats: the ceiling of the same;
    strs: each code point as three zero-padded digits, read as one int."""
    if isinstance(key, int):
        return key * KNUTH % 2**32
    if isinstance(key, float):
        return math.ceil(key * KNUTH % 2**32)
    return int("".join(f"{ord(c):03d}" for c in key))
