//! The module layer: the talk's hand-written C extension module, in Rust on
//! the raw declarations of `pyo3-ffi`.
//!
//! Every `unsafe` block and every reference count of the crate is in this
//! directory. Each file is one concern, and each imports only files listed
//! below it (no file imports one above it):
//! - this file: the module functions (and `pickling.rs`'s `_rebuild`), the
//!   `PyModuleDef` and `PyInit_hashtable`;
//! - `hashtable_type.rs`: the talk's `HashTable` type, in the order an object
//!   lives (traverse, clear, dealloc, new, init, repr, set/get/pop, members,
//!   methods, the type object);
//! - `pickling.rs`: pickle, `copy.copy` and `copy.deepcopy` (`__reduce__`,
//!   and the module function `_rebuild` it names);
//! - `union.rs`: `h | other`, `other | h`, `h |= other`;
//! - `dict_methods.rs`: dict's methods beyond the talk's three (keys,
//!   values, items, setdefault, popitem, update, clear, copy, fromkeys,
//!   `__reversed__`, `__sizeof__`, `__class_getitem__`), and `stats()`;
//! - `mapping.rs`: the mapping protocol beyond the talk (`len(h)`, `h[k]`,
//!   `del h[k]`, `k in h`, `iter(h)`, `==`);
//! - `views.rs`: what `iter(h)`, `reversed(h)`, `h.keys()`, `h.values()`,
//!   `h.items()` return;
//! - `view_sets.rs`: the keys and items views as sets (comparisons, `&`,
//!   `|`, `-`, `^`, `isdisjoint`);
//! - `access.rs`: hash first, then borrow: the one way to reach a key;
//! - `object.rs`: the object struct and its state (the table behind it, what
//!   every change ends with, the trashcan);
//! - `hashing.rs`: the hashing policy (the talk's `get_hash`, the default
//!   hash function, recognising the builtin `hash`);
//! - `keys.rs`: Python keys to library keys and back;
//! - `args.rs`: positional arguments of METH_FASTCALL methods;
//! - `refs.rs`: owned references (`Strong`), results and error helpers;
//! - `trace.rs`: where trace lines go (`sys.stdout`);
//! - `callout.rs`: every C-API call from which Python code can run, made so
//!   that a daemon thread ended inside it at shutdown cannot abort the process;
//! - `layout.rs`: the check of pyo3-ffi's struct layouts against `Python.h`;
//! - `c_abi.rs`: a plain C ABI of the library, for ctypes (no Python objects);
//! - `alloc.rs`: Rust's allocator, routed to Python's raw memory domain.
//!
//! Every slot and module function fails one way: a thin `extern "C"`
//! function over an `_impl` function that returns `Option` (None: an
//! exception is set) and uses `?`.

mod access;
mod alloc;
mod args;
mod c_abi;
mod callout;
mod dict_methods;
mod hashing;
mod hashtable_type;
mod keys;
mod layout;
mod mapping;
mod object;
mod pickling;
mod refs;
mod trace;
mod union;
mod view_sets;
mod views;

use std::ffi::{CStr, c_int, c_void};
use std::ptr::{NonNull, null_mut};

use pyo3_ffi as ffi;

use crate::library::trace::{self as library_trace, Level, Origin};
use refs::{Strong, TypeName, raise, raise_fmt};

/// The deliberate bugs compiled into this build (Cargo features; see
/// docs/walkthrough.md). A normal build has none.
const BUGS: &[(&str, bool)] = &[
    ("forget-incref", cfg!(feature = "forget-incref")),
    ("forget-decref", cfg!(feature = "forget-decref")),
    ("decref-borrowed", cfg!(feature = "decref-borrowed")),
    ("no-gc", cfg!(feature = "no-gc")),
    ("callback-race", cfg!(feature = "callback-race")),
    ("compare-in-place", cfg!(feature = "compare-in-place")),
    ("thin-ice", cfg!(feature = "thin-ice")),
    ("leak-on-error", cfg!(feature = "leak-on-error")),
];

// ---------------------------------------------------------------------------
// Module functions
// ---------------------------------------------------------------------------

/// `naive_hash(key)`: the talk's deliberately terrible hash.
unsafe extern "C" fn naive_hash(
    _module: *mut ffi::PyObject,
    key: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: Python calls a METH_O function with the GIL and one borrowed,
    // live argument.
    unsafe { naive_hash_impl(key) }.map_or(null_mut(), Strong::into_raw)
}

