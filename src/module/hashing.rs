//! The hashing policy: which function hashes a table's keys, and how (the
//! talk's `get_hash` and `default_py_hash_func`).
//!
//! - [`choose_hash_func`]: the `hash_func` argument of `__init__`: the
//!   builtin `hash` when none is given ([`default_hash_func`]), the naive
//!   hash for None, or any callable.
//! - [`get_hash`]: a key's hash with the table's hash function, calling it
//!   when it is Python code.
//! - [`find_builtin_hash`]: at import, how to recognise the genuine builtin
//!   `hash`, which the table computes instead of calling.
//!
//! Nothing here knows the HashTable object: callers pass the hash function
//! and its kind.

use std::ffi::CStr;
use std::ptr::{NonNull, null_mut};
use std::sync::atomic::{AtomicPtr, Ordering};

use pyo3_ffi as ffi;

use super::callout;
use super::keys::KeyArg;
use super::refs::{Strong, raise, repr_of, type_name};
use super::trace::flush as flush_trace;
use crate::library::key::python_int_hash;
use crate::library::trace::{self as library_trace, Level, Origin};
use crate::trace;

/// How a table hashes its keys.
#[repr(u8)]
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum HashKind {
    /// `hash_func=None`: the talk's naive hash, computed by the library.
    Naive = 0,
    /// The genuine builtin `hash`: computed here, without a call.
    Builtin = 1,
    /// Any other callable (a Python function, a C function, an object with
    /// `__call__`), called with each key.
    Callable = 2,
}

/// Reads the `hash_func` argument of `__init__` (null when it was not given):
/// the hash function as a new reference (None for the naive hash), and its kind.
///
/// # Safety
/// The GIL is held; `obj` is null or a live object.
pub(crate) unsafe fn choose_hash_func(
    obj: *mut ffi::PyObject,
) -> Option<(Option<Strong>, HashKind)> {
    let Some(obj) = NonNull::new(obj) else {
        // SAFETY: GIL held (caller).
        let hash = unsafe { default_hash_func() }?;
        // SAFETY: `hash` is live (we own a reference).
        let kind = unsafe { kind_of(hash.as_ptr()) };
        return Some((Some(hash), kind));
    };
    // SAFETY: GIL held; `obj` is live (caller). PyCallable_Check only reads
    // the type's tp_call.
    unsafe {
        if obj.as_ptr() == ffi::Py_None() {
            Some((None, HashKind::Naive))
        } else if ffi::PyCallable_Check(obj.as_ptr()) != 0 {
            Some((Some(Strong::from_borrowed(obj)), kind_of(obj.as_ptr())))
        } else {
            raise(
                ffi::PyExc_TypeError,
                &format!(
                    "hash_func must be callable or None, not {}",
                    type_name(obj.as_ptr())
                ),
            )
        }
    }
}

/// The talk's `default_py_hash_func`: the builtin `hash`, as a new reference.
///
/// # Safety
/// The GIL is held.
unsafe fn default_hash_func() -> Option<Strong> {
    // SAFETY: GIL held (caller); a query of the running frame's builtins.
    let builtins = unsafe { ffi::PyEval_GetBuiltins() }; // borrowed
    if builtins.is_null() {
        // SAFETY: GIL held.
        return unsafe {
            raise(
                ffi::PyExc_RuntimeError,
                "no builtins: cannot find the default hash function",
            )
        };
    }
    // SAFETY: GIL held; `builtins` is a live dict (borrowed above).
    let hash = unsafe { callout::PyDict_GetItemString(builtins, c"hash".as_ptr()) }; // borrowed
    // LESSON(decref-borrowed): the original module released the builtins
    // dict it had only borrowed, one reference per table made.
    #[cfg(feature = "decref-borrowed")]
    // SAFETY: it is not: `builtins` is borrowed, so this releases a
    // reference someone else owns. That is the bug.
    unsafe {
        callout::Py_DECREF(builtins)
    };
    let Some(hash) = NonNull::new(hash) else {
        // SAFETY: GIL held.
        return unsafe { raise(ffi::PyExc_RuntimeError, "builtins.hash is missing") };
    };
    // SAFETY: GIL held; `hash` is live, owned by the builtins dict. We take
    // our own reference to keep it.
    Some(unsafe { Strong::from_borrowed(hash) })
}

/// The `PyMethodDef` behind the builtins module's own `hash` function, found
/// by [`find_builtin_hash`] at import; null if it was not found.
static BUILTIN_HASH_DEF: AtomicPtr<ffi::PyMethodDef> = AtomicPtr::new(null_mut());

