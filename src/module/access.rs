//! Hash first, then borrow: the one way module code reaches a key in a table.
//!
//! Hashing a key can run Python code (a hash function written in Python),
//! and that code can do anything: set keys in the very table it hashes for,
//! call `__init__` again, or drop the last reference to the table. So every
//! keyed operation opens the same way ([`open`]):
//!
//! 1. check that the object has a table;
//! 2. convert the key (keys.rs) and trace the call;
//! 3. hash the key (hashing.rs), which may run Python code;
//! 4. look the table up again: the hash function may have replaced it.
//!
//! Only then is the table borrowed, for one library call that runs no Python
//! code, and [`after_change`] ends every change. This file is the one place
//! that converts and hashes a key and looks it up.

use std::ptr::{NonNull, null_mut};

use pyo3_ffi as ffi;

use super::hashing::get_hash;
use super::keys::{KeyArg, key_arg};
use super::object::{HashTableObject, PyTable, after_change, raise_table_error, require_table};
use super::refs::{Strong, type_name};
use super::trace::flush as flush_trace;
use crate::library::trace::{self as library_trace, Level, Origin};
use crate::trace;

/// A key converted and hashed for one table, and that table, looked up
/// after the hash function ran: what the library call needs.
struct Opened<'k> {
    arg: &'k KeyArg,
    hash: i64,
    table: *mut PyTable,
}

