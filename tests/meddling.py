"""Lesson 9's claim, case by case: a key's __eq__ that changes the table it is
being looked up in, during every keyed operation.

Standard library only, and no `hashtable` import: tests/test_lessons.py runs
each case on a HashTable and on a dict and compares, and runs a case on a
dict alone in a child process (`import meddling; meddling.run({}, ...)`)
where dict itself may die of it.
"""


class MeddlingKey:
    """The lesson's Key: every one hashes alike, and its __eq__ first runs
    `meddle` (once), then compares names."""
    meddle = []

    def __init__(self, name):
        self.name = name

    def __hash__(self):
        return 42

    def __eq__(self, other):
        if MeddlingKey.meddle:
            MeddlingKey.meddle.pop()()
        return isinstance(other, MeddlingKey) and self.name == other.name

    def __repr__(self):
        return "Key(%r)" % self.name


class Meddled(Exception):
    pass


def meddled():
    raise Meddled("from __eq__")


OPERATIONS = {
    "get": lambda t: t.get(MeddlingKey("c"), "default"),
    "t[k]": lambda t: t[MeddlingKey("c")],
    "in": lambda t: MeddlingKey("c") in t,
    "in keys()": lambda t: MeddlingKey("c") in t.keys(),
    "t[k] = v": lambda t: t.__setitem__(MeddlingKey("c"), "new"),
    "setdefault": lambda t: t.setdefault(MeddlingKey("c"), "new"),
    "pop": lambda t: t.pop(MeddlingKey("c"), "default"),
    "del t[k]": lambda t: t.__delitem__(MeddlingKey("c")),
}
CHANGES = {
    "clear": lambda t: t.clear,
    "grow": lambda t: lambda: t.update((i, i) for i in range(40)),
    "delete every key": lambda t: lambda: [t.pop(k) for k in list(t)],
    "delete the compared key": lambda t: lambda: t.pop(next(iter(t))),
    "insert an equal key": lambda t: lambda: t.__setitem__(MeddlingKey("c"), "inserted"),
    "raise": lambda t: meddled,
}


def run(table, operation, change):
    """Fills `table` with keys a, b, c, arms the next __eq__ with `change`,
    and does `operation`: returns its answer (or the exception's type and
    arguments) and the table's items after, in order."""
    for name in "abc":
        table[MeddlingKey(name)] = name
    MeddlingKey.meddle[:] = [CHANGES[change](table)]
    try:
        result = ("ok", OPERATIONS[operation](table))
    except Exception as e:  # noqa: BLE001 - compared with dict's
        result = ("raised", type(e), e.args)
    assert not MeddlingKey.meddle, "__eq__ never ran"
    return result, [(repr(k), v) for k, v in table.items()]
