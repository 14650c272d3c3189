//! Keys as the table stores them, compared the way Python's `==` compares
//! them: `1`, `1.0` and `True` are one key, `2.0**70 == 2**70`, `-0.0 == 0`.
//!
//! The original C library kept ints, floats and strings in a tagged union; so
//! do we, with big ints added (Python ints have no size limit). Each variant
//! remembers the type it came in as, so iteration gives back `1.0` for a key
//! first set as `1.0`, as dict does.

use std::fmt;

pub use super::hash::python_int_hash;
use super::hash::{HASH_INF, HASH_MODULUS};

/// An integer too large for `i64`: sign and magnitude, little-endian 64-bit limbs.
///
/// Invariant: the magnitude has no high zero limbs and does not fit in an
/// `i64` (smaller values are always `Key::Int`), so two equal values have
/// equal representations.
///
/// `repr(C)` puts the sign byte first, at offset 0: [`Key`] keeps its tag in
/// that byte's unused values, which leaves 23 contiguous bytes for a short
/// string stored inline (and keeps a key at 24 bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct BigInt {
    negative: bool,
    limbs: Box<[u64]>,
}

impl BigInt {
    /// Parses hexadecimal digits (no sign, no `0x`), as `PyNumber_ToBase(n, 16)`
    /// prints them. Returns `None` for a bad digit or a value that fits `i64`.
    pub fn from_hex(negative: bool, digits: &[u8]) -> Option<BigInt> {
        let mut limbs = Vec::with_capacity(digits.len().div_ceil(16));
        for chunk in digits.rchunks(16) {
            let text = std::str::from_utf8(chunk).ok()?;
            limbs.push(u64::from_str_radix(text, 16).ok()?);
        }
        Self::from_limbs(negative, limbs)
    }

    fn from_limbs(negative: bool, mut limbs: Vec<u64>) -> Option<BigInt> {
        while limbs.last() == Some(&0) {
            limbs.pop();
        }
        let fits_i64 = match limbs.as_slice() {
            [] => true,
            [m] => *m < (1 << 63) || (negative && *m == 1 << 63),
            _ => false,
        };
        if fits_i64 {
            return None;
        }
        Some(BigInt {
            negative,
            limbs: limbs.into_boxed_slice(),
        })
    }

    /// The value as `-0x...` / `0x...`, which `int(text, 16)` reads back.
    pub fn to_hex(&self) -> String {
        let mut out = String::with_capacity(self.limbs.len() * 16 + 3);
        if self.negative {
            out.push('-');
        }
        out.push_str("0x");
        let mut limbs = self.limbs.iter().rev();
        if let Some(top) = limbs.next() {
            out.push_str(&format!("{top:x}"));
        }
        for limb in limbs {
            out.push_str(&format!("{limb:016x}"));
        }
        out
    }

    /// CPython's hash of this int: |n| mod (2**61 - 1), with the sign, -1 mapped to -2.
    pub fn python_hash(&self) -> i64 {
        let mut rem: u128 = 0;
        for &limb in self.limbs.iter().rev() {
            rem = ((rem << 64) | u128::from(limb)) % u128::from(HASH_MODULUS);
        }
        let h = rem as i64;
        let h = if self.negative { -h } else { h };
        if h == -1 { -2 } else { h }
    }

    /// The integer a finite, integral float equals, when it does not fit in `i64`.
    fn from_integral_f64(f: f64) -> Option<BigInt> {
        debug_assert!(f.is_finite() && f.fract() == 0.0);
        let bits = f.to_bits();
        let exponent = ((bits >> 52) & 0x7ff) as i64 - 1075;
        let mantissa = (bits & ((1 << 52) - 1)) | (1 << 52);
        if exponent < 0 {
            return None; // |f| < 2**53: fits in i64
        }
        let (limb_shift, bit_shift) = ((exponent / 64) as usize, (exponent % 64) as u32);
        let mut limbs = vec![0u64; limb_shift + 2];
        let wide = u128::from(mantissa) << bit_shift;
        limbs[limb_shift] = wide as u64;
        limbs[limb_shift + 1] = (wide >> 64) as u64;
        Self::from_limbs(f < 0.0, limbs)
    }
}

/// An integer value, small or big: what an integral float converts to.
enum Integer {
    Small(i64),
    Big(BigInt),
}

/// `Some` when `f` is finite and integral.
fn float_as_integer(f: f64) -> Option<Integer> {
    if !f.is_finite() || f.fract() != 0.0 {
        return None;
    }
    // -2**63 <= f < 2**63 is exactly the range where `as` is lossless for integral f.
    if (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&f) {
        Some(Integer::Small(f as i64))
    } else {
        BigInt::from_integral_f64(f).map(Integer::Big)
    }
}

