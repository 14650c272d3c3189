//! Python objects to library keys and back.
//!
//! The library stores keys natively (it keeps no Python object for a key).
//! A key comes in as a borrowed object; we convert it to a [`KeyArg`], which
//! borrows the key's own UTF-8 buffer where it can, so a lookup allocates
//! nothing.

use std::ptr::NonNull;

use pyo3_ffi as ffi;

use super::callout;
use super::refs::{Strong, raise, type_name};
use crate::library::{BigInt, Key, KeyRef};

/// A key argument, converted. Lives no longer than the key object it came from.
pub(crate) enum KeyArg {
    Int(i64),
    Bool(bool),
    Float(f64),
    Big(BigInt),
    /// UTF-8 bytes owned by the key object (its cached UTF-8 form), or by
    /// `owner` (a bytes object) for strings with lone surrogates.
    Str {
        ptr: *const u8,
        len: usize,
        _owner: Option<Strong>,
    },
}

impl KeyArg {
    pub(crate) fn as_key(&self) -> KeyRef<'_> {
        match self {
            KeyArg::Int(i) => KeyRef::Int(*i),
            KeyArg::Bool(b) => KeyRef::Bool(*b),
            KeyArg::Float(f) => KeyRef::Float(*f),
            KeyArg::Big(b) => KeyRef::BigInt(b),
            // SAFETY: `ptr`/`len` describe UTF-8 owned by the key object or by
            // `_owner`; the caller keeps the key object alive while it uses
            // this KeyArg (it is a borrowed argument of the running call), and
            // a str's UTF-8 buffer is immutable for the object's lifetime.
            KeyArg::Str { ptr, len, .. } => {
                KeyRef::Str(unsafe { std::slice::from_raw_parts(*ptr, *len) })
            }
        }
    }
}

/// One digit of an int's magnitude, which CPython stores in base 2**30.
pub(crate) type Digit = u32;
pub(crate) const DIGIT_BITS: u32 = 30;
/// 3.12+: the low bits of `lv_tag` hold the sign; the digit count is above them.
#[cfg(Py_3_12)]
pub(crate) const NON_SIZE_BITS: u32 = 3;

/// The start of an int object, as `Include/cpython/longintrepr.h` lays it
/// out (the layout probe checks every offset used here against Python.h).
#[cfg(Py_3_12)]
#[repr(C)]
pub(crate) struct PyLongObject {
    ob_base: ffi::PyObject,
    /// The digit count shifted left by NON_SIZE_BITS, and the sign: 0
    /// positive, 1 zero, 2 negative.
    pub(crate) lv_tag: usize,
    pub(crate) ob_digit: [Digit; 2],
}

/// The start of an int object up to 3.11: `ob_size` is the digit count,
/// negative for a negative int.
#[cfg(not(Py_3_12))]
#[repr(C)]
pub(crate) struct PyLongObject {
    ob_base: ffi::PyVarObject,
    pub(crate) ob_digit: [Digit; 2],
}

/// The value of an int of at most two digits (below 2**60 in magnitude),
/// read from the object: what PyLong_AsLongLongAndOverflow computes, without
/// the call (on 3.12+ what PyUnstable_Long_CompactValue reads, for one digit).
/// None for longer ints.
///
/// # Safety
/// `key` is an int (PyLong_Check) and the GIL is held.
#[inline(always)]
unsafe fn small_int_value(key: *mut ffi::PyObject) -> Option<i64> {
    let int = key.cast::<PyLongObject>();
    // SAFETY: `key` is an int (caller), whose struct starts as PyLongObject
    // does; only the digits its size says it has are read.
    unsafe {
        #[cfg(Py_3_12)]
        let (ndigits, sign) = {
            let tag = (*int).lv_tag;
            (tag >> NON_SIZE_BITS, 1 - (tag & 3) as i64)
        };
        #[cfg(not(Py_3_12))]
        let (ndigits, sign) = {
            let size = (*int.cast::<ffi::PyVarObject>()).ob_size;
            (size.unsigned_abs(), size.signum() as i64)
        };
        let magnitude = match ndigits {
            0 => 0,
            1 => i64::from((*int).ob_digit[0]),
            2 => i64::from((*int).ob_digit[0]) | i64::from((*int).ob_digit[1]) << DIGIT_BITS,
            _ => return None,
        };
        Some(sign * magnitude)
    }
}

