//! What `iter(h)`, `h.keys()`, `h.values()` and `h.items()` return: an
//! iterator type and a view type, both small static types that hold a strong
//! reference to their HashTable.
//!
//! An iterator remembers the table's version (see `library::Table::version`):
//! if a key is added or removed, or the table is replaced, the next step
//! raises RuntimeError, as dict's iterators do, instead of skipping or
//! repeating entries. It runs forwards (insertion order) or backwards
//! (`reversed()`), has `__length_hint__`, and pickles as dict's iterators
//! do: `(iter, (list_of_what_is_left,))`.
//!
//! The views are three types, as dict's are, so that each can be registered
//! with its own ABC (`KeysView`, `ValuesView`, `ItemsView`; mod.rs does it).
//! The keys and items views are also sets: their comparisons, operators and
//! `isdisjoint` are in view_sets.rs.

use std::ffi::{CStr, c_int, c_void};
use std::ptr::null_mut;

use pyo3_ffi as ffi;

use super::access::lookup;
use super::callout;
use super::object::{HashTableObject, PyTable, require_table, table_ptr};
use super::refs::{GETSET_END, Strong, raise};
use super::view_sets::{VIEW_SET_NUMBER, view_isdisjoint, view_richcompare};

/// Which part of each entry an iterator or view yields.
#[repr(u8)]
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ViewKind {
    Keys = 0,
    Values = 1,
    Items = 2,
}

impl ViewKind {
    fn name(self) -> &'static std::ffi::CStr {
        match self {
            ViewKind::Keys => c"hashtable_keys",
            ViewKind::Values => c"hashtable_values",
            ViewKind::Items => c"hashtable_items",
        }
    }
}

#[repr(C)]
struct IterObject {
    ob_base: ffi::PyObject,
    /// Strong reference to the HashTable; null once the iterator is exhausted.
    table_obj: *mut ffi::PyObject,
    kind: ViewKind,
    /// Position in the table's entries (insertion order) to continue from:
    /// forwards, the next one to look at; backwards, the one after it.
    pos: usize,
    version: u64,
    /// The table's length when the iterator was made.
    len: usize,
    /// How many entries are still to come, if the table does not change
    /// (`__length_hint__`).
    remaining: usize,
    /// `reversed()`: last entry first.
    reverse: bool,
}

#[repr(C)]
struct ViewObject {
    ob_base: ffi::PyObject,
    /// Strong reference to the HashTable.
    table_obj: *mut ffi::PyObject,
    kind: ViewKind,
}

/// A new, GC-tracked object of `tp`, zero-filled by PyType_GenericAlloc: the
/// object (as a new reference, which releases it on an error path) and a
/// pointer to fill its fields through.
///
/// # Safety
/// The GIL is held; `tp` is one of this file's ready types, whose objects
/// are `T`s.
unsafe fn alloc<T>(tp: *mut ffi::PyTypeObject) -> Option<(Strong, *mut T)> {
    // SAFETY: GIL held; a new reference or NULL with MemoryError set.
    let obj = unsafe { Strong::from_new(callout::PyType_GenericAlloc(tp, 0)) }?;
    let fields = obj.as_ptr().cast::<T>();
    Some((obj, fields))
}

/// A new iterator over `table_obj` (a HashTable), last entry first when
/// `reverse`, as a new reference.
///
/// # Safety
/// The GIL is held; `table_obj` is a live HashTable.
pub(crate) unsafe fn new_iter(
    table_obj: *mut ffi::PyObject,
    kind: ViewKind,
    reverse: bool,
) -> Option<Strong> {
    // SAFETY: GIL held; `table_obj` is live (caller).
    unsafe { require_table(table_obj.cast()) }?;
    // SAFETY: GIL held; ITER_TYPE is ready and makes IterObjects.
    let (it, fields) = unsafe { alloc::<IterObject>(&raw mut ITER_TYPE) }?;
    // The table's version is read after the allocation, as dict's iterator
    // reads its dict's size: up to 3.11 allocating can start a collection
    // whose finalizers change the table, and the iterator starts on the
    // table as it is once it exists.
    // SAFETY: GIL held; `table_obj` is live, and its table only read.
    let (version, len, end) = unsafe {
        let table = require_table(table_obj.cast())?;
        ((*table).version(), (*table).len(), (*table).entry_count())
    };
    // SAFETY: the new object's fields, written before anyone else can see it;
    // `table_obj` is live, and the iterator takes its own reference.
    unsafe {
        (*fields).table_obj = ffi::compat::Py_NewRef(table_obj);
        (*fields).kind = kind;
        (*fields).pos = if reverse { end } else { 0 };
        (*fields).version = version;
        (*fields).len = len;
        (*fields).remaining = len;
        (*fields).reverse = reverse;
    }
    Some(it)
}

