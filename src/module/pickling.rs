//! pickle, `copy.copy` and `copy.deepcopy`: `__reduce__`, and the module
//! function `_rebuild` that it names.
//!
//! `h.__reduce__()` has the shape of `dict.__reduce_ex__(2)` for a dict
//! subclass, `(func, args, state, None, iterator of (key, value) pairs)`:
//! - `func(*args)` is `hashtable._rebuild(type(h), initial_size, buckets,
//!   max_load, hash_func)`: the object made as `copyreg.__newobj__` makes it
//!   (`cls.__new__(cls)`: a subclass's `__init__` is not called), then given
//!   a new, empty table with the size `__init__` was given (what `clear()`
//!   returns to), the bucket count now, max_load and the hash function (None
//!   for the naive hash). A hash function that cannot be pickled fails with
//!   pickle's own error.
//! - `state` is the object's own, left to Python's standard protocol: what
//!   its `__getstate__` returns (a subclass's own, else object's: None, the
//!   `__dict__`, or `(__dict__, slots)`; 3.10's object has no `__getstate__`,
//!   and the same default is made here), restored by pickle and copy with
//!   the class's `__setstate__`, or else by updating `__dict__` and setting
//!   the slots.
//! - The pairs, in order, are set by pickle and copy as `obj[key] = value`
//!   (a subclass's own `__setitem__`, as for a dict subclass), so each key is
//!   hashed again by the table's hash function: a hash (of a str, by
//!   default) need not be the same in another process.

use std::ptr::{NonNull, null_mut};

use pyo3_ffi as ffi;

use super::args::{parse_max_load, parse_size, positional};
use super::callout;
use super::hashing::choose_hash_func;
use super::object::{
    HashTableObject, PyTable, install, is_hashtable, raise_table_error, require_table, try_box,
    type_object,
};
use super::refs::{Repr, Strong, none, raise_fmt};
use super::trace::{flush as flush_trace, module_call};
use super::views::{ViewKind, new_iter};

unsafe extern "C" fn hashtable_reduce(
    slf: *mut ffi::PyObject,
    _: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: called with the GIL on a live HashTable.
    unsafe { reduce_impl(slf.cast()) }.map_or(null_mut(), Strong::into_raw)
}

/// A tuple made of `items` (new references, stolen by the tuple). An array,
/// not a Vec: nothing here may allocate with Rust's aborting allocator.
///
/// # Safety
/// The GIL is held.
unsafe fn tuple_of<const N: usize>(items: [Strong; N]) -> Option<Strong> {
    // SAFETY: GIL held (caller); PyTuple_SetItem steals each new reference
    // (it fails only on a bad index).
    unsafe {
        let tuple = Strong::from_new(callout::PyTuple_New(N as ffi::Py_ssize_t))?;
        for (i, item) in items.into_iter().enumerate() {
            ffi::PyTuple_SetItem(tuple.as_ptr(), i as ffi::Py_ssize_t, item.into_raw());
        }
        Some(tuple)
    }
}

/// # Safety
/// The GIL is held; `obj` is a live HashTable.
unsafe fn reduce_impl(obj: *mut HashTableObject) -> Option<Strong> {
    module_call("__reduce__()");
    let slf = obj.cast::<ffi::PyObject>();
    // SAFETY: GIL held; `obj` is live. Every reference made is new and owned
    // by a Strong (the type and the hash function are borrowed from the
    // object, and INCREF'd).
    unsafe {
        require_table(obj)?;
        // The Python code first (a __getstate__, the import): it may change
        // or re-initialise the table. The iterator and the parameters then
        // describe one moment, with no Python code between them.
        let state = object_state(slf)?;
        let module = Strong::from_new(callout::PyImport_ImportModule(c"hashtable".as_ptr()))?;
        let rebuild = Strong::from_new(callout::PyObject_GetAttrString(
            module.as_ptr(),
            c"_rebuild".as_ptr(),
        ))?;
        let items = new_iter(slf, ViewKind::Items, false)?;
        let table = require_table(obj)?;
        let (buckets, max_load) = ((*table).buckets(), (*table).max_load());
        let initial_size = (*obj).initial_size;
        let hash_func = match NonNull::new((*obj).hash_func) {
            Some(f) => Strong::from_borrowed(f),
            None => none(),
        };
        let cls = Strong::from_borrowed(NonNull::new_unchecked(ffi::Py_TYPE(slf).cast()));
        let args = tuple_of([
            cls,
            Strong::from_new(ffi::PyLong_FromSize_t(initial_size))?,
            Strong::from_new(ffi::PyLong_FromSize_t(buckets))?,
            Strong::from_new(ffi::PyFloat_FromDouble(max_load))?,
            hash_func,
        ])?;
        tuple_of([rebuild, args, state, none(), items])
    }
}

