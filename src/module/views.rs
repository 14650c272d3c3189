//! What `iter(h)`, `h.keys()`, `h.values()` and `h.items()` return: an
//! iterator type and a view type, both small static types that hold a strong
//! reference to their HashTable.
//!
//! An iterator remembers the table's version (see `library::Table::version`):
//! if a key is added or removed, or the table is replaced, the next step
//! raises RuntimeError, as dict's iterators do, instead of skipping or
//! repeating entries.

use std::ffi::{c_int, c_void};
use std::ptr::{NonNull, null_mut};

use pyo3_ffi as ffi;

use super::callout;

use super::hashtable_type::{self, lookup};
use super::keys::key_object;
use super::refs::{Strong, raise};

/// Which part of each entry an iterator or view yields.
#[repr(u8)]
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ViewKind {
    Keys = 0,
    Values = 1,
    Items = 2,
}

impl ViewKind {
    fn name(self) -> &'static str {
        match self {
            ViewKind::Keys => "hashtable_keys",
            ViewKind::Values => "hashtable_values",
            ViewKind::Items => "hashtable_items",
        }
    }
}

#[repr(C)]
struct IterObject {
    ob_base: ffi::PyObject,
    /// Strong reference to the HashTable; null once the iterator is exhausted.
    table_obj: *mut ffi::PyObject,
    kind: ViewKind,
    /// Slab position to continue from.
    pos: usize,
    version: u64,
    /// The table's length when the iterator was made.
    len: usize,
}

#[repr(C)]
struct ViewObject {
    ob_base: ffi::PyObject,
    /// Strong reference to the HashTable.
    table_obj: *mut ffi::PyObject,
    kind: ViewKind,
}

/// Allocates a GC-tracked object of `tp` (zero-filled by PyType_GenericAlloc).
///
/// # Safety
/// The GIL is held; `tp` is one of this file's ready types.
unsafe fn alloc<T>(tp: *mut ffi::PyTypeObject) -> Option<*mut T> {
    // SAFETY: GIL held; a new reference or NULL with MemoryError set.
    let obj = unsafe { callout::PyType_GenericAlloc(tp, 0) };
    NonNull::new(obj.cast::<T>()).map(NonNull::as_ptr)
}

/// A new iterator over `table_obj` (a HashTable).
///
/// # Safety
/// The GIL is held; `table_obj` is a live HashTable.
pub(crate) unsafe fn new_iter(table_obj: *mut ffi::PyObject, kind: ViewKind) -> *mut ffi::PyObject {
    // SAFETY: GIL held; `table_obj` is live; the new object's fields are
    // written before anyone else can see it.
    unsafe {
        let Some(table) = hashtable_type::require_table(table_obj.cast()) else {
            return null_mut();
        };
        let (version, len) = ((*table).version(), (*table).len());
        let Some(it) = alloc::<IterObject>(&raw mut ITER_TYPE) else {
            return null_mut();
        };
        ffi::Py_INCREF(table_obj); // the iterator's own reference
        (*it).table_obj = table_obj;
        (*it).kind = kind;
        (*it).pos = 0;
        (*it).version = version;
        (*it).len = len;
        it.cast()
    }
}

/// A new view of `table_obj` (a HashTable).
///
/// # Safety
/// The GIL is held; `table_obj` is a live HashTable.
pub(crate) unsafe fn new_view(table_obj: *mut ffi::PyObject, kind: ViewKind) -> *mut ffi::PyObject {
    // SAFETY: as new_iter.
    unsafe {
        let Some(view) = alloc::<ViewObject>(&raw mut VIEW_TYPE) else {
            return null_mut();
        };
        ffi::Py_INCREF(table_obj); // the view's own reference
        (*view).table_obj = table_obj;
        (*view).kind = kind;
        view.cast()
    }
}

