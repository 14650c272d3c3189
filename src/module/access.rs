//! Hash first, then borrow: the one way module code reaches a key in a table.
//!
//! Two steps of every keyed operation can run Python code, and that code can
//! do anything: set keys in the very table being searched, call `__init__`
//! again, or drop the last reference to the table.
//!
//! 1. Hashing ([`open`]): a hash function written in Python, or a key's own
//!    `__hash__`. It runs before the table is borrowed, and the table is
//!    looked up again after it. If the hash function was replaced meanwhile
//!    (`__init__` ran inside it), the hash belongs to the old function: the
//!    key is hashed again with the new one, once; if that one replaces the
//!    function again, RuntimeError. A key is never filed or looked up under
//!    a stale hash.
//! 2. Comparing ([`find`]): a key's `__eq__`. The library walks a chain and
//!    asks keys.rs's `quick_eq` about each stored key with the same hash;
//!    when that needs Python code it answers Ask, the library stops, and the
//!    comparison runs here with no borrow alive. Afterwards the table must
//!    still hold the compared key at the same place in the same layout, as
//!    CPython's dict checks after every comparison; if it does, the search
//!    goes on from there, otherwise it starts again from the chain's head.
//!
//! Only then is the table borrowed, for the one library call that does the
//! operation (no Python code runs between the lookup's answer and that
//! call), and [`after_change`] ends every change.

use std::ptr::NonNull;

use pyo3_ffi as ffi;

use super::callout;
use super::hashing::get_hash;
#[cfg(feature = "compare-in-place")]
use super::keys::eq_in_place;
use super::keys::{Probe, PyKey, ShowKey, probe, quick_eq};
use super::object::{HashTableObject, PyTable, after_change, raise_table_error, require_table};
use super::refs::{Strong, TypeName, raise};
use super::trace::flush as flush_trace;
use crate::library::trace::{self as library_trace, Level, Origin};
use crate::library::{Lookup, Missing, Purpose, Rejected, Search, Slot};
use crate::trace;

/// A key argument (borrowed), classified, and hashed by its table's current
/// hash function.
pub(crate) struct Hashed {
    probe: Probe,
    hash: i64,
}

/// Where a key is, or where it would go, in an object's current table.
enum Place {
    Found(Slot),
    Missing(Missing),
}

/// [`find`]'s answer: the table it is about, the place, and, when a
/// comparison ran Python code, our own reference to the HashTable object,
/// which that code may have let go of; the caller drops it last, once its
/// operation is over.
type Found = (*mut PyTable, Place, Option<Strong>);

/// The opening every keyed operation shares: check that the object has a
/// table, trace the call, hash the key (see the file's header).
///
/// # Safety
/// `obj` is a live HashTable, `key` (borrowed) a live object, `value` null or
/// live, and the GIL is held.
#[inline(always)]
pub(crate) unsafe fn open(
    obj: *mut HashTableObject,
    call: &str,
    key: *mut ffi::PyObject,
    value: *mut ffi::PyObject,
) -> Option<Hashed> {
    // SAFETY: as this function's contract; `probe` only reads the key.
    let probe = unsafe {
        require_table(obj)?;
        probe(key)
    };
    if library_trace::enabled(Level::Calls) {
        trace_call(call, key, value);
    }
    // SAFETY: `obj` is live; its hash function (borrowed from it here) is
    // null or live; the key is live (caller).
    let (epoch, hash) = unsafe {
        let epoch = (*obj).hash_epoch;
        (epoch, get_hash((*obj).hash_kind, (*obj).hash_func, &probe)?)
    };
    // SAFETY: `obj` is live (caller).
    if unsafe { (*obj).hash_epoch } == epoch {
        return Some(Hashed { probe, hash });
    }
    // SAFETY: as above.
    unsafe { rehash(obj, probe) }
}

/// The hash function changed while it ran (see the file's header): hash
/// again with the current one, once.
///
/// # Safety
/// As [`open`].
#[cold]
#[inline(never)]
unsafe fn rehash(obj: *mut HashTableObject, probe: Probe) -> Option<Hashed> {
    // SAFETY: as open: `obj` live, its hash function null or live.
    unsafe {
        require_table(obj)?;
        let epoch = (*obj).hash_epoch;
        let hash = get_hash((*obj).hash_kind, (*obj).hash_func, &probe)?;
        if (*obj).hash_epoch != epoch {
            return raise(
                ffi::PyExc_RuntimeError,
                "HashTable re-initialised by its own hash function, twice, while hashing a key",
            );
        }
        Some(Hashed { probe, hash })
    }
}

/// The `calls`-level line of a keyed call: `set('pi', <float>)`, `get('pi')`.
#[cold]
#[inline(never)]
fn trace_call(call: &str, key: *mut ffi::PyObject, value: *mut ffi::PyObject) {
    if value.is_null() {
        trace!(Level::Calls, Origin::Module, "{call}({})", ShowKey(key));
    } else {
        trace!(
            Level::Calls,
            Origin::Module,
            "{call}({}, <{}>)",
            ShowKey(key),
            TypeName(value)
        );
    }
}