/// Converts a borrowed key object; raises TypeError/ValueError for keys the
/// table cannot hold.
///
/// # Safety
/// `key` is a valid object, the GIL is held, and the key object outlives the
/// returned `KeyArg`.
#[inline]
pub(crate) unsafe fn key_arg(key: *mut ffi::PyObject) -> Option<KeyArg> {
    // The common keys first, inline in every operation: an exact int of at
    // most two digits, read from the object, and an exact str (whose UTF-8
    // is its own data when ASCII). Longer ints take the general path below.
    // SAFETY: GIL held and `key` valid (caller); `key` is borrowed and only
    // read; small_int_value gets an int, as PyLong_CheckExact says.
    unsafe {
        if ffi::PyLong_CheckExact(key) != 0 {
            if let Some(value) = small_int_value(key) {
                return Some(KeyArg::Int(value));
            }
        } else if ffi::PyUnicode_CheckExact(key) != 0 {
            return str_key(key);
        }
        key_arg_general(key)
    }
}

/// [`key_arg`] for every kind of key.
///
/// # Safety
/// As [`key_arg`].
#[inline(never)]
unsafe fn key_arg_general(key: *mut ffi::PyObject) -> Option<KeyArg> {
    // SAFETY (whole body): GIL held and `key` valid (caller); every call below
    // takes a borrowed `key` and returns either plain data or a new reference
    // that is wrapped in `Strong` at once.
    unsafe {
        if ffi::PyBool_Check(key) != 0 {
            return Some(KeyArg::Bool(key == ffi::Py_True()));
        }
        if ffi::PyLong_Check(key) != 0 {
            let mut overflow = 0;
            let value = ffi::PyLong_AsLongLongAndOverflow(key, &mut overflow);
            if overflow == 0 {
                if value == -1 && !ffi::PyErr_Occurred().is_null() {
                    return None;
                }
                return Some(KeyArg::Int(value));
            }
            return big_int(key).map(KeyArg::Big);
        }
        if ffi::PyFloat_Check(key) != 0 {
            let value = ffi::PyFloat_AS_DOUBLE(key);
            if value.is_nan() {
                return raise(
                    ffi::PyExc_ValueError,
                    "NaN cannot be a HashTable key: NaN != NaN, so the table could never find it again",
                );
            }
            return Some(KeyArg::Float(value));
        }
        if ffi::PyUnicode_Check(key) != 0 {
            return str_key(key);
        }
        // A type that sets __hash__ = None has this C function as its tp_hash.
        let hashable = !matches!((*ffi::Py_TYPE(key)).tp_hash, Some(f) if std::ptr::fn_addr_eq(f, ffi::PyObject_HashNotImplemented as ffi::hashfunc));
        let name = type_name(key);
        if hashable {
            raise(
                ffi::PyExc_TypeError,
                &format!("HashTable keys must be int, float or str, not {name}"),
            )
        } else {
            raise_unhashable(key)
        }
    }
}

/// Raises the TypeError dict raises for an unhashable key, worded as the
/// running interpreter's dict words it.
///
/// dict hashes the key, and the type's tp_hash (PyObject_HashNotImplemented,
/// C code) raises TypeError naming the type by its full tp_name
/// ('hashtable.HashTable'); so hash it too, and let that raise. From 3.14 on
/// dict wraps a TypeError from hashing: "cannot use 'T' as a dict key
/// (unhashable type: 'T')", which we say with our own name.
///
/// # Safety
/// The GIL is held; `key` is live and its type's tp_hash raises.
#[cold]
pub(crate) unsafe fn raise_unhashable<T>(key: *mut ffi::PyObject) -> Option<T> {
    // SAFETY: GIL held, `key` live (caller).
    unsafe {
        let hash = callout::PyObject_Hash(key);
        debug_assert_eq!(hash, -1, "an unhashable type's hash fails");
        #[cfg(Py_3_14)]
        reword_hash_error(key, c"cannot use '%T' as a HashTable key (%S)");
    }
    None
}