/// A key owned by the table.
#[derive(Clone, Debug)]
pub enum Key {
    Int(i64),
    Bool(bool),
    BigInt(BigInt),
    /// Any float but NaN (the module refuses NaN: see docs/architecture.md).
    Float(f64),
    /// UTF-8; a lone surrogate is kept in its three-byte form (Python's
    /// "surrogatepass"), so every Python str has exactly one encoding here.
    /// Only strings longer than [`INLINE_STR_MAX`] bytes: shorter ones are
    /// always `ShortStr`, so each string has one representation.
    Str(Box<[u8]>),
    /// A string of at most [`INLINE_STR_MAX`] UTF-8 bytes, stored inside the
    /// key itself: no allocation, and no pointer to follow when comparing.
    ShortStr(InlineStr),
}

/// The longest string (in UTF-8 bytes) a [`Key`] stores inline: what fits
/// beside the length byte and the enum's tag in a key's 24 bytes.
pub const INLINE_STR_MAX: usize = 22;

/// The bytes of a short string, in place.
#[derive(Clone, Copy, Debug)]
pub struct InlineStr {
    len: u8,
    bytes: [u8; INLINE_STR_MAX],
}

impl InlineStr {
    /// `None` when `s` is longer than [`INLINE_STR_MAX`] bytes.
    pub fn new(s: &[u8]) -> Option<InlineStr> {
        if s.len() > INLINE_STR_MAX {
            return None;
        }
        let mut bytes = [0; INLINE_STR_MAX];
        bytes[..s.len()].copy_from_slice(s);
        Some(InlineStr {
            len: s.len() as u8,
            bytes,
        })
    }

    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// A key borrowed from the caller, for lookups that allocate nothing.
#[derive(Clone, Copy, Debug)]
pub enum KeyRef<'a> {
    Int(i64),
    Bool(bool),
    BigInt(&'a BigInt),
    Float(f64),
    Str(&'a [u8]),
}

impl Key {
    pub fn as_ref(&self) -> KeyRef<'_> {
        match self {
            Key::Int(i) => KeyRef::Int(*i),
            Key::Bool(b) => KeyRef::Bool(*b),
            Key::BigInt(b) => KeyRef::BigInt(b),
            Key::Float(f) => KeyRef::Float(*f),
            Key::Str(s) => KeyRef::Str(s),
            Key::ShortStr(s) => KeyRef::Str(s.as_bytes()),
        }
    }

    /// `self.as_ref().equals(other)`, with the common cases (int against
    /// int, string against string) decided first: the table's lookups call
    /// this for every entry whose hash matches.
    #[inline(always)]
    pub fn matches(&self, other: KeyRef<'_>) -> bool {
        match (self, other) {
            (Key::Int(a), KeyRef::Int(b)) => *a == b,
            (Key::ShortStr(a), KeyRef::Str(b)) => a.as_bytes() == b,
            (Key::Str(a), KeyRef::Str(b)) => **a == *b,
            _ => self.matches_any(other),
        }
    }

    /// Every other pair of kinds, out of line so that `matches` stays small.
    #[inline(never)]
    fn matches_any(&self, other: KeyRef<'_>) -> bool {
        self.as_ref().equals(other)
    }
}

/// The allocator could not give the memory a key needs.
#[derive(Debug, PartialEq, Eq)]
pub struct KeyAllocError;

impl KeyRef<'_> {
    /// Copies the key into table-owned memory, reporting allocation failure
    /// instead of aborting.
    pub fn to_owned(self) -> Result<Key, KeyAllocError> {
        Ok(match self {
            KeyRef::Int(i) => Key::Int(i),
            KeyRef::Bool(b) => Key::Bool(b),
            KeyRef::BigInt(b) => {
                let mut limbs = Vec::new();
                limbs
                    .try_reserve_exact(b.limbs.len())
                    .map_err(|_| KeyAllocError)?;
                limbs.extend_from_slice(&b.limbs);
                Key::BigInt(BigInt {
                    negative: b.negative,
                    limbs: limbs.into_boxed_slice(),
                })
            }
            KeyRef::Float(f) => Key::Float(f),
            KeyRef::Str(s) => {
                if let Some(short) = InlineStr::new(s) {
                    return Ok(Key::ShortStr(short));
                }
                let mut bytes = Vec::new();
                bytes
                    .try_reserve_exact(s.len())
                    .map_err(|_| KeyAllocError)?;
                bytes.extend_from_slice(s);
                Key::Str(bytes.into_boxed_slice())
            }
        })
    }

