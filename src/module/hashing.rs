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
use super::keys::{Class, Probe, ShowKey};
use super::refs::{Repr, Strong, TypeName, raise, raise_fmt};
use super::trace::flush as flush_trace;
use crate::library::hash::{naive_hash_float, naive_hash_int, naive_hash_str};
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
            raise_fmt(
                ffi::PyExc_TypeError,
                format_args!(
                    "hash_func must be callable or None, not {}",
                    TypeName(obj.as_ptr())
                ),
            )
        }
    }
}

/// The talk's `default_py_hash_func`: the builtin `hash`, as a new reference.
///
/// It is looked up in the builtins of the running code, as the original did
/// (code run by `exec` with its own `__builtins__` gets that dict's `hash`),
/// and must be callable.
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
    let mut hash: *mut ffi::PyObject = null_mut();
    // SAFETY: GIL held; `builtins` is a live dict (borrowed above). On 1 the
    // out-pointer holds a new reference, on 0 nothing (missing), on -1 an
    // error is set (a MemoryError making the key, an `__eq__` of a key of a
    // custom builtins dict): unlike PyDict_GetItemString, nothing is swallowed.
    let found = unsafe { callout::PyDict_GetItemStringRef(builtins, c"hash".as_ptr(), &mut hash) };
    // LESSON(decref-borrowed): the original module released the builtins
    // dict it had only borrowed, one reference per table made.
    #[cfg(feature = "decref-borrowed")]
    // SAFETY: it is not: `builtins` is borrowed, so this releases a
    // reference someone else owns. That is the bug.
    unsafe {
        callout::Py_DECREF(builtins)
    };
    match found {
        -1 => return None,
        // SAFETY: GIL held.
        0 => return unsafe { raise(ffi::PyExc_RuntimeError, "builtins.hash is missing") },
        _ => {}
    }
    // SAFETY: found: a new reference, now ours.
    let hash = unsafe { Strong::from_new(hash) }?;
    // SAFETY: GIL held; `hash` is live. PyCallable_Check reads tp_call.
    if unsafe { ffi::PyCallable_Check(hash.as_ptr()) } == 0 {
        // SAFETY: GIL held; `hash` is live for the message.
        return unsafe {
            raise_fmt(
                ffi::PyExc_TypeError,
                format_args!(
                    "the default hash_func, builtins.hash, must be callable, not {}",
                    TypeName(hash.as_ptr())
                ),
            )
        };
    }
    Some(hash)
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
/// `func` is null or live, `probe` was made from a live key object, and the
/// GIL is held.
#[inline(always)]
pub(crate) unsafe fn get_hash(
    kind: HashKind,
    func: *mut ffi::PyObject,
    probe: &Probe,
) -> Option<i64> {
    // The common cases inline: the builtin hash of an int below 2**60,
    // computed from its value, or of a str whose hash is cached in the
    // object. Neither runs Python code, so no queued line needs flushing.
    if kind == HashKind::Builtin && !library_trace::enabled(Level::Calls) {
        match probe.class {
            // Below 2**60 in magnitude, int's hash is the value itself
            // (python_int_hash's modulus never applies), -1 becoming -2.
            Class::Int(i) => return Some(if i == -1 { -2 } else { i }),
            Class::Str => {
                // SAFETY: the probe says the key is an exact str, and every
                // str has the `hash` field of PyASCIIObject (-1 until computed).
                let cached = unsafe { (*probe.key.cast::<ffi::PyASCIIObject>()).hash };
                if cached != -1 {
                    return Some(cached as i64);
                }
            }
            _ => {}
        }
    }
    // SAFETY: as this function's contract.
    unsafe { get_hash_general(kind, func, probe.key) }
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
) -> Option<i64> {
    // Lines queued so far come before anything the hash function prints.
    flush_trace();
    let hash = match kind {
        // SAFETY: GIL held, `key` live (caller).
        HashKind::Naive => unsafe { naive_hash(key) }?,
        // SAFETY: GIL held, `key` live (caller).
        HashKind::Builtin => unsafe { builtin_hash(key) }?,
        // SAFETY: GIL held, `func` null or live, `key` live (caller).
        HashKind::Callable => unsafe { call_hash_func(func, key) }?,
    };
    trace!(
        Level::Calls,
        Origin::Module,
        "hash {} -> {hash}",
        ShowKey(key)
    );
    Some(hash)
}

/// The builtin `hash(key)`: the key type's own `__hash__`, as dict uses it.
/// For the exact types str, int and float their C hash is called directly
/// (no Python code runs); anything else goes through PyObject_Hash, which
/// may call a `__hash__` written in Python. A TypeError (an unhashable key)
/// is reworded as the running interpreter's dict rewords it.
///
/// # Safety
/// The GIL is held and `key` is live.
pub(crate) unsafe fn builtin_hash(key: *mut ffi::PyObject) -> Option<i64> {
    // SAFETY: GIL held, `key` live (caller). The exact types' tp_hash are C
    // functions of the object alone, which cannot fail.
    let hash = unsafe {
        let tp = ffi::Py_TYPE(key);
        if tp == &raw mut ffi::PyUnicode_Type
            || tp == &raw mut ffi::PyLong_Type
            || tp == &raw mut ffi::PyFloat_Type
        {
            let tp_hash = (*tp).tp_hash.expect("str, int and float have tp_hash");
            tp_hash(key)
        } else {
            callout::PyObject_Hash(key)
        }
    };
    if hash == -1 {
        // SAFETY: GIL held, an exception set, `key` live.
        #[cfg(Py_3_14)]
        unsafe {
            reword_hash_error(key)
        };
        return None;
    }
    Some(hash as i64)
}

