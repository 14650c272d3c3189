//! Keys: Python objects, kept by the table as the objects themselves.
//!
//! The table stores a key as a strong reference ([`PyKey`]), as dict does,
//! and compares keys as dict does: the same object first, then equal hashes
//! (the library checks those), then `==`. But `==` can run Python code (a
//! key's `__eq__`), which may change the very table being searched, and no
//! Rust borrow of the table may be alive while Python code runs. So the
//! comparison the library calls during a lookup ([`quick_eq`]) only decides
//! what needs no Python code: the same object; two exact strs, compared by
//! their characters; two exact ints or floats (or one of each), compared by
//! value. For anything else it answers [`Verdict::Ask`], and access.rs
//! compares with `PyObject_RichCompareBool` once the borrow has ended.
//!
//! The reading of str and int objects here relies on their layout in
//! `Python.h`; the layout probe (layout.rs) checks every field and bit used.

use std::fmt;

use pyo3_ffi as ffi;

use super::refs::{Strong, TypeName};
use crate::library::Verdict;

/// A key as the table stores it: one strong reference to the key object.
pub(crate) struct PyKey(pub(crate) Strong);

impl PyKey {
    pub(crate) fn as_ptr(&self) -> *mut ffi::PyObject {
        self.0.as_ptr()
    }
}

/// The trace lines' picture of a key, made without running Python code (it
/// is called while the table is borrowed): a str, an int, a float, a bool or
/// None as `repr` shows it, anything else as `<type>`.
impl fmt::Display for PyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        ShowKey(self.as_ptr()).fmt(f)
    }
}

/// [`PyKey`]'s `Display`, for a borrowed key object (a key argument).
pub(crate) struct ShowKey(pub(crate) *mut ffi::PyObject);

impl fmt::Display for ShowKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = self.0;
        // SAFETY: a ShowKey is made from a live object with the GIL held;
        // only the fields of exact builtin types are read, as their checks
        // say they are those types.
        unsafe {
            if ffi::PyUnicode_CheckExact(key) != 0 {
                return show_str(key, f);
            }
            if ffi::PyLong_CheckExact(key) != 0 {
                return match small_int_value(key) {
                    Some(i) => write!(f, "{i}"),
                    None => f.write_str("<int beyond 60 bits>"),
                };
            }
            if ffi::PyFloat_CheckExact(key) != 0 {
                return write!(f, "{:?}", ffi::PyFloat_AS_DOUBLE(key));
            }
            if key == ffi::Py_True() || key == ffi::Py_False() {
                return f.write_str(if key == ffi::Py_True() {
                    "True"
                } else {
                    "False"
                });
            }
            if key == ffi::Py_None() {
                return f.write_str("None");
            }
        }
        write!(f, "<{}>", TypeName(key))
    }
}

