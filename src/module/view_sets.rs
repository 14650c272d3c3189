//! The set side of `h.keys()` and `h.items()`, with dict's views' rules:
//! comparisons (`==`, `!=`, `<`, `<=`, `>`, `>=`) against a set, a frozenset
//! or another set-like view; `&`, `|`, `-`, `^` with any iterable on either
//! side, each giving a new `set`; and `isdisjoint`.
//!
//! A comparison is answered as dict's `dictview_richcompare` answers it:
//! lengths first, then "every item of the smaller side is in the other".
//! `|`, `-` and `^` build a set of their left operand (the view, or the
//! iterable when the view is on the right) and apply the matching in-place
//! set method with the right operand (`set(left).update(right)` and so on),
//! as dict's views do; `&` keeps the items of one side found `in` the other,
//! as dict's does.
//!
//! Nothing here borrows a table: every step is an abstract call (len, iter,
//! `in`), made through callout.rs, that reaches the table through the view's
//! own slots. views.rs points its keys and items types at these functions.

use std::ffi::{CStr, c_int};
use std::ptr::null_mut;
use std::sync::atomic::{AtomicPtr, Ordering};

use pyo3_ffi as ffi;

use super::callout;
use super::refs::{Strong, bool_object, not_implemented};

/// The keys and items view types, which views.rs defines with this file's
/// slots (this file cannot import views.rs, which imports it): registered
/// by the module's exec once they are ready.
static SET_VIEW_TYPES: [AtomicPtr<ffi::PyTypeObject>; 2] =
    [AtomicPtr::new(null_mut()), AtomicPtr::new(null_mut())];

/// Makes `keys` and `items` the types [`is_set_like`] recognises as ours.
pub(crate) fn register_set_views(keys: *mut ffi::PyTypeObject, items: *mut ffi::PyTypeObject) {
    SET_VIEW_TYPES[0].store(keys, Ordering::Relaxed);
    SET_VIEW_TYPES[1].store(items, Ordering::Relaxed);
}

/// A keys or items view of this module (the types are final: no subclass).
///
/// # Safety
/// `obj` is a live object.
unsafe fn is_own_set_view(obj: *mut ffi::PyObject) -> bool {
    // SAFETY: `obj` is live (caller), so its type is.
    let tp = unsafe { ffi::Py_TYPE(obj) };
    SET_VIEW_TYPES
        .iter()
        .any(|t| t.load(Ordering::Relaxed) == tp)
}

/// What dict's views compare with: a set, a frozenset, dict's keys or items
/// view, or one of ours.
///
/// # Safety
/// `obj` is a live object and the GIL is held.
unsafe fn is_set_like(obj: *mut ffi::PyObject) -> bool {
    // SAFETY: type checks of a live object; no Python code runs.
    unsafe {
        ffi::PyAnySet_Check(obj) != 0 || ffi::PyDictViewSet_Check(obj) != 0 || is_own_set_view(obj)
    }
}

/// `len(obj)`, or None with an exception set.
///
/// # Safety
/// `obj` is a live object and the GIL is held.
unsafe fn length(obj: *mut ffi::PyObject) -> Option<usize> {
    // SAFETY: GIL held; `__len__` may run Python code (through callout).
    let n = unsafe { callout::PyObject_Size(obj) };
    usize::try_from(n).ok()
}

/// Whether every item of `inner` is `in` `outer`.
///
/// # Safety
/// Both objects are live and the GIL is held.
unsafe fn all_contained_in(inner: *mut ffi::PyObject, outer: *mut ffi::PyObject) -> Option<bool> {
    // SAFETY: GIL held; every reference made is new and owned by a Strong;
    // iteration and `in` may run Python code (through callout).
    unsafe {
        let iter = Strong::from_new(callout::PyObject_GetIter(inner))?;
        while let Some(item) = Strong::from_new(callout::PyIter_Next(iter.as_ptr())) {
            match callout::PySequence_Contains(outer, item.as_ptr()) {
                -1 => return None,
                0 => return Some(false),
                _ => {}
            }
        }
        ffi::PyErr_Occurred().is_null().then_some(true)
    }
}

/// tp_richcompare of the keys and items views.
pub(crate) unsafe extern "C" fn view_richcompare(
    slf: *mut ffi::PyObject,
    other: *mut ffi::PyObject,
    op: c_int,
) -> *mut ffi::PyObject {
    // SAFETY: called with the GIL on a live view and a live object.
    unsafe { richcompare_impl(slf, other, op) }.map_or(null_mut(), Strong::into_raw)
}

/// # Safety
/// The GIL is held; both objects are live.
unsafe fn richcompare_impl(
    slf: *mut ffi::PyObject,
    other: *mut ffi::PyObject,
    op: c_int,
) -> Option<Strong> {
    // SAFETY: as this function's contract.
    unsafe {
        if !is_set_like(other) {
            return Some(not_implemented());
        }
        let (len_self, len_other) = (length(slf)?, length(other)?);
        let answer = match op {
            ffi::Py_EQ | ffi::Py_NE => {
                let equal = len_self == len_other && all_contained_in(slf, other)?;
                equal == (op == ffi::Py_EQ)
            }
            ffi::Py_LT => len_self < len_other && all_contained_in(slf, other)?,
            ffi::Py_LE => len_self <= len_other && all_contained_in(slf, other)?,
            ffi::Py_GT => len_self > len_other && all_contained_in(other, slf)?,
            ffi::Py_GE => len_self >= len_other && all_contained_in(other, slf)?,
            _ => return Some(not_implemented()),
        };
        Some(bool_object(answer))
    }
}

