//! The `hashtable.HashTable` type: a hand-written static `PyTypeObject`.
//!
//! It roughly corresponds to this Python class:
//!
//! ```python
//! class HashTable:
//!     def __init__(self, size=4, max_load=0.5, hash_func=hash):
//!         self.size = size              # buckets now (read-only)
//!         self.load = 0                 # entries (read-only)
//!         self.max_load = max_load      # read-only
//!         self.hash_func = hash_func    # read-only; None: hashtable.naive_hash
//!     def set(self, key, value): ...; return self
//!     def get(self, key, default=None): ...
//!     def pop(self, key, default=<missing>): ...
//!     def __repr__(self): ...           # one line per bucket: [] and a * per entry
//! ```
//!
//! The file reads in the order an object lives, as CPython's own
//! `Doc/includes/newtypes/custom4.c` does: traverse, clear, dealloc, new,
//! init, repr, the methods `set`, `get` and `pop`, the members (and the
//! `max_load` getter), the method table and the type object. The object
//! struct, `HashTableObject`, is in object.rs; the parsing of `__init__`'s
//! arguments in args.rs; the hashing policy in hashing.rs; the "hash first,
//! then borrow" work of `set`, `get` and `pop` in access.rs; what the type
//! has beyond the talk in mapping.rs (the mapping protocol) and
//! dict_methods.rs (dict's other methods).
//!
//! Every slot fails one way: a thin `extern "C"` function over an `_impl`
//! function that returns `Option` and uses `?`. The deliberate bugs of the
//! lessons (docs/walkthrough.md) sit next to the correct lines, switched by
//! Cargo features, each with a lesson marker; a normal build has none.

use std::ffi::c_int;
use std::mem::offset_of;
use std::ptr::{NonNull, null_mut};

use pyo3_ffi as ffi;

use super::access::{insert, lookup, remove};
use super::args::{InitArgs, parse_init_args, positional};
use super::callout;
use super::dict_methods::{DICT_METHODS, update_from};
use super::hashing::HashKind;
use super::mapping;
use super::object::{
    HashTableObject, PyTable, after_change, install, raise_table_error, register_type,
    trashcan_drop, try_box,
};
use super::pickling::PICKLE_METHODS;
// The talk's second lesson removes the one use (tp_clear's release).
#[cfg(not(feature = "forget-decref"))]
use super::object::trashcan_xdecref;
use super::refs::{GETSET_END, Repr, Strong, Text, none, raise_key_error, raise_no_memory};
use super::trace::{flush as flush_trace, module_call};
use super::union;
use crate::library::trace::{Level, Origin};
use crate::trace;

// ---------------------------------------------------------------------------
// Garbage collection: traverse and clear
// ---------------------------------------------------------------------------

/// tp_traverse: visit every object we own a reference to, so the cycle
/// collector can find cycles through hash_func or through stored keys and
/// values.
// LESSON(no-gc): the build without GC support has no traverse.
#[cfg(not(feature = "no-gc"))]
unsafe extern "C" fn hashtable_traverse(
    slf: *mut ffi::PyObject,
    visit: ffi::visitproc,
    arg: *mut std::ffi::c_void,
) -> c_int {
    let obj = slf.cast::<HashTableObject>();
    // SAFETY: the collector passes a live HashTable and holds the GIL. The
    // table is only read: no module code holds a mutable borrow of it while
    // Python objects can be allocated (the only way a collection starts).
    unsafe {
        if !(*obj).hash_func.is_null() {
            let r = visit((*obj).hash_func, arg);
            if r != 0 {
                return r;
            }
        }
        if let Some(table) = (*obj).table.as_ref() {
            for (key, value) in table.iter() {
                let r = visit(key.as_ptr(), arg);
                if r != 0 {
                    return r;
                }
                let r = visit(value.as_ptr(), arg);
                if r != 0 {
                    return r;
                }
            }
        }
    }
    0
}

