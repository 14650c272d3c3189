"""The talk's REPL walkthrough, replayed so the README can show its real output.

In the talk:

    $ python setup.py build
    $ cd build/lib.*
    $ python
    >>> import hashtable
    ...

This script builds the module if needed, changes into build/lib.* and feeds
each line of SESSION to the interpreter the way the REPL does (compile mode
"single": an expression statement's value is echoed by sys.displayhook, and
`_` is set), printing each line after a `>>> ` prompt.
"""
import os
import sys
import traceback

import _build

SESSION = """\
import hashtable
t = hashtable.HashTable()
t
t.set("pi", 3.14159)
t.set(1, 1)
t.set(2, 4)
t.set(3, 9)
t.size, t.load, t.max_load
t.set(1, "one")
t.get("pi")
t.pop("pi")
t.get("pi")
del t
"""


def replay(lines):
    namespace = {"__name__": "__main__"}
    for line in lines:
        print(">>> " + line)
        try:
            exec(compile(line, "<stdin>", "single"), namespace)
        except Exception:
            # The REPL prints the traceback and carries on (on stdout here,
            # so it stays in order with everything else).
            traceback.print_exc(file=sys.stdout)


if __name__ == "__main__":
    _build.build()
    os.chdir(_build.lib_dir())
    sys.path.insert(0, "")  # as in the REPL: import from the current directory
    replay(SESSION.splitlines())
