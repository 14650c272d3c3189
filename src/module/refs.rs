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
//! are not a new object. [`GETSET_END`] ends a table of getters, as
//! `PyMethodDef::zeroed()` ends a table of methods.

use std::ffi::CStr;
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

/// The all-null entry that ends a `PyGetSetDef` table (pyo3-ffi's
/// `Default` for it is not `const`, and a `static` table needs a constant).
pub(crate) const GETSET_END: ffi::PyGetSetDef = ffi::PyGetSetDef {
    name: std::ptr::null(),
    get: None,
    set: None,
    doc: std::ptr::null(),
    closure: std::ptr::null_mut(),
};

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

/// An error message or a trace line, formatted on the stack: no heap
/// allocation, so that reporting an error works when memory has run out. A
/// text longer than the buffer is cut at a character boundary and ends with
/// "...". It always keeps room for a terminating NUL.
pub(crate) struct Text {
    buf: [u8; Text::CAPACITY],
    len: usize,
    cut: bool,
}

impl Text {
    /// Bytes of text (the NUL and a cut's "..." fit besides).
    const CAPACITY: usize = 512;

    pub(crate) fn new() -> Text {
        Text {
            buf: [0; Text::CAPACITY],
            len: 0,
            cut: false,
        }
    }

    /// `format_args!` output as a Text.
    pub(crate) fn of(args: std::fmt::Arguments<'_>) -> Text {
        let mut text = Text::new();
        let _ = std::fmt::Write::write_fmt(&mut text, args);
        text
    }

    pub(crate) fn as_str(&self) -> &str {
        // Only whole UTF-8 characters are ever copied in, so this never fails.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }

    /// The text with a NUL after it, for the C API. A NUL inside the text
    /// (from a formatted value) ends it early, as C would read it anyway.
    pub(crate) fn as_cstr(&mut self) -> &CStr {
        let end = self.len.min(Text::CAPACITY - 1);
        self.buf[end] = 0;
        CStr::from_bytes_until_nul(&self.buf[..=end]).unwrap_or(c"")
    }
}

impl std::fmt::Write for Text {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        if self.cut {
            return Ok(());
        }
        // Room for the text, "..." and the NUL.
        let room = Text::CAPACITY - 4 - self.len;
        if s.len() <= room {
            self.buf[self.len..self.len + s.len()].copy_from_slice(s.as_bytes());
            self.len += s.len();
            return Ok(());
        }
        let mut end = room;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        self.buf[self.len..self.len + end].copy_from_slice(&s.as_bytes()[..end]);
        self.len += end;
        self.buf[self.len..self.len + 3].copy_from_slice(b"...");
        self.len += 3;
        self.cut = true;
        Ok(())
    }
}

/// Raises `exc` with `message`. Returns `None` so a caller can write
/// `return raise(...)` from a function returning `Option`.
///
/// # Safety
/// The GIL is held; `exc` is an exception type.
pub(crate) unsafe fn raise<T>(exc: *mut ffi::PyObject, message: &str) -> Option<T> {
    // SAFETY: as this function's contract.
    unsafe { raise_fmt(exc, format_args!("{message}")) }
}

/// Raises `exc` with a formatted message (`format_args!`), made on the stack.
///
/// # Safety
/// The GIL is held; `exc` is an exception type. The arguments' `Display`
/// may run Python code ([`Repr`]): no borrow of a table may be alive.
pub(crate) unsafe fn raise_fmt<T>(
    exc: *mut ffi::PyObject,
    args: std::fmt::Arguments<'_>,
) -> Option<T> {
    let mut message = Text::of(args);
    // SAFETY: GIL held (caller); both pointers are valid for the call.
    unsafe { callout::PyErr_SetString(exc, message.as_cstr().as_ptr()) };
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

/// MemoryError, and `None` for `?`.
///
/// # Safety
/// The GIL is held.
pub(crate) unsafe fn raise_no_memory<T>() -> Option<T> {
    // SAFETY: GIL held (caller).
    unsafe { callout::PyErr_NoMemory() };
    None
}

/// The name of an object's type, as `type(obj).__name__` shows it for
/// builtins (static types name their module, "hashtable.HashTable": the last
/// part is kept). Borrowed from the type, which the object keeps alive.
pub(crate) struct TypeName(pub(crate) *mut ffi::PyObject);

impl std::fmt::Display for TypeName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // SAFETY: a TypeName is made from a live object, with the GIL held;
        // tp_name is a NUL-terminated string that lives as long as the type.
        let full = unsafe { CStr::from_ptr((*ffi::Py_TYPE(self.0)).tp_name) };
        let full = full.to_str().unwrap_or("?");
        f.write_str(full.rsplit('.').next().unwrap_or(full))
    }
}

/// `repr(obj)` in an error message: a failing repr shows `<TypeName object>`.
/// Its `Display` calls `repr`, which may run Python code (`__repr__`): use it
/// where no borrow of a table is alive.
pub(crate) struct Repr(pub(crate) *mut ffi::PyObject);

impl std::fmt::Display for Repr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let obj = self.0;
        // SAFETY: a Repr is made from a live object, with the GIL held and no
        // borrow alive; PyObject_Repr returns a new reference or NULL, and the
        // UTF-8 buffer of a str lives as long as the str, which outlives its use.
        unsafe {
            let Some(repr) = Strong::from_new(callout::PyObject_Repr(obj)) else {
                callout::PyErr_Clear(); // we only wanted a message
                return write!(f, "<{} object>", TypeName(obj));
            };
            let mut len: ffi::Py_ssize_t = 0;
            let utf8 = ffi::PyUnicode_AsUTF8AndSize(repr.as_ptr(), &mut len);
            if utf8.is_null() {
                callout::PyErr_Clear();
                return write!(f, "<{} object>", TypeName(obj));
            }
            let bytes = std::slice::from_raw_parts(utf8.cast::<u8>(), len as usize);
            f.write_str(std::str::from_utf8(bytes).unwrap_or("?"))
        }
    }
}