/// tp_clear: drop every reference the object owns (hash_func, then the
/// table and the values in it), to break cycles; dealloc calls it too.
///
/// Each field is detached before its reference is released: releasing may
/// run `__del__` code that looks at this object again.
unsafe extern "C" fn hashtable_clear(slf: *mut ffi::PyObject) -> c_int {
    let obj = slf.cast::<HashTableObject>();
    // SAFETY: called with the GIL on a HashTable (live, or being
    // deallocated); each pointer is swapped out of the struct before use.
    unsafe {
        let hash_func = std::mem::replace(&mut (*obj).hash_func, null_mut());
        (*obj).hash_epoch = (*obj).hash_epoch.wrapping_add(1);
        // LESSON(forget-decref): the talk's second bug. Without this line
        // every table leaks a reference to its hash function. (The release
        // goes through the trashcan: a hash function can hold another table.)
        #[cfg(not(feature = "forget-decref"))]
        trashcan_xdecref(hash_func);
        #[cfg(feature = "forget-decref")]
        let _ = hash_func;

        let table = std::mem::replace(&mut (*obj).table, null_mut());
        after_change(obj);
        if !table.is_null() {
            // Releases every value (Strong's Drop), then the library prints its free line.
            trashcan_drop(Box::from_raw(table));
        }
    }
    0
}

// ---------------------------------------------------------------------------
// Lifecycle: dealloc, new, init
// ---------------------------------------------------------------------------

/// tp_dealloc: the reference count reached zero.
unsafe extern "C" fn hashtable_dealloc(slf: *mut ffi::PyObject) {
    let obj = slf.cast::<HashTableObject>();
    // SAFETY: Python calls tp_dealloc once, with the GIL, on an object nobody
    // references any more.
    unsafe {
        // Untrack first, so a collection triggered by the code below never
        // sees a half-destroyed object.
        #[cfg(not(feature = "no-gc"))]
        ffi::PyObject_GC_UnTrack(slf.cast());
        let (has_hash_func, load) = (!(*obj).hash_func.is_null(), (*obj).load);
        trace!(
            Level::Lifecycle,
            Origin::Module,
            "dealloc: releasing {} and {load} value{}",
            if has_hash_func {
                "hash_func"
            } else {
                "no hash_func"
            },
            if load == 1 { "" } else { "s" }
        );
        flush_trace();
        hashtable_clear(slf);
        // tp_free frees the object's own memory (PyObject_GC_Del for us; a
        // subclass may have another), never the table: that was done above.
        let tp_free = (*ffi::Py_TYPE(slf))
            .tp_free
            .expect("every ready type has tp_free");
        tp_free(slf.cast());
    }
}