/// The object's state, as `object.__reduce_ex__(2)` reads it for a dict
/// subclass: what `obj.__getstate__()` returns (object's own, on 3.11+, when
/// the class has none).
///
/// # Safety
/// The GIL is held; `slf` is a live object.
#[cfg(Py_3_11)]
unsafe fn object_state(slf: *mut ffi::PyObject) -> Option<Strong> {
    // SAFETY: GIL held (caller); new references or NULL with an exception set.
    unsafe {
        let getstate = Strong::from_new(callout::PyObject_GetAttrString(
            slf,
            c"__getstate__".as_ptr(),
        ))?;
        Strong::from_new(callout::PyObject_CallNoArgs(getstate.as_ptr()))
    }
}

/// The object's state, as 3.10's `object.__reduce_ex__(2)` reads it for a
/// dict subclass (object has no `__getstate__` before 3.11): what the class's
/// `__getstate__` returns if it has one; else the `__dict__` (None when there
/// is none or it is empty), paired with a dict of the slots that are set,
/// `(__dict__, slots)`, when there are any (3.11's `object.__getstate__`).
///
/// # Safety
/// The GIL is held; `slf` is a live object.
#[cfg(not(Py_3_11))]
unsafe fn object_state(slf: *mut ffi::PyObject) -> Option<Strong> {
    // SAFETY: GIL held (caller); every reference made is new and owned by a
    // Strong; a name is borrowed from the list and INCREF'd before any
    // Python code runs (the list may change while the slots are read).
    unsafe {
        if let Some(getstate) = attribute(slf, c"__getstate__")? {
            return Strong::from_new(callout::PyObject_CallNoArgs(getstate.as_ptr()));
        }
        let state = match attribute(slf, c"__dict__")? {
            Some(dict)
                if ffi::PyDict_Check(dict.as_ptr()) == 0 || ffi::PyDict_Size(dict.as_ptr()) > 0 =>
            {
                dict
            }
            _ => none(),
        };
        let copyreg = Strong::from_new(callout::PyImport_ImportModule(c"copyreg".as_ptr()))?;
        let slotnames_func = Strong::from_new(callout::PyObject_GetAttrString(
            copyreg.as_ptr(),
            c"_slotnames".as_ptr(),
        ))?;
        let names = Strong::from_new(callout::PyObject_CallOneArg(
            slotnames_func.as_ptr(),
            ffi::Py_TYPE(slf).cast(),
        ))?;
        if names.as_ptr() == ffi::Py_None() {
            return Some(state);
        }
        if ffi::PyList_Check(names.as_ptr()) == 0 {
            return super::refs::raise(
                ffi::PyExc_TypeError,
                "copyreg._slotnames didn't return a list or None",
            );
        }
        let slots = Strong::from_new(callout::PyDict_New())?;
        let mut i = 0;
        while i < ffi::PyList_Size(names.as_ptr()) {
            let name = Strong::from_borrowed(NonNull::new_unchecked(ffi::PyList_GetItem(
                names.as_ptr(),
                i,
            )));
            if let Some(value) = attribute_named(slf, name.as_ptr())? {
                if callout::PyDict_SetItem(slots.as_ptr(), name.as_ptr(), value.as_ptr()) < 0 {
                    return None;
                }
            }
            i += 1;
        }
        if ffi::PyDict_Size(slots.as_ptr()) == 0 {
            return Some(state);
        }
        tuple_of([state, slots])
    }
}

/// `getattr(obj, name)`, `Some(None)` when that raises AttributeError.
///
/// # Safety
/// The GIL is held; `obj` is a live object.
#[cfg(not(Py_3_11))]
unsafe fn attribute(obj: *mut ffi::PyObject, name: &std::ffi::CStr) -> Option<Option<Strong>> {
    // SAFETY: GIL held (caller); a new reference or NULL with an exception set.
    unsafe { absent_if_attribute_error(callout::PyObject_GetAttrString(obj, name.as_ptr())) }
}

/// As [`attribute`], with the name an object (a str).
///
/// # Safety
/// The GIL is held; `obj` and `name` are live objects.
#[cfg(not(Py_3_11))]
unsafe fn attribute_named(
    obj: *mut ffi::PyObject,
    name: *mut ffi::PyObject,
) -> Option<Option<Strong>> {
    // SAFETY: GIL held (caller); a new reference or NULL with an exception set.
    unsafe { absent_if_attribute_error(callout::PyObject_GetAttr(obj, name)) }
}