/// A new view of `table_obj` (a HashTable), as a new reference.
///
/// # Safety
/// The GIL is held; `table_obj` is a live HashTable.
pub(crate) unsafe fn new_view(table_obj: *mut ffi::PyObject, kind: ViewKind) -> Option<Strong> {
    let tp = match kind {
        ViewKind::Keys => &raw mut KEYS_VIEW_TYPE,
        ViewKind::Values => &raw mut VALUES_VIEW_TYPE,
        ViewKind::Items => &raw mut ITEMS_VIEW_TYPE,
    };
    // SAFETY: GIL held; the view types are ready and make ViewObjects.
    let (view, fields) = unsafe { alloc::<ViewObject>(tp) }?;
    // SAFETY: as in new_iter.
    unsafe {
        (*fields).table_obj = ffi::compat::Py_NewRef(table_obj);
        (*fields).kind = kind;
    }
    Some(view)
}

/// What an iterator of `kind` yields for one entry (new references to its
/// key and value), as a new reference.
///
/// # Safety
/// The GIL is held.
unsafe fn entry_object(kind: ViewKind, key: Strong, value: Strong) -> Option<Strong> {
    match kind {
        ViewKind::Keys => Some(key),
        ViewKind::Values => Some(value),
        // SAFETY: GIL held (caller); PyTuple_SetItem steals each new reference.
        ViewKind::Items => unsafe {
            let pair = Strong::from_new(callout::PyTuple_New(2))?;
            ffi::PyTuple_SetItem(pair.as_ptr(), 0, key.into_raw());
            ffi::PyTuple_SetItem(pair.as_ptr(), 1, value.into_raw());
            Some(pair)
        },
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
    // SAFETY: called with the GIL on a live iterator. NULL with no exception
    // set is the end of the iteration (StopIteration).
    unsafe { iter_next_impl(slf.cast()) }.map_or(null_mut(), Strong::into_raw)
}

/// The next key, value or pair; `None` at the end (no exception set) or on
/// an error (exception set).
///
/// The table is borrowed only to take new references to one key and one
/// value; a pair is made after the borrow ends, since making one can start a
/// collection whose finalizers could mutate the table.
///
/// # Safety
/// The GIL is held; `it` is a live iterator.
unsafe fn iter_next_impl(it: *mut IterObject) -> Option<Strong> {
    // SAFETY: `it` is live (caller).
    let table_obj = unsafe { (*it).table_obj };
    if table_obj.is_null() {
        return None; // exhausted
    }
    // SAFETY: `it` is live; its reference keeps `table_obj` alive, whose
    // table is null or live, and only read here.
    let (table, kind, pos, reverse) = unsafe {
        let table = table_ptr(table_obj.cast::<HashTableObject>()).as_ref();
        (table, (*it).kind, (*it).pos, (*it).reverse)
    };
    // SAFETY: GIL held; `it` is live.
    let Some(table) = (unsafe { unchanged(it, table) }) else {
        // Which message is chosen before iter_clear, which may free the table.
        // SAFETY: `it` is live.
        let same_len = table.is_some_and(|t| t.len() == unsafe { (*it).len });
        // SAFETY: GIL held; `it` is live.
        unsafe {
            iter_clear(it.cast());
            return raise_changed(same_len);
        }
    };
    let step = if reverse {
        table.prev_entry(pos)
    } else {
        table.next_entry(pos)
    };
    let Some((next, key, value)) = step else {
        // SAFETY: GIL held; `it` is live.
        unsafe { iter_clear(it.cast()) };
        return None;
    };
    // New references (INCREFs, no Python code); the borrow ends here, before
    // a tuple is made (making one can start a collection).
    let (key, value) = (key.0.clone_ref(), value.clone_ref());
    // SAFETY: `it` is live.
    unsafe {
        (*it).pos = next;
        (*it).remaining = (*it).remaining.saturating_sub(1);
    }
    // SAFETY: GIL held.
    unsafe { entry_object(kind, key, value) }
}

/// The iterator's table, if it is the one the iterator started on and no key
/// was added or removed since; None when it changed (or is gone).
///
/// # Safety
/// `it` is a live iterator.
unsafe fn unchanged(it: *mut IterObject, table: Option<&PyTable>) -> Option<&PyTable> {
    // SAFETY: `it` is live (caller).
    let version = unsafe { (*it).version };
    table.filter(|t| t.version() == version)
}

/// The RuntimeError of an iterator whose table changed, with dict's two
/// messages: another length, or the same length with other keys.
///
/// # Safety
/// The GIL is held.
#[cold]
unsafe fn raise_changed<T>(same_len: bool) -> Option<T> {
    // SAFETY: GIL held (caller).
    unsafe {
        raise(
            ffi::PyExc_RuntimeError,
            if same_len {
                "HashTable keys changed during iteration"
            } else {
                "HashTable changed size during iteration"
            },
        )
    }
}

/// `it.__length_hint__()`: how many entries are still to come, 0 once the
/// table changed (as dict's iterators answer).
unsafe extern "C" fn iter_length_hint(
    slf: *mut ffi::PyObject,
    _: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: called with the GIL on a live iterator.
    unsafe { iter_length_hint_impl(slf.cast()) }.map_or(null_mut(), Strong::into_raw)
}

/// # Safety
/// The GIL is held; `it` is a live iterator.
unsafe fn iter_length_hint_impl(it: *mut IterObject) -> Option<Strong> {
    // SAFETY: `it` is live; its reference keeps its table object alive,
    // whose table is only read, by Rust code.
    let hint = unsafe {
        let table_obj = (*it).table_obj;
        let table = if table_obj.is_null() {
            None
        } else {
            table_ptr(table_obj.cast::<HashTableObject>()).as_ref()
        };
        unchanged(it, table).map_or(0, |_| (*it).remaining)
    };
    // SAFETY: GIL held; a new int, or NULL with MemoryError set.
    unsafe { Strong::from_new(ffi::PyLong_FromSize_t(hint)) }
}

/// `it.__reduce__()`: `(iter, (list,))` with what is left to iterate, as
/// dict's iterators pickle; the iterator itself does not move.
unsafe extern "C" fn iter_reduce(
    slf: *mut ffi::PyObject,
    _: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: called with the GIL on a live iterator.
    unsafe { iter_reduce_impl(slf.cast()) }.map_or(null_mut(), Strong::into_raw)
}

/// # Safety
/// The GIL is held; `it` is a live iterator.
unsafe fn iter_reduce_impl(it: *mut IterObject) -> Option<Strong> {
    // New references to what is left, taken while the table is borrowed
    // (INCREFs only); the list and the pairs are made after the borrow.
    let mut left: Vec<(Strong, Strong)> = Vec::new();
    // SAFETY: `it` is live; its reference keeps its table object alive,
    // whose table is only read here, by Rust code.
    let kind = unsafe {
        let table_obj = (*it).table_obj;
        if !table_obj.is_null() {
            let table_now = table_ptr(table_obj.cast::<HashTableObject>()).as_ref();
            let Some(table) = unchanged(it, table_now) else {
                return raise_changed(table_now.is_some_and(|t| t.len() == (*it).len));
            };
            if left.try_reserve_exact((*it).remaining).is_err() {
                return crate::module::refs::raise_no_memory();
            }
            let mut pos = (*it).pos;
            loop {
                let step = if (*it).reverse {
                    table.prev_entry(pos)
                } else {
                    table.next_entry(pos)
                };
                let Some((next, key, value)) = step else {
                    break;
                };
                // Reserved above; a push never allocates with Rust's aborting
                // allocator, even if `remaining` were short.
                if left.len() == left.capacity() && left.try_reserve(1).is_err() {
                    return crate::module::refs::raise_no_memory();
                }
                left.push((key.0.clone_ref(), value.clone_ref()));
                pos = next;
            }
        }
        (*it).kind
    };
    // SAFETY: GIL held; every reference made is new and owned by a Strong;
    // PyList_SetItem and PyTuple_SetItem steal theirs (they fail only on a
    // bad index).
    unsafe {
        let list = Strong::from_new(callout::PyList_New(left.len() as ffi::Py_ssize_t))?;
        for (i, (key, value)) in left.into_iter().enumerate() {
            let item = entry_object(kind, key, value)?;
            ffi::PyList_SetItem(list.as_ptr(), i as ffi::Py_ssize_t, item.into_raw());
        }
        let builtins = Strong::from_new(callout::PyImport_ImportModule(c"builtins".as_ptr()))?;
        let iter = Strong::from_new(callout::PyObject_GetAttrString(
            builtins.as_ptr(),
            c"iter".as_ptr(),
        ))?;
        let args = Strong::from_new(callout::PyTuple_New(1))?;
        ffi::PyTuple_SetItem(args.as_ptr(), 0, list.into_raw());
        let result = Strong::from_new(callout::PyTuple_New(2))?;
        ffi::PyTuple_SetItem(result.as_ptr(), 0, iter.into_raw());
        ffi::PyTuple_SetItem(result.as_ptr(), 1, args.into_raw());
        Some(result)
    }
}

static mut ITER_METHODS: [ffi::PyMethodDef; 3] = [
    ffi::PyMethodDef {
        ml_name: c"__length_hint__".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer {
            PyCFunction: iter_length_hint,
        },
        ml_flags: ffi::METH_NOARGS,
        ml_doc: c"Private method returning an estimate of len(list(it)).".as_ptr(),
    },
    ffi::PyMethodDef {
        ml_name: c"__reduce__".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer {
            PyCFunction: iter_reduce,
        },
        ml_flags: ffi::METH_NOARGS,
        ml_doc: c"Return state information for pickling.".as_ptr(),
    },
    ffi::PyMethodDef::zeroed(),
];

// ---------------------------------------------------------------------------
// The view type
// ---------------------------------------------------------------------------

unsafe extern "C" fn view_traverse(
    slf: *mut ffi::PyObject,
    visit: ffi::visitproc,
    arg: *mut c_void,
) -> c_int {
    // SAFETY: as iter_traverse; a view's table_obj is never null.
    unsafe { visit((*slf.cast::<ViewObject>()).table_obj, arg) }
}

unsafe extern "C" fn view_dealloc(slf: *mut ffi::PyObject) {
    // SAFETY: called once, with the GIL, when the last reference is gone; a
    // view's table_obj is never null, and the view owns a reference to it.
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
    // SAFETY: GIL held; the view keeps its table alive, which is only read.
    unsafe {
        let table_obj = (*slf.cast::<ViewObject>()).table_obj;
        require_table(table_obj.cast()).map_or(-1, |table| (*table).len() as ffi::Py_ssize_t)
    }
}

unsafe extern "C" fn view_iter(slf: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: GIL held; the view keeps its table alive.
    unsafe {
        let view = slf.cast::<ViewObject>();
        new_iter((*view).table_obj, (*view).kind, false).map_or(null_mut(), Strong::into_raw)
    }
}

/// `reversed(view)`: `__reversed__`, METH_NOARGS.
unsafe extern "C" fn view_reversed(
    slf: *mut ffi::PyObject,
    _: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: GIL held; the view keeps its table alive.
    unsafe {
        let view = slf.cast::<ViewObject>();
        new_iter((*view).table_obj, (*view).kind, true).map_or(null_mut(), Strong::into_raw)
    }
}

/// `view.mapping`: a read-only proxy of the table (`types.MappingProxyType`),
/// as dict's views have since 3.10.
unsafe extern "C" fn view_mapping(
    slf: *mut ffi::PyObject,
    _closure: *mut c_void,
) -> *mut ffi::PyObject {
    // SAFETY: GIL held; the view keeps its table alive; a new proxy or NULL.
    unsafe { callout::PyDictProxy_New((*slf.cast::<ViewObject>()).table_obj) }
}

unsafe extern "C" fn view_contains(slf: *mut ffi::PyObject, item: *mut ffi::PyObject) -> c_int {
    // SAFETY: GIL held; `item` is a live borrowed argument.
    unsafe { view_contains_impl(slf.cast(), item) }.map_or(-1, c_int::from)
}

/// `item in view`.
///
/// # Safety
/// The GIL is held; `view` is a live view (which keeps its table alive) and
/// `item` a live object.
unsafe fn view_contains_impl(view: *mut ViewObject, item: *mut ffi::PyObject) -> Option<bool> {
    // SAFETY: `view` is live (caller).
    let (table_obj, kind) = unsafe { ((*view).table_obj.cast(), (*view).kind) };
    match kind {
        // SAFETY: GIL held; `table_obj` and `item` are live.
        ViewKind::Keys => Some(unsafe { lookup(table_obj, "__contains__", item) }?.is_some()),
        ViewKind::Items => {
            // SAFETY: GIL held; `item` is live. A 2-tuple's items are
            // borrowed from it, and it outlives this call.
            let (key, value) = unsafe {
                if ffi::PyTuple_Check(item) == 0 || ffi::PyTuple_Size(item) != 2 {
                    return Some(false);
                }
                (ffi::PyTuple_GetItem(item, 0), ffi::PyTuple_GetItem(item, 1))
            };
            // SAFETY: GIL held; `table_obj` and `key` are live.
            let Some(found) = unsafe { lookup(table_obj, "__contains__", key) }? else {
                return Some(false);
            };
            // SAFETY: GIL held; both objects are live (== may run Python code).
            match unsafe { callout::PyObject_RichCompareBool(found.as_ptr(), value, ffi::Py_EQ) } {
                -1 => None,
                equal => Some(equal == 1),
            }
        }
        ViewKind::Values => {
            // Compare against a list of the values: == runs Python code,
            // which must not meet a borrowed table.
            // SAFETY: GIL held; `view` is live; a new reference or NULL.
            let values = unsafe { Strong::from_new(callout::PySequence_List(view.cast())) }?;
            // SAFETY: GIL held; both objects are live.
            match unsafe { callout::PySequence_Contains(values.as_ptr(), item) } {
                -1 => None,
                found => Some(found == 1),
            }
        }
    }
}

unsafe extern "C" fn view_repr(slf: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: GIL held; `slf` is a live view.
    unsafe { view_repr_impl(slf) }.map_or(null_mut(), Strong::into_raw)
}

/// `hashtable_keys([...])`, or `...` for a view already being shown further
/// up (one of its own values).
///
/// # Safety
/// The GIL is held; `slf` is a live view.
unsafe fn view_repr_impl(slf: *mut ffi::PyObject) -> Option<Strong> {
    // SAFETY: GIL held. Py_ReprEnter marks this view as being shown (> 0 when
    // it already is, further up); after a 0, Py_ReprLeave must follow.
    match unsafe { callout::Py_ReprEnter(slf) } {
        0 => {}
        // SAFETY: GIL held; a new str or NULL.
        r if r > 0 => {
            return unsafe { Strong::from_new(ffi::PyUnicode_FromString(c"...".as_ptr())) };
        }
        _ => return None,
    }
    // SAFETY: GIL held; `slf` is live; every reference made is new and owned
    // by a Strong.
    let text = unsafe {
        let kind = (*slf.cast::<ViewObject>()).kind;
        Strong::from_new(callout::PySequence_List(slf))
            .and_then(|list| Strong::from_new(callout::PyObject_Repr(list.as_ptr())))
            .and_then(|inner| {
                Strong::from_new(ffi::PyUnicode_FromFormat(
                    c"%s(%U)".as_ptr(),
                    kind.name().as_ptr(),
                    inner.as_ptr(),
                ))
            })
    };
    // SAFETY: GIL held; ends what Py_ReprEnter began.
    unsafe { callout::Py_ReprLeave(slf) };
    text
}

static mut VIEW_AS_SEQUENCE: ffi::PySequenceMethods = ffi::PySequenceMethods {
    sq_length: Some(view_len),
    sq_contains: Some(view_contains),
    // SAFETY: the remaining slots are "not set" when zero.
    ..unsafe { std::mem::zeroed() }
};

const REVERSED_METHOD: ffi::PyMethodDef = ffi::PyMethodDef {
    ml_name: c"__reversed__".as_ptr(),
    ml_meth: ffi::PyMethodDefPointer {
        PyCFunction: view_reversed,
    },
    ml_flags: ffi::METH_NOARGS,
    ml_doc: c"Return a reverse iterator over the view.".as_ptr(),
};

/// The keys and items views: `__reversed__` and `isdisjoint`.
static mut SET_VIEW_METHODS: [ffi::PyMethodDef; 3] = [
    REVERSED_METHOD,
    ffi::PyMethodDef {
        ml_name: c"isdisjoint".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer {
            PyCFunction: view_isdisjoint,
        },
        ml_flags: ffi::METH_O,
        ml_doc: c"Return True if the view and the given iterable have a null intersection."
            .as_ptr(),
    },
    ffi::PyMethodDef::zeroed(),
];

/// The values view: `__reversed__` only.
static mut VALUES_VIEW_METHODS: [ffi::PyMethodDef; 2] =
    [REVERSED_METHOD, ffi::PyMethodDef::zeroed()];

static mut VIEW_GETSET: [ffi::PyGetSetDef; 2] = [
    ffi::PyGetSetDef {
        name: c"mapping".as_ptr(),
        get: Some(view_mapping),
        set: None,
        doc: c"A read-only proxy of the HashTable this view looks at.".as_ptr(),
        closure: null_mut(),
    },
    GETSET_END,
];

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
    tp_methods: (&raw mut ITER_METHODS).cast(),
    // SAFETY: the remaining fields are "not set" when zero.
    ..unsafe { std::mem::zeroed() }
};

