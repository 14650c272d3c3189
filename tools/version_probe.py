"""What the lessons' numbers are on the interpreter running this: one JSON object.

    python tools/version_probe.py

Run by tools/versions.py on every interpreter it can reach, which prints the
table of docs/walkthrough.md ("Your Python is not the talk's"). It measures
what a learner sees in the lessons, the way the lessons measure it: at module
level, with an object() bound to a global name, in a fresh process. Standard
library only, and Python 2.7 too (the talk's Python), so no f-strings.
"""
from __future__ import print_function

import sys

# Lesson 3's first line. Its child has imported functools (through re and
# subprocess), whose _HashedSeq keeps `hash` as a default argument up to
# 3.13: one reference more than a bare interpreter has. Measured here before
# any other import, which could hold more.
import functools  # noqa: E402,F401

HASH_COUNT = sys.getrefcount(hash)

import dis  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402

intern = getattr(sys, "intern", None) or __builtins__.intern  # noqa: F821 (2.7)


def show_ref_counts(obj, times_to_call):
    """Lesson 1's helper, reduced: getrefcount and the frames among the
    referrers, `times_to_call` levels deep."""
    if times_to_call > 1:
        return show_ref_counts(obj, times_to_call - 1)
    count = sys.getrefcount(obj)
    frames = sum(1 for r in gc.get_referrers(obj) if type(r).__name__ == "frame")
    return count, frames


def running_frame_is_tracked():
    return gc.is_tracked(sys._getframe())


def getrefcount_of_a_local():
    local = object()
    return sys.getrefcount(local)


def is_immortal(x):
    """Immortal objects (3.12+) keep their count whatever holds them."""
    before = sys.getrefcount(x)
    holders = [x] * 1000
    after = sys.getrefcount(x)
    del holders
    return after == before


def faulthandler_shows_c_stack():
    """Since 3.14 a fatal error's report (lessons 2 and 4) shows the C stack too."""
    try:
        import faulthandler
    except ImportError:  # 2.7
        return False
    return hasattr(faulthandler, "dump_c_stack")


def dict_message(key):
    try:
        {}[key]
    except TypeError as e:
        return str(e)
    return None


obj = object()
global_count = sys.getrefcount(obj)
one_count, one_frames = show_ref_counts(obj, 1)
deep_count, deep_frames = show_ref_counts(obj, 101)

small_int = 1
# Interned when the interpreter starts (an attribute name it uses itself),
# and interned while the program runs.
startup_name = "__name__"
runtime_name = intern("hashtable_" + "probe")
result = {
    "version": platform.python_version(),
    "implementation": platform.python_implementation(),
    "debug": hasattr(sys, "gettotalrefcount"),
    "getrefcount_hash": HASH_COUNT,
    "getrefcount_global_object": global_count,
    "getrefcount_local_object": getrefcount_of_a_local(),
    "getrefcount_in_first_call": one_count,
    "rise_per_call_level": (deep_count - one_count) / 100.0,
    "frames_per_call_level": (deep_frames - one_frames) / 100.0,
    "running_frame_tracked": running_frame_is_tracked(),
    "immortal_none": is_immortal(None),
    "immortal_small_int": is_immortal(small_int),
    "immortal_startup_str": is_immortal(startup_name),
    "immortal_runtime_str": is_immortal(runtime_name),
    "getrefcount_none": sys.getrefcount(None),
    "getrefcount_small_int": sys.getrefcount(small_int),
    "borrowed_loads": "LOAD_FAST_BORROW" in dis.opmap,
    "faulthandler_c_stack": faulthandler_shows_c_stack(),
    "dict_message": dict_message([]),
}
print(json.dumps(result, sort_keys=True))