/// The result of an attribute lookup (a new reference, or NULL): `Some(None)`
/// for an AttributeError, which is cleared; `None` for any other exception.
///
/// # Safety
/// The GIL is held; `result` is a new reference, or NULL with an exception set.
#[cfg(not(Py_3_11))]
unsafe fn absent_if_attribute_error(result: *mut ffi::PyObject) -> Option<Option<Strong>> {
    // SAFETY: as this function's contract.
    unsafe {
        match Strong::from_new(result) {
            Some(value) => Some(Some(value)),
            None if ffi::PyErr_ExceptionMatches(ffi::PyExc_AttributeError) != 0 => {
                callout::PyErr_Clear();
                Some(None)
            }
            None => None,
        }
    }
}

/// `_rebuild(cls, initial_size, buckets, max_load, hash_func)`: what
/// unpickling and copying call first.
unsafe extern "C" fn rebuild(
    _module: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: called with the GIL and `nargs` live, borrowed arguments.
    unsafe { rebuild_impl(args, nargs) }.map_or(null_mut(), Strong::into_raw)
}

/// `cls.__new__(cls)`, as `copyreg.__newobj__(cls)`, then a new, empty table
/// with the given parameters in place of the object's (if `__new__` made a
/// HashTable: anything else is returned as it is, as `__newobj__` would,
/// and receives the pairs through its own `__setitem__`).
///
/// # Safety
/// The GIL is held; `args` holds `nargs` live, borrowed references.
unsafe fn rebuild_impl(args: *const *mut ffi::PyObject, nargs: ffi::Py_ssize_t) -> Option<Strong> {
    module_call("_rebuild()");
    // SAFETY: GIL held; the arguments are live (caller); every reference
    // made is new and owned by a Strong. PyType_IsSubtype reads the MRO and
    // runs no Python code.
    unsafe {
        let [cls, initial_size, buckets, max_load, hash_func] =
            positional::<5>("_rebuild", args, nargs, 5)?;
        if ffi::PyType_Check(cls) == 0 || ffi::PyType_IsSubtype(cls.cast(), type_object()) == 0 {
            return raise_fmt(
                ffi::PyExc_TypeError,
                format_args!(
                    "cls must be HashTable or a subclass of it, not {}",
                    Repr(cls)
                ),
            );
        }
        let initial_size = parse_size(initial_size)?;
        let buckets = parse_size(buckets)?;
        let max_load = parse_max_load(max_load)?;
        let (hash_func, hash_kind) = choose_hash_func(hash_func)?;
        let new = Strong::from_new(callout::PyObject_GetAttrString(cls, c"__new__".as_ptr()))?;
        let obj = Strong::from_new(callout::PyObject_CallOneArg(new.as_ptr(), cls))?;
        if !is_hashtable(obj.as_ptr()) {
            return Some(obj);
        }
        let table = PyTable::new(buckets, max_load);
        flush_trace();
        let table = match table {
            Ok(table) => try_box(table)?,
            Err(e) => return raise_table_error(e),
        };
        install(
            obj.as_ptr().cast(),
            table,
            hash_func,
            hash_kind,
            initial_size,
        );
        Some(obj)
    }
}

/// The method definition, for the type's method table (after dict's).
pub(crate) const PICKLE_METHODS: [ffi::PyMethodDef; 1] = [ffi::PyMethodDef {
    ml_name: c"__reduce__".as_ptr(),
    ml_meth: ffi::PyMethodDefPointer {
        PyCFunction: hashtable_reduce,
    },
    ml_flags: ffi::METH_NOARGS,
    ml_doc: c"__reduce__($self, /)\n--\n\nFor pickle and copy, as dict's for a dict subclass: (hashtable._rebuild,\n(type, initial_size, buckets, max_load, hash_func), the object's state\n(its __getstate__()), None, an iterator of the (key, value) pairs).".as_ptr(),
}];

/// The module function `_rebuild`, for the module's method table.
pub(crate) const REBUILD_FUNCTION: ffi::PyMethodDef = ffi::PyMethodDef {
    ml_name: c"_rebuild".as_ptr(),
    ml_meth: ffi::PyMethodDefPointer {
        PyCFunctionFast: rebuild,
    },
    ml_flags: ffi::METH_FASTCALL,
    ml_doc: c"_rebuild($module, cls, initial_size, buckets, max_load, hash_func, /)\n--\n\nFor pickle and copy (HashTable.__reduce__ names it): cls.__new__(cls),\nwithout __init__, given an empty table with these parameters.".as_ptr(),
};