/// Finds where `hashed` is, or would go, in `obj`'s current table, with
/// every `==` that needs Python code run outside the borrow (see the file's
/// header). Returns the table too: the one the answer is about.
///
/// # Safety
/// `obj` is a live HashTable, the key `hashed` was made from is live, and the
/// GIL is held.
#[inline(always)]
unsafe fn find(obj: *mut HashTableObject, hashed: &Hashed, purpose: Purpose) -> Option<Found> {
    let shown = ShowKey(hashed.probe.key);
    let search = Search {
        hash: hashed.hash,
        key: &shown,
        purpose,
    };
    // LESSON(compare-in-place): the walk's comparison runs no Python code:
    // quick_eq answers Ask where `==` would run some, and find_slowly
    // compares once the borrow of the table has ended.
    #[cfg(not(feature = "compare-in-place"))]
    // SAFETY: `obj` is live (caller); the borrow of its table lasts for this
    // lookup, and quick_eq runs no Python code.
    let (table, found) = unsafe {
        let table = require_table(obj)?;
        let found = (*table).lookup(&search, |k| quick_eq(k, &hashed.probe));
        (table, found)
    };
    // The wrong build runs `==` inside the walk, on the borrowed table.
    #[cfg(feature = "compare-in-place")]
    // SAFETY: NOT sound, on purpose: a key's __eq__ runs while `*table` is
    // borrowed, and may clear, resize or free it under the walk.
    let (table, found) = unsafe {
        let table = require_table(obj)?;
        let found = (*table).try_lookup(&search, |k| eq_in_place(k, &hashed.probe));
        (table, found.ok()?)
    };
    match found {
        Lookup::Found(slot) => Some((table, Place::Found(slot), None)),
        Lookup::Missing(missing) => Some((table, Place::Missing(missing), None)),
        // SAFETY: as this function's contract.
        Lookup::Ask { slot } => unsafe { find_slowly(obj, hashed, &search, table, slot) },
    }
}

/// [`find`] once a comparison needs Python code.
///
/// # Safety
/// As [`find`]; `slot` is where `table` (the object's current table) asked.
#[cold]
#[inline(never)]
unsafe fn find_slowly(
    obj: *mut HashTableObject,
    hashed: &Hashed,
    search: &Search<'_>,
    mut table: *mut PyTable,
    mut slot: Slot,
) -> Option<Found> {
    // The comparison may drop every other reference to the object: keep it
    // alive until the caller's operation is over.
    // SAFETY: `obj` is live (caller).
    let keep = unsafe { Strong::from_borrowed(NonNull::new_unchecked(obj.cast())) };
    flush_trace();
    loop {
        // SAFETY: `table` is the object's table, borrowed for these reads.
        // The stored key gets our own reference, so that it outlives the
        // comparison even if the comparison removes it from the table.
        let (layout, start) = unsafe {
            let key = (*table)
                .key_at(slot)
                .expect("a lookup asks about a live entry");
            ((*table).layout(), key.0.clone_ref())
        };
        // No borrow is alive: this may run any Python code.
        // SAFETY: GIL held; both objects are live.
        let equal = unsafe {
            callout::PyObject_RichCompareBool(start.as_ptr(), hashed.probe.key, ffi::Py_EQ)
        };
        if equal < 0 {
            return None; // the __eq__'s own exception
        }
        // SAFETY: `obj` is live (`keep`).
        table = unsafe { require_table(obj) }?;
        // SAFETY: a read of the object's current table.
        let same = unsafe {
            (*table).layout() == layout
                && (*table)
                    .key_at(slot)
                    .is_some_and(|k| k.as_ptr() == start.as_ptr())
        };
        let next = if same {
            // The table still holds `start`, so this release is not the
            // last one and runs no Python code.
            drop(start);
            // SAFETY: a borrow for this call, whose quick_eq runs no Python code.
            unsafe { (*table).resume(search, slot, equal == 1, |k| quick_eq(k, &hashed.probe)) }
        } else {
            // The table changed under the comparison: start again, after
            // releasing our reference (which may be the last one, and run
            // Python code), from the object's table as it is then.
            drop(start);
            // SAFETY: `obj` is live (`keep`); a borrow for this lookup.
            unsafe {
                table = require_table(obj)?;
                (*table).lookup(search, |k| quick_eq(k, &hashed.probe))
            }
        };
        match next {
            Lookup::Found(found) => return Some((table, Place::Found(found), Some(keep))),
            Lookup::Missing(missing) => return Some((table, Place::Missing(missing), Some(keep))),
            Lookup::Ask { slot: asked } => slot = asked,
        }
    }
}

