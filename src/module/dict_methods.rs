//! dict's other methods, beyond the talk's `set`, `get` and `pop`: keys,
//! values, items, setdefault, popitem, update, clear, copy, fromkeys,
//! `__reversed__`, `__sizeof__` and `__class_getitem__`, and `stats()`, the
//! numbers behind the talk's picture.
//!
//! The type's method table (hashtable_type.rs) lists [`DICT_METHODS`] after
//! the talk's three. Every keyed operation goes through access.rs (hash
//! first, then borrow); the views are in views.rs.

use std::ffi::CStr;
use std::ptr::null_mut;

use pyo3_ffi as ffi;

use super::access::{get_or_insert, insert};
use super::args::positional;
use super::callout;
use super::object::{
    HashTableObject, PyTable, after_change, copy_of, raise_table_error, require_table,
    trashcan_drop, try_box, type_object,
};
use super::refs::{Strong, none, raise, raise_fmt, raise_no_memory};
use super::trace::{flush as flush_trace, module_call};
use super::views::{ViewKind, new_iter, new_view};

unsafe extern "C" fn hashtable_keys(
    slf: *mut ffi::PyObject,
    _: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    module_call("keys()");
    // SAFETY: called with the GIL on a live HashTable.
    unsafe { new_view(slf, ViewKind::Keys) }.map_or(null_mut(), Strong::into_raw)
}

unsafe extern "C" fn hashtable_values(
    slf: *mut ffi::PyObject,
    _: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    module_call("values()");
    // SAFETY: called with the GIL on a live HashTable.
    unsafe { new_view(slf, ViewKind::Values) }.map_or(null_mut(), Strong::into_raw)
}

unsafe extern "C" fn hashtable_items(
    slf: *mut ffi::PyObject,
    _: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    module_call("items()");
    // SAFETY: called with the GIL on a live HashTable.
    unsafe { new_view(slf, ViewKind::Items) }.map_or(null_mut(), Strong::into_raw)
}

/// `setdefault(key, default=None)`: one hash, then a lookup and maybe an add.
unsafe extern "C" fn hashtable_setdefault(
    slf: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: called with the GIL, a live HashTable and `nargs` live arguments.
    unsafe { setdefault_impl(slf.cast(), args, nargs) }.map_or(null_mut(), Strong::into_raw)
}

