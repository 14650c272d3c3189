//! The `hashtable.HashTable` type: a hand-written static `PyTypeObject`.
//!
//! It roughly corresponds to this Python class:
//!
//! ```python
//! class HashTable:
//!     def __init__(self, size=4, max_load=0.5, hash_func=hash):
//!         self.size = size              # buckets now (read-only)
//!         self.load = 0                 # entries (read-only)
//!         self.max_load = max_load      # read-only
//!         self.hash_func = hash_func    # read-only; None: hashtable.naive_hash
//!     def set(self, key, value): ...; return self
//!     def get(self, key, default=None): ...
//!     def pop(self, key, default=<missing>): ...
//!     def __repr__(self): ...           # one line per bucket: [] and a * per entry
//! ```
//!
//! The file reads in the order an object lives, as CPython's own
//! `Doc/includes/newtypes/custom4.c` does: the object struct, traverse,
//! clear, dealloc, new, init, repr, methods, members, the type object.
//!
//! The deliberate bugs of the lessons (docs/walkthrough.md) sit next to the
//! correct lines, switched by Cargo features; a normal build has none.

use std::ffi::{c_int, c_void};
use std::mem::offset_of;
use std::ptr::{NonNull, null_mut};

use pyo3_ffi as ffi;

use super::keys::{KeyArg, key_arg};
use super::refs::{Strong, raise, repr_of, type_name};
use super::trace::flush as flush_trace;
use crate::library::trace::{Level, Origin};
use crate::library::{Table, TableError};
use crate::trace;

/// The library table as the module instantiates it: values are strong
/// references, released when the table lets go of them.
pub(crate) type PyTable = Table<Strong>;

/// Which hash function a table calls.
#[repr(u8)]
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum HashKind {
    /// `hash_func=None`: the talk's naive hash, computed by the library.
    Naive = 0,
    /// The builtin `hash`: PyObject_Hash directly (same result, no call).
    Builtin = 1,
    /// Any other callable, called with each key.
    Python = 2,
}

/// The per-object struct: the object header, then the talk's fields.
///
/// Memory comes from `tp_alloc` zero-filled, so every field must be valid
/// when all bits are zero: a null table means "not initialised yet".
#[repr(C)]
pub(crate) struct HashTableObject {
    ob_base: ffi::PyObject,
    /// Owned; null until `__init__` succeeds (and after tp_clear).
    table: *mut PyTable,
    /// Mirrors of the table's bucket count and load, for the members below.
    size: ffi::Py_ssize_t,
    load: ffi::Py_ssize_t,
    max_load: f64,
    /// Owned (a strong reference), or null for the naive hash.
    hash_func: *mut ffi::PyObject,
    hash_kind: HashKind,
}

/// Above this many buckets, repr prints a summary instead of the picture.
const PICTURE_MAX_BUCKETS: usize = 64;

