//! The layout check: pyo3-ffi's Rust declarations against the interpreter's
//! own `Python.h`.
//!
//! A static `PyTypeObject` written in Rust is only correct if every field sits
//! where the interpreter reads it. build.rs compiles `src/layout_probe.c`
//! against the target interpreter's headers; here we compare its numbers with
//! `size_of`/`offset_of` of the pyo3-ffi structs, before anything is handed
//! to the interpreter.

use std::ffi::{CStr, c_char, c_uint};
use std::mem::{offset_of, size_of};

use pyo3_ffi as ffi;

#[cfg(Py_3_12)]
use super::keys::NON_SIZE_BITS;
use super::keys::{
    COMPACT_ASCII_STATE, COMPACT_STATE, DIGIT_BITS, Digit, KIND_SHIFT, PyLongObject,
};

#[repr(C)]
struct CLayoutEntry {
    name: *const c_char,
    value: usize,
}

unsafe extern "C" {
    /// Defined in src/layout_probe.c; ends with a NULL name.
    static hashtable_c_layout: [CLayoutEntry; 0];
    /// Defined in src/layout_probe.c: a str's state with these bit-fields set.
    fn hashtable_c_str_state(compact: c_uint, ascii: c_uint, kind: c_uint) -> usize;
}

/// The same quantities, as pyo3-ffi lays them out (names as the probe spells them).
fn rust_layout() -> Vec<(&'static str, usize)> {
    use ffi::{PyMemberDef, PyMethodDef, PyModuleDef, PyObject, PyTypeObject};
    vec![
        ("sizeof(PyObject)", size_of::<PyObject>()),
        ("offsetof(PyObject, ob_type)", offset_of!(PyObject, ob_type)),
        ("sizeof(PyVarObject)", size_of::<ffi::PyVarObject>()),
        ("sizeof(PyTypeObject)", size_of::<PyTypeObject>()),
        (
            "offsetof(PyTypeObject, tp_name)",
            offset_of!(PyTypeObject, tp_name),
        ),
        (
            "offsetof(PyTypeObject, tp_basicsize)",
            offset_of!(PyTypeObject, tp_basicsize),
        ),
        (
            "offsetof(PyTypeObject, tp_dealloc)",
            offset_of!(PyTypeObject, tp_dealloc),
        ),
        (
            "offsetof(PyTypeObject, tp_repr)",
            offset_of!(PyTypeObject, tp_repr),
        ),
        (
            "offsetof(PyTypeObject, tp_as_sequence)",
            offset_of!(PyTypeObject, tp_as_sequence),
        ),
        (
            "offsetof(PyTypeObject, tp_as_mapping)",
            offset_of!(PyTypeObject, tp_as_mapping),
        ),
        (
            "offsetof(PyTypeObject, tp_hash)",
            offset_of!(PyTypeObject, tp_hash),
        ),
        (
            "offsetof(PyTypeObject, tp_flags)",
            offset_of!(PyTypeObject, tp_flags),
        ),
        (
            "offsetof(PyTypeObject, tp_doc)",
            offset_of!(PyTypeObject, tp_doc),
        ),
        (
            "offsetof(PyTypeObject, tp_traverse)",
            offset_of!(PyTypeObject, tp_traverse),
        ),
        (
            "offsetof(PyTypeObject, tp_clear)",
            offset_of!(PyTypeObject, tp_clear),
        ),
        (
            "offsetof(PyTypeObject, tp_richcompare)",
            offset_of!(PyTypeObject, tp_richcompare),
        ),
        (
            "offsetof(PyTypeObject, tp_iter)",
            offset_of!(PyTypeObject, tp_iter),
        ),
        (
            "offsetof(PyTypeObject, tp_iternext)",
            offset_of!(PyTypeObject, tp_iternext),
        ),
        (
            "offsetof(PyTypeObject, tp_methods)",
            offset_of!(PyTypeObject, tp_methods),
        ),
        (
            "offsetof(PyTypeObject, tp_members)",
            offset_of!(PyTypeObject, tp_members),
        ),
        (
            "offsetof(PyTypeObject, tp_getset)",
            offset_of!(PyTypeObject, tp_getset),
        ),
        (
            "offsetof(PyTypeObject, tp_init)",
            offset_of!(PyTypeObject, tp_init),
        ),
        (
            "offsetof(PyTypeObject, tp_alloc)",
            offset_of!(PyTypeObject, tp_alloc),
        ),
        (
            "offsetof(PyTypeObject, tp_new)",
            offset_of!(PyTypeObject, tp_new),
        ),
        (
            "offsetof(PyTypeObject, tp_free)",
            offset_of!(PyTypeObject, tp_free),
        ),
        (
            "offsetof(PyTypeObject, tp_finalize)",
            offset_of!(PyTypeObject, tp_finalize),
        ),
        (
            "offsetof(PyTypeObject, tp_vectorcall)",
            offset_of!(PyTypeObject, tp_vectorcall),
        ),
        (
            "sizeof(PyMappingMethods)",
            size_of::<ffi::PyMappingMethods>(),
        ),
        (
            "sizeof(PySequenceMethods)",
            size_of::<ffi::PySequenceMethods>(),
        ),
        ("sizeof(PyModuleDef)", size_of::<PyModuleDef>()),
        (
            "offsetof(PyModuleDef, m_name)",
            offset_of!(PyModuleDef, m_name),
        ),
        (
            "offsetof(PyModuleDef, m_size)",
            offset_of!(PyModuleDef, m_size),
        ),
        (
            "offsetof(PyModuleDef, m_methods)",
            offset_of!(PyModuleDef, m_methods),
        ),
        (
            "offsetof(PyModuleDef, m_slots)",
            offset_of!(PyModuleDef, m_slots),
        ),
        (
            "offsetof(PyModuleDef, m_free)",
            offset_of!(PyModuleDef, m_free),
        ),
        (
            "sizeof(PyModuleDef_Slot)",
            size_of::<ffi::PyModuleDef_Slot>(),
        ),
        ("sizeof(PyMethodDef)", size_of::<PyMethodDef>()),
        (
            "offsetof(PyMethodDef, ml_meth)",
            offset_of!(PyMethodDef, ml_meth),
        ),
        (
            "offsetof(PyMethodDef, ml_flags)",
            offset_of!(PyMethodDef, ml_flags),
        ),
        (
            "offsetof(PyMethodDef, ml_doc)",
            offset_of!(PyMethodDef, ml_doc),
        ),
        ("sizeof(PyMemberDef)", size_of::<PyMemberDef>()),
        // pyo3-ffi calls C's `type` field `type_code` (`type` is a Rust keyword).
        (
            "offsetof(PyMemberDef, type)",
            offset_of!(PyMemberDef, type_code),
        ),
        (
            "offsetof(PyMemberDef, offset)",
            offset_of!(PyMemberDef, offset),
        ),
        (
            "offsetof(PyMemberDef, flags)",
            offset_of!(PyMemberDef, flags),
        ),
        ("offsetof(PyMemberDef, doc)", offset_of!(PyMemberDef, doc)),
        // What keys.rs assumes of an int object (small_int_value).
        ("sizeof(digit)", size_of::<Digit>()),
        ("value(PyLong_SHIFT)", DIGIT_BITS as usize),
        #[cfg(Py_3_12)]
        (
            "offsetof(PyLongObject, long_value.lv_tag)",
            offset_of!(PyLongObject, lv_tag),
        ),
        #[cfg(Py_3_12)]
        (
            "offsetof(PyLongObject, long_value.ob_digit)",
            offset_of!(PyLongObject, ob_digit),
        ),
        #[cfg(Py_3_12)]
        ("value(_PyLong_NON_SIZE_BITS)", NON_SIZE_BITS as usize),
        #[cfg(not(Py_3_12))]
        (
            "offsetof(PyLongObject, ob_digit)",
            offset_of!(PyLongObject, ob_digit),
        ),
        // What keys.rs assumes of a str object (compact_str).
        (
            "offsetof(PyASCIIObject, length)",
            offset_of!(ffi::PyASCIIObject, length),
        ),
        (
            "offsetof(PyASCIIObject, hash)",
            offset_of!(ffi::PyASCIIObject, hash),
        ),
        (
            "offsetof(PyASCIIObject, state)",
            offset_of!(ffi::PyASCIIObject, state),
        ),
        ("sizeof(PyASCIIObject)", size_of::<ffi::PyASCIIObject>()),
        (
            "sizeof(PyCompactUnicodeObject)",
            size_of::<ffi::PyCompactUnicodeObject>(),
        ),
    ]
}

