/*
 * Layout probe, compiled by build.rs against the target interpreter's own
 * Python.h. It records the sizes and field offsets that the module layer
 * relies on; PyInit_hashtable compares them with pyo3-ffi's Rust declarations
 * (src/module/layout.rs) and refuses to load on the first mismatch.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stddef.h>
#include <string.h>
#if PY_VERSION_HEX < 0x030B0000
#include <longintrepr.h>  /* from 3.11 on, Python.h includes it */
#endif

typedef struct {
    const char *name;
    size_t value;
} hashtable_layout_entry;

#define SIZE(T) {"sizeof(" #T ")", sizeof(T)}
#define OFFSET(T, f) {"offsetof(" #T ", " #f ")", offsetof(T, f)}
#define VALUE(c) {"value(" #c ")", (size_t)(c)}

const hashtable_layout_entry hashtable_c_layout[] = {
    SIZE(PyObject),
    OFFSET(PyObject, ob_type),
    SIZE(PyVarObject),
    SIZE(PyTypeObject),
    OFFSET(PyTypeObject, tp_name),
    OFFSET(PyTypeObject, tp_basicsize),
    OFFSET(PyTypeObject, tp_dealloc),
    OFFSET(PyTypeObject, tp_repr),
    OFFSET(PyTypeObject, tp_as_sequence),
    OFFSET(PyTypeObject, tp_as_mapping),
    OFFSET(PyTypeObject, tp_hash),
    OFFSET(PyTypeObject, tp_flags),
    OFFSET(PyTypeObject, tp_doc),
    OFFSET(PyTypeObject, tp_traverse),
    OFFSET(PyTypeObject, tp_clear),
    OFFSET(PyTypeObject, tp_richcompare),
    OFFSET(PyTypeObject, tp_iter),
    OFFSET(PyTypeObject, tp_iternext),
    OFFSET(PyTypeObject, tp_methods),
    OFFSET(PyTypeObject, tp_members),
    OFFSET(PyTypeObject, tp_getset),
    OFFSET(PyTypeObject, tp_init),
    OFFSET(PyTypeObject, tp_alloc),
    OFFSET(PyTypeObject, tp_new),
    OFFSET(PyTypeObject, tp_free),
    OFFSET(PyTypeObject, tp_finalize),
    OFFSET(PyTypeObject, tp_vectorcall),
    SIZE(PyMappingMethods),
    SIZE(PySequenceMethods),
    SIZE(PyModuleDef),
    OFFSET(PyModuleDef, m_name),
    OFFSET(PyModuleDef, m_size),
    OFFSET(PyModuleDef, m_methods),
    OFFSET(PyModuleDef, m_slots),
    OFFSET(PyModuleDef, m_free),
    SIZE(PyModuleDef_Slot),
    SIZE(PyMethodDef),
    OFFSET(PyMethodDef, ml_meth),
    OFFSET(PyMethodDef, ml_flags),
    OFFSET(PyMethodDef, ml_doc),
    SIZE(PyMemberDef),
    OFFSET(PyMemberDef, type),
    OFFSET(PyMemberDef, offset),
    OFFSET(PyMemberDef, flags),
    OFFSET(PyMemberDef, doc),
    /* keys.rs reads a small int's value from the object (small_int_value). */
    SIZE(digit),
    VALUE(PyLong_SHIFT),
#if PY_VERSION_HEX >= 0x030C0000
    OFFSET(PyLongObject, long_value.lv_tag),
    OFFSET(PyLongObject, long_value.ob_digit),
    VALUE(_PyLong_NON_SIZE_BITS),
#else
    OFFSET(PyLongObject, ob_digit),
#endif
    /* keys.rs reads a str's characters in place (compact_str): its length,
       three bit-fields of its `state` (pyo3-ffi has no accessor for them from
       3.14 on) and the header they follow. */
    OFFSET(PyASCIIObject, length),
    OFFSET(PyASCIIObject, hash),
    OFFSET(PyASCIIObject, state),
    SIZE(PyASCIIObject),
    SIZE(PyCompactUnicodeObject),
    {NULL, 0},
};

/* The bits of PyASCIIObject.state that are set when its bit-fields
   `compact`, `ascii` and `kind` have these values, as this compiler lays the
   bit-field out: a value no constant expression can give, so layout.rs adds
   the ones keys.rs relies on to the comparison itself. */
size_t hashtable_c_str_state(unsigned int compact, unsigned int ascii, unsigned int kind)
{
    PyASCIIObject probe;
    unsigned int bits = 0;
    memset(&probe, 0, sizeof probe);
    probe.state.compact = compact;
    probe.state.ascii = ascii;
    probe.state.kind = kind;
    memcpy(&bits, &probe.state, sizeof bits);
    return bits;
}
