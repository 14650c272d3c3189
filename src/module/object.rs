//! The HashTable object and its state: the struct every slot works on, and
//! what any file that reaches a table through an object needs.
//!
//! - [`HashTableObject`]: the object header, then the talk's fields.
//! - [`require_table`], [`table_ptr`]: the library table behind an object.
//! - [`after_change`]: what every change of the table ends with (the
//!   members, then the queued trace lines).
//! - [`raise_table_error`]: the library's errors as Python exceptions.
//! - [`try_box`]: a table on the heap, or MemoryError instead of an abort.
//! - [`install`]: a new table and hash function in place of the old ones
//!   (`__init__`, and a table rebuilt from a pickle).
//! - [`copy_of`], [`empty_like`]: a new HashTable of the base type with
//!   another's parameters, holding its entries or none (`copy()`, `|`).
//! - [`trashcan_drop`], [`trashcan_xdecref`]: freeing a detached table, or
//!   releasing a reference, without deep recursion.
//! - [`register_type`], [`type_object`], [`is_hashtable`]: the type, for
//!   the files below the type's own (mapping.rs and dict_methods.rs must
//!   recognise and make HashTables, and cannot import the file whose type
//!   object names their functions).
//!
//! Nothing here runs Python code except where it says so.

use std::cell::{Cell, RefCell};
use std::ptr::null_mut;
use std::sync::atomic::{AtomicPtr, Ordering};

use pyo3_ffi as ffi;

use super::callout;
use super::hashing::HashKind;
use super::keys::PyKey;
use super::refs::{Strong, raise, raise_no_memory};
use super::trace::flush as flush_trace;
use super::trace::module_call;
use crate::library::{Table, TableError};

/// The library table as the module instantiates it: keys and values are
/// strong references to Python objects, released when the table lets go of
/// them.
pub(crate) type PyTable = Table<PyKey, Strong>;

/// The per-object struct: the object header, then the talk's fields.
///
/// Memory comes from `tp_alloc` zero-filled, so every field must be valid
/// when all bits are zero: a null table means "not initialised yet".
#[repr(C)]
pub(crate) struct HashTableObject {
    ob_base: ffi::PyObject,
    /// Owned; null until `__init__` succeeds (and after tp_clear).
    pub(crate) table: *mut PyTable,
    /// Copies of the table's bucket count and load, for the members (a
    /// `PyMemberDef` reads a field at an offset; it cannot ask the library).
    /// The table holds the real numbers; only [`after_change`] writes these.
    /// (`max_load`, which never changes, is read from the table by a getter.)
    pub(crate) size: ffi::Py_ssize_t,
    pub(crate) load: ffi::Py_ssize_t,
    /// Owned (a strong reference), or null for the naive hash.
    pub(crate) hash_func: *mut ffi::PyObject,
    pub(crate) hash_kind: HashKind,
    /// The size `__init__` was given: `clear()` starts over from it.
    pub(crate) initial_size: usize,
    /// Changes whenever `hash_func` and `hash_kind` do (`__init__`,
    /// tp_clear): a hash computed before a change was made by another
    /// function and must not be used to file or find a key (access.rs).
    pub(crate) hash_epoch: u64,
}

/// The table of a HashTable, null when it is not initialised.
///
/// # Safety
/// `obj` is a live HashTable.
pub(crate) unsafe fn table_ptr(obj: *mut HashTableObject) -> *mut PyTable {
    // SAFETY: `obj` is live (caller).
    unsafe { (*obj).table }
}

/// The table of an initialised object, or RuntimeError.
///
/// # Safety
/// `obj` is a live HashTable and the GIL is held.
#[inline]
pub(crate) unsafe fn require_table(obj: *mut HashTableObject) -> Option<*mut PyTable> {
    // SAFETY: `obj` is live (caller).
    let table = unsafe { table_ptr(obj) };
    if table.is_null() {
        // SAFETY: GIL held (caller).
        return unsafe {
            raise(
                ffi::PyExc_RuntimeError,
                "this HashTable is not initialised (HashTable.__init__ was not called)",
            )
        };
    }
    Some(table)
}