/// # Safety
/// The GIL is held; `key` is live.
unsafe fn naive_hash_impl(key: *mut ffi::PyObject) -> Option<Strong> {
    // SAFETY: GIL held; `key` is live; a new int or NULL.
    unsafe {
        let hash = hashing::naive_hash(key)?;
        Strong::from_new(ffi::PyLong_FromLongLong(hash))
    }
}

/// `set_trace(level)`: returns the previous level.
unsafe extern "C" fn set_trace(
    _module: *mut ffi::PyObject,
    level: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: as naive_hash.
    unsafe { set_trace_impl(level) }.map_or(null_mut(), Strong::into_raw)
}

/// # Safety
/// The GIL is held; `level` is live.
unsafe fn set_trace_impl(level: *mut ffi::PyObject) -> Option<Strong> {
    // SAFETY: GIL held; `level` is live, and a str when its UTF-8 is read
    // (a buffer it owns, which outlives this function's use of it).
    let name = unsafe {
        if ffi::PyUnicode_Check(level) == 0 {
            return raise_fmt(
                ffi::PyExc_TypeError,
                format_args!("level must be a str, not {}", TypeName(level)),
            );
        }
        let name = ffi::PyUnicode_AsUTF8(level);
        if name.is_null() {
            return None;
        }
        CStr::from_ptr(name).to_str().unwrap_or("")
    };
    let Some(new) = Level::from_name(name) else {
        // SAFETY: GIL held.
        return unsafe { raise_bad_level("level", name) };
    };
    // SAFETY: GIL held.
    unsafe { new_str(library_trace::set_level(new).name()) }
}

/// ValueError: `what` must be one of the level names, not `name`.
///
/// # Safety
/// The GIL is held.
unsafe fn raise_bad_level<T>(what: &str, name: &str) -> Option<T> {
    struct Names;
    impl std::fmt::Display for Names {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            for (i, n) in Level::NAMES.iter().enumerate() {
                write!(f, "{}'{n}'", if i > 0 { ", " } else { "" })?;
            }
            Ok(())
        }
    }
    // SAFETY: GIL held (caller).
    unsafe {
        raise_fmt(
            ffi::PyExc_ValueError,
            format_args!("{what} must be one of {Names}, not {name:?}"),
        )
    }
}

static mut MODULE_METHODS: [ffi::PyMethodDef; 4] = [
    ffi::PyMethodDef {
        ml_name: c"naive_hash".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer { PyCFunction: naive_hash },
        ml_flags: ffi::METH_O,
        ml_doc: c"naive_hash(key, /)\n--\n\nThe talk's deliberately naive hash: an int hashes to itself, a float to\nits floor, a str to its length. HashTable(hash_func=None) uses it."
            .as_ptr(),
    },
    ffi::PyMethodDef {
        ml_name: c"set_trace".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer { PyCFunction: set_trace },
        ml_flags: ffi::METH_O,
        ml_doc: c"set_trace(level, /)\n--\n\nSet how much the module and the library print: 'off', 'lifecycle'\n(allocation, dealloc and free lines; the default) or 'calls' (also every\ncall and every library step). Return the previous level."
            .as_ptr(),
    },
    pickling::REBUILD_FUNCTION,
    ffi::PyMethodDef::zeroed(),
];

// ---------------------------------------------------------------------------
// Module initialisation
// ---------------------------------------------------------------------------

/// Adds `value` (a new reference, or None after a failed call) to the module.
///
/// PyModule_AddObjectRef (3.10; pyo3-ffi's compat module before) takes its
/// own reference and steals nothing, so ours is released by Strong's Drop on
/// both paths. The talk-era PyModule_AddObject stole the reference only on
/// success: the caller had to release it on failure and not on success.
///
/// # Safety
/// The GIL is held and `module` is a module.
unsafe fn add_object(module: *mut ffi::PyObject, name: &CStr, value: Option<Strong>) -> Option<()> {
    let value = value?;
    // SAFETY: GIL held; `value` is live; the module adds its own reference.
    if unsafe { ffi::compat::PyModule_AddObjectRef(module, name.as_ptr(), value.as_ptr()) } < 0 {
        return None;
    }
    Some(())
}

