//! Calls out of the module that may run Python code, and so may end the thread.
//!
//! Before 3.14, CPython ends a daemon thread that wants the GIL back after
//! interpreter shutdown has begun by calling `pthread_exit`. On glibc that is
//! a *forced unwind*: it tears the thread's stack down, frame by frame. C
//! frames (the interpreter's, or a C extension's) have no cleanup code, so
//! they are simply dropped. A Rust frame is different. It made its call
//! through an `extern "C"` declaration (pyo3-ffi declares the C API that
//! way), which promises that the callee never unwinds, so Rust's unwinder
//! aborts the whole process instead. Letting a forced unwind free a Rust frame
//! would be undefined behaviour anyway (Rust RFC 2945).
//!
//! So every call from which Python code can run goes through this file. Each
//! function here is declared again as `extern "C-unwind"` and called with a
//! [`HangThread`] guard alive. If the interpreter ends the thread inside the
//! call, the unwind runs the guard's `Drop`, which parks the thread for good,
//! and the process exits around it. CPython 3.14 itself does this (it hangs
//! such threads instead of ending them), and so does pyo3-ffi around
//! `PyEval_RestoreThread`.
//!
//! Python code can run inside a C-API call that
//! - calls a Python callable, or a slot that a class written in Python can
//!   define (hash, ==, repr, len, iteration, item access, isinstance,
//!   attribute lookup, `__float__`), or compares keys of a dict;
//! - releases a reference (releasing the last one runs the deallocator, and
//!   so maybe `__del__`);
//! - writes to `sys.stdout`, or imports;
//! - creates a container or an exception: on 3.9 to 3.11 that can start a
//!   garbage collection, which runs finalizers.
//!
//! Two rules keep the guard working:
//! 1. The rest of the module never calls these functions as `ffi::...`.
//!    LLVM keeps one declaration per symbol: if pyo3-ffi's `extern "C"` one
//!    were used anywhere in the crate, its `nounwind` would apply to our calls
//!    too and the guard's cleanup would be optimised away, silently.
//!    `tests/test_callout.py` checks the sources for it.
//! 2. Each wrapper is a frame of its own (`#[inline(never)]`). Inlined into
//!    one of our `extern "C"` slot functions, the guard's cleanup would be
//!    merged into that function's abort-on-unwind filter, and Rust's
//!    unwinder lets a forced unwind pass filters by: the guard would never
//!    run and the frame would be freed.
//! 3. The guard's `Drop` makes a real call (`pause`): an endless loop that
//!    does nothing would let the optimiser treat the cleanup as unreachable.

#![allow(non_snake_case)] // the C API's own names, so a reader knows each call

use std::ffi::{CStr, c_char, c_double, c_int};

use pyo3_ffi as ffi;
use pyo3_ffi::{Py_hash_t, Py_ssize_t, PyObject, PyTypeObject};

/// Parks the thread forever when dropped. It lives across one call and is
/// forgotten when the call returns, so only an unwind out of the call drops it.
struct HangThread;

impl Drop for HangThread {
    fn drop(&mut self) {
        loop {
            // SAFETY: pause() has no preconditions; it sleeps until a signal
            // handler has run, and we go back to sleep.
            unsafe { libc::pause() };
        }
    }
}

/// Runs `call` with a [`HangThread`] guard alive.
#[inline(always)]
fn guarded<R>(call: impl FnOnce() -> R) -> R {
    let guard = HangThread;
    let result = call();
    std::mem::forget(guard);
    result
}