/// Sets `key` to `value`: the work of `set`, `h[k] = v`, `update` and
/// `fromkeys`.
///
/// # Safety
/// `obj` is a live HashTable, `key` and `value` live objects, and the GIL is held.
#[inline(always)]
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
    let hashed = unsafe { open(obj, call, key, value) }?;
    // SAFETY: as this function's contract.
    let (table, place, _keep) = unsafe { find(obj, &hashed, Purpose::Set) }?;
    // SAFETY: `value` is live (caller): the table's own reference to it.
    let value = unsafe { Strong::from_borrowed(NonNull::new_unchecked(value)) };
    // SAFETY: the only borrow of the table, for this call alone; the library
    // runs no Python code, and nothing ran since `find` answered.
    let result = unsafe {
        match place {
            Place::Found(slot) => Ok(Some((*table).replace_value(slot, value))),
            Place::Missing(missing) => {
                let key = PyKey(Strong::from_borrowed(NonNull::new_unchecked(key)));
                (*table)
                    .insert_new(hashed.hash, key, value, missing)
                    .map(|_| None)
            }
        }
    };
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
        Err(Rejected { error, key, value }) => {
            // Not the last references: the caller holds both objects.
            drop((key, value));
            // SAFETY: GIL held (caller).
            return unsafe { raise_table_error(error) };
        }
    }
    Some(())
}

/// The value for `key` (a new reference), `None` inside when it is missing:
/// the work of `get`, `h[k]`, `k in h`, the views' `in` and `==`.
///
/// # Safety
/// `obj` is a live HashTable, `key` a live object, and the GIL is held.
#[inline(always)]
pub(crate) unsafe fn lookup(
    obj: *mut HashTableObject,
    call: &str,
    key: *mut ffi::PyObject,
) -> Option<Option<Strong>> {
    // SAFETY: as this function's contract.
    let hashed = unsafe { open(obj, call, key, std::ptr::null_mut()) }?;
    // SAFETY: as this function's contract.
    let (table, place, _keep) = unsafe { find(obj, &hashed, Purpose::Get) }?;
    let found = match place {
        // SAFETY: a shared borrow for this read; taking a reference to the
        // value (an INCREF) runs no Python code.
        Place::Found(slot) => unsafe { (*table).value_at(slot) }.map(Strong::clone_ref),
        Place::Missing(_) => None,
    };
    flush_trace();
    Some(found)
}

/// Removes `key`; its value (the table's reference, now the caller's), `None`
/// inside when it is missing: the work of `pop` and `del h[k]`.
///
/// # Safety
/// `obj` is a live HashTable, `key` a live object, and the GIL is held.
#[inline(always)]
pub(crate) unsafe fn remove(
    obj: *mut HashTableObject,
    call: &str,
    key: *mut ffi::PyObject,
) -> Option<Option<Strong>> {
    // SAFETY: as this function's contract.
    let hashed = unsafe { open(obj, call, key, std::ptr::null_mut()) }?;
    // SAFETY: as this function's contract.
    let (table, place, _keep) = unsafe { find(obj, &hashed, Purpose::Remove) }?;
    let removed = match place {
        // SAFETY: the only borrow of the table, for this call alone.
        Place::Found(slot) => Some(unsafe { (*table).remove_at(slot) }),
        Place::Missing(_) => None,
    };
    // SAFETY: `obj` is live and the borrow has ended.
    unsafe { after_change(obj) };
    // The stored key is released here, once the table is consistent (its
    // __del__ may use the table); the value goes to the caller.
    Some(removed.map(|(_key, value)| value))
}

/// `setdefault`'s work: the value for `key`, after setting it to `default`
/// if it was missing (a new reference either way). One hash for both steps.
///
/// # Safety
/// `obj` is a live HashTable, `key` and `default` live objects, and the GIL
/// is held.
#[inline(always)]
pub(crate) unsafe fn get_or_insert(
    obj: *mut HashTableObject,
    key: *mut ffi::PyObject,
    default: *mut ffi::PyObject,
) -> Option<Strong> {
    // SAFETY: as this function's contract.
    let hashed = unsafe { open(obj, "setdefault", key, std::ptr::null_mut()) }?;
    // SAFETY: as this function's contract.
    let (table, place, _keep) = unsafe { find(obj, &hashed, Purpose::Set) }?;
    let missing = match place {
        Place::Found(slot) => {
            // SAFETY: a shared borrow for this read (an INCREF).
            let found = unsafe { (*table).value_at(slot) }.map(Strong::clone_ref);
            flush_trace();
            return found;
        }
        Place::Missing(missing) => missing,
    };
    // SAFETY: `default` and `key` are live (caller): one reference to the
    // default for the table, one for the caller, and one to the key for the
    // table. The only borrow of the table, for this call alone.
    let (default, inserted) = unsafe {
        let default = Strong::from_borrowed(NonNull::new_unchecked(default));
        let key = PyKey(Strong::from_borrowed(NonNull::new_unchecked(key)));
        let inserted = (*table).insert_new(hashed.hash, key, default.clone_ref(), missing);
        (default, inserted)
    };
    // SAFETY: `obj` is live and the borrow has ended.
    unsafe { after_change(obj) };
    match inserted {
        Ok(_) => Some(default),
        // SAFETY: GIL held (caller).
        Err(Rejected { error, .. }) => unsafe { raise_table_error(error) },
    }
}
