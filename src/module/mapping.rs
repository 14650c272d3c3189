//! The mapping protocol of a HashTable, beyond the talk's type, so that it
//! can stand in for a dict: `len(h)`, `h[k]` (with a subclass's
//! `__missing__`), `h[k] = v`, `del h[k]`, `k in h`, `iter(h)` and `==`
//! (dict's other methods are in dict_methods.rs).
//!
//! The type object in hashtable_type.rs points at the tables at the end of
//! this file. Every keyed operation goes through access.rs (hash first, then
//! borrow); the iterator is in views.rs.

use std::ffi::c_int;
use std::ptr::null_mut;

use pyo3_ffi as ffi;

use super::access::{insert, lookup, remove};
use super::callout;
use super::object::{HashTableObject, PyTable, is_hashtable, require_table, type_object};
use super::refs::{
    Strong, TypeName, bool_object, not_implemented, raise_key_error, raise_no_memory,
};
use super::trace::{flush as flush_trace, module_call};
use super::views::{ViewKind, new_iter};
use crate::library::trace::{Level, Origin};
use crate::trace;

// ---------------------------------------------------------------------------
// The mapping protocol: len(h), h[k], h[k] = v, del h[k], k in h, iter(h)
// ---------------------------------------------------------------------------

unsafe extern "C" fn hashtable_length(slf: *mut ffi::PyObject) -> ffi::Py_ssize_t {
    module_call("len()");
    // SAFETY: called with the GIL on a live HashTable; the table is only read.
    unsafe { require_table(slf.cast()).map_or(-1, |table| (*table).len() as ffi::Py_ssize_t) }
}

unsafe extern "C" fn hashtable_subscript(
    slf: *mut ffi::PyObject,
    key: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: called with the GIL, a live HashTable and a live borrowed key.
    unsafe { subscript_impl(slf.cast(), key) }.map_or(null_mut(), Strong::into_raw)
}

/// `h[key]`: the value; for a missing key, what a subclass's `__missing__`
/// returns (as dict calls it), or KeyError.
///
/// # Safety
/// The GIL is held; `obj` is a live HashTable and `key` a live object.
unsafe fn subscript_impl(obj: *mut HashTableObject, key: *mut ffi::PyObject) -> Option<Strong> {
    // SAFETY: as this function's contract.
    unsafe {
        if let Some(value) = lookup(obj, "__getitem__", key)? {
            return Some(value);
        }
        if ffi::Py_TYPE(obj.cast()) != type_object() {
            if let Some(value) = call_missing(obj, key)? {
                return Some(value);
            }
        }
        raise_key_error(key)
    }
}

/// `type(h).__missing__(h, key)` if the class defines one: `Some(None)`
/// when it does not. Looked up on the class, not the instance, as dict does.
///
/// # Safety
/// The GIL is held; `obj` is a live HashTable and `key` a live object.
unsafe fn call_missing(
    obj: *mut HashTableObject,
    key: *mut ffi::PyObject,
) -> Option<Option<Strong>> {
    // SAFETY: as this function's contract; every reference made is new and
    // owned by a Strong; PyTuple_SetItem steals the new references to `obj`
    // and `key` (it fails only on a bad index).
    unsafe {
        let cls = ffi::Py_TYPE(obj.cast()).cast::<ffi::PyObject>();
        let Some(missing) = Strong::from_new(callout::PyObject_GetAttrString(
            cls,
            c"__missing__".as_ptr(),
        )) else {
            if ffi::PyErr_ExceptionMatches(ffi::PyExc_AttributeError) == 0 {
                return None;
            }
            callout::PyErr_Clear();
            return Some(None);
        };
        let args = Strong::from_new(callout::PyTuple_New(2))?;
        ffi::PyTuple_SetItem(args.as_ptr(), 0, ffi::compat::Py_NewRef(obj.cast()));
        ffi::PyTuple_SetItem(args.as_ptr(), 1, ffi::compat::Py_NewRef(key));
        Strong::from_new(callout::PyObject_CallObject(
            missing.as_ptr(),
            args.as_ptr(),
        ))
        .map(Some)
    }
}

