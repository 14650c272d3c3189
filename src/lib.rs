//! `hashtable`: the chained hash table of the talk "Peeking into Python's C
//! API", in two layers, as in the talk.
//!
//! - [`library`]: the table itself (the talk's C library), pure Rust.
//! - `module`: the CPython extension module (the talk's hand-written C
//!   module), raw C-API code on `pyo3-ffi`: every `unsafe` block and every
//!   reference count of the crate lives there.
//!
//! The module layer is left out of `cargo test` builds: it needs the symbols
//! of a running interpreter, which a test binary does not link.
#![forbid(unsafe_op_in_unsafe_fn)]

pub mod library;

#[cfg(not(test))]
mod module;
