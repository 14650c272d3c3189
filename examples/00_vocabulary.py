"""Lesson 0: the words and the rules, seen from Python.

Before the bugs, the vocabulary they are made of. A *reference* is a
`PyObject *`: the address of an object, whose first fields (PyObject_HEAD)
are its reference count `ob_refcnt` and its type `ob_type`. A reference is
*owned* (strong: its holder must release it once, Py_DECREF), *borrowed*
(usable for now; someone else owns it) or *stolen* (handed to a function
that takes over the duty to release it). Two rules follow:

1. Arguments are borrowed: a C function may use them during the call; to
   keep one beyond it (a table keeps its values), it takes its own
   reference (Py_INCREF, or Py_NewRef).
2. What a C function returns must be owned by the caller: a *new* reference.

And one convention for errors: a function that returns a pointer returns
NULL, one that returns an int returns -1, and an exception is then set.

This script shows each of them from Python: ctypes reads the header of a
live object, calls three C-API functions (ctypes.pythonapi) to show a steal
and the error convention, and looks at the HashTable type and at
PyInit_hashtable the way the interpreter does. tests/test_lessons.py
imports it and checks every number it prints.

    python examples/00_vocabulary.py
"""
import ctypes
import sys

import _build

hashtable = None  # the module, loaded by main() (or by a test)

# Py_TRACE_REFS builds (sys.getobjects exists) put two list pointers before
# ob_refcnt; every other build starts the object with ob_refcnt, ob_type.
# (Free-threaded builds have another header; they are not covered here.)
HEAD = 2 * ctypes.sizeof(ctypes.c_void_p) if hasattr(sys, "getobjects") else 0

# Flag bits of the type object (Include/object.h).
TPFLAGS = {
    "Py_TPFLAGS_HAVE_GC": 1 << 14,
    "Py_TPFLAGS_BASETYPE": 1 << 10,
    "Py_TPFLAGS_MAPPING": 1 << 6,
    "Py_TPFLAGS_HEAPTYPE": 1 << 9,
}


def refcnt_at(address):
    """The ob_refcnt field of the object at `address` (id(obj) in CPython),
    read from memory. Taking the address, not the object, keeps this call
    from holding a reference of its own."""
    return ctypes.c_ssize_t.from_address(address + HEAD).value


def type_at(address):
    """The ob_type field of the object at `address`: its type's address."""
    return ctypes.c_void_p.from_address(address + HEAD + ctypes.sizeof(ctypes.c_ssize_t)).value


def tp_name_at(type_address):
    """The tp_name of the type object at `type_address`: a PyTypeObject starts
    with PyObject_VAR_HEAD (ob_refcnt, ob_type, ob_size), then tp_name."""
    word = ctypes.sizeof(ctypes.c_void_p)
    return ctypes.c_char_p.from_address(type_address + HEAD + 3 * word).value.decode()


def header():
    """(ob_refcnt, sys.getrefcount(obj), ob_type is `object`'s address) of
    `obj = object()`, a local variable."""
    obj = object()
    return refcnt_at(id(obj)), sys.getrefcount(obj), type_at(id(obj)) == id(object)


def owned_by_the_table():
    """Rule 1 from the outside: set() borrows its arguments and keeps the
    value, so the table takes its own reference. Rule 2: get() returns a new
    reference, which the name `got` now owns. ob_refcnt of the value before
    set, after set, after `got = h.get(k)`, after `del h`."""
    value = object()
    address = id(value)
    counts = [refcnt_at(address)]
    h = hashtable.HashTable()
    h.set("k", value)
    counts.append(refcnt_at(address))
    got = h.get("k")
    counts.append(refcnt_at(address))
    del h
    counts.append(refcnt_at(address))
    assert got is value
    return counts


def stolen():
    """PyList_SetItem steals its item: it takes over a reference the caller
    owns. We pay for that reference first (Py_IncRef). ob_refcnt of the item
    before, after paying, after the steal (the list now owns the paid one)."""
    item = object()
    lst = [None]
    pyapi = ctypes.pythonapi
    pyapi.PyList_SetItem.argtypes = [ctypes.py_object, ctypes.c_ssize_t, ctypes.py_object]
    pyapi.PyList_SetItem.restype = ctypes.c_int
    pyapi.Py_IncRef.argtypes = [ctypes.py_object]
    address = id(item)
    counts = [refcnt_at(address)]
    pyapi.Py_IncRef(item)
    counts.append(refcnt_at(address))
    status = pyapi.PyList_SetItem(lst, 0, item)  # steals the reference we paid
    counts.append(refcnt_at(address))
    assert status == 0 and lst[0] is item
    return counts