/// tp_new: allocate the object; `__init__` makes the table.
unsafe extern "C" fn hashtable_new(
    subtype: *mut ffi::PyTypeObject,
    _args: *mut ffi::PyObject,
    _kwds: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: Python calls tp_new with the GIL and a ready type (ours or a
    // subclass); tp_alloc returns a new, zero-filled object (tracked by the
    // collector for GC types) or NULL with MemoryError set.
    unsafe {
        let alloc = (*subtype).tp_alloc.expect("every ready type has tp_alloc");
        let slf = callout::call_tp_alloc(alloc, subtype, 0);
        if let Some(obj) = slf.cast::<HashTableObject>().as_mut() {
            obj.table = null_mut();
            obj.hash_func = null_mut();
            obj.hash_kind = HashKind::Naive;
            obj.initial_size = 0;
            obj.hash_epoch = 0;
        }
        slf
    }
}

/// tp_init: `HashTable(size=4, max_load=0.5, hash_func=hash)`, or
/// `HashTable(data, *, size=4, max_load=0.5, hash_func=hash)` with `data` a
/// mapping or an iterable of pairs, as `dict(data)`. Calling it again
/// replaces the table with a new one (empty, or holding `data`).
unsafe extern "C" fn hashtable_init(
    slf: *mut ffi::PyObject,
    args: *mut ffi::PyObject,
    kwds: *mut ffi::PyObject,
) -> c_int {
    // SAFETY: Python calls tp_init with the GIL, a live object of our type,
    // an args tuple and a kwargs dict or NULL.
    unsafe { init_impl(slf.cast(), args, kwds) }.map_or(-1, |()| 0)
}

/// # Safety
/// As [`hashtable_init`].
unsafe fn init_impl(
    obj: *mut HashTableObject,
    args: *mut ffi::PyObject,
    kwds: *mut ffi::PyObject,
) -> Option<()> {
    // SAFETY: GIL held; `args` and `kwds` are what tp_init received.
    let InitArgs {
        data,
        size,
        max_load,
        hash_func,
        hash_kind,
    } = unsafe { parse_init_args(args, kwds) }?;
    if crate::library::trace::enabled(Level::Calls) {
        match &hash_func {
            // Repr calls repr() (Python code): no table is borrowed here.
            Some(f) => trace!(
                Level::Calls,
                Origin::Module,
                "init(size={size}, max_load={max_load}, hash_func={})",
                Repr(f.as_ptr())
            ),
            None => trace!(
                Level::Calls,
                Origin::Module,
                "init(size={size}, max_load={max_load}, hash_func=None)"
            ),
        }
    }
    let table = PyTable::new(size, max_load);
    flush_trace();
    let table = match table {
        // SAFETY: GIL held.
        Ok(table) => unsafe { try_box(table) }?,
        // SAFETY: GIL held.
        Err(e) => return unsafe { raise_table_error(e) },
    };
    // SAFETY: `obj` is live and no borrow of its table is alive.
    unsafe { install(obj, table, hash_func, hash_kind, size) };
    match data {
        None => Some(()),
        // SAFETY: `obj` is live; `data` is borrowed from `args`, which
        // outlives this call.
        Some(data) => unsafe { update_from(obj, data.as_ptr()) },
    }
}

// ---------------------------------------------------------------------------
// repr: the talk's picture of the buckets
// ---------------------------------------------------------------------------

/// Above this many buckets, repr prints a summary instead of the picture.
const PICTURE_MAX_BUCKETS: usize = 64;

unsafe extern "C" fn hashtable_repr(slf: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: Python calls tp_repr with the GIL and a live object.
    unsafe { repr_impl(slf.cast()) }.map_or(null_mut(), Strong::into_raw)
}

/// One line per bucket, `[]` followed by a `*` per entry chained there; a
/// summary line above [`PICTURE_MAX_BUCKETS`] buckets.
///
/// # Safety
/// The GIL is held; `obj` is a live HashTable.
unsafe fn repr_impl(obj: *mut HashTableObject) -> Option<Strong> {
    module_call("repr()");
    // SAFETY: `obj` is live; its table is null or live, only read while the
    // text is made (no Python code runs until the str is).
    let Some(table) = (unsafe { (*obj).table.as_ref() }) else {
        // SAFETY: GIL held; a new str or NULL.
        return unsafe {
            Strong::from_new(ffi::PyUnicode_FromString(
                c"<hashtable.HashTable (uninitialised)>".as_ptr(),
            ))
        };
    };
    if table.buckets() > PICTURE_MAX_BUCKETS {
        let Ok(stats) = table.stats() else {
            // SAFETY: GIL held.
            return unsafe { raise_no_memory() };
        };
        let text = Text::of(format_args!(
            "<hashtable.HashTable: {} buckets, load {}, longest chain {}, {} empty buckets \
             (picture shown up to {PICTURE_MAX_BUCKETS} buckets)>",
            stats.buckets, stats.load, stats.longest_chain, stats.empty_buckets
        ));
        // SAFETY: GIL held; a valid UTF-8 buffer; a new str or NULL.
        return unsafe { new_str(text.as_str()) };
    }
    // At most 64 lines of "[]", stars and a newline: the picture's length is
    // known before a byte is written, and the buffer is reserved fallibly.
    let length: usize = table
        .chain_lengths()
        .map(|n| n + 3)
        .sum::<usize>()
        .saturating_sub(1);
    let mut picture = String::new();
    if picture.try_reserve_exact(length).is_err() {
        // SAFETY: GIL held.
        return unsafe { raise_no_memory() };
    }
    for (i, n) in table.chain_lengths().enumerate() {
        if i > 0 {
            picture.push('\n');
        }
        picture.push_str("[]");
        picture.extend(std::iter::repeat_n('*', n));
    }
    // SAFETY: GIL held; a valid UTF-8 buffer; a new str or NULL.
    unsafe { new_str(&picture) }
}

/// A new str with `text`'s characters, or NULL with an exception set.
///
/// # Safety
/// The GIL is held.
unsafe fn new_str(text: &str) -> Option<Strong> {
    // SAFETY: GIL held (caller); a valid UTF-8 buffer of the given length.
    unsafe {
        Strong::from_new(ffi::PyUnicode_FromStringAndSize(
            text.as_ptr().cast(),
            text.len() as ffi::Py_ssize_t,
        ))
    }
}

// ---------------------------------------------------------------------------
// Methods: set, get, pop
// ---------------------------------------------------------------------------

/// `set(key, value)`: returns the table itself, as in the talk's demo.
unsafe extern "C" fn hashtable_set(
    slf: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: Python calls a method with the GIL, a live `self` and `nargs`
    // borrowed arguments.
    unsafe { set_impl(slf, args, nargs) }.unwrap_or(null_mut())
}

/// `self` as a new reference, after the set: the return the talk got wrong.
///
/// # Safety
/// As [`hashtable_set`].
unsafe fn set_impl(
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> Option<*mut ffi::PyObject> {
    // SAFETY: as hashtable_set.
    unsafe {
        let [key, value] = positional::<2>("set", args, nargs, 2)?;
        insert(slf.cast(), "set", key, value)?;
        // LESSON(forget-incref): the talk's first bug. Returning self
        // without this INCREF hands the caller a reference it does not own.
        #[cfg(not(feature = "forget-incref"))]
        ffi::Py_INCREF(slf);
        Some(slf)
    }
}

/// `get(key, default=None)`.
unsafe extern "C" fn hashtable_get(
    slf: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: as hashtable_set.
    unsafe { get_impl(slf.cast(), args, nargs) }.map_or(null_mut(), Strong::into_raw)
}

/// # Safety
/// As [`hashtable_set`].
unsafe fn get_impl(
    obj: *mut HashTableObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> Option<Strong> {
    // SAFETY: as hashtable_set; a given default is a live borrowed argument.
    unsafe {
        let [key, default] = positional::<2>("get", args, nargs, 1)?;
        Some(match (lookup(obj, "get", key)?, NonNull::new(default)) {
            (Some(value), _) => value,
            (None, Some(default)) => Strong::from_borrowed(default),
            (None, None) => none(),
        })
    }
}

/// `pop(key[, default])`.
unsafe extern "C" fn hashtable_pop(
    slf: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: as hashtable_set.
    unsafe { pop_impl(slf.cast(), args, nargs) }.map_or(null_mut(), Strong::into_raw)
}

/// # Safety
/// As [`hashtable_set`].
unsafe fn pop_impl(
    obj: *mut HashTableObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> Option<Strong> {
    // SAFETY: as hashtable_set; a given default is a live borrowed argument.
    unsafe {
        let [key, default] = positional::<2>("pop", args, nargs, 1)?;
        match (remove(obj, "pop", key)?, NonNull::new(default)) {
            // The table's reference becomes the caller's: no INCREF, no DECREF.
            (Some(value), _) => Some(value),
            (None, Some(default)) => Some(Strong::from_borrowed(default)),
            (None, None) => raise_key_error(key),
        }
    }
}

// ---------------------------------------------------------------------------
// Members, the max_load getter and the method table
// ---------------------------------------------------------------------------

static mut HASHTABLE_MEMBERS: [ffi::PyMemberDef; 4] = [
    ffi::PyMemberDef {
        name: c"size".as_ptr(),
        type_code: ffi::Py_T_PYSSIZET,
        offset: offset_of!(HashTableObject, size) as ffi::Py_ssize_t,
        flags: ffi::Py_READONLY,
        doc: c"The number of buckets now (it doubles as the table grows).".as_ptr(),
    },
    ffi::PyMemberDef {
        name: c"load".as_ptr(),
        type_code: ffi::Py_T_PYSSIZET,
        offset: offset_of!(HashTableObject, load) as ffi::Py_ssize_t,
        flags: ffi::Py_READONLY,
        doc: c"The number of entries.".as_ptr(),
    },
    ffi::PyMemberDef {
        name: c"hash_func".as_ptr(),
        // T_OBJECT, not T_OBJECT_EX: a null field reads as None, which is
        // exactly how a table using the naive hash shows it.
        #[allow(deprecated)]
        type_code: ffi::_Py_T_OBJECT,
        offset: offset_of!(HashTableObject, hash_func) as ffi::Py_ssize_t,
        flags: ffi::Py_READONLY,
        doc: c"The function keys are hashed with (None: hashtable.naive_hash).".as_ptr(),
    },
    ffi::PyMemberDef {
        name: std::ptr::null(),
        type_code: 0,
        offset: 0,
        flags: 0,
        doc: std::ptr::null(),
    },
];

/// `max_load`, read-only: not a member but a getter, so that the number is
/// stored once, in the table (a member reads a field of the object). 0.0
/// for a table that is not initialised, or gone, as `size` and `load` read 0.
unsafe extern "C" fn hashtable_get_max_load(
    slf: *mut ffi::PyObject,
    _closure: *mut std::ffi::c_void,
) -> *mut ffi::PyObject {
    // SAFETY: Python calls a getter with the GIL and a live object of our type.
    unsafe { max_load_impl(slf.cast()) }.map_or(null_mut(), Strong::into_raw)
}

/// # Safety
/// As [`hashtable_get_max_load`].
unsafe fn max_load_impl(obj: *mut HashTableObject) -> Option<Strong> {
    // SAFETY: `obj` is live; its table is null or live, read for one number.
    let max_load = unsafe { (*obj).table.as_ref() }.map_or(0.0, |table| table.max_load());
    // SAFETY: GIL held; a new float, or NULL with MemoryError set.
    unsafe { Strong::from_new(ffi::PyFloat_FromDouble(max_load)) }
}

static mut HASHTABLE_GETSET: [ffi::PyGetSetDef; 2] = [
    ffi::PyGetSetDef {
        name: c"max_load".as_ptr(),
        get: Some(hashtable_get_max_load),
        // No setter: assigning or deleting raises AttributeError, as for the members.
        set: None,
        doc: c"The load proportion (entries / buckets) the table never exceeds.".as_ptr(),
        closure: null_mut(),
    },
    GETSET_END,
];

/// The talk's three methods; dict's others follow them in the type's table.
const TALK_METHODS: [ffi::PyMethodDef; 3] = [
    ffi::PyMethodDef {
        ml_name: c"set".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer {
            PyCFunctionFast: hashtable_set,
        },
        ml_flags: ffi::METH_FASTCALL,
        ml_doc: c"set($self, key, value, /)\n--\n\nSet key to value and return the table itself (as in the talk's demo)."
            .as_ptr(),
    },
    ffi::PyMethodDef {
        ml_name: c"get".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer {
            PyCFunctionFast: hashtable_get,
        },
        ml_flags: ffi::METH_FASTCALL,
        ml_doc: c"get($self, key, default=None, /)\n--\n\nReturn the value for key, or default when key is missing."
            .as_ptr(),
    },
    ffi::PyMethodDef {
        ml_name: c"pop".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer {
            PyCFunctionFast: hashtable_pop,
        },
        ml_flags: ffi::METH_FASTCALL,
        ml_doc: c"pop($self, key, /, *default)\n--\n\nRemove key and return its value.\n\nWhen key is missing, return default if one is given, else raise KeyError.\n(dict.pop(key[, default]); no text signature can say \"optional, no default\".)"
            .as_ptr(),
    },
];

const METHOD_COUNT: usize = TALK_METHODS.len() + DICT_METHODS.len() + PICKLE_METHODS.len();

/// The talk's methods, then dict's (dict_methods.rs), then pickling's
/// (pickling.rs), then the zeroed sentinel.
static mut HASHTABLE_METHODS: [ffi::PyMethodDef; METHOD_COUNT + 1] = method_table();

const fn method_table() -> [ffi::PyMethodDef; METHOD_COUNT + 1] {
    let mut table = [ffi::PyMethodDef::zeroed(); METHOD_COUNT + 1];
    let mut i = 0;
    while i < METHOD_COUNT {
        let (talk, dict) = (TALK_METHODS.len(), DICT_METHODS.len());
        table[i] = if i < talk {
            TALK_METHODS[i]
        } else if i < talk + dict {
            DICT_METHODS[i - talk]
        } else {
            PICKLE_METHODS[i - talk - dict]
        };
        i += 1;
    }
    table
}

// ---------------------------------------------------------------------------
// The type object
// ---------------------------------------------------------------------------

/// No "--" line after the signature: that would make it a text signature,
/// and a text signature cannot name the builtin `hash` as a default.
const TYPE_DOC: &std::ffi::CStr = c"HashTable(size=4, max_load=0.5, hash_func=hash)
HashTable(data, *, size=4, max_load=0.5, hash_func=hash)

A chained hash table: the one of the talk \"Peeking into Python's C API\".
The one positional argument is the size when it is an int; otherwise it is
data, a mapping or an iterable of (key, value) pairs, as dict(data).

size      the initial number of buckets (a positive int).
max_load  the largest load proportion (entries / buckets); before an add
          would exceed it, the bucket array doubles.
hash_func called with each key, must return an int. The builtin hash by
          default; None for the talk's naive hash (hashtable.naive_hash).

Keys are any hashable objects and values any objects, in insertion order,
compared as dict compares them (1, 1.0 and True are one key). repr() draws
the buckets: one line per bucket, [] and a * per entry.";

#[cfg(not(feature = "no-gc"))]
const TYPE_FLAGS: std::ffi::c_ulong = ffi::Py_TPFLAGS_DEFAULT
    | ffi::Py_TPFLAGS_BASETYPE
    | ffi::Py_TPFLAGS_HAVE_GC
    | mapping::MAPPING_FLAG;
// LESSON(no-gc): without HAVE_GC the collector never sees our references.
#[cfg(feature = "no-gc")]
const TYPE_FLAGS: std::ffi::c_ulong =
    ffi::Py_TPFLAGS_DEFAULT | ffi::Py_TPFLAGS_BASETYPE | mapping::MAPPING_FLAG;

static mut HASHTABLE_TYPE: ffi::PyTypeObject = ffi::PyTypeObject {
    ob_base: ffi::PyVarObject {
        ob_base: ffi::PyObject_HEAD_INIT,
        ob_size: 0,
    },
    tp_name: c"hashtable.HashTable".as_ptr(),
    tp_basicsize: size_of::<HashTableObject>() as ffi::Py_ssize_t,
    tp_itemsize: 0,
    tp_dealloc: Some(hashtable_dealloc),
    tp_repr: Some(hashtable_repr),
    tp_as_number: &raw mut union::HASHTABLE_AS_NUMBER,
    tp_as_sequence: &raw mut mapping::HASHTABLE_AS_SEQUENCE,
    tp_as_mapping: &raw mut mapping::HASHTABLE_AS_MAPPING,
    // Mutable, so unhashable, as dict.
    tp_hash: Some(ffi::PyObject_HashNotImplemented),
    tp_flags: TYPE_FLAGS,
    tp_doc: TYPE_DOC.as_ptr(),
    // LESSON(no-gc): without traverse and clear, no cycle through a table is ever freed.
    #[cfg(not(feature = "no-gc"))]
    tp_traverse: Some(hashtable_traverse),
    #[cfg(not(feature = "no-gc"))]
    tp_clear: Some(hashtable_clear),
    tp_richcompare: Some(mapping::hashtable_richcompare),
    tp_iter: Some(mapping::hashtable_iter),
    tp_getset: (&raw mut HASHTABLE_GETSET).cast(),
    tp_methods: (&raw mut HASHTABLE_METHODS).cast(),
    tp_members: (&raw mut HASHTABLE_MEMBERS).cast(),
    tp_init: Some(hashtable_init),
    tp_new: Some(hashtable_new),
    // tp_alloc and tp_free are inherited (PyType_GenericAlloc, PyObject_GC_Del):
    // tp_free frees the object's memory, so it is no place for freeing the table.
    // SAFETY: every other field of PyTypeObject is a null pointer, a None
    // function pointer or a zero number when all bits are zero, which is
    // what "not set" means to PyType_Ready.
    ..unsafe { std::mem::zeroed() }
};

/// Readies the type (PyType_Ready fills in the inherited slots the first
/// time, and does nothing after); returns it, borrowed: a static that lives
/// as long as the process.
///
/// # Safety
/// The GIL is held.
pub(crate) unsafe fn ready() -> Option<*mut ffi::PyTypeObject> {
    let tp = &raw mut HASHTABLE_TYPE;
    // SAFETY: GIL held (caller); the type is a static.
    if unsafe { callout::PyType_Ready(tp) } < 0 {
        return None;
    }
    register_type(tp);
    Some(tp)
}