/// One of the three view types. The keys and items views are sets: they
/// have `number` (the operators), `compare` and no hash (as dict's, since
/// they compare by contents); the values view has neither.
const fn view_type(
    name: &'static CStr,
    doc: &'static CStr,
    number: *mut ffi::PyNumberMethods,
    compare: Option<ffi::richcmpfunc>,
    methods: *mut ffi::PyMethodDef,
) -> ffi::PyTypeObject {
    ffi::PyTypeObject {
        ob_base: ffi::PyVarObject {
            ob_base: ffi::PyObject_HEAD_INIT,
            ob_size: 0,
        },
        tp_name: name.as_ptr(),
        tp_basicsize: size_of::<ViewObject>() as ffi::Py_ssize_t,
        tp_dealloc: Some(view_dealloc),
        tp_repr: Some(view_repr),
        tp_as_number: number,
        tp_as_sequence: &raw mut VIEW_AS_SEQUENCE,
        tp_hash: if compare.is_some() {
            Some(ffi::PyObject_HashNotImplemented)
        } else {
            None
        },
        tp_flags: ffi::Py_TPFLAGS_DEFAULT | ffi::Py_TPFLAGS_HAVE_GC,
        tp_doc: doc.as_ptr(),
        tp_traverse: Some(view_traverse),
        tp_richcompare: compare,
        tp_iter: Some(view_iter),
        tp_methods: methods,
        tp_getset: (&raw mut VIEW_GETSET).cast(),
        // SAFETY: the remaining fields are "not set" when zero.
        ..unsafe { std::mem::zeroed() }
    }
}

pub(crate) static mut KEYS_VIEW_TYPE: ffi::PyTypeObject = view_type(
    c"hashtable.hashtable_keys",
    c"A live view of a HashTable's keys: len, in, iteration, and a set.",
    &raw mut VIEW_SET_NUMBER,
    Some(view_richcompare),
    (&raw mut SET_VIEW_METHODS).cast(),
);

pub(crate) static mut ITEMS_VIEW_TYPE: ffi::PyTypeObject = view_type(
    c"hashtable.hashtable_items",
    c"A live view of a HashTable's (key, value) pairs: len, in, iteration, and a set.",
    &raw mut VIEW_SET_NUMBER,
    Some(view_richcompare),
    (&raw mut SET_VIEW_METHODS).cast(),
);

pub(crate) static mut VALUES_VIEW_TYPE: ffi::PyTypeObject = view_type(
    c"hashtable.hashtable_values",
    c"A live view of a HashTable's values: len, in, iteration.",
    null_mut(),
    None,
    (&raw mut VALUES_VIEW_METHODS).cast(),
);