    /// Python's `==` between two keys of the kinds the table accepts.
    pub fn equals(self, other: KeyRef<'_>) -> bool {
        use KeyRef::*;
        match (self, other) {
            (Str(a), Str(b)) => a == b,
            (Str(_), _) | (_, Str(_)) => false,
            (Float(a), Float(b)) => a == b,
            (Float(f), n) | (n, Float(f)) => match float_as_integer(f) {
                Some(Integer::Small(i)) => n.small_int() == Some(i),
                Some(Integer::Big(big)) => matches!(n, BigInt(b) if *b == big),
                None => false,
            },
            (BigInt(a), BigInt(b)) => a == b,
            (a, b) => a.small_int().is_some() && a.small_int() == b.small_int(),
        }
    }

    fn small_int(self) -> Option<i64> {
        match self {
            KeyRef::Int(i) => Some(i),
            KeyRef::Bool(b) => Some(i64::from(b)),
            _ => None,
        }
    }

    /// The talk's deliberately terrible hash: an int hashes to itself, a float
    /// to its floor, a string to its length. Equal keys hash equally (`1`,
    /// `1.0`, `True` all give 1). Values outside `i64` are reduced the way
    /// CPython reduces an int's hash, and `±inf`, which has no floor, hashes
    /// as CPython hashes it.
    pub fn naive_hash(self) -> i64 {
        match self {
            KeyRef::Int(i) => i,
            KeyRef::Bool(b) => i64::from(b),
            KeyRef::BigInt(b) => b.python_hash(),
            KeyRef::Float(f) if f.is_infinite() => f.signum() as i64 * HASH_INF,
            KeyRef::Float(f) => match float_as_integer(f.floor()) {
                Some(Integer::Small(i)) => i,
                Some(Integer::Big(b)) => b.python_hash(),
                None => 0, // NaN: never stored, see `Key::Float`
            },
            // Length in code points: count the bytes that start a character.
            KeyRef::Str(s) => s.iter().filter(|&&b| b & 0xC0 != 0x80).count() as i64,
        }
    }
}

/// Short, readable form for trace lines (long strings are cut).
impl fmt::Display for KeyRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyRef::Int(i) => write!(f, "{i}"),
            KeyRef::Bool(b) => f.write_str(if *b { "True" } else { "False" }),
            KeyRef::BigInt(b) => f.write_str(&b.to_hex()),
            KeyRef::Float(x) => write!(f, "{x:?}"),
            KeyRef::Str(s) => {
                let text = String::from_utf8_lossy(s);
                let mut chars = text.chars();
                let head: String = chars.by_ref().take(40).collect();
                let more = if chars.next().is_some() { "..." } else { "" };
                write!(f, "{}{more}", python_str_repr(&head))
            }
        }
    }
}

