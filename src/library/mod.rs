//! The library layer: the talk's "C library", in pure Rust.
//!
//! It knows nothing of Python: no `pyo3_ffi` import, no reference counts, no
//! `unsafe`. The caller hashes keys and passes the hash in; values are opaque
//! (`V`), so the module layer decides what owning one means.
#![forbid(unsafe_code)]

pub mod hash;
pub mod key;
pub mod table;
pub mod trace;

pub use key::{BigInt, Key, KeyRef};
pub use table::{Stats, Table, TableError};
