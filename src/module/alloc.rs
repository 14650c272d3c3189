//! Rust's global allocator for this shared object: Python's raw memory
//! domain (`PyMem_RawMalloc` and friends).
//!
//! The library's buckets, entries and string keys then show up in
//! `tracemalloc` and in the interpreter's own memory statistics, so memory
//! per entry can be measured against dict with the same tool. The raw domain
//! needs no GIL (the C ABI in `c_abi.rs` may run without it) and is plain
//! `malloc` underneath, with Python's debug hooks when `PYTHONMALLOC=debug`.

use std::alloc::{GlobalAlloc, Layout, System};

use pyo3_ffi as ffi;

/// What `malloc` (and so PyMem_RawMalloc, also with its debug hooks) guarantees
/// on the 64-bit platforms we support.
const RAW_ALIGN: usize = 16;

pub(crate) struct PyRawAllocator;

// SAFETY: every block is freed by the function family that allocated it:
// alignments up to RAW_ALIGN always go to PyMem_Raw*, larger ones always to
// the system allocator, and `layout` (which decides) is the same at
// allocation and deallocation.
unsafe impl GlobalAlloc for PyRawAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() > RAW_ALIGN {
            // SAFETY: forwarding the caller's valid layout.
            return unsafe { System.alloc(layout) };
        }
        // SAFETY: PyMem_RawMalloc may be called without the GIL; it returns
        // NULL on failure, which GlobalAlloc reports as an allocation error.
        unsafe { ffi::PyMem_RawMalloc(layout.size()).cast() }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.align() > RAW_ALIGN {
            // SAFETY: forwarding the caller's valid layout.
            return unsafe { System.alloc_zeroed(layout) };
        }
        // SAFETY: as alloc; calloc-style zeroed memory.
        unsafe { ffi::PyMem_RawCalloc(1, layout.size()).cast() }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if layout.align() > RAW_ALIGN {
            // SAFETY: allocated by System with this layout (see alloc).
            return unsafe { System.dealloc(ptr, layout) };
        }
        // SAFETY: allocated by PyMem_RawMalloc/Calloc/Realloc (see alloc).
        unsafe { ffi::PyMem_RawFree(ptr.cast()) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() > RAW_ALIGN {
            // SAFETY: allocated by System with this layout (see alloc).
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        // SAFETY: `ptr` came from PyMem_Raw*; on failure the old block stays valid.
        unsafe { ffi::PyMem_RawRealloc(ptr.cast(), new_size).cast() }
    }
}

#[global_allocator]
static GLOBAL: PyRawAllocator = PyRawAllocator;