/// # Safety
/// As [`hashtable_setdefault`].
unsafe fn setdefault_impl(
    obj: *mut HashTableObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> Option<Strong> {
    // SAFETY: as this function's contract; None is always live.
    unsafe {
        let [key, default] = positional::<2>("setdefault", args, nargs, 1)?;
        let default = if default.is_null() {
            ffi::Py_None()
        } else {
            default
        };
        get_or_insert(obj, key, default)
    }
}

/// `popitem()`: removes and returns some (key, value) pair.
unsafe extern "C" fn hashtable_popitem(
    slf: *mut ffi::PyObject,
    _: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: called with the GIL on a live HashTable.
    unsafe { popitem_impl(slf.cast()) }.map_or(null_mut(), Strong::into_raw)
}

/// # Safety
/// The GIL is held; `obj` is a live HashTable.
unsafe fn popitem_impl(obj: *mut HashTableObject) -> Option<Strong> {
    module_call("popitem()");
    // The pair is made before the entry leaves the table: if making it fails,
    // the table is unchanged. (Making it may also start a collection whose
    // finalizers use the table: the table is looked up after.)
    // SAFETY: GIL held (caller); a new tuple or NULL.
    let pair = unsafe { Strong::from_new(callout::PyTuple_New(2)) }?;
    // SAFETY: `obj` is live (caller); the only borrow of its table, for this
    // call alone.
    let popped = unsafe { (*require_table(obj)?).pop_last() };
    // SAFETY: `obj` is live and the borrow has ended.
    unsafe { after_change(obj) };
    let Some((key, value)) = popped else {
        // SAFETY: GIL held.
        return unsafe { raise(ffi::PyExc_KeyError, "popitem(): HashTable is empty") };
    };
    // SAFETY: `pair` is a new tuple nobody else has seen, with two empty
    // slots; PyTuple_SetItem steals each reference (it fails only on a bad
    // index or a tuple someone else holds).
    unsafe {
        ffi::PyTuple_SetItem(pair.as_ptr(), 0, key.0.into_raw());
        ffi::PyTuple_SetItem(pair.as_ptr(), 1, value.into_raw());
    }
    Some(pair)
}

/// `update([other], **kwargs)`, as dict.update.
unsafe extern "C" fn hashtable_update(
    slf: *mut ffi::PyObject,
    args: *mut ffi::PyObject,
    kwargs: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: called with the GIL, a live HashTable, an args tuple and a
    // kwargs dict or NULL.
    unsafe { update_impl(slf.cast(), args, kwargs) }.map_or(null_mut(), Strong::into_raw)
}

/// # Safety
/// As [`hashtable_update`].
unsafe fn update_impl(
    obj: *mut HashTableObject,
    args: *mut ffi::PyObject,
    kwargs: *mut ffi::PyObject,
) -> Option<Strong> {
    // SAFETY: as this function's contract; references made here are owned
    // by Strongs.
    unsafe {
        let nargs = ffi::PyTuple_Size(args);
        if nargs > 1 {
            return raise_fmt(
                ffi::PyExc_TypeError,
                format_args!("update expected at most 1 argument, got {nargs}"),
            );
        }
        require_table(obj)?;
        // As dict.update: `h.update(**{1: 2})` is refused before anything is
        // set. (A C function gets the keywords unchecked; this runs no
        // Python code.)
        if !kwargs.is_null() && ffi::PyArg_ValidateKeywordArguments(kwargs) == 0 {
            return None;
        }
        if nargs == 1 {
            update_from(obj, ffi::PyTuple_GetItem(args, 0))?; // borrowed from args
        }
        if !kwargs.is_null() {
            // A list of (name, value) pairs: a snapshot the hash function cannot change.
            let items = Strong::from_new(callout::PyDict_Items(kwargs))?;
            update_from_pairs(obj, items.as_ptr())?;
        }
        Some(none())
    }
}

/// Sets every pair of `other`, a mapping (anything with `keys`) or an
/// iterable of pairs, as dict.update does with its positional argument
/// (also `HashTable(data)` and `h |= other`).
///
/// # Safety
/// `obj` is a live HashTable, `other` a live object, and the GIL is held.
pub(crate) unsafe fn update_from(
    obj: *mut HashTableObject,
    other: *mut ffi::PyObject,
) -> Option<()> {
    // SAFETY: as this function's contract.
    unsafe {
        match keys_method(other)? {
            Some(keys) => update_from_mapping(obj, other, keys),
            None => update_from_pairs(obj, other),
        }
    }
}

/// `other.keys`, if it has one: `Some(None)` when looking it up raises
/// AttributeError (then `other` is an iterable of pairs, as for dict.update);
/// any other exception the lookup raises propagates (`None`).
///
/// # Safety
/// `other` is live and the GIL is held.
unsafe fn keys_method(other: *mut ffi::PyObject) -> Option<Option<Strong>> {
    // SAFETY: GIL held (caller); a new reference or NULL with an exception
    // set (a property or a `__getattr__` may run Python code).
    unsafe {
        match Strong::from_new(callout::PyObject_GetAttrString(other, c"keys".as_ptr())) {
            Some(keys) => Some(Some(keys)),
            None if ffi::PyErr_ExceptionMatches(ffi::PyExc_AttributeError) != 0 => {
                callout::PyErr_Clear();
                Some(None)
            }
            None => None,
        }
    }
}

/// Sets `mapping[k]` for every `k` in `mapping.keys()` (`keys_method`).
///
/// # Safety
/// `obj` is a live HashTable, `mapping` a live object, and the GIL is held.
unsafe fn update_from_mapping(
    obj: *mut HashTableObject,
    mapping: *mut ffi::PyObject,
    keys_method: Strong,
) -> Option<()> {
    // SAFETY: as this function's contract; references made here are owned
    // by Strongs.
    unsafe {
        let keys = Strong::from_new(callout::PyObject_CallNoArgs(keys_method.as_ptr()))?;
        let Some(iter) = Strong::from_new(callout::PyObject_GetIter(keys.as_ptr())) else {
            return keys_not_iterable(mapping, keys.as_ptr());
        };
        while let Some(key) = Strong::from_new(callout::PyIter_Next(iter.as_ptr())) {
            let value = Strong::from_new(callout::PyObject_GetItem(mapping, key.as_ptr()))?;
            insert(obj, "update", key.as_ptr(), value.as_ptr())?;
        }
        ffi::PyErr_Occurred().is_null().then_some(())
    }
}

/// The error for a `keys()` that returned something `iter()` refused, as
/// dict words it (3.15 words it otherwise): a TypeError is replaced by one naming the mapping's type
/// and what `keys()` returned; anything else (raised by its `__iter__`)
/// propagates unchanged.
///
/// # Safety
/// The GIL is held, PyObject_GetIter has just failed, and `mapping` and
/// `keys` are live.
#[cold]
unsafe fn keys_not_iterable<T>(mapping: *mut ffi::PyObject, keys: *mut ffi::PyObject) -> Option<T> {
    // SAFETY: GIL held, an exception set (caller).
    unsafe {
        if ffi::PyErr_ExceptionMatches(ffi::PyExc_TypeError) == 0 {
            return None;
        }
        callout::PyErr_Clear();
        // 3.15 words it anew, with both types' fully qualified names (%T).
        #[cfg(Py_3_15)]
        {
            callout::PyErr_Format2(
                ffi::PyExc_TypeError,
                c"%T.keys() must return an iterable, not %T",
                mapping,
                keys,
            );
            None
        }
        #[cfg(not(Py_3_15))]
        raise_fmt(
            ffi::PyExc_TypeError,
            format_args!(
                "{}.keys() returned a non-iterable (type {})",
                super::refs::TypeName(mapping),
                super::refs::TypeName(keys)
            ),
        )
    }
}

/// Sets every (key, value) pair of an iterable of pairs.
///
/// # Safety
/// `obj` is a live HashTable, `pairs` a live object, and the GIL is held.
unsafe fn update_from_pairs(obj: *mut HashTableObject, pairs: *mut ffi::PyObject) -> Option<()> {
    // SAFETY: as this function's contract; references made here are owned
    // by Strongs. PySequence_Fast returns an exact list or tuple, whose
    // size and items run no Python code.
    unsafe {
        let iter = Strong::from_new(callout::PyObject_GetIter(pairs))?;
        let mut index = 0usize;
        while let Some(item) = Strong::from_new(callout::PyIter_Next(iter.as_ptr())) {
            let Some(pair) = Strong::from_new(callout::PySequence_Fast(
                item.as_ptr(),
                c"object is not iterable".as_ptr(),
            )) else {
                return not_a_pair(index);
            };
            let len = ffi::PySequence_Size(pair.as_ptr());
            if len != 2 {
                return raise_fmt(
                    ffi::PyExc_ValueError,
                    format_args!(
                        "HashTable update sequence element #{index} has length {len}; 2 is required"
                    ),
                );
            }
            let key = Strong::from_new(ffi::PySequence_GetItem(pair.as_ptr(), 0))?;
            let value = Strong::from_new(ffi::PySequence_GetItem(pair.as_ptr(), 1))?;
            insert(obj, "update", key.as_ptr(), value.as_ptr())?;
            index += 1;
        }
        ffi::PyErr_Occurred().is_null().then_some(())
    }
}

/// The error for an element of `update`'s iterable that is not a sequence,
/// as dict.update words it. Only a TypeError (not iterable) is reworded;
/// anything else (KeyboardInterrupt, an error raised by the element's
/// `__iter__`) propagates unchanged. Up to 3.13 the TypeError is replaced by
/// one naming the element; from 3.14 on PySequence_Fast's own "object is not
/// iterable" stays, and a note names the element.
///
/// # Safety
/// The GIL is held and PySequence_Fast has just failed.
#[cold]
unsafe fn not_a_pair<T>(index: usize) -> Option<T> {
    // SAFETY: GIL held, an exception set (caller).
    unsafe {
        if ffi::PyErr_ExceptionMatches(ffi::PyExc_TypeError) == 0 {
            return None;
        }
        #[cfg(not(Py_3_14))]
        {
            callout::PyErr_Clear();
            raise_fmt(
                ffi::PyExc_TypeError,
                format_args!(
                    "cannot convert HashTable update sequence element #{index} to a sequence"
                ),
            )
        }
        #[cfg(Py_3_14)]
        {
            let note = crate::module::refs::Text::of(format_args!(
                "Cannot convert HashTable update sequence element #{index} to a sequence"
            ));
            add_note(note.as_str())
        }
    }
}

/// Adds `note` to the exception being raised (`exc.add_note(note)`), which
/// stays raised; if adding fails, that error is raised instead.
///
/// # Safety
/// The GIL is held and an exception is set.
#[cfg(Py_3_14)]
unsafe fn add_note<T>(note: &str) -> Option<T> {
    // SAFETY: GIL held (caller). Every reference made here is new and owned
    // by a Strong; the exception is handed back to the interpreter (stolen by
    // PyErr_SetRaisedException) once the note is added.
    unsafe {
        let exc = Strong::from_new(ffi::PyErr_GetRaisedException())?;
        let note = Strong::from_new(ffi::PyUnicode_FromStringAndSize(
            note.as_ptr().cast(),
            note.len() as ffi::Py_ssize_t,
        ))?;
        let add = Strong::from_new(callout::PyObject_GetAttrString(
            exc.as_ptr(),
            c"add_note".as_ptr(),
        ))?;
        Strong::from_new(callout::PyObject_CallOneArg(add.as_ptr(), note.as_ptr()))?;
        ffi::PyErr_SetRaisedException(exc.into_raw());
        None
    }
}

/// `clear()`: a new empty table of the size `__init__` was given. (Not
/// tp_clear, `hashtable_clear`, which drops the object's references.)
unsafe extern "C" fn hashtable_remove_all(
    slf: *mut ffi::PyObject,
    _: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: called with the GIL on a live HashTable.
    unsafe { remove_all_impl(slf.cast()) }.map_or(null_mut(), Strong::into_raw)
}

/// # Safety
/// The GIL is held; `obj` is a live HashTable.
unsafe fn remove_all_impl(obj: *mut HashTableObject) -> Option<Strong> {
    module_call("clear()");
    // SAFETY: as this function's contract. The new table is installed first;
    // the old one, detached, is freed after (its values' __del__ may use
    // this object).
    unsafe {
        let table = require_table(obj)?;
        let fresh = PyTable::new((*obj).initial_size, (*table).max_load());
        flush_trace();
        let fresh = match fresh {
            Ok(fresh) => try_box(fresh)?,
            Err(e) => return raise_table_error(e),
        };
        // Looked up again: the trace line above may have run Python code
        // (and then `fresh`, still a Box, is freed on the way out).
        require_table(obj)?;
        let old = std::mem::replace(&mut (*obj).table, Box::into_raw(fresh));
        after_change(obj);
        trashcan_drop(Box::from_raw(old));
    }
    Some(none())
}

/// `copy()`: a new HashTable with the same buckets, max_load, hash_func and
/// entries; stored hashes are reused, so the hash function is not called.
unsafe extern "C" fn hashtable_copy(
    slf: *mut ffi::PyObject,
    _: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: called with the GIL on a live HashTable.
    unsafe { copy_of(slf.cast()) }.map_or(null_mut(), Strong::into_raw)
}

/// `HashTable.fromkeys(iterable, value=None)`: `cls()`, then every key set
/// to value, as dict.fromkeys: directly for a HashTable itself, through the
/// object's own `__setitem__` for anything else `cls()` made (a subclass's
/// override, or another type from a `__new__`).
unsafe extern "C" fn hashtable_fromkeys(
    cls: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: called with the GIL, the class (HashTable or a subclass) and
    // `nargs` live arguments.
    unsafe { fromkeys_impl(cls, args, nargs) }.map_or(null_mut(), Strong::into_raw)
}

/// # Safety
/// As [`hashtable_fromkeys`].
unsafe fn fromkeys_impl(
    cls: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> Option<Strong> {
    // SAFETY: as this function's contract; references made here are owned
    // by Strongs; None is always live.
    unsafe {
        let [iterable, value] = positional::<2>("fromkeys", args, nargs, 1)?;
        let value = if value.is_null() {
            ffi::Py_None()
        } else {
            value
        };
        let table = Strong::from_new(callout::PyObject_CallNoArgs(cls))?;
        let exact = ffi::Py_TYPE(table.as_ptr()) == type_object();
        let iter = Strong::from_new(callout::PyObject_GetIter(iterable))?;
        while let Some(key) = Strong::from_new(callout::PyIter_Next(iter.as_ptr())) {
            if exact {
                insert(table.as_ptr().cast(), "fromkeys", key.as_ptr(), value)?;
            } else if callout::PyObject_SetItem(table.as_ptr(), key.as_ptr(), value) < 0 {
                return None;
            }
        }
        ffi::PyErr_Occurred().is_null().then_some(table)
    }
}

/// `stats()`: the numbers behind the picture, as a dict.
unsafe extern "C" fn hashtable_stats(
    slf: *mut ffi::PyObject,
    _: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: called with the GIL on a live HashTable.
    unsafe { stats_impl(slf.cast()) }.map_or(null_mut(), Strong::into_raw)
}

/// # Safety
/// The GIL is held; `obj` is a live HashTable.
unsafe fn stats_impl(obj: *mut HashTableObject) -> Option<Strong> {
    module_call("stats()");
    // SAFETY: as this function's contract; the numbers are copied out of the
    // table before any Python object is made.
    let Ok(s) = (unsafe { (*require_table(obj)?).stats() }) else {
        // SAFETY: GIL held (caller).
        return unsafe { raise_no_memory() };
    };
    let non_empty = s.buckets - s.empty_buckets;
    let mean_chain = if non_empty == 0 {
        0.0
    } else {
        s.load as f64 / non_empty as f64
    };
    // SAFETY: GIL held. Every value is a new reference or NULL after a failed
    // call; `set` takes it over (the dict takes its own), and PyList_SetItem
    // steals each count (it fails only on a bad index).
    unsafe {
        let histogram =
            Strong::from_new(callout::PyList_New(s.histogram.len() as ffi::Py_ssize_t))?;
        for (i, count) in s.histogram.iter().enumerate() {
            let n = ffi::PyLong_FromSize_t(*count);
            if n.is_null() || ffi::PyList_SetItem(histogram.as_ptr(), i as ffi::Py_ssize_t, n) < 0 {
                return None;
            }
        }
        let dict = Strong::from_new(callout::PyDict_New())?;
        let set = |name: &CStr, value: *mut ffi::PyObject| {
            let value = Strong::from_new(value)?;
            (ffi::PyDict_SetItemString(dict.as_ptr(), name.as_ptr(), value.as_ptr()) == 0)
                .then_some(())
        };
        let size = |n: usize| ffi::PyLong_FromSize_t(n);
        set(c"buckets", size(s.buckets))?;
        set(c"load", size(s.load))?;
        let load_factor = s.load as f64 / s.buckets as f64;
        set(c"load_factor", ffi::PyFloat_FromDouble(load_factor))?;
        set(c"max_load", ffi::PyFloat_FromDouble(s.max_load))?;
        set(c"resizes", ffi::PyLong_FromUnsignedLongLong(s.resizes))?;
        set(c"empty_buckets", size(s.empty_buckets))?;
        set(c"longest_chain", size(s.longest_chain))?;
        set(c"mean_chain", ffi::PyFloat_FromDouble(mean_chain))?;
        set(c"histogram", histogram.into_raw())?;
        set(c"colliding_keys", size(s.colliding_keys))?;
        Some(dict)
    }
}

/// `reversed(h)`: the keys, last inserted first.
unsafe extern "C" fn hashtable_reversed(
    slf: *mut ffi::PyObject,
    _: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    module_call("reversed()");
    // SAFETY: called with the GIL on a live HashTable.
    unsafe { new_iter(slf, ViewKind::Keys, true) }.map_or(null_mut(), Strong::into_raw)
}

/// `h.__sizeof__()` (what `sys.getsizeof` adds the GC header to): the object
/// itself, plus the table's struct and what it owns on the heap (buckets,
/// entries, chain links), as dict's counts its own arrays but not its keys
/// and values.
unsafe extern "C" fn hashtable_sizeof(
    slf: *mut ffi::PyObject,
    _: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: called with the GIL on a live HashTable (of this type or a
    // subclass, whose basicsize counts its own fields); the table, if any,
    // is only read.
    unsafe {
        let mut size = (*ffi::Py_TYPE(slf)).tp_basicsize as usize;
        if let Some(table) = (*slf.cast::<HashTableObject>()).table.as_ref() {
            size += size_of::<PyTable>() + table.heap_bytes();
        }
        ffi::PyLong_FromSize_t(size)
    }
}

/// `HashTable[str, int]`: a `types.GenericAlias`, as `dict[str, int]`.
unsafe extern "C" fn hashtable_class_getitem(
    cls: *mut ffi::PyObject,
    args: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: called with the GIL, the class and a live argument; a new
    // reference or NULL.
    unsafe { callout::Py_GenericAlias(cls, args) }
}

/// The method definitions, for the type's method table (after the talk's
/// `set`, `get` and `pop`).
pub(crate) const DICT_METHODS: [ffi::PyMethodDef; 13] = [
    ffi::PyMethodDef {
        ml_name: c"keys".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer {
            PyCFunction: hashtable_keys,
        },
        ml_flags: ffi::METH_NOARGS,
        ml_doc: c"keys($self, /)\n--\n\nA view of the keys (len, in, iteration).".as_ptr(),
    },
    ffi::PyMethodDef {
        ml_name: c"values".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer {
            PyCFunction: hashtable_values,
        },
        ml_flags: ffi::METH_NOARGS,
        ml_doc: c"values($self, /)\n--\n\nA view of the values (len, in, iteration).".as_ptr(),
    },
    ffi::PyMethodDef {
        ml_name: c"items".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer {
            PyCFunction: hashtable_items,
        },
        ml_flags: ffi::METH_NOARGS,
        ml_doc: c"items($self, /)\n--\n\nA view of the (key, value) pairs (len, in, iteration).".as_ptr(),
    },
    ffi::PyMethodDef {
        ml_name: c"setdefault".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer {
            PyCFunctionFast: hashtable_setdefault,
        },
        ml_flags: ffi::METH_FASTCALL,
        ml_doc: c"setdefault($self, key, default=None, /)\n--\n\nReturn the value for key; if key is missing, set it to default first.".as_ptr(),
    },
    ffi::PyMethodDef {
        ml_name: c"popitem".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer {
            PyCFunction: hashtable_popitem,
        },
        ml_flags: ffi::METH_NOARGS,
        ml_doc: c"popitem($self, /)\n--\n\nRemove and return some (key, value) pair; KeyError when empty.".as_ptr(),
    },
    ffi::PyMethodDef {
        ml_name: c"update".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer {
            PyCFunctionWithKeywords: hashtable_update,
        },
        ml_flags: ffi::METH_VARARGS | ffi::METH_KEYWORDS,
        ml_doc: c"update($self, other=(), /, **kwargs)\n--\n\nSet every pair of a mapping or an iterable of pairs, then every keyword.".as_ptr(),
    },
    ffi::PyMethodDef {
        ml_name: c"clear".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer {
            PyCFunction: hashtable_remove_all,
        },
        ml_flags: ffi::METH_NOARGS,
        ml_doc: c"clear($self, /)\n--\n\nRemove every entry; the table starts over at its initial size.".as_ptr(),
    },
    ffi::PyMethodDef {
        ml_name: c"copy".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer {
            PyCFunction: hashtable_copy,
        },
        ml_flags: ffi::METH_NOARGS,
        ml_doc: c"copy($self, /)\n--\n\nA shallow copy with the same size, max_load and hash_func.".as_ptr(),
    },
    ffi::PyMethodDef {
        ml_name: c"fromkeys".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer {
            PyCFunctionFast: hashtable_fromkeys,
        },
        ml_flags: ffi::METH_FASTCALL | ffi::METH_CLASS,
        ml_doc: c"fromkeys($type, iterable, value=None, /)\n--\n\nA new table (of this class) with every key of iterable set to value.".as_ptr(),
    },
    ffi::PyMethodDef {
        ml_name: c"stats".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer {
            PyCFunction: hashtable_stats,
        },
        ml_flags: ffi::METH_NOARGS,
        ml_doc: c"stats($self, /)\n--\n\nThe numbers behind the picture: buckets, load, load_factor, max_load,\nresizes, empty_buckets, longest_chain, mean_chain (of non-empty buckets),\nhistogram (histogram[n] buckets hold n entries) and colliding_keys.".as_ptr(),
    },
    ffi::PyMethodDef {
        ml_name: c"__reversed__".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer {
            PyCFunction: hashtable_reversed,
        },
        ml_flags: ffi::METH_NOARGS,
        ml_doc: c"__reversed__($self, /)\n--\n\nReturn a reverse iterator over the keys.".as_ptr(),
    },
    ffi::PyMethodDef {
        ml_name: c"__sizeof__".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer {
            PyCFunction: hashtable_sizeof,
        },
        ml_flags: ffi::METH_NOARGS,
        ml_doc: c"__sizeof__($self, /)\n--\n\nSize of the object and its table in memory, in bytes (not its keys and values).".as_ptr(),
    },
    ffi::PyMethodDef {
        ml_name: c"__class_getitem__".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer {
            PyCFunction: hashtable_class_getitem,
        },
        ml_flags: ffi::METH_O | ffi::METH_CLASS,
        ml_doc: c"See PEP 585".as_ptr(),
    },
];
