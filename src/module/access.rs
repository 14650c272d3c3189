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

use std::ptr::NonNull;

use pyo3_ffi as ffi;

use super::hashing::get_hash;
use super::keys::{KeyArg, key_arg};
use super::object::{HashTableObject, PyTable, after_change, raise_table_error, require_table};
use super::refs::{Strong, type_name};
use super::trace::flush as flush_trace;
use crate::library::trace::{Level, Origin};
use crate::trace;

/// A key converted and hashed for one table, and that table, looked up
/// after the hash function ran.
struct Opened {
    arg: KeyArg,
    hash: i64,
    table: *mut PyTable,
}

/// The opening every keyed operation shares (see the file's header).
/// `value`, when there is one, only names its type in the trace line.
///
/// # Safety
/// `obj` is a live HashTable, `key` (borrowed) outlives the returned key,
/// `value` is null or live, and the GIL is held.
#[inline(always)]
unsafe fn open(
    obj: *mut HashTableObject,
    call: &str,
    key: *mut ffi::PyObject,
    value: *mut ffi::PyObject,
) -> Option<Opened> {
    // SAFETY: as this function's contract. key_arg only reads the key.
    let arg = unsafe {
        require_table(obj)?;
        key_arg(key)?
    };
    if value.is_null() {
        trace!(Level::Calls, Origin::Module, "{call}({})", arg.as_key());
    } else {
        trace!(
            Level::Calls,
            Origin::Module,
            "{call}({}, <{}>)",
            arg.as_key(),
            // SAFETY: `value` is live (caller).
            unsafe { type_name(value) }
        );
    }
    // SAFETY: `obj` is live; its hash function (borrowed from it here) is
    // null or live, and `arg` was made from `key` (caller).
    let hash = unsafe { get_hash((*obj).hash_kind, (*obj).hash_func, key, &arg) }?;
    // Again: the hash function may have replaced or cleared the table.
    // SAFETY: `obj` is live (caller).
    let table = unsafe { require_table(obj) }?;
    Some(Opened { arg, hash, table })
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
    // SAFETY: as this function's contract.
    let Opened { arg, hash, table } = unsafe { open(obj, call, key, value) }?;
    // SAFETY: `value` is live (caller); the table's own reference.
    let value = unsafe { Strong::from_borrowed(NonNull::new_unchecked(value)) };
    // SAFETY: the only borrow of the table, for this call alone; the library
    // runs no Python code.
    let result = unsafe { (*table).insert(hash, arg.as_key(), value) };
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
    // SAFETY: as this function's contract.
    let Opened { arg, hash, table } = unsafe { open(obj, call, key, std::ptr::null_mut()) }?;
    // SAFETY: a shared borrow, for this call alone; taking a reference to the
    // value (an INCREF) runs no Python code.
    let found = unsafe { (*table).get(hash, arg.as_key()) }.map(Strong::clone_ref);
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
    // SAFETY: as this function's contract.
    let Opened { arg, hash, table } = unsafe { open(obj, call, key, std::ptr::null_mut()) }?;
    // SAFETY: the only borrow of the table, for this call alone.
    let removed = unsafe { (*table).remove(hash, arg.as_key()) }.map(|(_key, value)| value);
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
    // SAFETY: as this function's contract.
    let Opened { arg, hash, table } =
        unsafe { open(obj, "setdefault", key, std::ptr::null_mut()) }?;
    // SAFETY: a shared borrow that ends with this statement.
    if let Some(found) = unsafe { (*table).get(hash, arg.as_key()) }.map(Strong::clone_ref) {
        flush_trace();
        return Some(found);
    }
    // SAFETY: `default` is live (caller); one reference for the table, one
    // for the caller.
    let default = unsafe { Strong::from_borrowed(NonNull::new_unchecked(default)) };
    // SAFETY: the only borrow of the table, for this call alone.
    let result = unsafe { (*table).insert(hash, arg.as_key(), default.clone_ref()) };
    // SAFETY: `obj` is live and the borrow has ended.
    unsafe { after_change(obj) };
    match result {
        Ok(_) => Some(default),
        // SAFETY: GIL held (caller).
        Err((error, _stored)) => unsafe { raise_table_error(error) },
    }
}
