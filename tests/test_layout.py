"""The layout probe: build.rs compiles src/layout_probe.c against this
interpreter's own Python.h, recording the sizes and field offsets of
PyObject, PyTypeObject, PyModuleDef, PyMethodDef and PyMemberDef that the
module relies on; PyInit_hashtable compares each with pyo3-ffi's Rust layout
and raises ImportError on the first mismatch. hashtable._LAYOUT holds the
comparison, one (name, C value, Rust value) row per quantity."""
import sys


def test_layout_comparison_covers_every_struct_and_agrees(ht):
    rows = ht._LAYOUT
    print("\nlayout on Python %s (%s):" % (sys.version.split()[0], sys.executable))
    for name, c_value, rust_value in rows:
        print("  %-42s C %4d  Rust %4d" % (name, c_value, rust_value))
    structs = {name.split("(")[1].split(",")[0].rstrip(")") for name, _, _ in rows}
    assert {"PyObject", "PyTypeObject", "PyModuleDef", "PyMethodDef", "PyMemberDef"} <= structs
    mismatches = [row for row in rows if row[1] != row[2]]
    assert not mismatches, mismatches
    # The probe really measured this interpreter: PyObject's size depends on the build.
    assert dict((n, c) for n, c, _ in rows)["sizeof(PyObject)"] == object().__sizeof__()


def test_type_object_offsets_are_plausible(ht):
    """Sanity: the numbers are offsets inside PyTypeObject, in declaration order."""
    offsets = {n: c for n, c, _ in ht._LAYOUT if n.startswith("offsetof(PyTypeObject")}
    size = dict((n, c) for n, c, _ in ht._LAYOUT)["sizeof(PyTypeObject)"]
    ordered = [offsets["offsetof(PyTypeObject, %s)" % f] for f in
               ("tp_name", "tp_dealloc", "tp_flags", "tp_traverse", "tp_methods", "tp_init", "tp_new", "tp_free")]
    assert ordered == sorted(ordered) and ordered[-1] < size
    assert type.__basicsize__ >= size