/// dict's rewording, on 3.14+, of the exception that hashing `key` raised:
/// a TypeError (exactly that type) becomes "cannot use 'T' as a dict key
/// (<the old message>)", which we say with our own name; any other
/// exception stays as it was.
///
/// # Safety
/// The GIL is held, an exception is set, and `key` is live.
#[cfg(Py_3_14)]
unsafe fn reword_hash_error(key: *mut ffi::PyObject) {
    // SAFETY: GIL held (caller). PyErr_GetRaisedException hands us the
    // exception as a new reference, which Strong releases.
    unsafe {
        let Some(exc) = Strong::from_new(ffi::PyErr_GetRaisedException()) else {
            return;
        };
        if ffi::Py_TYPE(exc.as_ptr()) != ffi::PyExc_TypeError.cast() {
            ffi::PyErr_SetRaisedException(exc.into_raw()); // stolen
            return;
        }
        // Sets the new exception (and returns null).
        callout::PyErr_Format2(
            ffi::PyExc_TypeError,
            c"cannot use '%T' as a HashTable key (%S)",
            key,
            exc.as_ptr(),
        );
    }
}

/// The talk's naive hash (`hash_func=None`), defined for int, float and str
/// keys (and their subclasses, by value): an int hashes to itself, a float
/// to its floor, a str to its length. An int or a floor beyond 64 bits is
/// reduced as CPython reduces an int's hash. TypeError for any other key.
///
/// # Safety
/// The GIL is held and `key` is live.
pub(crate) unsafe fn naive_hash(key: *mut ffi::PyObject) -> Option<i64> {
    // SAFETY: GIL held, `key` live (caller). For an int instance (a subclass
    // too) PyLong_AsLongLongAndOverflow reads its digits, calling no Python
    // code; the base types' tp_hash are C functions that cannot fail; every
    // field read is of the type its check found.
    unsafe {
        if ffi::PyLong_Check(key) != 0 {
            let mut overflow = 0;
            let value = ffi::PyLong_AsLongLongAndOverflow(key, &mut overflow);
            if overflow == 0 {
                if value == -1 && !ffi::PyErr_Occurred().is_null() {
                    return None;
                }
                return Some(naive_hash_int(value));
            }
            let long_hash = ffi::PyLong_Type.tp_hash.expect("int has tp_hash");
            return Some(long_hash(key) as i64);
        }
        if ffi::PyFloat_Check(key) != 0 {
            return Some(match naive_hash_float(ffi::PyFloat_AS_DOUBLE(key)) {
                Some(hash) => hash,
                // A floor beyond 64 bits: the float is that integer already,
                // and float's own hash of an integral value is the int's.
                None => {
                    let float_hash = ffi::PyFloat_Type.tp_hash.expect("float has tp_hash");
                    float_hash(key) as i64
                }
            });
        }
        if ffi::PyUnicode_Check(key) != 0 {
            return Some(naive_hash_str(ffi::PyUnicode_GET_LENGTH(key) as usize));
        }
        raise_fmt(
            ffi::PyExc_TypeError,
            format_args!(
                "the naive hash (hash_func=None) is defined for int, float and str keys, not {}",
                TypeName(key)
            ),
        )
    }
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
    // LESSON(thin-ice): without our own reference, `func` is borrowed from
    // the table; a hash function that re-initialises the table frees itself
    // during the call, and the error message below reads freed memory.
    #[cfg(not(feature = "thin-ice"))]
    // SAFETY: GIL held; `func` is live (the table's object owns it right now).
    let func = unsafe { Strong::from_borrowed(func) };
    // SAFETY: GIL held; a new reference to the result, or NULL with the hash
    // function's own exception set, which we propagate unchanged.
    let result = unsafe { Strong::from_new(callout::PyObject_CallOneArg(func.as_ptr(), key)) }?;
    // SAFETY: GIL held; `result` is live.
    if unsafe { ffi::PyLong_Check(result.as_ptr()) } == 0 {
        // SAFETY: GIL held; both objects are live for the message, and no
        // borrow of any table is alive (Repr calls repr()).
        let error = unsafe {
            raise_fmt(
                ffi::PyExc_TypeError,
                format_args!(
                    "hash_func {} must return an int, but returned {}",
                    Repr(func.as_ptr()),
                    TypeName(result.as_ptr())
                ),
            )
        };
        // LESSON(leak-on-error): the original's early return, C's
        // `if (!PyLong_Check(result)) return -1;` with no Py_DECREF(result):
        // the new reference is never released. `into_raw` gives ownership
        // away to nobody; without it `result` is dropped here (Py_DECREF).
        #[cfg(feature = "leak-on-error")]
        let _leaked = result.into_raw();
        return error;
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
