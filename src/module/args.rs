//! Arguments: the positional arguments of METH_FASTCALL methods (count them,
//! and say what was wrong as Python's own functions say it), and the
//! constructor's two numbers, `size` and `max_load` (read by `__init__` and
//! by `__setstate__`), each with a message naming it.

use std::ptr::null_mut;

use pyo3_ffi as ffi;

use super::callout;
use super::refs::{Repr, TypeName, raise, raise_fmt};

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