/// The opening every keyed operation shares (see the file's header), then
/// `then`, the library call, given the opened key. `value`, when there is
/// one, only names its type in the trace line.
///
/// (A continuation rather than a returned struct: the converted key stays
/// where it was made, and the library call borrows it there.)
///
/// # Safety
/// `obj` is a live HashTable, `key` (borrowed) a live object, `value` null or
/// live, and the GIL is held.
#[inline(always)]
unsafe fn open<R>(
    obj: *mut HashTableObject,
    call: &str,
    key: *mut ffi::PyObject,
    value: *mut ffi::PyObject,
    then: impl FnOnce(Opened<'_>) -> R,
) -> Option<R> {
    // SAFETY: as this function's contract. key_arg only reads the key.
    let arg = unsafe {
        require_table(obj)?;
        key_arg(key)?
    };
    if library_trace::enabled(Level::Calls) {
        // SAFETY: `value` is null or live (caller).
        unsafe { trace_call(call, &arg, value) };
    }
    // SAFETY: `obj` is live; its hash function (borrowed from it here) is
    // null or live, and `arg` was made from `key` (caller).
    let hash = unsafe { get_hash((*obj).hash_kind, (*obj).hash_func, key, &arg) }?;
    // Again: the hash function may have replaced or cleared the table.
    // SAFETY: `obj` is live (caller).
    let table = unsafe { require_table(obj) }?;
    Some(then(Opened {
        arg: &arg,
        hash,
        table,
    }))
}

/// The `calls`-level line of a keyed call: `set('pi', <float>)`, `get('pi')`.
///
/// # Safety
/// `value` is null or live, and the GIL is held.
#[cold]
#[inline(never)]
unsafe fn trace_call(call: &str, arg: &KeyArg, value: *mut ffi::PyObject) {
    if value.is_null() {
        trace!(Level::Calls, Origin::Module, "{call}({})", arg.as_key());
    } else {
        // SAFETY: `value` is live (caller).
        let value_type = unsafe { type_name(value) };
        trace!(
            Level::Calls,
            Origin::Module,
            "{call}({}, <{value_type}>)",
            arg.as_key()
        );
    }
}

/// Sets `key` to `value`: the work of `set`, `h[k] = v`, `update` and
/// `fromkeys`.
///
/// # Safety
/// `obj` is a live HashTable, `key` and `value` live objects, and the GIL is held.
pub(crate) unsafe fn insert(
    obj: *mut HashTableObject,
    call: &str,
    key: *mut ffi::PyObject,
    value: *mut ffi::PyObject,
) -> Option<()> {
    // LESSON(callback-race): state read *before* the Python callback...
    #[cfg(feature = "callback-race")]
    // SAFETY: `obj` is live (caller).
    let load_before = unsafe { (*obj).load };
    // SAFETY: `value` is live (caller): the table's own reference. The only
    // borrow of the table lasts for this call; the library runs no Python code.
    let result = unsafe {
        open(obj, call, key, value, |Opened { arg, hash, table }| {
            (*table).insert(
                hash,
                arg.as_key(),
                Strong::from_borrowed(NonNull::new_unchecked(value)),
            )
        })
    }?;
    // SAFETY: `obj` is live and the borrow has ended.
    unsafe { after_change(obj) };
    // LESSON(callback-race): ...written back *after* it: another thread's
    // update in between is lost.
    #[cfg(feature = "callback-race")]
    if matches!(result, Ok(None)) {
        // SAFETY: `obj` is live (caller).
        unsafe { (*obj).load = load_before + 1 };
    }
    match result {
        // Release the replaced value only now: its __del__ may use the table.
        Ok(replaced) => drop(replaced),
        Err((error, value)) => {
            drop(value);
            // SAFETY: GIL held (caller).
            return unsafe { raise_table_error(error) };
        }
    }
    Some(())
}

/// The value for `key` (a new reference), `None` inside when it is missing:
/// the work of `get`, `h[k]`, `k in h` and the views' `in`.
///
/// # Safety
/// `obj` is a live HashTable, `key` a live object, and the GIL is held.
pub(crate) unsafe fn lookup(
    obj: *mut HashTableObject,
    call: &str,
    key: *mut ffi::PyObject,
) -> Option<Option<Strong>> {
    // SAFETY: as this function's contract. A shared borrow for this call;
    // taking a reference to the value (an INCREF) runs no Python code.
    let found = unsafe {
        open(obj, call, key, null_mut(), |Opened { arg, hash, table }| {
            (*table).get(hash, arg.as_key()).map(Strong::clone_ref)
        })
    }?;
    flush_trace();
    Some(found)
}

/// Removes `key`; its value (the table's reference, now the caller's), `None`
/// inside when it is missing: the work of `pop` and `del h[k]`.
///
/// # Safety
/// `obj` is a live HashTable, `key` a live object, and the GIL is held.
pub(crate) unsafe fn remove(
    obj: *mut HashTableObject,
    call: &str,
    key: *mut ffi::PyObject,
) -> Option<Option<Strong>> {
    // SAFETY: as this function's contract. The only borrow of the table, for
    // this call alone.
    let removed = unsafe {
        open(obj, call, key, null_mut(), |Opened { arg, hash, table }| {
            (*table)
                .remove(hash, arg.as_key())
                .map(|(_key, value)| value)
        })
    }?;
    // SAFETY: `obj` is live and the borrow has ended.
    unsafe { after_change(obj) };
    Some(removed)
}

/// `setdefault`'s work: the value for `key`, after setting it to `default`
/// if it was missing (a new reference either way). One hash for both steps.
///
/// # Safety
/// `obj` is a live HashTable, `key` and `default` live objects, and the GIL
/// is held.
pub(crate) unsafe fn get_or_insert(
    obj: *mut HashTableObject,
    key: *mut ffi::PyObject,
    default: *mut ffi::PyObject,
) -> Option<Strong> {
    // SAFETY: as this function's contract. The only borrow of the table, for
    // this call alone; `default` is live: one reference for the table, one
    // for the caller.
    let (value, inserted) = unsafe {
        open(
            obj,
            "setdefault",
            key,
            null_mut(),
            |Opened { arg, hash, table }| {
                if let Some(found) = (*table).get(hash, arg.as_key()) {
                    return (found.clone_ref(), None);
                }
                let default = Strong::from_borrowed(NonNull::new_unchecked(default));
                let inserted = (*table).insert(hash, arg.as_key(), default.clone_ref());
                (default, Some(inserted))
            },
        )
    }?;
    // SAFETY: `obj` is live and the borrow has ended.
    unsafe { after_change(obj) };
    match inserted {
        // SAFETY: GIL held (caller).
        Some(Err((error, _stored))) => unsafe { raise_table_error(error) },
        _ => Some(value),
    }
}
