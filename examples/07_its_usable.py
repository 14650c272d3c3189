"""Lesson 7: "It's usable", the talk's final demo.

The demo itself is examples/its_usable.py (also `make demo`): a hash function
written in Python that prints "Python: -> now hashing ...", the module
calling it and printing "Module: ..." lines, the table library printing
"Library: ..." lines, a resize, get, pop, and the dealloc and free lines at
exit. This lesson only runs it, so that the lessons can be read and run in
order, 01 to 08.

    python examples/07_its_usable.py
"""
import os
import subprocess
import sys

DEMO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "its_usable.py")


def main():
    sys.stdout.flush()
    return subprocess.call([sys.executable, DEMO] + sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
