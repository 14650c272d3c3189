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

use std::ffi::{CStr, c_int};
use std::mem::offset_of;
use std::ptr::{NonNull, null_mut};
use std::sync::atomic::{AtomicPtr, Ordering};

use pyo3_ffi as ffi;

use super::callout;

use super::keys::{KeyArg, key_arg, key_object};
use super::refs::{Strong, raise, repr_of, type_name};
use super::trace::flush as flush_trace;
use super::views::{ViewKind, new_iter, new_view};
use crate::library::key::python_int_hash;
use crate::library::trace::{Level, Origin};
use crate::library::{Key, Table, TableError};
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
    /// The size `__init__` was given: `clear()` starts over from it.
    initial_size: usize,
}

/// Above this many buckets, repr prints a summary instead of the picture.
const PICTURE_MAX_BUCKETS: usize = 64;

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

/// The `calls`-level line of a module call, written at once.
#[inline(always)]
fn trace_call(call: &str) {
    trace!(Level::Calls, Origin::Module, "{call}");
    flush_trace();
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
#[inline(always)]
unsafe fn hash_key(
    obj: *mut HashTableObject,
    key: *mut ffi::PyObject,
    arg: &KeyArg,
) -> Option<i64> {
    // The common cases inline: the builtin hash of an int that fits in 64
    // bits, computed from its value, or of a str whose hash is cached in the
    // object. Neither runs Python code, so no queued line needs flushing.
    // SAFETY: `obj` and `key` are live (caller); reading fields, and for a
    // str (`arg` says `key` is one) the `hash` field every str has.
    unsafe {
        if (*obj).hash_kind == HashKind::Builtin && !crate::library::trace::enabled(Level::Calls) {
            match *arg {
                KeyArg::Int(i) => return Some(python_int_hash(i)),
                KeyArg::Str { .. } => {
                    let cached = (*key.cast::<ffi::PyASCIIObject>()).hash;
                    if cached != -1 {
                        return Some(cached as i64);
                    }
                }
                _ => {}
            }
        }
        hash_key_general(obj, key, arg)
    }
}

/// The builtin hash of a key, as the value the table stores: int's, float's
/// or str's own hash, also for an instance of a subclass.
///
/// The table keeps the value, not the object, and gives the value back
/// (iteration yields a plain int, float or str). A subclass's `__hash__`
/// would file the entry where that value can never be found again
/// (`for k in h: h[k]` would fail), and Python requires objects that compare
/// equal to hash alike, so for every subclass that keeps that rule this is
/// what `hash(key)` gives. No Python code runs.
///
/// # Safety
/// `key` is the live object `arg` was made from, and the GIL is held.
unsafe fn builtin_value_hash(key: *mut ffi::PyObject, arg: &KeyArg) -> i64 {
    let base = match arg {
        KeyArg::Int(i) => return python_int_hash(*i),
        KeyArg::Bool(b) => return i64::from(*b),
        KeyArg::Big(_) => &raw const ffi::PyLong_Type,
        KeyArg::Float(_) => &raw const ffi::PyFloat_Type,
        KeyArg::Str { .. } => &raw const ffi::PyUnicode_Type,
    };
    // SAFETY: the base types are static and always have tp_hash; `key` is an
    // instance of `base` or of a subclass (that is how `arg` was made), which
    // is what the base's tp_hash reads. None of the three can fail (-1 is
    // never a hash of theirs), and none runs Python code.
    unsafe {
        let tp_hash = (*base).tp_hash.expect("int, float and str have tp_hash");
        tp_hash(key) as i64
    }
}

/// [`hash_key`] for every hash function and key.
///
/// # Safety
/// As [`hash_key`].
#[inline(never)]
unsafe fn hash_key_general(
    obj: *mut HashTableObject,
    key: *mut ffi::PyObject,
    arg: &KeyArg,
) -> Option<i64> {
    // Lines queued so far come before anything the hash function prints.
    flush_trace();
    // SAFETY: `obj` is live (caller).
    let (kind, func) = unsafe { ((*obj).hash_kind, (*obj).hash_func) };
    let hash = match kind {
        HashKind::Naive => arg.as_key().naive_hash(),
        // SAFETY: `key` is live and `arg` was made from it (caller).
        HashKind::Builtin => unsafe { builtin_value_hash(key, arg) },
        HashKind::Python => {
            // Borrowed from the struct; take our own reference for the call,
            // since the call may replace self.hash_func and release it.
            let Some(func) = NonNull::new(func) else {
                // SAFETY: GIL held (caller). Unreachable while init sets kind
                // and function together; checked rather than trusted.
                return unsafe {
                    raise(
                        ffi::PyExc_RuntimeError,
                        "this HashTable has no hash function",
                    )
                };
            };
            // SAFETY: GIL held; `func` is live (owned by the struct right now).
            let func = unsafe { Strong::from_borrowed(func) };
            // SAFETY: GIL held; a new reference to the result, or NULL with
            // the hash function's own exception set, which we propagate unchanged.
            let result =
                unsafe { Strong::from_new(callout::PyObject_CallOneArg(func.as_ptr(), key)) }?;
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
                let long_hash = ffi::PyLong_Type.tp_hash.expect("int has tp_hash");
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
    arg: *mut std::ffi::c_void,
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

thread_local! {
    /// How many tables this thread is freeing right now, and the tables whose
    /// freeing was deferred because of it.
    static FREEING: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
    static DEFERRED: std::cell::RefCell<Vec<PyTable>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Frees a detached table, releasing its values.
///
/// Releasing a value can free another HashTable, whose values can free
/// another: a chain of a million nested tables would recurse a million deep
/// and overflow the C stack. Like CPython's "trashcan" for its containers,
/// a table freed while another is being freed waits in a list, and the
/// outermost call frees the waiting ones in a loop.
pub(crate) fn free_table(table: Box<PyTable>) {
    if FREEING.get() > 0 {
        DEFERRED.with(|d| d.borrow_mut().push(*table));
        return;
    }
    FREEING.set(1);
    drop(table);
    while let Some(next) = DEFERRED.with(|d| d.borrow_mut().pop()) {
        drop(next);
    }
    FREEING.set(0);
    flush_trace();
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
        callout::Py_XDECREF(hash_func);
        #[cfg(feature = "forget-decref")]
        let _ = hash_func;

        let table = std::mem::replace(&mut (*obj).table, null_mut());
        sync_members(obj);
        if !table.is_null() {
            // Releases every value (Strong's Drop), then the library prints its free line.
            free_table(Box::from_raw(table));
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
            "dealloc: releasing {} and {} values",
            if (*obj).hash_func.is_null() {
                "no hash_func"
            } else {
                "hash_func"
            },
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
        let slf = callout::call_tp_alloc(alloc, subtype, 0);
        if let Some(obj) = slf.cast::<HashTableObject>().as_mut() {
            obj.table = null_mut();
            obj.hash_func = null_mut();
            obj.hash_kind = HashKind::Naive;
            obj.max_load = 0.0;
            obj.initial_size = 0;
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
            // An int too large for a float: say which argument it was.
            callout::PyErr_Clear();
            return raise(
                ffi::PyExc_OverflowError,
                "max_load is too large to be a float",
            );
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

/// The `PyMethodDef` behind the builtins module's own `hash` function, found
/// by `find_builtin_hash` at import; null if it was not found.
static BUILTIN_HASH_DEF: AtomicPtr<ffi::PyMethodDef> = AtomicPtr::new(null_mut());

/// Finds the entry for `hash` in the method table of the builtins module,
/// the table every genuine `builtins.hash` function object points to, even
/// after `builtins.hash` has been rebound to a Python function.
///
/// # Safety
/// The GIL is held.
pub(crate) unsafe fn find_builtin_hash() -> Option<()> {
    // SAFETY: GIL held. The import returns a new reference; PyModule_GetDef
    // a pointer to the module's static definition (or null), whose method
    // table ends with an entry whose name is null.
    unsafe {
        let builtins = Strong::from_new(callout::PyImport_ImportModule(c"builtins".as_ptr()))?;
        let def = ffi::PyModule_GetDef(builtins.as_ptr());
        if def.is_null() {
            callout::PyErr_Clear();
            return Some(()); // no table to find it in: every hash_func is called
        }
        let mut method = (*def).m_methods;
        while !method.is_null() && !(*method).ml_name.is_null() {
            if CStr::from_ptr((*method).ml_name) == c"hash" {
                BUILTIN_HASH_DEF.store(method, Ordering::Relaxed);
                break;
            }
            method = method.add(1);
        }
    }
    Some(())
}

/// Builtin when `func` is the builtins module's own `hash` (so the table may
/// compute it without a call), Python for any other callable, including a
/// function that has been bound to the name `builtins.hash`.
///
/// # Safety
/// `func` is a live object and the GIL is held.
unsafe fn kind_of(func: *mut ffi::PyObject) -> HashKind {
    let def = BUILTIN_HASH_DEF.load(Ordering::Relaxed);
    // SAFETY: `func` is live (caller); a C function object starts with
    // PyCFunctionObject's fields.
    let genuine = !def.is_null()
        && unsafe { ffi::PyCFunction_Check(func) != 0 }
        && unsafe { (*func.cast::<ffi::PyCFunctionObject>()).m_ml } == def;
    if genuine {
        HashKind::Builtin
    } else {
        HashKind::Python
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
        if obj.is_null() {
            let builtins = ffi::PyEval_GetBuiltins(); // borrowed
            if builtins.is_null() {
                return raise(
                    ffi::PyExc_RuntimeError,
                    "no builtins: cannot find the default hash function",
                );
            }
            let builtin_hash = ffi::PyDict_GetItemString(builtins, c"hash".as_ptr()); // borrowed
            // The original module's bug: it released the builtins dict it
            // had only borrowed (the `decref-borrowed` lesson).
            #[cfg(feature = "decref-borrowed")]
            callout::Py_DECREF(builtins);
            let Some(hash) = NonNull::new(builtin_hash) else {
                return raise(ffi::PyExc_RuntimeError, "builtins.hash is missing");
            };
            args.hash_func = Some(Strong::from_borrowed(hash)); // our own reference
            args.hash_kind = kind_of(hash.as_ptr());
        } else if obj == ffi::Py_None() {
            args.hash_kind = HashKind::Naive;
        } else if ffi::PyCallable_Check(obj) != 0 {
            args.hash_func = Some(Strong::from_borrowed(NonNull::new_unchecked(obj))); // our own reference
            args.hash_kind = kind_of(obj);
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
        (*obj).initial_size = parsed.size;
        sync_members(obj);
        flush_trace();
        callout::Py_XDECREF(old_func);
        if !old_table.is_null() {
            free_table(Box::from_raw(old_table));
        }
    }
    0
}

// ---------------------------------------------------------------------------
// repr: the talk's picture of the buckets
// ---------------------------------------------------------------------------

unsafe extern "C" fn hashtable_repr(slf: *mut ffi::PyObject) -> *mut ffi::PyObject {
    let obj = slf.cast::<HashTableObject>();
    trace_call("repr()");
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
#[inline]
unsafe fn positional<const N: usize>(
    name: &str,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    required: usize,
) -> Option<[*mut ffi::PyObject; N]> {
    let given = nargs as usize;
    if given < required || given > N {
        // SAFETY: GIL held (caller).
        return unsafe { wrong_arg_count(name, N, given, required) };
    }
    let mut out = [null_mut(); N];
    // A loop over the constant N, which the compiler unrolls.
    for (i, slot) in out.iter_mut().enumerate() {
        if i < given {
            // SAFETY: i < nargs, and `args` has nargs entries (caller).
            *slot = unsafe { *args.add(i) };
        }
    }
    Some(out)
}

/// The TypeError for a wrong number of positional arguments, out of line.
///
/// # Safety
/// The GIL is held.
#[cold]
#[inline(never)]
unsafe fn wrong_arg_count<T>(name: &str, n: usize, given: usize, required: usize) -> Option<T> {
    let message = if required == n {
        format!(
            "{name} expected {n} argument{}, got {given}",
            if n == 1 { "" } else { "s" }
        )
    } else if given < required {
        format!(
            "{name} expected at least {required} argument{}, got {given}",
            if required == 1 { "" } else { "s" }
        )
    } else {
        format!("{name} expected at most {n} arguments, got {given}")
    };
    // SAFETY: GIL held (caller).
    unsafe { raise(ffi::PyExc_TypeError, &message) }
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
    // SAFETY: as hashtable_set.
    unsafe {
        let [key, value] = positional::<2>("set", args, nargs, 2)?;
        set_item(slf.cast(), "set", key, value)?;
        // The talk's first bug: returning self without this INCREF hands the
        // caller a reference it does not own (the `forget-incref` lesson).
        #[cfg(not(feature = "forget-incref"))]
        ffi::Py_INCREF(slf);
        Some(slf)
    }
}

/// Sets `key` to `value`: the shared work of `set`, `h[k] = v`, `update`,
/// `setdefault` and `fromkeys`.
///
/// # Safety
/// `obj` is a live HashTable, `key` and `value` live objects, and the GIL is held.
pub(crate) unsafe fn set_item(
    obj: *mut HashTableObject,
    method: &str,
    key: *mut ffi::PyObject,
    value: *mut ffi::PyObject,
) -> Option<()> {
    // SAFETY: as the callers'.
    unsafe {
        require_table(obj)?;
        let arg = key_arg(key)?;
        trace!(
            Level::Calls,
            Origin::Module,
            "{method}({}, <{}>)",
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
        Some(())
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
                callout::PyErr_SetObject(ffi::PyExc_KeyError, key);
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
// The mapping protocol: len(h), h[k], h[k] = v, del h[k], k in h, iter(h), ==
// ---------------------------------------------------------------------------

unsafe extern "C" fn hashtable_length(slf: *mut ffi::PyObject) -> ffi::Py_ssize_t {
    trace_call("len()");
    // SAFETY: called with the GIL on a live HashTable.
    unsafe {
        match require_table(slf.cast()) {
            Some(table) => (*table).len() as ffi::Py_ssize_t,
            None => -1,
        }
    }
}

unsafe extern "C" fn hashtable_subscript(
    slf: *mut ffi::PyObject,
    key: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: called with the GIL, a live HashTable and a live borrowed key.
    unsafe {
        match lookup(slf.cast(), "__getitem__", key) {
            Some(Some(value)) => value.into_raw(),
            Some(None) => {
                callout::PyErr_SetObject(ffi::PyExc_KeyError, key);
                null_mut()
            }
            None => null_mut(),
        }
    }
}

/// `h[k] = v`, or `del h[k]` when `value` is null.
unsafe extern "C" fn hashtable_ass_subscript(
    slf: *mut ffi::PyObject,
    key: *mut ffi::PyObject,
    value: *mut ffi::PyObject,
) -> c_int {
    // SAFETY: called with the GIL, a live HashTable and live borrowed arguments.
    unsafe {
        if !value.is_null() {
            return set_item(slf.cast(), "__setitem__", key, value).map_or(-1, |()| 0);
        }
        match remove(slf.cast(), "__delitem__", key) {
            // The removed value is released here, after the table is consistent.
            Some(Some(_removed)) => 0,
            Some(None) => {
                callout::PyErr_SetObject(ffi::PyExc_KeyError, key);
                -1
            }
            None => -1,
        }
    }
}

unsafe extern "C" fn hashtable_contains(slf: *mut ffi::PyObject, key: *mut ffi::PyObject) -> c_int {
    // SAFETY: called with the GIL, a live HashTable and a live borrowed key.
    unsafe {
        match lookup(slf.cast(), "__contains__", key) {
            Some(found) => c_int::from(found.is_some()),
            None => -1,
        }
    }
}

unsafe extern "C" fn hashtable_iter(slf: *mut ffi::PyObject) -> *mut ffi::PyObject {
    trace_call("iter()");
    // SAFETY: called with the GIL on a live HashTable.
    unsafe { new_iter(slf, ViewKind::Keys) }
}

/// Copies of every key and new references to every value, so that code
/// which runs Python (==, hashing, making key objects) never meets a
/// borrowed table.
///
/// # Safety
/// `obj` is a live, initialised HashTable and the GIL is held.
unsafe fn snapshot(table: *mut PyTable) -> Option<Vec<(Key, Strong)>> {
    // SAFETY: the borrow lasts for this loop, which runs no Python code
    // (copying keys is Rust; taking a reference is an INCREF).
    unsafe {
        let mut items = Vec::new();
        if items.try_reserve_exact((*table).len()).is_err() {
            ffi::PyErr_NoMemory();
            return None;
        }
        for (key, value) in (*table).iter() {
            let Ok(key) = key.as_ref().to_owned() else {
                ffi::PyErr_NoMemory();
                return None;
            };
            items.push((key, value.clone_ref()));
        }
        Some(items)
    }
}

/// `h == other`: the same keys with equal values, for any mapping; `None`
/// with an exception set on error, `Some(None)` for NotImplemented.
///
/// # Safety
/// `obj` is a live HashTable, `other` a live object, and the GIL is held.
unsafe fn mapping_equals(
    obj: *mut HashTableObject,
    other: *mut ffi::PyObject,
) -> Option<Option<bool>> {
    // SAFETY: as the caller's; every reference made here is owned by a Strong.
    unsafe {
        let is_mapping = if ffi::PyDict_Check(other) != 0
            || ffi::PyObject_TypeCheck(other, &raw mut HASHTABLE_TYPE) != 0
        {
            true
        } else {
            let abc =
                Strong::from_new(callout::PyImport_ImportModule(c"collections.abc".as_ptr()))?;
            let mapping = Strong::from_new(callout::PyObject_GetAttrString(
                abc.as_ptr(),
                c"Mapping".as_ptr(),
            ))?;
            match callout::PyObject_IsInstance(other, mapping.as_ptr()) {
                -1 => return None,
                r => r == 1,
            }
        };
        if !is_mapping {
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
        let other_is_dict = ffi::PyDict_Check(other) != 0;
        let other_is_table = ffi::PyObject_TypeCheck(other, &raw mut HASHTABLE_TYPE) != 0;
        for (key, value) in snapshot(table)? {
            let key = key_object(&key)?;
            let theirs = if other_is_dict {
                // As dict's own ==: the dict's entry itself, never its
                // __getitem__ or __missing__ (Counter, defaultdict would
                // answer, or even insert, for a key they do not hold).
                let found = callout::PyDict_GetItemWithError(other, key.as_ptr()); // borrowed
                match NonNull::new(found) {
                    Some(found) => Strong::from_borrowed(found),
                    None if ffi::PyErr_Occurred().is_null() => return Some(Some(false)),
                    None => return None,
                }
            } else {
                // Another mapping: `key in other` first, so that a __getitem__
                // with a fallback (UserDict's __missing__) is not mistaken for
                // a value the mapping holds. A HashTable has no fallback.
                if !other_is_table {
                    match callout::PySequence_Contains(other, key.as_ptr()) {
                        -1 => return None,
                        0 => return Some(Some(false)),
                        _ => {}
                    }
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

unsafe extern "C" fn hashtable_richcompare(
    slf: *mut ffi::PyObject,
    other: *mut ffi::PyObject,
    op: c_int,
) -> *mut ffi::PyObject {
    // SAFETY: called with the GIL on a live HashTable and a live object.
    unsafe {
        if op != ffi::Py_EQ && op != ffi::Py_NE {
            return new_ref_or_none(ffi::Py_NotImplemented());
        }
        trace!(
            Level::Calls,
            Origin::Module,
            "{}(<{}>)",
            if op == ffi::Py_EQ { "__eq__" } else { "__ne__" },
            type_name(other)
        );
        flush_trace();
        match mapping_equals(slf.cast(), other) {
            None => null_mut(),
            Some(None) => new_ref_or_none(ffi::Py_NotImplemented()),
            Some(Some(equal)) => new_ref_or_none(if equal == (op == ffi::Py_EQ) {
                ffi::Py_True()
            } else {
                ffi::Py_False()
            }),
        }
    }
}

// ---------------------------------------------------------------------------
// dict's other methods
// ---------------------------------------------------------------------------

unsafe extern "C" fn hashtable_keys(
    slf: *mut ffi::PyObject,
    _: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    trace_call("keys()");
    // SAFETY: called with the GIL on a live HashTable.
    unsafe { new_view(slf, ViewKind::Keys) }
}

unsafe extern "C" fn hashtable_values(
    slf: *mut ffi::PyObject,
    _: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    trace_call("values()");
    // SAFETY: called with the GIL on a live HashTable.
    unsafe { new_view(slf, ViewKind::Values) }
}

unsafe extern "C" fn hashtable_items(
    slf: *mut ffi::PyObject,
    _: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    trace_call("items()");
    // SAFETY: called with the GIL on a live HashTable.
    unsafe { new_view(slf, ViewKind::Items) }
}

/// `setdefault(key, default=None)`: one hash, then a lookup and maybe an add.
unsafe extern "C" fn hashtable_setdefault(
    slf: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    let obj = slf.cast::<HashTableObject>();
    // SAFETY: called with the GIL, a live HashTable and `nargs` live arguments.
    unsafe {
        let Some([key, default]) = positional::<2>("setdefault", args, nargs, 1) else {
            return null_mut();
        };
        let default = if default.is_null() {
            ffi::Py_None()
        } else {
            default
        };
        let Some(_) = require_table(obj) else {
            return null_mut();
        };
        let Some(arg) = key_arg(key) else {
            return null_mut();
        };
        trace!(Level::Calls, Origin::Module, "setdefault({})", arg.as_key());
        let Some(hash) = hash_key(obj, key, &arg) else {
            return null_mut();
        };
        let Some(table) = require_table(obj) else {
            return null_mut();
        };
        if let Some(found) = (*table).get(hash, arg.as_key()) {
            let found = found.clone_ref();
            flush_trace();
            return found.into_raw();
        }
        let stored = Strong::from_borrowed(NonNull::new_unchecked(default)); // the table's reference
        let result = (*table).insert(hash, arg.as_key(), stored);
        sync_members(obj);
        flush_trace();
        match result {
            Ok(_) => new_ref_or_none(default),
            Err((error, _value)) => {
                raise_table_error::<()>(error).map_or(null_mut(), |_| null_mut())
            }
        }
    }
}

/// `popitem()`: removes and returns some (key, value) pair.
unsafe extern "C" fn hashtable_popitem(
    slf: *mut ffi::PyObject,
    _: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let obj = slf.cast::<HashTableObject>();
    // SAFETY: called with the GIL on a live HashTable; the entry is out of
    // the table before any Python object is made.
    unsafe {
        trace!(Level::Calls, Origin::Module, "popitem()");
        let Some(table) = require_table(obj) else {
            flush_trace();
            return null_mut();
        };
        let popped = (*table).pop_any();
        sync_members(obj);
        flush_trace();
        let Some((key, value)) = popped else {
            raise::<()>(ffi::PyExc_KeyError, "popitem(): HashTable is empty");
            return null_mut();
        };
        let Some(key) = key_object(&key) else {
            return null_mut();
        };
        let Some(pair) = Strong::from_new(callout::PyTuple_New(2)) else {
            return null_mut();
        };
        // PyTuple_SetItem steals both references.
        ffi::PyTuple_SetItem(pair.as_ptr(), 0, key.into_raw());
        ffi::PyTuple_SetItem(pair.as_ptr(), 1, value.into_raw());
        pair.into_raw()
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
        let message =
            format!("cannot convert HashTable update sequence element #{index} to a sequence");
        #[cfg(not(Py_3_14))]
        {
            callout::PyErr_Clear();
            raise(ffi::PyExc_TypeError, &message)
        }
        #[cfg(Py_3_14)]
        {
            // dict's note starts with a capital letter.
            let note = format!("C{}", &message[1..]);
            add_note(&note)
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

/// Sets every (key, value) pair of an iterable of pairs.
///
/// # Safety
/// `obj` is a live HashTable, `pairs` a live object, and the GIL is held.
unsafe fn update_from_pairs(obj: *mut HashTableObject, pairs: *mut ffi::PyObject) -> Option<()> {
    // SAFETY: as the caller's; references made here are owned by Strongs.
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
                return raise(
                    ffi::PyExc_ValueError,
                    &format!(
                        "HashTable update sequence element #{index} has length {len}; 2 is required"
                    ),
                );
            }
            let key = Strong::from_new(ffi::PySequence_GetItem(pair.as_ptr(), 0))?;
            let value = Strong::from_new(ffi::PySequence_GetItem(pair.as_ptr(), 1))?;
            set_item(obj, "update", key.as_ptr(), value.as_ptr())?;
            index += 1;
        }
        if ffi::PyErr_Occurred().is_null() {
            Some(())
        } else {
            None
        }
    }
}

/// Sets `mapping[k]` for every `k` in `mapping.keys()`.
///
/// # Safety
/// `obj` is a live HashTable, `mapping` a live object, and the GIL is held.
unsafe fn update_from_mapping(
    obj: *mut HashTableObject,
    mapping: *mut ffi::PyObject,
) -> Option<()> {
    // SAFETY: as the caller's; references made here are owned by Strongs.
    unsafe {
        let keys_method =
            Strong::from_new(callout::PyObject_GetAttrString(mapping, c"keys".as_ptr()))?;
        let keys = Strong::from_new(callout::PyObject_CallNoArgs(keys_method.as_ptr()))?;
        let iter = Strong::from_new(callout::PyObject_GetIter(keys.as_ptr()))?;
        while let Some(key) = Strong::from_new(callout::PyIter_Next(iter.as_ptr())) {
            let value = Strong::from_new(callout::PyObject_GetItem(mapping, key.as_ptr()))?;
            set_item(obj, "update", key.as_ptr(), value.as_ptr())?;
        }
        if ffi::PyErr_Occurred().is_null() {
            Some(())
        } else {
            None
        }
    }
}

/// `update([other], **kwargs)`, as dict.update.
unsafe extern "C" fn hashtable_update(
    slf: *mut ffi::PyObject,
    args: *mut ffi::PyObject,
    kwargs: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let obj = slf.cast::<HashTableObject>();
    // SAFETY: called with the GIL, a live HashTable, an args tuple and a
    // kwargs dict or NULL.
    unsafe {
        let nargs = ffi::PyTuple_Size(args);
        if nargs > 1 {
            raise::<()>(
                ffi::PyExc_TypeError,
                &format!("update expected at most 1 argument, got {nargs}"),
            );
            return null_mut();
        }
        if require_table(obj).is_none() {
            return null_mut();
        }
        if nargs == 1 {
            let other = ffi::PyTuple_GetItem(args, 0); // borrowed from args
            let done = if callout::PyObject_HasAttrString(other, c"keys".as_ptr()) != 0 {
                update_from_mapping(obj, other)
            } else {
                update_from_pairs(obj, other)
            };
            if done.is_none() {
                return null_mut();
            }
        }
        if !kwargs.is_null() {
            // A list of (name, value) pairs: a snapshot the hash function cannot change.
            let Some(items) = Strong::from_new(callout::PyDict_Items(kwargs)) else {
                return null_mut();
            };
            if update_from_pairs(obj, items.as_ptr()).is_none() {
                return null_mut();
            }
        }
        new_ref_or_none(null_mut())
    }
}

/// `clear()`: a new empty table of the size `__init__` was given.
unsafe extern "C" fn hashtable_clear_method(
    slf: *mut ffi::PyObject,
    _: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let obj = slf.cast::<HashTableObject>();
    // SAFETY: called with the GIL on a live HashTable; the old table is
    // detached before its values are released.
    unsafe {
        trace_call("clear()");
        let Some(table) = require_table(obj) else {
            return null_mut();
        };
        let fresh = match PyTable::new((*obj).initial_size, (*table).max_load()) {
            Ok(fresh) => Box::into_raw(Box::new(fresh)),
            Err(e) => {
                flush_trace();
                return raise_table_error::<()>(e).map_or(null_mut(), |_| null_mut());
            }
        };
        let old = std::mem::replace(&mut (*obj).table, fresh);
        sync_members(obj);
        flush_trace();
        free_table(Box::from_raw(old));
        new_ref_or_none(null_mut())
    }
}

/// `copy()`: a new HashTable with the same buckets, max_load, hash_func and
/// entries; stored hashes are reused, so the hash function is not called.
unsafe extern "C" fn hashtable_copy(
    slf: *mut ffi::PyObject,
    _: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let obj = slf.cast::<HashTableObject>();
    // SAFETY: called with the GIL on a live HashTable. While both tables are
    // borrowed, only Rust code and INCREFs run.
    unsafe {
        trace_call("copy()");
        let Some(table) = require_table(obj) else {
            return null_mut();
        };
        let mut copy = match PyTable::new((*table).buckets(), (*table).max_load()) {
            Ok(copy) => copy,
            Err(e) => return raise_table_error::<()>(e).map_or(null_mut(), |_| null_mut()),
        };
        for (hash, key, value) in (*table).iter_hashed() {
            if let Err((e, _value)) = copy.insert(hash, key.as_ref(), value.clone_ref()) {
                drop(copy);
                flush_trace();
                return raise_table_error::<()>(e).map_or(null_mut(), |_| null_mut());
            }
        }
        flush_trace();
        // Like dict.copy, the copy is of the base type, made without __init__.
        let tp = &raw mut HASHTABLE_TYPE;
        let new = hashtable_new(tp, null_mut(), null_mut());
        let Some(new_obj) = new.cast::<HashTableObject>().as_mut() else {
            free_table(Box::new(copy));
            return null_mut();
        };
        new_obj.table = Box::into_raw(Box::new(copy));
        if !(*obj).hash_func.is_null() {
            ffi::Py_INCREF((*obj).hash_func); // the copy's own reference
        }
        new_obj.hash_func = (*obj).hash_func;
        new_obj.hash_kind = (*obj).hash_kind;
        new_obj.max_load = (*obj).max_load;
        new_obj.initial_size = (*obj).initial_size;
        sync_members(new_obj);
        new
    }
}

/// `HashTable.fromkeys(iterable, value=None)`: `cls()`, then every key set to value.
unsafe extern "C" fn hashtable_fromkeys(
    cls: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: called with the GIL, the class (HashTable or a subclass) and
    // `nargs` live arguments.
    unsafe {
        let Some([iterable, value]) = positional::<2>("fromkeys", args, nargs, 1) else {
            return null_mut();
        };
        let value = if value.is_null() {
            ffi::Py_None()
        } else {
            value
        };
        let Some(table) = Strong::from_new(callout::PyObject_CallNoArgs(cls)) else {
            return null_mut();
        };
        if ffi::PyObject_TypeCheck(table.as_ptr(), &raw mut HASHTABLE_TYPE) == 0 {
            raise::<()>(
                ffi::PyExc_TypeError,
                "fromkeys: the class did not make a HashTable",
            );
            return null_mut();
        }
        let Some(iter) = Strong::from_new(callout::PyObject_GetIter(iterable)) else {
            return null_mut();
        };
        while let Some(key) = Strong::from_new(callout::PyIter_Next(iter.as_ptr())) {
            if set_item(table.as_ptr().cast(), "fromkeys", key.as_ptr(), value).is_none() {
                return null_mut();
            }
        }
        if !ffi::PyErr_Occurred().is_null() {
            return null_mut();
        }
        table.into_raw()
    }
}

/// `stats()`: the numbers behind the picture, as a dict.
unsafe extern "C" fn hashtable_stats(
    slf: *mut ffi::PyObject,
    _: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: called with the GIL on a live HashTable; the numbers are copied
    // out of the table before any Python object is made.
    unsafe {
        trace_call("stats()");
        let Some(table) = require_table(slf.cast()) else {
            return null_mut();
        };
        let s = (*table).stats();
        let non_empty = s.buckets - s.empty_buckets;
        let mean_chain = if non_empty == 0 {
            0.0
        } else {
            s.load as f64 / non_empty as f64
        };
        let Some(histogram) =
            Strong::from_new(callout::PyList_New(s.histogram.len() as ffi::Py_ssize_t))
        else {
            return null_mut();
        };
        for (i, count) in s.histogram.iter().enumerate() {
            let n = ffi::PyLong_FromSize_t(*count);
            // PyList_SetItem steals `n` (and fails only on a bad index).
            if n.is_null() || ffi::PyList_SetItem(histogram.as_ptr(), i as ffi::Py_ssize_t, n) < 0 {
                return null_mut();
            }
        }
        let Some(dict) = Strong::from_new(callout::PyDict_New()) else {
            return null_mut();
        };
        let size = |n: usize| ffi::PyLong_FromSize_t(n);
        let entries = [
            (c"buckets", size(s.buckets)),
            (c"load", size(s.load)),
            (
                c"load_factor",
                ffi::PyFloat_FromDouble(s.load as f64 / s.buckets as f64),
            ),
            (c"max_load", ffi::PyFloat_FromDouble(s.max_load)),
            (c"resizes", ffi::PyLong_FromUnsignedLongLong(s.resizes)),
            (c"empty_buckets", size(s.empty_buckets)),
            (c"longest_chain", size(s.longest_chain)),
            (c"mean_chain", ffi::PyFloat_FromDouble(mean_chain)),
            (c"histogram", histogram.into_raw()),
            (c"colliding_keys", size(s.colliding_keys)),
        ];
        // Each value is a new reference, or NULL after a failed call: set it
        // and release ours (the dict takes its own); after a failure, only
        // release the rest.
        let mut ok = true;
        for (name, value) in entries {
            let value = Strong::from_new(value);
            ok = ok
                && value.is_some_and(|v| {
                    ffi::PyDict_SetItemString(dict.as_ptr(), name.as_ptr(), v.as_ptr()) == 0
                });
        }
        if ok { dict.into_raw() } else { null_mut() }
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

static mut HASHTABLE_METHODS: [ffi::PyMethodDef; 14] = [
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
            PyCFunction: hashtable_clear_method,
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

static mut HASHTABLE_AS_MAPPING: ffi::PyMappingMethods = ffi::PyMappingMethods {
    mp_length: Some(hashtable_length),
    mp_subscript: Some(hashtable_subscript),
    mp_ass_subscript: Some(hashtable_ass_subscript),
};

/// Only `in`: without sq_item, PySequence_Check stays false, as for dict.
static mut HASHTABLE_AS_SEQUENCE: ffi::PySequenceMethods = ffi::PySequenceMethods {
    sq_contains: Some(hashtable_contains),
    // SAFETY: the remaining slots are "not set" when zero.
    ..unsafe { std::mem::zeroed() }
};

/// Py_TPFLAGS_MAPPING (3.10+) lets `match` treat a HashTable as a mapping.
const MAPPING_FLAG: std::ffi::c_ulong = if cfg!(Py_3_10) { 1 << 6 } else { 0 };

#[cfg(not(feature = "no-gc"))]
const TYPE_FLAGS: std::ffi::c_ulong =
    ffi::Py_TPFLAGS_DEFAULT | ffi::Py_TPFLAGS_BASETYPE | ffi::Py_TPFLAGS_HAVE_GC | MAPPING_FLAG;
/// The no-gc lesson: without HAVE_GC the collector never sees our references.
#[cfg(feature = "no-gc")]
const TYPE_FLAGS: std::ffi::c_ulong =
    ffi::Py_TPFLAGS_DEFAULT | ffi::Py_TPFLAGS_BASETYPE | MAPPING_FLAG;

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
    tp_as_sequence: &raw mut HASHTABLE_AS_SEQUENCE,
    tp_as_mapping: &raw mut HASHTABLE_AS_MAPPING,
    // Mutable, so unhashable, as dict.
    tp_hash: Some(ffi::PyObject_HashNotImplemented),
    tp_flags: TYPE_FLAGS,
    tp_doc: TYPE_DOC.as_ptr(),
    #[cfg(not(feature = "no-gc"))]
    tp_traverse: Some(hashtable_traverse),
    #[cfg(not(feature = "no-gc"))]
    tp_clear: Some(hashtable_clear),
    tp_richcompare: Some(hashtable_richcompare),
    tp_iter: Some(hashtable_iter),
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