/// A tuple of `len` items, item `i` made by `item(i)` (a new reference, or
/// None with an exception set), as a new reference.
///
/// # Safety
/// The GIL is held.
unsafe fn tuple_of(len: usize, mut item: impl FnMut(usize) -> Option<Strong>) -> Option<Strong> {
    // SAFETY: GIL held; PyTuple_New returns a new reference, and
    // PyTuple_SetItem steals the new reference of each item.
    unsafe {
        let tuple = Strong::from_new(callout::PyTuple_New(len as ffi::Py_ssize_t))?;
        for i in 0..len {
            let value = item(i)?.into_raw();
            if ffi::PyTuple_SetItem(tuple.as_ptr(), i as ffi::Py_ssize_t, value) < 0 {
                return None;
            }
        }
        Some(tuple)
    }
}

/// A new str, or None with an exception set.
///
/// # Safety
/// The GIL is held.
unsafe fn new_str(text: &str) -> Option<Strong> {
    // SAFETY: GIL held; a valid UTF-8 buffer of the given length.
    unsafe {
        Strong::from_new(ffi::PyUnicode_FromStringAndSize(
            text.as_ptr().cast(),
            text.len() as ffi::Py_ssize_t,
        ))
    }
}

/// A new int, or None with an exception set.
///
/// # Safety
/// The GIL is held.
unsafe fn new_int(value: ffi::Py_ssize_t) -> Option<Strong> {
    // SAFETY: GIL held.
    unsafe { Strong::from_new(ffi::PyLong_FromSsize_t(value)) }
}

/// `hashtable._LAYOUT`: the layout comparison, ((name, C value, Rust value), ...).
///
/// # Safety
/// The GIL is held.
unsafe fn layout_tuple() -> Option<Strong> {
    let rows = layout::comparison();
    // SAFETY: GIL held; every item is a new reference or None.
    unsafe {
        tuple_of(rows.len(), |i| {
            let (name, c_value, rust_value) = &rows[i];
            let rust_value = rust_value.map_or(-1, |v| v as ffi::Py_ssize_t);
            tuple_of(3, |j| match j {
                0 => new_str(name),
                1 => new_int(*c_value as ffi::Py_ssize_t),
                _ => new_int(rust_value),
            })
        })
    }
}

/// Py_mod_exec: fills the module object made by the import system.
unsafe extern "C" fn hashtable_exec(module: *mut ffi::PyObject) -> c_int {
    // SAFETY: the import system calls exec with the GIL and a new module.
    unsafe { exec_impl(module) }.map_or(-1, |()| 0)
}

unsafe fn exec_impl(module: *mut ffi::PyObject) -> Option<()> {
    // The type is a static PyTypeObject: state of the whole process, which
    // another interpreter must not share. 3.12+ also refuses through the
    // Py_mod_multiple_interpreters slot, but only for interpreters with their
    // own GIL; this check covers the others and older versions.
    // SAFETY: GIL held (exec is called with it); plain queries.
    if unsafe { ffi::PyInterpreterState_Get() != ffi::PyInterpreterState_Main() } {
        // SAFETY: GIL held.
        return unsafe {
            raise(
                ffi::PyExc_ImportError,
                "hashtable can only be imported in the main interpreter: its type is a \
                 static PyTypeObject, shared by the whole process",
            )
        };
    }
    library_trace::set_sink(trace::queue_line);
    // Unset or empty: the default level.
    if let Some(name) = std::env::var("HASHTABLE_TRACE")
        .ok()
        .filter(|n| !n.is_empty())
    {
        match Level::from_name(&name) {
            Some(level) => {
                library_trace::set_level(level);
            }
            // SAFETY: GIL held (exec is called with it).
            None => return unsafe { raise_bad_level("HASHTABLE_TRACE", &name) },
        }
    }
    // SAFETY: GIL held (exec is called with it). The types are statics
    // that live as long as the process.
    unsafe {
        let tp = hashtable_type::ready()?;
        for ready in [
            &raw mut views::ITER_TYPE,
            &raw mut views::KEYS_VIEW_TYPE,
            &raw mut views::VALUES_VIEW_TYPE,
            &raw mut views::ITEMS_VIEW_TYPE,
        ] {
            if callout::PyType_Ready(ready) < 0 {
                return None;
            }
        }
        view_sets::register_set_views(
            &raw mut views::KEYS_VIEW_TYPE,
            &raw mut views::ITEMS_VIEW_TYPE,
        );
        hashing::find_builtin_hash()?;
        // The module gets its own reference to the static type.
        add_object(
            module,
            c"HashTable",
            Some(Strong::from_borrowed(NonNull::new_unchecked(tp.cast()))),
        )?;
        let bugs: Vec<&str> = BUGS.iter().filter(|(_, on)| *on).map(|(n, _)| *n).collect();
        add_object(module, c"BUGS", tuple_of(bugs.len(), |i| new_str(bugs[i])))?;
        add_object(module, c"_LAYOUT", layout_tuple())?;
        // isinstance(h, collections.abc.MutableMapping) is True, and each
        // view is an instance of its ABC, as collections.abc registers
        // dict's own types (`KeysView.register(dict_keys)`).
        let abc = Strong::from_new(callout::PyImport_ImportModule(c"collections.abc".as_ptr()))?;
        for (name, registered) in [
            (c"MutableMapping", tp),
            (c"KeysView", &raw mut views::KEYS_VIEW_TYPE),
            (c"ValuesView", &raw mut views::VALUES_VIEW_TYPE),
            (c"ItemsView", &raw mut views::ITEMS_VIEW_TYPE),
        ] {
            register_with(abc.as_ptr(), name, registered)?;
        }
    }
    crate::trace!(
        Level::Lifecycle,
        Origin::Module,
        "hashtable_exec: module hashtable ready (trace level {})",
        library_trace::level().name()
    );
    trace::flush();
    Some(())
}