/// `h[k] = v`, or `del h[k]` when `value` is null.
unsafe extern "C" fn hashtable_ass_subscript(
    slf: *mut ffi::PyObject,
    key: *mut ffi::PyObject,
    value: *mut ffi::PyObject,
) -> c_int {
    // SAFETY: called with the GIL, a live HashTable and live borrowed arguments.
    unsafe { ass_subscript_impl(slf.cast(), key, value) }.map_or(-1, |()| 0)
}

/// # Safety
/// The GIL is held; `obj` is a live HashTable, `key` a live object and
/// `value` null or live.
unsafe fn ass_subscript_impl(
    obj: *mut HashTableObject,
    key: *mut ffi::PyObject,
    value: *mut ffi::PyObject,
) -> Option<()> {
    // SAFETY: as this function's contract.
    unsafe {
        if !value.is_null() {
            return insert(obj, "__setitem__", key, value);
        }
        match remove(obj, "__delitem__", key)? {
            // The removed value is released here, after the table is consistent.
            Some(_removed) => Some(()),
            None => raise_key_error(key),
        }
    }
}

unsafe extern "C" fn hashtable_contains(slf: *mut ffi::PyObject, key: *mut ffi::PyObject) -> c_int {
    // SAFETY: called with the GIL, a live HashTable and a live borrowed key.
    unsafe { lookup(slf.cast(), "__contains__", key) }
        .map_or(-1, |found| c_int::from(found.is_some()))
}

/// tp_iter: `iter(h)`, over the keys.
pub(crate) unsafe extern "C" fn hashtable_iter(slf: *mut ffi::PyObject) -> *mut ffi::PyObject {
    module_call("iter()");
    // SAFETY: called with the GIL on a live HashTable.
    unsafe { new_iter(slf, ViewKind::Keys, false) }.map_or(null_mut(), Strong::into_raw)
}

// ---------------------------------------------------------------------------
// ==: the same keys with equal values, for any mapping
// ---------------------------------------------------------------------------

/// tp_richcompare: `==` and `!=`; NotImplemented for the orderings.
pub(crate) unsafe extern "C" fn hashtable_richcompare(
    slf: *mut ffi::PyObject,
    other: *mut ffi::PyObject,
    op: c_int,
) -> *mut ffi::PyObject {
    // SAFETY: called with the GIL on a live HashTable and a live object.
    unsafe { richcompare_impl(slf.cast(), other, op) }.map_or(null_mut(), Strong::into_raw)
}

/// # Safety
/// The GIL is held; `obj` is a live HashTable and `other` a live object.
unsafe fn richcompare_impl(
    obj: *mut HashTableObject,
    other: *mut ffi::PyObject,
    op: c_int,
) -> Option<Strong> {
    if op != ffi::Py_EQ && op != ffi::Py_NE {
        return Some(not_implemented());
    }
    trace!(
        Level::Calls,
        Origin::Module,
        "{}(<{}>)",
        if op == ffi::Py_EQ { "__eq__" } else { "__ne__" },
        TypeName(other)
    );
    flush_trace();
    // SAFETY: as this function's contract.
    Some(match unsafe { mapping_equals(obj, other) }? {
        None => not_implemented(),
        Some(equal) => bool_object(equal == (op == ffi::Py_EQ)),
    })
}

/// New references to every key and value, in order, so that code which
/// runs Python (`==`, hashing) never meets a borrowed table.
///
/// # Safety
/// `table` is a live table and the GIL is held.
pub(crate) unsafe fn snapshot(table: *mut PyTable) -> Option<Vec<(Strong, Strong)>> {
    // SAFETY: the borrow lasts for this loop, which runs no Python code
    // (taking a reference is an INCREF).
    let table = unsafe { &*table };
    let mut items = Vec::new();
    if items.try_reserve_exact(table.len()).is_err() {
        // SAFETY: GIL held (caller).
        return unsafe { raise_no_memory() };
    }
    items.extend(
        table
            .iter()
            .map(|(key, value)| (key.0.clone_ref(), value.clone_ref())),
    );
    Some(items)
}