/// Builds what an iterator of `kind` yields for one entry.
///
/// # Safety
/// The GIL is held.
unsafe fn entry_object(
    kind: ViewKind,
    key: &crate::library::Key,
    value: Strong,
) -> *mut ffi::PyObject {
    // SAFETY: GIL held; every reference made here is new and either returned
    // or stolen by PyTuple_SetItem.
    unsafe {
        match kind {
            ViewKind::Values => value.into_raw(),
            ViewKind::Keys => key_object(key).map_or(null_mut(), Strong::into_raw),
            ViewKind::Items => {
                let Some(key) = key_object(key) else {
                    return null_mut();
                };
                let Some(pair) = Strong::from_new(callout::PyTuple_New(2)) else {
                    return null_mut();
                };
                ffi::PyTuple_SetItem(pair.as_ptr(), 0, key.into_raw());
                ffi::PyTuple_SetItem(pair.as_ptr(), 1, value.into_raw());
                pair.into_raw()
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The iterator type
// ---------------------------------------------------------------------------

unsafe extern "C" fn iter_traverse(
    slf: *mut ffi::PyObject,
    visit: ffi::visitproc,
    arg: *mut c_void,
) -> c_int {
    // SAFETY: called by the collector, with the GIL, on a live iterator.
    unsafe {
        let table_obj = (*slf.cast::<IterObject>()).table_obj;
        if table_obj.is_null() {
            0
        } else {
            visit(table_obj, arg)
        }
    }
}

unsafe extern "C" fn iter_clear(slf: *mut ffi::PyObject) -> c_int {
    // SAFETY: GIL held; the field is detached before its reference is released.
    unsafe {
        let table_obj = std::mem::replace(&mut (*slf.cast::<IterObject>()).table_obj, null_mut());
        callout::Py_XDECREF(table_obj);
    }
    0
}

unsafe extern "C" fn iter_dealloc(slf: *mut ffi::PyObject) {
    // SAFETY: called once, with the GIL, when the last reference is gone.
    unsafe {
        ffi::PyObject_GC_UnTrack(slf.cast());
        iter_clear(slf);
        let tp_free = (*ffi::Py_TYPE(slf))
            .tp_free
            .expect("ready types have tp_free");
        tp_free(slf.cast());
    }
}

unsafe extern "C" fn iter_next(slf: *mut ffi::PyObject) -> *mut ffi::PyObject {
    let it = slf.cast::<IterObject>();
    // SAFETY: called with the GIL on a live iterator. The table is borrowed
    // only to copy one key and take one new reference to a value; Python
    // objects are made after the borrow ends, since making one can start a
    // collection whose finalizers could mutate the table.
    unsafe {
        let table_obj = (*it).table_obj;
        if table_obj.is_null() {
            return null_mut(); // exhausted: StopIteration
        }
        let table = hashtable_type::table_ptr(table_obj.cast());
        if table.is_null() || (*table).version() != (*it).version {
            // dict's two messages: another length, or the same length with
            // other keys. Read before iter_clear, which may free the table.
            let same_len = !table.is_null() && (*table).len() == (*it).len;
            iter_clear(slf);
            raise::<()>(
                ffi::PyExc_RuntimeError,
                if same_len {
                    "HashTable keys changed during iteration"
                } else {
                    "HashTable changed size during iteration"
                },
            );
            return null_mut();
        }
        let (key, value) = match (*table).next_entry((*it).pos) {
            None => {
                iter_clear(slf);
                return null_mut();
            }
            Some((next, key, value)) => {
                (*it).pos = next;
                let key = match (*it).kind {
                    ViewKind::Values => None,
                    _ => match key.as_ref().to_owned() {
                        Ok(key) => Some(key),
                        Err(_) => return ffi::PyErr_NoMemory(),
                    },
                };
                (key, value.clone_ref())
            }
        };
        match key {
            Some(key) => entry_object((*it).kind, &key, value),
            None => value.into_raw(),
        }
    }
}

// ---------------------------------------------------------------------------
// The view type
// ---------------------------------------------------------------------------

unsafe extern "C" fn view_traverse(
    slf: *mut ffi::PyObject,
    visit: ffi::visitproc,
    arg: *mut c_void,
) -> c_int {
    // SAFETY: as iter_traverse.
    unsafe { visit((*slf.cast::<ViewObject>()).table_obj, arg) }
}

unsafe extern "C" fn view_dealloc(slf: *mut ffi::PyObject) {
    // SAFETY: called once, with the GIL, when the last reference is gone; a
    // view's table_obj is never null.
    unsafe {
        ffi::PyObject_GC_UnTrack(slf.cast());
        callout::Py_DECREF((*slf.cast::<ViewObject>()).table_obj);
        let tp_free = (*ffi::Py_TYPE(slf))
            .tp_free
            .expect("ready types have tp_free");
        tp_free(slf.cast());
    }
}

unsafe extern "C" fn view_len(slf: *mut ffi::PyObject) -> ffi::Py_ssize_t {
    // SAFETY: GIL held; the view keeps its table alive.
    unsafe {
        let table_obj = (*slf.cast::<ViewObject>()).table_obj;
        match hashtable_type::require_table(table_obj.cast()) {
            Some(table) => (*table).len() as ffi::Py_ssize_t,
            None => -1,
        }
    }
}

unsafe extern "C" fn view_iter(slf: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: GIL held; the view keeps its table alive.
    unsafe {
        let view = slf.cast::<ViewObject>();
        new_iter((*view).table_obj, (*view).kind)
    }
}

unsafe extern "C" fn view_contains(slf: *mut ffi::PyObject, item: *mut ffi::PyObject) -> c_int {
    // SAFETY: GIL held; `item` is a live borrowed argument; the view keeps
    // its table alive.
    unsafe {
        let view = slf.cast::<ViewObject>();
        let table_obj = (*view).table_obj.cast();
        match (*view).kind {
            ViewKind::Keys => match lookup(table_obj, "__contains__", item) {
                Some(found) => c_int::from(found.is_some()),
                None => -1,
            },
            ViewKind::Items => {
                if ffi::PyTuple_Check(item) == 0 || ffi::PyTuple_Size(item) != 2 {
                    return 0;
                }
                let key = ffi::PyTuple_GetItem(item, 0); // borrowed
                let value = ffi::PyTuple_GetItem(item, 1); // borrowed
                match lookup(table_obj, "__contains__", key) {
                    Some(Some(found)) => {
                        callout::PyObject_RichCompareBool(found.as_ptr(), value, ffi::Py_EQ)
                    }
                    Some(None) => 0,
                    None => -1,
                }
            }
            ViewKind::Values => {
                // Compare against a list of the values: == runs Python code,
                // which must not meet a borrowed table.
                let Some(values) = Strong::from_new(callout::PySequence_List(slf)) else {
                    return -1;
                };
                callout::PySequence_Contains(values.as_ptr(), item)
            }
        }
    }
}

unsafe extern "C" fn view_repr(slf: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: GIL held; every reference made here is new and released by
    // Strong. Py_ReprEnter marks this view as being shown (it is > 0 when the
    // view is already being shown further up, as when it is one of its own
    // values), and every path after a 0 calls Py_ReprLeave.
    unsafe {
        match callout::Py_ReprEnter(slf) {
            0 => {}
            r if r > 0 => return ffi::PyUnicode_FromString(c"...".as_ptr()),
            _ => return null_mut(),
        }
        let kind = (*slf.cast::<ViewObject>()).kind;
        let text = Strong::from_new(callout::PySequence_List(slf))
            .and_then(|list| Strong::from_new(callout::PyObject_Repr(list.as_ptr())))
            .map_or(null_mut(), |inner| {
                let name = std::ffi::CString::new(kind.name()).expect("no NUL");
                ffi::PyUnicode_FromFormat(c"%s(%U)".as_ptr(), name.as_ptr(), inner.as_ptr())
            });
        callout::Py_ReprLeave(slf);
        text
    }
}

static mut VIEW_AS_SEQUENCE: ffi::PySequenceMethods = ffi::PySequenceMethods {
    sq_length: Some(view_len),
    sq_contains: Some(view_contains),
    // SAFETY: the remaining slots are "not set" when zero.
    ..unsafe { std::mem::zeroed() }
};

pub(crate) static mut ITER_TYPE: ffi::PyTypeObject = ffi::PyTypeObject {
    ob_base: ffi::PyVarObject {
        ob_base: ffi::PyObject_HEAD_INIT,
        ob_size: 0,
    },
    tp_name: c"hashtable.HashTableIterator".as_ptr(),
    tp_basicsize: size_of::<IterObject>() as ffi::Py_ssize_t,
    tp_dealloc: Some(iter_dealloc),
    tp_flags: ffi::Py_TPFLAGS_DEFAULT | ffi::Py_TPFLAGS_HAVE_GC,
    tp_doc: c"Iterator over a HashTable's keys, values or items.".as_ptr(),
    tp_traverse: Some(iter_traverse),
    tp_clear: Some(iter_clear),
    tp_iter: Some(ffi::PyObject_SelfIter),
    tp_iternext: Some(iter_next),
    // SAFETY: the remaining fields are "not set" when zero.
    ..unsafe { std::mem::zeroed() }
};

pub(crate) static mut VIEW_TYPE: ffi::PyTypeObject = ffi::PyTypeObject {
    ob_base: ffi::PyVarObject {
        ob_base: ffi::PyObject_HEAD_INIT,
        ob_size: 0,
    },
    tp_name: c"hashtable.HashTableView".as_ptr(),
    tp_basicsize: size_of::<ViewObject>() as ffi::Py_ssize_t,
    tp_dealloc: Some(view_dealloc),
    tp_repr: Some(view_repr),
    tp_as_sequence: &raw mut VIEW_AS_SEQUENCE,
    tp_flags: ffi::Py_TPFLAGS_DEFAULT | ffi::Py_TPFLAGS_HAVE_GC,
    tp_doc: c"A live view of a HashTable's keys, values or items (len, in, iter).".as_ptr(),
    tp_traverse: Some(view_traverse),
    tp_iter: Some(view_iter),
    // SAFETY: the remaining fields are "not set" when zero.
    ..unsafe { std::mem::zeroed() }
};
