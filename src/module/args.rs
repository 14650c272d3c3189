//! Arguments: the positional arguments of METH_FASTCALL methods (count them,
//! and say what was wrong as Python's own functions say it); the
//! constructor's arguments, as `__init__` receives them (`parse_init_args`:
//! the data or the size, the keywords, the hash function); and its two
//! numbers, `size` and `max_load` (read by `__init__` and by
//! `_rebuild`, for pickle), each with a message naming it.

use std::ptr::{NonNull, null_mut};

use pyo3_ffi as ffi;

use super::callout;
use super::hashing::{HashKind, choose_hash_func};
use super::refs::{Repr, Strong, TypeName, raise, raise_fmt};

/// The first `N` arguments of a METH_FASTCALL call (borrowed references),
/// of which `required` must be given; the optional ones missing are null.
/// TypeError when there are too few or too many.
///
/// # Safety
/// The GIL is held; `args` holds `nargs` borrowed references.
#[inline]
pub(crate) unsafe fn positional<const N: usize>(
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
    // Formatted into `Text`, a buffer on the stack: `format!` allocates, and
    // a failed allocation would abort the process instead of MemoryError.
    let (plural, at) = if required == n {
        (n, "")
    } else if given < required {
        (required, "at least ")
    } else {
        (n, "at most ")
    };
    let s = if plural == 1 { "" } else { "s" };
    // SAFETY: GIL held (caller).
    unsafe {
        raise_fmt(
            ffi::PyExc_TypeError,
            format_args!("{name} expected {at}{plural} argument{s}, got {given}"),
        )
    }
}

// ---------------------------------------------------------------------------
// The constructor's arguments (`__init__`; `size` and `max_load` for `__setstate__` too)
// ---------------------------------------------------------------------------

/// Validated constructor arguments.
pub(crate) struct InitArgs {
    /// The positional argument when it is not an int: a mapping or an
    /// iterable of pairs (borrowed from the arguments tuple).
    pub(crate) data: Option<NonNull<ffi::PyObject>>,
    pub(crate) size: usize,
    pub(crate) max_load: f64,
    /// A new reference, or None for the naive hash.
    pub(crate) hash_func: Option<Strong>,
    pub(crate) hash_kind: HashKind,
}

/// The keywords `HashTable()` accepts, for the message naming them.
const KEYWORDS: [&str; 3] = ["size", "max_load", "hash_func"];

/// Reads `size`, `max_load` and `hash_func`, each with a message naming it,
/// and the data, if the one positional argument is not an int.
///
/// # Safety
/// The GIL is held; `args`/`kwds` are what tp_init received.
pub(crate) unsafe fn parse_init_args(
    args: *mut ffi::PyObject,
    kwds: *mut ffi::PyObject,
) -> Option<InitArgs> {
    // SAFETY: GIL held; `kwds` is null or a dict (what tp_init received).
    unsafe { check_keywords(kwds) }?;
    // The first positional argument is the talk's size when it is an int
    // (then max_load and hash_func may follow it, as before); anything else
    // is data, as dict's one positional argument, and the numbers are keywords.
    // SAFETY: GIL held; `args` is a tuple, whose items are borrowed from it.
    let (data, numbers) = unsafe {
        let nargs = ffi::PyTuple_Size(args);
        let first = if nargs > 0 {
            ffi::PyTuple_GetItem(args, 0)
        } else {
            null_mut()
        };
        if first.is_null() || ffi::PyLong_Check(first) != 0 {
            (None, Strong::from_borrowed(NonNull::new_unchecked(args)))
        } else if nargs > 1 {
            return raise_fmt(
                ffi::PyExc_TypeError,
                format_args!(
                    "HashTable() takes 1 positional argument when it is data (a mapping or \
                     pairs), got {nargs}: size, max_load and hash_func are keywords then"
                ),
            );
        } else {
            (
                NonNull::new(first),
                Strong::from_new(callout::PyTuple_New(0))?,
            )
        }
    };
    // SAFETY: as above.
    let mut parsed = unsafe { parse_numbers(numbers.as_ptr(), kwds) }?;
    parsed.data = data;
    Some(parsed)
}

/// TypeError for a keyword `HashTable()` does not take, naming the ones it
/// does (and dict's "keywords must be strings" for a key that is not a str).
/// Runs no Python code.
///
/// # Safety
/// The GIL is held; `kwds` is null or a dict.
unsafe fn check_keywords(kwds: *mut ffi::PyObject) -> Option<()> {
    if kwds.is_null() {
        return Some(());
    }
    // SAFETY: GIL held; PyDict_Next hands out borrowed references to the
    // dict's keys, which nothing here changes; the keys are str (checked
    // first), whose UTF-8 is read with no Python code.
    unsafe {
        if ffi::PyArg_ValidateKeywordArguments(kwds) == 0 {
            return None;
        }
        let mut pos: ffi::Py_ssize_t = 0;
        let mut key = null_mut();
        let mut value = null_mut();
        while ffi::PyDict_Next(kwds, &mut pos, &mut key, &mut value) != 0 {
            let mut len: ffi::Py_ssize_t = 0;
            let utf8 = ffi::PyUnicode_AsUTF8AndSize(key, &mut len);
            if utf8.is_null() {
                return None;
            }
            let name = std::slice::from_raw_parts(utf8.cast::<u8>(), len as usize);
            if !KEYWORDS.iter().any(|k| k.as_bytes() == name) {
                return raise_fmt(
                    ffi::PyExc_TypeError,
                    format_args!(
                        "HashTable() got an unexpected keyword argument {}; it takes size, \
                         max_load and hash_func",
                        Repr(key)
                    ),
                );
            }
        }
    }
    Some(())
}