/// Finds the entry for `hash` in the method table of the builtins module,
/// the table every genuine `builtins.hash` function object points to, even
/// after `builtins.hash` has been rebound to a Python function.
///
/// # Safety
/// The GIL is held.
pub(crate) unsafe fn find_builtin_hash() -> Option<()> {
    // SAFETY: GIL held (caller); a new reference or NULL.
    let builtins =
        unsafe { Strong::from_new(callout::PyImport_ImportModule(c"builtins".as_ptr())) }?;
    // SAFETY: GIL held; a pointer to the module's static definition, or null.
    let def = unsafe { ffi::PyModule_GetDef(builtins.as_ptr()) };
    if def.is_null() {
        // SAFETY: GIL held.
        unsafe { callout::PyErr_Clear() };
        return Some(()); // no table to find it in: every hash_func is called
    }
    // SAFETY: a module definition's method table ends with an entry whose
    // name is null; every name before it is a NUL-terminated string.
    unsafe {
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
/// compute it without a call); Callable for anything else, including a
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
        HashKind::Callable
    }
}

/// The talk's `get_hash`: the hash of `key` with a table's hash function
/// (`func`, borrowed from the table's object; null for the naive hash).
///
/// A Python hash function can run any code, including code that mutates,
/// re-initialises or drops its own reference to the very table it hashes
/// for. So this runs before any borrow of the table is taken (access.rs).
///
/// # Safety
/// `func` is null or live, `key` is the live key object `arg` came from, and
/// the GIL is held.
#[inline(always)]
pub(crate) unsafe fn get_hash(
    kind: HashKind,
    func: *mut ffi::PyObject,
    key: *mut ffi::PyObject,
    arg: &KeyArg,
) -> Option<i64> {
    // The common cases inline: the builtin hash of an int that fits in 64
    // bits, computed from its value, or of a str whose hash is cached in the
    // object. Neither runs Python code, so no queued line needs flushing.
    if kind == HashKind::Builtin && !library_trace::enabled(Level::Calls) {
        match *arg {
            KeyArg::Int(i) => return Some(python_int_hash(i)),
            KeyArg::Str { .. } => {
                // SAFETY: `arg` says `key` is a str, and every str has the
                // `hash` field of PyASCIIObject (-1 until it is computed).
                let cached = unsafe { (*key.cast::<ffi::PyASCIIObject>()).hash };
                if cached != -1 {
                    return Some(cached as i64);
                }
            }
            _ => {}
        }
    }
    // SAFETY: as this function's contract.
    unsafe { get_hash_general(kind, func, key, arg) }
}

/// [`get_hash`] for every hash function and key.
///
/// # Safety
/// As [`get_hash`].
#[inline(never)]
unsafe fn get_hash_general(
    kind: HashKind,
    func: *mut ffi::PyObject,
    key: *mut ffi::PyObject,
    arg: &KeyArg,
) -> Option<i64> {
    // Lines queued so far come before anything the hash function prints.
    flush_trace();
    let hash = match kind {
        HashKind::Naive => arg.as_key().naive_hash(),
        // SAFETY: `key` is live and `arg` was made from it (caller).
        HashKind::Builtin => unsafe { builtin_value_hash(key, arg) },
        // SAFETY: GIL held, `func` null or live, `key` live (caller).
        HashKind::Callable => unsafe { call_hash_func(func, key) }?,
    };
    trace!(
        Level::Calls,
        Origin::Module,
        "hash {} -> {hash}",
        arg.as_key()
    );
    Some(hash)
}

/// Calls a hash function with `key`; its int result reduced as Python
/// reduces a `__hash__` result.
///
/// # Safety
/// The GIL is held; `func` is null or live (borrowed), `key` is live.
unsafe fn call_hash_func(func: *mut ffi::PyObject, key: *mut ffi::PyObject) -> Option<i64> {
    let Some(func) = NonNull::new(func) else {
        // SAFETY: GIL held (caller). Unreachable while init sets kind and
        // function together; checked rather than trusted.
        return unsafe {
            raise(
                ffi::PyExc_RuntimeError,
                "this HashTable has no hash function",
            )
        };
    };
    // Our own reference for the call: the call may replace the table's
    // hash_func and release the table's reference.
    // SAFETY: GIL held; `func` is live (the table's object owns it right now).
    let func = unsafe { Strong::from_borrowed(func) };
    // SAFETY: GIL held; a new reference to the result, or NULL with the hash
    // function's own exception set, which we propagate unchanged.
    let result = unsafe { Strong::from_new(callout::PyObject_CallOneArg(func.as_ptr(), key)) }?;
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
    // SAFETY: PyLong_Type is a static type whose tp_hash is always set;
    // `result` is an int, which it only reads.
    let hash = unsafe {
        let long_hash = ffi::PyLong_Type.tp_hash.expect("int has tp_hash");
        long_hash(result.as_ptr())
    };
    if hash == -1 {
        return None;
    }
    Some(hash as i64)
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