/// What every change of the table ends with: the members copy the table's
/// numbers, then the trace lines the library queued are written.
///
/// Writing them may run Python code (a redirected `sys.stdout`), so no
/// borrow of any table may be alive when this is called.
///
/// # Safety
/// `obj` is a live HashTable and the GIL is held.
#[inline]
pub(crate) unsafe fn after_change(obj: *mut HashTableObject) {
    // SAFETY: `obj` is live (caller); its table, if any, is owned by it and
    // not borrowed (caller).
    unsafe {
        match (*obj).table.as_ref() {
            Some(table) => {
                (*obj).size = table.buckets() as ffi::Py_ssize_t;
                (*obj).load = table.len() as ffi::Py_ssize_t;
            }
            None => {
                (*obj).size = 0;
                (*obj).load = 0;
            }
        }
    }
    flush_trace();
}

/// Raises the Python exception for a library error.
///
/// # Safety
/// The GIL is held.
pub(crate) unsafe fn raise_table_error<T>(error: TableError) -> Option<T> {
    // SAFETY: GIL held (caller).
    unsafe {
        match error {
            TableError::OutOfMemory => {
                callout::PyErr_NoMemory();
                None
            }
            TableError::TooLarge => raise(
                ffi::PyExc_OverflowError,
                "the HashTable cannot grow that large",
            ),
            TableError::InvalidArgument => {
                raise(ffi::PyExc_ValueError, "invalid HashTable size or max_load")
            }
        }
    }
}

/// `Box::new(table)`, or MemoryError: `Box::new` aborts the process when
/// the allocator refuses, and dict's standard is an exception.
///
/// # Safety
/// The GIL is held.
pub(crate) unsafe fn try_box(table: PyTable) -> Option<Box<PyTable>> {
    let layout = std::alloc::Layout::new::<PyTable>();
    // SAFETY: PyTable is not zero-sized, so `layout` is a valid request.
    let memory = unsafe { std::alloc::alloc(layout) }.cast::<PyTable>();
    if memory.is_null() {
        // The table, whose drop releases nothing yet (it is empty), goes.
        drop(table);
        // SAFETY: GIL held (caller).
        return unsafe { raise_no_memory() };
    }
    // SAFETY: `memory` is fresh, aligned and large enough for a PyTable; once
    // written it is owned by the Box, which frees it with the same layout.
    unsafe {
        memory.write(table);
        Some(Box::from_raw(memory))
    }
}

/// Makes `table`, `hash_func` (a new reference, or None for the naive
/// hash) and `initial_size` the object's state. The new state is installed
/// first; the old table and hash function are released (which may run
/// arbitrary code: `__del__` of old values) only once the object is
/// consistent again.
///
/// # Safety
/// `obj` is a live HashTable and the GIL is held; no borrow of its table is alive.
pub(crate) unsafe fn install(
    obj: *mut HashTableObject,
    table: Box<PyTable>,
    hash_func: Option<Strong>,
    hash_kind: HashKind,
    initial_size: usize,
) {
    // SAFETY: `obj` is live (caller); the struct owns the new hash
    // function's reference and the new table.
    unsafe {
        let old_table = std::mem::replace(&mut (*obj).table, Box::into_raw(table));
        let new_func = hash_func.map_or(null_mut(), Strong::into_raw);
        let old_func = std::mem::replace(&mut (*obj).hash_func, new_func);
        (*obj).hash_kind = hash_kind;
        (*obj).hash_epoch = (*obj).hash_epoch.wrapping_add(1);
        (*obj).initial_size = initial_size;
        after_change(obj);
        trashcan_xdecref(old_func);
        if !old_table.is_null() {
            trashcan_drop(Box::from_raw(old_table));
        }
    }
}

