//! The library layer: the talk's "C library", in pure Rust.
//!
//! It knows nothing of Python: no `pyo3_ffi` import, no reference counts, no
//! `unsafe`. The caller hashes keys and passes the hash in, and supplies the
//! equality of keys; keys (`K`) and values (`V`) are opaque, so the module
//! layer decides what owning one means.
#![forbid(unsafe_code)]

pub mod hash;
pub mod table;
pub mod trace;

pub use hash::python_int_hash;
pub use table::{
    Lookup, Missing, Purpose, Rejected, Search, Slot, Stats, Table, TableError, Verdict,
};