/// The numbers and the hash function, from `args` (the positional ones,
/// when the first is the size) and `kwds`.
///
/// # Safety
/// The GIL is held; `args` is a tuple and `kwds` null or a dict.
unsafe fn parse_numbers(args: *mut ffi::PyObject, kwds: *mut ffi::PyObject) -> Option<InitArgs> {
    let mut size_obj: *mut ffi::PyObject = null_mut(); // borrowed
    let mut max_load_obj: *mut ffi::PyObject = null_mut(); // borrowed
    let mut hash_func_obj: *mut ffi::PyObject = null_mut(); // borrowed
    let keywords = [
        c"size".as_ptr(),
        c"max_load".as_ptr(),
        c"hash_func".as_ptr(),
        std::ptr::null(),
    ];
    // SAFETY: GIL held; three optional "O" units, each filling one borrowed
    // reference when its argument is given.
    let parsed = unsafe {
        callout::PyArg_ParseTupleAndKeywords3(
            args,
            kwds,
            c"|OOO:HashTable",
            &keywords,
            &mut size_obj,
            &mut max_load_obj,
            &mut hash_func_obj,
        )
    };
    if parsed == 0 {
        return None;
    }
    // SAFETY: GIL held; each object is null or a live borrowed reference.
    unsafe {
        let size = parse_size(size_obj)?;
        let max_load = parse_max_load(max_load_obj)?;
        let (hash_func, hash_kind) = choose_hash_func(hash_func_obj)?;
        Some(InitArgs {
            data: None,
            size,
            max_load,
            hash_func,
            hash_kind,
        })
    }
}

/// `size`: a positive int, 4 when not given (null).
///
/// # Safety
/// The GIL is held; `obj` is null or a live object.
pub(crate) unsafe fn parse_size(obj: *mut ffi::PyObject) -> Option<usize> {
    if obj.is_null() {
        return Some(4);
    }
    // SAFETY: GIL held; `obj` is live, and an int when it is read as one (for
    // an int subclass too, PyLong_AsLongLongAndOverflow runs no Python code).
    unsafe {
        if ffi::PyLong_Check(obj) == 0 || ffi::PyBool_Check(obj) != 0 {
            return raise_fmt(
                ffi::PyExc_TypeError,
                format_args!("size must be a positive int, not {}", TypeName(obj)),
            );
        }
        let mut overflow = 0;
        let size = ffi::PyLong_AsLongLongAndOverflow(obj, &mut overflow);
        if overflow > 0 {
            return raise_fmt(
                ffi::PyExc_OverflowError,
                format_args!(
                    "size is too large: {} buckets cannot be addressed",
                    Repr(obj)
                ),
            );
        }
        if overflow < 0 || size <= 0 {
            return raise_fmt(
                ffi::PyExc_ValueError,
                format_args!("size must be a positive int, not {}", Repr(obj)),
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

/// `max_load`: a finite number > 0, 0.5 when not given (null).
///
/// # Safety
/// The GIL is held; `obj` is null or a live object.
pub(crate) unsafe fn parse_max_load(obj: *mut ffi::PyObject) -> Option<f64> {
    if obj.is_null() {
        return Some(0.5);
    }
    // SAFETY: GIL held; `obj` is live. For an int subclass PyFloat_AsDouble
    // calls its `__float__`, which may be Python code: through callout.
    unsafe {
        let numeric = ffi::PyFloat_Check(obj) != 0
            || (ffi::PyLong_Check(obj) != 0 && ffi::PyBool_Check(obj) == 0);
        if !numeric {
            return raise_fmt(
                ffi::PyExc_TypeError,
                format_args!("max_load must be a float, not {}", TypeName(obj)),
            );
        }
        let max_load = callout::PyFloat_AsDouble(obj);
        if max_load == -1.0 && !ffi::PyErr_Occurred().is_null() {
            if ffi::PyErr_ExceptionMatches(ffi::PyExc_OverflowError) == 0 {
                return None; // raised by a __float__: its own error
            }
            // An int too large for a float: say which argument it was.
            callout::PyErr_Clear();
            return raise(
                ffi::PyExc_OverflowError,
                "max_load is too large to be a float",
            );
        }
        if !(max_load.is_finite() && max_load > 0.0) {
            return raise_fmt(
                ffi::PyExc_ValueError,
                format_args!("max_load must be a finite number > 0, not {}", Repr(obj)),
            );
        }
        Some(max_load)
    }
}
