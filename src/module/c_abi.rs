//! A second way into the same library: a plain C ABI, for `ctypes`.
//!
//! The seeds show ctypes calling `libc.printf` straight from a shared
//! library; these functions let ctypes call our table library the same way,
//! from the very `.so` that is also the extension module. No Python object
//! crosses this boundary: keys and values are C `int64_t`, hashed with the
//! talk's naive hash (an int hashes to itself), so a lesson can compare the
//! cost of one call through ctypes with one call through the C API.
//!
//! ```c
//! void   *hashtable_c_create(size_t size, double max_load);  /* NULL on error */
//! int     hashtable_c_set(void *table, int64_t key, int64_t value); /* 0, or -1: no memory */
//! int     hashtable_c_get(void *table, int64_t key, int64_t *value); /* 1 found, 0 missing */
//! size_t  hashtable_c_len(void *table);
//! void    hashtable_c_free(void *table);
//! ```

use std::ffi::c_int;

use crate::library::Table;
use crate::library::hash::naive_hash_int;

type CTable = Table<i64, i64>;

/// Makes a table; NULL when the arguments are invalid or memory is short.
#[unsafe(no_mangle)]
pub extern "C" fn hashtable_c_create(size: usize, max_load: f64) -> *mut CTable {
    let table =
        CTable::new(size, max_load).map_or(std::ptr::null_mut(), |t| Box::into_raw(Box::new(t)));
    super::trace::flush();
    table
}

/// Sets `key` to `value`.
///
/// # Safety
/// `table` came from `hashtable_c_create`, was not freed, and no other
/// thread uses it during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hashtable_c_set(table: *mut CTable, key: i64, value: i64) -> c_int {
    // SAFETY: a live, unshared table (the caller's contract).
    let result = unsafe { (*table).insert(naive_hash_int(key), key, value) };
    super::trace::flush();
    if result.is_ok() { 0 } else { -1 }
}

/// Looks `key` up: 1 and `*value` set when found, 0 when missing.
///
/// # Safety
/// As `hashtable_c_set`; `value` points at writable memory for an `int64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hashtable_c_get(table: *const CTable, key: i64, value: *mut i64) -> c_int {
    // SAFETY: a live table and a writable out-pointer (the caller's contract).
    let found = unsafe {
        match (*table).get(naive_hash_int(key), &key) {
            Some(v) => {
                *value = *v;
                1
            }
            None => 0,
        }
    };
    super::trace::flush();
    found
}

/// The number of entries.
///
/// # Safety
/// As `hashtable_c_set`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hashtable_c_len(table: *const CTable) -> usize {
    // SAFETY: a live table (the caller's contract).
    unsafe { (*table).len() }
}

/// Frees the table (NULL is allowed and ignored).
///
/// # Safety
/// `table` came from `hashtable_c_create` and is not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hashtable_c_free(table: *mut CTable) {
    if !table.is_null() {
        // SAFETY: made by Box::into_raw in hashtable_c_create, freed once.
        drop(unsafe { Box::from_raw(table) });
    }
    super::trace::flush();
}