/// A new, uninitialised HashTable of the base type, made by its tp_new
/// without `__init__` (as `HashTable.__new__(HashTable)` would be), as a
/// new reference.
///
/// # Safety
/// The GIL is held.
unsafe fn new_base_object() -> Option<Strong> {
    let tp = type_object();
    // SAFETY: GIL held; the type is ready, so it has tp_new, which takes a
    // tuple of arguments and returns a new reference or NULL.
    unsafe {
        let no_args = Strong::from_new(callout::PyTuple_New(0))?;
        let tp_new = (*tp).tp_new.expect("HashTable has tp_new");
        Strong::from_new(tp_new(tp, no_args.as_ptr(), null_mut()))
    }
}

/// `h.copy()`: a new HashTable of the base type (as dict.copy gives a dict
/// for a dict subclass) with the same buckets, max_load, hash_func, initial
/// size and entries; stored hashes are reused, so no hash function runs.
///
/// # Safety
/// `obj` is a live HashTable and the GIL is held.
pub(crate) unsafe fn copy_of(obj: *mut HashTableObject) -> Option<Strong> {
    module_call("copy()");
    // The new object is made first: making an object may run Python code (a
    // collection's finalizers), which may re-initialise the original.
    // Everything read from the original after it (the entries, hash_func,
    // the initial size) is then read at one moment, with no Python code in
    // between.
    // SAFETY: GIL held (caller).
    let new = unsafe { new_base_object() }?;
    // SAFETY: `obj` is live (caller); its table is borrowed for the copying,
    // which runs Rust code and INCREFs only.
    let copy = unsafe {
        (*require_table(obj)?).try_clone_with(|k| PyKey(k.0.clone_ref()), Strong::clone_ref)
    };
    let copy = match copy {
        // SAFETY: GIL held (caller).
        Ok(copy) => unsafe { try_box(copy) }?,
        Err(e) => {
            flush_trace();
            // SAFETY: GIL held (caller).
            return unsafe { raise_table_error(e) };
        }
    };
    // SAFETY: `new` is a new, uninitialised HashTable nobody else has seen;
    // `obj` is live, and no Python code ran since its table was copied: the
    // copy takes its own reference to that moment's hash_func.
    unsafe { adopt(new.as_ptr().cast(), copy, obj) };
    Some(new)
}

/// A new, empty HashTable of the base type with `obj`'s max_load, hash_func
/// and initial size: what `other | h` fills when `other` is a dict.
///
/// # Safety
/// `obj` is a live HashTable and the GIL is held.
pub(crate) unsafe fn empty_like(obj: *mut HashTableObject) -> Option<Strong> {
    // SAFETY: GIL held (caller); as copy_of, the object is made first.
    let new = unsafe { new_base_object() }?;
    // SAFETY: `obj` is live (caller); a read of its table's numbers.
    let table = unsafe {
        let max_load = (*require_table(obj)?).max_load();
        PyTable::new((*obj).initial_size, max_load)
    };
    flush_trace();
    let table = match table {
        // SAFETY: GIL held (caller).
        Ok(table) => unsafe { try_box(table) }?,
        // SAFETY: GIL held (caller).
        Err(e) => return unsafe { raise_table_error(e) },
    };
    // SAFETY: as in copy_of; no Python code ran since `obj`'s table was read
    // (the trace lines were flushed before it).
    unsafe {
        require_table(obj)?;
        adopt(new.as_ptr().cast(), table, obj);
    }
    Some(new)
}

/// Gives the new, uninitialised `new` the table `table` and `like`'s hash
/// function, its kind and its initial size. Runs no Python code but the
/// flush of trace lines.
///
/// # Safety
/// `new` is a new HashTable nobody else has seen, without a table; `like` is
/// a live HashTable; the GIL is held.
unsafe fn adopt(new: *mut HashTableObject, table: Box<PyTable>, like: *mut HashTableObject) {
    // SAFETY: as this function's contract; `new` takes its own reference to
    // `like`'s hash function (null for the naive hash).
    unsafe {
        (*new).table = Box::into_raw(table);
        (*new).hash_func = ffi::compat::Py_XNewRef((*like).hash_func);
        (*new).hash_kind = (*like).hash_kind;
        (*new).initial_size = (*like).initial_size;
        after_change(new);
    }
}