def error_convention():
    """What three C calls return, through ctypes.pythonapi (a PyDLL: after
    each call it checks whether an exception is set, and raises it)."""
    pyapi = ctypes.pythonapi
    as_long = pyapi.PyLong_AsLong
    as_long.argtypes = [ctypes.py_object]
    as_long.restype = ctypes.c_long
    get_item = pyapi.PyObject_GetItem
    get_item.argtypes = [ctypes.py_object, ctypes.py_object]
    get_item.restype = ctypes.c_void_p
    results = {"PyLong_AsLong(-1)": as_long(-1)}  # -1, and no exception: a value
    for name, call in (("PyLong_AsLong(2**100)", lambda: as_long(2**100)),
                       ("PyObject_GetItem(h, 'missing')",
                        lambda: get_item(hashtable.HashTable(), "missing"))):
        try:
            results[name] = call()
        except Exception as e:  # the exception the C function set
            results[name] = "%s: %s" % (type(e).__name__, e)
    return results


def slots():
    """How the type object's slots show on the class: {attribute: kind}."""
    kinds = {}
    for name in ("__init__", "__repr__", "__len__", "__getitem__", "set", "get", "size"):
        kinds[name] = type(hashtable.HashTable.__dict__[name]).__name__
    return kinds


def flags():
    return {name: bool(hashtable.HashTable.__flags__ & bit) for name, bit in TPFLAGS.items()}


def init_function():
    """Calls PyInit_hashtable as the import system does, through ctypes, twice:
    (the tp_name of the type of what it returns, whether both calls returned
    the same address). The result is read as an address (c_void_p), not as a
    py_object: ctypes takes a py_object result for a new reference and would
    release it, but this one belongs to a static that nobody may free."""
    lib = ctypes.PyDLL(hashtable.__file__)
    lib.PyInit_hashtable.restype = ctypes.c_void_p
    first, second = lib.PyInit_hashtable(), lib.PyInit_hashtable()
    return tp_name_at(type_at(first)), first == second


def main():
    global hashtable
    hashtable = _build.load()
    hashtable.set_trace("off")  # the trace lines are lesson 7's; here only counts
    print("Python %s" % sys.version.split()[0])

    print("\n1. A reference is a PyObject *; the object starts with PyObject_HEAD")
    refcnt, count, typed = header()
    print(">>> obj = object()          # in a function: one reference, the local variable")
    print("  ob_refcnt read from memory = %d, sys.getrefcount(obj) = %d" % (refcnt, count))
    print("  (getrefcount counts its own argument too, up to 3.13; from 3.14 on the")
    print("  argument is a borrowed reference and is not counted)")
    print("  ob_type holds the address of the type `object`: %s" % typed)
    print("  object.__basicsize__ = %d: the header alone; HashTable.__basicsize__ = %d:"
          % (object.__basicsize__, hashtable.HashTable.__basicsize__))
    print("  the header, then the fields of HashTableObject (table, size, load, ...)")

    print("\n2. Owned and borrowed: the two rules, from the outside")
    before, after_set, after_get, after_del = owned_by_the_table()
    print(">>> h.set('k', value)   # set borrows value, and keeps it: takes its own reference")
    print("  ob_refcnt(value): %d -> %d" % (before, after_set))
    print(">>> got = h.get('k')    # get returns a new reference: `got` owns it")
    print("  ob_refcnt(value): %d -> %d" % (after_set, after_get))
    print(">>> del h               # dealloc releases the table's reference")
    print("  ob_refcnt(value): %d -> %d" % (after_get, after_del))

    print("\n3. Stolen: PyList_SetItem(list, 0, item) takes over our reference")
    first, paid, after = stolen()
    print("  ob_refcnt(item) = %d; after Py_IncRef(item) (we pay for one) %d;"
          % (first, paid))
    print("  after the steal %d: the list owns the reference we paid, and we must"
          % after)
    print("  not release it. Without the Py_IncRef the list would own one nobody paid for.")

    print("\n4. Errors: NULL or -1 means an exception is set")
    for call, result in error_convention().items():
        print("  %-32s -> %s" % (call, result))
    print("  -1 is also a value: PyLong_AsLong(-1) returns it with no exception set,")
    print("  so C code checks PyErr_Occurred() when -1 comes back from it.")

    print("\n5. The type object: its slots show on the class")
    for name, kind in slots().items():
        print("  HashTable.%-12s %s" % (name, kind))
    print("  wrapper_descriptor: a tp_/mp_ slot (tp_init, tp_repr, mp_length, ...)")
    print("  method_descriptor: an entry of tp_methods; member_descriptor: of tp_members")
    for name, on in flags().items():
        print("  HashTable.__flags__ & %-20s %s" % (name, on))

    print("\n6. The module: PyInit_hashtable")
    kind, same = init_function()
    print("  PyInit_hashtable() returns a %r object, the same one each call: %s." % (kind, same))
    print("  That is multi-phase init: PyInit hands over the static PyModuleDef, the")
    print("  import system makes the module from it, then runs its Py_mod_exec slot")
    print("  (hashtable_exec), which printed the first line of this output.")


if __name__ == "__main__":
    main()
