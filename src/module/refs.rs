//! Owned references and error helpers: the two habits every C-API function
//! needs, written once.
//!
//! The C API's contract for every reference is one of three: a *new*
//! reference (you own it and must release it), a *borrowed* one (someone else
//! owns it; keep it alive yourself if you need it later) or a *stolen* one
//! (you hand your reference to the callee). [`Strong`] is a reference we own:
//! its `Drop` is the matching Py_DECREF, so no path can forget it.
//!
//! One way to fail, in every slot function: the `extern "C"` function is a
//! thin shell over an `_impl` function that returns `Option` (None: an
//! exception is set) and uses `?`; the shell turns `None` into the slot's
//! error value (NULL, -1). [`raise`] sets an exception and returns `None`;
//! [`none`], [`not_implemented`] and [`bool_object`] are the results that
//! are not a new object.

use std::ffi::{CStr, CString};
use std::ptr::NonNull;

use pyo3_ffi as ffi;

use super::callout;

/// A strong reference we own. Dropping it is `Py_DECREF`, which may run
/// arbitrary Python code (`__del__`), so drop one only when every structure
/// it could reach is consistent.
pub(crate) struct Strong(NonNull<ffi::PyObject>);

impl Strong {
    /// Takes a new reference to a borrowed object (`Py_INCREF`).
    ///
    /// # Safety
    /// `obj` is a valid object and the GIL is held.
    pub(crate) unsafe fn from_borrowed(obj: NonNull<ffi::PyObject>) -> Strong {
        // SAFETY: the caller guarantees a live object and the GIL.
        unsafe { ffi::Py_INCREF(obj.as_ptr()) };
        Strong(obj)
    }

    /// Takes ownership of a new reference returned by the C API; `None` when
    /// the call failed (NULL, with an exception set).
    ///
    /// # Safety
    /// `obj` is NULL or a new reference that the caller now gives up.
    pub(crate) unsafe fn from_new(obj: *mut ffi::PyObject) -> Option<Strong> {
        NonNull::new(obj).map(Strong)
    }

    pub(crate) fn as_ptr(&self) -> *mut ffi::PyObject {
        self.0.as_ptr()
    }

    /// Another reference to the same object (`Py_INCREF`; runs no Python code).
    pub(crate) fn clone_ref(&self) -> Strong {
        // SAFETY: `self` keeps the object alive; GIL held as for every Strong.
        unsafe { Strong::from_borrowed(self.0) }
    }

    /// Hands our reference to the caller (a new reference for them).
    pub(crate) fn into_raw(self) -> *mut ffi::PyObject {
        let ptr = self.0.as_ptr();
        std::mem::forget(self);
        ptr
    }
}

impl Drop for Strong {
    fn drop(&mut self) {
        // SAFETY: we own one reference to a live object; every `Strong` is
        // created and dropped by module code that holds the GIL.
        unsafe { callout::Py_DECREF(self.0.as_ptr()) }
    }
}

/// `None`, as a new reference (`Py_NewRef(Py_None)`): a method's "no result".
pub(crate) fn none() -> Strong {
    // SAFETY: None is always live; GIL held as for every Strong.
    unsafe {
        Strong(NonNull::new_unchecked(ffi::compat::Py_NewRef(
            ffi::Py_None(),
        )))
    }
}

/// `NotImplemented`, as a new reference: a comparison that does not apply.
pub(crate) fn not_implemented() -> Strong {
    // SAFETY: NotImplemented is always live; GIL held as for every Strong.
    unsafe {
        Strong(NonNull::new_unchecked(ffi::compat::Py_NewRef(
            ffi::Py_NotImplemented(),
        )))
    }
}

/// `True` or `False`, as a new reference.
pub(crate) fn bool_object(value: bool) -> Strong {
    // SAFETY: True and False are always live; GIL held as for every Strong.
    unsafe {
        let obj = if value {
            ffi::Py_True()
        } else {
            ffi::Py_False()
        };
        Strong(NonNull::new_unchecked(ffi::compat::Py_NewRef(obj)))
    }
}

/// Raises `exc` with `message`. Returns `None` so a caller can write
/// `return raise(...)` from a function returning `Option`.
///
/// # Safety
/// The GIL is held; `exc` is an exception type.
pub(crate) unsafe fn raise<T>(exc: *mut ffi::PyObject, message: &str) -> Option<T> {
    let message = CString::new(message.replace('\0', "\\0")).expect("NULs were replaced");
    // SAFETY: GIL held (caller); both pointers are valid for the call.
    unsafe { callout::PyErr_SetString(exc, message.as_ptr()) };
    None
}

/// Raises KeyError(key), as dict does for a missing key. Returns `None`.
///
/// # Safety
/// The GIL is held; `key` is live.
pub(crate) unsafe fn raise_key_error<T>(key: *mut ffi::PyObject) -> Option<T> {
    // SAFETY: GIL held (caller); the exception takes its own reference to `key`.
    unsafe { callout::PyErr_SetObject(ffi::PyExc_KeyError, key) };
    None
}

/// The name of an object's type, as `type(obj).__name__` shows it for builtins.
///
/// # Safety
/// `obj` is a valid object and the GIL is held.
pub(crate) unsafe fn type_name(obj: *mut ffi::PyObject) -> String {
    // SAFETY: every object has a type, and tp_name is a NUL-terminated string
    // that lives as long as the type (which `obj` keeps alive).
    let full = unsafe { CStr::from_ptr((*ffi::Py_TYPE(obj)).tp_name) }.to_string_lossy();
    // Static types name their module ("hashtable.HashTable"): keep the last part.
    full.rsplit('.').next().unwrap_or_default().to_owned()
}

/// `repr(obj)` for an error message; a failing repr gives `<TypeName object>`.
///
/// # Safety
/// `obj` is a valid object and the GIL is held.
pub(crate) unsafe fn repr_of(obj: *mut ffi::PyObject) -> String {
    // SAFETY: GIL held (caller); `obj` is valid for its type's name.
    let fallback = || format!("<{} object>", unsafe { type_name(obj) });
    // SAFETY: GIL held (caller); PyObject_Repr returns a new reference or NULL.
    let Some(repr) = (unsafe { Strong::from_new(callout::PyObject_Repr(obj)) }) else {
        // SAFETY: GIL held; drop the repr's exception, we only wanted a message.
        unsafe { callout::PyErr_Clear() };
        return fallback();
    };
    let mut len: ffi::Py_ssize_t = 0;
    // SAFETY: `repr` is a str (PyObject_Repr guarantees it); the UTF-8 buffer
    // it returns lives as long as `repr`, and we copy it before dropping it.
    let utf8 = unsafe { ffi::PyUnicode_AsUTF8AndSize(repr.as_ptr(), &mut len) };
    if utf8.is_null() {
        // SAFETY: GIL held.
        unsafe { callout::PyErr_Clear() };
        return fallback();
    }
    // SAFETY: `utf8` points at `len` bytes owned by `repr`, alive here.
    let bytes = unsafe { std::slice::from_raw_parts(utf8.cast::<u8>(), len as usize) };
    String::from_utf8_lossy(bytes).into_owned()
}