/// Every probed quantity: (name, value in C, value in Rust). A name the Rust
/// side does not know gets `None`.
pub(crate) fn comparison() -> Vec<(String, usize, Option<usize>)> {
    let rust = rust_layout();
    let mut rows = Vec::new();
    // SAFETY: the probe's array is a static, NULL-terminated list of entries
    // whose names are static NUL-terminated strings (src/layout_probe.c).
    unsafe {
        let mut entry = (&raw const hashtable_c_layout).cast::<CLayoutEntry>();
        while !(*entry).name.is_null() {
            let name = CStr::from_ptr((*entry).name).to_string_lossy().into_owned();
            let rust_value = rust.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
            rows.push((name, (*entry).value, rust_value));
            entry = entry.add(1);
        }
    }
    // The str state bits, which only the compiled probe can tell.
    let states: [(&str, [c_uint; 3], u32); 3] = [
        (
            "value(state: compact, ascii)",
            [1, 1, 0],
            COMPACT_ASCII_STATE,
        ),
        ("value(state: compact)", [1, 0, 0], COMPACT_STATE),
        ("value(state: kind 4)", [0, 0, 4], 4 << KIND_SHIFT),
    ];
    for (name, [compact, ascii, kind], rust_value) in states {
        // SAFETY: a plain C function of the probe, of three small numbers.
        let c_value = unsafe { hashtable_c_str_state(compact, ascii, kind) };
        rows.push((name.to_owned(), c_value, Some(rust_value as usize)));
    }
    rows
}

/// `Err` with a message naming the first quantity that differs.
pub(crate) fn check() -> Result<(), String> {
    for (name, c_value, rust_value) in comparison() {
        match rust_value {
            Some(r) if r == c_value => {}
            Some(r) => {
                return Err(format!(
                    "hashtable was built with pyo3-ffi declarations that do not match this \
                     interpreter's Python.h: {name} is {c_value} in C but {r} in Rust; \
                     refusing to load (rebuild against this interpreter)"
                ));
            }
            None => {
                return Err(format!(
                    "layout probe reports {name}, which the Rust side does not check"
                ));
            }
        }
    }
    Ok(())
}
