//! `h | other`, `other | h` and `h |= other`, with dict's rules (PEP 584).
//!
//! `|` takes a HashTable or a dict on each side (as dict's takes dicts on
//! each side; anything else is NotImplemented, so Python raises its own
//! TypeError or asks the other operand). `h | other` is `h.copy()` updated
//! with `other`: a HashTable of the base type with `h`'s size, max_load and
//! hash_func. `d | h` with a dict on the left is a HashTable too, with `h`'s
//! parameters, filled with `d` then `h`: the reflected operation builds the
//! reflected type, as OrderedDict's `__ror__` does. `|=` is `update()`:
//! any mapping or iterable of pairs, as dict's.

use std::ptr::{NonNull, null_mut};

use pyo3_ffi as ffi;

use super::dict_methods::update_from;
use super::object::{copy_of, empty_like, is_hashtable};
use super::refs::{Strong, not_implemented};
use super::trace::module_call;

/// nb_or: called for `left | right` when either operand is a HashTable.
unsafe extern "C" fn hashtable_or(
    left: *mut ffi::PyObject,
    right: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: called with the GIL and two live operands.
    unsafe { or_impl(left, right) }.map_or(null_mut(), Strong::into_raw)
}

/// # Safety
/// The GIL is held; both operands are live.
unsafe fn or_impl(left: *mut ffi::PyObject, right: *mut ffi::PyObject) -> Option<Strong> {
    // SAFETY: type checks of live objects; no Python code runs.
    let operand = |o| unsafe { is_hashtable(o) || ffi::PyDict_Check(o) != 0 };
    if !(operand(left) && operand(right)) {
        return Some(not_implemented());
    }
    module_call("__or__()");
    // SAFETY: GIL held; both operands are live, and one of them a HashTable.
    unsafe {
        let result = if is_hashtable(left) {
            copy_of(left.cast())?
        } else {
            let result = empty_like(right.cast())?;
            update_from(result.as_ptr().cast(), left)?;
            result
        };
        update_from(result.as_ptr().cast(), right)?;
        Some(result)
    }
}

/// nb_inplace_or: `h |= other`, which is `h.update(other)`.
unsafe extern "C" fn hashtable_inplace_or(
    slf: *mut ffi::PyObject,
    other: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: Python calls the left operand's in-place slot, so `slf` is a
    // live HashTable; `other` is live.
    unsafe { inplace_or_impl(slf, other) }.map_or(null_mut(), Strong::into_raw)
}

/// `slf` itself as a new reference, once `other` is merged in.
///
/// # Safety
/// The GIL is held; `slf` is a live HashTable and `other` a live object.
unsafe fn inplace_or_impl(slf: *mut ffi::PyObject, other: *mut ffi::PyObject) -> Option<Strong> {
    module_call("__ior__()");
    // SAFETY: as this function's contract.
    unsafe {
        update_from(slf.cast(), other)?;
        // `slf` is borrowed (non-null: Python passed it); the result is our
        // own reference to it (Py_NewRef), as a new reference.
        Some(Strong::from_borrowed(NonNull::new_unchecked(slf)))
    }
}

pub(crate) static mut HASHTABLE_AS_NUMBER: ffi::PyNumberMethods = ffi::PyNumberMethods {
    nb_or: Some(hashtable_or),
    nb_inplace_or: Some(hashtable_inplace_or),
    // SAFETY: the remaining slots are "not set" when zero.
    ..unsafe { std::mem::zeroed() }
};
