//! pickle, `copy.copy` and `copy.deepcopy`: `__reduce__` and `__setstate__`.
//!
//! `h.__reduce__()` is `(copyreg.__newobj__, (type(h),), state)`, what
//! `object.__reduce_ex__(2)` gives for a class with state: unpickling makes
//! the object with `type(h).__new__` alone (a subclass whose `__init__`
//! takes other arguments is not called), then `__setstate__(state)` builds
//! its table. The state is the tuple
//! `(initial_size, buckets, max_load, hash_func, items, instance_dict)`:
//! the size `__init__` was given (what `clear()` returns to), the bucket
//! count now, max_load, the hash function (None for the naive hash), the
//! (key, value) pairs in order, and a subclass instance's `__dict__` (None
//! for a HashTable itself). The keys are hashed again by `__setstate__`:
//! a hash (of a str, by default) need not be the same in another process.
//! A hash function that cannot be pickled fails with pickle's own error.

use std::ptr::{NonNull, null_mut};

use pyo3_ffi as ffi;

use super::args::{parse_max_load, parse_size};
use super::callout;
use super::dict_methods::update_from;
use super::hashing::choose_hash_func;
use super::mapping::snapshot;
use super::object::{HashTableObject, PyTable, install, raise_table_error, require_table, try_box};
use super::refs::{Strong, TypeName, none, raise_fmt};
use super::trace::{flush as flush_trace, module_call};

/// How many items the state tuple has.
const STATE_LEN: ffi::Py_ssize_t = 6;

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
    // SAFETY: GIL held; `obj` is live. The numbers and the hash function are
    // read, and the entries taken (INCREFs), with no Python code between
    // them; every reference made after is new and owned by a Strong.
    unsafe {
        let table = require_table(obj)?;
        let (buckets, max_load) = ((*table).buckets(), (*table).max_load());
        let initial_size = (*obj).initial_size;
        let hash_func = match NonNull::new((*obj).hash_func) {
            Some(f) => Strong::from_borrowed(f),
            None => none(),
        };
        let entries = snapshot(table)?;
        let items = Strong::from_new(callout::PyList_New(entries.len() as ffi::Py_ssize_t))?;
        for (i, (key, value)) in entries.into_iter().enumerate() {
            let pair = tuple_of([key, value])?;
            ffi::PyList_SetItem(items.as_ptr(), i as ffi::Py_ssize_t, pair.into_raw());
        }
        let instance_dict = if ffi::Py_TYPE(slf) == super::object::type_object() {
            none()
        } else {
            Strong::from_new(callout::PyObject_GetAttrString(slf, c"__dict__".as_ptr()))?
        };
        let state = tuple_of([
            Strong::from_new(ffi::PyLong_FromSize_t(initial_size))?,
            Strong::from_new(ffi::PyLong_FromSize_t(buckets))?,
            Strong::from_new(ffi::PyFloat_FromDouble(max_load))?,
            hash_func,
            items,
            instance_dict,
        ])?;
        let copyreg = Strong::from_new(callout::PyImport_ImportModule(c"copyreg".as_ptr()))?;
        let newobj = Strong::from_new(callout::PyObject_GetAttrString(
            copyreg.as_ptr(),
            c"__newobj__".as_ptr(),
        ))?;
        let cls = Strong::from_borrowed(NonNull::new_unchecked(ffi::Py_TYPE(slf).cast()));
        tuple_of([newobj, tuple_of([cls])?, state])
    }
}

unsafe extern "C" fn hashtable_setstate(
    slf: *mut ffi::PyObject,
    state: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: called with the GIL on a live HashTable and a live argument.
    unsafe { setstate_impl(slf.cast(), state) }.map_or(null_mut(), Strong::into_raw)
}

/// Builds the table `__reduce__` described: a new one (the old one, if any,
/// is released), then every pair set in order, then the instance's
/// `__dict__` updated.
///
/// # Safety
/// The GIL is held; `obj` is a live HashTable and `state` a live object.
unsafe fn setstate_impl(obj: *mut HashTableObject, state: *mut ffi::PyObject) -> Option<Strong> {
    module_call("__setstate__()");
    // SAFETY: GIL held; `state` is live, and a tuple of STATE_LEN items when
    // they are read (borrowed from it: the tuple, owned here by a Strong,
    // outlives their use).
    unsafe {
        if ffi::PyTuple_Check(state) == 0 || ffi::PyTuple_Size(state) != STATE_LEN {
            return raise_fmt(
                ffi::PyExc_TypeError,
                format_args!(
                    "HashTable state must be a tuple of {STATE_LEN} items, not {}",
                    TypeName(state)
                ),
            );
        }
        let state = Strong::from_borrowed(NonNull::new_unchecked(state));
        let item = |i| ffi::PyTuple_GetItem(state.as_ptr(), i);
        let initial_size = parse_size(item(0))?;
        let buckets = parse_size(item(1))?;
        let max_load = parse_max_load(item(2))?;
        let (hash_func, hash_kind) = choose_hash_func(item(3))?;
        let table = PyTable::new(buckets, max_load);
        flush_trace();
        let table = match table {
            Ok(table) => try_box(table)?,
            Err(e) => return raise_table_error(e),
        };
        install(obj, table, hash_func, hash_kind, initial_size);
        update_from(obj, item(4))?;
        let instance_dict = item(5);
        if instance_dict != ffi::Py_None() {
            let own = Strong::from_new(callout::PyObject_GetAttrString(
                obj.cast(),
                c"__dict__".as_ptr(),
            ))?;
            let update = Strong::from_new(callout::PyObject_GetAttrString(
                own.as_ptr(),
                c"update".as_ptr(),
            ))?;
            Strong::from_new(callout::PyObject_CallOneArg(update.as_ptr(), instance_dict))?;
        }
        Some(none())
    }
}

/// The method definitions, for the type's method table (after dict's).
pub(crate) const PICKLE_METHODS: [ffi::PyMethodDef; 2] = [
    ffi::PyMethodDef {
        ml_name: c"__reduce__".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer {
            PyCFunction: hashtable_reduce,
        },
        ml_flags: ffi::METH_NOARGS,
        ml_doc: c"__reduce__($self, /)\n--\n\nFor pickle and copy: (copyreg.__newobj__, (type,), state), the state\nbeing (initial_size, buckets, max_load, hash_func, items, instance_dict).".as_ptr(),
    },
    ffi::PyMethodDef {
        ml_name: c"__setstate__".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer {
            PyCFunction: hashtable_setstate,
        },
        ml_flags: ffi::METH_O,
        ml_doc: c"__setstate__($self, state, /)\n--\n\nRebuild the table from the state __reduce__ gave.".as_ptr(),
    },
];