/// An exact str as `repr` quotes it (quotes, backslashes and control
/// characters escaped), cut after 40 characters.
///
/// # Safety
/// `key` is a live exact str and the GIL is held.
unsafe fn show_str(key: *mut ffi::PyObject, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    // SAFETY: `key` is a live str (caller).
    let Some(text) = (unsafe { compact_str(key) }) else {
        return f.write_str("<str>");
    };
    let chars = text.chars();
    let quote = if chars.clone().any(|c| c == '\'') && !chars.clone().any(|c| c == '"') {
        '"'
    } else {
        '\''
    };
    use fmt::Write;
    f.write_char(quote)?;
    for c in chars.clone().take(40) {
        match c {
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c if c == quote => {
                f.write_char('\\')?;
                f.write_char(c)?;
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => write!(f, "\\x{:02x}", c as u32)?,
            c => f.write_char(c)?,
        }
    }
    f.write_char(quote)?;
    if text.len > 40 {
        f.write_str("...")?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// A key argument, classified once for the comparisons of one lookup
// ---------------------------------------------------------------------------

/// A borrowed key argument and what [`quick_eq`] may know of it.
pub(crate) struct Probe {
    pub(crate) key: *mut ffi::PyObject,
    pub(crate) class: Class,
}

/// The exact builtin types whose `==` needs no Python code.
#[derive(Clone, Copy)]
pub(crate) enum Class {
    Str,
    /// An exact int below 2**60 in magnitude, and its value.
    Int(i64),
    Float(f64),
    Other,
}

/// Classifies a borrowed key object (no Python code runs).
///
/// # Safety
/// `key` is live and the GIL is held.
#[inline(always)]
pub(crate) unsafe fn probe(key: *mut ffi::PyObject) -> Probe {
    // SAFETY: `key` is live (caller); each field read is of the type the
    // exact check before it found.
    let class = unsafe {
        if ffi::PyUnicode_CheckExact(key) != 0 {
            Class::Str
        } else if ffi::PyLong_CheckExact(key) != 0 {
            small_int_value(key).map_or(Class::Other, Class::Int)
        } else if ffi::PyFloat_CheckExact(key) != 0 {
            Class::Float(ffi::PyFloat_AS_DOUBLE(key))
        } else {
            Class::Other
        }
    };
    Probe { key, class }
}

/// The comparison the library calls for a stored key whose hash equals the
/// probe's: Equal or Different when no Python code is needed to tell,
/// otherwise Ask (see the file's header).
///
/// # Safety
/// `probe.key` is live and the GIL is held (the stored key is live: the
/// table owns it).
///
/// Identity, the common case (a key looked up with the very object that was
/// stored, as dict's own first check), is decided inline; everything else in
/// [`quick_eq_by_value`], out of line, so that the walk's loop stays small.
#[inline(always)]
pub(crate) unsafe fn quick_eq(stored: &PyKey, probe: &Probe) -> Verdict {
    let stored = stored.as_ptr();
    if stored == probe.key {
        return Verdict::Equal;
    }
    // SAFETY: as this function's contract.
    unsafe { quick_eq_by_value(stored, probe) }
}

/// [`quick_eq`] for two different objects.
///
/// # Safety
/// As [`quick_eq`]; `stored` (borrowed from the table) is live.
#[inline(never)]
unsafe fn quick_eq_by_value(stored: *mut ffi::PyObject, probe: &Probe) -> Verdict {
    // SAFETY: both objects are live (contract); fields are read only after
    // the exact type checks.
    unsafe {
        match probe.class {
            Class::Str if ffi::PyUnicode_CheckExact(stored) != 0 => {
                match str_eq(stored, probe.key) {
                    Some(true) => Verdict::Equal,
                    Some(false) => Verdict::Different,
                    None => Verdict::Ask,
                }
            }
            Class::Int(i) => match stored_number(stored) {
                Some(Number::Int(j)) => verdict(i == j),
                Some(Number::Float(g)) => verdict(float_equals_int(g, i)),
                Some(Number::Str) => Verdict::Different,
                None => Verdict::Ask,
            },
            Class::Float(x) => match stored_number(stored) {
                Some(Number::Float(g)) => verdict(x == g),
                Some(Number::Int(j)) => verdict(float_equals_int(x, j)),
                Some(Number::Str) => Verdict::Different,
                None => Verdict::Ask,
            },
            _ => Verdict::Ask,
        }
    }
}

/// The `compare-in-place` build's comparison (a lesson's deliberate bug; see
/// access.rs, `find`): what quick_eq cannot decide without Python code it
/// compares right away with `==`, inside the library's walk. `Err`: the
/// comparison raised.
///
/// # Safety
/// As [`quick_eq`]. That is not enough: the lookup that calls this holds a
/// borrow of the table across Python code, which may change or free it.
#[cfg(feature = "compare-in-place")]
pub(crate) unsafe fn eq_in_place(stored: &PyKey, probe: &Probe) -> Result<bool, ()> {
    // SAFETY: as this function's contract.
    match unsafe { quick_eq(stored, probe) } {
        Verdict::Equal => Ok(true),
        Verdict::Different => Ok(false),
        // SAFETY: GIL held and both objects live (contract); the stored key
        // is borrowed from the table, which is the bug: the table may let go
        // of it during its own __eq__.
        Verdict::Ask => match unsafe {
            super::callout::PyObject_RichCompareBool(stored.as_ptr(), probe.key, ffi::Py_EQ)
        } {
            -1 => Err(()),
            equal => Ok(equal == 1),
        },
    }
}

fn verdict(equal: bool) -> Verdict {
    if equal {
        Verdict::Equal
    } else {
        Verdict::Different
    }
}

/// A stored key of an exact builtin type that a number compares with
/// without Python code.
enum Number {
    Int(i64),
    Float(f64),
    /// An exact str: never equal to a number.
    Str,
}

/// # Safety
/// `obj` is live and the GIL is held.
#[inline(always)]
unsafe fn stored_number(obj: *mut ffi::PyObject) -> Option<Number> {
    // SAFETY: as this function's contract.
    unsafe {
        if ffi::PyLong_CheckExact(obj) != 0 {
            small_int_value(obj).map(Number::Int)
        } else if ffi::PyFloat_CheckExact(obj) != 0 {
            Some(Number::Float(ffi::PyFloat_AS_DOUBLE(obj)))
        } else if ffi::PyUnicode_CheckExact(obj) != 0 {
            Some(Number::Str)
        } else {
            None
        }
    }
}

/// Python's `float == int`, exactly (both below 2**60 in magnitude for the
/// int, so an integral float in that range converts without loss).
fn float_equals_int(f: f64, i: i64) -> bool {
    f.fract() == 0.0 && f.abs() < (1u64 << 62) as f64 && f as i64 == i
}

// ---------------------------------------------------------------------------
// Reading str and int objects
// ---------------------------------------------------------------------------

/// The bits of `PyASCIIObject.state` that say "compact" and "ascii": the
/// bit-fields `compact:1` and `ascii:1` that follow `interned:2` and `kind:3`
/// in `Include/cpython/unicodeobject.h` (3.9 to 3.15). The layout probe checks
/// these values against the C compiler's own layout of the bit-field.
pub(crate) const COMPACT_ASCII_STATE: u32 = 1 << 5 | 1 << 6;
pub(crate) const COMPACT_STATE: u32 = 1 << 5;
const ASCII_STATE: u32 = 1 << 6;
/// `kind:3` (1, 2 or 4 bytes per character) sits at bit 2.
pub(crate) const KIND_SHIFT: u32 = 2;

/// The characters of a compact str, read in place.
pub(crate) struct StrData {
    data: *const u8,
    /// In characters (code points).
    pub(crate) len: usize,
    /// Bytes per character: 1, 2 or 4.
    kind: usize,
}

impl StrData {
    fn bytes(&self) -> &[u8] {
        // SAFETY: a compact str of `len` characters of `kind` bytes each keeps
        // them right after its header, for as long as the str lives; a
        // StrData does not outlive the borrowed str it was read from.
        unsafe { std::slice::from_raw_parts(self.data, self.len * self.kind) }
    }

    fn chars(&self) -> impl Iterator<Item = char> + Clone + '_ {
        let bytes = self.bytes();
        (0..self.len).map(move |i| {
            let code = match self.kind {
                1 => u32::from(bytes[i]),
                2 => u32::from(u16::from_ne_bytes([bytes[2 * i], bytes[2 * i + 1]])),
                _ => u32::from_ne_bytes([
                    bytes[4 * i],
                    bytes[4 * i + 1],
                    bytes[4 * i + 2],
                    bytes[4 * i + 3],
                ]),
            };
            char::from_u32(code).unwrap_or('\u{fffd}') // a lone surrogate
        })
    }
}

/// The characters of a compact str (every str made since 3.12, and every
/// exact str made by current APIs before), or None for a legacy one.
///
/// # Safety
/// `op` is a live str and the GIL is held.
#[inline(always)]
pub(crate) unsafe fn compact_str(op: *mut ffi::PyObject) -> Option<StrData> {
    let header = op.cast::<ffi::PyASCIIObject>();
    // SAFETY: every str starts with a PyASCIIObject header (caller), whose
    // `state` and `length` fields the probe located; a compact str's
    // characters follow its header (PyASCIIObject when ascii, else
    // PyCompactUnicodeObject), as unicodeobject.h's _PyUnicode_COMPACT_DATA
    // reads them.
    unsafe {
        let state = (*header).state;
        if state & COMPACT_STATE == 0 {
            return None;
        }
        let data = if state & ASCII_STATE != 0 {
            header.add(1).cast::<u8>()
        } else {
            op.cast::<ffi::PyCompactUnicodeObject>().add(1).cast::<u8>()
        };
        Some(StrData {
            data,
            len: (*header).length as usize,
            kind: ((state >> KIND_SHIFT) & 7) as usize,
        })
    }
}

/// Two exact strs compared by their characters, as CPython's `unicode_eq`:
/// the same length, the same kind and the same bytes. None for a legacy str.
///
/// # Safety
/// Both are live exact strs and the GIL is held.
#[inline(always)]
unsafe fn str_eq(a: *mut ffi::PyObject, b: *mut ffi::PyObject) -> Option<bool> {
    // SAFETY: as this function's contract.
    let (a, b) = unsafe { (compact_str(a)?, compact_str(b)?) };
    Some(a.len == b.len && a.kind == b.kind && a.bytes() == b.bytes())
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
pub(crate) unsafe fn small_int_value(key: *mut ffi::PyObject) -> Option<i64> {
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