// ---------------------------------------------------------------------------
// The trashcan: releasing what a table held without deep recursion
// ---------------------------------------------------------------------------

/// What a dying or cleared HashTable lets go of (held only to be dropped).
#[allow(dead_code)] // the fields are read by their Drop, never by name
enum Garbage {
    /// A detached table, with its keys and values.
    Table(Box<PyTable>),
    /// A reference: the hash function.
    Ref(Strong),
}

thread_local! {
    /// Whether this thread is releasing garbage right now, and the garbage
    /// whose release waits for it to finish.
    static FREEING: Cell<bool> = const { Cell::new(false) };
    static WAITING: RefCell<Vec<Garbage>> = const { RefCell::new(Vec::new()) };
}

/// Frees a table already detached from its object, releasing its keys and
/// values (each release may run Python code: `__del__`).
///
/// Releasing a value can free another HashTable, whose values can free
/// another: a chain of a million nested tables would recurse a million deep
/// and overflow the C stack. Like CPython's "trashcan" for its containers,
/// what a table lets go of while another is being freed waits in a list, and
/// the outermost call releases the waiting ones in a loop.
pub(crate) fn trashcan_drop(table: Box<PyTable>) {
    release(Garbage::Table(table));
}

/// `Py_XDECREF(obj)` through the same trashcan, for a reference a HashTable
/// owned (its hash function): a hash function can hold the previous table of
/// a chain (`operator.itemgetter(t)`, a bound method), so releasing it can
/// free a table, whose hash function frees the next, a frame each.
///
/// # Safety
/// The GIL is held; `obj` is null or a reference the caller owns and gives up.
pub(crate) unsafe fn trashcan_xdecref(obj: *mut ffi::PyObject) {
    // SAFETY: the caller's reference, now the Strong's (released on drop).
    if let Some(reference) = unsafe { Strong::from_new(obj) } {
        release(Garbage::Ref(reference));
    }
}

fn release(garbage: Garbage) {
    if FREEING.get() {
        // Waits for the outermost release. If even the list cannot grow
        // (no memory), it is released now: deeper, but not lost.
        let waiting = WAITING.with(|w| {
            let mut w = w.borrow_mut();
            if w.try_reserve(1).is_ok() {
                w.push(garbage);
                None
            } else {
                Some(garbage)
            }
        });
        drop(waiting);
        return;
    }
    FREEING.set(true);
    drop(garbage);
    while let Some(next) = WAITING.with(|w| w.borrow_mut().pop()) {
        drop(next);
    }
    FREEING.set(false);
    flush_trace();
}

// ---------------------------------------------------------------------------
// The type, for the files below hashtable_type.rs
// ---------------------------------------------------------------------------

/// The HashTable type object (the static in hashtable_type.rs), once it is
/// ready; null before.
static HASHTABLE_TYPE: AtomicPtr<ffi::PyTypeObject> = AtomicPtr::new(null_mut());

/// Makes `tp` the type that [`type_object`] and [`is_hashtable`] answer
/// with. hashtable_type.rs calls it once the type is ready, before any
/// HashTable can exist.
pub(crate) fn register_type(tp: *mut ffi::PyTypeObject) {
    HASHTABLE_TYPE.store(tp, Ordering::Relaxed);
}

/// The HashTable type (ready: a HashTable exists only after it is).
pub(crate) fn type_object() -> *mut ffi::PyTypeObject {
    let tp = HASHTABLE_TYPE.load(Ordering::Relaxed);
    debug_assert!(
        !tp.is_null(),
        "the HashTable type is used before it is ready"
    );
    tp
}

/// `isinstance(obj, HashTable)`, without running Python code (the C check
/// of the type and its bases, not `__instancecheck__`).
///
/// # Safety
/// `obj` is a live object and the GIL is held.
pub(crate) unsafe fn is_hashtable(obj: *mut ffi::PyObject) -> bool {
    // SAFETY: `obj` is live (caller); the type is a ready static.
    unsafe { ffi::PyObject_TypeCheck(obj, type_object()) != 0 }
}