/// `h == other`: `Some(None)` when `other` is not a mapping (NotImplemented).
///
/// # Safety
/// `obj` is a live HashTable, `other` a live object, and the GIL is held.
unsafe fn mapping_equals(
    obj: *mut HashTableObject,
    other: *mut ffi::PyObject,
) -> Option<Option<bool>> {
    // SAFETY: as this function's contract; every reference made here is
    // owned by a Strong.
    unsafe {
        let other_is_dict = ffi::PyDict_Check(other) != 0;
        let other_is_table = is_hashtable(other);
        if !(other_is_dict || other_is_table || is_mapping(other)?) {
            return Some(None);
        }
        // len(other) can run Python code (a Mapping's __len__) that clears or
        // re-initialises this table: look the table up only after it.
        let other_len = callout::PyObject_Size(other);
        if other_len < 0 {
            return None;
        }
        let table = require_table(obj)?;
        if other_len as usize != (*table).len() {
            return Some(Some(false));
        }
        for (key, value) in snapshot(table)? {
            let theirs = if other_is_dict {
                // As dict's own ==: the dict's entry itself, never its
                // __getitem__ or __missing__ (Counter, defaultdict would
                // answer, or even insert, for a key they do not hold).
                let mut found = std::ptr::null_mut();
                match callout::PyDict_GetItemRef(other, key.as_ptr(), &mut found) {
                    -1 => return None,
                    0 => return Some(Some(false)),
                    _ => Strong::from_new(found)?, // a new reference
                }
            } else if other_is_table {
                // The other table's own entries (with its own hash function),
                // never a subclass's __getitem__, which may answer for keys
                // it does not hold: as dict reads a dict subclass.
                match lookup(other.cast(), "__eq__", key.as_ptr())? {
                    Some(theirs) => theirs,
                    None => return Some(Some(false)),
                }
            } else {
                // Another mapping: `key in other` first, so that a __getitem__
                // with a fallback (UserDict's __missing__) is not mistaken for
                // a value the mapping holds.
                match callout::PySequence_Contains(other, key.as_ptr()) {
                    -1 => return None,
                    0 => return Some(Some(false)),
                    _ => {}
                }
                let Some(theirs) = Strong::from_new(callout::PyObject_GetItem(other, key.as_ptr()))
                else {
                    if ffi::PyErr_ExceptionMatches(ffi::PyExc_KeyError) != 0 {
                        callout::PyErr_Clear();
                        return Some(Some(false));
                    }
                    return None;
                };
                theirs
            };
            match callout::PyObject_RichCompareBool(value.as_ptr(), theirs.as_ptr(), ffi::Py_EQ) {
                -1 => return None,
                0 => return Some(Some(false)),
                _ => {}
            }
        }
        Some(Some(true))
    }
}

/// `isinstance(obj, collections.abc.Mapping)`.
///
/// # Safety
/// `obj` is a live object and the GIL is held.
unsafe fn is_mapping(obj: *mut ffi::PyObject) -> Option<bool> {
    // SAFETY: GIL held (caller); every reference made is new and owned by a
    // Strong; isinstance may run Python code (`__instancecheck__`).
    unsafe {
        let abc = Strong::from_new(callout::PyImport_ImportModule(c"collections.abc".as_ptr()))?;
        let mapping = Strong::from_new(callout::PyObject_GetAttrString(
            abc.as_ptr(),
            c"Mapping".as_ptr(),
        ))?;
        match callout::PyObject_IsInstance(obj, mapping.as_ptr()) {
            -1 => None,
            r => Some(r == 1),
        }
    }
}

// ---------------------------------------------------------------------------
// The tables the type object points at
// ---------------------------------------------------------------------------

pub(crate) static mut HASHTABLE_AS_MAPPING: ffi::PyMappingMethods = ffi::PyMappingMethods {
    mp_length: Some(hashtable_length),
    mp_subscript: Some(hashtable_subscript),
    mp_ass_subscript: Some(hashtable_ass_subscript),
};

/// Only `in`: without sq_item, PySequence_Check stays false, as for dict.
pub(crate) static mut HASHTABLE_AS_SEQUENCE: ffi::PySequenceMethods = ffi::PySequenceMethods {
    sq_contains: Some(hashtable_contains),
    // SAFETY: the remaining slots are "not set" when zero.
    ..unsafe { std::mem::zeroed() }
};

/// Py_TPFLAGS_MAPPING (3.10+) lets `match` treat a HashTable as a mapping.
pub(crate) const MAPPING_FLAG: std::ffi::c_ulong = if cfg!(Py_3_10) { 1 << 6 } else { 0 };