/// `collections.abc.<name>.register(tp)`.
///
/// # Safety
/// The GIL is held; `abc` is the module collections.abc and `tp` a ready type.
unsafe fn register_with(
    abc: *mut ffi::PyObject,
    name: &CStr,
    tp: *mut ffi::PyTypeObject,
) -> Option<()> {
    // SAFETY: GIL held; every reference made is new and owned by a Strong;
    // the type is passed borrowed, and the result (the type again) is a new
    // reference.
    unsafe {
        let base = Strong::from_new(callout::PyObject_GetAttrString(abc, name.as_ptr()))?;
        let register = Strong::from_new(callout::PyObject_GetAttrString(
            base.as_ptr(),
            c"register".as_ptr(),
        ))?;
        Strong::from_new(callout::PyObject_CallOneArg(register.as_ptr(), tp.cast()))?;
    }
    Some(())
}

const SLOT_COUNT: usize = 2 + cfg!(Py_3_12) as usize + cfg!(Py_3_13) as usize;

static mut MODULE_SLOTS: [ffi::PyModuleDef_Slot; SLOT_COUNT] = [
    ffi::PyModuleDef_Slot {
        slot: ffi::Py_mod_exec,
        value: hashtable_exec as *mut c_void,
    },
    // A static type is state shared by every interpreter in the process:
    // refuse to be imported into a subinterpreter.
    #[cfg(Py_3_12)]
    ffi::PyModuleDef_Slot {
        slot: ffi::Py_mod_multiple_interpreters,
        value: ffi::Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED,
    },
    // The module relies on the GIL (free-threaded builds re-enable it).
    #[cfg(Py_3_13)]
    ffi::PyModuleDef_Slot {
        slot: ffi::Py_mod_gil,
        value: ffi::Py_MOD_GIL_USED,
    },
    ffi::PyModuleDef_Slot {
        slot: 0,
        value: null_mut(),
    },
];

static mut MODULE_DEF: ffi::PyModuleDef = ffi::PyModuleDef {
    m_base: ffi::PyModuleDef_HEAD_INIT,
    m_name: c"hashtable".as_ptr(),
    m_doc: c"The chained hash table of the talk \"Peeking into Python's C API\": a Rust\nlibrary wrapped by a hand-written C-API module.".as_ptr(),
    m_size: 0,
    m_methods: (&raw mut MODULE_METHODS).cast(),
    m_slots: (&raw mut MODULE_SLOTS).cast(),
    m_traverse: None,
    m_clear: None,
    m_free: None,
};

/// The entry point the import system looks up by name.
///
/// Before handing any structure to the interpreter, compare pyo3-ffi's view
/// of the C structs with the interpreter's own: a mismatch would corrupt
/// memory, so it is an ImportError instead.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn PyInit_hashtable() -> *mut ffi::PyObject {
    // SAFETY: the import system calls PyInit with the GIL held.
    unsafe { init_impl() }.unwrap_or(null_mut())
}

/// # Safety
/// The GIL is held.
unsafe fn init_impl() -> Option<*mut ffi::PyObject> {
    if let Err(message) = layout::check() {
        // SAFETY: GIL held (caller).
        return unsafe { raise(ffi::PyExc_ImportError, &message) };
    }
    // SAFETY: GIL held; MODULE_DEF is a static, so it outlives every module
    // made from it (multi-phase init: the import system calls exec).
    Some(unsafe { ffi::PyModuleDef_Init(&raw mut MODULE_DEF) })
}