/// dict's rewording on 3.14+ of the exception its hashing of `key` raised:
/// a TypeError (exactly that type) becomes a new TypeError whose message is
/// `format` applied to the key and the old exception; any other exception
/// stays as it was.
///
/// # Safety
/// The GIL is held, an exception is set, and `key` is live.
#[cfg(Py_3_14)]
pub(crate) unsafe fn reword_hash_error(key: *mut ffi::PyObject, format: &std::ffi::CStr) {
    // SAFETY: GIL held (caller). PyErr_GetRaisedException hands us the
    // exception as a new reference, which Strong releases.
    unsafe {
        let Some(exc) = Strong::from_new(ffi::PyErr_GetRaisedException()) else {
            return;
        };
        if ffi::Py_TYPE(exc.as_ptr()) != ffi::PyExc_TypeError.cast() {
            ffi::PyErr_SetRaisedException(exc.into_raw()); // stolen
            return;
        }
        // Sets the new exception (and returns null).
        callout::PyErr_Format2(ffi::PyExc_TypeError, format, key, exc.as_ptr());
    }
}

/// An int that does not fit in i64, read through its hexadecimal text.
///
/// # Safety
/// `key` is an int and the GIL is held.
unsafe fn big_int(key: *mut ffi::PyObject) -> Option<BigInt> {
    // SAFETY: GIL held; PyNumber_ToBase returns a new reference (a str such
    // as "-0x1f") or NULL with an exception set.
    let text = unsafe { Strong::from_new(ffi::PyNumber_ToBase(key, 16)) }?;
    let mut len: ffi::Py_ssize_t = 0;
    // SAFETY: `text` is a str; its UTF-8 buffer lives as long as `text`.
    let utf8 = unsafe { ffi::PyUnicode_AsUTF8AndSize(text.as_ptr(), &mut len) };
    if utf8.is_null() {
        return None;
    }
    // SAFETY: `utf8` points at `len` bytes owned by `text`, alive in this scope.
    let text = unsafe { std::slice::from_raw_parts(utf8.cast::<u8>(), len as usize) };
    let (negative, digits) = match text {
        [b'-', b'0', b'x', digits @ ..] => (true, digits),
        [b'0', b'x', digits @ ..] => (false, digits),
        // SAFETY: GIL held.
        _ => return unsafe { raise(ffi::PyExc_SystemError, "unexpected int.__format__ output") },
    };
    match BigInt::from_hex(negative, digits) {
        Some(big) => Some(big),
        // SAFETY: GIL held.
        None => unsafe {
            raise(
                ffi::PyExc_SystemError,
                "int out of i64 range did not parse as a big int",
            )
        },
    }
}

/// The bits of `PyASCIIObject.state` that say "compact" and "ascii": the
/// bit-fields `compact:1` and `ascii:1` that follow `interned:2` and `kind:3`
/// in `Include/cpython/unicodeobject.h` (3.9 to 3.15). The layout probe checks
/// this value against the C compiler's own layout of the bit-field.
pub(crate) const COMPACT_ASCII_STATE: u32 = 1 << 5 | 1 << 6;

/// `PyUnicode_IS_COMPACT_ASCII`: the str's characters are ASCII and follow
/// its header, so they are its UTF-8 too. Written here from the header's
/// definition because pyo3-ffi declares it only before 3.14 (on 3.14+ the
/// bit-field is internal to pyo3, not to CPython, whose inline function reads
/// the same two bits).
///
/// # Safety
/// `op` is a live str.
#[inline(always)]
pub(crate) unsafe fn is_compact_ascii(op: *mut ffi::PyObject) -> bool {
    // SAFETY: every str starts with a PyASCIIObject header (caller), whose
    // `state` field the probe located.
    let state = unsafe { (*op.cast::<ffi::PyASCIIObject>()).state };
    state & COMPACT_ASCII_STATE == COMPACT_ASCII_STATE
}