/// The table of an initialised object, or RuntimeError.
///
/// # Safety
/// `obj` is a live HashTable and the GIL is held.
unsafe fn require_table(obj: *mut HashTableObject) -> Option<*mut PyTable> {
    // SAFETY: `obj` is live (caller).
    let table = unsafe { (*obj).table };
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

/// Copies the table's size and load into the struct fields the members read.
///
/// # Safety
/// `obj` is a live HashTable, the GIL is held, and no reference to its table
/// is alive.
unsafe fn sync_members(obj: *mut HashTableObject) {
    // SAFETY: `obj` is live; the table, if any, is owned by it and not borrowed.
    unsafe {
        let (size, load) = match (*obj).table.as_ref() {
            Some(t) => (t.buckets(), t.len()),
            None => (0, 0),
        };
        (*obj).size = size as ffi::Py_ssize_t;
        (*obj).load = load as ffi::Py_ssize_t;
    }
}

/// Raises the Python exception for a library error.
///
/// # Safety
/// The GIL is held.
unsafe fn raise_table_error<T>(error: TableError) -> Option<T> {
    // SAFETY: GIL held (caller).
    unsafe {
        match error {
            TableError::OutOfMemory => {
                ffi::PyErr_NoMemory();
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

/// Hashes `key` with the table's hash function.
///
/// A Python hash function can run any code, including code that mutates,
/// re-initialises or drops its own reference to this very table. So this
/// runs before any borrow of the table is taken, and callers look the table
/// up again afterwards.
///
/// # Safety
/// `obj` is a live HashTable, `key` the live key object `arg` came from, and
/// the GIL is held.
unsafe fn hash_key(
    obj: *mut HashTableObject,
    key: *mut ffi::PyObject,
    arg: &KeyArg,
) -> Option<i64> {
    // SAFETY: `obj` is live (caller).
    let (kind, func) = unsafe { ((*obj).hash_kind, (*obj).hash_func) };
    let hash = match kind {
        HashKind::Naive => arg.as_key().naive_hash(),
        HashKind::Builtin => {
            // SAFETY: GIL held; `key` is live. -1 is never a valid hash: it means an error.
            let hash = unsafe { ffi::PyObject_Hash(key) };
            if hash == -1 {
                return None;
            }
            hash as i64
        }
        HashKind::Python => {
            // Borrowed from the struct; take our own reference for the call,
            // since the call may replace self.hash_func and release it.
            // SAFETY: a Python-kind table always has a non-null hash_func.
            let func = unsafe { Strong::from_borrowed(NonNull::new_unchecked(func)) };
            // SAFETY: GIL held; a new reference to the result, or NULL with
            // the hash function's own exception set, which we propagate unchanged.
            let result = unsafe { Strong::from_new(ffi::PyObject_CallOneArg(func.as_ptr(), key)) }?;
            // SAFETY: GIL held; `result` is live.
            if unsafe { ffi::PyLong_Check(result.as_ptr()) } == 0 {
                // SAFETY: GIL held; both objects are live for the message.
                return unsafe {
                    raise(
                        ffi::PyExc_TypeError,
                        &format!(
                            "hash_func {} must return an int, but returned {}",
                            repr_of(func.as_ptr()),
                            type_name(result.as_ptr())
                        ),
                    )
                };
            }
            // Reduce any int to a machine hash the way Python does: int's own
            // tp_hash (also for int subclasses, whose __hash__ could differ).
            // SAFETY: PyLong_Type is a static type whose tp_hash is always
            // set; `result` is an int.
            let hash = unsafe {
                let long_hash = (*(&raw const ffi::PyLong_Type))
                    .tp_hash
                    .expect("int has tp_hash");
                long_hash(result.as_ptr())
            };
            if hash == -1 {
                return None;
            }
            hash as i64
        }
    };
    trace!(
        Level::Calls,
        Origin::Module,
        "hash {} -> {hash}",
        arg.as_key()
    );
    Some(hash)
}

// ---------------------------------------------------------------------------
// Garbage collection: traverse and clear
// ---------------------------------------------------------------------------

/// tp_traverse: visit every object we own a reference to, so the cycle
/// collector can find cycles through hash_func or through stored values.
#[cfg(not(feature = "no-gc"))]
unsafe extern "C" fn hashtable_traverse(
    slf: *mut ffi::PyObject,
    visit: ffi::visitproc,
    arg: *mut c_void,
) -> c_int {
    let obj = slf.cast::<HashTableObject>();
    // SAFETY: the collector passes a live HashTable and holds the GIL. The
    // table is only read: no module code holds a mutable borrow of it while
    // Python objects can be allocated (the only way a collection starts).
    unsafe {
        if !(*obj).hash_func.is_null() {
            let r = visit((*obj).hash_func, arg);
            if r != 0 {
                return r;
            }
        }
        if let Some(table) = (*obj).table.as_ref() {
            for (_, value) in table.iter() {
                let r = visit(value.as_ptr(), arg);
                if r != 0 {
                    return r;
                }
            }
        }
    }
    0
}

/// Drops every reference this object owns: hash_func, then the table and the
/// values in it. Each field is detached before its reference is released,
/// since releasing may run `__del__` code that looks at this object again.
///
/// # Safety
/// `obj` is a HashTable (possibly being deallocated) and the GIL is held.
unsafe fn release_references(obj: *mut HashTableObject) {
    // SAFETY: `obj` is valid (caller); each pointer is swapped out before use.
    unsafe {
        let hash_func = std::mem::replace(&mut (*obj).hash_func, null_mut());
        // The talk's second bug: without this line every table leaks a
        // reference to its hash function (the `forget-decref` lesson).
        #[cfg(not(feature = "forget-decref"))]
        ffi::Py_XDECREF(hash_func);
        #[cfg(feature = "forget-decref")]
        let _ = hash_func;

        let table = std::mem::replace(&mut (*obj).table, null_mut());
        sync_members(obj);
        if !table.is_null() {
            // Releases every value (Strong's Drop), then the library prints its free line.
            drop(Box::from_raw(table));
        }
    }
    flush_trace();
}

/// tp_clear: break cycles by dropping every reference we own.
#[cfg(not(feature = "no-gc"))]
unsafe extern "C" fn hashtable_clear(slf: *mut ffi::PyObject) -> c_int {
    // SAFETY: the collector passes a live HashTable and holds the GIL.
    unsafe { release_references(slf.cast()) };
    0
}

// ---------------------------------------------------------------------------
// Lifecycle: dealloc, new, init
// ---------------------------------------------------------------------------

/// tp_dealloc: the reference count reached zero.
unsafe extern "C" fn hashtable_dealloc(slf: *mut ffi::PyObject) {
    let obj = slf.cast::<HashTableObject>();
    // SAFETY: Python calls tp_dealloc once, with the GIL, on an object nobody
    // references any more.
    unsafe {
        // Untrack first, so a collection triggered by the code below never
        // sees a half-destroyed object.
        #[cfg(not(feature = "no-gc"))]
        ffi::PyObject_GC_UnTrack(slf.cast());
        trace!(
            Level::Lifecycle,
            Origin::Module,
            "dealloc: releasing hash_func and {} values",
            (*obj).load
        );
        flush_trace();
        release_references(obj);
        // tp_free frees the object's own memory (PyObject_GC_Del for us; a
        // subclass may have another), never the table: that was done above.
        let tp_free = (*ffi::Py_TYPE(slf))
            .tp_free
            .expect("every ready type has tp_free");
        tp_free(slf.cast());
    }
}

/// tp_new: allocate the object; `__init__` makes the table.
unsafe extern "C" fn hashtable_new(
    subtype: *mut ffi::PyTypeObject,
    _args: *mut ffi::PyObject,
    _kwds: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: Python calls tp_new with the GIL and a ready type (ours or a
    // subclass); tp_alloc returns a new, zero-filled object (tracked by the
    // collector for GC types) or NULL with MemoryError set.
    unsafe {
        let alloc = (*subtype).tp_alloc.expect("every ready type has tp_alloc");
        let slf = alloc(subtype, 0);
        if let Some(obj) = slf.cast::<HashTableObject>().as_mut() {
            obj.table = null_mut();
            obj.hash_func = null_mut();
            obj.hash_kind = HashKind::Naive;
            obj.max_load = 0.0;
        }
        slf
    }
}

/// Validated constructor arguments.
struct InitArgs {
    size: usize,
    max_load: f64,
    /// A new reference, or None for the naive hash.
    hash_func: Option<Strong>,
    hash_kind: HashKind,
}

/// Reads `size`, `max_load` and `hash_func`, each with a message naming it.
///
/// # Safety
/// The GIL is held; `args`/`kwds` are what tp_init received.
unsafe fn parse_init_args(args: *mut ffi::PyObject, kwds: *mut ffi::PyObject) -> Option<InitArgs> {
    let mut size_obj: *mut ffi::PyObject = null_mut(); // borrowed
    let mut max_load_obj: *mut ffi::PyObject = null_mut(); // borrowed
    let mut hash_func_obj: *mut ffi::PyObject = null_mut(); // borrowed
    let mut keywords = [
        c"size".as_ptr(),
        c"max_load".as_ptr(),
        c"hash_func".as_ptr(),
        std::ptr::null(),
    ];
    // SAFETY: GIL held; the format has three optional "O" units, matched by
    // three `*mut *mut PyObject` out-pointers, which receive borrowed references.
    let ok = unsafe {
        ffi::PyArg_ParseTupleAndKeywords(
            args,
            kwds,
            c"|OOO:HashTable".as_ptr(),
            keywords.as_mut_ptr().cast(),
            &mut size_obj,
            &mut max_load_obj,
            &mut hash_func_obj,
        )
    };
    if ok == 0 {
        return None;
    }
    // SAFETY: GIL held; each object, when non-null, is a live borrowed reference.
    unsafe {
        Some(InitArgs {
            size: parse_size(size_obj)?,
            max_load: parse_max_load(max_load_obj)?,
            hash_func: None,
            hash_kind: HashKind::Naive,
        })
        .and_then(|a| with_hash_func(a, hash_func_obj))
    }
}

/// # Safety
/// The GIL is held; `obj` is null or a live object.
unsafe fn parse_size(obj: *mut ffi::PyObject) -> Option<usize> {
    if obj.is_null() {
        return Some(4);
    }
    // SAFETY: GIL held; `obj` is live.
    unsafe {
        if ffi::PyLong_Check(obj) == 0 || ffi::PyBool_Check(obj) != 0 {
            return raise(
                ffi::PyExc_TypeError,
                &format!("size must be a positive int, not {}", type_name(obj)),
            );
        }
        let mut overflow = 0;
        let size = ffi::PyLong_AsLongLongAndOverflow(obj, &mut overflow);
        if overflow > 0 {
            return raise(
                ffi::PyExc_OverflowError,
                &format!(
                    "size is too large: {} buckets cannot be addressed",
                    repr_of(obj)
                ),
            );
        }
        if overflow < 0 || size <= 0 {
            return raise(
                ffi::PyExc_ValueError,
                &format!("size must be a positive int, not {}", repr_of(obj)),
            );
        }
        match usize::try_from(size) {
            Ok(size) => Some(size),
            Err(_) => raise(
                ffi::PyExc_OverflowError,
                "size is too large for this platform",
            ),
        }
    }
}

/// # Safety
/// The GIL is held; `obj` is null or a live object.
unsafe fn parse_max_load(obj: *mut ffi::PyObject) -> Option<f64> {
    if obj.is_null() {
        return Some(0.5);
    }
    // SAFETY: GIL held; `obj` is live.
    unsafe {
        let numeric = ffi::PyFloat_Check(obj) != 0
            || (ffi::PyLong_Check(obj) != 0 && ffi::PyBool_Check(obj) == 0);
        if !numeric {
            return raise(
                ffi::PyExc_TypeError,
                &format!("max_load must be a float, not {}", type_name(obj)),
            );
        }
        let max_load = ffi::PyFloat_AsDouble(obj);
        if max_load == -1.0 && !ffi::PyErr_Occurred().is_null() {
            return None; // an int too large for a float: OverflowError
        }
        if !(max_load.is_finite() && max_load > 0.0) {
            return raise(
                ffi::PyExc_ValueError,
                &format!("max_load must be a finite number > 0, not {}", repr_of(obj)),
            );
        }
        Some(max_load)
    }
}

/// Fills in the hash function: the builtin `hash` when none was given.
///
/// # Safety
/// The GIL is held; `obj` is null or a live object.
unsafe fn with_hash_func(mut args: InitArgs, obj: *mut ffi::PyObject) -> Option<InitArgs> {
    // SAFETY: GIL held. PyEval_GetBuiltins returns a *borrowed* reference to
    // the builtins dict, and PyDict_GetItemString a *borrowed* reference to
    // `hash`: neither is ours to release.
    unsafe {
        let builtins = ffi::PyEval_GetBuiltins(); // borrowed
        if builtins.is_null() {
            return raise(
                ffi::PyExc_RuntimeError,
                "no builtins: cannot find the default hash function",
            );
        }
        let builtin_hash = ffi::PyDict_GetItemString(builtins, c"hash".as_ptr()); // borrowed
        if obj.is_null() {
            // The original module's bug: it released the builtins dict it
            // had only borrowed (the `decref-borrowed` lesson).
            #[cfg(feature = "decref-borrowed")]
            ffi::Py_DECREF(builtins);
            let Some(hash) = NonNull::new(builtin_hash) else {
                return raise(ffi::PyExc_RuntimeError, "builtins.hash is missing");
            };
            args.hash_func = Some(Strong::from_borrowed(hash)); // our own reference
            args.hash_kind = HashKind::Builtin;
        } else if obj == ffi::Py_None() {
            args.hash_kind = HashKind::Naive;
        } else if ffi::PyCallable_Check(obj) != 0 {
            args.hash_func = Some(Strong::from_borrowed(NonNull::new_unchecked(obj))); // our own reference
            args.hash_kind = if obj == builtin_hash {
                HashKind::Builtin
            } else {
                HashKind::Python
            };
        } else {
            return raise(
                ffi::PyExc_TypeError,
                &format!("hash_func must be callable or None, not {}", type_name(obj)),
            );
        }
        Some(args)
    }
}

/// tp_init: `HashTable(size=4, max_load=0.5, hash_func=hash)`. Calling it
/// again replaces the table with a new, empty one.
unsafe extern "C" fn hashtable_init(
    slf: *mut ffi::PyObject,
    args: *mut ffi::PyObject,
    kwds: *mut ffi::PyObject,
) -> c_int {
    let obj = slf.cast::<HashTableObject>();
    // SAFETY: Python calls tp_init with the GIL and a live object of our type.
    unsafe {
        let Some(parsed) = parse_init_args(args, kwds) else {
            return -1;
        };
        trace!(
            Level::Calls,
            Origin::Module,
            "init(size={}, max_load={}, hash_func={})",
            parsed.size,
            parsed.max_load,
            match &parsed.hash_func {
                Some(f) => repr_of(f.as_ptr()),
                None => "None".to_owned(),
            }
        );
        let table = match PyTable::new(parsed.size, parsed.max_load) {
            Ok(table) => table,
            Err(e) => {
                flush_trace();
                return raise_table_error::<()>(e).map_or(-1, |_| -1);
            }
        };
        let table = Box::into_raw(Box::new(table));
        // Install the new state first; release the old one (which may run
        // arbitrary code) only once the object is consistent again.
        let old_table = std::mem::replace(&mut (*obj).table, table);
        let new_func = parsed.hash_func.map_or(null_mut(), Strong::into_raw); // the struct owns it now
        let old_func = std::mem::replace(&mut (*obj).hash_func, new_func);
        (*obj).hash_kind = parsed.hash_kind;
        (*obj).max_load = parsed.max_load;
        sync_members(obj);
        flush_trace();
        ffi::Py_XDECREF(old_func);
        if !old_table.is_null() {
            drop(Box::from_raw(old_table));
            flush_trace();
        }
    }
    0
}

// ---------------------------------------------------------------------------
// repr: the talk's picture of the buckets
// ---------------------------------------------------------------------------

unsafe extern "C" fn hashtable_repr(slf: *mut ffi::PyObject) -> *mut ffi::PyObject {
    let obj = slf.cast::<HashTableObject>();
    // SAFETY: Python calls tp_repr with the GIL and a live object; the table
    // is read only, and nothing here runs Python code before the string is made.
    unsafe {
        let text = match (*obj).table.as_ref() {
            None => "<hashtable.HashTable (uninitialised)>".to_owned(),
            Some(table) if table.buckets() > PICTURE_MAX_BUCKETS => {
                let stats = table.stats();
                format!(
                    "<hashtable.HashTable: {} buckets, load {}, longest chain {}, {} empty buckets \
                     (picture shown up to {PICTURE_MAX_BUCKETS} buckets)>",
                    stats.buckets, stats.load, stats.longest_chain, stats.empty_buckets
                )
            }
            Some(table) => {
                let lines: Vec<String> = table
                    .chain_lengths()
                    .map(|n| format!("[]{}", "*".repeat(n)))
                    .collect();
                lines.join("\n")
            }
        };
        ffi::PyUnicode_FromStringAndSize(text.as_ptr().cast(), text.len() as ffi::Py_ssize_t)
    }
}

// ---------------------------------------------------------------------------
// Methods: set, get, pop
// ---------------------------------------------------------------------------

/// Checks a METH_FASTCALL argument count; missing optional arguments are null.
///
/// # Safety
/// The GIL is held; `args` holds `nargs` borrowed references.
unsafe fn positional<const N: usize>(
    name: &str,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    required: usize,
) -> Option<[*mut ffi::PyObject; N]> {
    let given = nargs as usize;
    if given < required || given > N {
        let message = if required == N {
            format!(
                "{name} expected {N} argument{}, got {given}",
                if N == 1 { "" } else { "s" }
            )
        } else if given < required {
            format!(
                "{name} expected at least {required} argument{}, got {given}",
                if required == 1 { "" } else { "s" }
            )
        } else {
            format!("{name} expected at most {N} arguments, got {given}")
        };
        // SAFETY: GIL held (caller).
        return unsafe { raise(ffi::PyExc_TypeError, &message) };
    }
    let mut out = [null_mut(); N];
    for (i, slot) in out.iter_mut().enumerate().take(given) {
        // SAFETY: i < nargs, and `args` has nargs entries (caller).
        *slot = unsafe { *args.add(i) };
    }
    Some(out)
}

/// Returns `obj` or None as a new reference.
///
/// # Safety
/// The GIL is held; `obj` is null or live.
unsafe fn new_ref_or_none(obj: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: GIL held; None is always live.
    unsafe {
        let obj = if obj.is_null() { ffi::Py_None() } else { obj };
        ffi::Py_INCREF(obj);
        obj
    }
}

/// `set(key, value)`: returns the table itself, as in the talk's demo.
unsafe extern "C" fn hashtable_set(
    slf: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: Python calls a method with the GIL, a live `self` and `nargs`
    // borrowed arguments.
    unsafe { set_impl(slf, args, nargs).unwrap_or(null_mut()) }
}

unsafe fn set_impl(
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> Option<*mut ffi::PyObject> {
    let obj = slf.cast::<HashTableObject>();
    // SAFETY: as hashtable_set.
    unsafe {
        let [key, value] = positional::<2>("set", args, nargs, 2)?;
        require_table(obj)?;
        let arg = key_arg(key)?;
        trace!(
            Level::Calls,
            Origin::Module,
            "set({}, <{}>)",
            arg.as_key(),
            type_name(value)
        );
        // The callback-race lesson: state read *before* the Python callback...
        #[cfg(feature = "callback-race")]
        let load_before = (*obj).load;
        let hash = hash_key(obj, key, &arg)?;
        let table = require_table(obj)?; // again: the hash function may have replaced it
        let value = Strong::from_borrowed(NonNull::new_unchecked(value)); // the table's reference
        // The only borrow of the table, alive for this call alone; the library
        // runs no Python code.
        let result = (*table).insert(hash, arg.as_key(), value);
        sync_members(obj);
        // ...written back *after* it: another thread's update in between is lost.
        #[cfg(feature = "callback-race")]
        if matches!(result, Ok(None)) {
            (*obj).load = load_before + 1;
        }
        flush_trace();
        match result {
            // Release the replaced value only now: its __del__ may use the table.
            Ok(replaced) => drop(replaced),
            Err((error, value)) => {
                drop(value);
                return raise_table_error(error);
            }
        }
        // The talk's first bug: returning self without this INCREF hands the
        // caller a reference it does not own (the `forget-incref` lesson).
        #[cfg(not(feature = "forget-incref"))]
        ffi::Py_INCREF(slf);
        Some(slf)
    }
}

/// `get(key, default=None)`.
unsafe extern "C" fn hashtable_get(
    slf: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    let obj = slf.cast::<HashTableObject>();
    // SAFETY: as hashtable_set.
    unsafe {
        let Some([key, default]) = positional::<2>("get", args, nargs, 1) else {
            return null_mut();
        };
        let Some(found) = lookup(obj, "get", key) else {
            return null_mut();
        };
        match found {
            Some(value) => value.into_raw(),
            None => new_ref_or_none(default),
        }
    }
}

/// Looks `key` up; `Some(None)` when it is missing.
///
/// # Safety
/// `obj` is a live HashTable, `key` a live object, and the GIL is held.
pub(crate) unsafe fn lookup(
    obj: *mut HashTableObject,
    method: &str,
    key: *mut ffi::PyObject,
) -> Option<Option<Strong>> {
    // SAFETY: as the callers'.
    unsafe {
        require_table(obj)?;
        let arg = key_arg(key)?;
        trace!(Level::Calls, Origin::Module, "{method}({})", arg.as_key());
        let hash = hash_key(obj, key, &arg)?;
        let table = require_table(obj)?;
        // A new reference to the value, taken while the table still holds its own.
        let found = (*table)
            .get(hash, arg.as_key())
            .map(|v| Strong::from_borrowed(NonNull::new_unchecked(v.as_ptr())));
        flush_trace();
        Some(found)
    }
}

/// `pop(key[, default])`.
unsafe extern "C" fn hashtable_pop(
    slf: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    let obj = slf.cast::<HashTableObject>();
    // SAFETY: as hashtable_set.
    unsafe {
        let Some([key, default]) = positional::<2>("pop", args, nargs, 1) else {
            return null_mut();
        };
        let Some(removed) = remove(obj, "pop", key) else {
            return null_mut();
        };
        match removed {
            // The table's reference becomes the caller's: no INCREF, no DECREF.
            Some(value) => value.into_raw(),
            None if !default.is_null() => new_ref_or_none(default),
            None => {
                ffi::PyErr_SetObject(ffi::PyExc_KeyError, key);
                null_mut()
            }
        }
    }
}

/// Removes `key`; `Some(None)` when it is missing.
///
/// # Safety
/// `obj` is a live HashTable, `key` a live object, and the GIL is held.
pub(crate) unsafe fn remove(
    obj: *mut HashTableObject,
    method: &str,
    key: *mut ffi::PyObject,
) -> Option<Option<Strong>> {
    // SAFETY: as the callers'.
    unsafe {
        require_table(obj)?;
        let arg = key_arg(key)?;
        trace!(Level::Calls, Origin::Module, "{method}({})", arg.as_key());
        let hash = hash_key(obj, key, &arg)?;
        let table = require_table(obj)?;
        let removed = (*table).remove(hash, arg.as_key()).map(|(_, value)| value);
        sync_members(obj);
        flush_trace();
        Some(removed)
    }
}

// ---------------------------------------------------------------------------
// Members and the method table
// ---------------------------------------------------------------------------

static mut HASHTABLE_MEMBERS: [ffi::PyMemberDef; 5] = [
    ffi::PyMemberDef {
        name: c"size".as_ptr(),
        type_code: ffi::Py_T_PYSSIZET,
        offset: offset_of!(HashTableObject, size) as ffi::Py_ssize_t,
        flags: ffi::Py_READONLY,
        doc: c"The number of buckets now (it doubles as the table grows).".as_ptr(),
    },
    ffi::PyMemberDef {
        name: c"load".as_ptr(),
        type_code: ffi::Py_T_PYSSIZET,
        offset: offset_of!(HashTableObject, load) as ffi::Py_ssize_t,
        flags: ffi::Py_READONLY,
        doc: c"The number of entries.".as_ptr(),
    },
    ffi::PyMemberDef {
        name: c"max_load".as_ptr(),
        type_code: ffi::Py_T_DOUBLE,
        offset: offset_of!(HashTableObject, max_load) as ffi::Py_ssize_t,
        flags: ffi::Py_READONLY,
        doc: c"The load proportion (entries / buckets) the table never exceeds.".as_ptr(),
    },
    ffi::PyMemberDef {
        name: c"hash_func".as_ptr(),
        // T_OBJECT, not T_OBJECT_EX: a null field reads as None, which is
        // exactly how a table using the naive hash shows it.
        #[allow(deprecated)]
        type_code: ffi::_Py_T_OBJECT,
        offset: offset_of!(HashTableObject, hash_func) as ffi::Py_ssize_t,
        flags: ffi::Py_READONLY,
        doc: c"The function keys are hashed with (None: hashtable.naive_hash).".as_ptr(),
    },
    ffi::PyMemberDef {
        name: std::ptr::null(),
        type_code: 0,
        offset: 0,
        flags: 0,
        doc: std::ptr::null(),
    },
];

static mut HASHTABLE_METHODS: [ffi::PyMethodDef; 4] = [
    ffi::PyMethodDef {
        ml_name: c"set".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer {
            PyCFunctionFast: hashtable_set,
        },
        ml_flags: ffi::METH_FASTCALL,
        ml_doc: c"set($self, key, value, /)\n--\n\nSet key to value and return the table itself (as in the talk's demo)."
            .as_ptr(),
    },
    ffi::PyMethodDef {
        ml_name: c"get".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer {
            PyCFunctionFast: hashtable_get,
        },
        ml_flags: ffi::METH_FASTCALL,
        ml_doc: c"get($self, key, default=None, /)\n--\n\nReturn the value for key, or default when key is missing."
            .as_ptr(),
    },
    ffi::PyMethodDef {
        ml_name: c"pop".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer {
            PyCFunctionFast: hashtable_pop,
        },
        ml_flags: ffi::METH_FASTCALL,
        ml_doc: c"pop($self, key, /, *default)\n--\n\nRemove key and return its value.\n\nWhen key is missing, return default if one is given, else raise KeyError.\n(dict.pop(key[, default]); no text signature can say \"optional, no default\".)"
            .as_ptr(),
    },
    ffi::PyMethodDef::zeroed(),
];

// ---------------------------------------------------------------------------
// The type object
// ---------------------------------------------------------------------------

/// No "--" line after the signature: that would make it a text signature,
/// and a text signature cannot name the builtin `hash` as a default.
const TYPE_DOC: &std::ffi::CStr = c"HashTable(size=4, max_load=0.5, hash_func=hash)

A chained hash table: the one of the talk \"Peeking into Python's C API\".

size      the initial number of buckets (a positive int).
max_load  the largest load proportion (entries / buckets); before an add
          would exceed it, the bucket array doubles.
hash_func called with each key, must return an int. The builtin hash by
          default; None for the talk's naive hash (hashtable.naive_hash).

Keys are int, float or str (1, 1.0 and True are one key); values are any
object. repr() draws the buckets: one line per bucket, [] and a * per entry.";

#[cfg(not(feature = "no-gc"))]
const TYPE_FLAGS: std::ffi::c_ulong =
    ffi::Py_TPFLAGS_DEFAULT | ffi::Py_TPFLAGS_BASETYPE | ffi::Py_TPFLAGS_HAVE_GC;
/// The no-gc lesson: without HAVE_GC the collector never sees our references.
#[cfg(feature = "no-gc")]
const TYPE_FLAGS: std::ffi::c_ulong = ffi::Py_TPFLAGS_DEFAULT | ffi::Py_TPFLAGS_BASETYPE;

pub(crate) static mut HASHTABLE_TYPE: ffi::PyTypeObject = ffi::PyTypeObject {
    ob_base: ffi::PyVarObject {
        ob_base: ffi::PyObject_HEAD_INIT,
        ob_size: 0,
    },
    tp_name: c"hashtable.HashTable".as_ptr(),
    tp_basicsize: size_of::<HashTableObject>() as ffi::Py_ssize_t,
    tp_itemsize: 0,
    tp_dealloc: Some(hashtable_dealloc),
    tp_repr: Some(hashtable_repr),
    tp_flags: TYPE_FLAGS,
    tp_doc: TYPE_DOC.as_ptr(),
    #[cfg(not(feature = "no-gc"))]
    tp_traverse: Some(hashtable_traverse),
    #[cfg(not(feature = "no-gc"))]
    tp_clear: Some(hashtable_clear),
    tp_methods: (&raw mut HASHTABLE_METHODS).cast(),
    tp_members: (&raw mut HASHTABLE_MEMBERS).cast(),
    tp_init: Some(hashtable_init),
    tp_new: Some(hashtable_new),
    // tp_alloc and tp_free are inherited (PyType_GenericAlloc, PyObject_GC_Del):
    // tp_free frees the object's memory, so it is no place for freeing the table.
    // SAFETY: every other field of PyTypeObject is a null pointer, a None
    // function pointer or a zero number when all bits are zero, which is
    // what "not set" means to PyType_Ready.
    ..unsafe { std::mem::zeroed() }
};
