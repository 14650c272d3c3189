//! Positional arguments of METH_FASTCALL methods: count them, and say what
//! was wrong as Python's own functions say it.

use std::ptr::null_mut;

use pyo3_ffi as ffi;

use super::refs::raise;

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