/// A string quoted the way Python's `repr` quotes it (close enough for
/// trace lines: quotes, backslashes and control characters escaped).
fn python_str_repr(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(text.len() + 2);
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn big(negative: bool, hex: &str) -> BigInt {
        BigInt::from_hex(negative, hex.as_bytes()).unwrap()
    }

    #[test]
    fn one_one_point_zero_and_true_are_one_key() {
        let keys = [KeyRef::Int(1), KeyRef::Float(1.0), KeyRef::Bool(true)];
        for a in keys {
            for b in keys {
                assert!(a.equals(b), "{a} != {b}");
                assert_eq!(a.naive_hash(), b.naive_hash());
            }
        }
        assert!(!KeyRef::Int(1).equals(KeyRef::Float(1.5)));
        assert!(!KeyRef::Int(1).equals(KeyRef::Str(b"1")));
        assert!(KeyRef::Float(-0.0).equals(KeyRef::Int(0)));
        assert!(KeyRef::Bool(false).equals(KeyRef::Float(-0.0)));
    }

    #[test]
    fn big_ints_and_integral_floats_compare_exactly() {
        // 2**70 as an int and as a float.
        let two_70 = big(false, "400000000000000000");
        assert!(KeyRef::Float(2f64.powi(70)).equals(KeyRef::BigInt(&two_70)));
        assert!(
            !KeyRef::Float(2f64.powi(70)).equals(KeyRef::BigInt(&big(false, "400000000000000001")))
        );
        assert!(!KeyRef::Float(-(2f64.powi(70))).equals(KeyRef::BigInt(&two_70)));
        assert_eq!(
            KeyRef::Float(2f64.powi(70)).naive_hash(),
            KeyRef::BigInt(&two_70).naive_hash()
        );
        // 2**63 does not fit in i64, -2**63 does.
        assert!(BigInt::from_hex(false, b"8000000000000000").is_some());
        assert!(BigInt::from_hex(true, b"8000000000000000").is_none());
        assert!(KeyRef::Float(-(2f64.powi(63))).equals(KeyRef::Int(i64::MIN)));
    }

    #[test]
    fn big_int_hex_round_trips_and_hashes_like_cpython() {
        let b = big(true, "123456789abcdef0123456789");
        assert_eq!(b.to_hex(), "-0x123456789abcdef0123456789");
        // hash(2**64) == 8 and hash(-2**64) == -8 in CPython (2**64 mod (2**61-1)).
        assert_eq!(big(false, "10000000000000000").python_hash(), 8);
        assert_eq!(big(true, "10000000000000000").python_hash(), -8);
        // Leading zero digits do not change the value.
        assert_eq!(
            big(false, "0010000000000000000"),
            big(false, "10000000000000000")
        );
    }

    #[test]
    fn naive_hash_is_the_talks() {
        assert_eq!(KeyRef::Int(42).naive_hash(), 42);
        assert_eq!(KeyRef::Int(-7).naive_hash(), -7);
        assert_eq!(KeyRef::Float(3.7).naive_hash(), 3);
        assert_eq!(KeyRef::Float(-3.2).naive_hash(), -4);
        assert_eq!(KeyRef::Str(b"pi").naive_hash(), 2);
        assert_eq!(KeyRef::Str("π≈3".as_bytes()).naive_hash(), 3);
        assert_eq!(KeyRef::Str("𝄞".as_bytes()).naive_hash(), 1);
        assert_eq!(KeyRef::Float(f64::INFINITY).naive_hash(), HASH_INF);
        assert_eq!(KeyRef::Float(f64::NEG_INFINITY).naive_hash(), -HASH_INF);
    }

    #[test]
    fn short_strings_are_stored_inline_and_compare_like_long_ones() {
        assert_eq!(std::mem::size_of::<Key>(), 24);
        let short = "x".repeat(INLINE_STR_MAX);
        let long = "x".repeat(INLINE_STR_MAX + 1);
        let k = KeyRef::Str(short.as_bytes()).to_owned().unwrap();
        assert!(matches!(k, Key::ShortStr(_)), "{k:?}");
        let l = KeyRef::Str(long.as_bytes()).to_owned().unwrap();
        assert!(matches!(l, Key::Str(_)), "{l:?}");
        let empty = KeyRef::Str(b"").to_owned().unwrap();
        assert!(matches!(empty, Key::ShortStr(_)));
        // Multi-byte characters count in bytes: 7 three-byte chars = 21 bytes inline, 8 not.
        let k7 = KeyRef::Str("π≈3€€€€".as_bytes()).to_owned().unwrap();
        assert!(matches!(k7, Key::ShortStr(_)));
        for (key, text) in [(&k, &short), (&l, &long)] {
            assert!(key.matches(KeyRef::Str(text.as_bytes())));
            assert!(key.as_ref().equals(KeyRef::Str(text.as_bytes())));
            assert!(!key.matches(KeyRef::Str(b"x")));
            assert!(!key.matches(KeyRef::Int(0)));
        }
        assert!(empty.matches(KeyRef::Str(b"")));
        assert!(!empty.matches(KeyRef::Str(b"\0")));
        assert_eq!(k.as_ref().naive_hash(), INLINE_STR_MAX as i64);
        assert_eq!(
            k.as_ref().to_string(),
            KeyRef::Str(short.as_bytes()).to_string()
        );
    }

    #[test]
    fn matches_agrees_with_equals() {
        let big = big(false, "400000000000000000");
        let owned: Vec<Key> = [
            KeyRef::Int(1),
            KeyRef::Int(-2),
            KeyRef::Bool(true),
            KeyRef::Float(1.0),
            KeyRef::Float(0.5),
            KeyRef::BigInt(&big),
            KeyRef::Float(2f64.powi(70)),
            KeyRef::Str(b"1"),
            KeyRef::Str(&[b'a'; 40]),
        ]
        .into_iter()
        .map(|k| k.to_owned().unwrap())
        .collect();
        for a in &owned {
            for b in &owned {
                assert_eq!(
                    a.matches(b.as_ref()),
                    a.as_ref().equals(b.as_ref()),
                    "{a:?} {b:?}"
                );
            }
        }
    }

    #[test]
    fn display_cuts_long_strings() {
        let long = "x".repeat(100);
        let shown = KeyRef::Str(long.as_bytes()).to_string();
        assert!(shown.ends_with("'..."), "{shown}");
        assert_eq!(KeyRef::Str(b"pi").to_string(), "'pi'");
        assert_eq!(KeyRef::Str(b"it's").to_string(), "\"it's\"");
        assert_eq!(KeyRef::Str(b"a\nb\\").to_string(), "'a\\nb\\\\'");
        assert_eq!(KeyRef::Float(0.5).to_string(), "0.5");
    }
}