/// `set(left).<method>(right)`, returning the set: the four operators.
///
/// # Safety
/// The GIL is held; both objects are live.
unsafe fn set_operation(
    left: *mut ffi::PyObject,
    right: *mut ffi::PyObject,
    method: &CStr,
) -> Option<Strong> {
    // SAFETY: GIL held; every reference made is new and owned by a Strong;
    // building the set and the method may run Python code (through callout).
    unsafe {
        let result = Strong::from_new(callout::PySet_New(left))?;
        let update = Strong::from_new(callout::PyObject_GetAttrString(
            result.as_ptr(),
            method.as_ptr(),
        ))?;
        Strong::from_new(callout::PyObject_CallOneArg(update.as_ptr(), right))?;
        Some(result)
    }
}

macro_rules! set_operator {
    ($name:ident, $method:literal) => {
        /// A number slot of the keys and items views: either operand may be
        /// the view (the other is any iterable), and the result is a set.
        unsafe extern "C" fn $name(
            left: *mut ffi::PyObject,
            right: *mut ffi::PyObject,
        ) -> *mut ffi::PyObject {
            // SAFETY: called with the GIL and two live operands.
            unsafe { set_operation(left, right, $method) }.map_or(null_mut(), Strong::into_raw)
        }
    };
}

/// `&`, as dict's views do it: the items of one side that are `in` the
/// other, iterating the side that is not a view, or the smaller view (so an
/// item that cannot be hashed is only looked up, never put in a set, unless
/// it is in the view). A set at least as large as the view does the work
/// itself (`other.intersection(view)`).
unsafe extern "C" fn view_and(
    left: *mut ffi::PyObject,
    right: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: called with the GIL and two live operands.
    unsafe { intersection(left, right) }.map_or(null_mut(), Strong::into_raw)
}

/// # Safety
/// The GIL is held; both operands are live, and one is a view of this module.
unsafe fn intersection(left: *mut ffi::PyObject, right: *mut ffi::PyObject) -> Option<Strong> {
    // SAFETY: as this function's contract; every reference made is new and
    // owned by a Strong; the calls may run Python code (through callout).
    unsafe {
        // Python swaps nothing for a reflected `&`: the view may be on the right.
        let (mut view, mut other) = if is_own_set_view(left) {
            (left, right)
        } else {
            (right, left)
        };
        let len_view = length(view)?;
        if ffi::PySet_CheckExact(other) != 0 && len_view <= length(other)? {
            let method = Strong::from_new(callout::PyObject_GetAttrString(
                other,
                c"intersection".as_ptr(),
            ))?;
            return Strong::from_new(callout::PyObject_CallOneArg(method.as_ptr(), view));
        }
        if (ffi::PyDictViewSet_Check(other) != 0 || is_own_set_view(other))
            && length(other)? > len_view
        {
            (view, other) = (other, view);
        }
        let result = Strong::from_new(callout::PySet_New(null_mut()))?;
        let iter = Strong::from_new(callout::PyObject_GetIter(other))?;
        while let Some(item) = Strong::from_new(callout::PyIter_Next(iter.as_ptr())) {
            match callout::PySequence_Contains(view, item.as_ptr()) {
                -1 => return None,
                0 => {}
                _ => {
                    if callout::PySet_Add(result.as_ptr(), item.as_ptr()) < 0 {
                        return None;
                    }
                }
            }
        }
        ffi::PyErr_Occurred().is_null().then_some(result)
    }
}
set_operator!(view_or, c"update");
set_operator!(view_xor, c"symmetric_difference_update");
set_operator!(view_sub, c"difference_update");

/// `&`, `|`, `-`, `^` of the keys and items views.
pub(crate) static mut VIEW_SET_NUMBER: ffi::PyNumberMethods = ffi::PyNumberMethods {
    nb_subtract: Some(view_sub),
    nb_and: Some(view_and),
    nb_xor: Some(view_xor),
    nb_or: Some(view_or),
    // SAFETY: the remaining slots are "not set" when zero.
    ..unsafe { std::mem::zeroed() }
};

/// `view.isdisjoint(other)`: METH_O.
pub(crate) unsafe extern "C" fn view_isdisjoint(
    slf: *mut ffi::PyObject,
    other: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: called with the GIL on a live view and a live argument.
    unsafe { isdisjoint_impl(slf, other) }.map_or(null_mut(), Strong::into_raw)
}

/// As dict's: iterate the smaller side when the other is set-like (known
/// length, cheap `in`), else iterate `other` and look each item up here.
///
/// # Safety
/// The GIL is held; both objects are live.
unsafe fn isdisjoint_impl(slf: *mut ffi::PyObject, other: *mut ffi::PyObject) -> Option<Strong> {
    // SAFETY: as this function's contract; every reference made is new and
    // owned by a Strong; the calls may run Python code (through callout).
    unsafe {
        if slf == other {
            return Some(bool_object(length(slf)? == 0));
        }
        let (mut iterated, mut looked_in) = (other, slf);
        if is_set_like(other) && length(other)? > length(slf)? {
            (iterated, looked_in) = (slf, other);
        }
        let iter = Strong::from_new(callout::PyObject_GetIter(iterated))?;
        while let Some(item) = Strong::from_new(callout::PyIter_Next(iter.as_ptr())) {
            match callout::PySequence_Contains(looked_in, item.as_ptr()) {
                -1 => return None,
                0 => {}
                _ => return Some(bool_object(false)),
            }
        }
        ffi::PyErr_Occurred().is_null().then(|| bool_object(true))
    }
}