/// A str key: its cached UTF-8, or for lone surrogates the "surrogatepass" bytes.
///
/// # Safety
/// `key` is a str and the GIL is held.
#[inline(always)]
unsafe fn str_key(key: *mut ffi::PyObject) -> Option<KeyArg> {
    // SAFETY: GIL held and `key` a str (caller). A compact ASCII str keeps
    // its characters, which are also its UTF-8, inside the object, unchanged
    // for its lifetime: no conversion and no call needed.
    unsafe {
        if is_compact_ascii(key) {
            return Some(KeyArg::Str {
                // The characters follow the PyASCIIObject header.
                ptr: key.cast::<ffi::PyASCIIObject>().add(1).cast(),
                len: ffi::PyUnicode_GET_LENGTH(key) as usize,
                _owner: None,
            });
        }
        str_key_utf8(key)
    }
}

/// [`str_key`] for a str that is not compact ASCII: through its UTF-8.
///
/// # Safety
/// As [`str_key`].
#[inline(never)]
unsafe fn str_key_utf8(key: *mut ffi::PyObject) -> Option<KeyArg> {
    let mut len: ffi::Py_ssize_t = 0;
    // SAFETY: GIL held; the returned buffer is owned by `key` (borrowed).
    let utf8 = unsafe { ffi::PyUnicode_AsUTF8AndSize(key, &mut len) };
    if !utf8.is_null() {
        return Some(KeyArg::Str {
            ptr: utf8.cast(),
            len: len as usize,
            _owner: None,
        });
    }
    // SAFETY: GIL held. Only a lone surrogate makes UTF-8 fail; anything else
    // (MemoryError) propagates.
    unsafe {
        if ffi::PyErr_ExceptionMatches(ffi::PyExc_UnicodeEncodeError) == 0 {
            return None;
        }
        callout::PyErr_Clear();
    }
    // SAFETY: GIL held; a new reference to a bytes object, or NULL.
    let bytes = unsafe {
        Strong::from_new(ffi::PyUnicode_AsEncodedString(
            key,
            c"utf-8".as_ptr(),
            c"surrogatepass".as_ptr(),
        ))
    }?;
    // SAFETY: `bytes` is a bytes object; its buffer lives as long as `bytes`,
    // which the KeyArg keeps.
    let (ptr, len) = unsafe {
        (
            ffi::PyBytes_AsString(bytes.as_ptr()).cast::<u8>(),
            ffi::PyBytes_Size(bytes.as_ptr()) as usize,
        )
    };
    Some(KeyArg::Str {
        ptr,
        len,
        _owner: Some(bytes),
    })
}

/// A new reference to a Python object equal to `key`, of the type it was set with.
///
/// # Safety
/// The GIL is held.
pub(crate) unsafe fn key_object(key: &Key) -> Option<Strong> {
    // SAFETY (whole body): GIL held (caller); each constructor returns a new
    // reference or NULL with an exception set, which `from_new` takes over.
    unsafe {
        match key {
            Key::Int(i) => Strong::from_new(ffi::PyLong_FromLongLong(*i)),
            Key::Bool(b) => Some(Strong::from_borrowed(
                NonNull::new(if *b { ffi::Py_True() } else { ffi::Py_False() })
                    .expect("bools exist"),
            )),
            Key::Float(f) => Strong::from_new(ffi::PyFloat_FromDouble(*f)),
            Key::BigInt(b) => {
                let text = std::ffi::CString::new(b.to_hex()).expect("hex has no NUL");
                Strong::from_new(ffi::PyLong_FromString(
                    text.as_ptr(),
                    std::ptr::null_mut(),
                    16,
                ))
            }
            Key::Str(s) => str_object(s),
            Key::ShortStr(s) => str_object(s.as_bytes()),
        }
    }
}

/// A new reference to the str whose UTF-8 ("surrogatepass") bytes are `s`.
///
/// # Safety
/// The GIL is held.
unsafe fn str_object(s: &[u8]) -> Option<Strong> {
    // SAFETY: GIL held (caller); `s` is a valid buffer of `s.len()` bytes; a
    // new reference or NULL with an exception set, which `from_new` takes over.
    unsafe {
        Strong::from_new(ffi::PyUnicode_DecodeUTF8(
            s.as_ptr().cast(),
            s.len() as ffi::Py_ssize_t,
            c"surrogatepass".as_ptr(),
        ))
    }
}