/// Declares each function as `extern "C-unwind"` (in `raw`) and defines a
/// wrapper of the same name and signature that calls it under the guard.
macro_rules! callouts {
    ($( $(#[$attr:meta])* fn $name:ident($($arg:ident: $ty:ty),*) $(-> $ret:ty)?; )*) => {
        mod raw {
            use super::*;
            unsafe extern "C-unwind" {
                $( pub(super) fn $name($($arg: $ty),*) $(-> $ret)?; )*
            }
        }
        $(
            $(#[$attr])*
            ///
            /// # Safety
            /// The C function's own contract: the GIL is held and every
            /// argument is what the C API expects.
            #[inline(never)] // rule 2
            pub(crate) unsafe fn $name($($arg: $ty),*) $(-> $ret)? {
                // SAFETY: the caller keeps the C function's contract, and
                // `raw` declares the C API's own signature.
                guarded(|| unsafe { raw::$name($($arg),*) })
            }
        )*
    };
}

callouts! {
    /// Calls a Python callable: the way in for a hash function.
    fn PyObject_VectorcallDict(
        callable: *mut PyObject,
        args: *const *mut PyObject,
        nargsf: usize,
        kwdict: *mut PyObject
    ) -> *mut PyObject;
    /// Calls `callable(*args)`; `args` a tuple, or null for no arguments.
    fn PyObject_CallObject(callable: *mut PyObject, args: *mut PyObject) -> *mut PyObject;
    /// `hash(o)`: `__hash__` of a str, int or float subclass.
    fn PyObject_Hash(o: *mut PyObject) -> Py_hash_t;
    /// `repr(o)`: `__repr__`.
    fn PyObject_Repr(o: *mut PyObject) -> *mut PyObject;
    /// `a <op> b` as a truth value: `__eq__` and `__bool__`.
    fn PyObject_RichCompareBool(a: *mut PyObject, b: *mut PyObject, op: c_int) -> c_int;
    /// `o[key]`: `__getitem__`.
    fn PyObject_GetItem(o: *mut PyObject, key: *mut PyObject) -> *mut PyObject;
    /// `iter(o)`: `__iter__`.
    fn PyObject_GetIter(o: *mut PyObject) -> *mut PyObject;
    /// `next(it)`: `__next__`.
    fn PyIter_Next(it: *mut PyObject) -> *mut PyObject;
    /// `float(o)` as a C double: for an int subclass, its `__float__`.
    fn PyFloat_AsDouble(o: *mut PyObject) -> c_double;
    /// `len(o)`: `__len__`.
    fn PyObject_Size(o: *mut PyObject) -> Py_ssize_t;
    /// `isinstance(inst, cls)`: `__instancecheck__`.
    fn PyObject_IsInstance(inst: *mut PyObject, cls: *mut PyObject) -> c_int;
    /// `getattr(o, name)`: `__getattr__`, properties.
    fn PyObject_GetAttrString(o: *mut PyObject, name: *const c_char) -> *mut PyObject;
    /// `getattr(o, name)` with `name` a str object: `__getattr__`, properties.
    /// (Only 3.10's default pickle state reads attributes by a str object.)
    #[cfg_attr(Py_3_11, allow(dead_code))]
    fn PyObject_GetAttr(o: *mut PyObject, name: *mut PyObject) -> *mut PyObject;
    /// A list or tuple of the items of `o`, iterating it if it is neither.
    fn PySequence_Fast(o: *mut PyObject, message: *const c_char) -> *mut PyObject;
    /// `list(o)`.
    fn PySequence_List(o: *mut PyObject) -> *mut PyObject;
    /// `value in seq`.
    fn PySequence_Contains(seq: *mut PyObject, value: *mut PyObject) -> c_int;
    /// `d[key]` of a dict itself, never a subclass's `__getitem__` or
    /// `__missing__` (a borrowed reference, or null): comparing keys may call
    /// their `__eq__`.
    /// (Only PyDict_GetItemRef below calls it, and only before 3.13.)
    #[cfg_attr(Py_3_13, allow(dead_code))]
    fn PyDict_GetItemWithError(d: *mut PyObject, key: *mut PyObject) -> *mut PyObject;
    /// A new list of a dict's (key, value) tuples.
    fn PyDict_Items(d: *mut PyObject) -> *mut PyObject;
    /// A new, empty dict.
    fn PyDict_New() -> *mut PyObject;
    /// `d[key] = item` of a dict itself: hashes and compares the key (a str
    /// subclass's `__hash__`, `__eq__`), may release an old value.
    /// (Only 3.10's default pickle state fills a dict this way.)
    #[cfg_attr(Py_3_11, allow(dead_code))]
    fn PyDict_SetItem(d: *mut PyObject, key: *mut PyObject, item: *mut PyObject) -> c_int;
    /// A new tuple of `len` empty slots.
    fn PyTuple_New(len: Py_ssize_t) -> *mut PyObject;
    /// A new list of `len` empty slots.
    fn PyList_New(len: Py_ssize_t) -> *mut PyObject;
    /// A new, zero-filled object of type `tp`, tracked by the collector.
    fn PyType_GenericAlloc(tp: *mut PyTypeObject, nitems: Py_ssize_t) -> *mut PyObject;
    /// Finishes a static type: it creates the type's dict.
    fn PyType_Ready(tp: *mut PyTypeObject) -> c_int;
    /// Marks `o` as being shown by repr (> 0: it already is): it keeps a
    /// list in the thread state.
    fn Py_ReprEnter(o: *mut PyObject) -> c_int;
    /// Ends what Py_ReprEnter began; may release that list's last reference.
    fn Py_ReprLeave(o: *mut PyObject);
    /// `import name`.
    fn PyImport_ImportModule(name: *const c_char) -> *mut PyObject;
    /// Releases a reference; see [`Py_DECREF`].
    fn Py_DecRef(o: *mut PyObject);
    /// Raises `exc` with the message `message` (UTF-8).
    fn PyErr_SetString(exc: *mut PyObject, message: *const c_char);
    /// Raises `exc` with the value `value`.
    fn PyErr_SetObject(exc: *mut PyObject, value: *mut PyObject);
    /// Raises MemoryError (an exception object is made).
    fn PyErr_NoMemory() -> *mut PyObject;
    /// `o[key] = v`: `__setitem__` (a subclass's own, for `fromkeys`).
    fn PyObject_SetItem(o: *mut PyObject, key: *mut PyObject, v: *mut PyObject) -> c_int;
    /// `set(iterable)` (a new, empty set for null): iterates, hashes and
    /// compares the items.
    fn PySet_New(iterable: *mut PyObject) -> *mut PyObject;
    /// `s.add(key)`: hashes the key (`__hash__`, `__eq__`).
    fn PySet_Add(set: *mut PyObject, key: *mut PyObject) -> c_int;
    /// `types.GenericAlias(origin, args)`: a new object.
    fn Py_GenericAlias(origin: *mut PyObject, args: *mut PyObject) -> *mut PyObject;
    /// `types.MappingProxyType(mapping)`: a new object.
    fn PyDictProxy_New(mapping: *mut PyObject) -> *mut PyObject;
    /// Drops the pending exception: its traceback holds frames, whose
    /// locals may be the last references to objects with `__del__`.
    fn PyErr_Clear();
}

/// `PyDict_GetItemRef(d, key, &result)` (3.13): 1 with a new reference in
/// `*result` when `key` is in the dict itself (never a subclass's
/// `__getitem__` or `__missing__`), 0 when it is not, -1 with an exception
/// set. Comparing keys may call their `__eq__`. Before 3.13, the same from
/// PyDict_GetItemWithError (a borrowed reference) and an INCREF.
///
/// # Safety
/// The GIL is held; `d` is a dict and `key` a live object.
#[inline(never)] // rule 2
pub(crate) unsafe fn PyDict_GetItemRef(
    d: *mut PyObject,
    key: *mut PyObject,
    result: &mut *mut PyObject,
) -> c_int {
    #[cfg(Py_3_13)]
    {
        // SAFETY: GIL held (caller); the C function's own contract.
        guarded(|| unsafe { raw_313::PyDict_GetItemRef(d, key, result) })
    }
    #[cfg(not(Py_3_13))]
    {
        // SAFETY: GIL held (caller); a borrowed reference or null.
        let item = unsafe { PyDict_GetItemWithError(d, key) };
        if !item.is_null() {
            // SAFETY: `item` is live, owned by the dict; ours is a new one.
            *result = unsafe { ffi::compat::Py_NewRef(item) };
            return 1;
        }
        *result = std::ptr::null_mut();
        // SAFETY: GIL held.
        if unsafe { ffi::PyErr_Occurred() }.is_null() {
            0
        } else {
            -1
        }
    }
}

/// `PyDict_GetItemStringRef(d, key, &result)` (3.13): [`PyDict_GetItemRef`]
/// with a UTF-8 key, which is made into a str first (that can fail: -1).
///
/// # Safety
/// The GIL is held; `d` is a dict and `key` a NUL-terminated UTF-8 string.
#[inline(never)] // rule 2
pub(crate) unsafe fn PyDict_GetItemStringRef(
    d: *mut PyObject,
    key: *const c_char,
    result: &mut *mut PyObject,
) -> c_int {
    #[cfg(Py_3_13)]
    {
        // SAFETY: GIL held (caller); the C function's own contract.
        guarded(|| unsafe { raw_313::PyDict_GetItemStringRef(d, key, result) })
    }
    #[cfg(not(Py_3_13))]
    {
        *result = std::ptr::null_mut();
        // SAFETY: GIL held (caller); a new str or NULL, released below.
        let key = unsafe { ffi::PyUnicode_FromString(key) };
        if key.is_null() {
            return -1;
        }
        // SAFETY: GIL held; `key` is a live str we own.
        let found = unsafe { PyDict_GetItemRef(d, key, result) };
        // SAFETY: our reference to a str nobody else has seen: its release
        // frees a str and runs no Python code.
        unsafe { ffi::Py_DECREF(key) };
        found
    }
}

#[cfg(Py_3_13)]
mod raw_313 {
    use pyo3_ffi::PyObject;
    use std::ffi::{c_char, c_int};
    unsafe extern "C-unwind" {
        pub(super) fn PyDict_GetItemRef(
            d: *mut PyObject,
            key: *mut PyObject,
            result: *mut *mut PyObject,
        ) -> c_int;
        pub(super) fn PyDict_GetItemStringRef(
            d: *mut PyObject,
            key: *const c_char,
            result: *mut *mut PyObject,
        ) -> c_int;
    }
}

#[cfg_attr(not(Py_3_14), allow(dead_code))] // PyErr_Format: dict's 3.14 messages
mod raw_variadic {
    use std::ffi::c_char;
    unsafe extern "C-unwind" {
        pub(super) fn PySys_WriteStdout(format: *const c_char, ...);
        pub(super) fn PyArg_ParseTupleAndKeywords(
            args: *mut pyo3_ffi::PyObject,
            kwds: *mut pyo3_ffi::PyObject,
            format: *const c_char,
            keywords: *const *const c_char,
            ...
        ) -> std::ffi::c_int;
        pub(super) fn PyErr_Format(
            exc: *mut pyo3_ffi::PyObject,
            format: *const c_char,
            ...
        ) -> *mut pyo3_ffi::PyObject;
    }
}

/// `PyErr_Format(exc, format, a, b)` for a format with exactly two object
/// conversions (`%T`, `%S`, `%R`, ...): `%S` and `%R` call `__str__` and
/// `__repr__`. Returns null, as the C function does.
///
/// # Safety
/// The GIL is held; `format` converts exactly two objects, `a` and `b`,
/// which are live.
#[cfg(Py_3_14)]
#[inline(never)] // rule 2
pub(crate) unsafe fn PyErr_Format2(
    exc: *mut PyObject,
    format: &CStr,
    a: *mut PyObject,
    b: *mut PyObject,
) -> *mut PyObject {
    // SAFETY: GIL held (caller); two object arguments for two conversions.
    guarded(|| unsafe { raw_variadic::PyErr_Format(exc, format.as_ptr(), a, b) })
}

/// `PyArg_ParseTupleAndKeywords(args, kwds, format, keywords, a, b, c)` for
/// a format of exactly three `O` units: each of `a`, `b`, `c` receives a
/// borrowed reference, or stays as it was when its argument is not given.
/// Finding a keyword compares the names in `kwds`, which may be str
/// subclasses with a Python `__eq__`; a failure raises TypeError.
///
/// # Safety
/// The GIL is held; `args` is a tuple, `kwds` a dict or null, `format` has
/// three `O` units and `keywords` three names and a null.
#[inline(never)] // rule 2
pub(crate) unsafe fn PyArg_ParseTupleAndKeywords3(
    args: *mut PyObject,
    kwds: *mut PyObject,
    format: &CStr,
    keywords: &[*const c_char; 4],
    a: &mut *mut PyObject,
    b: &mut *mut PyObject,
    c: &mut *mut PyObject,
) -> c_int {
    // SAFETY: GIL held (caller); three `O` units, matched by three
    // `*mut *mut PyObject` out-pointers; `keywords` ends with a null.
    guarded(|| unsafe {
        raw_variadic::PyArg_ParseTupleAndKeywords(
            args,
            kwds,
            format.as_ptr(),
            keywords.as_ptr(),
            a as *mut *mut PyObject,
            b as *mut *mut PyObject,
            c as *mut *mut PyObject,
        )
    })
}

/// Writes `text` to `sys.stdout` (its `write` may be Python code), or to the
/// C stdout when `sys.stdout` is missing. Saves and restores any pending
/// exception; cuts the output at 1000 bytes.
///
/// # Safety
/// The GIL is held.
#[inline(never)] // rule 2
pub(crate) unsafe fn PySys_WriteStdout(text: &CStr) {
    // SAFETY: GIL held (caller); "%s" takes one NUL-terminated string.
    guarded(|| unsafe { raw_variadic::PySys_WriteStdout(c"%s".as_ptr(), text.as_ptr()) })
}

/// `callable(arg)`, as the C API's PyObject_CallOneArg (an inline function in
/// pyo3-ffi before 3.12, whose calls could not carry the guard).
///
/// # Safety
/// The GIL is held; `callable` and `arg` are live objects.
#[inline]
pub(crate) unsafe fn PyObject_CallOneArg(
    callable: *mut PyObject,
    arg: *mut PyObject,
) -> *mut PyObject {
    // Slot 0 is scratch space the callee may use (PY_VECTORCALL_ARGUMENTS_OFFSET),
    // which saves it from copying the arguments to prepend a `self`.
    let args = [std::ptr::null_mut(), arg];
    // SAFETY: GIL held and live objects (caller); `args[1..]` holds one
    // borrowed argument, and slot 0 is ours to lend.
    unsafe {
        PyObject_VectorcallDict(
            callable,
            args.as_ptr().add(1),
            1 | ffi::PY_VECTORCALL_ARGUMENTS_OFFSET,
            std::ptr::null_mut(),
        )
    }
}

/// `callable()`.
///
/// # Safety
/// The GIL is held; `callable` is a live object.
#[inline]
pub(crate) unsafe fn PyObject_CallNoArgs(callable: *mut PyObject) -> *mut PyObject {
    // SAFETY: GIL held, live object (caller); null args means no arguments.
    unsafe { PyObject_CallObject(callable, std::ptr::null_mut()) }
}

/// Py_DECREF. Releasing a reference that is not the last frees nothing and
/// runs no Python code, so it stays inline; releasing the last one runs the
/// object's deallocator (and maybe `__del__`), so it calls out.
///
/// (Rule 1 holds for `Py_DecRef` too: pyo3-ffi's inline Py_DECREF calls
/// `_Py_Dealloc`, or `_Py_DecRef` on a debug build, never `Py_DecRef`, on
/// every interpreter `tools/test-all` covers.)
///
/// # Safety
/// The GIL is held, and the caller owns one reference to the live `obj`,
/// which it gives up.
#[inline]
pub(crate) unsafe fn Py_DECREF(obj: *mut PyObject) {
    // SAFETY: GIL held and one owned reference (caller). With the GIL held
    // nobody else changes the count between the test and the release; an
    // immortal object (3.12+) has a huge count and takes the inline path,
    // which leaves it alone.
    unsafe {
        if ffi::Py_REFCNT(obj) > 1 {
            ffi::Py_DECREF(obj);
        } else {
            Py_DecRef(obj);
        }
    }
}

/// Py_XDECREF: [`Py_DECREF`] unless `obj` is null.
///
/// # Safety
/// As [`Py_DECREF`], or `obj` is null.
#[inline]
pub(crate) unsafe fn Py_XDECREF(obj: *mut PyObject) {
    if !obj.is_null() {
        // SAFETY: as Py_DECREF (caller), and not null.
        unsafe { Py_DECREF(obj) }
    }
}

/// Calls a type's `tp_alloc` (the slot, not a symbol: LLVM cannot see which
/// function it is, so the `C-unwind` pointer keeps its cleanup).
///
/// # Safety
/// The GIL is held; `alloc` is `tp`'s tp_alloc.
#[inline(never)] // rule 2
pub(crate) unsafe fn call_tp_alloc(
    alloc: ffi::allocfunc,
    tp: *mut PyTypeObject,
    nitems: Py_ssize_t,
) -> *mut PyObject {
    // SAFETY: a caller-side "C-unwind" signature is ABI-compatible with a
    // "C" callee (std's fn-pointer ABI rules); GIL held (caller).
    unsafe {
        let alloc: unsafe extern "C-unwind" fn(*mut PyTypeObject, Py_ssize_t) -> *mut PyObject =
            std::mem::transmute(alloc);
        guarded(|| alloc(tp, nitems))
    }
}
